"""The batch command's live view and closing report at scale: cost by change, not by N."""

from __future__ import annotations

import io
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from novareel.batch import BatchEvent, BatchSummary, ItemOutcome, ItemPhase
from novareel.cli import batch_cmd
from novareel.cli.app import console
from novareel.foundation.results import Failure


def fake_batch(count: int) -> Any:
    """What the views read of a BatchFile: its path and each item's key/label/cost."""
    items = [
        SimpleNamespace(
            number=i,
            key=f"clip-{i}",
            label=f"{i} (clip-{i})",
            estimated_cost_usd=0.48,
            request=SimpleNamespace(task_type="TEXT_VIDEO"),
        )
        for i in range(1, count + 1)
    ]
    return SimpleNamespace(path=Path("big.jsonl"), items=items)


def event(i: int, phase: ItemPhase, message: str = "") -> BatchEvent:
    return BatchEvent(i, f"clip-{i}", phase, 1, i, f"inv{i}", message)


def life_of(i: int, *, fail: bool = False) -> list[BatchEvent]:
    end = (
        [event(i, ItemPhase.FAILED, "not retried")]
        if fail
        else [
            event(i, ItemPhase.DOWNLOADING, "completed"),
            event(i, ItemPhase.DONE, f"downloaded to out/inv{i}"),
        ]
    )
    return [
        event(i, ItemPhase.PENDING),
        event(i, ItemPhase.SUBMITTING, "sending attempt 1"),
        event(i, ItemPhase.IN_FLIGHT, "submitted (~$0.48)"),
        *end,
    ]


def rendered_lines(renderable: Any) -> list[str]:
    out = Console(file=io.StringIO(), width=80, record=True, color_system=None)
    out.print(renderable)
    return out.export_text().splitlines()


def test_a_large_batch_or_one_taller_than_the_terminal_gets_the_summary() -> None:
    assert isinstance(batch_cmd._choose_view(fake_batch(10), 50), batch_cmd._View)
    assert isinstance(batch_cmd._choose_view(fake_batch(10), None), batch_cmd._View)
    assert isinstance(batch_cmd._choose_view(fake_batch(200), 500), batch_cmd._SummaryView)
    assert isinstance(batch_cmd._choose_view(fake_batch(25), 20), batch_cmd._SummaryView)


@pytest.mark.parametrize("count", [100, 5000])
def test_the_summary_stays_the_same_size_as_the_batch_grows(count: int) -> None:
    view = batch_cmd._SummaryView(fake_batch(count))
    for i in range(1, count + 1):
        for e in life_of(i, fail=i % 7 == 0):
            view.on_event(e)
    lines = rendered_lines(view.render())
    text = "\n".join(lines)
    failed = count // 7
    # title, counts, cost/rate, 5 recent events, a failures line and 3 failures
    assert len(lines) <= 12, text
    assert f"{count - failed:,} done" in text and f"{failed:,} failed" in text
    assert f"{count:,} of {count:,} settled" in text
    assert f"failures so far: {failed:,}" in text
    assert f"cost ~${0.48 * (count - failed):,.2f} completed" in text
    assert "items/min" in text and "ETA 0 s" in text
    assert all(len(line) <= 80 for line in lines)


def test_the_table_of_a_small_batch_is_kept() -> None:
    view = batch_cmd._View(fake_batch(5))
    for e in life_of(3):
        view.on_event(e)
    lines = rendered_lines(view.render())
    assert "1 done" in lines[0]
    assert len([line for line in lines if "TEXT_VIDEO" in line]) == 5  # a row per item


def test_redraws_follow_changes_not_time() -> None:
    now = [0.0]
    view = batch_cmd._SummaryView(fake_batch(1000), clock=lambda: now[0])

    def tick(seconds: float, step: float = 0.05) -> None:
        end = now[0] + seconds
        while now[0] < end:
            now[0] += step
            if view.due():
                view.drawn()

    # 1,000 items' events in 2 simulated seconds: at most one redraw per MIN_REDRAW
    events = [e for i in range(1, 1001) for e in life_of(i)]
    per_step = len(events) // 40
    for k in range(40):
        for e in events[k * per_step : (k + 1) * per_step]:
            view.on_event(e)
        tick(0.05)
    tick(batch_cmd.MIN_REDRAW)  # the last change is drawn
    busy = view.redraws
    assert 1 <= busy <= 2 / batch_cmd.MIN_REDRAW + 2
    # nothing happens for a while: no redraw until the heartbeat
    tick(batch_cmd.HEARTBEAT - 0.5)
    assert view.redraws == busy
    tick(1.0)
    assert view.redraws == busy + 1
    # one change: one redraw, then quiet again
    view.on_event(event(1, ItemPhase.FAILED, "download failed"))
    tick(1.0)
    assert view.redraws == busy + 2


def test_the_live_summary_redraws_a_bounded_number_of_times() -> None:
    """The real Live, on a terminal console: 2,000 events in ~0.6 s, few redraws."""
    view = batch_cmd._SummaryView(fake_batch(400))
    screen = Console(file=io.StringIO(), force_terminal=True, width=80, height=24)
    started = time.monotonic()
    with batch_cmd._live(view, screen):
        for i in range(1, 401):
            for e in life_of(i):
                view.on_event(e)
            time.sleep(0.0015)
    elapsed = time.monotonic() - started
    assert view.changes == 2000
    assert 1 <= view.redraws <= elapsed / batch_cmd.MIN_REDRAW + 3, (view.redraws, elapsed)
    assert "400 done" in screen.file.getvalue()  # type: ignore[attr-defined]


def outcome(i: int, phase: ItemPhase) -> ItemOutcome:
    failure = Failure("CONTENT_FILTERED", "blocked", None, "Rephrase it.")
    return ItemOutcome(
        number=i,
        key=f"clip-{i}",
        phase=phase,
        attempts=1,
        job_id=i,
        invocation_id=f"inv{i}",
        task_type="TEXT_VIDEO",
        estimated_cost_usd=0.48,
        failure=failure if phase is ItemPhase.FAILED else None,
        message="" if phase is ItemPhase.FAILED else "not sent yet",
    )


def closing_report(monkeypatch: pytest.MonkeyPatch, items: list[ItemOutcome]) -> str:
    out = Console(file=io.StringIO(), width=100, record=True, color_system=None)
    monkeypatch.setattr(console, "_console", out)
    summary = BatchSummary(
        batch_id=7,
        file="big.jsonl",
        items=tuple(items),
        cost_usd=1.0,
        submitted_cost_usd=2.0,
        concurrency_limit=3,
    )
    batch_cmd._print_summary(summary)
    return out.export_text()


def test_the_closing_report_of_a_large_batch_is_short_and_names_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = [outcome(i, ItemPhase.PENDING if i % 4 else ItemPhase.FAILED) for i in range(1, 8001)]
    text = closing_report(monkeypatch, items)
    lines = text.splitlines()
    assert len(lines) <= 3 * batch_cmd.REPORT_ROWS, text
    assert "not done (first 10 of 8,000)" in text
    assert "2,000 failed, 6,000 pending" in text
    assert "novareel jobs --batch 7 --limit 8000" in text
    assert "novareel jobs --batch 7 --status Failed,Rejected" in text
    # the failures come first
    assert "clip-4 " in text and "clip-1 " not in text


def test_the_closing_report_of_a_few_failures_lists_them_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = [outcome(i, ItemPhase.DONE if i > 3 else ItemPhase.FAILED) for i in range(1, 2001)]
    text = closing_report(monkeypatch, items)
    assert "clip-1" in text and "clip-2" in text and "clip-3" in text
    assert "novareel jobs --batch" not in text and "first" not in text
