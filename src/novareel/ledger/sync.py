"""Reconciling the service's list of jobs with the ledger (``novareel jobs sync``)."""

from __future__ import annotations

from datetime import datetime

from novareel.foundation.arns import invocation_id_from_arn
from novareel.foundation.errors import LedgerError
from novareel.foundation.status import FINISHED_STATUSES, SERVICE_STATUSES, JobStatus
from novareel.ledger.core import (
    LedgerCore,
    locked,
    opt_iso,
)
from novareel.ledger.db import to_iso, utc_now
from novareel.ledger.models import JobRecord


class JobSync(LedgerCore):
    """Adopting jobs the service knows: heal crashed rows, add jobs sent elsewhere."""

    @locked
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
        if status not in SERVICE_STATUSES:
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
                submitted = opt_iso(submit_time) or now
                db.execute(
                    "UPDATE jobs SET invocation_arn = ?, invocation_id = ?,"
                    " submit_time = COALESCE(submit_time, ?),"
                    " output_uri = COALESCE(output_uri, ?), updated_at = ? WHERE id = ?",
                    (
                        invocation_arn,
                        invocation_id_from_arn(invocation_arn),
                        opt_iso(submit_time),
                        output_uri,
                        now,
                        job_id,
                    ),
                )
                # Keep the history honest: a job was accepted before it finished.
                self._move(
                    self._row(job_id), JobStatus.IN_PROGRESS, at=submitted, detail="found by sync"
                )
                if status in FINISHED_STATUSES:
                    finished = opt_iso(end_time) or now
                    self._move(self._row(job_id), status, at=finished, detail="found by sync")
                if self._row(job_id)["status"] == status:
                    db.execute(
                        "UPDATE jobs SET end_time = COALESCE(end_time, ?),"
                        " failure_message = COALESCE(failure_message, ?) WHERE id = ?",
                        (opt_iso(end_time), failure_message, job_id),
                    )
                return self._load(job_id), False

            token = client_token or f"adopted:{invocation_arn}"
            if db.execute("SELECT 1 FROM jobs WHERE client_token = ?", (token,)).fetchone():
                raise LedgerError(f"client token {token!r} is already used by another job")
            first_submit = opt_iso(submit_time)
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
                    opt_iso(end_time),
                    now,
                ),
            )
            job_id = int(cursor.lastrowid or 0)
            if status != JobStatus.IN_PROGRESS and first_submit is not None:
                self._event(job_id, JobStatus.IN_PROGRESS, first_submit, "adopted from the service")
            first_at = (
                (opt_iso(end_time) or now)
                if status != JobStatus.IN_PROGRESS
                else (first_submit or now)
            )
            self._event(job_id, status, first_at, "adopted from the service")
            return self._load(job_id), True
