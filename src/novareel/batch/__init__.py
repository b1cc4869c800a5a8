"""Batches: many jobs from one file, kept within the account's quota, resumable.

The code lives in :mod:`novareel.batch.runner` for now; this package re-exports its
public names so ``from novareel.batch import ...`` keeps working.
"""

from __future__ import annotations

from novareel.batch.runner import (
    ITEM_KEYS,
    RETRYABLE_FAILURES,
    BatchEvent,
    BatchFile,
    BatchItem,
    BatchRunner,
    BatchSummary,
    ConcurrencyLimit,
    ItemOutcome,
    ItemPhase,
    batch_identity,
    client_token_for,
    content_hash,
    ledger_view,
    load_batch,
    run_batch,
)

__all__ = [
    "ITEM_KEYS",
    "RETRYABLE_FAILURES",
    "BatchEvent",
    "BatchFile",
    "BatchItem",
    "BatchRunner",
    "BatchSummary",
    "ConcurrencyLimit",
    "ItemOutcome",
    "ItemPhase",
    "batch_identity",
    "client_token_for",
    "content_hash",
    "ledger_view",
    "load_batch",
    "run_batch",
]
