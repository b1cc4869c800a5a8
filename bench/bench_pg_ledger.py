"""Client CPU per job of ``novareel batch`` with the ledger on SQLite and on PostgreSQL.

Run: ``.venv/bin/python bench/bench_pg_ledger.py [--sizes 400,2000]``. Starts a
throwaway PostgreSQL cluster (Debian's ``postgresql``, as the tests do:
``tests/pg.py``), then runs ``bench/bench_batch_scale.py --modes piped`` twice, once
on the SQLite file and once with ``NOVAREEL_LEDGER_URL`` naming a fresh database of
that cluster, and prints both reports. Issue 20's goal: client CPU per job on
PostgreSQL within 1.5x of SQLite's for a 2,000-item batch. The server's own CPU is
not the client's (it runs on the same machine here, so it does slow the wall time).
Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pg import start_cluster  # noqa: E402  (the tests' throwaway cluster)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="400,2000")
    args = parser.parse_args()
    cluster = start_cluster()
    try:
        database = cluster.create_database()
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
