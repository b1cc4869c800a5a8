"""Hostile input files get a clear refusal, bounded in time and memory, at every door.

A ~350-byte YAML "billion laughs" file stood for ~387 million strings: the MCP server's
``check_storyboard`` grew to ~24 GB and was OOM-killed, and ``storyboard check --json``
ended in a MemoryError. These tests run each door in a subprocess under an address
space limit (``RLIMIT_AS``) and a timeout, so a regression fails the test instead of
taking the machine down.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

#: Address space for one child: the CLI and the MCP server need ~0.5 GB of it; the
#: bomb needs tens of GB.
MEMORY_LIMIT = 1536 * 1024 * 1024
TIMEOUT = 90

#: 328 bytes, 9 levels of 9 aliases each: 9**9 = 387,420,489 "lol" strings when expanded.
BOMB = "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9) if prev else ','.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
).replace("i: &i", "shots: &i")

#: The wrapper a child runs: the limit first, then novareel's own entry point.
_LIMITED = (
    "import resource, sys; "
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT})); "
    "from novareel.cli import main; sys.argv[0] = 'novareel'; main()"
)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``novareel ARGS`` in a child with the memory limit and the timeout."""
    return subprocess.run(
        [sys.executable, "-m", "novareel", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_limit_memory,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_the_bomb_is_the_documented_one() -> None:
    assert len(BOMB.encode()) < 400 and BOMB.count("*") == 72


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_storyboard_check_refuses_an_alias_bomb_naming_the_file_line_and_limit(
    tmp_path: Path, suffix: str
) -> None:
    board = tmp_path / f"bomb{suffix}"
    board.write_text(BOMB)
    done = run_limited("storyboard", "check", str(board), "--json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["readable"] is False and report["estimated_cost_usd"] is None
    (problem,) = report["problems"]
    assert problem["field"] == "storyboard"
    assert str(board) in problem["message"] and "at line " in problem["message"]
    assert "10000" in problem["limit"] and "alias" in problem["message"]


def test_batch_dry_run_refuses_an_alias_bomb(tmp_path: Path) -> None:
    batch = tmp_path / "bomb.yaml"
    batch.write_text(BOMB.replace("shots:", "items:"))
    done = run_limited(
        "batch",
        str(batch),
        "--dry-run",
        "--json",
        "--output-uri",
        "s3://my-bucket/v/",
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "InvalidRequestError"
    assert any("alias" in p["message"] and str(batch) in p["message"] for p in error["problems"])


def mcp_calls(
    root: Path, calls: list[tuple[str, dict[str, Any]]], *, timeout: float = TIMEOUT
) -> list[tuple[bool, dict[str, Any]]]:
    """Each tool call's (is_error, structured content) from `novareel mcp --root ROOT`,
    run under the memory limit; the whole session fails after ``timeout`` seconds (a
    hung call then fails the test, and leaving the client ends the server)."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", _LIMITED, "mcp", "--root", str(root)],
        env=dict(os.environ),
        cwd=str(root.parent),
    )
    answers: list[tuple[bool, dict[str, Any]]] = []

    async def main() -> None:
        with anyio.fail_after(timeout), (root.parent / "server.log").open("a") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                for tool, arguments in calls:
                    result = await session.call_tool(tool, arguments)
                    answers.append((bool(result.is_error), dict(result.structured_content or {})))

    anyio.run(main)
    return answers


OK_BOARD = "shots:\n  - text: a fox in the snow\n  - text: a hare\n"


def test_the_mcp_server_refuses_an_alias_bomb_and_keeps_serving(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "bomb.yaml").write_text(BOMB)
    (root / "ok.yaml").write_text(OK_BOARD)
    (_, bomb), (_, fine) = mcp_calls(
        root,
        [("check_storyboard", {"path": "bomb.yaml"}), ("check_storyboard", {"path": "ok.yaml"})],
    )
    text = json.dumps(bomb)
    assert "alias" in text and "bomb.yaml" in text and "10000" in text
    assert fine["ok"] is True  # the same server still answers


def test_nesting_deeper_than_the_limit_is_refused_not_a_traceback(tmp_path: Path) -> None:
    deep_yaml = tmp_path / "deep.yaml"
    deep_yaml.write_text("shots: " + "[" * 5000 + "]" * 5000 + "\n")
    deep_json = tmp_path / "deep.json"
    deep_json.write_text('{"shots": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for board in (deep_yaml, deep_json):
        done = run_limited("storyboard", "check", str(board), "--json", cwd=tmp_path)
        assert done.returncode == 2, done.stderr[-2000:]
        (problem,) = json.loads(done.stdout)["problems"]
        assert "nest deeper than 64 levels" in problem["message"], problem
        assert problem["limit"] == "<= 64 levels of nesting"
    assert "line 1" in problem["message"] or str(deep_json) in problem["message"]


def test_a_deep_jsonl_batch_line_is_one_problem_of_that_line(tmp_path: Path) -> None:
    batch = tmp_path / "deep.jsonl"
    batch.write_text('{"prompt": "a fox"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    done = run_limited(
        "batch",
        str(batch),
        "--dry-run",
        "--json",
        "--output-uri",
        "s3://my-bucket/v/",
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    problems = json.loads(done.stdout)["error"]["problems"]
    assert any(
        p["field"].startswith("line 2") and "deeper than 64" in p["message"] for p in problems
    ), problems


def test_an_oversized_storyboard_is_refused_before_parsing(tmp_path: Path) -> None:
    board = tmp_path / "huge.yaml"
    board.write_text("shots:\n" + "  - text: a fox\n" * 300_000)  # ~4.8 MB
    done = run_limited("storyboard", "check", str(board), "--json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    (problem,) = json.loads(done.stdout)["problems"]
    assert str(board) in problem["message"] and "before parsing" in problem["message"]
    assert problem["limit"] == f"<= {4 * 1024 * 1024} bytes"


def test_a_few_anchors_and_aliases_stay_allowed(tmp_path: Path) -> None:
    """Repeating a shot's settings with ``&``/``*`` is ordinary YAML: within the budget."""
    from novareel.foundation.textfiles import parse_json_or_yaml

    text = (
        "common: &common {image: frames/a.png}\n"
        "shots:\n"
        "  - {text: one, <<: *common}\n"
        "  - {text: two, <<: *common}\n"
        "  - &three {text: three}\n"
        "  - *three\n"
    )
    data = parse_json_or_yaml(text, tmp_path / "board.yaml", "storyboard")
    assert data["shots"][1] == {"text": "two", "image": "frames/a.png"}
    assert data["shots"][3] == {"text": "three"}


def test_an_alias_inside_the_value_it_names_is_refused(tmp_path: Path) -> None:
    from novareel.foundation.errors import InvalidRequestError
    from novareel.foundation.textfiles import parse_json_or_yaml

    with pytest.raises(InvalidRequestError) as caught:
        parse_json_or_yaml("shots: &s [a, *s]\n", tmp_path / "loop.yaml", "storyboard")
    assert "contains itself" in caught.value.problems[0].message
    assert "line 1" in caught.value.problems[0].message


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_number_of_thousands_of_digits_is_refused_not_a_traceback(
    tmp_path: Path, suffix: str
) -> None:
    board = tmp_path / f"digits{suffix}"
    board.write_text('{"seed": ' + "7" * 5000 + ', "shots": [{"text": "a"}, {"text": "b"}]}')
    done = run_limited("storyboard", "check", str(board), "--json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    (problem,) = json.loads(done.stdout)["problems"]
    assert str(board) in problem["message"] and "4300 digits" in problem["limit"]


def test_problem_values_are_cut_at_every_depth() -> None:
    """Only top-level strings were cut: a list of lists of a million strings (what a
    YAML file can hand a validator) was dumped whole into ``--json`` and the MCP reply."""
    from novareel.foundation.errors import InvalidRequestError, Problem, error_payload

    huge = [["lol" * 100] * 1_000_000, {"k" * 500: {"deeper": {"deepest": [1, 2, 3]}}}]
    cycle: list[Any] = []
    cycle.append(cycle)
    values = {
        "nested": huge,
        "cycle": cycle,
        "mapping": {f"key{i}": "v" * 1000 for i in range(10_000)},
        "bytes": [b"\x00" * 10_000],
        "digits": 10**5000,
        "tuple": tuple(range(50)),
    }
    error = InvalidRequestError([Problem(name, "bad", value=v) for name, v in values.items()])
    payload = error_payload(error)
    text = json.dumps(payload)  # a cycle or a 5000-digit int would raise here
    assert len(text) < 20_000
    shown = {p["field"]: p["value"] for p in payload["problems"]}
    assert shown["nested"][0][0] == ("lol" * 100)[:77] + "..."
    assert shown["nested"][0][-1] == "... 999990 more items"
    assert len(next(iter(shown["nested"][1]))) == 80
    assert shown["mapping"]["..."] == "9990 more keys"
    assert shown["bytes"] == ["<10000 bytes>"]
    assert shown["digits"] == "<integer of about 5001 digits>"
    assert shown["tuple"][:3] == [0, 1, 2] and shown["tuple"][-1] == "... 40 more items"
    assert "list of" in json.dumps(shown["cycle"])
    # The Python API keeps the value as given.
    assert error.problems[0].value is huge


def test_a_long_message_is_cut_in_the_json_payload() -> None:
    from novareel.foundation.errors import Problem

    shown = Problem("since", "x" * 5_000_000, limit="y" * 5000).to_dict()
    assert len(shown["message"]) == 1000 and shown["message"].endswith("...")
    assert len(shown["limit"]) == 1000


# --------------------------------------------------------------------------- FIFOs

FIFO_TIMEOUT = 30


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _refused_as_pipe(problem: dict[str, Any], path: str) -> None:
    assert "named pipe (FIFO)" in problem["message"] and path in problem["message"], problem
    assert "regular" in (problem["limit"] or "")


def test_a_fifo_storyboard_or_batch_file_is_refused_without_blocking(tmp_path: Path) -> None:
    board = fifo(tmp_path / "board.yaml")
    done = run_limited("storyboard", "check", str(board), "--json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    (problem,) = json.loads(done.stdout)["problems"]
    _refused_as_pipe(problem, str(board))

    batch = fifo(tmp_path / "batch.yaml")
    done = run_limited(
        "batch",
        str(batch),
        "--dry-run",
        "--json",
        "--output-uri",
        "s3://my-bucket/v/",
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    (problem,) = json.loads(done.stdout)["error"]["problems"]
    _refused_as_pipe(problem, str(batch))


def test_a_fifo_or_a_device_as_an_image_is_refused_without_blocking(tmp_path: Path) -> None:
    image = fifo(tmp_path / "frame.png")
    for source, kind in ((image, "named pipe (FIFO)"), (Path("/dev/zero"), "character device")):
        done = run_limited(
            "generate", "a fox", "--image", str(source), "--dry-run", "--json",
            "--output-uri", "s3://my-bucket/v/", cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr[-2000:]
        problems = json.loads(done.stdout)["problems"]  # the dry run's own report
        assert any(
            p["field"] == "image" and kind in p["message"] and str(source) in p["message"]
            for p in problems
        ), problems


def test_a_storyboard_naming_a_fifo_image_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo(tmp_path / "frame.png")
    board = tmp_path / "board.yaml"
    board.write_text("shots:\n  - text: a fox\n    image: frame.png\n  - text: a hare\n")
    done = run_limited("storyboard", "check", str(board), "--json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    problems = json.loads(done.stdout)["problems"]
    assert any(p["field"] == "shots[1].image" and "named pipe" in p["message"] for p in problems), (
        problems
    )


def test_the_mcp_server_refuses_fifos_and_keeps_serving(tmp_path: Path) -> None:
    """Each call naming a FIFO hung one server thread forever; now each is refused."""
    root = tmp_path / "root"
    root.mkdir()
    fifo(root / "board.yaml")
    fifo(root / "frame.png")
    (root / "ok.yaml").write_text(OK_BOARD)
    answers = mcp_calls(
        root,
        [
            ("check_storyboard", {"path": "board.yaml"}),
            ("estimate_cost", {"prompt": "a fox", "image": "frame.png"}),
            ("estimate_cost", {"storyboard": "board.yaml"}),
            ("check_storyboard", {"path": "ok.yaml"}),
        ],
        timeout=FIFO_TIMEOUT,
    )
    (_, board), (image_error, image), (board_error, as_spec), (_, fine) = answers
    _refused_as_pipe(board["problems"][0], "board.yaml")
    assert image_error and "named pipe (FIFO)" in json.dumps(image)
    assert board_error and "named pipe (FIFO)" in json.dumps(as_spec)
    assert fine["ok"] is True


# --------------------------------------------------------------------------- --since

FAR_BACK = ["99999999d", "9" * 5000 + "w", "36501d", "0001-01-01", "9999-12-31T23:00-05:00"]


@pytest.mark.parametrize("command", [["jobs"], ["list"], ["spend"]])
@pytest.mark.parametrize("value", FAR_BACK)
def test_since_beyond_the_range_is_a_clear_error_not_an_overflow(
    command: list[str], value: str
) -> None:
    from typer.testing import CliRunner

    from novareel.cli import _register, app

    _register()
    result = CliRunner().invoke(app, [*command, "--since", value, "--json"])
    assert result.exit_code == 2, result.output
    (problem,) = json.loads(result.stdout)["error"]["problems"]
    shown = value if len(value) <= 80 else value[:77] + "..."  # a long value is cut
    assert problem["flag"] == "--since" and problem["value"] == shown
    assert value[:20] in problem["message"]
    assert "36500d" in problem["limit"] and "0001-01-03 to 9999-12-29" in problem["limit"]

    human = CliRunner().invoke(app, [*command, "--since", value])
    assert human.exit_code == 2 and "Traceback" not in human.output
    assert "--since: " in human.stderr


def test_the_oldest_allowed_age_still_lists() -> None:
    from typer.testing import CliRunner

    from novareel.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["jobs", "--since", "36500d", "--json"])
    assert result.exit_code == 0, result.output


def test_mcp_list_jobs_refuses_since_beyond_the_range(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    answers = mcp_calls(
        root,
        [("list_jobs", {"since": "99999999d"}), ("list_jobs", {"since": "7d"})],
        timeout=FIFO_TIMEOUT,
    )
    (refused_error, refused), (listed_error, listed) = answers
    assert refused_error, refused
    (problem,) = refused["error"]["problems"] if "error" in refused else refused["problems"]
    assert problem["field"] == "since" and problem["value"] == "99999999d"
    assert "36500" in problem["message"] and "36500d" in problem["limit"]
    assert not listed_error and listed["count"] == 0
