"""Regenerate the schema section of docs/ledger.md from the code.

    python scripts/gen_ledger_docs.py           # rewrite the section in place
    python scripts/gen_ledger_docs.py --check   # exit 1 if the docs are stale

Only the text between the two markers is generated (from a freshly migrated
database, see ``novareel.ledger.ledger_schema_markdown``); the rest of the page is
written by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BEGIN = "<!-- BEGIN GENERATED LEDGER SCHEMA: scripts/gen_ledger_docs.py -->"
END = "<!-- END GENERATED LEDGER SCHEMA -->"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "ledger.md"


def render(page: str, schema: str) -> str:
    """``page`` with the text between the markers replaced by ``schema``."""
    try:
        head, rest = page.split(BEGIN, 1)
        _old, tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"{DOCS}: markers {BEGIN!r} / {END!r} not found") from None
    return f"{head}{BEGIN}\n\n{schema.strip()}\n\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if docs/ledger.md is stale")
    args = parser.parse_args(argv)

    from novareel.ledger import ledger_schema_markdown

    page = DOCS.read_text(encoding="utf-8")
    updated = render(page, ledger_schema_markdown())
    if args.check:
        if updated != page:
            print(f"{DOCS} is stale: run python scripts/gen_ledger_docs.py", file=sys.stderr)
            return 1
        return 0
    if updated != page:
        DOCS.write_text(updated, encoding="utf-8")
        print(f"updated {DOCS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
