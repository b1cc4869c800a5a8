"""Issue 22's command-line stumbles, driven as a person drives them: ``-h``, ``-v``, and
a pipe whose reader stops early (``novareel jobs | head``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from novareel.cli import _register, app


def _every_command_path() -> list[list[str]]:
    """Every command and subcommand, as the words a person types after ``novareel``."""
    _register()
    root = get_command(app)
    paths: list[list[str]] = [[]]
    pending: list[tuple[list[str], Any]] = [([], root)]
    while pending:
        words, command = pending.pop()
        # (typer bundles its own click: a group is whatever has subcommands)
        for name, sub in getattr(command, "commands", {}).items():
            if getattr(sub, "hidden", False):
                continue
            paths.append([*words, name])
            pending.append(([*words, name], sub))
    return paths


def test_minus_h_is_help_on_every_command() -> None:
    paths = _every_command_path()
    assert len(paths) > 20  # the whole tree was walked, subcommands included
    runner = CliRunner()
    for words in paths:
        short = runner.invoke(app, [*words, "-h"])
        long = runner.invoke(app, [*words, "--help"])
        assert short.exit_code == 0, (words, short.output)
        assert short.output == long.output, words
        assert "Usage:" in short.output


def test_verbose_is_shown_as_a_count_not_as_an_option_taking_a_number() -> None:
    help_text = CliRunner().invoke(app, ["--help"]).output
    line = next(row for row in help_text.splitlines() if "--verbose" in row)
    assert "<int>" not in line and "INTEGER" not in line
    assert "[default: 0]" not in help_text


@pytest.mark.parametrize("args", [["jobs"], ["jobs", "--json"], ["models", "--offline"]])
def test_a_reader_that_stops_early_is_not_an_error(args: list[str], tmp_path: Path) -> None:
    """``novareel jobs | head``: the reader closes the pipe; the command ends quietly,
    exit 0 (1 would mean a job failed), with no BrokenPipeError traceback."""
    env = {**os.environ, "NOVAREEL_HOME": str(tmp_path)}
    for _ in range(3):  # the pipe closed before the first write, every time
        with subprocess.Popen(
            [sys.executable, "-m", "novareel", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            proc.stdout.close()
            err = proc.stderr.read().decode()
            code = proc.wait(timeout=60)
        assert code == 0, err
        assert "Traceback" not in err and "BrokenPipe" not in err
