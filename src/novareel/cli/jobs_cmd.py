"""``novareel jobs``: the local ledger of every job (list, show, sync, retry).

``list`` and ``show`` read only the ledger (no AWS call, no credentials needed);
``sync`` and ``retry`` talk to the service with the usual connection options.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import typer

from novareel.cli import max_cost as cost_cap
from novareel.cli.app import (
    JSON_OUTPUT,
    command_group,
    console,
    emit_json,
    err_console,
    handle_errors,
)
from novareel.cli.common import (
    CONNECTION,
    STATUS_COLOURS,
    Connection,
    JobProgress,
    cli_notice,
    open_api,
    print_result,
    with_connection,
)
from novareel.cli.track import MAX_ALIAS
from novareel.foundation.display import neutralise
from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.foundation.status import JobStatus
from novareel.foundation.when import parse_when

jobs_app = command_group(
    "jobs",
    "The job ledger: every job submitted (or found by sync), with its history.",
    runs_alone=True,
)

_STATUSES: tuple[str, ...] = tuple(JobStatus)


def _parse_statuses(value: str | None) -> list[str] | None:
    if value is None:
        return None
    wanted = []
    lookup = {s.lower(): s for s in _STATUSES}
    for part in value.split(","):
        name = lookup.get(part.strip().lower())
        if name is None:
            raise InvalidRequestError(
                Problem(
                    "status",
                    f"unknown status {part.strip()!r}",
                    value=part,
                    limit=" | ".join(_STATUSES),
                )
            )
        wanted.append(name)
    return wanted


def _batch_id(ledger: Any, value: str | None) -> int | None:
    """A batch by id, or by the path of its batch file."""
    if value is None:
        return None
    if value.isdigit():
        return int(ledger.get_batch(int(value)).id)
    from novareel.batch import batch_identity

    identity = batch_identity(value)
    for batch in ledger.list_batches():
        if batch.identity == identity:
            return int(batch.id)
    raise InvalidRequestError(
        Problem("batch", "no batch in the ledger for this id or file", value=value),
        hint="Use the batch id shown by `novareel jobs list`, or the batch file's path.",
    )


def _short(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if value else ""


_TASK_SHORT = {
    "TEXT_VIDEO": "text",
    "MULTI_SHOT_AUTOMATED": "auto",
    "MULTI_SHOT_MANUAL": "manual",
}


def _where(record: Any) -> str:
    """``local`` (an emulator: free) or ``AWS`` (paid)."""
    return "local" if record.ran_locally else "AWS"


def _status_text(record: Any) -> str:
    """The status as people read it: a submit refused before sending is ``not sent``."""
    return "not sent" if record.not_sent else str(record.status)


def _cost_text(record: Any, *, compact: bool = False) -> str:
    """The job's price in :func:`novareel.foundation.results.format_cost`'s words (a refused or
    never-sent submit cost $0, whatever its estimate)."""
    from novareel.foundation.results import format_cost

    return format_cost(
        record.estimated_cost_usd,
        local=record.ran_locally,
        refused=record.status == JobStatus.REJECTED,
        never_sent=record.not_sent,
        compact=compact,
    )


#: Up to this many rows, ``jobs`` prints today's Rich table (sized to its rows); past
#: it, rows are printed as they are read, in columns of fixed width (see _stream_table).
SMALL_LISTING = 100
#: Streamed rows are written this many at a time (one console write per group).
_STREAM_GROUP = 200


def _list(
    status: str | None,
    since: str | None,
    batch: str | None,
    limit: int | None,
    as_json: bool,
    max_items: int | None = None,
) -> None:
    """List jobs, streaming: the ledger is read a page at a time (``iter_jobs``) and
    each row printed as it comes, so ``--limit 1000000`` costs the memory of a page,
    not of the whole ledger."""
    from itertools import chain, islice

    from novareel.cli.track import pick_limit
    from novareel.ledger import Ledger

    limit = pick_limit(limit, max_items)
    statuses = _parse_statuses(status)
    when = parse_when(since, flag="--since")
    with Ledger.open_default() as ledger:
        records = ledger.iter_jobs(
            status=statuses, since=when, batch_id=_batch_id(ledger, batch), limit=limit
        )
        try:
            if as_json:
                _stream_json(records)
                return
            first = list(islice(records, SMALL_LISTING + 1))
            if not first:
                err_console.print("no jobs in the ledger match")
                return
            if len(first) <= SMALL_LISTING:
                console.print(_jobs_table(first, console.width))
                return
            _stream_table(first, chain(first, records), console.width)
        except BrokenPipeError:
            _quiet_stdout()


def _quiet_stdout() -> None:
    """The reader of a pipe left (``novareel jobs | head``): stop without a traceback.

    Python would also complain when flushing stdout at exit; pointing stdout at
    /dev/null first is the remedy the ``signal`` docs give.
    """
    import os
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _stream_json(records: Iterable[Any]) -> None:
    """Write ``[record, ...]`` as :func:`emit_json` would (the same bytes, two-space
    indent), one record at a time: valid JSON at any length, flat memory."""
    import json
    import sys

    out = sys.stdout
    # Each record is encoded as a one-item list, "[\n  {...}\n]": the part between
    # the brackets is already indented as an item of the whole array would be.
    encoder = json.JSONEncoder(indent=2, sort_keys=False, default=str)
    count = 0
    for count, record in enumerate(records, start=1):
        text = encoder.encode([record.to_dict()])
        out.write(("[" if count == 1 else ",") + text[1:-2])
    out.write("[]\n" if count == 0 else "\n]\n")
    out.flush()


def _cells(record: Any, wide: bool) -> tuple[list[str], str, str]:
    """One job's cells (in the order of :func:`_headers`), its status colour and its
    prompt on one line: shared by the Rich table and the streamed one."""
    from novareel.foundation.naming import prompt_of, shots_of

    r = record
    colour = "dim" if r.not_sent else STATUS_COLOURS.get(r.status, "")
    secs = f" {r.duration_seconds}s" if r.duration_seconds else ""
    cost = _cost_text(r, compact=True)
    cells = [
        str(r.id),
        _status_text(r),
        _where(r),
        _TASK_SHORT.get(r.task_type, r.task_type) + secs,
        cost,
        _short(r.submit_time or r.created_at)[5:16],
    ]
    if wide:
        batch = f"{r.batch_id}:{r.batch_item}" if r.batch_id is not None else ""
        cells += [batch[:16], str(r.attempt), r.invocation_id or ""]
    prompt = " ".join((prompt_of(r.request) or " | ".join(shots_of(r.request))).split())
    return cells, colour, neutralise(prompt)  # a bidi override shown as <U+202E>


def _headers(wide: bool) -> list[str]:
    headers = ["id", "status", "where", "video", "cost", "submitted"]
    return [*headers, "batch", "try", "invocation"] if wide else headers


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _stream_table(sample: list[Any], records: Iterable[Any], width: int) -> None:
    """The ``jobs`` table for long listings: rows printed as they are read.

    Column widths are fixed before the first row, from the first rows read
    (``sample``) and the widest value each column can usually hold (a status, a
    ``MM-DD HH:MM`` time, a local job's cost); a later cell that is longer is cut with
    an ellipsis (an id is never cut, its column just widens on that row). The layout
    is that of :func:`_jobs_table`: same columns at 80 and 120 columns, the prompt
    last and cut to what is left.
    """
    from rich.text import Span, Text

    wide = width >= 120
    headers = _headers(wide)
    floors = {"status": 10, "where": 5, "video": 10, "cost": 16}
    floors |= {"submitted": 11, "invocation": 12, "try": 3}
    widths = [max(len(h), floors.get(h, 0)) for h in headers]
    for record in sample:
        for i, cell in enumerate(_cells(record, wide)[0]):
            widths[i] = max(widths[i], *(len(line) for line in cell.split("\n")))
    budget = max(12, width - sum(widths) - 2 * len(headers) - 1)
    gap = "  "
    status_at = widths[0] + len(gap)  # where the status starts on each line

    def line(cells: list[str]) -> str:
        text = cells[0].rjust(widths[0])
        for i, cell in enumerate(cells[1:], start=1):
            text += gap + _cut(cell, widths[i]).ljust(widths[i])
        return text

    head = Text(line(headers) + gap + "prompt", style="bold")
    console.print(head, soft_wrap=True)
    rule = sum(widths) + len(gap) * len(headers) + budget
    console.print("─" * min(width, rule), soft_wrap=True, highlight=False)
    # Lines are plain strings gathered in groups; one Text per group carries the
    # status colours as spans (a Text per cell costs more than the ledger read).
    lines: list[str] = []
    spans: list[Span] = []
    offset = 0

    def flush() -> None:
        nonlocal offset
        if lines:
            console.print(Text("\n".join(lines), spans=list(spans)), soft_wrap=True)
        lines.clear()
        spans.clear()
        offset = 0

    for record in records:
        cells, colour, prompt = _cells(record, wide)
        parts = [cell.split("\n") for cell in cells]
        first = line([p[0] for p in parts]) + (gap + _cut(prompt, budget) if prompt else "")
        if colour:
            start = offset + status_at
            spans.append(Span(start, start + widths[1], colour))
        lines.append(first)
        offset += len(first) + 1
        for extra in range(1, max(len(p) for p in parts)):  # a cost on several lines
            more = line([p[extra] if extra < len(p) else "" for p in parts]).rstrip()
            lines.append(more)
            offset += len(more) + 1
        if len(lines) >= _STREAM_GROUP:
            flush()
    flush()


def _jobs_table(records: list[Any], width: int) -> Any:
    """The ``jobs`` table, laid out for ``width`` columns (80 is enough).

    Below 120 columns the batch, attempt and invocation columns give way; every cell
    holds one line (a local job's cost in its compact form, ``$0 (AWS ~$0.48)``); the
    prompt always comes last and is cut (with an ellipsis) to what the other columns
    leave, so no column is ever squeezed.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    wide = width >= 120
    headers = _headers(wide)
    rows: list[list[Text]] = []
    prompts: list[str] = []
    for r in records:
        cells, colour, prompt = _cells(r, wide)
        rows.append([Text(c, style=colour if i == 1 else "") for i, c in enumerate(cells)])
        prompts.append(prompt)
    used = sum(
        max([len(header)] + [max(len(line) for line in row[i].plain.split("\n")) for row in rows])
        for i, header in enumerate(headers)
    )
    budget = max(12, width - used - 2 * len(headers) - 1)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for header in headers:
        table.add_column(header, no_wrap=True, justify="right" if header == "id" else "left")
    table.add_column("prompt", no_wrap=True, overflow="ellipsis", max_width=budget)
    for row, prompt in zip(rows, prompts, strict=True):
        table.add_row(*row, Text(_cut(prompt, budget)))
    return table


STATUS_OPT = typer.Option(
    None, "--status", help="Only these statuses (comma-separated): " + ", ".join(_STATUSES) + "."
)
SINCE_OPT = typer.Option(
    None, "--since", help="Submitted at/after: ISO date/time or an age (30m, 12h, 7d)."
)
BATCH_OPT = typer.Option(None, "--batch", help="Only jobs of this batch (id or batch file).")
LIMIT_OPT = typer.Option(
    None, "--limit", help="At most this many jobs (newest first). [default: 50]"
)


@jobs_app.callback()
@jobs_app.command("list")
@handle_errors()
def jobs_list(
    ctx: typer.Context,
    status: str | None = STATUS_OPT,
    since: str | None = SINCE_OPT,
    batch: str | None = BATCH_OPT,
    limit: int | None = LIMIT_OPT,
    max_items: int | None = MAX_ALIAS,
    json_output: bool = JSON_OUTPUT,
) -> None:
    """List jobs from the local ledger, newest first (no AWS call)."""
    # Both `novareel jobs list` and `novareel jobs` alone, so the two take the same
    # options; as the group's callback it lists only when no subcommand follows.
    if ctx.invoked_subcommand is None:
        _list(status, since, batch, limit, json_output, max_items)


@jobs_app.command("show")
@handle_errors()
def jobs_show(
    job: str = typer.Argument(..., help="Ledger id, invocation id, ARN or client token."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """One job from the ledger: everything recorded, and its status history."""
    from novareel.ledger import Ledger

    with Ledger.open_default() as ledger:
        record = ledger.get(job)
        history = ledger.history(record.id)

        retries = ledger.retries_of(record.id)
        reviews = [r.to_dict() for r in ledger.reviews_of(record.id)]  # review section
    if json_output:
        emit_json(
            {
                "job": record.to_dict(),
                "history": [e.to_dict() for e in history],
                "retried_as": retries,
                "reviews": reviews,
            }
        )
        return
    from rich.markup import escape
    from rich.table import Table

    from novareel.foundation.naming import prompt_of, shots_of

    colour = STATUS_COLOURS.get(record.status, "")
    status_text = _status_text(record)
    cost = _cost_text(record)
    rows: list[tuple[str, str]] = [
        ("job", str(record.id)),
        ("status", f"[{colour}]{status_text}[/]" if colour else status_text),
        ("task", f"{record.task_type}  {record.model_id}"),
        (
            "video",
            f"{record.duration_seconds or '?'} s"
            + (f", seed {record.seed}" if record.seed is not None else "")
            + (f", {escape(cost)}" if cost else ""),
        ),
        (
            "ran",
            f"locally ({escape(record.endpoint or '')})" if record.ran_locally else "on AWS",
        ),
    ]
    prompt = prompt_of(record.request)
    if prompt:  # bidi overrides and control characters shown as <U+202E>
        rows.append(("prompt", escape(neutralise(prompt))))
    for number, text in enumerate(shots_of(record.request), start=1):
        rows.append((f"shot {number}", escape(neutralise(text))))
    if record.name:
        rows.append(("name", escape(neutralise(record.name))))
    unsent = "(never sent)" if record.not_sent else "(not accepted yet)"
    rows += [
        ("invocation", record.invocation_arn or unsent),
        ("token", record.client_token),
        ("output", record.output_uri or ""),
    ]
    if record.origin:  # who and where, on a ledger a team shares
        rows.append(("recorded by", escape(record.origin)))
    if record.out_dir:
        rows.append(("download to", escape(record.out_dir)))
    if record.batch_id is not None:
        rows.append(("batch", f"{record.batch_id}, item {record.batch_item}"))
    rows.append(("attempt", str(record.attempt)))
    if record.retry_of is not None:
        rows.append(("retry of", str(record.retry_of)))
    if retries:
        rows.append(("retried as", ", ".join(str(r) for r in retries)))
    if record.tags:
        rows.append(("tags", ", ".join(f"{k}={v}" for k, v in record.tags.items())))
    failure = record.failure
    if failure is not None:
        shot = f" at shot {failure.shot}" if failure.shot else ""
        kind = f"{failure.type or ''}{shot}"
        text = f"{kind}: {failure.message or ''}" if kind else failure.message or ""
        rows.append(("failure", escape(text)))
        rows.append(("what to do", failure.advice))
    for path in record.local_files:
        rows.append(("file", escape(path)))
    from novareel.cli.qa_cmd import qa_rows

    rows += qa_rows(record.qa)  # the `novareel qa` verdict of the downloaded video
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")  # paths and ARNs wrap whole, never cut
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    events = Table("at", "status", "detail", title="history")
    for event in history:
        events.add_row(_short(event.at), event.status, event.detail or "")
    console.print(events)
    _print_review(reviews)


def _print_review(reviews: list[dict[str, Any]]) -> None:
    """The review section of ``jobs show``: the newest review of the job (``review``)."""
    if not reviews:
        return
    from novareel.cli.review_cmd import review_lines

    latest = reviews[0]
    latest = {**latest, "review_id": latest["id"], "ran_locally": latest.get("synthetic")}
    for line in review_lines(latest):
        console.print(neutralise(line), markup=False, highlight=False)
    if len(reviews) > 1:
        console.print(f"  ({len(reviews) - 1} earlier review(s): `jobs show --json`)")


@jobs_app.command("sync")
@handle_errors()
@with_connection
def jobs_sync(
    since: str | None = typer.Option(
        None, "--since", help="Only jobs submitted at/after: ISO date/time or an age (7d)."
    ),
    conn: Connection = CONNECTION,
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Reconcile the ledger with the service (ListAsyncInvokes); adopt jobs made elsewhere."""
    from novareel.running.replay import sync_jobs

    when = parse_when(since, flag="--since")
    with open_api(conn) as (api, _):
        report = sync_jobs(api, since=when)
    if json_output:
        emit_json(report.to_dict())
        return
    console.print(
        f"{report.seen} job(s) listed by the service: {len(report.adopted)} adopted, "
        f"{len(report.updated)} updated, {report.unchanged} unchanged",
        highlight=False,
    )


@jobs_app.command("retry")
@handle_errors()
@with_connection
def jobs_retry(
    job: str = typer.Argument(..., help="Ledger id (or invocation id / ARN) of a failed job."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait for the new job."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Download into OUT/<date>-<name>-<invocation-id>/ "
        "(default: the failed job's own --out, else here).",
    ),
    no_download: bool = typer.Option(False, "--no-download", help="Wait, but leave files in S3."),
    timeout: float = typer.Option(30 * 60, "--timeout", help="Stop waiting after N seconds."),
    max_cost: str | None = cost_cap.MAX_COST,
    conn: Connection = CONNECTION,
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Submit a Failed or Rejected job again as a new job linked to it (attempt + 1)."""
    from novareel.jobs import job_failed_error
    from novareel.running.replay import retry

    cap = cost_cap.parse(max_cost)
    with open_api(conn, waits=wait) as (api, _), JobProgress(not json_output) as bars:
        cost_cap.arm(api, cap)  # the retry's estimate is judged before anything is sent

        def on_submitted(submitted: Any) -> None:
            bars.label = f"job {submitted.invocation_id}"
            if not json_output:
                err_console.print(
                    f"submitted job {submitted.ledger_id} (retry of {job}): "
                    f"{submitted.invocation_arn}",
                    highlight=False,
                )

        result = retry(
            api,
            job,
            wait=wait,
            out_dir=out,  # None: the failed job's own --out, else here
            download=not no_download,
            timeout=timeout,
            on_submitted=on_submitted,
            on_progress=bars.on_progress,
            on_download=bars.on_download,
            on_notice=None if json_output else cli_notice,  # the price, before the submit
        )
    if result.status == JobStatus.FAILED:
        raise job_failed_error(result)
    print_result(result, json_output)
