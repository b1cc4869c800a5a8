"""A job's status: the one place its names, and what each one means, are spelled.

The service (GetAsyncInvoke, ListAsyncInvokes) reports ``InProgress``, ``Completed``
and ``Failed``; novareel adds two states of its own, ``Submitting`` (recorded in the
ledger before the call, no answer yet) and ``Rejected`` (the service, or a local check,
refused the submit). :class:`JobStatus` is a :class:`~enum.StrEnum`, so each member
*is* its string: it compares equal to the text stored in the ledger and returned by
boto3, prints and serialises to JSON as that text, and can be passed to SQLite as is.
Code that reads a status from outside keeps a plain ``str``; code that spells one
uses a member, so the next status is added here and nowhere else.

A leaf: it imports nothing from novareel, so every layer may use it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ACTIVE_STATUSES",
    "FINISHED_STATUSES",
    "SERVICE_STATUSES",
    "TERMINAL_STATUSES",
    "JobStatus",
]


class JobStatus(StrEnum):
    """Every status a job may have, in the order a job passes through them."""

    #: Recorded before the submit call; the service has not answered (yet).
    SUBMITTING = "Submitting"
    #: The service accepted the job and is generating it.
    IN_PROGRESS = "InProgress"
    #: The video is written to the output location.
    COMPLETED = "Completed"
    #: The service gave up on the job (failureMessage says why).
    FAILED = "Failed"
    #: The submit was refused, so no job exists on the service's side.
    REJECTED = "Rejected"

    @property
    def reported_by_service(self) -> bool:
        """True for the statuses the service itself returns (not novareel's own)."""
        return self in SERVICE_STATUSES

    @property
    def is_active(self) -> bool:
        """True while the job may still need attention: resubmit (Submitting) or poll."""
        return self in ACTIVE_STATUSES

    @property
    def is_terminal(self) -> bool:
        """True once the job can no longer change."""
        return self in TERMINAL_STATUSES


#: What GetAsyncInvoke and ListAsyncInvokes may report (and ListAsyncInvokes filters on).
SERVICE_STATUSES: tuple[JobStatus, ...] = (
    JobStatus.IN_PROGRESS,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
)
#: A job in one of these may still need attention: resubmit (Submitting) or poll.
ACTIVE_STATUSES: frozenset[JobStatus] = frozenset({JobStatus.SUBMITTING, JobStatus.IN_PROGRESS})
#: A job in one of these will not change any more (Rejected: the service refused the
#: submit, so no job exists on its side).
TERMINAL_STATUSES: frozenset[JobStatus] = frozenset(JobStatus) - ACTIVE_STATUSES
#: Where waiting on the service ends: the service's own statuses that are terminal.
FINISHED_STATUSES: frozenset[JobStatus] = TERMINAL_STATUSES & frozenset(SERVICE_STATUSES)
