"""The batch runner within the account's quota shared through the ledger's leases
(:mod:`novareel.limits.quota`): it waits while other holders take every slot, sends once
one is given back, gives its own back as its jobs end, and counts the jobs a resumed
run finds running."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from novareel.batch import BatchEvent, BatchRunner, ItemPhase, load_batch
from novareel.jobs import VideoGenerator
from novareel.ledger.leases import LEASE_TTL_SECONDS
from tests.batch.test_batch_run import V11, accepted, text_batch


def _slot(reel: VideoGenerator) -> dict[str, str]:
    return {
        "endpoint": reel.client.runtime_endpoint or "",
        "model_id": V11,
        "region": "us-east-1",
    }


def test_waits_while_other_processes_hold_every_slot(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    assert reel.ledger is not None
    slot = _slot(reel)
    others = [reel.ledger.acquire_lease(**slot, holder="other", quota=3) for _ in range(3)]
    assert None not in others
    runner = BatchRunner(reel, load_batch(text_batch(tmp_path / "q.yaml", 2)), out_dir=None)
    summary: list[Any] = []
    thread = threading.Thread(target=lambda: summary.append(runner.run()))
    thread.start()
    try:
        time.sleep(1.5)  # dozens of the runner's ticks at this speed
        assert accepted(emulator) == 0  # every slot is someone else's: nothing sent
        assert runner.phase_counts()[ItemPhase.PENDING] == 2
        for lease in others:
            assert lease is not None
            reel.ledger.release_lease(lease)
    finally:
        thread.join(timeout=120)
    assert summary and summary[0].done == 2
    assert accepted(emulator) == 2
    assert reel.ledger.leases_in_use(**slot) == 0  # its own given back at the end


def test_keeps_its_jobs_within_a_quota_smaller_than_max_concurrent(
    reel: VideoGenerator, emulator: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """NOVAREEL_QUOTA=2 with --max-concurrent 5: never more than 2 on the service,
    and the summary says why."""
    monkeypatch.setenv("NOVAREEL_QUOTA", "2")
    emulator.configure(quotas={V11: 50})
    events: list[BatchEvent] = []
    runner = BatchRunner(
        reel,
        load_batch(text_batch(tmp_path / "q.yaml", 6)),
        out_dir=None,
        max_concurrent=5,
        on_event=events.append,
    )
    summary = runner.run()
    assert summary.done == 6
    assert emulator.stats()["maxInFlight"][f"{V11}@us-east-1"] <= 2
    assert any("at most 2 job(s)" in n and "NOVAREEL_QUOTA" in n for n in summary.notices)


def _stopped_run(reel: VideoGenerator, emulator: Any, path: Path) -> BatchRunner:
    """A run stopped at its time limit with 3 jobs (the quota) still running."""
    emulator.configure(speed=20, quotas={V11: 50})  # jobs outlive the run
    runner = BatchRunner(reel, load_batch(path), out_dir=None, timeout=0.01)
    assert runner.run().timed_out
    assert runner.phase_counts()[ItemPhase.IN_FLIGHT] == 3
    return runner


def test_a_resumed_run_takes_over_the_slots_its_stopped_run_left(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    """The stopped run leaves its running jobs' leases (they still hold the slots);
    the next run takes them over by job (client token), gives each back as its job
    ends, and sends the 4th item only then: nothing is left held at the end (a
    second lease per job, or the old ones left to expire, would be)."""
    assert reel.ledger is not None
    path = text_batch(tmp_path / "q.yaml", 4)
    stopped = _stopped_run(reel, emulator, path)
    assert stopped.quota is not None
    assert reel.ledger.leases_in_use(**_slot(reel)) == 3
    started = time.monotonic()
    summary = BatchRunner(reel, load_batch(path), out_dir=None, max_concurrent=5).run()
    # Left alone, the old leases would hold the 4th item back until they expire.
    assert time.monotonic() - started < LEASE_TTL_SECONDS * 2 / 3
    assert summary.done == 4 and accepted(emulator) == 4
    assert emulator.stats()["maxInFlight"][f"{V11}@us-east-1"] == 3
    assert reel.ledger.leases_in_use(**_slot(reel)) == 0


def test_a_resumed_run_counts_running_jobs_whose_leases_expired(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    """The stopped run's process died long ago (its leases expired), its 3 jobs still
    run: the next run counts them whatever the count says, so the service (which
    would take 50) never sees 4 at once. Without it the 4th would go at once."""
    assert reel.ledger is not None
    path = text_batch(tmp_path / "q.yaml", 4)
    stopped = _stopped_run(reel, emulator, path)
    assert stopped.quota is not None
    reel.ledger.release_holder(stopped.quota.holder)  # as if expired
    # max_concurrent 5: only the shared quota (3) can hold the 4th item back
    summary = BatchRunner(reel, load_batch(path), out_dir=None, max_concurrent=5).run()
    assert summary.done == 4 and accepted(emulator) == 4
    assert emulator.stats()["maxInFlight"][f"{V11}@us-east-1"] == 3
