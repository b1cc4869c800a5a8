"""A new user's first hour (issue 10, items 6, 9, 10, 11), typed as a user types it.

Every test here failed before the change: one problem reported at a time, field names
instead of flags, messages without the allowed values, no ``--version``, ``-v`` only
before the command, no examples in ``generate --help``, a dry run without
``modelId``/``outputDataConfig``, "if fixed: 0 shots, $0.00" for broken YAML.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from novareel.cli import _register, app

_register()
runner = CliRunner()

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: A kms key ARN and bucket owner of the right shapes (never sent anywhere).
KMS = "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"
OWNER = "123456789012"


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def run_json(*args: str) -> tuple[int, Any]:
    result = run(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


def frame(path: Path) -> Path:
    Image.new("RGB", (1280, 720), (30, 60, 90)).save(path)
    return path


# --------------------------------------------------------------------------- item 6


ISSUE_LINE = ("x", "--duration", "7", "--seed", "-1", "--image", "nope.png",
              "--output-uri", "s3://Bad_Bucket/x")  # fmt: skip


def test_every_problem_of_the_command_line_is_reported_at_once_by_flag() -> None:
    result = run("generate", *ISSUE_LINE)
    assert result.exit_code == 2
    err = result.stderr
    # one line per problem, each naming the flag typed, the value and what is allowed
    assert re.search(r"--duration: 7 s is not allowed.*12-120 s in steps of 6", err)
    assert "TEXT_VIDEO is always 6 s" in err
    assert re.search(r"--seed: -1 is out of range 0-2,147,483,646", err)
    assert "--image: file not found: nope.png" in err
    assert re.search(r"--output-uri: bucket 'Bad_Bucket' has upper-case letters.*3-63", err)
    # never the code's names
    assert "duration_seconds" not in err and "output_uri:" not in err


def test_json_problems_carry_flag_field_value_message_and_limit() -> None:
    code, data = run_json("generate", *ISSUE_LINE)
    assert code == 2
    problems = data["error"]["problems"]
    by_flag = {p["flag"]: p for p in problems}
    assert {"--duration", "--seed", "--image", "--output-uri"} <= set(by_flag)
    assert by_flag["--duration"]["field"] == "duration"
    assert by_flag["--duration"]["value"] == 7
    assert by_flag["--duration"]["limit"] == "a multiple of 6 from 12 to 120"
    assert by_flag["--seed"]["value"] == -1 and by_flag["--seed"]["limit"] == "0-2147483646"
    assert by_flag["--output-uri"]["value"] == "Bad_Bucket"
    assert by_flag["--output-uri"]["limit"].startswith("3-63 characters")
    image = next(p for p in problems if "file not found" in p["message"])
    assert image["flag"] == "--image" and image["value"] == "nope.png"
    assert all({"flag", "field", "value", "message", "limit"} <= set(p) for p in problems)


@pytest.mark.parametrize(
    "args,expected",
    [
        # a bucket that is too short names the limit it breaks
        (["x", "--output-uri", "s3://ab/"], r"--output-uri: bucket 'ab' is 2 characters; .*3-63"),
        # an automated duration names the allowed set
        (["x", "--duration", "10", "--output-uri", "s3://ok-bucket/"], r"10 s .*\(12, 18, 24"),
        (["x", "--task", "text", "--duration", "12", "--output-uri", "s3://ok-bucket/"],
         r"--duration: TEXT_VIDEO is always 6 seconds, not 12"),
        (["x", "--task", "auto", "--output-uri", "s3://ok-bucket/"],
         r"--duration: MULTI_SHOT_AUTOMATED needs a duration: 12-120 s"),
        (["x", "--task", "sideways", "--output-uri", "s3://ok-bucket/"],
         r"--task: unknown task type 'sideways'; use text, auto or manual"),
        (["x", "--model-id", "luma-ray2", "--duration", "7", "--output-uri", "s3://ok-bucket/"],
         r"--duration: 7 s is not a Luma Ray 2 length; allowed: 5 s or 9 s"),
        (["x", "--model-id", "luma-ray2", "--seed", "3", "--output-uri", "s3://ok-bucket/"],
         r"--seed: Luma Ray 2 \(luma.ray-v2:0\) takes no --seed; it accepts --duration"),
        (["x", "--token", "has space", "--output-uri", "s3://ok-bucket/"],
         r"--token: 'has space' is not 1-256 printable ASCII"),
        (["x", "--fit", "squash", "--output-uri", "s3://ok-bucket/"],
         r"--fit: unknown fit mode 'squash'; use crop, pad or stretch"),
        (["x", "--shot", "", "--shot", "two", "--output-uri", "s3://ok-bucket/"],
         r"--shot \(shot 1, text\): must not be empty"),
        (["x"], r"--output-uri: an output location is required"),
    ],
)  # fmt: skip
def test_each_message_names_the_flag_the_value_and_what_is_allowed(
    args: list[str], expected: str
) -> None:
    result = run("generate", *args)
    assert result.exit_code == 2
    assert re.search(expected, result.stderr), result.stderr


def test_a_storyboard_problem_names_the_storyboard_and_the_shot(tmp_path: Path) -> None:
    frame(tmp_path / "one.png")
    board = tmp_path / "board.yaml"
    board.write_text(
        "shots:\n  - text: One\n    image: one.png\n  - text: Two\n    image: missing.png\n"
    )
    result = run("generate", "--storyboard", str(board), "--seed", "-3",
                 "--output-uri", "s3://ok-bucket/")  # fmt: skip
    assert result.exit_code == 2
    missing = tmp_path / "missing.png"
    assert f"--storyboard (shot 2, image): file not found: {missing}" in result.stderr
    assert "--seed: -3 is out of range" in result.stderr


def test_the_library_and_batch_files_keep_their_field_names(tmp_path: Path) -> None:
    from novareel.foundation.errors import InvalidRequestError
    from novareel.models.nova_reel import build_request

    with pytest.raises(InvalidRequestError) as exc:
        build_request("x", duration=7, seed=-1)
    assert {p.field for p in exc.value.problems} == {"duration", "seed"}
    assert all(p.flag is None for p in exc.value.problems)
    assert "duration: 7 s is not allowed" in str(exc.value)

    batch = tmp_path / "batch.yaml"
    batch.write_text("- id: a\n  prompt: x\n  duration: 7\n")
    code, data = run_json("batch", str(batch), "--dry-run", "--output-uri", "s3://ab/")
    assert code == 2
    problems = {p["field"]: p for p in data["error"]["problems"]}
    # named by the item and the file's own key, never by a command-line flag
    assert set(problems) == {"items[1].duration", "items[1].output_uri"}
    assert all("flag" not in p for p in problems.values())
    assert "12-120 s in steps of 6" in problems["items[1].duration"]["message"]
    assert "3-63" in problems["items[1].output_uri"]["message"]


def test_image_check_names_the_path_and_the_fit_flag(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    result = run("image", "check", str(missing))
    assert result.exit_code == 2
    assert f"file not found: {missing}" in result.stderr
    result = run("image", "check", str(frame(tmp_path / "ok.png")), "--fit", "squash")
    assert result.exit_code == 2
    assert "--fit: unknown fit mode 'squash'; use crop, pad or stretch" in result.stderr


# --------------------------------------------------------------------------- item 9


def test_version_prints_the_installed_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"novareel {version('novareel')}"


@pytest.mark.parametrize("flags,level", [(["-v"], logging.INFO), (["-vv"], logging.DEBUG),
                                         (["--verbose"], logging.INFO)])  # fmt: skip
def test_verbose_is_accepted_after_the_subcommand(flags: list[str], level: int) -> None:
    logging.getLogger("novareel").setLevel(logging.WARNING)
    result = run("generate", "x", "--dry-run", "--output-uri", "s3://ok-bucket/v/", *flags)
    assert result.exit_code == 0, result.output
    assert logging.getLogger("novareel").level == level


def test_verbose_before_the_subcommand_still_works_and_option_values_are_kept() -> None:
    logging.getLogger("novareel").setLevel(logging.WARNING)
    result = run("-v", "generate", "x", "--dry-run", "--output-uri", "s3://ok-bucket/v/")
    assert result.exit_code == 0
    assert logging.getLogger("novareel").level == logging.INFO
    # `-v` right after an option that takes a value is that value, not verbosity
    result = run("generate", "x", "--dry-run", "--output-uri", "s3://ok-bucket/v/", "--tag", "-v")
    assert result.exit_code == 2
    assert "--tag: '-v' is not KEY=VALUE" in result.stderr


def test_generate_help_ends_with_examples_that_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    help_text = runner.invoke(app, ["generate", "--help"], env={"COLUMNS": "200"}).stdout
    assert "Examples:" in help_text
    examples = [
        line.strip() for line in help_text.splitlines() if line.strip().startswith("novareel ")
    ]
    assert len(examples) >= 5
    joined = "\n".join(examples)
    assert "--local" in joined and "--storyboard" in joined and "luma-ray2" in joined
    monkeypatch.chdir(tmp_path)
    frame(tmp_path / "frame.png")
    (tmp_path / "shots.yaml").write_text("- text: A door opens\n- text: A cat walks in\n")
    for example in examples:
        args = shlex.split(example)[1:]
        result = run(*args, *([] if "--dry-run" in args else ["--dry-run"]))
        assert result.exit_code == 0, f"{example}\n{result.output}"


# --------------------------------------------------------------------------- item 10


def test_dry_run_shows_the_complete_start_async_invoke_request() -> None:
    code, data = run_json(
        "generate", "A lighthouse", "--dry-run", "--output-uri", "s3://ok-bucket/v/",
        "--bucket-owner", OWNER, "--kms-key-id", KMS, "--tag", "team=video",
    )  # fmt: skip
    assert code == 0
    sent = data["start_async_invoke"]
    assert sent["modelId"] == "amazon.nova-reel-v1:1"
    assert sent["modelInput"] == data["request"]
    assert sent["outputDataConfig"] == {
        "s3OutputDataConfig": {"s3Uri": "s3://ok-bucket/v/", "kmsKeyId": KMS, "bucketOwner": OWNER}
    }
    assert sent["clientRequestToken"] == "<generated at submit>"
    assert sent["tags"] == [{"key": "team", "value": "video"}]
    assert data["estimated_cost_usd"] == 0.48

    fixed = run_json("generate", "x", "--dry-run", "--output-uri", "s3://ok-bucket/v/",
                     "--token", "my-token-1")[1]  # fmt: skip
    assert fixed["start_async_invoke"]["clientRequestToken"] == "my-token-1"

    text = run("generate", "A lighthouse", "--dry-run", "--output-uri", "s3://ok-bucket/v/")
    assert text.exit_code == 0
    shown = json.loads(text.stdout[text.stdout.index("{") :])
    assert set(shown) == {"modelId", "modelInput", "outputDataConfig", "clientRequestToken"}
    assert "~$0.48" in text.stdout


def test_dry_run_request_is_what_the_submit_sends(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The same command with and without --dry-run: the request boto3 receives equals
    the dry run's, field for field (same builder, same token)."""
    from novareel.client import AwsClient
    from tests.helpers import make_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    make_client(emulator.url).ensure_bucket("first-hour")
    command = ["generate", "A red kite over hills", "--duration", "12", "--seed", "9",
               "--endpoint-url", emulator.url, "--output-uri", "s3://first-hour/v/",
               "--token", "first-hour-token", "--tag", "who=me", "--no-wait"]  # fmt: skip
    code, planned = run_json(*command, "--dry-run")
    assert code == 0

    received: list[dict[str, Any]] = []
    real_call = AwsClient._call

    def spy(self: AwsClient, operation: str, func: Any, **kwargs: Any) -> Any:
        if operation == "StartAsyncInvoke":
            received.append(kwargs)
        return real_call(self, operation, func, **kwargs)

    monkeypatch.setattr(AwsClient, "_call", spy)
    code, submitted = run_json(*command)
    assert code == 0, submitted
    assert received == [planned["start_async_invoke"]]
    job = next(j for j in emulator.jobs() if j["invocationArn"] == submitted["invocation_arn"])
    assert job["clientRequestToken"] == "first-hour-token"


# --------------------------------------------------------------------------- item 11


def test_storyboard_check_on_broken_yaml_says_fix_it_first_and_how(tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text("shots:\n  - text: Shot 1: a cat on a wall\n  - text: Shot two\n")
    result = run("storyboard", "check", str(board))
    assert result.exit_code == 2
    assert "if fixed" not in result.output and "$0.00" not in result.output
    assert "fix the file first" in result.stdout
    assert "mapping values are not allowed here" in result.stderr
    assert "line 2 is '- text: Shot 1: a cat on a wall'" in result.stderr
    assert '- text: "Shot 1: a cat on a wall"' in result.stderr

    code, data = run_json("storyboard", "check", str(board))
    assert code == 2
    assert data["readable"] is False and data["estimated_cost_usd"] is None
    assert data["shots"] is None
    assert any('"Shot 1: a cat on a wall"' in hint for hint in data["hints"])


def test_generate_with_broken_yaml_gets_the_quote_hint(tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text("- text: Shot 1: a cat\n- text: Shot two\n")
    result = run("generate", "--storyboard", str(board), "--output-uri", "s3://ok-bucket/")
    assert result.exit_code == 2
    assert "--storyboard: invalid YAML at line 1" in result.stderr
    assert '- text: "Shot 1: a cat"' in result.stderr
    assert "PROMPT" not in result.stderr  # no made-up problems about a prompt


def test_parameters_doc_links_stay_inside_the_repository_or_are_public() -> None:
    text = (DOCS / "parameters.md").read_text()
    assert "shared/seeds" not in text
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith(("https://", "http://")):
            continue
        path = (DOCS / target.split("#", 1)[0]).resolve()
        assert path.is_file() and DOCS.parent in path.parents, target


def test_storyboard_check_messages_say_the_value_and_what_is_allowed(tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text("seed: -5\nfit: squash\nshots:\n  - text: a\n  - text: b\n")
    result = run("storyboard", "check", str(board))
    assert result.exit_code == 2
    assert "seed: -5 is out of range 0-2,147,483,646" in result.stderr
    assert "fit: 'squash' is not one of 'crop', 'pad' or 'stretch'" in result.stderr
