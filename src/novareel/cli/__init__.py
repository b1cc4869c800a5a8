"""The ``novareel`` command line: parse, call the library, print (Rich or ``--json``).

Each command group is its own module and registers itself on the shared Typer app.
"""

from __future__ import annotations

import sys

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

#: The module that registers each top-level command (``tests/core/test_startup.py``
#: checks it against what the modules really register). Running one command imports
#: only its module: the others' imports and Typer's building of their options are a
#: tenth of a second of CPU that every start of ``novareel batch`` paid, times the
#: processes started at once.
_COMMAND_HOME = {
    "generate": "generate",
    "review": "review_cmd",
    "status": "track",
    "wait": "track",
    "download": "track",
    "list": "track",
    "emulator": "emulator_cmd",
    "inspect": "media",
    "contact-sheet": "media",
    "frame": "media",
    "image": "media",
    "storyboard": "media",
    "camera": "media",
    "jobs": "jobs_cmd",
    "batch": "batch_cmd",
    "spend": "spend_cmd",
    "models": "models_cmd",
    "doctor": "doctor_cmd",
    "gallery": "gallery_cmd",
    "mcp": "mcp_cmd",
    "ledger": "ledger_cmd",
    "qa": "qa_cmd",
}


def _register(args: list[str] | None = None) -> None:
    """Import the command modules, which registers their commands on ``app``.

    With ``args`` (the command line after the program name), only the module of the
    command named there when it is a known one: its options are all that parsing
    that command line needs. Without a command (``novareel``, ``--help``,
    ``--version``) or with an unknown one (so click can suggest the closest name),
    every module, as ``args=None`` does.
    """
    import importlib

    command = next((a for a in args or () if not a.startswith("-")), None)
    home = _COMMAND_HOME.get(command or "") if args is not None else None
    for name in (home,) if home else _COMMAND_MODULES:
        importlib.import_module(f"novareel.cli.{name}")


def main() -> None:
    """Console-script entry point."""
    _register(sys.argv[1:])
    try:
        app()
    except BrokenPipeError:  # a plain write (echo, --json) to a reader that went away
        from novareel.cli.app import reader_went_away

        reader_went_away()


__all__ = ["app", "main"]
