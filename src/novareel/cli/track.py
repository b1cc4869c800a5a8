"""``status``, ``wait``, ``download`` and ``list``: follow jobs after the submit.

Each takes a ledger id, an invocation id or a full ARN, and the same connection
options as ``generate``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from novareel.cli.app import JSON_HELP, app, emit_json, handle_errors
from novareel.cli.common import (
    CONNECTION,
    Connection,
    download_progress,
    open_api,
    parse_when,
    print_result,
    wait_progress,
    with_connection,
)
from novareel.errors import InvalidRequestError, Problem

JOB_REF = typer.Argument(..., help="Ledger id, invocation id, or invocation ARN.")


@app.command()
@handle_errors()
@with_connection
def status(
    job: str = JOB_REF,
    conn: Connection = CONNECTION,
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Ask the service for a job's status once (a Failed job is explained)."""
    with open_api(conn) as (api, _):
        print_result(api.status(job), json_output)


@app.command()
@handle_errors()
@with_connection
def wait(
    job: str = JOB_REF,
    out: Path | None = typer.Option(
        None, "--out", help="Also download into OUT/<invocation-id>/ when it completes."
    ),
    poll_interval: float | None = typer.Option(
        None, "--poll-interval", help="Fixed seconds between checks (default: adaptive)."
    ),
    timeout: float = typer.Option(30 * 60, "--timeout", help="Stop waiting after N seconds."),
    conn: Connection = CONNECTION,
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Wait for a job to finish, with progress; exit 1 if it failed or time ran out."""
    from novareel.jobs import job_failed_error

    with open_api(conn, waits=True) as (api, _):
        with wait_progress(not json_output, f"job {job}") as on_progress:
            result = api.wait(
                job, timeout=timeout, poll_interval=poll_interval, on_progress=on_progress
            )
        if out is not None and result.status == "Completed":
            with download_progress(not json_output) as on_bytes:
                result = api.download(job, out, on_progress=on_bytes)
        if result.status == "Failed":
            raise job_failed_error(result)
        print_result(result, json_output)


@app.command()
@handle_errors()
@with_connection
def download(
    job: str = JOB_REF,
    out: Path = typer.Option(Path("."), "--out", help="Download into OUT/<invocation-id>/."),
    conn: Connection = CONNECTION,
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Download every file of a finished job (complete files are not fetched again)."""
    with open_api(conn) as (api, _), download_progress(not json_output) as on_bytes:
        result = api.download(job, out, on_progress=on_bytes)
    print_result(result, json_output)


@app.command("list")
@handle_errors()
@with_connection
def list_jobs(
    status_filter: str | None = typer.Option(
        None, "--status", help="InProgress | Completed | Failed."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Submitted at/after: ISO date/time or an age (12h, 7d)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Submitted before: ISO date/time or an age (12h, 7d)."
    ),
    max_items: int = typer.Option(50, "--max", help="At most this many jobs."),
    oldest_first: bool = typer.Option(False, "--oldest-first", help="Ascending order."),
    conn: Connection = CONNECTION,
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the account's jobs as the service knows them (ListAsyncInvokes)."""
    if status_filter is not None and status_filter not in ("InProgress", "Completed", "Failed"):
        raise InvalidRequestError(
            Problem(
                "status",
                f"unknown status {status_filter!r}",
                value=status_filter,
                limit="InProgress | Completed | Failed",
            )
        )
    if max_items < 1:
        raise InvalidRequestError(Problem("max", "must be at least 1", value=max_items))
    with open_api(conn) as (api, _):
        results = api.list(
            status=status_filter,
            since=parse_when(since),
            until=parse_when(until, field="until"),
            max_items=max_items,
            sort_order="Ascending" if oldest_first else "Descending",
        )
    if json_output:
        emit_json([r.to_dict() for r in results])
        return
    from rich.table import Table

    from novareel.cli.app import console

    table = Table("ledger", "invocation", "status", "model", "submitted", "ended")
    for r in results:
        table.add_row(
            str(r.ledger_id or "-"),
            r.invocation_id or "",
            r.status,
            r.model_id,
            r.submit_time.isoformat(timespec="seconds") if r.submit_time else "",
            r.end_time.isoformat(timespec="seconds") if r.end_time else "",
        )
    console.print(table)
