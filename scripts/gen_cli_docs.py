"""Write docs/cli.md from the command line's own --help, so the docs cannot drift.

Run ``python scripts/gen_cli_docs.py`` after changing a command; a test fails while
the committed file differs from what this produces.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

HEADER = """# novareel command line

Generated from the code by `python scripts/gen_cli_docs.py`; do not edit by hand.

Exit codes, for every command: **0** success · **1** a job failed or a wait timed
out · **2** bad input (nothing was sent) · **3** AWS, network or emulator error.
Every command takes `--json` and then prints one JSON document with snake_case keys.
"""


def command_paths() -> list[list[str]]:
    """Every command and sub-command, as argument lists, in help order."""
    from typing import Any

    import typer

    from novareel.cli import _register, app
    from novareel.cli.app import command_sort_key

    _register()
    paths: list[list[str]] = [[]]

    def walk(group: Any, prefix: list[str]) -> None:
        # by shape, not by class (some typer versions vendor their own click)
        commands = getattr(group, "commands", {})
        for name in sorted(commands, key=command_sort_key):
            command = commands[name]
            if getattr(command, "hidden", False):
                continue
            paths.append([*prefix, name])
            walk(command, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def render() -> str:
    """The whole document."""
    from typer.testing import CliRunner

    from novareel.cli import app

    runner = CliRunner()
    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    parts = [HEADER]
    for path in command_paths():
        result = runner.invoke(app, [*path, "--help"], env=env, prog_name="novareel")
        title = " ".join(["novareel", *path])
        body = "\n".join(line.rstrip() for line in result.stdout.strip("\n").splitlines())
        parts.append(f"## `{title}`\n\n```\n{body}\n```\n")
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = DOC.read_text() if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python scripts/gen_cli_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
