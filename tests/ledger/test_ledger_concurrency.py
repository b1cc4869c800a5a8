"""Several processes writing the same ledger at once (a batch and `novareel jobs`), on
both backends: on PostgreSQL the processes could as well be on different machines."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path

from novareel.ledger import Ledger

PER_PROCESS = 40


def _writer(target: Path | str, prefix: str, start: Event) -> None:
    """Add PER_PROCESS intents, each in its own transaction, as fast as possible."""
    start.wait()
    with Ledger(target) as ledger:
        for i in range(PER_PROCESS):
            job = ledger.add_intent(
                client_token=f"{prefix}-{i}",
                model_id="amazon.nova-reel-v1:1",
                task_type="TEXT_VIDEO",
                request={"textToVideoParams": {"text": f"shot {i}"}},
                output_uri="s3://bucket/out/",
                duration_seconds=6,
                seed=i,
                estimated_cost_usd=0.48,
            )
            ledger.record_status(job.id, "InProgress")


def test_two_processes_adding_intents_at_once_both_succeed(
    backend: str, tmp_path: Path, new_target: Callable[[], Path | str]
) -> None:
    # A fresh ledger: both processes also race to create and migrate it.
    path = tmp_path / "shared" / "ledger.db" if backend == "sqlite" else new_target()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(path, name, start)) for name in ("a", "b")]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0, 0]
    with Ledger(path) as ledger:
        tokens = {job.client_token for job in ledger.list_jobs()}
        assert len(tokens) == 2 * PER_PROCESS
        assert {f"a-{i}" for i in range(PER_PROCESS)} <= tokens
        assert all(len(ledger.history(job.id)) == 2 for job in ledger.list_jobs())
        names = [r[0] for r in ledger.conn.execute("SELECT name FROM _migrations")]
        assert len(names) == len(set(names))  # each migration applied once


def test_threads_may_share_one_ledger(target: Path | str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with Ledger(target) as ledger:

        def work(i: int) -> int:
            job = ledger.add_intent(
                client_token=f"t-{i}",
                model_id="amazon.nova-reel-v1:1",
                task_type="TEXT_VIDEO",
                request={},
                output_uri="s3://b/",
                duration_seconds=6,
                seed=i,
                estimated_cost_usd=0.48,
            )
            ledger.record_status(job.id, "Completed")
            return ledger.get(f"t-{i}").id

        with ThreadPoolExecutor(max_workers=4) as pool:
            ids = list(pool.map(work, range(40)))
        assert len(set(ids)) == 40
        assert len(ledger.list_jobs(status="Completed")) == 40
