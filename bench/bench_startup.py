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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DUMMY_ENV, PYTHON, ROOT, EmulatorProcess, boto_kwargs, header, median, table

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 runs per command")
    parser.add_argument("--runs", type=int, default=None, help="runs per command (default 15)")
    parser.add_argument("--no-pyc", action="store_true", help="no bytecode cache at all")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 15)

    print(header("Benchmark 4: start-up"))
    print(
        f"- {runs} runs per command, interleaved; wall time of the whole process; "
        + ("no bytecode cache" if args.no_pyc else "bytecode cached under PYTHONPYCACHEPREFIX")
        + "\n"
    )
    import boto3

    with EmulatorProcess(speed=500) as emu, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NOVAREEL_"))}
        env.update(DUMMY_ENV)
        env["NOVAREEL_HOME"] = str(Path(tmp) / "home")
        if args.no_pyc:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
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
    print(table(["command", "median", "min", "goal", "measured vs goal"], rows))


if __name__ == "__main__":
    main()
