"""Secrets: with canary credentials in the environment and debug logging on, no
command's output, no log line and no ledger byte contains the secret key or token."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from novareel.cli import _COMMAND_MODULES, _register, app
from tests.helpers import BUCKET, make_client

_register()
runner = CliRunner()

ACCESS_KEY = "AKIACANARY0000000000"
SECRET_KEY = "canary-secret-DO-NOT-LEAK-7f3c9a1e5b"
SESSION_TOKEN = "canary-session-token-DO-NOT-LEAK-2d8e4b6a0c"
SECRETS = (SECRET_KEY, SESSION_TOKEN)


@pytest.fixture
def canary_env(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("NOVAREEL_LOG_LEVEL", "DEBUG")
    make_client(emulator.url).ensure_bucket(BUCKET)
    # Each invocation gets a fresh novareel log handler bound to that run's stderr.
    logger = logging.getLogger("novareel")
    saved = list(logger.handlers)
    saved_level = logger.level
    yield {"url": emulator.url, "out": tmp_path / "videos", "tmp": tmp_path}
    logger.handlers[:] = saved
    logger.setLevel(saved_level)


class Transcript:
    """Everything the user (or a log collector) could see, across all commands."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []

    def add(self, label: str, text: str) -> None:
        self.parts.append((label, text))

    def leaks(self, needles: tuple[str, ...]) -> list[str]:
        return [f"{label}: {n[:16]}..." for label, text in self.parts for n in needles if n in text]


def _invoke(transcript: Transcript, *args: str, expect: tuple[int, ...] = (0,)) -> Any:
    logger = logging.getLogger("novareel")
    logger.handlers[:] = [h for h in logger.handlers if not getattr(h, "_novareel", False)]
    result = runner.invoke(app, ["-vv", *args], catch_exceptions=False)
    label = " ".join(args[:2])
    transcript.add(f"{label} stdout", result.stdout)
    transcript.add(f"{label} stderr", result.stderr)
    assert result.exit_code in expect, (args, result.exit_code, result.output)
    return result


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


def test_every_command_keeps_secrets_out_of_output_logs_and_ledger(
    canary_env: dict[str, Any],
    emulator: Any,
    caplog: pytest.LogCaptureFixture,
    isolated_home: Path,
) -> None:
    caplog.set_level(logging.DEBUG, logger="novareel")
    url, out, tmp = canary_env["url"], canary_env["out"], canary_env["tmp"]
    conn = ["--endpoint-url", url]
    fast = ["--poll-interval", "0.2"]  # the CLI assumes real-time jobs; the emulator is 500x
    target = ["--output-uri", f"s3://{BUCKET}/v/"]
    t = Transcript()
    seen: set[str] = set()

    def run(*args: str, expect: tuple[int, ...] = (0,)) -> Any:
        grouped = ("jobs", "storyboard", "image", "ledger", "models")
        seen.add(args[0] if args[0] not in grouped else " ".join(args[:2]))
        return _invoke(t, *args, expect=expect)

    # --- the job commands, against the emulator
    done = _json(run("generate", "A canary in a coal mine", *conn, *target, *fast, "--out",
                     str(out), "--json"))  # fmt: skip
    assert done["status"] == "Completed"
    job = str(done["ledger_id"])
    video = next(p for p in done["local_files"] if p.endswith("output.mp4"))
    queued = _json(run("generate", "A second canary", *conn, *target, "--no-wait", "--json"))
    run("generate", "A third canary", *conn, *target, "--dry-run", "--json")
    run("generate", "x" * 600, *conn, *target, "--json", expect=(2,))
    run("status", job, *conn, "--json")
    run("wait", str(queued["ledger_id"]), *conn, *fast, "--out", str(out), "--json")
    run("download", job, *conn, "--out", str(out), "--json")
    run("status", "arn:aws:bedrock:us-east-1:123456789012:async-invoke/zzzzzzzzzzzz", *conn,
        "--json", expect=(3,))  # fmt: skip
    run("list", *conn, "--json")
    run("models", *conn, "--json")
    run("models", "default", "--json")
    run("doctor", *conn, *target, "--json", expect=(0, 1))
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=1, marker="CANARY-FAIL")
    failed = _json(run("generate", "CANARY-FAIL bird", *conn, *target, *fast, "--no-download",
                       "--json", expect=(1,)))  # fmt: skip
    failed_id = str(failed["error"]["result"]["ledger_id"])
    run("jobs", "list", "--json")
    run("jobs", "show", job, "--json")
    run("jobs", "sync", *conn, "--json")
    run("jobs", "retry", failed_id, *conn, "--no-wait", "--json")
    run("spend", "--by", "model", "--json")
    run("ledger", "backup", str(tmp / "ledger-backup.db"), "--json")
    t.add("ledger backup", (tmp / "ledger-backup.db").read_bytes().decode("latin-1"))
    if "batch_cmd" in _COMMAND_MODULES:
        batch = tmp / "batch.yaml"
        batch.write_text("- id: one\n  prompt: A canary batch item\n")
        # Real-time polling: stop after a moment (the job goes on); the output still counts.
        run("batch", str(batch), *conn, *target, "--out", str(out), "--timeout", "1", "--json",
            expect=(0, 1))  # fmt: skip

    # --- the media commands, on the downloaded video and local files
    run("inspect", video, "--json")
    run("frame", video, "--last", "-o", str(tmp / "last.png"), "--json")
    run("contact-sheet", video, "-o", str(tmp / "sheet.png"), "--json")
    run("camera", "--json")
    image = tmp / "start.png"
    Image.new("RGB", (1280, 720), (1, 2, 3)).save(image)
    run("image", "check", str(image), "--json")
    board = tmp / "board.yaml"
    board.write_text("shots:\n  - text: one\n  - text: two\n")
    run("storyboard", "check", str(board), "--json")
    # what the video shows (offline), and Nova 2 Lite's review of it (InvokeModel)
    run("qa", video, "--json", expect=(0, 1))
    run("review", job, *conn, "--json")
    # the gallery page holds prompts and (for videos left in S3) presigned links
    run("gallery", "-o", str(tmp / "gallery"), "--json")
    t.add("gallery page", (tmp / "gallery" / "index.html").read_text(encoding="utf-8"))
    # The MCP server's startup (a bad cap: it exits 2 before reading stdin).
    run("mcp", *conn, "--max-cost", "abc", "--json", expect=(2,))

    # Every registered command (and sub-command) was run.
    def name(c: Any) -> str:
        return str(c.name or c.callback.__name__.replace("_", "-"))

    groups = [
        (g.name, g.typer_instance.registered_commands if g.typer_instance else [])
        for g in app.registered_groups
    ]
    commands = {name(c) for c in app.registered_commands}
    commands |= {f"{group} {name(c)}" for group, subs in groups for c in subs}
    assert commands - {"emulator"} <= seen, commands - seen

    # novareel's own log lines were captured, and none carries a secret (nor the key id).
    records = [r for r in caplog.records if r.name.startswith("novareel")]
    assert any("StartAsyncInvoke" in r.getMessage() for r in records)
    t.add("log records", "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records))
    t.add("caplog text", caplog.text)
    for path in sorted(isolated_home.glob("ledger.db*")):
        t.add(path.name, path.read_bytes().decode("latin-1"))
    assert (isolated_home / "ledger.db").is_file()
    assert t.leaks(SECRETS) == []
    assert t.leaks((ACCESS_KEY,)) == []  # novareel never prints the key id either


def test_debug_flags_leave_botocore_logging_alone(canary_env: dict[str, Any]) -> None:
    """botocore's DEBUG output includes signed headers (X-Amz-Security-Token):
    ``-vv`` and NOVAREEL_LOG_LEVEL=DEBUG must raise only novareel's logger."""
    t = Transcript()
    _invoke(t, "camera", "--json")
    assert logging.getLogger("novareel").isEnabledFor(logging.DEBUG)
    for name in ("botocore", "botocore.endpoint", "botocore.auth", "urllib3", "s3transfer"):
        logger = logging.getLogger(name)
        assert logger.getEffectiveLevel() > logging.DEBUG, name


def test_generate_in_a_real_process_with_debug_logging(
    canary_env: dict[str, Any], isolated_home: Path
) -> None:
    """The real console: stderr of ``novareel -vv generate`` with debug env set."""
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "novareel", "-vv", "generate", "A canary on a wire",
         "--endpoint-url", canary_env["url"], "--output-uri", f"s3://{BUCKET}/v/",
         "--poll-interval", "0.2", "--out", str(canary_env["out"])],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "StartAsyncInvoke ok" in proc.stderr  # debug logging really was on
    assert "Completed" in proc.stdout
    combined = proc.stdout + proc.stderr
    for secret in (*SECRETS, ACCESS_KEY):
        assert secret not in combined
    ledger = b"".join(p.read_bytes() for p in isolated_home.glob("ledger.db*"))
    for secret in (*SECRETS, ACCESS_KEY):
        assert secret.encode() not in ledger


def test_botocore_debug_would_leak_the_session_token(canary_env: dict[str, Any]) -> None:
    """Why the previous tests matter: forcing botocore to DEBUG prints the token."""
    proc = subprocess.run(
        [sys.executable, "-c",
         "import logging, boto3; logging.basicConfig(level=logging.DEBUG);"
         f"c = boto3.client('s3', endpoint_url={canary_env['url']!r}, region_name='us-east-1');"
         "c.list_buckets()"],
        capture_output=True, text=True, env=dict(os.environ), timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert SESSION_TOKEN in proc.stderr
