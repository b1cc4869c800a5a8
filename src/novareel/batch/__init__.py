"""Batches: many jobs from one file, kept within the account's quota, resumable.

Where each part lives:

* :mod:`~novareel.batch.file`: the batch file (YAML or JSONL, ``docs/batch.md``):
  :func:`load_batch` checks *every* item before anything is sent and reports all
  problems at once; :class:`BatchFile`, :class:`BatchItem`.
* :mod:`~novareel.batch.keys`: the keys an item may use (``item_keys()``, from the
  families' declared options).
* :mod:`~novareel.batch.items`: one raw item checked and turned into its request(s).
* :mod:`~novareel.batch.identity`: the batch's identity, item content hashes and the
  deterministic client tokens.
* :mod:`~novareel.batch.outcomes`: :class:`ItemPhase`, :class:`BatchEvent`,
  :class:`ItemOutcome`, :class:`BatchSummary`: what a run reports.
* :mod:`~novareel.batch.state`: where each item stands (the runner's per-item state,
  the learned concurrency limit, which failures to send again) and
  :func:`ledger_view` (what the ledger knows of a file, for ``--dry-run``).
* :mod:`~novareel.batch.runner`: :class:`BatchRunner`, the one state machine that
  sends, waits for and downloads every item (AIMD concurrency, polling, budgets),
  and :func:`run_batch`.

Why a batch can be killed at any moment and run again:

* **Identity comes from the file, not the run.** The batch is the sha256 of the file's
  absolute path; an item is its ``id`` (or its 1-based position). The client token of
  (batch, item, attempt) is *derived* from those and from a hash of what is sent
  (:func:`client_token_for`), and written to the ledger before the submit. A process
  killed between the ledger write and the service's answer sends the same token again
  when restarted, and the service returns the job it already started: no item is ever
  paid for twice.
* **The ledger is the only state.** On start, each item's latest attempt in the ledger
  decides what to do (see :mod:`~novareel.batch.runner`).
"""

from __future__ import annotations

from novareel.batch.file import BatchFile, BatchItem, load_batch
from novareel.batch.identity import batch_identity, client_token_for, content_hash
from novareel.batch.keys import item_keys
from novareel.batch.outcomes import BatchEvent, BatchSummary, ItemOutcome, ItemPhase
from novareel.batch.runner import BatchRunner, run_batch
from novareel.batch.state import RETRYABLE_FAILURES, ConcurrencyLimit, ledger_view

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
    "item_keys",
    "ledger_view",
    "load_batch",
    "run_batch",
]


def __getattr__(name: str) -> tuple[str, ...]:
    """``ITEM_KEYS``: the keys an item may use, as the registered families declare them."""
    if name == "ITEM_KEYS":
        return item_keys()
    raise AttributeError(name)
