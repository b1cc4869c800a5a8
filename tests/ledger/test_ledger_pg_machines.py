"""Two "machines" (two NOVAREEL_HOMEs, separate processes) sharing one PostgreSQL
ledger and one emulator: each sees the other's jobs, and an identical request pays
once, counted on the emulator's side (its accepted submissions).

Why processes and homes: that is what a team is (two laptops, a CI runner) minus
the network; nothing is shared between the two commands but the database URL and
the service. The emulator is the session's one, on a free port, reached through
``NOVAREEL_EMULATOR_URL`` (``--local`` finds it instead of starting its own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from novareel.ledger import Ledger

pytestmark = pytest.mark.slow
ROUNDS = 5


def _env(home: Path, pg_url: str, emulator: Any) -> dict[str, str]:
    return {
        **os.environ,
        "NOVAREEL_HOME": str(home),
        "NOVAREEL_LEDGER_URL": pg_url,
        "NOVAREEL_EMULATOR_URL": emulator.url,
    }


def _generate(prompt: str, home: Path, env: dict[str, str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "novareel",
        "generate",
        prompt,
        "--local",
        "--no-wait",
        "--out",
        str(home / "videos"),
        "--json",
    ]


def _accepted(emulator: Any) -> int:
    return int(emulator.stats()["acceptedSubmissions"])


def test_a_job_from_one_machine_is_seen_and_attached_to_on_the_other(
    emulator: Any, pg_url: str, tmp_path: Path
) -> None:
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    env_a, env_b = _env(a, pg_url, emulator), _env(b, pg_url, emulator)
    prompt = "A lighthouse two machines share"
    first = subprocess.run(
        _generate(prompt, a, env_a), env=env_a, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "novareel", "jobs", "list", "--json"],
        env=env_b,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    assert [j["client_token"] for j in jobs] == [json.loads(first.stdout)["client_token"]]
    assert jobs[0]["origin"].endswith(f":{a}")  # recorded by machine a, seen from b
    shown = subprocess.run(
        [sys.executable, "-m", "novareel", "jobs", "show", str(jobs[0]["id"])],
        env={**env_b, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "recorded by" in shown.stdout and str(a) in shown.stdout
    again = subprocess.run(
        _generate(prompt, b, env_b), env=env_b, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["invocation_arn"] == json.loads(first.stdout)["invocation_arn"]
    assert _accepted(emulator) == 1
    assert not (a / "ledger.db").exists() and not (b / "ledger.db").exists()


def test_identical_generates_started_together_on_two_machines_pay_once(
    emulator: Any, pg_url: str, tmp_path: Path
) -> None:
    Ledger(pg_url).close()  # migrated once, so the race is the submit's, not the schema's
    # --no-wait leaves each round's job running: room for all of them under the quota
    emulator.configure(render="fast", quotas={"amazon.nova-reel-v1:1": 30})
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    env_a, env_b = _env(a, pg_url, emulator), _env(b, pg_url, emulator)
    for round_ in range(ROUNDS):
        before = _accepted(emulator)
        prompt = f"A kite both machines ask for, round {round_}"
        procs = [
            subprocess.Popen(
                _generate(prompt, home, env),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for home, env in ((a, env_a), (b, env_b))
        ]
        outputs = [proc.communicate(timeout=120) for proc in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        arns = {json.loads(out)["invocation_arn"] for out, _ in outputs}
        assert _accepted(emulator) - before == 1, f"round {round_}: both paid"
        assert len(arns) == 1
