"""What jobs cost and how long they took, summed or read in SQL without loading jobs
(``novareel spend``, the budget guard, learned expectations)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from novareel.foundation.errors import LedgerError
from novareel.foundation.status import SERVICE_STATUSES
from novareel.ledger.core import LedgerCore, locked
from novareel.ledger.db import to_iso
from novareel.ledger.models import SpendRow

_LISTED_AT = "COALESCE(submit_time, created_at)"
#: What ``Ledger.spend`` may group by, and the SQL of each (day: the UTC date of the
#: submit time, else of the row's creation; stored times are fixed-width UTC ISO).
_SPEND_GROUPS = {
    "day": "substr(COALESCE(submit_time, created_at), 1, 10)",
    "model": "model_id",
    "batch": "batch_id",
}
_SPEND_FIELDS = {"day": "day", "model": "model_id", "batch": "batch_id"}
#: What is paid for: jobs, and reviews (m015) shaped as jobs: a Completed review counts
#: at the price of the tokens the service counted (its estimate if unknown), a
#: Submitting one is reserved at its estimate, a Failed one (refused) counts nothing.
#: Read by :meth:`JobSpend.spend` and :meth:`JobSpend.session_spend` alike.
_PAID = (
    "(SELECT submit_time, created_at, model_id, batch_id, endpoint, estimated_cost_usd,"
    " status, invocation_arn, emulator, session_key FROM jobs"
    " UNION ALL SELECT created_at AS submit_time, created_at, model_id, NULL AS batch_id,"
    " endpoint, COALESCE(cost_usd, estimated_cost_usd) AS estimated_cost_usd, status,"
    " CASE WHEN status = 'Completed' THEN 'review' END AS invocation_arn, emulator,"
    " session_key FROM reviews) paid"
)


class JobSpend(LedgerCore):
    """Spend and generation times of recorded jobs (reads only)."""

    @locked
    def spend(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        group_by: Sequence[str] = (),
        reserved: bool = False,
    ) -> list[SpendRow]:
        """The estimated price of the jobs the service accepted, summed in SQL.

        Counted: rows with an invocation ARN in InProgress, Completed or Failed (a job
        the service started is paid for, whatever its end); not Submitting (no answer
        yet) nor Rejected (no job exists). Timed by submit time, else creation time;
        ``since`` inclusive, ``until`` exclusive. Rows are grouped by ``group_by``
        (any of ``day``, ``model``, ``batch``) and always by endpoint and whether it
        answered as the emulator (m018), so callers tell local emulator jobs from AWS
        ones (:attr:`SpendRow.ran_locally`) without loading a single job.

        ``reserved=True`` (what budgets read) also counts every ``Submitting`` row,
        ARN or not: a job in its submit round trip, or whose answer was lost, may be
        paid, and it is reserved from the moment its row exists
        (:meth:`Ledger.reserve`); a refused or unsent submit leaves ``Submitting``
        and so releases it.
        """
        unknown = [g for g in group_by if g not in _SPEND_GROUPS]
        if unknown:
            raise LedgerError(
                f"cannot group spend by {unknown[0]!r}; expected {', '.join(_SPEND_GROUPS)}"
            )
        keys = list(dict.fromkeys(group_by))
        columns = [f"{_SPEND_GROUPS[k]} AS {_SPEND_FIELDS[k]}" for k in keys]
        marks = ", ".join("?" for _ in SERVICE_STATUSES)
        accepted = f"invocation_arn IS NOT NULL AND status IN ({marks})"
        where = [f"({accepted} OR status = 'Submitting')" if reserved else accepted]
        params: list[Any] = list(SERVICE_STATUSES)
        if since is not None:
            where.append("COALESCE(submit_time, created_at) >= ?")
            params.append(to_iso(since))
        if until is not None:
            where.append("COALESCE(submit_time, created_at) < ?")
            params.append(to_iso(until))
        grouping = [_SPEND_FIELDS[k] for k in keys] + ["endpoint", "emulator"]
        sql = (
            f"SELECT {', '.join([*columns, 'endpoint', 'emulator'])}, COUNT(*) AS jobs,"
            " COALESCE(SUM(estimated_cost_usd), 0.0) AS usd,"
            " SUM(estimated_cost_usd IS NULL) AS unpriced"
            f" FROM {_PAID} WHERE {' AND '.join(where)}"
            f" GROUP BY {', '.join(grouping)} ORDER BY {', '.join(grouping)}"
        )
        rows = self.conn.execute(sql, params).fetchall()
        return [
            SpendRow(
                endpoint=r["endpoint"],
                emulator=None if r["emulator"] is None else bool(r["emulator"]),
                jobs=int(r["jobs"]),
                usd=float(r["usd"]),
                unpriced=int(r["unpriced"] or 0),
                day=r["day"] if "day" in keys else None,
                model_id=r["model_id"] if "model" in keys else None,
                batch_id=r["batch_id"] if "batch" in keys else None,
            )
            for r in rows
        ]

    @locked
    def session_spend(self, session_key: str) -> tuple[float, float]:
        """(spent, pending) estimated USD of the capped session ``session_key`` (m016),
        whichever process or machine reserved its rows: spent counts what the service
        accepted (as :meth:`spend`), pending the ``Submitting`` rows (reserved, answer
        not recorded yet). :meth:`Ledger.reserve`'s ``check`` reads it inside its write
        transaction, so concurrent submits of one session are serialised on it."""
        marks = ", ".join("?" for _ in SERVICE_STATUSES)
        row = self.conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN status = 'Submitting' THEN 0.0"
            " ELSE estimated_cost_usd END), 0.0),"
            " COALESCE(SUM(CASE WHEN status = 'Submitting' THEN estimated_cost_usd"
            " ELSE 0.0 END), 0.0)"
            f" FROM {_PAID} WHERE session_key = ? AND (status = 'Submitting'"
            f" OR (invocation_arn IS NOT NULL AND status IN ({marks})))",
            (session_key, *SERVICE_STATUSES),
        ).fetchone()
        return float(row[0]), float(row[1])

    @locked
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
            raise LedgerError(f"the ledger at {self.location} could not be read: {exc}") from exc
        return [float(r[0]) for r in rows]
