"""``--local``: point novareel at the local emulator, starting one if none runs.

A command run with ``--local`` first looks for an emulator at
``NOVAREEL_EMULATOR_URL`` (default ``http://127.0.0.1:5899``). If none answers, it
starts one inside the process for the command's lifetime. Either way the client
gets dummy credentials (real ones are never sent to a local endpoint), the
model's region (us-east-1 for Nova Reel, us-west-2 for Luma Ray 2), and the bucket
``novareel-local`` exists.

An emulator started inside a command dies with it, so a job submitted with
``--no-wait`` from such a command cannot be waited for later: the CLI says so and
suggests ``novareel emulator`` in another terminal.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from novareel.client import NovaReelClient
from novareel.errors import EmulatorError

log = logging.getLogger("novareel")

EMULATOR_URL_ENV = "NOVAREEL_EMULATOR_URL"
DEFAULT_EMULATOR_URL = "http://127.0.0.1:5899"
LOCAL_BUCKET = "novareel-local"
LOCAL_OUTPUT_URI = f"s3://{LOCAL_BUCKET}/videos/"
#: Dummy credentials for the emulator: it checks signatures' shape, not secrets.
LOCAL_ACCESS_KEY = "novareel-local"
LOCAL_SECRET_KEY = "novareel-local-secret"


def probe(url: str, timeout: float = 0.5) -> dict[str, Any] | None:
    """The emulator's health document at ``url``, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_emulator/health", timeout=timeout) as r:
            data = json.loads(r.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("service") == "novareel-emulator":
        return data
    return None


@dataclass
class LocalEmulator:
    """A reachable emulator: its URL, speed, and the server if this process owns it."""

    url: str
    speed: float
    server: Any = None

    @property
    def owned(self) -> bool:
        """True when the emulator lives inside this process and ends with it."""
        return self.server is not None

    def client(self, region: str | None = None) -> NovaReelClient:
        """A client for this emulator, with dummy credentials and the local bucket.

        ``region`` is the chosen model's region (us-east-1 when none is given, where
        Nova Reel runs): the emulator hosts each model where AWS does.
        """
        client = NovaReelClient(
            region=region or "us-east-1",
            endpoint_url=self.url,
            access_key=LOCAL_ACCESS_KEY,
            secret_key=LOCAL_SECRET_KEY,
            max_attempts=6,
        )
        client.ensure_bucket(LOCAL_BUCKET)
        return client

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def connect_local(url: str | None = None, *, start: bool = True) -> LocalEmulator:
    """Find a running emulator or (with ``start``) start one in this process."""
    url = (url or os.environ.get(EMULATOR_URL_ENV) or DEFAULT_EMULATOR_URL).rstrip("/")
    health = probe(url)
    if health is not None:
        return LocalEmulator(url=url, speed=float(health.get("speed", 1.0)))
    if not start:
        raise EmulatorError(
            f"no novareel emulator answers at {url}",
            hint="Start one with `novareel emulator` (or set NOVAREEL_EMULATOR_URL).",
        )
    try:
        from novareel.emulator import EmulatorServer
    except ImportError as exc:
        raise EmulatorError(
            f"the local emulator is not installed ({exc.name} is missing)",
            hint="pip install 'novareel[emulator]'",
        ) from exc
    from urllib.parse import urlparse

    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    server = EmulatorServer(host=host, port=parsed.port or 0)
    try:
        server.start()
    except OSError:
        # The default port is taken by something that is not an emulator: any port.
        server = EmulatorServer(host=host, port=0)
        server.start()
    log.info("started an in-process emulator at %s", server.url)
    health = probe(server.url, timeout=5.0) or {}
    return LocalEmulator(url=server.url, speed=float(health.get("speed", 1.0)), server=server)


__all__ = [
    "DEFAULT_EMULATOR_URL",
    "EMULATOR_URL_ENV",
    "LOCAL_BUCKET",
    "LOCAL_OUTPUT_URI",
    "LocalEmulator",
    "connect_local",
    "probe",
]
