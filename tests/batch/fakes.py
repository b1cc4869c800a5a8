"""A stand-in ledger for batch runner tests that need no SQLite: just what the
runner reads of a fresh batch (no earlier attempts), and the records a test puts in."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


class FakeLedger:
    """Just what the runner reads: a fresh batch, no earlier attempts."""

    def __init__(self) -> None:
        self.records: dict[int, Any] = {}

    def get_or_create_batch(self, **_: Any) -> Any:
        return SimpleNamespace(id=1)

    def latest_attempt(self, batch_id: int, key: str) -> None:
        return None

    def batch_jobs(self, batch_id: int) -> list[Any]:
        return []

    def find(self, token: str) -> None:
        return None

    def get(self, job_id: int) -> Any:
        return self.records[job_id]

    # The shared quota's leases (novareel.limits.quota): always granted here, so the runner's
    # own limits are what these tests see.
    def acquire_lease(self, **_: Any) -> int:
        self.leases = getattr(self, "leases", 0) + 1
        return self.leases

    def renew_leases(self, holder: str, **_: Any) -> int:
        return 0

    def release_lease(self, lease_id: int) -> None:
        return None

    def hand_over_leases(self, holder: str, **_: Any) -> int:
        return 0
