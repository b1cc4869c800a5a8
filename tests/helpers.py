"""Plain helpers shared by the test packages (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from novareel.client import AwsClient

BUCKET = "novareel-test-out"
OUTPUT = f"s3://{BUCKET}/videos/"


def make_client(url: str, **kwargs: Any) -> AwsClient:
    """An AwsClient for the emulator at ``url``, with dummy credentials."""
    kwargs.setdefault("region", "us-east-1")
    return AwsClient(endpoint_url=url, access_key="testing", secret_key="testing", **kwargs)


def write_png(path: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    """A valid 1280x720 RGB PNG of one colour."""
    from PIL import Image

    Image.new("RGB", (1280, 720), colour).save(path)
    return path


def job_dir(root: Path, ref: str | int) -> Path:
    """Where novareel downloads a job under ``root``: the folder named by
    :mod:`novareel.foundation.naming` from the job's ledger row (date, slug, invocation id)."""
    from novareel.foundation.naming import job_folder_name, job_label
    from novareel.ledger import Ledger

    with Ledger.open_default() as ledger:
        record = ledger.get(ref)
    assert record.invocation_id
    label = job_label(name=record.name, batch_item=record.batch_item, request=record.request)
    return root / job_folder_name(record.invocation_id, label=label, when=record.submit_time)


def record_timed_job(
    ledger: Any,
    seconds: float,
    *,
    model_id: str = "amazon.nova-reel-v1:1",
    duration: int = 6,
    endpoint: str | None = None,
    time_scale: float = 1.0,
    ended_at: Any = None,
) -> Any:
    """Record one job through the ledger's real path (intent, submit, Completed with the
    service's times) that took ``seconds`` of wall time on an endpoint of speed
    ``time_scale``; returns its record (``generation_seconds`` = seconds x speed)."""
    import uuid
    from datetime import datetime, timedelta, timezone

    end = ended_at or datetime.now(timezone.utc)
    start = end - timedelta(seconds=seconds)
    job = ledger.add_intent(
        client_token=f"t-{uuid.uuid4()}",
        model_id=model_id,
        task_type="TEXT_VIDEO",
        request={"taskType": "TEXT_VIDEO"},
        output_uri="s3://b/v/",
        duration_seconds=duration,
        seed=1,
        estimated_cost_usd=0.48,
        endpoint=endpoint,
    )
    arn = f"arn:aws:bedrock:us-east-1:123456789012:async-invoke/{uuid.uuid4().hex[:12]}"
    ledger.mark_submitted(job.id, invocation_arn=arn, submit_time=start)
    return ledger.record_status(
        job.id, "Completed", end_time=end, submit_time=start, time_scale=time_scale
    )


def fresh_ledger(backend: str, new_target: Any, home: Path) -> dict[str, str]:
    """The environment naming a fresh ledger for one round of a many-process test,
    migrated before the race (so the race is the submits', not the schema's): the
    round's new ``home`` (a NOVAREEL_HOME) holds it on SQLite; on PostgreSQL it is a
    new schema (``new_target``, the conftest fixture), named by NOVAREEL_LEDGER_URL."""
    from novareel.ledger import Ledger
    from novareel.ledger.backend import LEDGER_URL_ENV

    home.mkdir(parents=True, exist_ok=True)
    if backend != "postgres":
        Ledger(home / "ledger.db").close()
        return {}
    url = str(new_target())
    Ledger(url).close()
    return {LEDGER_URL_ENV: url}


def process_env(home: Path, emulator_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``novareel`` process a test starts: this test's, with
    ``home`` as NOVAREEL_HOME, the emulator, and ``extra``; a test-only kill or hold
    point or a NOVAREEL_QUOTA is never inherited (``extra`` may set one)."""
    import os

    env = {**os.environ, "NOVAREEL_HOME": str(home), "NOVAREEL_EMULATOR_URL": emulator_url}
    for name in ("NOVAREEL_TEST_KILL_AT", "NOVAREEL_TEST_HOLD_SUBMIT", "NOVAREEL_QUOTA"):
        env.pop(name, None)
    env.update(extra)
    return env


def batch_command(path: Path, max_concurrent: int) -> list[str]:
    """``novareel batch PATH --local --no-download --max-concurrent N --json`` run by
    this interpreter: the batch process the many-process tests and
    ``bench/bench_quota.py`` start side by side."""
    return [
        sys.executable,
        "-m",
        "novareel",
        "batch",
        str(path),
        "--local",
        "--no-download",
        "--max-concurrent",
        str(max_concurrent),
        "--json",
    ]


def run_together(
    runs: Sequence[tuple[list[str], Mapping[str, str]]], timeout: float
) -> list[tuple[int, str, str]]:
    """Start every command at once, each with its environment, so they race; then
    (exit code, stdout, stderr) of each, in order, each given ``timeout`` seconds."""
    processes = [
        subprocess.Popen(
            command, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for command, env in runs
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        results.append((process.returncode, out, err))
    return results


def round_env(
    emulator_url: str, home: Path, backend: str, new_target: Any, **extra: str
) -> dict[str, str]:
    """:func:`process_env` with the round's fresh ledger (:func:`fresh_ledger`)."""
    return process_env(home, emulator_url, **extra, **fresh_ledger(backend, new_target, home))
