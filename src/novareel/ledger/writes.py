"""Writing jobs: record the intent before a submit, then the service's answers.

The write-before-submit protocol these methods keep is described in
:mod:`novareel.ledger.store`; statuses only move forward (:meth:`LedgerCore._move`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from novareel.foundation.arns import invocation_id_from_arn
from novareel.foundation.errors import LedgerError
from novareel.foundation.status import FINISHED_STATUSES, JobStatus
from novareel.ledger.core import (
    EXTRAS,
    LedgerCore,
    check_status,
    job_record,
    locked,
    moves_forward,
    opt_dt,
    opt_iso,
)
from novareel.ledger.db import to_iso, utc_now
from novareel.ledger.models import NOT_SENT, JobRecord, Reservation, check_storable


class _ArnTaken(Exception):
    """The ARN being recorded is another job's (its UNIQUE index refused it)."""


class JobWrites(LedgerCore):
    """Recording a job and what happened to it (one transaction per call)."""

    @locked
    def add_intent(self, *, client_token: str, **intent: Any) -> JobRecord:
        """Record a job about to be submitted (status ``Submitting``); call it BEFORE
        StartAsyncInvoke. ``fingerprint`` identifies the request without its token
        (:meth:`find_identical` looks it up, so an identical command pays once).

        Idempotent on ``client_token``: if the token is already recorded, the existing
        row is returned unchanged, so a resumed run reuses it instead of creating a
        second job. A different token for a (batch, item, attempt) that already exists
        raises :class:`LedgerError`: that item was already submitted. The same as
        :meth:`reserve` without a budget check or an identical-request lookup.
        """
        return self.reserve(client_token=client_token, **intent).record

    @locked
    def reserve(
        self,
        *,
        client_token: str,
        model_id: str,
        task_type: str,
        request: dict[str, Any],
        output_uri: str | None,
        duration_seconds: int | None,
        seed: int | None,
        estimated_cost_usd: float | None,
        tags: dict[str, str] | None = None,
        batch_id: int | None = None,
        batch_item: str | None = None,
        attempt: int = 1,
        retry_of: int | None = None,
        output_bucket_owner: str | None = None,
        output_kms_key_id: str | None = None,
        endpoint: str | None = None,
        name: str | None = None,
        out_dir: str | None = None,
        emulator_owned: bool = False,
        emulator: bool | None = None,
        fingerprint: str | None = None,
        identical_since: datetime | None = None,
        check: Callable[[], None] | None = None,
        session_key: str | None = None,
    ) -> Reservation:
        """THE reservation: in ONE write transaction (:meth:`_write`, ``BEGIN
        IMMEDIATE`` on SQLite), find what already stands for this submit, run the
        budget ``check``, and write the new ``Submitting`` row.

        1. The client token already recorded: that row (a resumed run; nothing new).
        2. With ``identical_since``: the newest job of the same ``fingerprint``
           recorded since then that still stands for the request
           (:meth:`find_identical`): returned with ``identical=True``, nothing written.
        3. Else ``check()`` (the caller's budget check: it reads spend through this
           ledger, inside this transaction, so reserved rows of every process count)
           may raise to refuse; nothing is written then.
        4. The row is written holding the fingerprint as ``dedupe_key`` (m010,
           UNIQUE), taken from the row that held it before (``--again``, or the older
           job no longer stands), and ``session_key`` (m016: the capped session whose
           spend ``check`` read through :meth:`session_spend`).

        Because 2-4 run under the write lock, two processes submitting the same
        request, or submitting against the same budget, are serialised: the second
        one sees the first one's row. ``check`` also runs when the row found in 1 or 2
        is ``Rejected`` (never sent, or refused): its estimate counted for nothing, and
        sending its token again may spend.
        """
        if not client_token:
            raise LedgerError("a job needs a client token before it is recorded")
        check_storable(request)
        tag_map = dict(tags or {})
        check_storable(tag_map, what="tags")
        if attempt < 1:
            raise LedgerError(f"attempt must be 1 or more, got {attempt}")
        if batch_item is not None and batch_id is None:
            raise LedgerError("batch_item given without batch_id")
        now = to_iso(utc_now())
        with self._write() as db:
            # ONE read for what may already stand for this submit: the row of this
            # token, the row of this (batch, item, attempt), the row holding the
            # fingerprint's key (each through its unique index).
            where = "client_token = ?"
            args: list[Any] = [client_token]
            if batch_id is not None:
                # = (not IS) when there is an item: PostgreSQL's IS NOT DISTINCT FROM
                # cannot use the unique index, and would scan the table per submit.
                item_is = "batch_item IS NULL" if batch_item is None else "batch_item = ?"
                where += f" OR (batch_id = ? AND {item_is} AND attempt = ?)"
                args += [batch_id, *([] if batch_item is None else [batch_item]), attempt]
            if fingerprint is not None:
                where += " OR dedupe_key = ?"
                args.append(fingerprint)
            standing = db.execute(f"SELECT *, {EXTRAS} FROM jobs WHERE {where}", args).fetchall()
            existing = next((r for r in standing if r["client_token"] == client_token), None)
            if existing is not None:
                found = self._hydrate([existing])[0]
                if check is not None and found.status == JobStatus.REJECTED:
                    check()  # a refused row counts for nothing: sending it again spends
                return Reservation(found, created=False)
            if identical_since is not None and fingerprint is not None:
                identical = self._standing_identical(fingerprint, identical_since)
                if identical is not None:
                    if check is not None and identical.status == JobStatus.REJECTED:
                        check()  # never sent (NotSent): it spends when sent now
                    return Reservation(identical, created=False, identical=True)
            if batch_id is not None:
                clash = next(
                    (
                        r
                        for r in standing
                        if r["batch_id"] == batch_id
                        and r["batch_item"] == batch_item
                        and r["attempt"] == attempt
                    ),
                    None,
                )
                if clash is not None:
                    raise LedgerError(
                        f"batch {batch_id} item {batch_item!r} attempt {attempt} is already"
                        f" recorded as job {clash['id']}",
                        hint="a retry is a new attempt: pass attempt + 1 and retry_of",
                    )
            if check is not None:
                check()
            if fingerprint is not None and any(r["dedupe_key"] == fingerprint for r in standing):
                # The older holder no longer stands for the request (or --again): the
                # new row takes the key. Under the write lock nobody else can insert
                # meanwhile; without it (another backend's weaker locking) the UNIQUE
                # index refuses the second of two concurrent inserts.
                db.execute("UPDATE jobs SET dedupe_key = NULL WHERE dedupe_key = ?", (fingerprint,))
            returning = self._returning()
            try:
                cursor = db.execute(
                    """
                    INSERT INTO jobs (
                        client_token, model_id, task_type, request_json, output_uri,
                        status, duration_seconds, seed, estimated_cost_usd,
                        batch_id, batch_item, attempt, retry_of, created_at, updated_at,
                        output_bucket_owner, output_kms_key_id, endpoint,
                        name, out_dir, emulator_owned, fingerprint, dedupe_key, origin,
                        emulator, session_key
                    ) VALUES (?, ?, ?, ?, ?, 'Submitting', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                        ?, ?, ?, ?, ?, ?, ?, ?)
                    """
                    # the row as written, in the same statement (no SELECT after it)
                    + (" RETURNING *" if returning else ""),
                    (
                        client_token,
                        model_id,
                        task_type,
                        json.dumps(request, sort_keys=True),
                        output_uri,
                        duration_seconds,
                        seed,
                        estimated_cost_usd,
                        batch_id,
                        batch_item,
                        attempt,
                        retry_of,
                        now,
                        now,
                        output_bucket_owner,
                        output_kms_key_id,
                        endpoint,
                        name,
                        out_dir,
                        int(emulator_owned),
                        fingerprint,
                        fingerprint,
                        self.origin,
                        None if emulator is None else int(emulator),
                        session_key,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                if "dedupe_key" in str(exc):
                    raise LedgerError(
                        "an identical request was recorded by another process at the same"
                        " moment; nothing was sent",
                        hint="run the command again: it attaches to that job",
                    ) from exc
                raise LedgerError(
                    f"cannot record the job: {exc}",
                    hint="batch_id and retry_of must name existing rows",
                ) from exc
            row = cursor.fetchall()[0] if returning else self._row(int(cursor.lastrowid or 0))
            job_id = int(row["id"])
            stored = {str(k): str(v) for k, v in tag_map.items()}
            db.executemany(
                "INSERT INTO job_tags (job_id, key, value) VALUES (?, ?, ?)",
                [(job_id, k, v) for k, v in stored.items()],
            )
            self._event(job_id, JobStatus.SUBMITTING, now, "recorded before submit")
            # A new row: its tags are the ones just written (in key order, as read
            # back), its files none.
            return Reservation(job_record(row, dict(sorted(stored.items())), []), created=True)

    @locked
    def mark_submitted(
        self,
        job_id: int,
        *,
        invocation_arn: str,
        submit_time: datetime | None,
        estimated_cost_usd: float | None = None,
    ) -> JobRecord:
        """Store the ARN the service returned; the job becomes ``InProgress``.

        Calling it again with the same ARN (a healed crash) changes nothing. A job that
        a sync already moved further keeps its status; only missing facts are filled.
        A row recorded as not sent (``NotSent``, cost 0) and now sent with its token
        loses that verdict and gets ``estimated_cost_usd`` back.
        """
        at = to_iso(submit_time) if submit_time is not None else to_iso(utc_now())
        try:
            return self._mark_submitted(job_id, invocation_arn, at, estimated_cost_usd)
        except _ArnTaken:
            # Rolled back. Which job holds it is looked up now (outside a transaction:
            # inside one, PostgreSQL refuses every statement after the failed one).
            other = None
            if not self.conn.in_transaction:
                other = self.conn.execute(
                    "SELECT id FROM jobs WHERE invocation_arn = ?", (invocation_arn,)
                ).fetchone()
            holder = f"job {other['id']}" if other is not None else "another job"
            raise LedgerError(
                f"invocation {invocation_arn} is already recorded as {holder}"
            ) from None

    def _mark_submitted(
        self, job_id: int, invocation_arn: str, at: str, estimated_cost_usd: float | None
    ) -> JobRecord:
        with self._write():
            row = self._row(job_id)
            if row["invocation_arn"] is not None and row["invocation_arn"] != invocation_arn:
                raise LedgerError(
                    f"job {job_id} already has invocation {row['invocation_arn']};"
                    f" refusing to replace it by {invocation_arn}",
                    hint="a different ARN for the same client token means a different job",
                )
            # One UPDATE (returning the row) for the ARN, the verdict cleared and the
            # status moved; then the history event.
            sets = (
                "invocation_arn = ?, invocation_id = ?,"
                " submit_time = COALESCE(submit_time, ?), updated_at = ?"
            )
            params: list[Any] = [
                invocation_arn,
                invocation_id_from_arn(invocation_arn),
                at,
                to_iso(utc_now()),
            ]
            if row["status"] == JobStatus.REJECTED and row["failure_type"] == NOT_SENT:
                sets += (
                    ", failure_type = NULL, failure_message = NULL, end_time = NULL,"
                    " estimated_cost_usd = COALESCE(?, estimated_cost_usd)"
                )
                params.append(estimated_cost_usd)
            moved = moves_forward(row, JobStatus.IN_PROGRESS)
            if moved:
                sets += ", status = ?"
                params.append(JobStatus.IN_PROGRESS)
            try:
                written = self._update(job_id, sets, params)
            except sqlite3.IntegrityError as exc:
                # invocation_arn is UNIQUE: another job holds this ARN (the index
                # answers it, instead of a SELECT before every submit's update).
                if "invocation_arn" in str(exc):
                    raise _ArnTaken from exc
                raise
            if moved:
                self._event(job_id, JobStatus.IN_PROGRESS, at, "submitted")
            return self._complete(written, row)

    @locked
    def mark_rejected(
        self,
        job_id: int,
        *,
        message: str,
        failure_type: str | None = None,
        not_sent: bool = False,
        advice: str | None = None,
    ) -> JobRecord:
        """The service definitively refused the submit (e.g. ValidationException).

        ``advice`` is what to do about it, as said when it happened (kept so that every
        later view gives the same specific hint).

        No job exists on the service's side, so nothing was paid; the row keeps the
        reason so that ``novareel jobs`` can show it. ``not_sent`` says the request
        never left this machine (no credentials, a local check): the row is recorded
        with failure_type ``NotSent`` and a cost of 0, and sending the same token later
        is still allowed (:meth:`mark_submitted` clears the verdict).
        """
        if not_sent:
            failure_type = NOT_SENT
        now = to_iso(utc_now())
        with self._write():
            row = self._row(job_id)
            if row["status"] != JobStatus.SUBMITTING:
                raise LedgerError(
                    f"job {job_id} is {row['status']}, not Submitting; it cannot be rejected",
                )
            self.conn.execute(
                "UPDATE jobs SET failure_type = ?, failure_message = ?, failure_advice = ?,"
                " end_time = COALESCE(end_time, ?), updated_at = ?,"
                " estimated_cost_usd = CASE WHEN ? THEN 0 ELSE estimated_cost_usd END"
                " WHERE id = ?",
                (failure_type, message, advice, now, now, int(not_sent), job_id),
            )
            self._move(row, JobStatus.REJECTED, at=now, detail=message)
            return self._load(job_id)

    @locked
    def record_status(
        self,
        job_id: int,
        status: str,
        *,
        at: datetime | None = None,
        end_time: datetime | None = None,
        failure_type: str | None = None,
        failure_message: str | None = None,
        failure_shot: int | None = None,
        submit_time: datetime | None = None,
        time_scale: float = 1.0,
    ) -> JobRecord:
        """Record what a poll saw. A history event is added only when the status
        changes; a status older than the recorded one (say InProgress after Completed)
        is ignored, because answers can arrive out of order but jobs never un-finish.
        Failure details and end time are filled in whenever given for the current
        status.

        A Completed job whose ``end_time`` is given (the service's) also gets its
        ``generation_seconds``, once: end minus the service's ``submit_time`` (else the
        recorded one), times ``time_scale`` (the emulator's speed), so that
        :mod:`novareel.limits.expectations` learns in real-service seconds. Without the
        service's end time (a poll's own clock) nothing is learned.
        """
        check_status(status)
        seen = to_iso(at) if at is not None else to_iso(utc_now())
        with self._write():
            row = self._row(job_id)
            moved = moves_forward(row, status)
            if not moved and row["status"] != status:
                return self._complete(row, row)
            end = opt_iso(end_time)
            if end is None and status in FINISHED_STATUSES:
                end = seen
            # One UPDATE (returning the row) for the status, the end and failure
            # details and the generation time; then the history event.
            sets = (
                "end_time = COALESCE(end_time, ?), failure_type = COALESCE(?, failure_type),"
                " failure_message = COALESCE(?, failure_message),"
                " failure_shot = COALESCE(?, failure_shot), updated_at = ?"
            )
            params: list[Any] = [end, failure_type, failure_message, failure_shot]
            params.append(to_iso(utc_now()))
            if moved:
                sets += ", status = ?"
                params.append(status)
            started = submit_time or opt_dt(row["submit_time"])
            if status == JobStatus.COMPLETED and end_time is not None and started is not None:
                taken = (end_time - started).total_seconds() * max(time_scale, 1e-6)
                if taken > 0:
                    # learned once: both keep their first value (SET reads the old row)
                    sets += (
                        ", time_scale = CASE WHEN generation_seconds IS NULL THEN ?"
                        " ELSE time_scale END,"
                        " generation_seconds = COALESCE(generation_seconds, ?)"
                    )
                    params += [time_scale, taken]
            written = self._update(job_id, sets, params)
            if moved:
                self._event(job_id, status, seen, failure_message)
            return self._complete(written, row)

    @locked
    def record_qa(self, job_id: int, verdict: dict[str, Any]) -> JobRecord:
        """Store the `novareel qa` verdict of the job's video (replacing an older one)."""
        now = to_iso(utc_now())
        with self._write() as db:
            self._row(job_id)
            db.execute(
                "UPDATE jobs SET qa = ?, updated_at = ? WHERE id = ?",
                (json.dumps(verdict, sort_keys=True), now, job_id),
            )
            return self._load(job_id)

    def record_files(self, job_id: int, files: list[str]) -> JobRecord:
        """Add downloaded local files to the job (kept in order, duplicates ignored)."""
        now = to_iso(utc_now())
        with self._write() as db:
            self._row(job_id)
            db.executemany(
                "INSERT OR IGNORE INTO job_files (job_id, path, added_at) VALUES (?, ?, ?)",
                [(job_id, str(f), now) for f in files],
            )
            db.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", (now, job_id))
            return self._load(job_id)
