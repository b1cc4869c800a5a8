"""Reviews of videos (``novareel review``, m015): reserved before the paid call, like jobs.

The reservation writes a ``Submitting`` row holding the estimate in ONE write
transaction with the caller's budget check (:meth:`JobReviews.reserve_review`), so a
review counts against ``--max-cost`` and the standing budgets exactly as a job does,
and two processes cannot both slip under a limit. The row then becomes ``Completed``
(the service's token counts and their price) or ``Failed`` (refused, not billed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from novareel.foundation.errors import LedgerError
from novareel.ledger.core import LedgerCore, locked
from novareel.ledger.db import from_iso, to_iso, utc_now
from novareel.ledger.models import RanOnEmulator

__all__ = ["REVIEW_STATUSES", "JobReviews", "ReviewRecord", "verdict_items"]

REVIEW_STATUSES = ("Submitting", "Completed", "Failed")


@dataclass(frozen=True)
class ReviewRecord(RanOnEmulator):
    """One ``reviews`` row."""

    id: int
    job_id: int | None
    video: str
    model_id: str
    invoke_id: str
    endpoint: str | None
    status: str
    estimated_cost_usd: float | None
    cost_usd: float | None
    input_tokens: int | None
    output_tokens: int | None
    question: str | None
    answer: str | None
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    completed_at: datetime | None
    #: Whether the endpoint answered as novareel's emulator when the review was
    #: reserved (m019); None for older rows.
    emulator: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job_id": self.job_id,
            "video": self.video,
            "model_id": self.model_id,
            "invoke_id": self.invoke_id,
            "status": self.status,
            # A review the emulator answered is synthetic (and free).
            "ran_locally": self.ran_locally,
            "synthetic": self.ran_locally,
            "estimated_cost_usd": self.estimated_cost_usd,
            "cost_usd": self.cost_usd,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "question": self.question,
            "verdict": self.result,
            "answer": self.answer,
            "error": self.error,
            "created_at": to_iso(self.created_at),
            "completed_at": to_iso(self.completed_at) if self.completed_at else None,
        }


#: Columns read as they are stored.
_PLAIN = (
    "job_id",
    "video",
    "model_id",
    "invoke_id",
    "endpoint",
    "status",
    "estimated_cost_usd",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "question",
    "answer",
    "error",
)


def _record(row: Any) -> ReviewRecord:
    result, completed = row["result"], row["completed_at"]
    return ReviewRecord(
        id=int(row["id"]),
        result=json.loads(result) if result else None,
        created_at=from_iso(row["created_at"]),
        completed_at=from_iso(completed) if completed else None,
        emulator=None if row["emulator"] is None else bool(row["emulator"]),
        **{name: row[name] for name in _PLAIN},
    )


def verdict_items(verdict: dict[str, Any]) -> list[tuple[str, str]]:
    """A recorded verdict as (kind, text) lines: each element, defect and text artefact
    (``review``, ``jobs show`` and the gallery card show the same words)."""
    items: list[tuple[str, str]] = []
    for element in verdict.get("elements") or []:
        shot = f"shot {element.get('shot')}: " if element.get("shot") else ""
        shown = "shown" if element.get("shown") else "not shown"
        score = element.get("score")
        items.append(("element", f"{shot}{element.get('element')} [{shown}, {score}]"))
    for defect in verdict.get("defects") or []:
        span = f"{defect.get('start_s')}-{defect.get('end_s')} s"
        items.append(("defect", f"{defect.get('kind')} {span}: {defect.get('description', '')}"))
    items += [("text-artifact", f"text: {a}") for a in verdict.get("text_artifacts") or []]
    return items


class JobReviews(LedgerCore):
    """Reserving, finishing and reading reviews."""

    @locked
    def reserve_review(
        self,
        *,
        job_id: int | None,
        video: str,
        model_id: str,
        invoke_id: str,
        endpoint: str | None,
        estimated_cost_usd: float,
        question: str | None,
        check: Callable[[], None] | None = None,
        emulator: bool | None = None,
        session_key: str | None = None,
    ) -> int:
        """Run the budget ``check`` and write the ``Submitting`` row, in one write
        transaction (the check reads spend through this ledger, reserved rows of every
        process included); returns the row id. A refusal writes nothing."""
        with self._write() as db:
            if check is not None:
                check()
            cursor = db.execute(
                "INSERT INTO reviews (job_id, video, model_id, invoke_id, endpoint, status,"
                " estimated_cost_usd, question, created_at, emulator, session_key)"
                " VALUES (?, ?, ?, ?, ?, 'Submitting', ?, ?, ?, ?, ?)",
                (
                    job_id,
                    video,
                    model_id,
                    invoke_id,
                    endpoint,
                    estimated_cost_usd,
                    question,
                    to_iso(utc_now()),
                    None if emulator is None else int(emulator),
                    session_key,
                ),
            )
            review_id = cursor.lastrowid
        if review_id is None:
            raise LedgerError("the review row was written without an id")
        return int(review_id)

    @locked
    def finish_review(
        self,
        review_id: int,
        *,
        status: str,
        cost_usd: float | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        answer: str | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a reserved review ended (Completed with its usage, or Failed)."""
        if status not in REVIEW_STATUSES[1:]:
            raise LedgerError(f"a review ends Completed or Failed, not {status!r}")
        with self._write() as db:
            db.execute(
                "UPDATE reviews SET status = ?, cost_usd = ?, input_tokens = ?,"
                " output_tokens = ?, answer = ?, result = ?, error = ?, completed_at = ?"
                " WHERE id = ?",
                (
                    status,
                    cost_usd,
                    input_tokens,
                    output_tokens,
                    answer,
                    json.dumps(result) if result is not None else None,
                    error,
                    to_iso(utc_now()),
                    review_id,
                ),
            )

    @locked
    def review(self, review_id: int) -> ReviewRecord:
        row = self.conn.execute("SELECT * FROM reviews WHERE id = ?", (review_id,)).fetchone()
        if row is None:
            raise LedgerError(f"no review {review_id} in the ledger at {self.location}")
        return _record(row)

    @locked
    def reviews_of(self, job_id: int) -> list[ReviewRecord]:
        """Every review of a ledger job, newest first."""
        rows = self.conn.execute(
            "SELECT * FROM reviews WHERE job_id = ? ORDER BY id DESC", (job_id,)
        ).fetchall()
        return [_record(r) for r in rows]

    @locked
    def latest_reviews(self, job_ids: list[int]) -> dict[int, ReviewRecord]:
        """The newest Completed review of each of these jobs (the gallery's cards)."""
        found: dict[int, ReviewRecord] = {}
        if not job_ids:
            return found
        marks = ", ".join("?" for _ in job_ids)
        rows = self.conn.execute(
            f"SELECT * FROM reviews WHERE status = 'Completed' AND job_id IN ({marks}) ORDER BY id",
            list(job_ids),
        ).fetchall()
        for row in rows:
            record = _record(row)
            if record.job_id is not None:
                found[record.job_id] = record
        return found
