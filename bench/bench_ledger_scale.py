"""Benchmark: ``novareel jobs --limit 1000000`` (text and ``--json``) over large ledgers.

Run: ``.venv/bin/python bench/bench_ledger_scale.py [--sizes 1000,10000,100000]
[--baseline REF]``

A temporary ledger is filled to each size in turn (1,000, then 10,000, then 100,000
jobs), in batches through the ledger's own write transaction (``Ledger.write_batch``)
with SQL inserts: rows like real ones (a prompt of ~90 characters, a third never
submitted, a quarter run on an emulator, a tag each, a file on every other). At each
size ``novareel jobs --limit 1000000`` and the same with ``--json`` run as
subprocesses, stdout to /dev/null; wall time and peak RSS are measured per process
(``os.wait4`` returns the child's own ``ru_maxrss``: ``RUSAGE_CHILDREN`` would give the
maximum over every child so far). ``--baseline REF`` also runs the code of git ref
REF (e.g. the commit before streaming), exported with ``git archive``, on the same
ledgers, so before and after share the machine, data and moment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, ROOT, header, table

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
PROMPT = "A slow dolly shot through a foggy pine forest at dawn, light rays, birds, take {i}"


def fill(home: Path, start: int, stop: int) -> None:
    """Add jobs ``start`` .. ``stop - 1`` to the ledger in ``home`` (10,000 per commit)."""
    sys.path.insert(0, str(ROOT / "src"))
    from novareel.ledger import Ledger

    with Ledger(home / "ledger.db") as ledger:
        for low in range(start, stop, 10_000):
            rows = []
            for i in range(low, min(low + 10_000, stop)):
                iso = (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                sent = i % 3 != 0
                request = {
                    "taskType": "TEXT_VIDEO",
                    "textToVideoParams": {"text": PROMPT.format(i=i)},
                    "videoGenerationConfig": {
                        "durationSeconds": 6,
                        "fps": 24,
                        "dimension": "1280x720",
                        "seed": i,
                    },
                }
                rows.append(
                    (
                        f"bench-{i}",
                        f"arn:aws:bedrock:us-east-1:123456789012:async-invoke/{i:012d}"
                        if sent
                        else None,
                        f"{i:012d}" if sent else None,
                        "Completed" if sent else "Submitting",
                        json.dumps(request, sort_keys=True),
                        iso,
                        iso if sent else None,
                        "http://127.0.0.1:8000" if i % 4 == 0 else None,
                        f"s3://bench-bucket/videos/{i}/",
                    )
                )
            with ledger.write_batch() as batch:
                db = batch.conn
                first = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM jobs").fetchone()[0])
                db.executemany(
                    "INSERT INTO jobs (client_token, invocation_arn, invocation_id, model_id,"
                    " task_type, status, request_json, created_at, submit_time, endpoint,"
                    " output_uri, updated_at, duration_seconds, seed, estimated_cost_usd)"
                    " VALUES (?, ?, ?, 'amazon.nova-reel-v1:1', 'TEXT_VIDEO', ?, ?, ?, ?, ?, ?,"
                    " ?6, 6, 42, 0.48)",
                    rows,
                )
                db.execute(
                    "INSERT INTO job_tags SELECT id, 'project', 'bench' FROM jobs WHERE id > ?",
                    (first,),
                )
                db.execute(
                    "INSERT INTO job_files (job_id, path, added_at)"
                    " SELECT id, 'videos/' || COALESCE(invocation_id, id) || '/output.mp4',"
                    " created_at"
                    " FROM jobs WHERE id > ? AND id % 2 = 0",
                    (first,),
                )


def measure(src: Path, home: Path, args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one ``novareel jobs ...`` process."""
    env = {**os.environ, "NOVAREEL_HOME": str(home), "PYTHONPATH": str(src), "COLUMNS": "80"}
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(
            [PYTHON, "-m", "novareel", "jobs", *args], stdout=sink, stderr=subprocess.PIPE, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"novareel jobs {' '.join(args)} failed ({proc.returncode})")
    return wall, usage.ru_maxrss / 1024


def baseline_tree(ref: str, where: Path) -> Path:
    """The ``src`` folder of git ref ``ref``, exported (``git archive``) into ``where``:
    read-only for the repository, unlike a worktree."""
    where.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated")
    parser.add_argument("--baseline", metavar="REF", help="also run git ref REF's code")
    opts = parser.parse_args()
    title = header("Ledger commands at 100,000 rows")  # the load average at the start
    sizes = sorted(int(s) for s in opts.sizes.split(","))
    variants: list[tuple[str, Path]] = []
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="novareel-ledger-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        if opts.baseline:
            variants.append(
                (f"before ({opts.baseline})", baseline_tree(opts.baseline, Path(tmp) / "base"))
            )
        variants.append(("after (this tree)", ROOT / "src"))
        filled = 0
        for size in sizes:
            started = time.perf_counter()
            fill(home, filled, size)
            filled = size
            fill_s = time.perf_counter() - started
            db_bytes = (home / "ledger.db").stat().st_size
            print(
                f"filled {size:,} jobs in {fill_s:.1f} s ({db_bytes / size:.0f} bytes/job)",
                file=sys.stderr,
            )
            for name, src in variants:
                for label, extra in (("text", []), ("--json", ["--json"])):
                    wall, rss = measure(src, home, ["--limit", "1000000", *extra])
                    print(f"  {name} {label}: {wall:.2f} s, {rss:.0f} MB", file=sys.stderr)
                    rows.append(
                        [
                            f"{size:,}",
                            name,
                            label,
                            f"{wall:.2f}",
                            f"{wall / size * 1e6:.0f}",
                            f"{rss:.0f}",
                        ]
                    )
    print(title)
    print(
        table(
            ["jobs in ledger", "code", "output", "wall s", "µs per job", "peak RSS MB"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
