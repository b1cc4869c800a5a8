"""The runner's bookkeeping: O(1) per event, and counters that always equal a recount.

These run the real :class:`BatchRunner` against a fake api (no emulator, no sleeps of
note) so that thousands of items cost well under a second and every event path
(quota, throttling, 5xx, rejection, budget stop, retried failures, failed downloads)
can be driven at random.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from novareel.batch import BatchEvent, BatchRunner, ItemPhase, load_batch
from novareel.foundation.errors import (
    BudgetExceededError,
    DownloadError,
    QuotaExceededError,
    ServiceUnavailableError,
    ServiceValidationError,
    ThrottledError,
)
from novareel.foundation.results import Failure, JobResult
from tests.batch.fakes import FakeLedger
from tests.helpers import OUTPUT

V11 = "amazon.nova-reel-v1:1"


def jsonl_batch(path: Path, count: int) -> Path:
    lines = [json.dumps({"defaults": {"output_uri": OUTPUT}})]
    lines += [json.dumps({"id": f"c{i}", "prompt": f"boat {i}, static shot"}) for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class FakeApi:
    """Answers like VideoGenerator, by the dice: ``odds`` maps an outcome to its chance."""

    rng: random.Random
    odds: dict[str, float] = field(default_factory=dict)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    time_scale: float = 1000.0
    cost_cap: None = None
    running: dict[int, str] = field(default_factory=dict)
    next_id: int = 0

    @property
    def client(self) -> Any:
        return self

    def _roll(self, name: str) -> bool:
        return self.rng.random() < self.odds.get(name, 0.0)

    def submit(self, request: Any, output: Any, **kw: Any) -> JobResult:
        if self._roll("budget"):
            raise BudgetExceededError(
                "over the daily budget", limit="daily", asked_usd=0.08, limit_usd=1, spent_usd=1
            )
        if self._roll("quota"):
            raise QuotaExceededError("quota", code="ServiceQuotaExceededException")
        if self._roll("throttle"):
            raise ThrottledError("slow down", code="ThrottlingException")
        if self._roll("5xx"):
            raise ServiceUnavailableError("oops", code="InternalServerException")
        if self._roll("reject"):
            raise ServiceValidationError("no", code="ValidationException")
        self.next_id += 1
        arn = f"arn:aws:bedrock:us-east-1:0:async-invoke/j{self.next_id}"
        self.running[self.next_id] = arn
        self.ledger.records[self.next_id] = SimpleNamespace(
            id=self.next_id,
            attempt=kw["attempt"],
            model_id=V11,
            failure_type=None,
            failure_message=None,
            failure_shot=None,
        )
        return self._result("InProgress", self.next_id, arn)

    def _result(self, status: str, job_id: int, arn: str, **kw: Any) -> JobResult:
        return JobResult(
            status=status,
            task_type="TEXT_VIDEO",
            model_id=V11,
            duration_seconds=6,
            seed=0,
            estimated_cost_usd=0.48,
            invocation_arn=arn,
            submit_time=datetime.now(timezone.utc),
            ledger_id=job_id,
            **kw,
        )

    def check_regions(self, model_ids: Any) -> None:
        """Every item's model runs here (VideoGenerator.check_regions: nothing to refuse)."""

    @staticmethod
    def region_for(model_id: str) -> str:
        return "us-east-1"

    @staticmethod
    def region_of_job(invocation_arn: str | None) -> str | None:
        return "us-east-1"

    def list_async_invokes(self, **_: Any) -> Iterator[Any]:
        # A job still running stays listed; the others are asked about one by one.
        for job_id, arn in list(self.running.items()):
            if self._roll("still_running"):
                yield SimpleNamespace(invocation_arn=arn)
            else:
                del self.running[job_id]

    def status(self, job_id: str) -> JobResult:
        arn = f"arn:aws:bedrock:us-east-1:0:async-invoke/j{job_id}"
        if self._roll("fail"):
            kind = "INTERNAL_SERVER_EXCEPTION" if self._roll("retryable") else "CONTENT_FILTERED"
            failure = Failure(kind, "it failed", None, "")
            return self._result("Failed", int(job_id), arn, failure=failure)
        return self._result("Completed", int(job_id), arn)

    def download(self, job_id: str, out_dir: Path, *, check_video: bool = True) -> JobResult:
        if self._roll("download_error"):
            raise DownloadError("connection reset")
        arn = f"arn:aws:bedrock:us-east-1:0:async-invoke/j{job_id}"
        where = str(out_dir / f"j{job_id}")
        return self._result(
            "Completed", int(job_id), arn, local_dir=where, local_files=(f"{where}/output.mp4",)
        )


def recount_problems(runner: BatchRunner) -> list[str]:
    """What differs between the runner's O(1) bookkeeping and a full recount."""
    problems = []
    counts = Counter(s.phase for s in runner.states)
    if runner.phase_counts() != {p: counts.get(p, 0) for p in ItemPhase}:
        problems.append(f"counts {runner.phase_counts()} != recount {dict(counts)}")
    flying = sum(counts[p] for p in (ItemPhase.SUBMITTING, ItemPhase.IN_FLIGHT))
    if runner._in_flight() != flying:
        problems.append(f"in flight {runner._in_flight()} != {flying}")
    pending = {id(s) for s in runner.states if s.phase is ItemPhase.PENDING}
    queued = [id(s) for s in runner._queue]
    if len(queued) != len(set(queued)) or set(queued) != pending:
        problems.append("the queue is not exactly the pending items")
    downloading = {s.index for s in runner.states if s.phase is ItemPhase.DOWNLOADING}
    tracked = set(runner._to_download) | set(runner._downloads)
    if tracked != downloading or set(runner._to_download) & set(runner._downloads):
        problems.append("the downloads to start + started are not the downloading items")
    unsettled = sum(
        1
        for s in runner.states
        if not s.phase.final
        and not (runner.budget_stop is not None and s.phase is ItemPhase.PENDING)
    )
    if runner._unsettled() != unsettled:
        problems.append(f"unsettled {runner._unsettled()} != {unsettled}")
    return problems


ROUGH = {
    "quota": 0.1,
    "throttle": 0.05,
    "5xx": 0.05,
    "reject": 0.03,
    "still_running": 0.5,
    "fail": 0.2,
    "retryable": 0.6,
    "download_error": 0.2,
}


@pytest.mark.parametrize("seed", range(8))
def test_counters_equal_a_recount_after_every_event(tmp_path: Path, seed: int) -> None:
    """Random event sequences: after each event, the counters equal a recount."""
    odds = dict(ROUGH, budget=0.003 if seed % 2 else 0.0)
    api = FakeApi(random.Random(seed), odds)
    batch = load_batch(jsonl_batch(tmp_path / "b.jsonl", 60))
    seen: list[BatchEvent] = []
    problems: list[str] = []
    runner: BatchRunner

    def check(event: BatchEvent) -> None:
        seen.append(event)
        problems.extend(f"after {event}: {p}" for p in recount_problems(runner))

    runner = BatchRunner(
        api,  # type: ignore[arg-type]
        batch,
        out_dir=tmp_path / "out",
        max_concurrent=5,
        poll_interval=0.001,
        on_event=check,
    )
    summary = runner.run()
    assert problems == []
    assert recount_problems(runner) == []
    phases = {e.phase for e in seen}
    assert {ItemPhase.SUBMITTING, ItemPhase.IN_FLIGHT, ItemPhase.DONE} <= phases
    # the run ended because every item settled, and the summary agrees with the counters
    assert runner._unsettled() == 0
    assert summary.done == runner.phase_counts()[ItemPhase.DONE]
    assert summary.failed == runner.phase_counts()[ItemPhase.FAILED]
    if runner.budget_stop is None:
        assert summary.done + summary.failed == len(batch.items)
        assert len(seen) > 4 * len(batch.items)  # many events, each one checked
    else:  # the rest stay pending for a later run
        assert summary.done + summary.failed + runner.phase_counts()[ItemPhase.PENDING] == 60


class CountingList(list[Any]):
    """A list that counts every element read from it, by iteration or by index."""

    visits = 0

    def __iter__(self) -> Iterator[Any]:
        for value in super().__iter__():
            self.visits += 1
            yield value

    def __getitem__(self, index: Any) -> Any:
        self.visits += 1
        return super().__getitem__(index)


class CountedRunner(BatchRunner):
    def _resume(self) -> None:
        super()._resume()
        self.states = CountingList(self.states)


def visits_per_item(tmp_path: Path, count: int) -> float:
    api = FakeApi(random.Random(1), {"still_running": 0.3})
    batch = load_batch(jsonl_batch(tmp_path / f"b{count}.jsonl", count))
    runner = CountedRunner(
        api,  # type: ignore[arg-type]
        batch,
        out_dir=tmp_path / "out",
        max_concurrent=20,
        poll_interval=0.001,
    )
    summary = runner.run()
    assert summary.ok and summary.done == count
    assert isinstance(runner.states, CountingList)
    return runner.states.visits / count


def test_item_states_visited_per_item_do_not_grow_with_the_batch(tmp_path: Path) -> None:
    """Submits, ticks, downloads and the end check touch only the items concerned: the
    item states read in a whole run grow with N, not N² (a scan per submit read 2,000
    states for each of 2,000 submits)."""
    small = visits_per_item(tmp_path, 100)
    large = visits_per_item(tmp_path, 2000)
    # Reads left: one per download collected, and the summary's two passes.
    assert small <= 4 and large <= 4, (small, large)
    assert large <= small * 1.2, (small, large)
