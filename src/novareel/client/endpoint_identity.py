"""Is this endpoint novareel's emulator? The one answer behind every "$0 here".

A job sent to the local emulator costs nothing, so the CLI, the ledger's spend, the
budgets and the gallery show it as ``$0 here (≈ $X on AWS)``. That used to be
decided by the address: any loopback ``--endpoint-url`` counted as free, so a local
proxy to real AWS (a debugging proxy, a VPC tunnel on 127.0.0.1) was shown as free
while AWS billed it. The answer now comes from the endpoint itself: the emulator
sends the documented header ``x-novareel-emulator: <version>`` on every reply
(docs/emulator.md), and :func:`emulator_health` asks for it once per endpoint and
process (``GET <url>/_emulator/health``, a short timeout), requiring both the header
and the health document. A proxy to AWS answers that request without the header
(AWS's own 403/404), so its jobs are priced as AWS's.

AWS's own endpoints (no URL, or a host under ``amazonaws.com``, ``amazonaws.com.cn``,
``api.aws``) are never asked. The emulator does not import this module: it only
sends the header, and this module shares none of its code.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

__all__ = ["IDENTITY_HEADER", "emulator_health", "forget", "is_emulator", "remember"]

#: The header the emulator sends on every reply (docs/emulator.md).
IDENTITY_HEADER = "x-novareel-emulator"
#: How long one identity question may take: an emulator on this machine answers in
#: milliseconds, and a slow answer is asked once per process.
TIMEOUT_SECONDS = 0.5
_AWS_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")

_answers: dict[str, dict[str, Any] | None] = {}
_lock = threading.Lock()


def _key(url: str) -> str:
    return url.strip().rstrip("/").lower()


def looks_like_aws(url: str | None) -> bool:
    """True for AWS's own endpoints (no URL, or an AWS host name): never asked."""
    if not url:
        return True
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.endswith(_AWS_SUFFIXES) or host in {"amazonaws.com", "api.aws"}


def _ask(url: str, timeout: float) -> tuple[dict[str, Any] | None, bool]:
    """(the health document if the emulator answered, whether the answer may be kept).

    A refused connection is not kept: nothing runs there yet, and ``--local`` may
    start the emulator at that address a moment later.
    """
    request = urllib.request.Request(f"{url.rstrip('/')}/_emulator/health", method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            header = reply.headers.get(IDENTITY_HEADER)
            body = reply.read(64 * 1024)
    except urllib.error.HTTPError:
        return None, True  # something answered, and not with the emulator's health
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, not isinstance(reason, ConnectionRefusedError)
    if not header:
        return None, True
    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError:
        return None, True
    if isinstance(data, dict) and data.get("service") == "novareel-emulator":
        return data, True
    return None, True


def emulator_health(
    url: str | None, *, timeout: float = TIMEOUT_SECONDS, fresh: bool = False
) -> dict[str, Any] | None:
    """The emulator's health document when ``url`` is novareel's emulator, else None.

    Asked once per endpoint and process (the answer is kept; ``fresh`` asks again,
    for a current ``speed``, and keeps the new answer); AWS's own endpoints are never
    asked.
    """
    if looks_like_aws(url):
        return None
    assert url is not None
    key = _key(url)
    with _lock:
        if key in _answers and not fresh:
            return _answers[key]
    health, keep = _ask(url, timeout)
    if keep:
        with _lock:
            _answers[key] = health
    return health


def is_emulator(url: str | None) -> bool:
    """True when ``url`` is novareel's emulator (its jobs are free), asked once."""
    return emulator_health(url) is not None


def remember(url: str, health: dict[str, Any] | None) -> None:
    """Record what is known without asking (an emulator this process started)."""
    with _lock:
        _answers[_key(url)] = health


def forget(url: str | None = None) -> None:
    """Drop the kept answer for ``url`` (all of them without one): an emulator was
    stopped, or a test changes what listens at an address."""
    with _lock:
        if url is None:
            _answers.clear()
        else:
            _answers.pop(_key(url), None)
