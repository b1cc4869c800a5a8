"""Fixtures for the ledger tests: an open ledger in the test's private NOVAREEL_HOME,
on each backend.

A test that takes ``ledger`` (or ``add``, or ``backend``) runs twice: on the SQLite
file and on a fresh PostgreSQL ledger of the session's throwaway server
(:mod:`tests.pg`), which ``NOVAREEL_LEDGER_URL`` names, so ``Ledger.open_default()``
and any process the test starts open the same one. The same assertions hold on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.pg import pg_cluster, pg_database, pg_url, pg_urls  # noqa: F401  (fixtures)

from novareel.ledger import JobRecord, Ledger
from novareel.ledger.backend import LEDGER_URL_ENV, ledger_target

ARN_PREFIX = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/"
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sqlite`` or ``postgres``: where this run of the test keeps its default ledger."""
    if request.param == "postgres":
        monkeypatch.setenv(LEDGER_URL_ENV, request.getfixturevalue("pg_url"))
    else:
        monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    return str(request.param)


@pytest.fixture
def target(backend: str) -> Path | str:
    """The default ledger's location on this backend: a file path, or a URL."""
    return ledger_target()


@pytest.fixture
def new_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Any]:
    """``new()``: the location of another fresh ledger on this test's backend (a new
    file, or a new PostgreSQL schema), e.g. to compare with a freshly migrated one."""
    made = iter(range(1_000_000))

    def new() -> Path | str:
        if backend == "postgres":
            return str(request.getfixturevalue("pg_urls")())
        return tmp_path / f"other-{next(made)}.db"

    return new


@pytest.fixture
def ledger(backend: str) -> Iterator[Ledger]:
    with Ledger.open_default() as opened:
        yield opened


def text_request(prompt: str = "a red fox in the snow, dolly in") -> dict[str, Any]:
    return {
        "taskType": "TEXT_VIDEO",
        "textToVideoParams": {
            "text": prompt,
            "images": [
                {
                    "format": "png",
                    "source": {"path": "/tmp/frame.png", "sha256": "ab" * 32},
                }
            ],
        },
        "videoGenerationConfig": {
            "durationSeconds": 6,
            "fps": 24,
            "dimension": "1280x720",
            "seed": 42,
        },
    }


@pytest.fixture
def add(ledger: Ledger) -> Callable[..., JobRecord]:
    """``add(token, **overrides)``: record an intent with sensible defaults."""

    def _add(token: str, **overrides: Any) -> JobRecord:
        fields: dict[str, Any] = {
            "client_token": token,
            "model_id": "amazon.nova-reel-v1:1",
            "task_type": "TEXT_VIDEO",
            "request": text_request(),
            "output_uri": "s3://my-bucket/videos/",
            "duration_seconds": 6,
            "seed": 42,
            "estimated_cost_usd": 0.48,
        }
        fields.update(overrides)
        return ledger.add_intent(**fields)

    return _add
