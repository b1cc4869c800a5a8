"""docs/ledger.md carries the schema generated from the code, and it is up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from novareel.ledger import ledger_schema_markdown
from novareel.ledger.db import connect
from novareel.ledger.migrations import MIGRATIONS, migrate
from novareel.ledger.schema import COLUMN_DOCS, TABLE_DOCS

ROOT = Path(__file__).resolve().parents[2]
BEGIN = "<!-- BEGIN GENERATED LEDGER SCHEMA: scripts/gen_ledger_docs.py -->"
END = "<!-- END GENERATED LEDGER SCHEMA -->"


def test_committed_docs_schema_is_up_to_date() -> None:
    page = (ROOT / "docs" / "ledger.md").read_text(encoding="utf-8")
    section = page.split(BEGIN, 1)[1].split(END, 1)[0]
    assert section.strip() == ledger_schema_markdown().strip(), (
        "docs/ledger.md is stale: run python scripts/gen_ledger_docs.py"
    )


def test_generator_check_mode_agrees() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_ledger_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_table_and_column_is_explained() -> None:
    conn = connect(":memory:")
    migrate(conn)
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in tables:
        assert table in TABLE_DOCS, table
        for col in conn.execute(f"PRAGMA table_info('{table}')"):
            assert col["name"] in COLUMN_DOCS.get(table, {}), f"{table}.{col['name']}"
    conn.close()


def test_schema_docs_name_tables_columns_and_migrations() -> None:
    text = ledger_schema_markdown()
    for needle in ("### `jobs`", "`client_token`", "UNIQUE", "→ `jobs.id`", "jobs_batch_item"):
        assert needle in text
    for step in MIGRATIONS:
        assert f"`{step.name}`" in text
