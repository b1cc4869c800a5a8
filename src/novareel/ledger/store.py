"""The job ledger: every job novareel submitted or learned about, in one SQLite file.

The protocol that makes retries safe ("nothing lost, nothing paid twice"):

1. :meth:`Ledger.add_intent` records the job, with the client token that will be
   sent, *before* StartAsyncInvoke is called. The row says ``Submitting``.
2. The submit is sent with that token.
3. :meth:`Ledger.mark_submitted` stores the returned ARN (``InProgress``), or
   :meth:`Ledger.mark_rejected` records a definitive refusal.

If the process dies between 2 and 3, the row stays ``Submitting`` and
:meth:`Ledger.pending_jobs` finds it; resubmitting with the *same* token is
deduplicated by the service (StartAsyncInvoke is idempotent on ``clientRequestToken``)
and returns the ARN of the job that was already started, so nothing is paid twice.

Status only moves forward (Submitting → Rejected | InProgress → Completed | Failed):
a stale answer from a poll or a sync never un-finishes a job.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

from novareel.errors import LedgerError
from novareel.ledger.db import connect, default_path, from_iso, to_iso, transaction, utc_now
from novareel.ledger.migrations import JOB_STATUSES, migrate
from novareel.ledger.models import (
    ACTIVE_STATUSES,
    NOT_SENT,
    BatchRecord,
    JobRecord,
    SpendRow,
    StatusEvent,
    check_storable,
)

__all__ = ["Ledger", "invocation_id_from_arn"]

# How far along a status is; a job only ever moves to a higher rank.
_RANK = {"Submitting": 0, "Rejected": 1, "InProgress": 2, "Completed": 3, "Failed": 3}
_SERVICE_STATUSES = ("InProgress", "Completed", "Failed")
_INVOCATION_ID = re.compile(r"^[a-z0-9]{12}$")
_CHUNK = 500  # SQLite's limit on bound parameters is 999 on old builds.
#: When a job counts as listed: its submit time, else its creation time (the same
#: expression as the ``jobs_listing_order`` index, so SQLite uses that index).
_LISTED_AT = "COALESCE(submit_time, created_at)"
#: What ``Ledger.spend`` may group by, and the SQL of each (day: the UTC date of the
#: submit time, else of the row's creation; stored times are fixed-width UTC ISO).
_SPEND_GROUPS = {
    "day": "substr(COALESCE(submit_time, created_at), 1, 10)",
    "model": "model_id",
    "batch": "batch_id",
}
_SPEND_FIELDS = {"day": "day", "model": "model_id", "batch": "batch_id"}


_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    """Serialise a public method on the instance's lock (one connection, many threads)."""

    @functools.wraps(method)
    def wrapper(self: Ledger, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(_F, wrapper)


def invocation_id_from_arn(arn: str) -> str | None:
    """The short id at the end of ``arn:aws:bedrock:<region>:<acct>:async-invoke/<id>``."""
    if "/" not in arn:
        return None
    tail = arn.rsplit("/", 1)[1]
    return tail or None


def _check_status(status: str) -> None:
    if status not in JOB_STATUSES:
        raise LedgerError(
            f"unknown job status {status!r}; expected one of {', '.join(JOB_STATUSES)}"
        )


def _opt_iso(value: datetime | None) -> str | None:
    return None if value is None else to_iso(value)


def _opt_dt(value: str | None) -> datetime | None:
    return None if value is None else from_iso(value)


class Ledger:
    """The local record of jobs, status histories and batches.

    One instance holds one SQLite connection, guarded by a lock so threads may share
    it.
    Several processes may open the same file at once (WAL, busy timeout). The schema
    is migrated to the current version when the file is opened.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path: Path = default_path() if path is None else Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = connect(self.path)
        try:
            migrate(self._conn)
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    @classmethod
    def open_default(cls) -> Ledger:
        """The ledger at ``$NOVAREEL_HOME/ledger.db`` (or the platform data folder)."""
        return cls(None)

    @_locked
    def close(self) -> None:
        """Close the connection; further calls raise :class:`LedgerError`."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (for migrations tooling and tests)."""
        if self._conn is None:
            raise LedgerError(f"the ledger at {self.path} is closed")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction whose SQLite errors surface as :class:`LedgerError`
        (a locked, full or read-only file is a ledger problem, not a crash)."""
        try:
            with transaction(self.conn) as db:
                yield db
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"the ledger at {self.path} could not be written: {exc}") from exc

    # ------------------------------------------------------------------ jobs: writes

    @_locked
    def add_intent(
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
        fingerprint: str | None = None,
    ) -> JobRecord:
        """Record a job about to be submitted (status ``Submitting``); call it BEFORE
        StartAsyncInvoke. ``fingerprint`` identifies the request without its token
        (:meth:`find_identical` looks it up, so an identical command pays once).

        Idempotent on ``client_token``: if the token is already recorded, the existing
        row is returned unchanged, so a resumed run reuses it instead of creating a
        second job. A different token for a (batch, item, attempt) that already exists
        raises :class:`LedgerError`: that item was already submitted.
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
            existing = db.execute(
                "SELECT id FROM jobs WHERE client_token = ?", (client_token,)
            ).fetchone()
            if existing is not None:
                return self._load(int(existing["id"]))
            if batch_id is not None:
                clash = db.execute(
                    "SELECT id, client_token FROM jobs"
                    " WHERE batch_id = ? AND batch_item IS ? AND attempt = ?",
                    (batch_id, batch_item, attempt),
                ).fetchone()
                if clash is not None:
                    raise LedgerError(
                        f"batch {batch_id} item {batch_item!r} attempt {attempt} is already"
                        f" recorded as job {clash['id']}",
                        hint="a retry is a new attempt: pass attempt + 1 and retry_of",
                    )
            try:
                cursor = db.execute(
                    """
                    INSERT INTO jobs (
                        client_token, model_id, task_type, request_json, output_uri,
                        status, duration_seconds, seed, estimated_cost_usd,
                        batch_id, batch_item, attempt, retry_of, created_at, updated_at,
                        output_bucket_owner, output_kms_key_id, endpoint,
                        name, out_dir, emulator_owned, fingerprint
                    ) VALUES (?, ?, ?, ?, ?, 'Submitting', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                        ?, ?, ?, ?)
                    """,
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
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise LedgerError(
                    f"cannot record the job: {exc}",
                    hint="batch_id and retry_of must name existing rows",
                ) from exc
            job_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO job_tags (job_id, key, value) VALUES (?, ?, ?)",
                [(job_id, str(k), str(v)) for k, v in tag_map.items()],
            )
            self._event(job_id, "Submitting", now, "recorded before submit")
            return self._load(job_id)

    @_locked
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
        with self._write() as db:
            row = self._row(job_id)
            if row["invocation_arn"] is not None and row["invocation_arn"] != invocation_arn:
                raise LedgerError(
                    f"job {job_id} already has invocation {row['invocation_arn']};"
                    f" refusing to replace it by {invocation_arn}",
                    hint="a different ARN for the same client token means a different job",
                )
            other = db.execute(
                "SELECT id FROM jobs WHERE invocation_arn = ? AND id != ?",
                (invocation_arn, job_id),
            ).fetchone()
            if other is not None:
                raise LedgerError(
                    f"invocation {invocation_arn} is already recorded as job {other['id']}"
                )
            db.execute(
                "UPDATE jobs SET invocation_arn = ?, invocation_id = ?,"
                " submit_time = COALESCE(submit_time, ?), updated_at = ? WHERE id = ?",
                (
                    invocation_arn,
                    invocation_id_from_arn(invocation_arn),
                    at,
                    to_iso(utc_now()),
                    job_id,
                ),
            )
            if row["status"] == "Rejected" and row["failure_type"] == NOT_SENT:
                db.execute(
                    "UPDATE jobs SET failure_type = NULL, failure_message = NULL,"
                    " end_time = NULL, estimated_cost_usd = COALESCE(?, estimated_cost_usd)"
                    " WHERE id = ?",
                    (estimated_cost_usd, job_id),
                )
            self._move(row, "InProgress", at=at, detail="submitted")
            return self._load(job_id)

    @_locked
    def mark_rejected(
        self,
        job_id: int,
        *,
        message: str,
        failure_type: str | None = None,
        not_sent: bool = False,
    ) -> JobRecord:
        """The service definitively refused the submit (e.g. ValidationException).

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
            if row["status"] != "Submitting":
                raise LedgerError(
                    f"job {job_id} is {row['status']}, not Submitting; it cannot be rejected",
                )
            self.conn.execute(
                "UPDATE jobs SET failure_type = ?, failure_message = ?,"
                " end_time = COALESCE(end_time, ?), updated_at = ?,"
                " estimated_cost_usd = CASE WHEN ? THEN 0 ELSE estimated_cost_usd END"
                " WHERE id = ?",
                (failure_type, message, now, now, int(not_sent), job_id),
            )
            self._move(row, "Rejected", at=now, detail=message)
            return self._load(job_id)

    @_locked
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
        :mod:`novareel.expectations` learns in real-service seconds. Without the
        service's end time (a poll's own clock) nothing is learned.
        """
        _check_status(status)
        seen = to_iso(at) if at is not None else to_iso(utc_now())
        with self._write() as db:
            row = self._row(job_id)
            moved = self._move(row, status, at=seen, detail=failure_message)
            if not moved and row["status"] != status:
                return self._load(job_id)
            end = _opt_iso(end_time)
            if end is None and status in ("Completed", "Failed"):
                end = seen
            db.execute(
                "UPDATE jobs SET end_time = COALESCE(end_time, ?),"
                " failure_type = COALESCE(?, failure_type),"
                " failure_message = COALESCE(?, failure_message),"
                " failure_shot = COALESCE(?, failure_shot), updated_at = ? WHERE id = ?",
                (end, failure_type, failure_message, failure_shot, to_iso(utc_now()), job_id),
            )
            started = submit_time or _opt_dt(row["submit_time"])
            if status == "Completed" and end_time is not None and started is not None:
                taken = (end_time - started).total_seconds() * max(time_scale, 1e-6)
                if taken > 0:
                    db.execute(
                        "UPDATE jobs SET generation_seconds = ?, time_scale = ?"
                        " WHERE id = ? AND generation_seconds IS NULL",
                        (taken, time_scale, job_id),
                    )
            return self._load(job_id)

    @_locked
    def generation_times(
        self, model_id: str, duration_seconds: int | None, endpoint: str | None, *, limit: int
    ) -> list[float]:
        """The ``generation_seconds`` of the latest ``limit`` timed jobs of this model,
        video length and endpoint (None: AWS's own), newest first.

        Served by the partial index ``jobs_generation_times`` (model, length,
        endpoint, end time): reads ``limit`` index entries, however big the ledger.
        """
        try:
            rows = self.conn.execute(
                "SELECT generation_seconds FROM jobs"
                " WHERE model_id = ? AND duration_seconds IS ? AND endpoint IS ?"
                " AND generation_seconds IS NOT NULL ORDER BY end_time DESC LIMIT ?",
                (model_id, duration_seconds, endpoint, max(limit, 0)),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"the ledger at {self.path} could not be read: {exc}") from exc
        return [float(r[0]) for r in rows]

    @_locked
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

    @_locked
    def adopt(
        self,
        *,
        invocation_arn: str,
        model_id: str,
        status: str,
        submit_time: datetime | None,
        end_time: datetime | None,
        output_uri: str | None,
        client_token: str | None,
        failure_message: str | None,
    ) -> tuple[JobRecord, bool]:
        """Reconcile one ListAsyncInvokes summary with the ledger (``jobs sync``).

        The job is matched by ARN, then by client token (a row left ``Submitting`` by a
        crash is healed this way). A match is brought up to date; otherwise a row is
        created for a job submitted elsewhere, with task type ``UNKNOWN`` and an empty
        request. Returns ``(record, created)``.
        """
        if status not in _SERVICE_STATUSES:
            raise LedgerError(
                f"the service reports InProgress, Completed or Failed, not {status!r}"
            )
        now = to_iso(utc_now())
        with self._write() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE invocation_arn = ?", (invocation_arn,)
            ).fetchone()
            if row is None and client_token:
                row = db.execute(
                    "SELECT * FROM jobs WHERE client_token = ?", (client_token,)
                ).fetchone()
                if row is not None and row["invocation_arn"] not in (None, invocation_arn):
                    raise LedgerError(
                        f"client token {client_token!r} belongs to job {row['id']} with"
                        f" invocation {row['invocation_arn']}, not {invocation_arn}"
                    )
            if row is not None:
                job_id = int(row["id"])
                submitted = _opt_iso(submit_time) or now
                db.execute(
                    "UPDATE jobs SET invocation_arn = ?, invocation_id = ?,"
                    " submit_time = COALESCE(submit_time, ?),"
                    " output_uri = COALESCE(output_uri, ?), updated_at = ? WHERE id = ?",
                    (
                        invocation_arn,
                        invocation_id_from_arn(invocation_arn),
                        _opt_iso(submit_time),
                        output_uri,
                        now,
                        job_id,
                    ),
                )
                # Keep the history honest: a job was accepted before it finished.
                self._move(self._row(job_id), "InProgress", at=submitted, detail="found by sync")
                if status in ("Completed", "Failed"):
                    finished = _opt_iso(end_time) or now
                    self._move(self._row(job_id), status, at=finished, detail="found by sync")
                if self._row(job_id)["status"] == status:
                    db.execute(
                        "UPDATE jobs SET end_time = COALESCE(end_time, ?),"
                        " failure_message = COALESCE(failure_message, ?) WHERE id = ?",
                        (_opt_iso(end_time), failure_message, job_id),
                    )
                return self._load(job_id), False

            token = client_token or f"adopted:{invocation_arn}"
            if db.execute("SELECT 1 FROM jobs WHERE client_token = ?", (token,)).fetchone():
                raise LedgerError(f"client token {token!r} is already used by another job")
            first_submit = _opt_iso(submit_time)
            cursor = db.execute(
                """
                INSERT INTO jobs (
                    client_token, invocation_arn, invocation_id, model_id, task_type,
                    request_json, output_uri, status, failure_message,
                    created_at, submit_time, end_time, updated_at
                ) VALUES (?, ?, ?, ?, 'UNKNOWN', '{}', ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    token,
                    invocation_arn,
                    invocation_id_from_arn(invocation_arn),
                    model_id,
                    output_uri,
                    status,
                    failure_message,
                    now,
                    first_submit,
                    _opt_iso(end_time),
                    now,
                ),
            )
            job_id = int(cursor.lastrowid or 0)
            if status != "InProgress" and first_submit is not None:
                self._event(job_id, "InProgress", first_submit, "adopted from the service")
            first_at = (
                (_opt_iso(end_time) or now) if status != "InProgress" else (first_submit or now)
            )
            self._event(job_id, status, first_at, "adopted from the service")
            return self._load(job_id), True

    # ------------------------------------------------------------------ jobs: reads

    @_locked
    def get(self, ref: str | int) -> JobRecord:
        """Find one job by ledger id, invocation id (12 chars), full ARN or client token.

        Raises :class:`LedgerError` if nothing matches, or if the reference matches
        several jobs (e.g. the digits of an id are also another job's token).
        """
        ids = self._resolve(ref)
        if not ids:
            raise LedgerError(
                f"no job in the ledger matches {str(ref)!r}",
                hint="use a ledger id, an invocation id, a full ARN or a client token;"
                " `novareel jobs sync` adds jobs submitted elsewhere",
            )
        if len(ids) > 1:
            listed = ", ".join(str(i) for i in sorted(ids))
            raise LedgerError(
                f"{str(ref)!r} matches several jobs ({listed})",
                hint="use the full invocation ARN or the ledger id instead",
            )
        return self._load(ids.pop())

    @_locked
    def find(self, ref: str | int) -> JobRecord | None:
        """Like :meth:`get`, but ``None`` when nothing matches (still raises when ambiguous)."""
        ids = self._resolve(ref)
        if not ids:
            return None
        return self.get(ref)

    def _resolve(self, ref: str | int) -> set[int]:
        db = self.conn
        if isinstance(ref, int) and not isinstance(ref, bool):
            found = db.execute("SELECT id FROM jobs WHERE id = ?", (ref,)).fetchone()
            return {int(found["id"])} if found else set()
        text = str(ref).strip()
        if not text:
            return set()
        ids: set[int] = set()
        if text.isdigit():
            ids.update(
                int(r["id"]) for r in db.execute("SELECT id FROM jobs WHERE id = ?", (int(text),))
            )
        if _INVOCATION_ID.match(text):
            ids.update(
                int(r["id"])
                for r in db.execute("SELECT id FROM jobs WHERE invocation_id = ?", (text,))
            )
        if text.startswith("arn:"):
            ids.update(
                int(r["id"])
                for r in db.execute("SELECT id FROM jobs WHERE invocation_arn = ?", (text,))
            )
        ids.update(
            int(r["id"]) for r in db.execute("SELECT id FROM jobs WHERE client_token = ?", (text,))
        )
        return ids

    @_locked
    def list_jobs(
        self,
        *,
        status: str | Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        batch_id: int | None = None,
        limit: int | None = None,
    ) -> list[JobRecord]:
        """Jobs newest first, by submit time (creation time if never submitted).

        ``status`` is one status or several; ``since`` is inclusive, ``until``
        exclusive. Everything is read in one query (a consistent snapshot); for long
        listings use :meth:`iter_jobs`, whose memory does not grow with the rows.
        """
        where, params = _job_filters(status, since, until, batch_id)
        sql = f"SELECT * FROM jobs{where} ORDER BY {_LISTED_AT} DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        return self._hydrate(self.conn.execute(sql, params).fetchall())

    def iter_jobs(
        self,
        *,
        status: str | Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        batch_id: int | None = None,
        limit: int | None = None,
        chunk: int = _CHUNK,
    ) -> Iterator[JobRecord]:
        """The jobs of :meth:`list_jobs`, in its order, read ``chunk`` rows at a time.

        Why: ``novareel jobs --limit 1000000`` over a large ledger must print its first
        row at once and hold one page, not the whole table, in memory. Each page is one
        keyset query (rows after the last one seen, in the order of the
        ``jobs_listing_order`` index) plus one query each for its tags and files,
        taken under the lock; the lock is released between pages, so other threads
        and writers go on. Pages are separate reads: a job whose submit time a writer
        sets meanwhile may move to a page already read (and be missed) or still ahead.
        """
        if chunk < 1:
            raise LedgerError(f"chunk must be 1 or more, got {chunk}")
        where, params = _job_filters(status, since, until, batch_id)
        remaining = None if limit is None else max(limit, 0)
        after: tuple[str, int] | None = None
        while remaining is None or remaining > 0:
            size = chunk if remaining is None else min(chunk, remaining)
            page_where, page_params = where, list(params)
            if after is not None:
                # (listed_at, id) < (?, ?), spelled so SQLite seeks in the index (a
                # row-value comparison would scan it from the top on every page).
                keyset = f"{_LISTED_AT} <= ? AND ({_LISTED_AT} < ? OR id < ?)"
                page_where = f"{where} AND {keyset}" if where else f" WHERE {keyset}"
                page_params.extend([after[0], after[0], after[1]])
            sql = (
                f"SELECT *, {_LISTED_AT} AS listed_at FROM jobs{page_where}"
                f" ORDER BY {_LISTED_AT} DESC, id DESC LIMIT ?"
            )
            with self._lock:
                rows = self.conn.execute(sql, [*page_params, size]).fetchall()
                records = self._hydrate(rows)
            yield from records
            if len(rows) < size:
                return
            after = (str(rows[-1]["listed_at"]), int(rows[-1]["id"]))
            if remaining is not None:
                remaining -= len(rows)

    @contextmanager
    def write_batch(self) -> Iterator[Ledger]:
        """Run many writes as one transaction: all of them are committed, or none.

        Why: ``jobs sync`` reconciles thousands of jobs; one commit each made it cost a
        transaction per job. Every write method called inside the block joins this
        transaction (and this thread holds the ledger's lock until it ends), so a
        crash or an error rolls back the whole batch and leaves the ledger as it was
        before it; written batches stay.
        """
        with self._lock, self._write():
            yield self

    @_locked
    def spend(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        group_by: Sequence[str] = (),
    ) -> list[SpendRow]:
        """The estimated price of the jobs the service accepted, summed in SQL.

        Counted: rows with an invocation ARN in InProgress, Completed or Failed (a job
        the service started is paid for, whatever its end); not Submitting (no answer
        yet) nor Rejected (no job exists). Timed by submit time, else creation time;
        ``since`` inclusive, ``until`` exclusive. Rows are grouped by ``group_by``
        (any of ``day``, ``model``, ``batch``) and always by endpoint, so callers tell
        local emulator jobs from AWS ones (:attr:`SpendRow.ran_locally`) without
        loading a single job.
        """
        unknown = [g for g in group_by if g not in _SPEND_GROUPS]
        if unknown:
            raise LedgerError(
                f"cannot group spend by {unknown[0]!r}; expected {', '.join(_SPEND_GROUPS)}"
            )
        keys = list(dict.fromkeys(group_by))
        columns = [f"{_SPEND_GROUPS[k]} AS {_SPEND_FIELDS[k]}" for k in keys]
        marks = ", ".join("?" for _ in _SERVICE_STATUSES)
        where = [f"invocation_arn IS NOT NULL AND status IN ({marks})"]
        params: list[Any] = list(_SERVICE_STATUSES)
        if since is not None:
            where.append("COALESCE(submit_time, created_at) >= ?")
            params.append(to_iso(since))
        if until is not None:
            where.append("COALESCE(submit_time, created_at) < ?")
            params.append(to_iso(until))
        grouping = [_SPEND_FIELDS[k] for k in keys] + ["endpoint"]
        sql = (
            f"SELECT {', '.join([*columns, 'endpoint'])}, COUNT(*) AS jobs,"
            " COALESCE(SUM(estimated_cost_usd), 0.0) AS usd,"
            " SUM(estimated_cost_usd IS NULL) AS unpriced"
            f" FROM jobs WHERE {' AND '.join(where)}"
            f" GROUP BY {', '.join(grouping)} ORDER BY {', '.join(grouping)}"
        )
        rows = self.conn.execute(sql, params).fetchall()
        return [
            SpendRow(
                endpoint=r["endpoint"],
                jobs=int(r["jobs"]),
                usd=float(r["usd"]),
                unpriced=int(r["unpriced"] or 0),
                day=r["day"] if "day" in keys else None,
                model_id=r["model_id"] if "model" in keys else None,
                batch_id=r["batch_id"] if "batch" in keys else None,
            )
            for r in rows
        ]

    @_locked
    def token_accepted(self, client_token: str) -> bool:
        """True when this client token already produced a job the service accepted
        (a submit with it sends nothing: the recorded job is returned)."""
        row = self.conn.execute(
            "SELECT invocation_arn FROM jobs WHERE client_token = ?", (client_token,)
        ).fetchone()
        return row is not None and row["invocation_arn"] is not None

    @_locked
    def find_identical(self, fingerprint: str, *, since: datetime) -> JobRecord | None:
        """The newest job with this request fingerprint recorded at or after ``since``
        that still stands for the request: Submitting, InProgress, Completed, or
        Rejected before it was sent (NotSent). Failed and service-rejected jobs are
        skipped: they do not stop a new one. So are jobs sent to an emulator started
        inside the command that sent them (``emulator_owned``): it stopped with that
        command and took the job along, so there is nothing to attach to (and on an
        emulator nothing is paid). An indexed lookup (m009)."""
        row = self.conn.execute(
            "SELECT * FROM jobs WHERE fingerprint = ? AND created_at >= ?"
            " AND COALESCE(emulator_owned, 0) = 0"
            " AND (status IN ('Submitting', 'InProgress', 'Completed')"
            " OR (status = 'Rejected' AND failure_type = ?))"
            " ORDER BY id DESC LIMIT 1",
            (fingerprint, to_iso(since), NOT_SENT),
        ).fetchone()
        return None if row is None else self._hydrate([row])[0]

    @_locked
    def pending_jobs(self) -> list[JobRecord]:
        """Jobs not known to be finished (Submitting or InProgress), oldest first: the
        work a resume must pick up (resubmit with the same token, or poll)."""
        placeholders = ", ".join("?" for _ in ACTIVE_STATUSES)
        rows = self.conn.execute(
            f"SELECT * FROM jobs WHERE status IN ({placeholders}) ORDER BY id",
            sorted(ACTIVE_STATUSES),
        ).fetchall()
        return self._hydrate(rows)

    @_locked
    def history(self, job_id: int) -> list[StatusEvent]:
        """The job's status changes, oldest first."""
        self._row(job_id)
        rows = self.conn.execute(
            "SELECT job_id, status, at, detail FROM status_events WHERE job_id = ? ORDER BY id",
            (job_id,),
        ).fetchall()
        return [
            StatusEvent(int(r["job_id"]), str(r["status"]), from_iso(r["at"]), r["detail"])
            for r in rows
        ]

    # ------------------------------------------------------------------ batches

    @_locked
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
            return _batch(row)

    @_locked
    def get_batch(self, batch_id: int) -> BatchRecord:
        """One batch by id; :class:`LedgerError` if unknown."""
        row = self.conn.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if row is None:
            raise LedgerError(f"no batch {batch_id} in the ledger")
        return _batch(row)

    @_locked
    def list_batches(self) -> list[BatchRecord]:
        """All batches, newest first."""
        rows = self.conn.execute("SELECT * FROM batches ORDER BY id DESC").fetchall()
        return [_batch(r) for r in rows]

    @_locked
    def batch_jobs(self, batch_id: int) -> list[JobRecord]:
        """Every job (all attempts) of a batch, by item then attempt."""
        rows = self.conn.execute(
            "SELECT * FROM jobs WHERE batch_id = ? ORDER BY batch_item, attempt, id",
            (batch_id,),
        ).fetchall()
        return self._hydrate(rows)

    @_locked
    def latest_attempt(self, batch_id: int, batch_item: str) -> JobRecord | None:
        """The highest attempt recorded for one item of a batch, or ``None``."""
        row = self.conn.execute(
            "SELECT * FROM jobs WHERE batch_id = ? AND batch_item = ?"
            " ORDER BY attempt DESC LIMIT 1",
            (batch_id, batch_item),
        ).fetchone()
        return None if row is None else self._hydrate([row])[0]

    def retries_of(self, job_id: int) -> list[int]:
        """Ids of the jobs that retry ``job_id`` (their ``retry_of`` link), oldest first."""
        rows = self.conn.execute("SELECT id FROM jobs WHERE retry_of = ? ORDER BY id", (job_id,))
        return [int(r["id"]) for r in rows]

    # ------------------------------------------------------------------ internals

    def _row(self, job_id: int) -> sqlite3.Row:
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise LedgerError(f"no job {job_id} in the ledger")
        return row  # type: ignore[no-any-return]

    def _load(self, job_id: int) -> JobRecord:
        return self._hydrate([self._row(job_id)])[0]

    def _event(self, job_id: int, status: str, at: str, detail: str | None) -> None:
        self.conn.execute(
            "INSERT INTO status_events (job_id, status, at, detail) VALUES (?, ?, ?, ?)",
            (job_id, status, at, detail),
        )

    def _move(self, row: sqlite3.Row, status: str, *, at: str, detail: str | None) -> bool:
        """Move the job to ``status`` if that is a step forward; report whether it moved."""
        current = str(row["status"])
        if status == current or _RANK[status] <= _RANK[current]:
            return False
        self.conn.execute(
            "UPDATE jobs SET status = ?, updated_at = ? WHERE id = ?",
            (status, to_iso(utc_now()), row["id"]),
        )
        self._event(int(row["id"]), status, at, detail)
        return True

    def _hydrate(self, rows: Sequence[sqlite3.Row]) -> list[JobRecord]:
        ids = [int(r["id"]) for r in rows]
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        files: dict[int, list[str]] = {i: [] for i in ids}
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            for t in self.conn.execute(
                f"SELECT job_id, key, value FROM job_tags WHERE job_id IN ({marks})"
                " ORDER BY job_id, key",
                chunk,
            ):
                tags[int(t["job_id"])][str(t["key"])] = str(t["value"])
            for f in self.conn.execute(
                f"SELECT job_id, path FROM job_files WHERE job_id IN ({marks}) ORDER BY rowid",
                chunk,
            ):
                files[int(f["job_id"])].append(str(f["path"]))
        return [_job(r, tags[int(r["id"])], files[int(r["id"])]) for r in rows]


def _job_filters(
    status: str | Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    batch_id: int | None,
) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (with its leading space, or empty) and parameters shared
    by :meth:`Ledger.list_jobs` and :meth:`Ledger.iter_jobs`."""
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        for s in statuses:
            _check_status(s)
        where.append(f"status IN ({', '.join('?' for _ in statuses)})")
        params.extend(statuses)
    if since is not None:
        where.append(f"{_LISTED_AT} >= ?")
        params.append(to_iso(since))
    if until is not None:
        where.append(f"{_LISTED_AT} < ?")
        params.append(to_iso(until))
    if batch_id is not None:
        where.append("batch_id = ?")
        params.append(batch_id)
    return (" WHERE " + " AND ".join(where) if where else ""), params


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _job(row: sqlite3.Row, tags: dict[str, str], files: Iterable[str]) -> JobRecord:
    return JobRecord(
        id=int(row["id"]),
        client_token=str(row["client_token"]),
        invocation_arn=row["invocation_arn"],
        invocation_id=row["invocation_id"],
        model_id=str(row["model_id"]),
        task_type=str(row["task_type"]),
        request=json.loads(row["request_json"] or "{}"),
        output_uri=row["output_uri"],
        status=str(row["status"]),
        duration_seconds=row["duration_seconds"],
        seed=row["seed"],
        estimated_cost_usd=row["estimated_cost_usd"],
        tags=tags,
        failure_type=row["failure_type"],
        failure_message=row["failure_message"],
        failure_shot=row["failure_shot"],
        local_files=list(files),
        batch_id=row["batch_id"],
        batch_item=row["batch_item"],
        attempt=int(row["attempt"]),
        retry_of=row["retry_of"],
        created_at=from_iso(row["created_at"]),
        submit_time=_opt_dt(row["submit_time"]),
        end_time=_opt_dt(row["end_time"]),
        updated_at=from_iso(row["updated_at"]),
        output_bucket_owner=row["output_bucket_owner"],
        output_kms_key_id=row["output_kms_key_id"],
        endpoint=row["endpoint"],
        name=row["name"],
        out_dir=row["out_dir"],
        emulator_owned=bool(row["emulator_owned"]),
        generation_seconds=row["generation_seconds"],
        time_scale=row["time_scale"],
    )


def _batch(row: sqlite3.Row) -> BatchRecord:
    return BatchRecord(
        id=int(row["id"]),
        identity=str(row["identity"]),
        file_path=str(row["file_path"]),
        created_at=from_iso(row["created_at"]),
        defaults=json.loads(row["defaults_json"] or "{}"),
    )
