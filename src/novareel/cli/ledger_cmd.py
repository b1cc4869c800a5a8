"""``novareel ledger``: looking after the ledger file itself (``ledger backup``).

The ledger is the one record of what was paid; copying its file with ``cp`` while a
job is being recorded can catch half a transaction. ``ledger backup`` uses SQLite's
online backup API through :meth:`novareel.ledger.Ledger.backup`: one consistent
snapshot, while other commands go on writing.
"""

from __future__ import annotations

from pathlib import Path

import typer

from novareel.cli.app import JSON_OUTPUT, command_group, console, emit_json, handle_errors

ledger_app = command_group("ledger", "The ledger file: back it up while jobs run.")


@ledger_app.command("backup")
@handle_errors()
def backup(
    path: Path = typer.Argument(..., help="Where to write the copy (a new file)."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Write a consistent copy of the ledger to PATH (never overwrites a file)."""
    from novareel.ledger import Ledger

    with Ledger.open_default() as ledger:
        done = ledger.backup(path)
    if json_output:
        emit_json(done)
        return
    console.print(
        f"Backed up the ledger {done['source']} to {done['path']}: {done['jobs']} job(s),"
        f" {done['bytes']:,} bytes, schema {done['schema']}, check {done['integrity']}."
    )
    console.print(
        f"To restore it: move the current ledger aside, then copy {done['path']} to"
        f" {done['source']}."
    )
