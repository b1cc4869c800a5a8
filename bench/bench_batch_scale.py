"""Benchmark ``novareel batch`` at scale: 100 to 10,000 items, piped and in a terminal.

Run: ``.venv/bin/python bench/bench_batch_scale.py [--quick] [--sizes 100,400,2000,10000]
[--modes piped,pty]``. Prints Markdown tables; asserts nothing. Goals from issue 14:
the client CPU each added job costs stays flat from 400 to 10,000 items (within 15 %),
and a batch in a terminal takes at most 1.3x the same batch piped.

Each run gets a fresh ``novareel emulator`` subprocess (``--render fast --speed 2000
--submit-rate 0``, the Nova Reel quota set to 50 through ``/_emulator/config``) and a
fresh ``NOVAREEL_HOME`` (its own ledger). The client is the real command,
``python -m novareel batch FILE --local --no-download --max-concurrent 50`` on a JSONL
file of N distinct TEXT_VIDEO items (6 s, 1280x720), with ``NOVAREEL_EMULATOR_URL``
pointing at that emulator. ``--no-download``: 10,000 downloads would write 13 GB and
measure the video check (another benchmark's subject), not the runner and its view.

* **piped**: stdout and stderr are pipes read to the end (what a log file sees).
* **pty**: stdout, stderr and stdin are a pseudo-terminal (``os.openpty``) of 120x40
  (``COLUMNS``/``LINES`` and the window size both set), read to the end by a thread:
  Rich sees a terminal and shows the live view.

A one-item batch (its own ledger) runs first on each emulator, so the fast renderer's
single encode per shape and the output bucket's creation are not in the measurement.

Measured: wall time (start of the client to its exit), client CPU (user + system, from
``os.wait4``'s resource usage of the child), peak RSS of the client (``ru_maxrss``) and
of the emulator (``VmHWM`` in ``/proc/<pid>/status`` at the end), ledger bytes per job
(the ledger files' size / N), the emulator's calls per job (``/_emulator/stats``
totalRequests / N, and per operation), and the bytes the client wrote. "CPU per added
job" is the difference in client CPU between two sizes over the difference in items,
which cancels the fixed start-up cost (imports, the file's checks). With ``--repeat R``
each size runs R times per output (piped and pty alternating) and the derived tables
use medians: on a shared machine the wall time of one run is noisy, the CPU much less.
"""

from __future__ import annotations

import argparse
import fcntl
import itertools
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DUMMY_ENV, PYTHON, EmulatorProcess, header, table

MODEL = "amazon.nova-reel-v1:1"
SPEED = 2000.0
QUOTA = 50
COLUMNS, LINES = 120, 40


class Emulator(EmulatorProcess):
    """``novareel emulator`` in a subprocess (fast render, no submit rate limit, the
    model's quota set), with its own peak memory and CPU time read from /proc."""

    def __init__(self) -> None:
        super().__init__(
            SPEED,
            ["--render", "fast", "--submit-rate", "0"],
            launcher=("-m", "novareel", "emulator"),
            start_timeout=60.0,
        )
        self.control("config", {"quotas": {MODEL: QUOTA}})

    def peak_mb(self) -> float:
        peak = self.proc_status().get("VmHWM")
        return int(peak.split()[0]) / 1024 if peak else float("nan")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_batch(folder: Path, n: int) -> Path:
    path = folder / f"batch-{n}.jsonl"
    lines = [json.dumps({"defaults": {"model_id": MODEL, "duration": 6}})]
    lines += [
        json.dumps({"id": f"c{i}", "prompt": f"A paper boat number {i} on a pond, static shot"})
        for i in range(1, n + 1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _drain(fd: int, counter: list[int]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's other side closed
            return
        if not chunk:
            return
        counter[0] += len(chunk)


def run_client(batch: Path, home: Path, url: str, mode: str, timeout: float) -> dict[str, Any]:
    env = {**os.environ, **DUMMY_ENV, "NOVAREEL_HOME": str(home), "NOVAREEL_EMULATOR_URL": url}
    # the account's quota (shared through the ledger) as the emulator's, not 3
    env["NOVAREEL_QUOTA"] = str(QUOTA)
    env.pop("NO_COLOR", None)
    args = [PYTHON, "-m", "novareel", "batch", str(batch), "--local", "--no-download"]
    args += ["--max-concurrent", str(QUOTA)]
    written = [0]
    if mode == "pty":
        env.update(COLUMNS=str(COLUMNS), LINES=str(LINES), TERM="xterm-256color")
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        started = time.monotonic()
        proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=home, close_fds=True
        )
        os.close(slave)
        readers = [threading.Thread(target=_drain, args=(master, written), daemon=True)]
    else:
        env.update(COLUMNS=str(COLUMNS))
        started = time.monotonic()
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=home,
        )
        assert proc.stdout is not None and proc.stderr is not None
        readers = [
            threading.Thread(target=_drain, args=(stream.fileno(), written), daemon=True)
            for stream in (proc.stdout, proc.stderr)
        ]
    for reader in readers:
        reader.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(5)
    if mode == "pty":
        os.close(master)
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "exit": proc.returncode,
        "written": written[0],
    }


def ledger_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in home.rglob("*") if p.is_file() and "ledger" in p.name)


def one(n: int, mode: str, folder: Path, timeout: float) -> dict[str, Any]:
    batch = write_batch(folder, n)
    home = Path(tempfile.mkdtemp(prefix=f"home-{n}-{mode}-", dir=folder))
    emulator = Emulator()
    try:
        # Warm-up: the fast renderer's one encode per shape, and the output bucket,
        # happen here (one item, its own ledger), not in the measured run.
        warm = Path(tempfile.mkdtemp(prefix="warm-", dir=folder))
        warm_up = run_client(write_batch(warm, 1), warm, emulator.url, "piped", timeout)
        if warm_up["exit"] != 0:
            raise RuntimeError(f"the warm-up batch failed: {warm_up}")
        before = emulator.control("stats")
        cpu_before = emulator.cpu_s()
        result = run_client(batch, home, emulator.url, mode, timeout)
        after = emulator.control("stats")
        result.update(
            emulator_mb=emulator.peak_mb(),
            emulator_cpu_s=emulator.cpu_s() - cpu_before,
            calls=after["totalRequests"] - before["totalRequests"],
            by_op={
                op: count - before["requests"].get(op, 0) for op, count in after["requests"].items()
            },
            accepted=after["acceptedSubmissions"] - before["acceptedSubmissions"],
            ledger=ledger_bytes(home),
        )
    finally:
        emulator.stop()
    result.update(n=n, mode=mode)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 400 items only")
    parser.add_argument("--sizes", default="100,400,2000,10000")
    parser.add_argument("--modes", default="piped,pty")
    parser.add_argument("--timeout", type=float, default=600.0, help="per client run, s")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each size and output (medians used)"
    )
    args = parser.parse_args()
    sizes = [100, 400] if args.quick else [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    print(header("novareel batch at scale"))
    print(
        f"- emulator: `novareel emulator --render fast --speed {SPEED:g} --submit-rate 0`, "
        f"quota {QUOTA} ({MODEL}); client: `novareel batch FILE --local --no-download "
        f"--max-concurrent {QUOTA}`; pty {COLUMNS}x{LINES}\n"
    )
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-scale-") as tmp:
        # piped and pty alternate, so a burst of load from elsewhere hits both alike
        for n, _, mode in itertools.product(sizes, range(args.repeat), modes):
            r = one(n, mode, Path(tmp), args.timeout)
            results.append(r)
            print(
                f"  {n} {mode}: {r['wall_s']:.1f} s, cpu {r['cpu_s']:.1f} s, "
                f"exit {r['exit']}, accepted {r['accepted']}",
                file=sys.stderr,
                flush=True,
            )
    rows = []
    for r in results:
        n = r["n"]
        ops = r["by_op"]
        rows.append(
            [
                f"{n:,}",
                r["mode"],
                r["exit"],
                f"{r['wall_s']:.1f}",
                f"{r['cpu_s']:.1f}",
                f"{r['cpu_s'] / n * 1000:.1f}",
                f"{r['rss_mb']:.0f}",
                f"{r['emulator_mb']:.0f}",
                f"{r['emulator_cpu_s']:.1f}",
                f"{r['ledger'] / n / 1024:.2f}",
                f"{r['calls'] / n:.2f}",
                " ".join(
                    f"{op.replace('AsyncInvoke', '')}={c / n:.2f}"
                    for op, c in sorted(ops.items())
                    if c and "AsyncInvoke" in op
                ),
                f"{r['written'] / 1024:,.1f}",
            ]
        )
    print(
        table(
            [
                "items",
                "output",
                "exit",
                "wall s",
                "client CPU s",
                "CPU ms/job",
                "client peak RSS MB",
                "emulator peak RSS MB",
                "emulator CPU s",
                "ledger KB/job",
                "emulator calls/job",
                "of which Bedrock /job",
                "client output KB",
            ],
            rows,
        )
    )
    print()

    def med(n: int, mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results if r["n"] == n and r["mode"] == mode)

    marginal = []
    for mode in modes:
        for a, b in itertools.pairwise(sizes):
            per = (med(b, mode, "cpu_s") - med(a, mode, "cpu_s")) / (b - a) * 1000
            marginal.append([mode, f"{a:,} → {b:,}", f"{per:.2f}"])
    print(table(["output", "items", "client CPU ms per added job"], marginal))
    print()
    ratios = []
    for n in sizes if {"piped", "pty"} <= set(modes) else []:
        ratios.append(
            [
                f"{n:,}",
                f"{med(n, 'pty', 'wall_s') / med(n, 'piped', 'wall_s'):.2f}",
                f"{med(n, 'pty', 'cpu_s') / med(n, 'piped', 'cpu_s'):.2f}",
            ]
        )
    if ratios:
        print(table(["items", "terminal / piped wall", "terminal / piped client CPU"], ratios))


if __name__ == "__main__":
    main()
