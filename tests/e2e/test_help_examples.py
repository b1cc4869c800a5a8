"""Issue 22, item 3: help examples wrapped mid-command at 80 columns, so copying one
from the terminal broke it. Every example command in every command's help (its text
and its epilog) is shown whole on one line of an 80-column help screen."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from typer.main import get_command
from typer.testing import CliRunner

from novareel.cli import _register, app
from tests.e2e.test_second_hour_cli import _every_command_path, run_in_terminal


def _command(words: list[str]) -> Any:
    _register()
    command: Any = get_command(app)
    for word in words:
        command = command.commands[word]
    return command


def _examples(command: Any) -> list[str]:
    """The example commands a help text shows: its lines that start ``novareel``."""
    text = f"{command.help or ''}\n{command.epilog or ''}"
    return [line.strip() for line in text.splitlines() if line.strip().startswith("novareel ")]


def _shows_whole(screen: str, example: str) -> bool:
    return any(example in line for line in screen.splitlines())


def test_every_help_example_fits_one_line_at_80_columns() -> None:
    runner = CliRunner()
    checked = 0
    for words in _every_command_path():
        examples = _examples(_command(words))
        if not examples:
            continue
        screen = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "80"}).output
        assert all(len(line) <= 80 for line in screen.splitlines()), words
        for example in examples:
            assert _shows_whole(screen, example), (words, example, screen)
            checked += 1
    assert checked >= 6  # generate's examples at least were found and checked


def test_generate_s_examples_in_a_real_terminal(tmp_path: Path) -> None:
    screen = run_in_terminal(["generate", "--help"], cwd=tmp_path)
    examples = _examples(_command(["generate"]))
    assert len(examples) == 6
    for example in examples:
        assert _shows_whole(screen, example), (example, screen)


def _summary(command: Any) -> str:
    """What a command list shows for a command: its short help, else the first
    paragraph of its help."""
    import inspect

    text = command.short_help or inspect.cleandoc(command.help or "").split("\n\n")[0]
    return " ".join(text.split())


def test_command_lists_show_each_summary_whole_at_80_columns() -> None:
    """``storyboard --help`` listed ``check`` as "...plus its" / "duration and the
    price ... (one job" / "per shot ...": the docstring's own line breaks, inside the
    list's column. Each command's summary reads as one sentence, wrapped only by the
    list, in every group's command list."""
    runner = CliRunner()
    groups = [w for w in _every_command_path() if getattr(_command(w), "commands", None)]
    assert ["storyboard"] in groups and [] in groups
    for words in groups:
        group = _command(words)
        screen = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "80"}).output
        box = screen.split("Commands ", 1)[1]
        rows = []
        for line in box.splitlines()[1:]:
            if line.startswith("╰"):
                break
            rows.append(line)
        for line, after in pairwise(rows):
            text, follows = line.rstrip("│ "), after.strip("│ ")
            if after[2:3] == " " and follows:  # the same command's summary goes on
                # a wrap: the next word did not fit on this line (the box's text ends
                # at column 78); else the break is the docstring's own, mid-sentence
                assert len(text) + 1 + len(follows.split()[0]) > 78, (words, line, after)
        listed = " ".join(" ".join(r.strip("│ ") for r in rows).split())
        for name, sub in group.commands.items():
            if getattr(sub, "hidden", False):
                continue
            summary = _summary(sub)
            assert f"{name} {summary}" in listed, (words, name, summary, box)
