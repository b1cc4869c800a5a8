"""Batches: one row per batch file, found again by its identity on a resumed run."""

from __future__ import annotations

import json
from typing import Any

from novareel.foundation.errors import LedgerError
from novareel.ledger.core import LedgerCore, batch_record, locked
from novareel.ledger.db import to_iso, utc_now
from novareel.ledger.models import BatchRecord, JobRecord, check_storable


class BatchQueries(LedgerCore):
    """Creating and reading batches, and the jobs (all attempts) of each."""

    @locked
    def get_or_create_batch(
        self, *, identity: str, file_path: str, defaults: dict[str, Any]
    ) -> BatchRecord:
        """The batch with this identity (e.g. sha256 of the batch file's absolute path),
        created on first use. An existing batch is returned as first recorded, so a
        resumed run finds the jobs of earlier runs."""
        check_storable(defaults, what="batch defaults")
        with self._write() as db:
            row = db.execute("SELECT * FROM batches WHERE identity = ?", (identity,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO batches (identity, file_path, created_at, defaults_json)"
                    " VALUES (?, ?, ?, ?)",
                    (identity, file_path, to_iso(utc_now()), json.dumps(defaults, sort_keys=True)),
                )
                row = db.execute("SELECT * FROM batches WHERE identity = ?", (identity,)).fetchone()
            return batch_record(row)

    @locked
    def get_batch(self, batch_id: int) -> BatchRecord:
        """One batch by id; :class:`LedgerError` if unknown."""
        row = self.conn.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if row is None:
            raise LedgerError(f"no batch {batch_id} in the ledger")
        return batch_record(row)

    @locked
    def list_batches(self) -> list[BatchRecord]:
        """All batches, newest first."""
        rows = self.conn.execute("SELECT * FROM batches ORDER BY id DESC").fetchall()
        return [batch_record(r) for r in rows]

    @locked
    def batch_jobs(self, batch_id: int) -> list[JobRecord]:
        """Every job (all attempts) of a batch, by item then attempt."""
        rows = self.conn.execute(
            "SELECT * FROM jobs WHERE batch_id = ? ORDER BY batch_item, attempt, id",
            (batch_id,),
        ).fetchall()
        return self._hydrate(rows)

    @locked
    def latest_attempt(self, batch_id: int, batch_item: str) -> JobRecord | None:
        """The highest attempt recorded for one item of a batch, or ``None``."""
        row = self.conn.execute(
            "SELECT * FROM jobs WHERE batch_id = ? AND batch_item = ?"
            " ORDER BY attempt DESC LIMIT 1",
            (batch_id, batch_item),
        ).fetchone()
        return None if row is None else self._hydrate([row])[0]
