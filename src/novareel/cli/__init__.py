"""The ``novareel`` command line: parse, call the library, print (Rich or ``--json``).

Each command group is its own module and registers itself on the shared Typer app.
"""

from __future__ import annotations

from novareel.cli.app import app

# Importing a module registers its commands on ``app``.
_COMMAND_MODULES = (
    "generate",
    "track",
    "emulator_cmd",
    "media",
    "jobs_cmd",
    "batch_cmd",
    "spend_cmd",
    "review_cmd",
    "models_cmd",
    "doctor_cmd",
    "gallery_cmd",
    "mcp_cmd",
    "ledger_cmd",
    "qa_cmd",
)


def _register() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(f"novareel.cli.{name}")


def main() -> None:
    """Console-script entry point."""
    _register()
    try:
        app()
    except BrokenPipeError:  # a plain write (echo, --json) to a reader that went away
        from novareel.cli.app import reader_went_away

        reader_went_away()


__all__ = ["app", "main"]
