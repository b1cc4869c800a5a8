"""What the ledger hands back: frozen records, and the guard on what it may store.

Records are plain frozen dataclasses so that callers (jobs, CLI) can pass them around
without holding a database connection, and ``to_dict()`` gives the ``--json`` shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from novareel.foundation.errors import LedgerError
from novareel.foundation.results import Failure, advice_for, video_among

# ACTIVE_STATUSES and TERMINAL_STATUSES are novareel.foundation.status's, re-exported (``as``) for
# callers that have always found them here.
from novareel.foundation.status import ACTIVE_STATUSES as ACTIVE_STATUSES
from novareel.foundation.status import TERMINAL_STATUSES as TERMINAL_STATUSES
from novareel.foundation.status import JobStatus
from novareel.ledger.db import to_iso

#: failure_type of a Rejected row whose submit never left this machine (cost 0).
NOT_SENT = "NotSent"
#: failure_type of a job whose emulator (started inside the submitting command) is gone.
LOCAL_EMULATOR_GONE = "LocalEmulatorGone"

# Key names (compared without case, "_" or "-") that smell of secrets.
_CREDENTIAL_KEYS = frozenset(
    {
        "accesskey",
        "accesskeyid",
        "awsaccesskeyid",
        "secretkey",
        "secretaccesskey",
        "awssecretaccesskey",
        "sessiontoken",
        "awssessiontoken",
        "securitytoken",
        "credentials",
        "password",
        "secret",
        "authorization",
    }
)
# AWS access key ids (long-term AKIA, temporary ASIA).
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# A request is a few kilobytes of JSON; far more means media slipped in under some key.
MAX_REQUEST_JSON = 256 * 1024


def _normalise_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def check_storable(value: Any, *, what: str = "request") -> None:
    """Refuse anything the ledger must never hold: image bytes and credentials.

    The caller is expected to have replaced each image by ``{"path", "sha256",
    "format"}`` (or its S3 location) already. Finding a ``bytes`` key means that step
    was skipped; we refuse rather than strip, because a silently stripped request
    could no longer be replayed and the bug that caused it would go unnoticed.
    Raises :class:`LedgerError` naming the offending place.
    """
    _walk(value, what)
    if isinstance(value, dict):
        size = len(json.dumps(value, default=str))
        if size > MAX_REQUEST_JSON:
            raise LedgerError(
                f"{what} is {size} bytes of JSON; the ledger stores requests, not media",
                hint="replace inline images by their path and sha256 before recording",
            )


def _walk(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            place = f"{where}.{key}"
            name = _normalise_key(str(key))
            if name == "bytes":
                raise LedgerError(
                    f"refusing to store image bytes at {place}",
                    hint="record the image as {'path', 'sha256', 'format'} instead",
                )
            if name in _CREDENTIAL_KEYS:
                raise LedgerError(f"refusing to store a credential-like field at {place}")
            _walk(item, place)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{where}[{index}]")
    elif isinstance(value, bytes | bytearray):
        raise LedgerError(f"refusing to store raw bytes at {where}")
    elif isinstance(value, str) and _ACCESS_KEY_ID.search(value):
        raise LedgerError(f"refusing to store what looks like an AWS access key id at {where}")


def is_loopback_url(url: str | None) -> bool:
    """True for an endpoint URL on this machine (127.0.0.0/8, ::1, localhost)."""
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def ran_on_emulator(emulator: bool | None, endpoint: str | None) -> bool:
    """Whether a recorded job ran on novareel's emulator (free): the endpoint's own
    answer recorded at submit (m018); for rows older than that answer, a loopback
    ``endpoint`` (all novareel sent to loopback addresses then was its emulator's)."""
    if emulator is not None:
        return emulator
    return is_loopback_url(endpoint)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else to_iso(value)


class RanOnEmulator:
    """``ran_locally`` of a row that records its endpoint and the endpoint's answer
    (m018/m019): one rule for jobs, spend rows and reviews."""

    endpoint: str | None
    emulator: bool | None

    @property
    def ran_locally(self) -> bool:
        """True when it went to novareel's emulator: it cost nothing, and budgets and
        spend reports leave it out (:func:`ran_on_emulator`)."""
        return ran_on_emulator(self.emulator, self.endpoint)


class _FieldsRecord:
    """A record whose JSON shape is exactly its fields, in their declared order."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with snake_case keys and ISO-8601 UTC times."""
        record: Any = self  # every subclass is a dataclass
        return {
            f.name: _iso(value) if isinstance(value, datetime) else value
            for f in fields(record)
            for value in (getattr(record, f.name),)
        }


@dataclass(frozen=True)
class StatusEvent(_FieldsRecord):
    """One change of a job's status, when it was seen, and why (if known)."""

    job_id: int
    status: str
    at: datetime
    detail: str | None = None


@dataclass(frozen=True)
class BatchRecord(_FieldsRecord):
    """One batch file: its identity (stable across runs, so runs can resume) and defaults."""

    id: int
    identity: str
    file_path: str
    created_at: datetime
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobRecord(RanOnEmulator):
    """Everything the ledger knows about one job (one submit, one client token)."""

    id: int
    client_token: str
    invocation_arn: str | None
    invocation_id: str | None
    model_id: str
    task_type: str
    request: dict[str, Any]
    output_uri: str | None
    status: str
    duration_seconds: int | None
    seed: int | None
    estimated_cost_usd: float | None
    tags: dict[str, str]
    failure_type: str | None
    failure_message: str | None
    failure_shot: int | None
    local_files: list[str]
    batch_id: int | None
    batch_item: str | None
    attempt: int
    retry_of: int | None
    created_at: datetime
    submit_time: datetime | None
    end_time: datetime | None
    updated_at: datetime
    output_bucket_owner: str | None = None
    output_kms_key_id: str | None = None
    endpoint: str | None = None
    name: str | None = None
    out_dir: str | None = None
    emulator_owned: bool = False
    #: End minus submit time as the service reported them, in real-service seconds
    #: (times ``time_scale``); None for jobs not recorded Completed by novareel.
    generation_seconds: float | None = None
    #: How much faster than the real service the endpoint ran (the emulator's speed).
    time_scale: float | None = None
    #: Who recorded the job and where: ``user@host:NOVAREEL_HOME`` (None: unknown).
    origin: str | None = None
    #: What to do about a refused submit, as said when it happened (None: the generic
    #: advice for the failure type applies).
    failure_advice: str | None = None
    #: The verdict of `novareel qa` on the downloaded video (m014; None: not checked).
    qa: dict[str, Any] | None = None
    #: Whether the endpoint answered as novareel's emulator at submit (m018); None
    #: for older rows.
    emulator: bool | None = None

    @property
    def not_sent(self) -> bool:
        """True when the submit was refused before anything reached the service (no
        credentials, a local check): no job exists anywhere and nothing was paid."""
        return self.status == JobStatus.REJECTED and self.failure_type == NOT_SENT

    @property
    def is_terminal(self) -> bool:
        """True once the job can no longer change (Completed, Failed, Rejected)."""
        return self.status in TERMINAL_STATUSES

    @property
    def failure(self) -> Failure | None:
        """Why the job failed, rebuilt from the recorded failure columns (with advice),
        or None when nothing was recorded: the one way a ledger row becomes the
        :class:`~novareel.foundation.results.Failure` every result path returns."""
        if not (self.failure_type or self.failure_message):
            return None
        return Failure(
            self.failure_type,
            self.failure_message,
            self.failure_shot,
            self.failure_advice or advice_for(self.failure_type, self.failure_message),
        )

    def downloaded_video(self, name: str = "output.mp4") -> Path | None:
        """The job's downloaded video (:func:`~novareel.foundation.results.video_among`
        its files, ``name`` being the family's video name), if it is still where the
        ledger says: the one answer of the gallery, ``review`` and ``qa``."""
        found = video_among(self.local_files, name)
        return Path(found) if found is not None and Path(found).is_file() else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with snake_case keys and ISO-8601 UTC times."""
        return {
            "id": self.id,
            "client_token": self.client_token,
            "invocation_arn": self.invocation_arn,
            "invocation_id": self.invocation_id,
            "model_id": self.model_id,
            "task_type": self.task_type,
            "request": self.request,
            "output_uri": self.output_uri,
            "output_bucket_owner": self.output_bucket_owner,
            "output_kms_key_id": self.output_kms_key_id,
            "endpoint": self.endpoint,
            "ran_locally": self.ran_locally,
            "emulator_owned": self.emulator_owned,
            "generation_seconds": self.generation_seconds,
            "time_scale": self.time_scale,
            "origin": self.origin,
            "failure_advice": self.failure_advice,
            "qa": self.qa,
            "name": self.name,
            "out_dir": self.out_dir,
            "not_sent": self.not_sent,
            "status": self.status,
            "duration_seconds": self.duration_seconds,
            "seed": self.seed,
            "estimated_cost_usd": self.estimated_cost_usd,
            "tags": dict(self.tags),
            "failure_type": self.failure_type,
            "failure_message": self.failure_message,
            "failure_shot": self.failure_shot,
            "local_files": list(self.local_files),
            "batch_id": self.batch_id,
            "batch_item": self.batch_item,
            "attempt": self.attempt,
            "retry_of": self.retry_of,
            "created_at": _iso(self.created_at),
            "submit_time": _iso(self.submit_time),
            "end_time": _iso(self.end_time),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True)
class SpendRow(RanOnEmulator):
    """Jobs the service accepted, in one group: how many, and their estimated price.

    A row is one (day, model, batch) group, with the fields not grouped on left None,
    and always one endpoint, so a report can tell AWS spend from local emulator jobs
    (``ran_locally``) without loading the jobs themselves. ``unpriced`` counts jobs
    with no recorded estimate (adopted by ``jobs sync``): their price is not in ``usd``.
    """

    endpoint: str | None
    jobs: int
    usd: float
    unpriced: int = 0
    day: str | None = None
    model_id: str | None = None
    batch_id: int | None = None
    #: Whether these jobs' endpoint answered as novareel's emulator (m018; None:
    #: rows recorded before the question was asked).
    emulator: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "model_id": self.model_id,
            "batch_id": self.batch_id,
            "endpoint": self.endpoint,
            "ran_locally": self.ran_locally,
            "jobs": self.jobs,
            "usd": self.usd,
            "unpriced": self.unpriced,
        }


@dataclass(frozen=True)
class Reservation:
    """What :meth:`Ledger.reserve` did, in its one write transaction.

    ``created``: a new row was written (its estimate now counts against every budget,
    ``Submitting`` until the service answers). ``identical``: ``record`` is an earlier
    job with the same request fingerprint that still stands for it (attach to it if it
    has an ARN, else resend *its* token). Neither: the client token was already
    recorded, and ``record`` is that row (a resumed run).
    """

    record: JobRecord
    created: bool
    identical: bool = False
