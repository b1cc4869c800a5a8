"""The command line end to end: options, --json shapes, exit codes, against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from tests.helpers import job_dir

_register()
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def run_json(*args: str) -> tuple[int, Any]:
    result = run(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


def test_generate_json_completed(cli_env: dict[str, Any]) -> None:
    code, data = run_json(
        "generate", "A lighthouse at night", *cli_env["args"], "--out", str(cli_env["out"])
    )
    assert code == 0
    assert data["status"] == "Completed"
    assert data["task_type"] == "TEXT_VIDEO"
    assert data["estimated_cost_usd"] == 0.48
    assert Path(data["local_dir"]) == job_dir(cli_env["out"].resolve(), data["ledger_id"])
    assert Path(data["local_dir"]).name.endswith("-a-lighthouse-at-night-" + data["invocation_id"])
    assert any(p.endswith("output.mp4") for p in data["local_files"])
    assert all(Path(p).is_file() for p in data["local_files"])


def test_generate_human_output_and_trailing_slash_notice(
    cli_env: dict[str, Any], emulator: Any
) -> None:
    result = run(
        "generate", "A lighthouse at night", "--endpoint-url", emulator.url,
        "--output-uri", "s3://cli-bucket/noslash", "--out", str(cli_env["out"]),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Completed" in result.stdout
    assert "does not end in '/'" in result.stderr


def test_dry_run_sends_nothing_and_elides_images(
    cli_env: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    from PIL import Image

    image = tmp_path / "start.png"
    Image.new("RGB", (1280, 720), (10, 20, 30)).save(image)
    before = emulator.stats()["totalRequests"]
    code, data = run_json(
        "generate", "A boat", "--image", str(image), "--dry-run", *cli_env["args"]
    )
    assert code == 0
    assert data["status"] == "DryRun"
    sent = data["request"]["textToVideoParams"]["images"][0]
    assert sent["path"] == str(image) and len(sent["sha256"]) == 64
    assert "bytes" not in json.dumps(data)
    assert emulator.stats()["totalRequests"] == before


def test_dry_run_of_manual_shots_prices_six_seconds_each(cli_env: dict[str, Any]) -> None:
    code, data = run_json(
        "generate", "--shot", "one", "--shot", "two", "--shot", "three", "--dry-run",
        *cli_env["args"],
    )  # fmt: skip
    assert code == 0
    assert data["task_type"] == "MULTI_SHOT_MANUAL"
    assert data["duration_seconds"] == 18
    assert data["estimated_cost_usd"] == 1.44


@pytest.mark.parametrize(
    "args,field",
    [
        (["x" * 513], "prompt"),
        (["x", "--duration", "13"], "duration"),
        (["x", "--task", "text", "--duration", "12"], "duration"),
        (["x", "--seed", "2147483647"], "seed"),
        (["x", "--model-id", "amazon.nova-reel-v1:0", "--duration", "12"], "model_id"),
        (["--shot", "only one"], "shots"),
        (["x", "--output-uri", "s3://Bad_Bucket/"], "output_uri"),
        (["x", "--fit", "squash"], "fit"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    cli_env: dict[str, Any], emulator: Any, args: list[str], field: str
) -> None:
    before = emulator.stats()["totalRequests"]
    conn = cli_env["conn"]
    extra = [] if "--output-uri" in args else ["--output-uri", "s3://cli-bucket/v/"]
    code, data = run_json("generate", *args, *conn, *extra)
    assert code == 2
    assert data["error"]["type"] == "InvalidRequestError"
    assert field in [p["field"] for p in data["error"]["problems"]]
    assert emulator.stats()["totalRequests"] == before


def test_missing_output_uri_is_bad_input() -> None:
    code, data = run_json("generate", "x")
    assert code == 2
    assert data["error"]["problems"][0]["field"] == "output_uri"
    assert "--local" in data["error"]["hint"]


def test_failed_job_exits_1_with_explanation(cli_env: dict[str, Any], emulator: Any) -> None:
    emulator.fail_jobs(failure_type="INTERNAL_SERVER_EXCEPTION", shot=1)
    code, data = run_json("generate", "doomed", *cli_env["args"], "--out", str(cli_env["out"]))
    assert code == 1
    failure = data["error"]["result"]["failure"]
    assert failure["type"] == "INTERNAL_SERVER_EXCEPTION" and failure["shot"] == 1
    assert data["error"]["type"] == "JobFailedError"


def test_timeout_exits_1_and_wait_resumes(cli_env: dict[str, Any], emulator: Any) -> None:
    emulator.configure(speed=1.0)
    code, data = run_json("generate", "slow", *cli_env["args"], "--timeout", "0.2")
    assert code == 1
    assert data["error"]["type"] == "WaitTimeoutError"
    ledger_id = data["error"]["result"]["ledger_id"]
    assert f"novareel wait {ledger_id}" in data["error"]["hint"]
    emulator.configure(speed=500.0)  # the resumed wait learns the emulator's speed
    emulator.finish(data["error"]["result"]["invocation_arn"])
    code, waited = run_json("wait", str(ledger_id), *cli_env["conn"], "--out", str(cli_env["out"]))
    assert code == 0 and waited["status"] == "Completed"
    assert any(p.endswith("output.mp4") for p in waited["local_files"])


def test_access_denied_exits_3_with_model_access_hint(
    cli_env: dict[str, Any], emulator: Any
) -> None:
    emulator.fail_calls("StartAsyncInvoke", "AccessDeniedException", count=1)
    code, data = run_json("generate", "x", *cli_env["args"], "--no-wait")
    assert code == 3
    assert data["error"]["code"] == "AccessDeniedException"
    assert "Model access" in data["error"]["hint"]


def test_no_wait_then_status_wait_download_list(cli_env: dict[str, Any]) -> None:
    code, submitted = run_json("generate", "later", *cli_env["args"], "--no-wait")
    assert code == 0 and submitted["status"] == "InProgress"
    ref = submitted["invocation_id"]
    code, status = run_json("status", ref, *cli_env["conn"])
    assert code == 0 and status["invocation_arn"] == submitted["invocation_arn"]
    code, waited = run_json("wait", submitted["invocation_arn"], *cli_env["conn"])
    assert waited["status"] == "Completed"
    code, downloaded = run_json("download", str(submitted["ledger_id"]), *cli_env["conn"],
                                "--out", str(cli_env["out"]))  # fmt: skip
    assert code == 0 and len(downloaded["local_files"]) == 3
    code, listed = run_json("list", *cli_env["conn"], "--status", "Completed")
    assert code == 0 and [j["invocation_id"] for j in listed] == [ref]


def test_unknown_job_is_a_clear_error(cli_env: dict[str, Any]) -> None:
    code, data = run_json("status", "nosuchjob123", *cli_env["conn"])
    assert code == 2
    assert data["error"]["type"] == "LedgerError"


def test_storyboard_option(cli_env: dict[str, Any], tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text("seed: 7\nshots:\n  - text: spring forest\n  - text: summer forest\n")
    code, data = run_json("generate", "--storyboard", str(board), "--dry-run", *cli_env["args"])
    assert code == 0
    assert data["task_type"] == "MULTI_SHOT_MANUAL" and data["seed"] == 7
    assert data["duration_seconds"] == 12


def test_local_starts_an_emulator_inside_the_command(tmp_path: Path) -> None:
    """`--local` with nothing running: the command starts, uses and stops its own."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NOVAREEL_EMULATOR_URL": f"http://127.0.0.1:{port}"}
    proc = subprocess.run(
        [sys.executable, "-m", "novareel", "generate", "A golden sunset", "--local", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "Completed"
    assert (job_dir(tmp_path, data["ledger_id"]) / "output.mp4").stat().st_size > 10_000


def test_no_wait_with_a_throwaway_emulator_says_it_dies_with_the_command(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NOVAREEL_EMULATOR_URL": f"http://127.0.0.1:{port}"}
    proc = subprocess.run(
        [sys.executable, "-m", "novareel", "generate", "A kite", "--local", "--no-wait", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    notices = " ".join(json.loads(proc.stdout)["notices"])
    assert "stops with it" in notices and "novareel emulator" in notices


def test_generate_warns_about_negation_without_blocking(cli_env: dict[str, Any]) -> None:
    code, data = run_json("generate", "A beach with no people", "--dry-run", *cli_env["args"])
    assert code == 0 and data["status"] == "DryRun"
    assert any('negation ("no")' in notice for notice in data["notices"])
