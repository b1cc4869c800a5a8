"""Reading jobs: one by any of its names, listings (whole or page by page), the work
left to resume, identical requests, and a job's history."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from novareel.foundation.errors import LedgerError
from novareel.ledger.core import CHUNK, EXTRAS, LedgerCore, check_status, locked
from novareel.ledger.db import from_iso, to_iso
from novareel.ledger.models import ACTIVE_STATUSES, JobRecord, StatusEvent

if TYPE_CHECKING:
    # Only for the checker: ``typing.Unpack`` is 3.11+, and annotations are not
    # evaluated at run time (``from __future__ import annotations``).
    from typing import Unpack

_INVOCATION_ID = re.compile(r"^[a-z0-9]{12}$")
#: When a job counts as listed: its submit time, else its creation time (the same
#: expression as the ``jobs_listing_order`` index, so SQLite uses that index).
_LISTED_AT = "COALESCE(submit_time, created_at)"


class JobFilters(TypedDict, total=False):
    """Which jobs :meth:`JobQueries.list_jobs` and :meth:`JobQueries.iter_jobs` list
    (keyword arguments of both, every one optional and ``None`` meaning "any").

    Why a type: the two listings take the same filters and must keep taking the same
    ones; spelled once here, a new filter reaches both.
    """

    #: one status or several
    status: str | Sequence[str] | None
    #: submit time (else creation time) at or after this, inclusive
    since: datetime | None
    #: ... and before this, exclusive
    until: datetime | None
    batch_id: int | None
    #: at most this many jobs (newest first)
    limit: int | None


class JobQueries(LedgerCore):
    """Finding and listing jobs (reads only)."""

    @locked
    def get(self, ref: str | int) -> JobRecord:
        """Find one job by ledger id, invocation id (12 chars), full ARN or client token.

        Raises :class:`LedgerError` if nothing matches, or if the reference matches
        several jobs (e.g. the digits of an id are also another job's token).
        """
        return self._only(ref, self._matching(ref))

    @locked
    def find(self, ref: str | int) -> JobRecord | None:
        """Like :meth:`get`, but ``None`` when nothing matches (still raises when ambiguous)."""
        rows = self._matching(ref)
        return self._only(ref, rows) if rows else None

    def _only(self, ref: str | int, rows: list[Any]) -> JobRecord:
        """The one job ``ref`` names, or the error for none or several."""
        if not rows:
            raise LedgerError(
                f"no job in the ledger matches {str(ref)!r}",
                hint="use a ledger id, an invocation id, a full ARN or a client token;"
                " `novareel jobs sync` adds jobs submitted elsewhere",
            )
        if len(rows) > 1:
            listed = ", ".join(str(i) for i in sorted(int(r["id"]) for r in rows))
            raise LedgerError(
                f"{str(ref)!r} matches several jobs ({listed})",
                hint="use the full invocation ARN or the ledger id instead",
            )
        return self._hydrate(rows)[0]

    def _matching(self, ref: str | int) -> list[Any]:
        """The rows (with ``n_extras``) that ``ref`` names, in ONE statement: each of
        its possible meanings is a term of one ``OR``, each served by its own index."""
        params: list[Any]
        if isinstance(ref, int) and not isinstance(ref, bool):
            terms, params = ["id = ?"], [ref]
        else:
            text = str(ref).strip()
            if not text:
                return []
            terms, params = ["client_token = ?"], [text]
            if text.isdigit():
                terms.append("id = ?")
                params.append(int(text))
            if _INVOCATION_ID.match(text):
                terms.append("invocation_id = ?")
                params.append(text)
            if text.startswith("arn:"):
                terms.append("invocation_arn = ?")
                params.append(text)
        where = " OR ".join(terms)
        return list(self.conn.execute(f"SELECT *, {EXTRAS} FROM jobs WHERE {where}", params))

    @locked
    def list_jobs(self, **filters: Unpack[JobFilters]) -> list[JobRecord]:
        """Jobs newest first, by submit time (creation time if never submitted),
        filtered by :class:`JobFilters`. Everything is read in one query (a consistent
        snapshot); for long listings use :meth:`iter_jobs`, whose memory does not grow
        with the rows.
        """
        where, params = _job_filters(filters)
        limit = filters.get("limit")
        sql = f"SELECT * FROM jobs{where} ORDER BY {_LISTED_AT} DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        return self._hydrate(self.conn.execute(sql, params).fetchall())

    def iter_jobs(
        self, *, chunk: int = CHUNK, **filters: Unpack[JobFilters]
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
        where, params = _job_filters(filters)
        limit = filters.get("limit")
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

    @locked
    def token_accepted(self, client_token: str) -> bool:
        """True when this client token already produced a job the service accepted
        (a submit with it sends nothing: the recorded job is returned)."""
        row = self.conn.execute(
            "SELECT invocation_arn FROM jobs WHERE client_token = ?", (client_token,)
        ).fetchone()
        return row is not None and row["invocation_arn"] is not None

    @locked
    def find_identical(self, fingerprint: str, *, since: datetime) -> JobRecord | None:
        """The newest job with this request fingerprint recorded at or after ``since``
        that still stands for the request: Submitting, InProgress, Completed, or
        Rejected before it was sent (NotSent). Failed and service-rejected jobs are
        skipped: they do not stop a new one. So are jobs sent to an emulator started
        inside the command that sent them (``emulator_owned``): it stopped with that
        command and took the job along, so there is nothing to attach to (and on an
        emulator nothing is paid). An indexed lookup (m009); :meth:`Ledger.reserve` makes
        the same lookup and its insert one transaction."""
        return self._standing_identical(fingerprint, since)

    @locked
    def pending_jobs(self) -> list[JobRecord]:
        """Jobs not known to be finished (Submitting or InProgress), oldest first: the
        work a resume must pick up (resubmit with the same token, or poll)."""
        placeholders = ", ".join("?" for _ in ACTIVE_STATUSES)
        rows = self.conn.execute(
            f"SELECT * FROM jobs WHERE status IN ({placeholders}) ORDER BY id",
            sorted(ACTIVE_STATUSES),
        ).fetchall()
        return self._hydrate(rows)

    @locked
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

    def retries_of(self, job_id: int) -> list[int]:
        """Ids of the jobs that retry ``job_id`` (their ``retry_of`` link), oldest first."""
        rows = self.conn.execute("SELECT id FROM jobs WHERE retry_of = ? ORDER BY id", (job_id,))
        return [int(r["id"]) for r in rows]


def _job_filters(filters: JobFilters) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (with its leading space, or empty) and parameters shared
    by :meth:`Ledger.list_jobs` and :meth:`Ledger.iter_jobs`."""
    unknown = sorted(set(filters) - JobFilters.__optional_keys__)
    if unknown:
        # What a spelled-out keyword parameter would say (a typo must not list all jobs).
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
    where: list[str] = []
    params: list[Any] = []
    status, since = filters.get("status"), filters.get("since")
    until, batch_id = filters.get("until"), filters.get("batch_id")
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        for s in statuses:
            check_status(s)
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
