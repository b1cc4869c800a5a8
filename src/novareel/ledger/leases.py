"""The account's concurrency quota, shared through the ledger: leases on job slots.

Why in the ledger: an AWS account's quota of jobs in flight (per model and region)
is one number for every process and machine that submits with it, and the ledger is
the one thing they already share (one SQLite file on a machine, one PostgreSQL
database for a team). A home-made coordinator would be a second source of truth.

A lease is one row of ``quota_leases`` (m012): a slot taken by a holder (one process)
for one job. :meth:`JobLeases.acquire_lease` counts the unexpired leases of the same
endpoint, model and region and inserts a new one only while that count is below the
quota, both in ONE statement inside a write transaction (``BEGIN IMMEDIATE`` on
SQLite, the ledger's advisory lock on PostgreSQL), so two processes can never both
take the last slot. The holder renews its leases while its jobs run
(:meth:`renew_leases`) and deletes each when its job ends; a holder that dies stops
renewing, and its leases stop counting at ``expires_at`` (a short TTL), so a crash
frees its slots within a minute.

A holder that stops on purpose while its jobs still run (``generate --no-wait``, a
batch stopped at its time limit, an MCP server that exits) hands their leases over
(:meth:`hand_over_leases`): they stay counted, as the jobs still hold their slots on
the service, until some process sees a job end (any ``status``/``wait``, or a submit
waiting for a slot looking at the jobs that hold them: :meth:`lease_items`) or, at the
latest, :data:`UNWATCHED_LEASE_SECONDS` later.

Times are the writer's clock (ISO-8601 UTC text, fixed width, compared as text on
both backends); machines sharing a PostgreSQL ledger need clocks within a few seconds
of each other (NTP), well inside the TTL.
"""

from __future__ import annotations

from datetime import timedelta

from novareel.foundation.errors import LedgerError
from novareel.ledger.core import LedgerCore, locked
from novareel.ledger.db import to_iso, utc_now

__all__ = ["LEASE_TTL_SECONDS", "UNWATCHED_HOLDER", "UNWATCHED_LEASE_SECONDS", "JobLeases"]

#: How long a lease counts without being renewed (its holder renews every third).
LEASE_TTL_SECONDS = 60.0
#: The holder of the leases of jobs nobody is waiting for (their process has ended).
UNWATCHED_HOLDER = "unwatched"
#: How long such a lease counts at the latest: longer than a job runs on the service
#: (Nova Reel's two-minute videos take about 17 minutes, Ray 2's a few), with room for
#: a queue. Not a guess at when it ends: it is freed as soon as any process sees the
#: job end; this bound only frees a slot whose job no process can look at any more.
UNWATCHED_LEASE_SECONDS = 2 * 3600.0

_LIVE = "endpoint = ? AND model_id = ? AND region = ? AND expires_at >= ?"


class JobLeases(LedgerCore):
    """Taking, renewing and giving back slots of the account's concurrency quota."""

    @locked
    def leases_in_use(self, *, endpoint: str, model_id: str, region: str) -> int:
        """How many unexpired leases count against (endpoint, model, region) now."""
        row = self.conn.execute(
            f"SELECT COUNT(*) FROM quota_leases WHERE {_LIVE}",
            (endpoint, model_id, region, to_iso(utc_now())),
        ).fetchone()
        return int(row[0])

    @locked
    def acquire_lease(
        self,
        *,
        endpoint: str,
        model_id: str,
        region: str,
        holder: str,
        quota: int,
        item: str | None = None,
        ttl: float = LEASE_TTL_SECONDS,
        force: bool = False,
    ) -> int | None:
        """A lease's id, or None when ``quota`` unexpired leases already count.

        ``item`` names the job the slot is for (its client token): a job already
        holding an unexpired lease gets that lease back instead of a second slot
        (``force`` also makes it this holder's). The count and the insert are one
        write transaction, so the quota holds whatever the other processes do.
        ``force=True`` takes the lease whatever the count (a job already running,
        found again by a resumed run: it occupies a slot on the service whether or
        not a lease says so). Expired leases are
        deleted on the way (they count for nothing; the table stays small). A cheap
        read first spares the write lock while the slots are full.
        """
        if quota < 1 and not force:
            raise LedgerError(f"a concurrency quota must be at least 1, got {quota}")
        now = utc_now()
        stamp = to_iso(now)
        expires = to_iso(now + timedelta(seconds=ttl))
        key = (endpoint, model_id, region, stamp)
        slot = key[:3]
        # Refused last time: look (a read, no write lock) before asking again, so a
        # process waiting for a slot polls cheaply.
        if (
            not force
            and slot in self._slots_full
            and self._full(key, quota)
            and self._job_lease(endpoint, item, stamp) is None
        ):
            return None
        with self._write() as db:
            # ONE statement takes the slot: inserted only when the job holds no
            # lease yet and (unless force) fewer than ``quota`` count, under the write
            # lock, so no other process can take the last slot in between.
            count = "" if force else f" AND (SELECT COUNT(*) FROM quota_leases WHERE {_LIVE}) < ?"
            cursor = db.execute(
                "INSERT INTO quota_leases"
                " (endpoint, model_id, region, holder, item, acquired_at, expires_at)"
                " SELECT ?, ?, ?, ?, ?, ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM quota_leases"
                " WHERE endpoint = ? AND item = ? AND expires_at >= ?)" + count,
                (
                    *(endpoint, model_id, region, holder, item, stamp, expires),
                    *(endpoint, item, stamp),
                    *(() if force else (*key, quota)),
                ),
            )
            if cursor.rowcount == 1 and cursor.lastrowid is not None:
                self._slots_full.discard(slot)
                return int(cursor.lastrowid)
            held = self._job_lease(endpoint, item, stamp)
            if held is not None:
                # One job holds one slot, whoever asks: a resumed run takes over the
                # lease its stopped run left (force), two processes sending the same
                # job (one batch file on two machines) share it.
                if force:
                    db.execute(
                        "UPDATE quota_leases SET holder = ?, expires_at = ? WHERE id = ?",
                        (holder, expires, held),
                    )
                return held
        if force:
            raise LedgerError("the ledger did not number the new quota lease")
        self._slots_full.add(slot)
        return None

    def _full(self, key: tuple[str, str, str, str], quota: int) -> bool:
        row = self.conn.execute(f"SELECT COUNT(*) FROM quota_leases WHERE {_LIVE}", key)
        return int(row.fetchone()[0]) >= quota

    def _job_lease(self, endpoint: str, item: str | None, stamp: str) -> int | None:
        """The unexpired lease already held for the job ``item`` names, if any."""
        if item is None:
            return None
        row = self.conn.execute(
            "SELECT id FROM quota_leases WHERE endpoint = ? AND item = ? AND expires_at >= ?"
            " ORDER BY id LIMIT 1",
            (endpoint, item, stamp),
        ).fetchone()
        return None if row is None else int(row[0])

    @locked
    def renew_leases(self, holder: str, *, ttl: float = LEASE_TTL_SECONDS) -> int:
        """Push every lease of ``holder`` to now + ``ttl``; how many it still holds
        (a lease that expired and was deleted while the holder stalled is gone).
        One statement: a transaction of its own."""
        cursor = self._write_one(
            "UPDATE quota_leases SET expires_at = ? WHERE holder = ?",
            (to_iso(utc_now() + timedelta(seconds=ttl)), holder),
        )
        return max(int(cursor.rowcount), 0)

    @locked
    def hand_over_leases(self, holder: str, *, ttl: float = UNWATCHED_LEASE_SECONDS) -> int:
        """``holder`` stops while the jobs of its leases still run: the leases become
        :data:`UNWATCHED_HOLDER`'s, counted until some process sees each job end, or
        for ``ttl`` seconds at the latest; how many were handed over. Why: letting
        them expire a minute after the process ends would let other processes send
        jobs into slots the service still counts as taken. One statement."""
        cursor = self._write_one(
            "UPDATE quota_leases SET holder = ?, expires_at = ? WHERE holder = ?",
            (UNWATCHED_HOLDER, to_iso(utc_now() + timedelta(seconds=ttl)), holder),
        )
        return max(int(cursor.rowcount), 0)

    @locked
    def release_lease(self, lease_id: int) -> None:
        """Give a slot back (its job ended, or was never sent), and delete expired
        leases on the way (they count for nothing; the table stays small). One
        statement, a transaction of its own: a deleted lease can only make a
        concurrent count smaller, never let a slot be taken twice."""
        self._write_one(
            "DELETE FROM quota_leases WHERE id = ? OR expires_at < ?",
            (lease_id, to_iso(utc_now())),
        )

    @locked
    def lease_items(
        self, *, endpoint: str, model_id: str, region: str, unwatched_only: bool = False
    ) -> list[str]:
        """The jobs (client tokens) holding the unexpired leases of (endpoint, model,
        region): what a submit waiting for a slot checks for jobs that ended unseen.
        ``unwatched_only``: only the handed-over ones (:meth:`hand_over_leases`),
        whose jobs no running process is polling."""
        holder = " AND holder = ?" if unwatched_only else ""
        rows = self.conn.execute(
            f"SELECT item FROM quota_leases WHERE {_LIVE} AND item IS NOT NULL{holder} ORDER BY id",
            (endpoint, model_id, region, to_iso(utc_now()))
            + ((UNWATCHED_HOLDER,) if unwatched_only else ()),
        ).fetchall()
        return [str(r[0]) for r in rows]

    @locked
    def release_item_lease(self, endpoint: str, item: str) -> None:
        """Give back the slot of the job ``item`` names, whoever holds it: any process
        that sees the job end (a later ``wait``, another MCP call) frees it, not only
        the one that took it."""
        with self._write() as db:
            db.execute("DELETE FROM quota_leases WHERE endpoint = ? AND item = ?", (endpoint, item))

    @locked
    def release_holder(self, holder: str) -> None:
        """Give back every slot ``holder`` still holds."""
        self._write_one("DELETE FROM quota_leases WHERE holder = ?", (holder,))
