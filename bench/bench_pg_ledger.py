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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="400,2000")
    parser.add_argument("--ledger-only", type=int, default=0, metavar="N")
    args = parser.parse_args()
    cluster = start_cluster()
    try:
        database = cluster.create_database()
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
