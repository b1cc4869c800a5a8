"""Four ``novareel batch`` processes sharing one account's quota of 3, on each backend.

Issue 20's done-when: 4 processes x batches against a quota of 3: quota/throttle
rejections <= 1 % of submits; makespan within 1.1x of one process running all the
items. Measured on the emulator's side (``GET /_emulator/stats``: StartAsyncInvoke
calls, ThrottlingException / ServiceQuotaExceededException answers, ``maxInFlight``).

One emulator process on a free port (never 5899): ``--render fast``, its default
submit rate (5 per second, burst 5), the Nova Reel 1.1 quota set to 3 (beyond it:
ThrottlingException, what AWS answers). Per round and backend, three runs of the real
command (``python -m novareel batch FILE --local --no-download --max-concurrent 3
--json``), each on a fresh ledger (SQLite: a new ``NOVAREEL_HOME``; PostgreSQL: a new
database of a throwaway cluster, as the tests start it) and a reset emulator:

* **1 process**: one batch file of all ``--items`` items;
* **4 shared**: four processes at once, each with its own file of items/4 items,
  sharing the quota through the ledger's leases (the default);
* **4 alone**: the same four with ``NOVAREEL_QUOTA=off`` (each process learns the
  quota alone from throttling answers: the behaviour before leases), for contrast.

Makespan is the wall time from starting the processes to the last one's exit
(process start-up included), after one warm-up batch; the order of the three runs
turns each round. Run from the repository root::

    .venv/bin/python bench/bench_quota.py                      # 24 items, 2 rounds
    .venv/bin/python bench/bench_quota.py --backends sqlite --rounds 1

Asserts nothing; prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import DUMMY_ENV, EmulatorProcess, header, table
from tests.helpers import batch_command, run_together  # the tests' batch processes

V11 = "amazon.nova-reel-v1:1"
SLOT = f"{V11}@us-east-1"
QUOTA = 3
PROCESSES = 4
QUOTA_ERRORS = ("ThrottlingException", "ServiceQuotaExceededException")


def _reset(emulator: EmulatorProcess) -> None:
    emulator.control("reset", {})
    emulator.control("config", {"quotas": {V11: QUOTA}, "render": "fast"})


def _env(home: Path, url: str, ledger: str | None, **extra: str) -> dict[str, str]:
    env = {**os.environ, **DUMMY_ENV, "NOVAREEL_HOME": str(home), "NOVAREEL_EMULATOR_URL": url}
    for name in ("NOVAREEL_TEST_KILL_AT", "NOVAREEL_TEST_HOLD_SUBMIT", "NOVAREEL_LEDGER_URL"):
        env.pop(name, None)
    env.pop("NOVAREEL_QUOTA", None)
    if ledger is not None:
        env["NOVAREEL_LEDGER_URL"] = ledger
    env.update(extra)
    return env


def _batch(path: Path, name: str, items: int) -> Path:
    path.write_text(
        "".join(f"- id: i{i}\n  prompt: {name} paper boat {i} on a pond\n" for i in range(items)),
        encoding="utf-8",
    )
    return path


def _run(emulator: EmulatorProcess, files: list[Path], env: dict[str, str]) -> dict[str, Any]:
    _reset(emulator)
    started = time.monotonic()
    ended = run_together([(batch_command(f, QUOTA), env) for f in files], timeout=1800)
    done = 0
    codes = []
    for code, out, err in ended:
        codes.append(code)
        try:
            done += int(json.loads(out)["done"])
        except (ValueError, KeyError):
            print(err[-2000:], file=sys.stderr)
    makespan = time.monotonic() - started
    stats = emulator.control("stats")
    return {
        "makespan": makespan,
        "codes": codes,
        "done": done,
        "submits": int(stats["requests"].get("StartAsyncInvoke", 0)),
        "rejections": sum(int(stats["rejections"].get(c, 0)) for c in QUOTA_ERRORS),
        "accepted": int(stats["acceptedSubmissions"]),
        "max_in_flight": int(stats.get("maxInFlight", {}).get(SLOT, 0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    cluster = None
    if "postgres" in backends:
        from tests.pg import start_cluster

        cluster = start_cluster()
    print(header("Four batch processes sharing one account's quota of 3"))
    print(
        f"- {args.items} items (6 s TEXT_VIDEO, Nova Reel 1.1), emulator speed {args.speed:g}"
        f", quota {QUOTA} (ThrottlingException beyond it), its default submit rate;"
        f" {args.rounds} round(s) per backend\n"
    )
    rows: list[list[Any]] = []
    summary: list[list[Any]] = []
    try:
        with (
            EmulatorProcess(speed=args.speed, extra=["--render", "fast"]) as emulator,
            tempfile.TemporaryDirectory(prefix="bench-quota-") as tmp,
        ):
            work = Path(tmp)
            per = args.items // PROCESSES
            # Warm-up: the fast renderer's one encode per shape and the output bucket
            # are made once, not inside the first measured run.
            warm = work / "warm-up"
            warm.mkdir()
            _run(emulator, [_batch(warm / "w.yaml", "warm", 1)], _env(warm, emulator.url, None))
            for backend in backends:
                results: dict[str, list[dict[str, Any]]] = {"1": [], "shared": [], "alone": []}
                for r in range(args.rounds):
                    # the order turns each round, so a load spike does not always hit one
                    order = ("1", "shared", "alone")[r % 3 :] + ("1", "shared", "alone")[: r % 3]
                    for mode in order:
                        ledger = None
                        if cluster is not None and backend == "postgres":
                            from novareel.ledger import Ledger

                            ledger = cluster.url(cluster.create_database())
                            Ledger(ledger).close()  # migrated before the race
                        home = work / f"{backend}-{r}-{mode}"
                        home.mkdir()
                        if mode == "1":
                            files = [_batch(home / "all.yaml", f"r{r} all", per * PROCESSES)]
                        else:
                            files = [
                                _batch(home / f"b{n}.yaml", f"r{r} b{n}", per)
                                for n in range(PROCESSES)
                            ]
                        extra = {"NOVAREEL_QUOTA": "off"} if mode == "alone" else {}
                        result = _run(emulator, files, _env(home, emulator.url, ledger, **extra))
                        results[mode].append(result)
                        label = {"1": "1 process", "shared": "4 shared", "alone": "4 alone"}[mode]
                        rows.append(
                            [
                                backend,
                                r + 1,
                                label,
                                f"{result['done']}/{per * PROCESSES}",
                                result["submits"],
                                result["rejections"],
                                f"{100 * result['rejections'] / max(result['submits'], 1):.1f} %",
                                result["max_in_flight"],
                                f"{result['makespan']:.1f}",
                            ]
                        )
                one = statistics.median(x["makespan"] for x in results["1"])
                for mode in ("shared", "alone"):
                    runs = results[mode]
                    submits = sum(x["submits"] for x in runs)
                    rejected = sum(x["rejections"] for x in runs)
                    span = statistics.median(x["makespan"] for x in runs)
                    summary.append(
                        [
                            backend,
                            "4 shared (leases)" if mode == "shared" else "4 alone (quota off)",
                            f"{rejected}/{submits} = {100 * rejected / max(submits, 1):.1f} %",
                            max(x["max_in_flight"] for x in runs),
                            f"{span:.1f} s / {one:.1f} s = {span / one:.2f}x",
                        ]
                    )
    finally:
        if cluster is not None:
            cluster.stop()
    print(
        table(
            [
                "backend",
                "round",
                "run",
                "items done",
                "submits",
                "quota/throttle rejections",
                "share",
                "max in flight",
                "makespan s",
            ],
            rows,
        )
    )
    print()
    print(
        table(
            [
                "backend",
                "4 processes",
                "rejections / submits",
                "max in flight",
                "makespan (median) vs 1 process",
            ],
            summary,
        )
    )


if __name__ == "__main__":
    main()
