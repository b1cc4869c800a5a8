"""Fixtures for the ledger tests: an open ledger in the test's private NOVAREEL_HOME,
on each backend.

A test that takes ``ledger`` (or ``add``, or ``backend``) runs twice: on the SQLite
file and on a fresh PostgreSQL ledger of the session's throwaway server
(:mod:`tests.pg`), which ``NOVAREEL_LEDGER_URL`` names, so ``Ledger.open_default()``
and any process the test starts open the same one. The same assertions hold on both.
``backend``, ``target``, ``new_target`` and the PostgreSQL fixtures live in
``tests/conftest.py`` (tests outside this folder, e.g. the kill test, run on both
backends too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from novareel.ledger import JobRecord, Ledger

ARN_PREFIX = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/"


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
