"""Single ``generate`` commands share the account's quota with every process on the
ledger, as batches do (issue 20, item 4: "``generate`` and MCP take no quota lease").

With ``NOVAREEL_QUOTA=1`` and an emulator that would take 100 jobs at once, two
``novareel generate`` commands started together (distinct prompts, each waiting for
its job) must never have more than one job in progress on the service
(``maxInFlight`` in ``/_emulator/stats``), and both must complete: the second waits
for a slot, says so, and goes when the first job has ended. Before, a single
``generate`` took no lease and both jobs ran at once (``maxInFlight`` 2).

The jobs run about seven seconds each (emulator speed 12), long enough that two
processes started together overlap unless one waits for the other.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import batch_command, round_env, run_together

from novareel.ledger import Ledger
from novareel.ledger.backend import LEDGER_URL_ENV

pytestmark = pytest.mark.slow

V11 = "amazon.nova-reel-v1:1"
SLOT = f"{V11}@us-east-1"
ROUNDS = 2


def test_two_generates_with_a_quota_of_one_run_one_after_the_other(
    emulator: Any, tmp_path: Path, backend: str, new_target: Callable[[], Any]
) -> None:
    for round_no in range(ROUNDS):
        emulator.reset()
        emulator.configure(quotas={V11: 100}, submit_rate=0, render="fast", speed=12)
        home = tmp_path / f"home-{round_no}"
        env = round_env(emulator.url, home, backend, new_target, NOVAREEL_QUOTA="1")
        runs = [
            (
                [
                    sys.executable,
                    "-m",
                    "novareel",
                    "generate",
                    f"A paper boat {p} on a pond, round {round_no}",
                    "--model-id",
                    V11,
                    "--local",
                    "--no-download",
                    "--json",
                ],
                env,
            )
            for p in range(2)
        ]
        outputs = []
        for code, out, err in run_together(runs, timeout=180):
            assert code == 0, err[-2000:]
            outputs.append((json.loads(out), err))
        assert [job["status"] for job, _err in outputs] == ["Completed", "Completed"]
        stats = emulator.stats()
        assert stats["acceptedSubmissions"] == 2, (round_no, stats)
        assert stats["maxInFlight"].get(SLOT) == 1, (round_no, stats)
        # The one that waited said why (the quota, shared with the other process).
        said = [" ".join(job.get("notices", [])) + err for job, err in outputs]
        assert sum("concurrency quota" in text for text in said) == 1, said
        # Both slots were given back when the jobs ended.
        with Ledger(env.get(LEDGER_URL_ENV) or home / "ledger.db") as led:
            assert led.leases_in_use(endpoint=emulator.url, model_id=V11, region="us-east-1") == 0


def test_a_no_wait_jobs_slot_stays_taken_until_a_batch_sees_it_end(
    emulator: Any, tmp_path: Path, backend: str, new_target: Callable[[], Any]
) -> None:
    """``generate --no-wait`` ends while its job runs; its lease is handed over, not
    left to expire, so it keeps its slot. A ``batch`` started next with a quota of one
    must wait for that job (never two in flight on the service) and must not wait for
    the hand-over's hours-long bound either: the batch looks at the handed-over
    lease's job, sees it end, frees the slot and runs its items one after the other."""
    emulator.configure(quotas={V11: 100}, submit_rate=0, render="fast", speed=12)
    home = tmp_path / "home"
    env = round_env(emulator.url, home, backend, new_target, NOVAREEL_QUOTA="1")
    generate = [sys.executable, "-m", "novareel", "generate", "A kite over dunes",
                "--model-id", V11, "--local", "--no-wait", "--json"]  # fmt: skip
    [(code, out, err)] = run_together([(generate, env)], timeout=120)
    assert code == 0, err[-2000:]
    assert json.loads(out)["status"] == "InProgress"
    with Ledger(env.get(LEDGER_URL_ENV) or home / "ledger.db") as led:
        # The command has ended; its job's slot is still counted, by nobody's process.
        assert led.lease_items(endpoint=emulator.url, model_id=V11, region="us-east-1",
                               unwatched_only=True)  # fmt: skip
    batch = tmp_path / "two.yaml"
    batch.write_text(
        "".join(f"- id: item-{i}\n  prompt: lantern {i} over a lake\n" for i in range(2)),
        encoding="utf-8",
    )
    [(code, _out, err)] = run_together([(batch_command(batch, 3), env)], timeout=150)
    assert code == 0, err[-2000:]
    stats = emulator.stats()
    assert stats["acceptedSubmissions"] == 3, stats
    assert stats["maxInFlight"].get(SLOT) == 1, stats
    with Ledger(env.get(LEDGER_URL_ENV) or home / "ledger.db") as led:
        assert led.leases_in_use(endpoint=emulator.url, model_id=V11, region="us-east-1") == 0
        assert led.get("1").status == "Completed"  # seen to end by the batch's look
