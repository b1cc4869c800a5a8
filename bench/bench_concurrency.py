"""Many novareel processes at once on one ledger: paid once, never over budget.

Issue 20's done-when, measured on the emulator's side (``GET /_emulator/stats``), one
fresh ``NOVAREEL_HOME`` and a fresh ledger (``--backend sqlite``: the home's file;
``--backend postgres``: a new schema of a throwaway PostgreSQL cluster, started as the
tests start it, ``tests/pg.py``, and named by ``NOVAREEL_LEDGER_URL``) and a reset
emulator per round:

1. ``--identical`` processes run the same ``generate --local --no-wait`` together, for
   ``--rounds`` rounds: jobs the emulator accepted per round (must be 1).
2. ``--batches`` processes each run their own two-item batch file (distinct prompts)
   together under ``NOVAREEL_BUDGET_DAILY_USD=2.00`` with
   ``NOVAREEL_BUDGET_COUNT_LOCAL=1`` (local jobs count at their AWS price, $0.48 per
   6 s clip), for ``--rounds`` rounds: the accepted cost per round (must stay at or
   under $2.00; $1.92 = 4 clips uses the budget).
3. PostgreSQL only, "two machines": two ``NOVAREEL_HOME``s on one PostgreSQL ledger
   run the same ``--machine-items`` batch file together (each item must be accepted
   once), then one identical ``generate --no-wait`` each, together (one job), for
   ``--rounds`` rounds.

Run from the repository root::

    .venv/bin/python bench/bench_concurrency.py --backend both   # 16 x 10, 8 x 10, machines x 10
    .venv/bin/python bench/bench_concurrency.py --rounds 2       # a quick look (SQLite)

The emulator runs in its own process on a free port (never 5899).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import DUMMY_ENV, PYTHON, ROOT, EmulatorProcess, header, table

sys.path.insert(0, str(ROOT))
from tests.pg import Cluster, start_cluster  # the tests' throwaway cluster

V11 = "amazon.nova-reel-v1:1"
CLIP_USD = 0.48
BUDGET_USD = 2.00


def _reset(emulator: EmulatorProcess) -> None:
    emulator.control("reset", {})
    emulator.control("config", {"quotas": {V11: 500}, "submit_rate": 0, "render": "fast"})


class Ledgers:
    """A fresh ledger per round on one backend: ``fresh()`` is the ``NOVAREEL_LEDGER_URL``
    of a new PostgreSQL schema, or None (SQLite: the round's new home holds a new file).
    Nothing is migrated beforehand: the first processes of a round race to create it,
    on both backends."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.cluster: Cluster | None = None
        self.database = ""
        if backend == "postgres":
            self.cluster = start_cluster()
            self.database = self.cluster.create_database()

    @property
    def label(self) -> str:
        return "PostgreSQL" if self.cluster else "SQLite"

    def fresh(self) -> str | None:
        if self.cluster is None:
            return None
        return self.cluster.new_ledger(self.database)[1]

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()


def _env(home: Path, url: str, ledger_url: str | None, **extra: str) -> dict[str, str]:
    env = {**os.environ, **DUMMY_ENV, "NOVAREEL_HOME": str(home), "NOVAREEL_EMULATOR_URL": url}
    env.update(extra)
    for name in ("NOVAREEL_TEST_KILL_AT", "NOVAREEL_TEST_HOLD_SUBMIT", "NOVAREEL_LEDGER_URL"):
        env.pop(name, None)
    if ledger_url is not None:
        env["NOVAREEL_LEDGER_URL"] = ledger_url
    return env


def _together(
    commands: list[list[str]], env: dict[str, str] | list[dict[str, str]]
) -> tuple[list[int], float, list[str]]:
    """Start every command at once (one env for all, or one each): exit codes, wall
    seconds, and the stdout of each."""
    envs = env if isinstance(env, list) else [env] * len(commands)
    started = time.monotonic()
    procs = [
        subprocess.Popen(c, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c, e in zip(commands, envs, strict=True)
    ]
    codes, outs = [], []
    for p in procs:
        out, err = p.communicate(timeout=600)
        codes.append(p.returncode)
        outs.append(out)
        if p.returncode not in (0, 2):
            print(f"exit {p.returncode}: {err[-800:]}", file=sys.stderr)
    return codes, time.monotonic() - started, outs


def identical(
    emulator: EmulatorProcess, ledgers: Ledgers, work: Path, n: int, rounds: int
) -> list[list[Any]]:
    rows = []
    for r in range(rounds):
        _reset(emulator)
        command = [
            PYTHON,
            "-m",
            "novareel",
            "generate",
            f"A glass lighthouse at dusk, bench round {r}",
            "--local",
            "--no-wait",
            "--json",
        ]
        env = _env(work / f"id-{r}", emulator.url, ledgers.fresh())
        codes, took, _ = _together([command] * n, env)
        stats = emulator.control("stats")
        rows.append(
            [
                r + 1,
                n,
                sum(c == 0 for c in codes),
                stats["acceptedSubmissions"],
                stats.get("idempotentReplays", 0),
                f"{took:.1f}",
            ]
        )
        print(f"identical round {r + 1}: {rows[-1]}", file=sys.stderr)
    return rows


def batches(
    emulator: EmulatorProcess, ledgers: Ledgers, work: Path, n: int, rounds: int
) -> list[list[Any]]:
    rows = []
    for r in range(rounds):
        _reset(emulator)
        commands = []
        for b in range(n):
            path = work / f"b-{r}-{b}.yaml"
            path.write_text(
                "".join(
                    f"- id: item-{i}\n  prompt: Lantern {b}-{i}, bench round {r}\n" for i in (0, 1)
                ),
                encoding="utf-8",
            )
            commands.append(
                [PYTHON, "-m", "novareel", "batch", str(path), "--local", "--no-download", "--json"]
            )
        env = _env(
            work / f"budget-{r}",
            emulator.url,
            ledgers.fresh(),
            NOVAREEL_BUDGET_DAILY_USD=f"{BUDGET_USD:.2f}",
            NOVAREEL_BUDGET_COUNT_LOCAL="1",
        )
        codes, took, _ = _together(commands, env)
        accepted = emulator.control("stats")["acceptedSubmissions"]
        cost = accepted * CLIP_USD
        rows.append(
            [
                r + 1,
                n,
                2 * n,
                accepted,
                f"${cost:.2f}",
                "yes" if cost <= BUDGET_USD + 1e-9 else "**NO**",
                sum(c == 2 for c in codes),
                f"{took:.1f}",
            ]
        )
        print(f"budget round {r + 1}: {rows[-1]}", file=sys.stderr)
    return rows


def _prompts_accepted(emulator: EmulatorProcess) -> Counter[str]:
    """How many jobs the emulator accepted per prompt (its own job list and details)."""
    seen: Counter[str] = Counter()
    for job in emulator.control("jobs")["jobs"]:
        job_id = job["invocationArn"].rsplit("/", 1)[-1]
        detail = emulator.control(f"jobs/{job_id}")
        seen[detail["modelInput"]["textToVideoParams"]["text"]] += 1
    return seen


def machines(
    emulator: EmulatorProcess, ledgers: Ledgers, work: Path, items: int, rounds: int
) -> list[list[Any]]:
    """Two homes ("machines") on one PostgreSQL ledger: the same batch file from both,
    together, then an identical ``generate --no-wait`` from each, together."""
    rows = []
    for r in range(rounds):
        _reset(emulator)
        ledger_url = ledgers.fresh()
        homes = [work / f"machine-{r}-a", work / f"machine-{r}-b"]
        envs = [_env(home, emulator.url, ledger_url) for home in homes]
        path = work / f"shared-{r}.yaml"
        prompts = [f"A weather vane number {i}, both machines, round {r}" for i in range(items)]
        path.write_text(
            "".join(f"- id: item-{i}\n  prompt: {p}\n" for i, p in enumerate(prompts)),
            encoding="utf-8",
        )
        batch = [PYTHON, "-m", "novareel", "batch", str(path), "--local", "--no-download"]
        codes, took, outs = _together([[*batch, "--json"]] * 2, envs)
        per_prompt = _prompts_accepted(emulator)
        batch_accepted = emulator.control("stats")["acceptedSubmissions"]
        done = [json.loads(out)["done"] if out.strip() else None for out in outs]
        once = all(per_prompt[p] == 1 for p in prompts) and len(per_prompt) == items
        generate = [
            PYTHON,
            "-m",
            "novareel",
            "generate",
            f"A kite both machines ask for, round {r}",
            "--local",
            "--no-wait",
            "--json",
        ]
        gen_codes, gen_took, gen_outs = _together([generate] * 2, envs)
        gen_accepted = emulator.control("stats")["acceptedSubmissions"] - batch_accepted
        arns = {json.loads(out)["invocation_arn"] for out in gen_outs if out.strip()}
        rows.append(
            [
                r + 1,
                items,
                batch_accepted,
                "yes" if once else "**NO**",
                " / ".join(str(d) for d in done),
                " / ".join(str(c) for c in codes),
                f"{took:.1f}",
                gen_accepted,
                len(arns),
                " / ".join(str(c) for c in gen_codes),
                f"{gen_took:.1f}",
            ]
        )
        print(f"machines round {r + 1}: {rows[-1]}", file=sys.stderr)
    return rows


def _report(
    label: str, args: argparse.Namespace, same: list[list[Any]], spent: list[list[Any]]
) -> tuple[bool, bool]:
    print(f"### {label}: {args.identical} identical `generate` commands started together\n")
    print(
        table(
            ["round", "processes", "exit 0", "jobs accepted", "token replays", "wall s"],
            same,
        )
    )
    ones = sum(row[3] == 1 for row in same)
    print(f"\nRounds with exactly one job accepted: {ones} of {len(same)}.\n")
    print(
        f"### {label}: {args.batches} batches (2 distinct items each) at once under a "
        f"${BUDGET_USD:.2f} daily budget, ${CLIP_USD:.2f} a clip\n"
    )
    print(
        table(
            [
                "round",
                "batches",
                "items",
                "jobs accepted",
                "accepted cost",
                f"≤ ${BUDGET_USD:.2f}",
                "stopped by budget",
                "wall s",
            ],
            spent,
        )
    )
    over = sum(row[5] != "yes" for row in spent)
    print(f"\nRounds over the budget: {over} of {len(spent)}.\n")
    return ones == len(same), over == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--identical", type=int, default=16)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--machine-items", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {}
    print(header("Concurrent processes on one ledger (" + ", ".join(backends) + ")"))
    emulator = EmulatorProcess(speed=500.0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
            for backend in backends:
                ledgers = Ledgers(backend)
                try:
                    work = Path(tmp) / backend
                    work.mkdir()
                    same = identical(emulator, ledgers, work, args.identical, args.rounds)
                    spent = batches(emulator, ledgers, work, args.batches, args.rounds)
                    paid_once, in_budget = _report(ledgers.label, args, same, spent)
                    results[f"{backend}_identical_ok"] = paid_once
                    results[f"{backend}_budget_ok"] = in_budget
                    if backend == "postgres":
                        two = machines(emulator, ledgers, work, args.machine_items, args.rounds)
                        _report_machines(args, two)
                        results["machines_ok"] = all(
                            row[3] == "yes" and row[7] == 1 and row[8] == 1 for row in two
                        )
                finally:
                    ledgers.close()
                sys.stdout.flush()
    finally:
        emulator.stop()
    print(json.dumps(results), file=sys.stderr)
    return 0 if all(results.values()) else 1


def _report_machines(args: argparse.Namespace, two: list[list[Any]]) -> None:
    print(
        f"### PostgreSQL, two machines (two `NOVAREEL_HOME`s, one ledger): the same "
        f"{args.machine_items}-item batch file from both at once, then one identical "
        "`generate --no-wait` from each at once\n"
    )
    print(
        table(
            [
                "round",
                "items",
                "batch: jobs accepted",
                "each item once",
                "done (a / b)",
                "exit (a / b)",
                "wall s",
                "generate: jobs accepted",
                "distinct ARNs",
                "exit (a / b)",
                "wall s",
            ],
            two,
        )
    )
    good = sum(row[3] == "yes" and row[7] == 1 for row in two)
    print(f"\nRounds with each item accepted once and one generate job: {good} of {len(two)}.\n")


if __name__ == "__main__":
    raise SystemExit(main())
