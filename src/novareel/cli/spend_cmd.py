"""``novareel spend``: what the ledger says was spent, and what the budgets leave.

Read-only and offline (the ledger only, no AWS call). Spend is the *estimated* price
of the jobs the service accepted, grouped by day, model or batch. Jobs that ran on a
local emulator are reported apart ("$0 here, ≈ $X on AWS"), never in the AWS total.
The standing budgets are shown with what remains today and this month.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import typer

from novareel.cli.app import JSON_OUTPUT, app, console, emit_json, err_console, handle_errors
from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.foundation.when import parse_when

_BY = ("day", "model", "batch")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _until(value: str | None) -> datetime | None:
    """``--until``: exclusive, except that a plain date includes that whole day."""
    when = parse_when(value, field="until", flag="--until")
    if when is not None and value is not None and _DATE_ONLY.match(value.strip()):
        when += timedelta(days=1)
    return when


def _group(rows: list[Any], by: str, batches: dict[int, str]) -> list[dict[str, Any]]:
    """Fold ledger rows (one per group and endpoint) into one row per group."""
    merged: dict[Any, dict[str, Any]] = {}
    for row in rows:
        key = {"day": row.day, "model": row.model_id, "batch": row.batch_id}[by]
        entry = merged.setdefault(key, {"key": key, "jobs": 0, "usd": 0.0, "unpriced_jobs": 0})
        entry["jobs"] += row.jobs
        entry["usd"] += row.usd
        entry["unpriced_jobs"] += row.unpriced
    found = []
    for entry in merged.values():
        entry["usd"] = round(entry["usd"], 2)
        if by == "batch":
            entry["batch_file"] = batches.get(entry["key"]) if entry["key"] is not None else None
        found.append(entry)
    return sorted(found, key=lambda e: (e["key"] is None, str(e["key"])))


def _label(entry: dict[str, Any], by: str) -> str:
    if by == "batch":
        if entry["key"] is None:
            return "(no batch)"
        name = entry.get("batch_file")
        return f"{entry['key']} ({name.rsplit('/', 1)[-1]})" if name else str(entry["key"])
    return str(entry["key"])


@app.command("spend")
@handle_errors()
def spend(
    since: str | None = typer.Option(
        None,
        "--since",
        help="From this ISO date/time or age (7d) on (default: the 1st of this UTC month).",
    ),
    until: str | None = typer.Option(
        None, "--until", help="Before this date/time (a plain date includes that day)."
    ),
    by: str = typer.Option("day", "--by", help="Group by: day | model | batch."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Estimated spend from the ledger by day, model or batch, and what the budgets leave."""
    from novareel.ledger import Ledger
    from novareel.limits.budget import budget_status, load_budget, period_bounds, spend_totals

    if by not in _BY:
        raise InvalidRequestError(
            Problem("by", f"cannot group by {by!r}", value=by, limit=" | ".join(_BY))
        )
    now = datetime.now(timezone.utc)
    start = parse_when(since, flag="--since") or period_bounds("monthly", now)[1]
    end = _until(until)
    budget = load_budget()
    with Ledger.open_default() as ledger:
        rows = ledger.spend(since=start, until=end, group_by=(by,))
        batches = (
            {b.id: b.file_path for b in ledger.list_batches()} if by == "batch" and rows else {}
        )
        statuses = budget_status(ledger, budget=budget, now=now)
    aws_rows = [r for r in rows if not r.ran_locally]
    local_rows = [r for r in rows if r.ran_locally]
    totals = spend_totals(rows)
    aws = _group(aws_rows, by, batches)
    local = _group(local_rows, by, batches)
    if json_output:
        emit_json(
            {
                "since": start.isoformat().replace("+00:00", "Z"),
                "until": end.isoformat().replace("+00:00", "Z") if end else None,
                "by": by,
                "aws": {
                    "rows": aws,
                    "jobs": totals.aws_jobs,
                    "usd": round(totals.aws_usd, 2),
                    "unpriced_jobs": sum(e["unpriced_jobs"] for e in aws),
                },
                "local": {
                    "rows": local,
                    "jobs": totals.local_jobs,
                    "cost_here_usd": 0.0,
                    "aws_equivalent_usd": round(totals.local_usd, 2),
                },
                "budgets": [s.to_dict() for s in statuses],
                "budget_config": budget.to_dict(),
            }
        )
        return
    _print(start, end, by, aws, local, totals, statuses, budget)


def _print(
    start: datetime,
    end: datetime | None,
    by: str,
    aws: list[dict[str, Any]],
    local: list[dict[str, Any]],
    totals: Any,
    statuses: list[Any],
    budget: Any,
) -> None:
    from rich.table import Table

    span = f"{start:%Y-%m-%d %H:%M} → {f'{end:%Y-%m-%d %H:%M}' if end else 'now'} UTC"
    table = Table(by, "jobs", "estimated", title=f"Spend on AWS, {span}, by {by}")
    for entry in aws:
        unpriced = f" (+{entry['unpriced_jobs']} unpriced)" if entry["unpriced_jobs"] else ""
        table.add_row(_label(entry, by), str(entry["jobs"]), f"${entry['usd']:,.2f}{unpriced}")
    table.add_section()
    table.add_row("total", str(totals.aws_jobs), f"${totals.aws_usd:,.2f}")
    console.print(table)
    if local:
        lines = ", ".join(f"{_label(e, by)}: {e['jobs']} (≈ ${e['usd']:,.2f})" for e in local)
        console.print(
            f"Local emulator jobs (not counted): {totals.local_jobs} job(s), $0 here "
            f"(≈ ${totals.local_usd:,.2f} on AWS) — {lines}",
            highlight=False,
        )
    if totals.unpriced_jobs:
        err_console.print(
            f"notice: {totals.unpriced_jobs} job(s) have no recorded estimate (adopted by "
            "`jobs sync`) and are not in these sums",
            highlight=False,
        )
    if not statuses:
        console.print(
            "No standing budget is set (NOVAREEL_BUDGET_DAILY_USD, NOVAREEL_BUDGET_MONTHLY_USD, "
            f"or \\[budget] in {budget.config_file}).",
            highlight=False,
        )
        return
    for status in statuses:
        when = "today" if status.kind == "daily" else "this month"
        console.print(
            f"{status.kind} budget {when} ({status.period} UTC): ${status.spent_usd:,.2f} "
            f"spent of ${status.limit_usd:,.2f}, [bold]${status.remaining_usd:,.2f} remains[/] "
            f"(set by {status.source})",
            highlight=False,
        )
    if budget.count_local:
        console.print("local jobs count against the budget (rehearsal: count_local)")
