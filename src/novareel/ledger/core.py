"""What every part of :class:`~novareel.ledger.Ledger` stands on: the connection and
its lock, the write transaction, and the few steps every write shares (load a row,
move a status forward, log the move, turn rows into records).

Why a separate module: the ledger's public methods are split by what they are for
(:mod:`.writes`, :mod:`.sync`, :mod:`.queries`, :mod:`.batches`, :mod:`.spend`), each a
mixin on :class:`LedgerCore`; :mod:`.store` joins them into the one ``Ledger`` class.
The status rule lives here, once: a job only ever moves to a higher rank.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from novareel.foundation.errors import LedgerError
from novareel.foundation.status import JobStatus
from novareel.ledger.backend import (
    connect_postgres,
    describe,
    is_postgres,
    job_origin,
    ledger_target,
)
from novareel.ledger.db import (
    connect,
    disk_full,
    from_iso,
    full_disk_error,
    to_iso,
    transaction,
    utc_now,
)
from novareel.ledger.migrations import JOB_STATUSES, migrate
from novareel.ledger.models import NOT_SENT, BatchRecord, JobRecord

# How far along a status is; a job only ever moves to a higher rank.
RANK: dict[str, int] = {
    JobStatus.SUBMITTING: 0,
    JobStatus.REJECTED: 1,
    JobStatus.IN_PROGRESS: 2,
    JobStatus.COMPLETED: 3,
    JobStatus.FAILED: 3,
}
CHUNK = 500  # SQLite's limit on bound parameters is 999 on old builds.
#: SQLite runs ``UPDATE/INSERT ... RETURNING`` since 3.35 (2021); an older build
#: (Debian 11's 3.34) reads the written row back with a SELECT instead.
SQLITE_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
#: How many tags and files a job has, read with its row (two index lookups in the
#: same statement): a job with none (a batch item before its download) is complete
#: without reading its tags and files, which a reload after every write used to cost
#: two more statements each time (issue 20: statements per job).
EXTRAS = (
    "(SELECT COUNT(*) FROM job_tags WHERE job_tags.job_id = jobs.id)"
    " + (SELECT COUNT(*) FROM job_files WHERE job_files.job_id = jobs.id) AS n_extras"
)

_F = TypeVar("_F", bound=Callable[..., Any])


def locked(method: _F) -> _F:
    """Serialise a public method on the instance's lock (one connection, many threads)."""

    @functools.wraps(method)
    def wrapper(self: LedgerCore, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(_F, wrapper)


def check_status(status: str) -> None:
    if status not in JOB_STATUSES:
        raise LedgerError(
            f"unknown job status {status!r}; expected one of {', '.join(JOB_STATUSES)}"
        )


def opt_iso(value: datetime | None) -> str | None:
    return None if value is None else to_iso(value)


def opt_dt(value: str | None) -> datetime | None:
    return None if value is None else from_iso(value)


class LedgerCore:
    """The connection, its lock and the shared steps of :class:`~novareel.ledger.Ledger`.

    One instance holds one connection (SQLite, or PostgreSQL through the adapter of
    :mod:`.backend`), guarded by a lock so threads may share it. ``path`` is a file
    or a ``postgresql://`` URL; ``None`` means the default
    (:func:`~novareel.ledger.backend.ledger_target`). Several processes (and, on
    PostgreSQL, machines) may open the same ledger at once. The schema is migrated
    to the current version when the ledger is opened.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        target = ledger_target() if path is None else path
        #: The SQLite file, or None when the ledger is a PostgreSQL database.
        self.path: Path | None = None if is_postgres(target) else Path(target)
        #: How messages name this ledger: the file, or the URL without its password.
        self.location: str = describe(target)
        #: Who/where this process records jobs as (the ``origin`` column, m011).
        self.origin: str = job_origin()
        self._lock = threading.RLock()
        #: (endpoint, model, region) slots whose last lease request was refused
        #: (:meth:`JobLeases.acquire_lease` looks before asking again)
        self._slots_full: set[tuple[str, str, str]] = set()
        self._conn: sqlite3.Connection | None = (
            connect_postgres(str(target)) if self.path is None else connect(self.path)
        )
        try:
            migrate(self._conn)
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    @locked
    def close(self) -> None:
        """Close the connection; further calls raise :class:`LedgerError`."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"Ledger({self.location!r})"

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (for migrations tooling and tests)."""
        if self._conn is None:
            raise LedgerError(f"the ledger at {self.location} is closed")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction whose SQLite errors surface as :class:`LedgerError`
        (a locked, full or read-only file is a ledger problem, not a crash)."""
        try:
            with transaction(self.conn) as db:
                yield db
        except sqlite3.DatabaseError as exc:
            raise write_error(self.location, exc) from exc

    def _write_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """One write statement, a transaction of its own (both databases commit a
        statement outside ``BEGIN`` atomically and durably), or a part of the
        transaction in progress: for a write that needs no read before it, the
        ``BEGIN`` and ``COMMIT`` round trips of :meth:`_write` are saved."""
        try:
            return self.conn.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise write_error(self.location, exc) from exc

    @locked
    def backup(self, dest: Path) -> dict[str, Any]:
        """Write a consistent copy of the ledger to ``dest`` (a new file, 0600) with
        SQLite's online backup API, and say what it holds.

        Why the backup API rather than copying the file: a copy taken while a job is
        being recorded can catch half a transaction (or miss what is still in the
        ``-wal`` file); the backup reads one snapshot, while other processes go on
        writing. ``dest`` must not exist: a backup never overwrites anything.
        """
        from novareel.ledger.db import secure_new_file

        if self.path is None:
            raise LedgerError(
                f"the ledger at {self.location} is a PostgreSQL database: "
                "`novareel ledger backup` copies a SQLite file",
                hint="back it up with PostgreSQL's own tools (pg_dump)",
            )
        dest = Path(dest)
        if dest.exists():
            raise LedgerError(
                f"{dest} already exists; a backup never overwrites a file",
                hint="choose a new path, or move the old file aside",
            )
        if dest.parent.resolve() == self.path.parent.resolve() and dest.name == self.path.name:
            raise LedgerError(f"{dest} is the ledger itself")
        secure_new_file(dest)
        try:
            target = sqlite3.connect(str(dest), isolation_level=None)
            try:
                self.conn.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                check = str(target.execute("PRAGMA quick_check").fetchone()[0])
                jobs = int(target.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
                steps = [
                    str(r[0]) for r in target.execute("SELECT name FROM _migrations ORDER BY rowid")
                ]
            finally:
                target.close()
        except sqlite3.DatabaseError as exc:
            dest.unlink(missing_ok=True)
            if disk_full(exc):
                raise full_disk_error(dest) from exc
            raise LedgerError(f"cannot write the backup to {dest}: {exc}") from exc
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return {
            "source": str(self.path),
            "path": str(dest),
            "bytes": dest.stat().st_size,
            "jobs": jobs,
            "schema": steps[-1] if steps else None,
            "integrity": check,
        }

    def _standing_identical(self, fingerprint: str, since: datetime) -> JobRecord | None:
        """The newest job of this fingerprint recorded since ``since`` that still
        stands for the request (see :meth:`Ledger.find_identical`)."""
        row = self.conn.execute(
            f"SELECT *, {EXTRAS} FROM jobs WHERE fingerprint = ? AND created_at >= ?"
            " AND COALESCE(emulator_owned, 0) = 0"
            " AND (status IN ('Submitting', 'InProgress', 'Completed')"
            " OR (status = 'Rejected' AND failure_type = ?))"
            " ORDER BY id DESC LIMIT 1",
            (fingerprint, to_iso(since), NOT_SENT),
        ).fetchone()
        return None if row is None else self._hydrate([row])[0]

    def _row(self, job_id: int) -> sqlite3.Row:
        """The job's row, with ``n_extras`` (:data:`EXTRAS`)."""
        row = self.conn.execute(f"SELECT *, {EXTRAS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise LedgerError(f"no job {job_id} in the ledger")
        return row  # type: ignore[no-any-return]

    def _load(self, job_id: int) -> JobRecord:
        return self._hydrate([self._row(job_id)])[0]

    def _returning(self) -> bool:
        """Whether the connection runs ``... RETURNING`` (PostgreSQL, SQLite 3.35+)."""
        return SQLITE_RETURNING or not isinstance(self.conn, sqlite3.Connection)

    def _update(self, job_id: int, sets: str, params: Sequence[Any]) -> sqlite3.Row:
        """``UPDATE jobs SET <sets> WHERE id = ?`` and the row as written: one
        statement with ``RETURNING *`` (a SELECT after it on an old SQLite). ``sets``
        is one of the writers' fixed texts, never a value (values are ``params``)."""
        sql = f"UPDATE jobs SET {sets} WHERE id = ?"
        if self._returning():
            rows = self.conn.execute(sql + " RETURNING *", (*params, job_id)).fetchall()
            if not rows:
                raise LedgerError(f"no job {job_id} in the ledger")
            return rows[0]  # type: ignore[no-any-return]
        self.conn.execute(sql, (*params, job_id))
        return self._row(job_id)

    def _complete(self, row: sqlite3.Row, read: sqlite3.Row) -> JobRecord:
        """The record of ``row`` (as a write returned it), its tags and files read only
        when ``read`` (the same job's row read earlier IN THE SAME write transaction,
        with ``n_extras``) says it has any: under the write lock nobody else changes
        them, and the writers that call this do not."""
        if int(read["n_extras"] or 0) == 0:
            return job_record(row, {}, [])
        return self._hydrate([row])[0]

    def _event(self, job_id: int, status: str, at: str, detail: str | None) -> None:
        self.conn.execute(
            "INSERT INTO status_events (job_id, status, at, detail) VALUES (?, ?, ?, ?)",
            (job_id, status, at, detail),
        )

    def _move(self, row: sqlite3.Row, status: str, *, at: str, detail: str | None) -> bool:
        """Move the job to ``status`` if that is a step forward; report whether it moved."""
        if not moves_forward(row, status):
            return False
        self.conn.execute(
            "UPDATE jobs SET status = ?, updated_at = ? WHERE id = ?",
            (status, to_iso(utc_now()), row["id"]),
        )
        self._event(int(row["id"]), status, at, detail)
        return True

    def _hydrate(self, rows: Sequence[sqlite3.Row]) -> list[JobRecord]:
        """Records of ``rows`` with their tags and files; rows read with ``n_extras``
        (:data:`EXTRAS`) that have none are not looked up."""
        # (keys(): ``in`` on a row looks at its values)
        counted = bool(rows) and "n_extras" in rows[0].keys()  # noqa: SIM118
        ids = [int(r["id"]) for r in rows if not counted or r["n_extras"]]
        tags: dict[int, dict[str, str]] = {int(r["id"]): {} for r in rows}
        files: dict[int, list[str]] = {int(r["id"]): [] for r in rows}
        for chunk in chunks(ids):
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
        return [job_record(r, tags[int(r["id"])], files[int(r["id"])]) for r in rows]


def moves_forward(row: sqlite3.Row, status: str) -> bool:
    """Whether ``status`` is a step forward from the row's (statuses never go back)."""
    current = str(row["status"])
    return status != current and RANK[status] > RANK[current]


def write_error(path: Path | str, exc: sqlite3.DatabaseError) -> LedgerError:
    """A failed write said plainly: a full disk is a full disk, not a damaged file."""
    if disk_full(exc):
        return full_disk_error(path)
    return LedgerError(f"the ledger at {path} could not be written: {exc}")


def chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def job_record(row: sqlite3.Row, tags: dict[str, str], files: Iterable[str]) -> JobRecord:
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
        submit_time=opt_dt(row["submit_time"]),
        end_time=opt_dt(row["end_time"]),
        updated_at=from_iso(row["updated_at"]),
        output_bucket_owner=row["output_bucket_owner"],
        output_kms_key_id=row["output_kms_key_id"],
        endpoint=row["endpoint"],
        name=row["name"],
        out_dir=row["out_dir"],
        emulator_owned=bool(row["emulator_owned"]),
        generation_seconds=row["generation_seconds"],
        time_scale=row["time_scale"],
        origin=row["origin"],
        failure_advice=row["failure_advice"],
        qa=json.loads(row["qa"]) if row["qa"] else None,
        emulator=None if row["emulator"] is None else bool(row["emulator"]),
    )


def batch_record(row: sqlite3.Row) -> BatchRecord:
    return BatchRecord(
        id=int(row["id"]),
        identity=str(row["identity"]),
        file_path=str(row["file_path"]),
        created_at=from_iso(row["created_at"]),
        defaults=json.loads(row["defaults_json"] or "{}"),
    )
