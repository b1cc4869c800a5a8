"""``status``, ``wait``, ``download`` and ``list``: follow jobs after the submit.

Each takes a ledger id, an invocation id or a full ARN, and the same connection
options as ``generate``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import typer

from novareel.cli.app import JSON_OUTPUT, NO_QA, app, emit_json, err_console
from novareel.cli.common import (
    CONNECTION,
    Connection,
    JobProgress,
    connected_command,
    open_api,
    print_result,
)
from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.foundation.status import SERVICE_STATUSES, JobStatus
from novareel.foundation.when import parse_when

JOB_REF = typer.Argument(..., help="Ledger id, invocation id, or invocation ARN.")


def _job_out(when: str, otherwise: str) -> Any:
    """``--out`` of ``wait`` and ``download``: one wording of where a tracked job's files
    go (the folder rule and the remembered default); each command says when it downloads
    and what happens when the job was submitted without ``--out``."""
    return typer.Option(
        None,
        "--out",
        help=f"Download into OUT/<date>-<name>-<invocation-id>/{when}"
        f"(default: the --out it was submitted with, {otherwise}).",
    )


def resume_command(verb: str, ref: str, *, out: Path | None, conn: Connection) -> str:
    """The exact command that picks a job up again (``novareel wait 21 --out videos``),
    with the connection options the user gave, so it can be pasted as printed."""
    parts = ["novareel", verb, ref]
    if out is not None and out != Path("."):
        parts += ["--out", str(out)]
    if conn.local:
        parts.append("--local")
    for flag, value in (
        ("--endpoint-url", conn.endpoint_url),
        ("--region", conn.region),
        ("--profile", conn.profile),
        ("--credentials-file", conn.credentials_file),
    ):
        if value:
            parts += [flag, value]
    return shlex.join(parts)


def pick_limit(limit: int | None, max_items: int | None, default: int = 50) -> int:
    """One number from ``--limit`` (documented) and ``--max`` (its hidden alias)."""
    if limit is not None and max_items is not None and limit != max_items:
        raise InvalidRequestError(
            Problem(
                "limit",
                f"--limit {limit} and --max {max_items} disagree (they are the same option)",
                value=limit,
            )
        )
    value = limit if limit is not None else max_items if max_items is not None else default
    if value < 1:
        raise InvalidRequestError(
            Problem("limit", "must be at least 1", value=value, limit="1 or more")
        )
    return value


LIMIT_HELP = "At most this many jobs (newest first)."
#: ``--max`` is accepted wherever ``--limit`` is (hidden: one name is documented).
MAX_ALIAS = typer.Option(None, "--max", hidden=True, help=LIMIT_HELP)


@connected_command(app)
def status(
    job: str = JOB_REF,
    conn: Connection = CONNECTION,
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Ask the service for a job's status once (a Failed job is explained)."""
    with open_api(conn) as (api, _):
        print_result(api.status(job), json_output)


@connected_command(app)
def wait(
    job: str = JOB_REF,
    out: Path | None = _job_out(" when it completes ", "if any"),
    no_download: bool = typer.Option(
        False, "--no-download", help="Only wait, even if the job has a download folder."
    ),
    poll_interval: float | None = typer.Option(
        None, "--poll-interval", help="Fixed seconds between checks (default: adaptive)."
    ),
    timeout: float = typer.Option(30 * 60, "--timeout", help="Stop waiting after N seconds."),
    conn: Connection = CONNECTION,
    json_output: bool = JSON_OUTPUT,
    no_qa: bool = NO_QA,
) -> None:
    """Wait for a job to finish, with progress; exit 1 if it failed or time ran out."""
    from novareel.jobs import job_failed_error

    with open_api(conn, waits=True) as (api, _), JobProgress(not json_output, f"job {job}") as bars:
        api.run_qa = not no_qa
        try:
            result = api.finish(
                job,
                out,  # None: the --out it was submitted with, if any
                download=False if no_download else None,
                timeout=timeout,
                poll_interval=poll_interval,
                on_progress=bars.on_progress,
                on_download=bars.on_download,
            )
        except KeyboardInterrupt:
            bars.close()
            again = resume_command("wait", job, out=out, conn=conn)
            err_console.print(
                f"interrupted: job {job} keeps running. Resume with:\n  {again}",
                highlight=False,
            )
            raise typer.Exit(130) from None
    if result.status == JobStatus.FAILED:
        raise job_failed_error(result)
    print_result(result, json_output)


@connected_command(app)
def download(
    job: str = JOB_REF,
    out: Path | None = _job_out(" ", "else here"),
    conn: Connection = CONNECTION,
    json_output: bool = JSON_OUTPUT,
    no_qa: bool = NO_QA,
) -> None:
    """Download every file of a finished job (complete files are not fetched again)."""
    with open_api(conn) as (api, _), JobProgress(not json_output) as bars:
        api.run_qa = not no_qa
        result = api.download(job, out, on_progress=bars.on_download)  # None: remembered
    print_result(result, json_output)


@connected_command(app, "list")
def list_jobs(
    status_filter: str | None = typer.Option(
        None, "--status", help=" | ".join(SERVICE_STATUSES) + "."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Submitted at/after: ISO date/time or an age (12h, 7d)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Submitted before: ISO date/time or an age (12h, 7d)."
    ),
    limit: int | None = typer.Option(None, "--limit", help=LIMIT_HELP + " [default: 50]"),
    max_items: int | None = MAX_ALIAS,
    oldest_first: bool = typer.Option(False, "--oldest-first", help="Ascending order."),
    conn: Connection = CONNECTION,
    json_output: bool = JSON_OUTPUT,
) -> None:
    """List the account's jobs as the service knows them (ListAsyncInvokes)."""
    if status_filter is not None and status_filter not in SERVICE_STATUSES:
        raise InvalidRequestError(
            Problem(
                "status",
                f"unknown status {status_filter!r}",
                value=status_filter,
                limit=" | ".join(SERVICE_STATUSES),
            )
        )
    count = pick_limit(limit, max_items)
    with open_api(conn) as (api, _):
        results = api.list(
            status=status_filter,
            since=parse_when(since, flag="--since"),
            until=parse_when(until, field="until", flag="--until"),
            max_items=count,
            sort_order="Ascending" if oldest_first else "Descending",
        )
    if json_output:
        emit_json([r.to_dict() for r in results])
        return
    from rich import box
    from rich.table import Column, Table

    from novareel.cli.app import console

    # Fits 80 columns: short model names, minute-precision local times, a duration
    # instead of a second timestamp; the model column gives way first.
    table = Table(
        Column("id", no_wrap=True),
        Column("invocation", no_wrap=True),
        Column("status", no_wrap=True),
        Column("model", no_wrap=True, overflow="ellipsis", max_width=24),
        Column("submitted", no_wrap=True),
        Column("took", no_wrap=True, justify="right"),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for r in results:
        took = ""
        if r.submit_time and r.end_time:
            took = _human_seconds((r.end_time - r.submit_time).total_seconds())
        table.add_row(
            str(r.ledger_id or "-"),
            r.invocation_id or "",
            r.status,
            r.model_id.split(".", 1)[-1] if "." in r.model_id else r.model_id,
            r.submit_time.astimezone().strftime("%Y-%m-%d %H:%M") if r.submit_time else "",
            took,
        )
    console.print(table)


def _human_seconds(seconds: float) -> str:
    """``95`` -> ``1m35s``: a job's run time, short enough for a narrow column."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
