"""`novareel emulator` serves until interrupted, and other commands find it with --local."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from novareel.client.local import probe
from tests.helpers import job_dir


def test_emulator_command_serves_and_local_commands_use_it(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "novareel", "emulator", "--port", "0", "--speed", "400", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        _use_running_emulator(proc, tmp_path)
    assert proc.returncode == 0


def _use_running_emulator(proc: subprocess.Popen[str], tmp_path: Path) -> None:
    try:
        assert proc.stdout is not None
        text = ""
        while not text.rstrip().endswith("}"):
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "emulator exited"
            text += line
        first = json.loads(text)
        assert first["host"] == "127.0.0.1" and first["speed"] == 400
        health = probe(first["url"], timeout=5)
        assert health is not None and health["speed"] == 400
        env = {**os.environ, "NOVAREEL_EMULATOR_URL": first["url"]}
        submit = subprocess.run(
            [sys.executable, "-m", "novareel", "generate", "a kite", "--local", "--no-wait",
             "--json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert submit.returncode == 0, submit.stderr
        job = json.loads(submit.stdout)
        # The emulator outlives the command, so a later command can wait for the job.
        waited = subprocess.run(
            [sys.executable, "-m", "novareel", "wait", str(job["ledger_id"]), "--local",
             "--out", str(tmp_path), "--json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert waited.returncode == 0, waited.stderr
        assert (job_dir(tmp_path, job["ledger_id"]) / "output.mp4").is_file()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
