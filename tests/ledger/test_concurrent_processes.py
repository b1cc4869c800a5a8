"""Many real ``novareel`` processes on one ledger, counted on the emulator's side.

Issue 20 measured what one-process tests cannot see: two identical ``generate``
commands started together both paid in half the pairs, and two batches at once spent
$2.40 of a $2.00 budget. These tests start N real processes together (``python -m
novareel ... --local`` against one shared emulator on a free port, one
``NOVAREEL_HOME``) and count what the *service* accepted (``GET /_emulator/stats``),
a few rounds each (``bench/bench_concurrency.py`` runs the full 10):

* N identical ``generate --no-wait``: exactly one job accepted per round; every
  process ends on that one job (attached or the one that paid).
* N one-item batches (distinct prompts) under ``NOVAREEL_BUDGET_DAILY_USD=2.00`` with
  ``NOVAREEL_BUDGET_COUNT_LOCAL=1`` (local jobs count at their AWS price): the
  accepted cost never goes above the budget, and the budget is used (not refused
  wholesale).

Both rest on :meth:`novareel.ledger.Ledger.reserve`: the lookup, the budget check and
the new row are one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import batch_command, process_env, run_together

from novareel.ledger import Ledger
from novareel.ledger.backend import LEDGER_URL_ENV

pytestmark = pytest.mark.slow

V11 = "amazon.nova-reel-v1:1"
#: What one 6 s Nova Reel clip is estimated at, and the budget of the issue.
CLIP_USD = 0.48
BUDGET_USD = 2.00
IDENTICAL_PROCESSES = 8
BATCH_PROCESSES = 8
ROUNDS = 2


def _run_together(commands: list[list[str]], env: dict[str, str]) -> list[tuple[int, str, str]]:
    """Start every command at once with one environment; (exit code, stdout, stderr)."""
    return run_together([(command, env) for command in commands], timeout=120)


@pytest.fixture
def shared_emulator(emulator: Any) -> Any:
    # A quota and a submit rate that never refuse: only the ledger may stop a job.
    emulator.configure(quotas={V11: 200}, submit_rate=0, render="fast")
    return emulator


def _fresh_ledger(backend: str, new_target: Callable[[], Any]) -> dict[str, str]:
    """The environment naming a fresh ledger for one round: on SQLite the round's new
    NOVAREEL_HOME is one; on PostgreSQL a new schema, migrated before the race (so the
    race is the submit's, not the schema's)."""
    if backend != "postgres":
        return {}
    url = str(new_target())
    Ledger(url).close()
    return {LEDGER_URL_ENV: url}


def test_identical_generates_started_together_pay_once_per_round(
    shared_emulator: Any, tmp_path: Path, backend: str, new_target: Callable[[], Any]
) -> None:
    for round_no in range(ROUNDS):
        shared_emulator.reset()
        shared_emulator.configure(quotas={V11: 200}, submit_rate=0, render="fast")
        home = tmp_path / f"home-{round_no}"
        ledger_env = _fresh_ledger(backend, new_target)
        command = [
            sys.executable,
            "-m",
            "novareel",
            "generate",
            f"A glass lighthouse at dusk, round {round_no}",
            "--local",
            "--no-wait",
            "--json",
        ]
        results = _run_together(
            [command] * IDENTICAL_PROCESSES, process_env(home, shared_emulator.url, **ledger_env)
        )
        for code, _out, err in results:
            assert code == 0, err[-2000:]
        arns = {json.loads(out)["invocation_arn"] for _code, out, _err in results}
        stats = shared_emulator.stats()
        assert stats["acceptedSubmissions"] == 1, (round_no, stats)
        assert len(arns) == 1, (round_no, arns)


def test_concurrent_batches_never_spend_over_the_daily_budget(
    shared_emulator: Any, tmp_path: Path, backend: str, new_target: Callable[[], Any]
) -> None:
    fits = int(BUDGET_USD // CLIP_USD)  # 4 clips ($1.92); a 5th would make $2.40
    for round_no in range(ROUNDS):
        shared_emulator.reset()
        shared_emulator.configure(quotas={V11: 200}, submit_rate=0, render="fast")
        home = tmp_path / f"home-{round_no}"
        commands = []
        for b in range(BATCH_PROCESSES):
            batch_file = tmp_path / f"round-{round_no}-batch-{b}.yaml"
            batch_file.write_text(
                f"- id: item-0\n  prompt: Lantern {b} rising, round {round_no}\n",
                encoding="utf-8",
            )
            commands.append(batch_command(batch_file, 2))
        env = process_env(
            home,
            shared_emulator.url,
            NOVAREEL_BUDGET_DAILY_USD=f"{BUDGET_USD:.2f}",
            NOVAREEL_BUDGET_COUNT_LOCAL="1",
            **_fresh_ledger(backend, new_target),
        )
        results = _run_together(commands, env)
        stopped = 0
        for code, out, err in results:
            # 0: all its items done; 2: the budget stopped it (nothing else may fail).
            assert code in (0, 2), err[-2000:]
            summary = json.loads(out)
            stopped += summary["budget_stop"] is not None
        accepted = shared_emulator.stats()["acceptedSubmissions"]
        assert accepted * CLIP_USD <= BUDGET_USD + 1e-9, (round_no, accepted)
        # The budget is used, not refused wholesale: every clip that fits was sent.
        assert accepted == fits, (round_no, accepted)
        assert stopped >= BATCH_PROCESSES - fits, (round_no, stopped)
