"""Issue 22's command-line stumbles, driven as a person drives them: ``-h``, ``-v``, and
a pipe whose reader stops early (``novareel jobs | head``)."""

from __future__ import annotations

import json
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


def _novareel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "novareel", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_finished_job_keeps_its_status_after_the_emulator_restarts(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``status 1 --local`` on a job that completed and was downloaded, after the
    emulator restarted: the ledger's answer (Completed, the file), exit 0 — not "job 1
    is gone ... jobs retry". ``wait`` says the same and fetches nothing."""
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    made = _novareel("generate", "A lighthouse at dawn", "--output-uri", "s3://mybucket/v/",
                     "--local", "--out", "out", "--json", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    first = json.loads(made.stdout)
    video = next(Path(f) for f in first["local_files"] if f.endswith("output.mp4"))
    assert video.is_file()
    emulator.reset()  # a restarted emulator: it knows no job and no bucket
    for command in ("status", "wait"):
        proc = _novareel(command, str(first["ledger_id"]), "--local", "--json", cwd=tmp_path)
        assert proc.returncode == 0, (command, proc.stderr, proc.stdout)
        answer = json.loads(proc.stdout)
        assert answer["status"] == "Completed"
        assert answer["local_files"] == first["local_files"]
        assert any("no longer knows job" in n for n in answer["notices"])
        text = _novareel(command, str(first["ledger_id"]), "--local", cwd=tmp_path)
        assert text.returncode == 0, text.stderr
        assert "Completed" in text.stdout and str(video) in text.stdout
        assert "retry" not in text.stdout + text.stderr


def test_an_unfinished_job_is_still_reported_lost_with_its_emulator(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    made = _novareel("generate", "A lighthouse at dusk", "--output-uri", "s3://mybucket/v/",
                     "--local", "--no-wait", "--json", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    job = str(json.loads(made.stdout)["ledger_id"])
    emulator.reset()
    proc = _novareel("status", job, "--local", cwd=tmp_path)
    assert proc.returncode != 0
    assert f"novareel jobs retry {job} --local" in proc.stderr


def run_in_terminal(
    args: list[str], *, cwd: Path, columns: int = 80, env: dict[str, str] | None = None
) -> str:
    """The command as a person sees it: in a pseudo-terminal ``columns`` wide (Rich
    lays out for the terminal it finds). Returns what it wrote, escapes removed (a
    redraw of a bar starts with a carriage return)."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in (env or os.environ).items() if k not in ("COLUMNS", "LINES")}
    environ["TERM"] = "xterm-256color"
    with subprocess.Popen(
        [sys.executable, "-m", "novareel", *args],
        cwd=cwd,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=environ,
        close_fds=True,
    ) as proc:
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                proc.kill()
                raise AssertionError(f"no output for 60 s from {args}")
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
    os.close(leader)
    import re

    text = b"".join(chunks).decode("utf-8", "replace")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # colours and cursor moves


def test_jobs_at_80_columns_one_line_per_job_and_a_refusal_costs_nothing(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A refused Ray 2 job (no Marketplace agreement) and a local job in a terminal 80
    columns wide: each job on one line within 80 columns; the refusal is "$0
    (refused)", not "$0 here (≈ $7.50 on AWS)" (nothing is charged for a refusal);
    ``jobs show`` prints no "seed None" and no empty failure type."""
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    emulator.set_model_state("luma.ray-v2:0", "no-agreement")
    refused = _novareel("generate", "A red kite over a windy beach", "--model-id", "luma-ray2",
                        "--local", "--json", cwd=tmp_path)  # fmt: skip
    assert refused.returncode != 0
    done = _novareel("generate", "A lighthouse on a cliff at dawn, waves breaking below it",
                     "--local", "--no-wait", "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    screen = run_in_terminal(["jobs"], cwd=tmp_path)
    lines = [line for line in screen.splitlines() if line.strip()]
    assert all(len(line) <= 80 for line in lines), screen
    rows = [line for line in lines if line.lstrip()[:1].isdigit()]
    assert len(rows) == 2, screen  # one line per job: no cell wraps
    kite = next(row for row in rows if "kite" in row)
    assert "$0 (refused)" in kite and "7.50" not in kite
    lighthouse = next(row for row in rows if "lighthouse" in row)
    assert "$0 (AWS ~$0.48)" in lighthouse
    show = run_in_terminal(["jobs", "show", "1"], cwd=tmp_path)
    assert "seed None" not in show
    assert "$0 (refused at submit, nothing charged)" in show
    assert "failure      :" not in show and "failure  :" not in show
    # the specific hint generate gave (accept the agreement), not "jobs retry"
    said = json.loads(refused.stdout)["error"]["hint"]
    assert "Marketplace agreement" in said
    shown = json.loads(_novareel("jobs", "show", "1", "--json", cwd=tmp_path).stdout)["job"]
    assert shown["failure_advice"] == said
    assert shown["failure_type"] == "AccessDeniedException"
    assert "Marketplace" in " ".join(show.split()) and "jobs retry" not in show
    site = _novareel("gallery", "-o", "site", "--json", cwd=tmp_path)
    assert site.returncode == 0, site.stderr
    page = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "accept Luma AI" in page and "Marketplace agreement" in page


def test_the_progress_line_fits_80_columns_with_its_status_whole(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """At 80 columns the wait bar's line kept neither its status ("[InProg…") nor its
    timing; the expectation's source ("built-in prior (seed lab 2025)") is said once,
    above the bar, and every redraw of the bar fits."""
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    screen = run_in_terminal(
        ["generate", "A lighthouse at dawn", "--local", "--no-download"], cwd=tmp_path
    )
    redraws = [part for line in screen.split("\n") for part in line.split("\r")]
    bars = [part for part in redraws if "[InProgress]" in part or "[Completed]" in part]
    assert bars, screen[-2000:]
    assert "InProg…" not in screen
    for bar in bars:
        assert len(bar.rstrip()) <= 80, bar
        assert "checks" in bar  # the timing is whole too
    assert screen.count("built-in prior") == 1 and "expected ~" in screen


def test_jobs_retry_says_the_price_before_it_submits(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A retry is a new paid job: its price is printed before the submit, as generate
    prints it ("$0 here (≈ $0.48 on AWS)" on the emulator)."""
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=1, count=1)
    first = _novareel("generate", "A lighthouse in fog", "--local", "--no-download", "--json",
                      cwd=tmp_path)  # fmt: skip
    assert first.returncode == 1, first.stderr
    job = str(json.loads(first.stdout)["error"]["result"]["ledger_id"])
    retried = _novareel("jobs", "retry", job, "--local", "--no-download", cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr
    said = retried.stderr
    price = f"retrying job {job}: one amazon.nova-reel-v1:1 job, $0 here (≈ $0.48 on AWS)"
    assert price in said
    assert said.index(price) < said.index("submitted job")
