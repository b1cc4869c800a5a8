"""Seeding the ledger with jobs the service accepted, on AWS or on a local emulator."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

from novareel.ledger import JobRecord, Ledger

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/"
LOCAL = "http://127.0.0.1:5899"
_serial = itertools.count(1)


def seed(
    ledger: Ledger,
    usd: float,
    *,
    endpoint: str | None = None,
    status: str = "Completed",
    at: datetime | None = None,
    model_id: str = "amazon.nova-reel-v1:1",
    batch_id: int | None = None,
    batch_item: str | None = None,
) -> JobRecord:
    """One job costing ``usd`` (estimated), recorded as a real submit would record it.

    ``status`` Submitting leaves it unanswered and Rejected refused by the service;
    InProgress / Completed / Failed mean the service accepted it (``at`` = submit time).
    """
    n = next(_serial)
    fields: dict[str, Any] = {
        "client_token": f"seed-{n}",
        "model_id": model_id,
        "task_type": "TEXT_VIDEO",
        "request": {"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": f"seed {n}"}},
        "output_uri": "s3://seed-bucket/v/",
        "duration_seconds": 6,
        "seed": 42,
        "estimated_cost_usd": usd,
        "endpoint": endpoint,
        "batch_id": batch_id,
        "batch_item": batch_item,
    }
    record = ledger.add_intent(**fields)
    if status == "Submitting":
        return record
    if status == "Rejected":
        return ledger.mark_rejected(record.id, message="ValidationException")
    record = ledger.mark_submitted(
        record.id,
        invocation_arn=f"{ARN}{n:012d}",
        submit_time=at or datetime.now(timezone.utc),
    )
    if status != "InProgress":
        record = ledger.record_status(record.id, status)
    return record
