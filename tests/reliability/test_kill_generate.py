"""kill -9 `novareel generate` and `novareel batch` at many moments, then run them again.

The issue's done-when for "one command pays once": whatever the moment of the kill
(before the ledger row, between the row and the service's answer, while waiting,
while downloading), running the same command again to completion must end with
exactly one paid job per distinct request, no job lost and every video on disk,
counted on the emulator's side (its accepted submissions and its own job list).

Kill points are of two kinds:

* **random**: a seeded delay in ``[0, T]`` after the process starts (start-up, submit,
  wait and download all take part of that span), several times in a row on the same
  command, as an impatient person would (a run that ends before its kill narrows
  ``T`` to its own length, so the kills land on a fast machine too);
* **targeted**: ``NOVAREEL_TEST_KILL_AT`` (a test-only hook in ``novareel.jobs``,
  ``_kill_point``) makes the process SIGKILL itself right after the ledger row is
  written (``after-intent``), right after the service accepted the job
  (``after-submit``), or right after the files are written but before the ledger
  lists them (``after-download``): the moments a random delay rarely hits;
* **in the submit window**: ``NOVAREEL_TEST_HOLD_SUBMIT`` (``hold_point`` in
  ``novareel.jobs.submitting``) holds the window between the ledger row and the
  recorded ARN open for a few seconds (before StartAsyncInvoke and again after the
  service accepted), so the test waits for the ``Submitting`` row and kills inside
  the window every time: before the send, or after the service accepted.

Every kill's phase is asserted from the ledger the killed process left behind:
targeted and window kills where they were aimed, random ones in a known phase.

The test runs on both ledger backends (the ``backend`` fixture, tests/conftest.py):
the SQLite file in its ``NOVAREEL_HOME``, and a fresh PostgreSQL ledger of the
session's throwaway server (tests/pg.py), which ``NOVAREEL_LEDGER_URL`` names for
every process it starts. A process killed on PostgreSQL dies holding a connection
(and, in the window, a committed row but no ARN): the server ends its session, and
the next run must resume from the row as it does from the file.

The emulator lives in the test process, so the jobs it accepted survive each kill as
they would on the real service. Chains of distinct requests run a few at a time to
keep each run (one per backend) around two minutes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from novareel.ledger import JobRecord, Ledger

pytestmark = pytest.mark.slow

V11 = "amazon.nova-reel-v1:1"
SEED = 20261127
#: Emulator speed for this test: a 6 s job takes two to three seconds plus polling, so a
#: command's life (start-up ~1 s, submit, wait, download) spans a few seconds.
SPEED = 30.0
#: Random kills land uniformly in [0, KILL_WINDOW] seconds after the start.
KILL_WINDOW = 5.0
RANDOM_GENERATE_CHAINS = 7
RANDOM_KILLS_PER_CHAIN = 3
BATCH_ITEMS = 5
BATCH_RANDOM_KILLS = 4
TARGETS = ("after-intent", "after-submit", "after-download")
MIN_KILL_POINTS = 30
#: Kills inside the submit window (row written, ARN not yet recorded), one per chain
#: (issue 20: at least 5 on each backend).
WINDOW_KILLS = 6
#: Seconds each hold keeps the window open (twice per submit: before the send, after
#: the service accepted); a window kill lands HOLD * 0.25 (before the send) or
#: HOLD * 1.3 (after the send began) after the row appeared.
HOLD = 2.0
PHASE_NAMES = {"start-up", "submit", "wait", "download", "after"}


@dataclass
class Chain:
    """One command (one distinct request, or one batch file) and its kill plan."""

    name: str
    command: list[str]
    random_kills: int = 0
    target: str | None = None
    window_offset: float | None = None
    seed: int = SEED
    window: float = KILL_WINDOW
    kills: int = 0
    final: subprocess.CompletedProcess[str] | None = None


def _kill_after(command: list[str], env: dict[str, str], delay: float) -> tuple[bool, float]:
    """Start the command, SIGKILL it after ``delay`` s: (killed, seconds it ran)."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        return True, time.monotonic() - started
    return process.returncode == -signal.SIGKILL, time.monotonic() - started


def _run_chain(chain: Chain, env: dict[str, str], db: Path | str) -> Chain:
    """The chain's targeted kill, then random kills until ``random_kills`` landed, then
    one run to completion. A run that finished before its kill shrinks the window to
    its own length (the rerun of a finished job is shorter), so kills keep landing
    however fast the machine is; each chain's delays come from its own seed."""
    if chain.target is not None:
        chain.kills += _targeted_kill(chain, env)
        _check_left_behind(db, chain)
    if chain.window_offset is not None:
        chain.kills += _window_kill(chain, env, db)
    rng = random.Random(chain.seed)
    window = chain.window
    landed = 0
    for _ in range(chain.random_kills * 4):
        if landed == chain.random_kills:
            break
        killed, ran = _kill_after(chain.command, env, rng.uniform(0, window))
        landed += killed
        if killed and "generate" in chain.command:
            PHASES[_phase(db, chain)] = PHASES.get(_phase(db, chain), 0) + 1
        if not killed:
            window = ran * 0.9
    chain.kills += landed
    chain.final = subprocess.run(
        chain.command, env=env, capture_output=True, text=True, timeout=120
    )
    return chain


def test_sigkill_generate_and_batch_anywhere_then_rerun_pays_once(
    emulator: Any, tmp_path: Path, isolated_home: Path, backend: str, target: Path | str
) -> None:
    # One run per backend: the phases counted are this run's.
    PHASES.clear()
    WINDOW_PHASES.clear()
    emulator.configure(speed=SPEED, render="fast", quotas={V11: 30})
    out = tmp_path / "videos"
    env = {
        **os.environ,
        "NOVAREEL_HOME": str(isolated_home),
        "NOVAREEL_EMULATOR_URL": emulator.url,
    }
    env.pop("NOVAREEL_TEST_KILL_AT", None)
    env.pop("NOVAREEL_TEST_HOLD_SUBMIT", None)
    base = [sys.executable, "-m", "novareel"]

    def generate(prompt: str) -> list[str]:
        return [*base, "generate", prompt, "--local", "--out", str(out), "--json"]

    chains: list[Chain] = []
    for point in TARGETS:
        chains.append(Chain(point, generate(f"A glass lighthouse, killed {point}"), 0, point))
    for i in range(RANDOM_GENERATE_CHAINS):
        prompt = f"A paper kite number {i}"
        chains.append(Chain(f"random-{i}", generate(prompt), RANDOM_KILLS_PER_CHAIN, seed=SEED + i))
    for i in range(WINDOW_KILLS):
        offset = HOLD * (0.25 if i % 2 == 0 else 1.3)
        prompt = f"A brass compass number {i}, killed mid-submit"
        chains.append(Chain(f"window-{i}", generate(prompt), 0, window_offset=offset))
    batch_file = tmp_path / "five.yaml"
    batch_file.write_text(
        "".join(
            f"- id: shot-{i}\n  prompt: A lantern number {i} rising, static shot\n"
            for i in range(1, BATCH_ITEMS + 1)
        ),
        encoding="utf-8",
    )
    batch_command = [*base, "batch", str(batch_file), "--local", "--out", str(out), "--json"]
    # The batch: killed right after its first ledger row, right after its first
    # accepted submit (each then resumed by the next run), then at random moments.
    batch = Chain("batch", batch_command, BATCH_RANDOM_KILLS, window=KILL_WINDOW + 2)
    batch_targets = [Chain(f"batch-{t}", batch_command, 0, t) for t in TARGETS[:2]]

    db = target  # the file in isolated_home, or the PostgreSQL URL every process gets

    def batch_sequence() -> list[Chain]:
        for chain in batch_targets:
            chain.kills += _targeted_kill(chain, env)
        return [*batch_targets, _run_chain(batch, env, db)]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        batch_future = pool.submit(batch_sequence)
        finished = list(pool.map(lambda c: _run_chain(c, env, db), chains))
        batch_done = batch_future.result()
    elapsed = time.monotonic() - started
    print(f"{backend}: {len(chains) + 1} commands, kills and reruns in {elapsed:.1f} s; {PHASES=}")

    kill_points = sum(c.kills for c in finished) + sum(c.kills for c in batch_done)
    assert kill_points >= MIN_KILL_POINTS, f"only {kill_points} kills landed"
    # Where the kills landed, from the ledger each killed process left behind.
    assert set(PHASES) <= PHASE_NAMES, PHASES
    assert len(WINDOW_PHASES) == WINDOW_KILLS
    assert all(phase == "submit" for phase in WINDOW_PHASES), WINDOW_PHASES
    assert PHASES.get("submit", 0) >= 5, PHASES  # window kills count as "submit"

    # Every command, run again, finished: each generate with its video on disk.
    final_arns: set[str] = set()
    for chain in finished:
        assert chain.final is not None and chain.final.returncode == 0, (
            chain.name,
            chain.final.stderr[-2000:] if chain.final else None,
        )
        result = json.loads(chain.final.stdout)
        assert result["status"] == "Completed", chain.name
        videos = [f for f in result["local_files"] if f.endswith("output.mp4")]
        assert videos and Path(videos[0]).stat().st_size > 0, chain.name
        final_arns.add(result["invocation_arn"])
    assert len(final_arns) == len(chains), "two commands ended on the same job"
    assert batch.final is not None
    assert batch.final.returncode == 0, batch.final.stderr[-2000:]
    summary = json.loads(batch.final.stdout)
    assert (summary["done"], summary["failed"]) == (BATCH_ITEMS, 0)
    with Ledger(db) as ledger:
        for i in range(1, BATCH_ITEMS + 1):
            latest = ledger.latest_attempt(summary["batch_id"], f"shot-{i}")
            assert latest is not None and latest.status == "Completed"
            assert latest.attempt == 1, "a kill made the batch retry an item"
            assert latest.invocation_arn is not None
            final_arns.add(latest.invocation_arn)

    # Counted on the emulator's side: one paid job per distinct request, none lost.
    distinct = len(chains) + BATCH_ITEMS
    service_jobs = emulator.jobs()
    assert emulator.stats()["acceptedSubmissions"] == distinct
    assert len(service_jobs) == distinct
    assert {job["invocationArn"] for job in service_jobs} == final_arns
    assert all(job["status"] == "Completed" for job in service_jobs)
    # Every job's video is on disk, in a folder named after the job.
    on_disk = {p.parent.name.rsplit("-", 1)[-1] for p in out.glob("*/output.mp4")}
    assert {arn.rsplit("/", 1)[-1] for arn in final_arns} <= on_disk


def _targeted_kill(chain: Chain, env: dict[str, str]) -> int:
    """Run the command with a named kill point; 1 (a kill point) once it killed itself."""
    assert chain.target is not None
    process = subprocess.run(
        chain.command,
        env={**env, "NOVAREEL_TEST_KILL_AT": chain.target},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == -signal.SIGKILL, (chain.target, process.stderr[-1500:])
    return 1


#: Where the kills of `generate` landed, as the ledger saw it (asserted).
PHASES: dict[str, int] = {}
#: The phase each submit-window kill landed in (all must be "submit").
WINDOW_PHASES: list[str] = []


def _window_kill(chain: Chain, env: dict[str, str], db: Path | str) -> int:
    """Start the command with the submit window held open, wait until its
    ``Submitting`` row exists, kill it ``window_offset`` seconds later (inside the
    window by construction), and assert the ledger it left: the row, no ARN."""
    assert chain.window_offset is not None
    process = subprocess.Popen(
        chain.command,
        env={**env, "NOVAREEL_TEST_HOLD_SUBMIT": str(HOLD)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while not _rows(db, chain):
            assert process.poll() is None, (chain.name, "ended before writing its row")
            assert time.monotonic() < deadline, (chain.name, "no row after 90 s")
            time.sleep(0.05)
        time.sleep(chain.window_offset)
        assert process.poll() is None, (chain.name, "left the window before the kill")
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, chain.name
    phase = _phase(db, chain)
    WINDOW_PHASES.append(phase)
    PHASES[phase] = PHASES.get(phase, 0) + 1
    rows = _rows(db, chain)
    assert len(rows) == 1 and rows[0].status == "Submitting", (chain.name, rows)
    assert rows[0].invocation_arn is None, chain.name
    return 1


def _rows(db: Path | str, chain: Chain) -> list[JobRecord]:
    prompt = chain.command[chain.command.index("generate") + 1]
    if isinstance(db, Path) and not db.exists():  # not created yet (a URL always is)
        return []
    with Ledger(db) as ledger:
        return [j for j in ledger.list_jobs() if prompt in json.dumps(j.request)]


def _phase(db: Path | str, chain: Chain) -> str:
    """Start-up (no row), submit (Submitting), wait (InProgress) or download
    (Completed, files not yet recorded), or after (rerun of a finished job)."""
    rows = _rows(db, chain)
    if not rows:
        return "start-up"
    row = rows[-1]
    if row.status == "Completed":
        return "after" if row.local_files else "download"
    return {"Submitting": "submit", "InProgress": "wait"}.get(row.status, row.status)


def _check_left_behind(db: Path | str, chain: Chain) -> None:
    """The targeted kill hit the moment it names: the row its command left behind."""
    rows = _rows(db, chain)
    assert len(rows) == 1, (chain.name, rows)
    row = rows[0]
    if chain.target in ("after-intent", "after-submit"):
        # Recorded, no answer stored: only its own token may be sent again.
        assert row.status == "Submitting" and row.invocation_arn is None, chain.name
    else:  # after-download: files on disk, not yet listed in the ledger
        assert row.status == "Completed" and not row.local_files, chain.name
