"""Issue 22, item 10, tried fresh: the "no region configured" notice came after
"submitting ...", so the person read where the job went only once it was sent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def test_the_region_notice_comes_before_the_submit(
    emulator: Any, emulator_bucket: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        NOVAREEL_HOME=str(tmp_path / "home"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),  # no region from a profile either
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "novareel", "generate", "A lighthouse at dawn",
         "--endpoint-url", emulator.url, "--output-uri", f"s3://{emulator_bucket}/v/",
         "--no-wait"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    said = proc.stderr
    notice = "no AWS region configured: using us-east-1"
    assert said.count(notice) == 1, said
    assert said.index(notice) < said.index("submitting 1 job")


def test_a_dry_run_on_the_emulator_is_priced_as_the_run_would_be(tmp_path: Path) -> None:
    """``generate --local --dry-run`` said "~$0.48" (and ``ran_locally: false``) where
    the real run says "$0 here (≈ $0.48 on AWS)": the dry run is priced alike."""
    import json

    env = {**os.environ, "NOVAREEL_HOME": str(tmp_path / "home")}
    base = [sys.executable, "-m", "novareel", "generate", "A kite", "--local", "--dry-run"]
    text = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    assert "$0 here (≈ $0.48 on AWS)" in text.stdout
    data = subprocess.run([*base, "--json"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert json.loads(data.stdout)["ran_locally"] is True


def test_the_identical_job_hint_names_the_flag_not_the_python_keyword(
    emulator: Any, tmp_path: Path
) -> None:
    """Item 10: a second identical ``generate`` attaches to the first and said "--again
    on the command line, again=True in Python" to a person at the command line."""
    env = {**os.environ, "NOVAREEL_HOME": str(tmp_path / "home"),
           "NOVAREEL_EMULATOR_URL": emulator.url}  # fmt: skip
    command = [sys.executable, "-m", "novareel", "generate", "A kite", "--local", "--no-wait"]
    runs = [subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
            for _ in range(2)]  # fmt: skip
    assert all(run.returncode == 0 for run in runs), runs[-1].stderr
    said = runs[1].stderr
    assert "an identical job 1 is" in said
    assert "To pay for a new one on purpose: --again" in said
    assert "again=True" not in said and "Python" not in said
