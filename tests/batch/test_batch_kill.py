"""kill -9 in the middle of a 30-item batch, then the same command again.

The emulator lives in the test process, outside the killed one, so the jobs it accepted
survive the kill exactly as they would on the real service.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from novareel.ledger import Ledger

ITEMS = 30
V11 = "amazon.nova-reel-v1:1"


def _ledger_progress(db: Path) -> tuple[int, int]:
    """(jobs accepted by the service, jobs completed) as the ledger says right now."""
    if not db.exists():
        return 0, 0
    with Ledger(db) as ledger:
        jobs = ledger.list_jobs()
    return (
        sum(1 for j in jobs if j.invocation_arn),
        sum(1 for j in jobs if j.status == "Completed"),
    )


def test_sigkill_mid_batch_then_rerun_finishes_exactly_once(
    emulator: Any, tmp_path: Path, isolated_home: Path
) -> None:
    emulator.configure(quotas={V11: 10})
    batch = tmp_path / "thirty.yaml"
    batch.write_text(
        "".join(
            f"- id: shot-{i:02d}\n  prompt: A paper lantern number {i} rising, static shot\n"
            for i in range(1, ITEMS + 1)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "videos"
    env = {
        **os.environ,
        "NOVAREEL_HOME": str(isolated_home),
        "NOVAREEL_EMULATOR_URL": emulator.url,
    }
    command = [
        sys.executable,
        "-m",
        "novareel",
        "batch",
        str(batch),
        "--local",
        "--out",
        str(out),
        "--max-concurrent",
        "10",
        "--no-video-check",
        "--json",
    ]
    db = isolated_home / "ledger.db"

    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while True:
            accepted, completed = _ledger_progress(db)
            if accepted >= 12 and completed >= 2:
                break
            assert first.poll() is None, "the batch finished before it could be killed"
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    _, completed_at_kill = _ledger_progress(db)
    assert completed_at_kill < ITEMS

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr[-2000:]
    summary = json.loads(second.stdout)
    assert summary["done"] == ITEMS and summary["failed"] == 0

    with Ledger(db) as ledger:
        batch_id = summary["batch_id"]
        jobs = ledger.batch_jobs(batch_id)
        for i in range(1, ITEMS + 1):
            latest = ledger.latest_attempt(batch_id, f"shot-{i:02d}")
            assert latest is not None and latest.status == "Completed"
            videos = [f for f in latest.local_files if f.endswith("output.mp4")]
            assert videos and Path(videos[0]).stat().st_size > 0
    # one job per item, no retries needed, and the service accepted each exactly once
    assert len(jobs) == ITEMS
    assert emulator.stats()["acceptedSubmissions"] == ITEMS
    assert len(list(out.glob("*/output.mp4"))) == ITEMS
