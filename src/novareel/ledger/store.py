"""The job ledger: every job novareel submitted or learned about, in one SQLite file
(or one PostgreSQL database a team shares: :mod:`.backend`).

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

The methods live in one module per responsibility, as mixins on
:class:`~novareel.ledger.core.LedgerCore` (the connection, its lock and the status
rule): :mod:`.writes` (intent, submit, refusal, polls, files), :mod:`.sync`
(``jobs sync`` adoption), :mod:`.queries` (lookups and listings), :mod:`.batches` and
:mod:`.spend` (spend and generation times), :mod:`.leases` (the account's
concurrency quota, shared as leases on job slots). :class:`Ledger` joins them and is the one
public class.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from novareel.foundation.arns import invocation_id_from_arn
from novareel.ledger.batches import BatchQueries
from novareel.ledger.leases import JobLeases
from novareel.ledger.queries import JobQueries
from novareel.ledger.reviews import JobReviews
from novareel.ledger.spend import JobSpend
from novareel.ledger.sync import JobSync
from novareel.ledger.writes import JobWrites

__all__ = ["Ledger", "invocation_id_from_arn"]


class Ledger(JobWrites, JobSync, JobQueries, BatchQueries, JobSpend, JobLeases, JobReviews):
    """The record of jobs, status histories and batches.

    One instance holds one connection (the SQLite file, or a PostgreSQL database
    through :mod:`.backend`), guarded by a lock so threads may share it. Several
    processes (on PostgreSQL, several machines) may open the same ledger at once.
    The schema is migrated to the current version when the ledger is opened.
    """

    @classmethod
    def open_default(cls) -> Ledger:
        """The default ledger: ``NOVAREEL_LEDGER_URL`` or ``[ledger] url`` in
        ``config.toml`` when set (PostgreSQL), else ``$NOVAREEL_HOME/ledger.db`` (or
        the platform data folder)."""
        return cls(None)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
