"""Benchmark 4: start-up time of the command line against bare Python + boto3.

Run: ``.venv/bin/python bench/bench_startup.py [--quick] [--runs N]``

Each command runs ``--runs`` times (default 15; the commands are interleaved so a
burst of load hits all of them alike) and the table shows the median and the minimum
wall time of the whole process:

* ``python -c pass`` (the floor), ``python -c "import boto3"``;
* ``novareel --help``;
* ``novareel status 1 --endpoint-url URL`` against an emulator subprocess (ledger in a
  temporary ``NOVAREEL_HOME``, job created beforehand with ``novareel generate --no-wait``);
* a bare boto3 script: create a ``bedrock-runtime`` client, one ``get_async_invoke``,
  print the status.

Then (``--submit-rounds``, default 5; 0 skips it) the time from starting processes to
their first StartAsyncInvoke, read from the emulator's side (each job's ``submitTime``,
ms, the same clock): ``novareel batch FILE --local --no-download --json`` (a one-item
file) and ``novareel generate PROMPT --local --no-wait --json``, run as
``python -m novareel``, one process alone and four started at once (one shared
``NOVAREEL_HOME``, a fresh one per run, the emulator reset before each run so every
run makes the ``novareel-local`` bucket, as in benchmark 12; ``NOVAREEL_QUOTA=10`` and
the emulator's quota at 10, ``--render fast``, no submit rate limit: the time measured is
start-up, never a wait for a slot).
``--before SRC`` adds the same runs of another source tree (``PYTHONPATH=SRC``), e.g.
the code before a change: ``git worktree add /tmp/old-startup 21bb2a0`` then
``--before /tmp/old-startup/src``; the two trees' runs alternate inside each round,
their order turning each round, and each run starts once the last one's jobs ended.
The CPU column is the processes' own CPU (user + system) for the whole command, per
process.

Bytecode: this shared tree runs with ``PYTHONDONTWRITEBYTECODE=1`` and novareel is
installed editable, so its modules would be compiled on every start, which an installed
package never does. Every command therefore runs with ``PYTHONPYCACHEPREFIX`` pointing
at a temporary folder (after one warm-up run), the same for every command; ``--no-pyc``
measures the uncached case instead. ``hyperfine`` (optional) gives the same numbers:
``hyperfine -w 2 '.venv/bin/novareel --help'``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DUMMY_ENV,
    PYTHON,
    ROOT,
    EmulatorProcess,
    boto_kwargs,
    header,
    loadavg,
    median,
    table,
)

NOVAREEL = str(Path(PYTHON).parent / "novareel")
BUCKET = "bench-startup"

BARE_BOTO3 = """
import sys, boto3
client = boto3.client("bedrock-runtime", endpoint_url=sys.argv[1], region_name="us-east-1")
print(client.get_async_invoke(invocationArn=sys.argv[2])["status"])
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - t0


def _first_submit_command(kind: str, workdir: Path, n: int) -> list[str]:
    """The ``n``-th process's command: its own one-item batch file, or its own prompt."""
    prompt = f"A paper boat number {n} drifting on a pond"
    if kind == "batch":
        path = workdir / f"batch-{n}.yaml"
        path.write_text(f"- id: boat{n}\n  prompt: {prompt}\n", encoding="utf-8")
        return [PYTHON, "-m", "novareel", "batch", str(path), "--local", "--no-download", "--json"]
    return [PYTHON, "-m", "novareel", "generate", prompt, "--local", "--no-wait", "--json"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _first_submits(
    emu: EmulatorProcess, env: dict[str, str], kind: str, processes: int, tmp: Path
) -> dict[str, Any]:
    """Start ``processes`` commands at once; each one's first submit after the start (s),
    from the emulator's ``submitTime``s, and the CPU per process."""
    import boto3

    emu.control("reset", {})
    # room for every process's job (the emulator's own quota is 3, as AWS's), and no
    # video rendered in the emulator's process while the others start
    emu.control("config", {"quotas": {"amazon.nova-reel-v1:1": 10}, "render": "fast"})
    run_dir = Path(tempfile.mkdtemp(dir=tmp))
    # a quota with room for every process: the shared quota's leases are taken as usual,
    # and no --no-wait generate is refused for a slot still leased by another
    env = {**env, "NOVAREEL_HOME": str(run_dir / "home"), "NOVAREEL_QUOTA": "10"}
    commands = [_first_submit_command(kind, run_dir, n) for n in range(processes)]
    cpu = _children_cpu()
    started = time.time()
    procs = [
        subprocess.Popen(c, env=env, cwd=run_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for c in commands
    ]
    for p in procs:
        out, _ = p.communicate(timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"{kind} exited {p.returncode}: {out.decode()[-1500:]}")
    cpu = (_children_cpu() - cpu) / processes
    runtime = boto3.client("bedrock-runtime", **boto_kwargs(emu.url))
    jobs = runtime.list_async_invokes(maxResults=100)["asyncInvokeSummaries"]
    if len(jobs) != processes:
        raise RuntimeError(f"{len(jobs)} jobs submitted by {processes} {kind} processes")
    submitted = sorted(
        datetime.fromisoformat(str(j["submitTime"]).replace("Z", "+00:00")).timestamp()
        if isinstance(j["submitTime"], str)
        else j["submitTime"].timestamp()
        for j in jobs
    )
    after = [t - started for t in submitted]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(  # the jobs end before the next run starts
        j["status"] == "InProgress"
        for j in runtime.list_async_invokes(maxResults=100)["asyncInvokeSummaries"]
    ):
        time.sleep(0.1)
    return {"mean": sum(after) / len(after), "last": after[-1], "cpu": cpu}


def first_submit_table(
    emu: EmulatorProcess, env: dict[str, str], rounds: int, before: str | None, tmp: Path
) -> str:
    """Benchmark 4b: process start to the first StartAsyncInvoke, 1 and 4 processes."""
    trees = {"after (this tree)": str(ROOT / "src")}
    if before:
        trees = {f"before ({before})": before, **trees}
    kinds = ("batch", "generate")
    counts = (1, 4)
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for kind in kinds:  # warm-up: bytecode of both trees, the emulator's first jobs
        for src in trees.values():
            _first_submits(emu, {**env, "PYTHONPATH": src}, kind, 1, tmp)
    for turn in range(rounds):
        for kind in kinds:
            for processes in counts:
                # the order of the trees turns each round: neither always runs second
                order = list(trees.items())
                for name, src in order if turn % 2 == 0 else order[::-1]:
                    key = (kind, name, processes)
                    run = _first_submits(emu, {**env, "PYTHONPATH": src}, kind, processes, tmp)
                    results.setdefault(key, []).append(run)
    rows = []
    for (kind, name, processes), runs in results.items():
        rows.append(
            (
                f"`{kind}`",
                name,
                processes,
                f"{median([r['mean'] for r in runs]):.3f} s",
                f"{median([r['last'] for r in runs]):.3f} s",
                f"{median([r['cpu'] for r in runs]):.3f} s",
            )
        )
    return (
        f"\n### Start to first submit ({rounds} rounds, medians; load average now "
        f"{loadavg()})\n\n"
        + table(
            [
                "command",
                "code",
                "processes at once",
                "start to first submit (mean of processes)",
                "slowest process",
                "CPU per process",
            ],
            rows,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 runs per command")
    parser.add_argument("--runs", type=int, default=None, help="runs per command (default 15)")
    parser.add_argument("--no-pyc", action="store_true", help="no bytecode cache at all")
    parser.add_argument(
        "--submit-rounds", type=int, default=5, help="rounds of the first-submit runs (0: none)"
    )
    parser.add_argument(
        "--before", metavar="SRC", help="also time this source tree (PYTHONPATH) to first submit"
    )
    parser.add_argument(
        "--first-submit-only", action="store_true", help="skip the whole-command table"
    )
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 15)

    print(header("Benchmark 4: start-up"))
    print(
        f"- {runs} runs per command, interleaved; wall time of the whole process; "
        + ("no bytecode cache" if args.no_pyc else "bytecode cached under PYTHONPYCACHEPREFIX")
        + "\n"
    )
    with (
        EmulatorProcess(speed=500, extra=("--submit-rate", "0")) as emu,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NOVAREEL_"))}
        env.update(DUMMY_ENV)
        env["NOVAREEL_HOME"] = str(Path(tmp) / "home")
        env["NOVAREEL_EMULATOR_URL"] = emu.url  # --local finds it (never the default port)
        if args.no_pyc:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        if not args.first_submit_only:
            print(whole_command_table(emu, env, runs))
        if args.submit_rounds > 0:
            print(first_submit_table(emu, env, args.submit_rounds, args.before, Path(tmp)))


def whole_command_table(emu: EmulatorProcess, env: dict[str, str], runs: int) -> str:
    """Wall time of whole commands against bare Python and boto3 (the goals of bench 4)."""
    import boto3

    boto3.client("s3", **boto_kwargs(emu.url)).create_bucket(Bucket=BUCKET)
    made = subprocess.run(
        [
            NOVAREEL,
            "generate",
            "A red kite over green hills",
            "--no-wait",
            "--json",
            "--output-uri",
            f"s3://{BUCKET}/jobs/",
            "--endpoint-url",
            emu.url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    job = json.loads(made.stdout)
    ledger_id = str(job.get("ledger_id") or 1)
    arn = job["invocation_arn"]
    commands = {
        "`python -c pass`": [PYTHON, "-c", "pass"],
        '`python -c "import boto3"`': [PYTHON, "-c", "import boto3"],
        "`novareel --help`": [NOVAREEL, "--help"],
        "bare boto3 get_async_invoke script": [PYTHON, "-c", BARE_BOTO3, emu.url, arn],
        f"`novareel status {ledger_id}`": [
            NOVAREEL,
            "status",
            ledger_id,
            "--endpoint-url",
            emu.url,
        ],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # warm-up: caches, bytecode
        timed(cmd, env)
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd, env))

    med = {name: median(values) for name, values in times.items()}
    status_name = f"`novareel status {ledger_id}`"
    ratio = med[status_name] / med["bare boto3 get_async_invoke script"]
    goals = {
        "`novareel --help`": ("< 0.3 s", "met" if med["`novareel --help`"] < 0.3 else "not met"),
        status_name: (
            "<= 1.3x bare boto3",
            f"{ratio:.2f}x: " + ("met" if ratio <= 1.3 else "not met"),
        ),
    }
    rows = [
        (name, f"{med[name]:.3f} s", f"{min(times[name]):.3f} s", *goals.get(name, ("", "")))
        for name in commands
    ]
    return table(["command", "median", "min", "goal", "measured vs goal"], rows)


if __name__ == "__main__":
    main()
