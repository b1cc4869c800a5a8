"""``novareel batch FILE``: run every item of a YAML/JSONL file, resumably.

The command checks the whole file first (every problem of every item, exit 2, nothing
sent), then runs :class:`novareel.batch.BatchRunner` with one Rich view of all items.
Running the same command again continues an interrupted run; see ``docs/batch.md``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer

from novareel.cli import max_cost as cost_cap
from novareel.cli.app import JSON_OUTPUT, NO_QA, app, console, emit_json, err_console
from novareel.cli.common import (
    CONNECTION,
    Connection,
    cli_notice,
    connected_command,
    open_api,
    output_uri_option,
)
from novareel.cli.review_cmd import REVIEW_FLAG, print_reviews
from novareel.foundation.display import neutralise
from novareel.foundation.results import format_cost
from novareel.foundation.s3uri import resolve_output_uri
from novareel.foundation.status import JobStatus

_PHASE_STYLE = {
    "pending": "dim",
    "submitting": "yellow",
    "in flight": "cyan",
    "downloading": "blue",
    "done": "green",
    "failed": "red",
    "changed": "magenta",
}


#: Above this many items (or when the table would not fit the terminal) the live view
#: is a summary whose cost follows what changes, not the number of items: a table of
#: every row redrawn 4 times a second made 400 items take twice as long in a terminal
#: and 10,000 never finish.
SUMMARY_THRESHOLD = 30
#: Rows of the closing "not done" table at most; more are counted and pointed to.
REPORT_ROWS = 10
#: The summary view's redraws: at most one per MIN_REDRAW seconds, and only after a
#: change (or once per HEARTBEAT seconds, so the clock and the ETA do not look frozen).
MIN_REDRAW = 0.25
HEARTBEAT = 5.0
_FINAL = ("done", "failed", "changed")


class _View:
    """One Rich table of every item, redrawn from the runner's events (small batches)."""

    def __init__(self, batch: Any) -> None:
        self.batch = batch
        self.rows: dict[str, Any] = {}
        self.started = time.monotonic()

    def on_event(self, event: Any) -> None:
        self.rows[event.key] = event

    def render(self) -> Any:
        from rich import box
        from rich.table import Column, Table

        rows = dict(self.rows)  # events arrive from the runner's thread
        counts: dict[str, int] = {}
        for event in rows.values():
            counts[event.phase.value] = counts.get(event.phase.value, 0) + 1
        elapsed = time.monotonic() - self.started
        title = f"{self.batch.path.name}: " + ", ".join(
            f"{n} {phase}" for phase, n in sorted(counts.items())
        )
        # 80 columns: short columns never wrap, the item id is cut, the message wraps.
        table = Table(
            Column("#", no_wrap=True, justify="right"),
            Column("item", no_wrap=True, overflow="ellipsis", max_width=20),
            Column("task", no_wrap=True),
            Column("status", no_wrap=True),
            Column("try", no_wrap=True),
            Column("job", no_wrap=True),
            Column("", overflow="fold"),
            title=title,
            box=box.SIMPLE_HEAD,
        )
        table.caption = f"{elapsed:,.0f} s"
        for item in self.batch.items:
            event = rows.get(item.key)
            phase = event.phase.value if event else "pending"
            style = _PHASE_STYLE.get(phase, "")
            table.add_row(
                str(item.number),
                item.key if item.key != str(item.number) else "",
                str(item.request.task_type),
                f"[{style}]{phase}[/]",
                str(event.attempt) if event else "1",
                str(event.job_id or "") if event else "",
                (event.message if event else "")[:70],
            )
        return table


class _SummaryView:
    """A large batch at a glance: counts per state, rate, cost, ETA, the last events and
    failures. Every event updates counters in O(1); a redraw costs the same at 40
    items or 40,000, and happens only when something changed (:meth:`due`).
    """

    def __init__(
        self,
        batch: Any,
        *,
        clock: Callable[[], float] = time.monotonic,
        recent: int = 5,
        failures: int = 3,
    ) -> None:
        self.batch = batch
        #: the endpoint is novareel's emulator: its jobs cost nothing here
        self.local = False
        self.clock = clock
        self.total = len(batch.items)
        self._cost = {item.key: item.estimated_cost_usd for item in batch.items}
        self._label = {item.key: item.label for item in batch.items}
        self._phase: dict[str, str] = {}
        self.counts: Counter[str] = Counter({"pending": self.total})
        self.submitted_usd = 0.0
        self.completed_usd = 0.0
        self.settled_here = 0  # items that reached a final phase in this run
        self.first_submit: float | None = None
        self.recent: deque[str] = deque(maxlen=recent)
        self.failures: deque[str] = deque(maxlen=failures)
        self.started = clock()
        self.changes = 0
        self.redraws = 0
        self._drawn_changes = 0
        self._drawn_at = float("-inf")
        self._lock = threading.Lock()

    def on_event(self, event: Any) -> None:
        from rich.markup import escape

        new = event.phase.value
        with self._lock:
            old = self._phase.get(event.key, "pending")
            if old != new:
                self.counts[old] -= 1
                self.counts[new] += 1
                self._phase[event.key] = new
                cost = self._cost.get(event.key, 0.0)
                if new == "in flight":
                    self.submitted_usd += cost
                if new in ("downloading", "done") and old in ("submitting", "in flight"):
                    self.completed_usd += cost
                if new in _FINAL and old in ("submitting", "in flight", "downloading"):
                    self.settled_here += 1
            if new == "submitting" and self.first_submit is None:
                self.first_submit = self.clock()
            if event.message or old != new:
                label = escape(self._label.get(event.key, event.key))
                line = f"item {label}: {new}" + (
                    f" — {escape(event.message[:60])}" if event.message else ""
                )
                self.recent.append(line)
                if new == "failed":
                    self.failures.append(line)
            self.changes += 1

    def due(self, now: float | None = None) -> bool:
        """Whether a redraw is worth it now: something changed and the last redraw is
        at least MIN_REDRAW old, or nothing changed for HEARTBEAT seconds."""
        now = self.clock() if now is None else now
        since = now - self._drawn_at
        return (self.changes != self._drawn_changes and since >= MIN_REDRAW) or since >= HEARTBEAT

    def drawn(self, now: float | None = None) -> None:
        self._drawn_changes = self.changes
        self._drawn_at = self.clock() if now is None else now
        self.redraws += 1

    def render(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        with self._lock:
            counts = dict(self.counts)
            recent = list(self.recent)
            failures = list(self.failures)
            submitted, completed = self.submitted_usd, self.completed_usd
            settled_here, first = self.settled_here, self.first_submit
        now = self.clock()
        final = sum(counts.get(p, 0) for p in _FINAL)
        left = self.total - final
        lines = [
            Text.from_markup(
                f"[bold]{self.batch.path.name}[/]: {final:,} of {self.total:,} settled"
                f" · {now - self.started:,.0f} s",
                overflow="ellipsis",
            ),
            Text.from_markup(
                "  ".join(
                    f"[{_PHASE_STYLE.get(phase, '')}]{counts.get(phase, 0):,} {phase}[/]"
                    for phase in _PHASE_STYLE
                    if counts.get(phase, 0) or phase in ("pending", "in flight", "done")
                )
            ),
        ]
        rate = ""
        if first is not None and settled_here and now > first:
            per_minute = settled_here / (now - first) * 60.0
            eta = left / (per_minute / 60.0) if left else 0.0
            rate = f"{per_minute:,.1f} items/min · ETA {_duration(eta)}"
        lines.append(
            Text(
                f"cost {format_cost(completed, local=self.local, compact=True)} completed,"
                f" ${submitted:,.2f} submitted" + (f" · {rate}" if rate else ""),
                overflow="ellipsis",
            )
        )
        lines += [Text.from_markup(f"[dim]{line}[/]", overflow="ellipsis") for line in recent]
        if failures:
            lines.append(Text(f"failures so far: {counts.get('failed', 0):,}", style="red"))
            lines += [Text.from_markup(f"  {line}", overflow="ellipsis") for line in failures]
        for line in lines:
            line.no_wrap = True
        return Group(*lines)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _choose_view(batch: Any, height: int | None) -> _View | _SummaryView:
    """The table for a small batch that fits the terminal; the summary otherwise."""
    rows = len(batch.items)
    if rows > SUMMARY_THRESHOLD or (height is not None and rows + 8 > height):
        return _SummaryView(batch)
    return _View(batch)


@contextlib.contextmanager
def _live(view: _View | _SummaryView, real_console: Any) -> Iterator[None]:
    """Show the view while the runner runs: the table 4 times a second (today's view),
    the summary only when it changed (a small thread checks :meth:`_SummaryView.due`)."""
    from rich.live import Live

    if isinstance(view, _View):
        with Live(get_renderable=view.render, console=real_console, refresh_per_second=4):
            yield
        return
    stop = threading.Event()
    with Live(get_renderable=view.render, console=real_console, auto_refresh=False) as live:

        def pump() -> None:
            while not stop.wait(MIN_REDRAW / 2):
                if view.due():
                    view.drawn()
                    live.refresh()

        thread = threading.Thread(target=pump, name="novareel-view", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            view.drawn()
            live.refresh()  # the final state stays on the screen


def _dry_run(batch: Any, as_json: bool) -> None:
    from novareel.batch import ledger_view
    from novareel.jobs.dry_run import dry_run
    from novareel.ledger import Ledger

    with Ledger.open_default() as ledger:
        known = ledger_view(ledger, batch)
        # The library's dry run, as generate --dry-run shows it: each item's complete
        # StartAsyncInvoke request (its token is derived at submit) and expected time.
        plans = [
            dry_run([i.request], i.output, tags=i.tags, notices=i.notices, ledger=ledger)
            for i in batch.items
        ]
    to_spend = round(
        sum(i.estimated_cost_usd for i in batch.items if known.get(i.key) != JobStatus.COMPLETED), 2
    )
    # The models' lifecycle, said once per model as the run says it (a dry run of a
    # batch on a retired model said nothing of it, while generate --dry-run did).
    lifecycle = _lifecycle_notices(batch)
    if as_json:
        emit_json(
            {
                "dry_run": True,
                "file": str(batch.path),
                "notices": lifecycle,
                "items": [
                    {
                        **i.to_dict(),
                        "ledger_status": known.get(i.key),
                        "expected_seconds": p.expectations[0].seconds,
                        "start_async_invoke": p.start_async_invoke[0],
                    }
                    for i, p in zip(batch.items, plans, strict=True)
                ],
                "total": len(batch.items),
                "estimated_cost_usd": batch.estimated_cost_usd,
                "remaining_cost_usd": to_spend,
            }
        )
        return
    from rich.table import Column, Table

    table = Table(
        Column("#", no_wrap=True, justify="right"),
        Column("item", no_wrap=True, overflow="ellipsis", max_width=20),
        Column("task", no_wrap=True),
        Column("secs", no_wrap=True, justify="right"),
        Column("cost", no_wrap=True, justify="right"),
        Column("output", overflow="fold"),
        Column("ledger", no_wrap=True),
    )
    for item in batch.items:
        table.add_row(
            str(item.number),
            item.key if item.key != str(item.number) else "",
            str(item.request.task_type),
            str(item.request.duration_seconds),
            f"${item.estimated_cost_usd:.2f}",
            item.output_uri,
            known.get(item.key, ""),
        )
    console.print(table)
    for notice in lifecycle:
        cli_notice(notice)
    _print_item_notices(batch)
    console.print(
        f"{len(batch.items)} item(s) OK, ${batch.estimated_cost_usd:.2f} in total"
        + (f", ${to_spend:.2f} still to spend" if known else "")
        + "; nothing was sent (--dry-run)",
        highlight=False,
    )


def _print_item_notices(batch: Any) -> None:
    """Each item's notices (a converted image, prompt advice, a fixed output URI), once
    per item, before anything is sent."""
    from rich.markup import escape

    said: set[tuple[int, str]] = set()
    for item in batch.items:
        for notice in item.notices:
            if (item.number, notice) in said:
                continue  # the shots of one storyboard item share its notices
            said.add((item.number, notice))
            label = escape(neutralise(item.label if item.group is None else item.group))
            err_console.print(
                f"[yellow]notice:[/] item {label}: {escape(neutralise(notice))}", highlight=False
            )


def _print_summary(summary: Any, *, local: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Column, Table

    for notice in summary.notices:
        err_console.print(f"[yellow]notice:[/] {escape(notice)}", highlight=False)
    bad = [i for i in summary.items if i.phase.value != "done"]
    shown = bad
    if len(bad) > SUMMARY_THRESHOLD:
        # A large batch: the failures first, a few rows, and where the full list is.
        shown = sorted(bad, key=lambda i: i.phase.value != "failed")[:REPORT_ROWS]
    if bad:
        table = Table(
            Column("#", no_wrap=True, justify="right"),
            Column("item", no_wrap=True, overflow="ellipsis", max_width=20),
            Column("status", no_wrap=True),
            Column("job", no_wrap=True),
            "why",
            "what to do",
            title="not done" if shown is bad else f"not done (first {len(shown)} of {len(bad):,})",
        )
        for item in shown:
            failure = item.failure
            why = failure.summary() if failure else item.message
            table.add_row(
                str(item.number),
                item.key,
                item.phase.value,
                str(item.job_id or ""),
                why,
                failure.advice if failure else "",
            )
        console.print(table)
    from novareel.cli.qa_cmd import print_batch_qa

    print_batch_qa(summary.items)
    if shown is not bad:
        by_phase = Counter(i.phase.value for i in bad)
        console.print(
            "not done: " + ", ".join(f"{n:,} {phase}" for phase, n in sorted(by_phase.items())),
            highlight=False,
        )
        console.print(
            f"every job of this batch: novareel jobs --batch {summary.batch_id} "
            f"--limit {len(summary.items)}; only the failed ones: novareel jobs --batch "
            f"{summary.batch_id} --status Failed,Rejected",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"[bold]{summary.done} done[/], {summary.failed} failed"
        + (f", {summary.changed} changed" if summary.changed else "")
        + (f", {summary.unfinished} unfinished" if summary.unfinished else "")
        + f" of {len(summary.items)}; cost "
        + escape(format_cost(summary.cost_usd, local=local, on_aws=True))
        + (
            f" (${summary.submitted_cost_usd:.2f} submitted)"
            if summary.submitted_cost_usd != summary.cost_usd
            else ""
        ),
        highlight=False,
    )


@connected_command(app, "batch")
def batch(
    file: Path = typer.Argument(..., help="Batch file: YAML (list or items+defaults) or JSONL."),
    output_uri: str | None = output_uri_option("Default s3://bucket/folder/ for items without one"),
    out: Path = typer.Option(Path("."), "--out", help="Download into OUT/<invocation-id>/."),
    no_download: bool = typer.Option(False, "--no-download", help="Leave the files in S3."),
    no_video_check: bool = typer.Option(
        False, "--no-video-check", help="Do not decode each downloaded video to check it."
    ),
    no_qa: bool = NO_QA,
    max_concurrent: int = typer.Option(
        3, "--max-concurrent", help="Jobs in flight at most (lowered if the quota is smaller)."
    ),
    max_retries: int = typer.Option(
        2, "--max-retries", help="Automatic resubmits of a job failing on the service's side."
    ),
    resubmit_changed: bool = typer.Option(
        False,
        "--resubmit-changed",
        help="Send items edited since they were sent as new attempts (default: report them).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check every item and print the total cost; send nothing."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Stop after N seconds (running jobs go on; run again later)."
    ),
    max_cost: str | None = cost_cap.MAX_COST,
    review: bool = REVIEW_FLAG,
    conn: Connection = CONNECTION,
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Run every item of a batch file, resumably: exit 0 done, 1 some failed, 2 bad file/budget."""
    from novareel.batch import BatchRunner, load_batch
    from novareel.models import get_model

    cap = cost_cap.parse(max_cost)
    # the flag is the file's default; the environment and --local only fill the gap
    fallback: dict[str, Any] = {"output_uri": resolve_output_uri(None, local=conn.local)}
    batch_file = load_batch(file, defaults={"output_uri": output_uri}, fallback=fallback)
    if dry_run:
        if conn.region:
            # What the run would refuse before sending: an explicit --region that
            # does not offer an item's model (the same verdict as the run's).
            _check_regions(batch_file, conn.region)
        _dry_run(batch_file, json_output)
        return

    # Each item runs in its own model's region (VideoGenerator.region_for), like `generate`;
    # the first item's model only names the client's default region.
    region = next(
        (get_model(item.request.model_id).info.default_region for item in batch_file.items), None
    )
    lifecycle = _lifecycle_notices(batch_file)
    if not json_output:
        for notice in lifecycle:
            cli_notice(notice)
        _print_item_notices(batch_file)
    terminal = not json_output and console.is_terminal
    view = _choose_view(batch_file, console.real.height if terminal else None)
    with open_api(conn, waits=True, region=region) as (api, _):
        api.run_qa = not no_qa
        cost_cap.arm(api, cap)  # the runner refuses a run over it before sending anything
        local = api.on_emulator  # the endpoint's own answer: "$0 here", or AWS's price
        if isinstance(view, _SummaryView):
            view.local = local
        runner = BatchRunner(
            api,
            batch_file,
            out_dir=None if no_download else out,
            max_concurrent=max_concurrent,
            max_retries=max_retries,
            timeout=timeout,
            resubmit_changed=resubmit_changed,
            check_video=not no_video_check,
            on_event=view.on_event,
        )
        if not terminal:
            summary = runner.run()
        else:
            try:
                with _live(view, console.real):
                    summary = runner.run()
            except KeyboardInterrupt:
                err_console.print(
                    "interrupted: every job is in the ledger; run the same command again "
                    "to continue (nothing is sent twice)"
                )
                raise typer.Exit(130) from None
        joined: dict[str, Any] = {}
        if batch_file.groups and not no_download:
            # The storyboard items' shots are fetched into their one folder each and
            # joined there (while the connection, and a --local emulator, are open).
            from novareel.running.shotboard import assemble_groups

            when = api.ledger.get_batch(summary.batch_id).created_at if api.ledger else None
            joined = assemble_groups(
                api, batch_file, summary, out, when=when, check_video=not no_video_check
            )
        reviews = None
        if review:  # --review: each finished video, one review section
            from novareel.review import review_jobs

            done = [i.job_id for i in summary.items if i.phase.value == "done" and i.job_id]
            reviews = review_jobs(api, done)
    if json_output:
        summary_data = summary.to_dict()
        if reviews is not None:
            summary_data["reviews"] = reviews
        emit_json(
            {
                **summary_data,
                "notices": lifecycle + list(summary_data.get("notices", [])),
                "storyboards": {
                    key: value if isinstance(value, str) else value.to_dict()
                    for key, value in joined.items()
                },
            }
        )
    else:
        _print_summary(summary, local=local)
        for key, value in joined.items():
            where = value if isinstance(value, str) else f"joined into {value.video_path}"
            typer.echo(f"storyboard {key}: {where}")
        if reviews is not None:
            print_reviews(reviews)
    if summary.budget_stop is not None:
        raise typer.Exit(2)
    if not summary.ok:
        raise typer.Exit(1)


def _check_regions(batch_file: Any, region: str) -> None:
    """Every item's model offered in the explicit ``region``, else one error naming
    each model that is not (:meth:`VideoGenerator.check_regions`, without a client)."""
    from novareel.foundation.errors import InvalidRequestError
    from novareel.jobs.session import region_refusal

    refusals = [
        refusal
        for model_id in dict.fromkeys(item.request.model_id for item in batch_file.items)
        if (refusal := region_refusal(model_id, region)) is not None
    ]
    if refusals:
        problems = [p for refusal in refusals for p in refusal.problems]
        raise InvalidRequestError(problems, hint=refusals[0].hint)


def _lifecycle_notices(batch_file: Any) -> list[str]:
    """One lifecycle notice per Legacy or retired model the batch uses, before the run."""
    from novareel.models import get_model, lifecycle_notice

    models = dict.fromkeys(item.request.model_id for item in batch_file.items)
    found = (lifecycle_notice(get_model(model_id)) for model_id in models)
    notices = [notice for notice in found if notice]
    from novareel.settings.defaults import read_defaults

    chosen = read_defaults()
    if not chosen.is_built_in and chosen.model_id in models:
        # A model nobody typed in the file is named before anything is paid for.
        notices.insert(
            0,
            f"items naming no model run on your default model {chosen.model_id} "
            f"({chosen.short_source}; model_id in an item or defaults picks another)",
        )
    return notices
