"""Client CPU per job of ``novareel batch`` with the ledger on SQLite and on PostgreSQL.

Run: ``.venv/bin/python bench/bench_pg_ledger.py [--sizes 400,2000]``. Starts a
throwaway PostgreSQL cluster (Debian's ``postgresql``, as the tests do:
``tests/pg.py``), then runs ``bench/bench_batch_scale.py --modes piped`` twice, once
on the SQLite file and once with ``NOVAREEL_LEDGER_URL`` naming a fresh database of
that cluster, and prints both reports. Issue 20's goal: client CPU per job on
PostgreSQL within 1.5x of SQLite's for a 2,000-item batch. The server's own CPU is
not the client's (it runs on the same machine here, so it does slow the wall time).
Asserts nothing.

``--ledger-only N`` instead runs what a batch item costs the ledger alone, in this
process, N times on each backend (``reserve`` with the identical-request lookup,
``mark_submitted``, ``record_status(Completed)``, ``get``): the CPU per job and the
statements per job (counted with the connection's trace callback), so the part of
the gap that is the ledger's can be told from the rest of the batch.

``--count N`` runs the real command on an N-item batch once per backend under
``bench/count_statements.py`` (a trace callback on every ledger connection the
command opens) and prints the ledger statements per job, in total and by statement.
A separate run, so the counting's own CPU is never in the CPU measure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.pg import start_cluster  # noqa: E402  (the tests' throwaway cluster)


def ledger_only(target: Path | str, jobs: int) -> tuple[float, float]:
    """(client CPU ms per job, statements per job) of ``jobs`` batch-like jobs."""
    from novareel.ledger import Ledger

    statements = [0]
    since = datetime(2020, 1, 1, tzinfo=timezone.utc)
    with Ledger(target) as ledger:
        ledger.conn.set_trace_callback(lambda _sql: statements.__setitem__(0, statements[0] + 1))
        started = time.process_time()
        for i in range(jobs):
            job = ledger.reserve(
                client_token=f"token-{i}",
                model_id="amazon.nova-reel-v1:1",
                task_type="TEXT_VIDEO",
                request={"prompt": f"A paper boat number {i}"},
                output_uri="s3://bucket/out/",
                duration_seconds=6,
                seed=1,
                estimated_cost_usd=0.48,
                fingerprint=f"fingerprint-{i}",
                identical_since=since,
            ).record
            ledger.mark_submitted(
                job.id,
                invocation_arn=f"arn:aws:bedrock:us-east-1:123456789012:async-invoke/j{i}",
                submit_time=datetime.now(timezone.utc),
            )
            ledger.record_status(job.id, "Completed", end_time=datetime.now(timezone.utc))
            ledger.get(job.id)
        spent = time.process_time() - started
    return spent / jobs * 1000, statements[0] / jobs


def count_batch(n: int, ledger_url: str | None) -> dict[str, object]:
    """The ledger statements of one real ``novareel batch`` of ``n`` items (the
    command of benchmark 8, piped), counted by ``bench/count_statements.py``."""
    import json

    from _common import DUMMY_ENV
    from bench_batch_scale import QUOTA, Emulator, write_batch

    with tempfile.TemporaryDirectory(prefix="bench-pg-count-") as tmp:
        folder = Path(tmp)
        batch = write_batch(folder, n)
        out = folder / "counts.json"
        emulator = Emulator()
        try:
            env = {
                **os.environ,
                **DUMMY_ENV,
                "NOVAREEL_HOME": str(folder / "home"),
                "NOVAREEL_EMULATOR_URL": emulator.url,
                "NOVAREEL_QUOTA": str(QUOTA),
            }
            env.pop("NOVAREEL_LEDGER_URL", None)
            if ledger_url is not None:
                env["NOVAREEL_LEDGER_URL"] = ledger_url
            command = [sys.executable, str(ROOT / "bench" / "count_statements.py"), str(out)]
            command += ["--", "batch", str(batch), "--local", "--no-download"]
            command += ["--max-concurrent", str(QUOTA), "--json"]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"the counted batch failed: {done.stderr[-2000:]}")
            return dict(json.loads(out.read_text(encoding="utf-8")))
        finally:
            emulator.stop()


def print_counts(n: int, counts: dict[str, dict[str, object]]) -> None:
    """Statements per job on each backend, then by statement (the top ones)."""
    print("| ledger | items | statements | statements/job |\n|---|---|---|---|")
    for label, data in counts.items():
        total = int(str(data["total"]))
        print(f"| {label} | {n} | {total} | {total / n:.1f} |")
    print("\n| statement | " + " | ".join(f"{k} /job" for k in counts) + " |")
    print("|---|" + "---|" * len(counts))
    by = [dict(d["by_statement"]) for d in counts.values()]  # type: ignore[call-overload]
    keys = sorted({k for b in by for k in b}, key=lambda k: -sum(b.get(k, 0) for b in by))
    for key in keys:
        shown = key if len(key) <= 110 else key[:107] + "..."
        cells = " | ".join(f"{b.get(key, 0) / n:.2f}" for b in by)
        print(f"| `{shown}` | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="400,2000")
    parser.add_argument("--ledger-only", type=int, default=0, metavar="N")
    parser.add_argument("--count", type=int, default=0, metavar="N")
    args = parser.parse_args()
    cluster = start_cluster()
    try:
        database = cluster.create_database()
        if args.count:
            counts = {
                "SQLite": count_batch(args.count, None),
                "PostgreSQL": count_batch(args.count, cluster.url(database)),
            }
            print_counts(args.count, counts)
            return
        if args.ledger_only:
            with tempfile.TemporaryDirectory(prefix="bench-pg-ledger-") as tmp:
                sqlite_cpu, sqlite_n = ledger_only(Path(tmp) / "ledger.db", args.ledger_only)
            pg_cpu, pg_n = ledger_only(cluster.new_ledger(database)[1], args.ledger_only)
            print("| ledger | jobs | CPU ms/job | statements/job |\n|---|---|---|---|")
            print(f"| SQLite | {args.ledger_only} | {sqlite_cpu:.2f} | {sqlite_n:.1f} |")
            print(f"| PostgreSQL | {args.ledger_only} | {pg_cpu:.2f} | {pg_n:.1f} |")
            print(f"\nPostgreSQL / SQLite CPU: {pg_cpu / sqlite_cpu:.2f} x")
            return
        for label, extra in (
            ("SQLite", {}),
            ("PostgreSQL", {"NOVAREEL_LEDGER_URL": cluster.url(database)}),
        ):
            print(f"# ledger on {label}\n", flush=True)
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench" / "bench_batch_scale.py"),
                    "--sizes",
                    args.sizes,
                    "--modes",
                    "piped",
                ],
                env={**os.environ, **extra},
                check=False,
            )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
