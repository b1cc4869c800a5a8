"""Faults on the emulator: each ends in success or a clear error, ledger and files intact."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from novareel import JobFailedError, MultiShotAutomated, TextVideo
from novareel.foundation.errors import AwsError, EndpointError, ServiceUnavailableError
from novareel.jobs import VideoGenerator
from novareel.ledger import Ledger
from tests.helpers import BUCKET, OUTPUT, job_dir, make_client

EXPECTED_FILES = ["manifest.json", "output.mp4", "video-generation-status.json"]


def _reel(emulator: Any, max_attempts: int) -> VideoGenerator:
    client = make_client(emulator.url, max_attempts=max_attempts)
    client.ensure_bucket(BUCKET)
    return VideoGenerator(client, time_scale=float(emulator.health()["speed"]))


def _row(reel: VideoGenerator, ledger_id: int | str | None) -> Any:
    assert reel.ledger is not None and ledger_id is not None
    return reel.ledger.get(ledger_id)


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _assert_whole_download(folder: Path, s3_client: Any, invocation_id: str) -> None:
    """Every object is on disk under its own name, whole, and no temp file is left."""
    listed = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=f"videos/{invocation_id}/")
    sizes = {o["Key"].rsplit("/", 1)[-1]: o["Size"] for o in listed["Contents"]}
    assert sorted(p.name for p in folder.iterdir()) == sorted(sizes)
    for name, size in sizes.items():
        assert (folder / name).stat().st_size == size, name
    assert _frames(folder / "output.mp4") == 144


# --------------------------------------------------------------------- throttling


def test_half_of_submits_throttled_every_job_submitted_exactly_once(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seed 91 throttles exactly half of the 16 calls that 8 submits make, never more
    # than twice in a row; the quota is raised, on the service and in the ledger's
    # shared quota (else the 4th submit waits for one of the first three jobs to end,
    # which on a loaded machine they had not), so only throttling is in play.
    emulator.configure(quotas={"amazon.nova-reel-v1:1": 50})
    monkeypatch.setenv("NOVAREEL_QUOTA", "50")
    emulator.fail_calls(
        "StartAsyncInvoke", "ThrottlingException", count=None, probability=0.5, seed=91
    )
    prompts = [f"A paper boat number {i} on a pond" for i in range(8)]
    with _reel(emulator, max_attempts=12) as reel:
        results = [reel.submit(TextVideo(p), OUTPUT) for p in prompts]
        stats = emulator.stats()
        throttled = stats["rejections"].get("ThrottlingException", 0)
        assert throttled > 0, "the storm did not throttle anything"
        assert stats["acceptedSubmissions"] == len(prompts)
        assert stats["requests"]["StartAsyncInvoke"] == len(prompts) + throttled
        arns = [r.invocation_arn for r in results]
        assert len(set(arns)) == len(prompts)

        # Every ledger row holds its ARN, and the emulator saw that row's token.
        jobs = {j["invocationArn"]: j for j in emulator.jobs()}
        assert set(jobs) == set(arns)
        for result in results:
            row = _row(reel, result.ledger_id)
            assert row.invocation_arn == result.invocation_arn
            assert jobs[row.invocation_arn]["clientRequestToken"] == row.client_token
        emulator.clear_faults()
        for result in results:
            done = reel.wait(str(result.ledger_id), timeout=60)
            assert done.status == "Completed"


def test_resubmitting_a_token_whose_answer_was_lost_creates_no_second_job(
    emulator: Any,
) -> None:
    """A crash between the service's accept and the ledger's write: same token, same job."""
    with _reel(emulator, max_attempts=3) as reel:
        first = reel.submit(TextVideo("A crane at sunrise"), OUTPUT, client_token="tok-lost-1")
        # Simulate the lost answer: a fresh ledger that never recorded the ARN.
        assert reel.ledger is not None
        with Ledger(reel.ledger.path.parent / "other.db") as fresh:
            other = VideoGenerator(reel.client, ledger=fresh, time_scale=reel.time_scale)
            again = other.submit(TextVideo("A crane at sunrise"), OUTPUT, client_token="tok-lost-1")
        assert again.invocation_arn == first.invocation_arn
        stats = emulator.stats()
        assert stats["acceptedSubmissions"] == 1
        assert stats["idempotentReplays"] == 1


# --------------------------------------------------------------------- 5xx bursts

BURST_OPERATIONS = ["StartAsyncInvoke", "GetAsyncInvoke", "ListObjectsV2", "GetObject"]


@pytest.mark.parametrize("operation", BURST_OPERATIONS)
def test_short_5xx_burst_is_absorbed_by_retries(
    emulator: Any, s3_client: Any, tmp_path: Path, operation: str
) -> None:
    # A 503 then a 500 on the same operation (S3 sees ServiceUnavailable, InternalError).
    emulator.fail_calls(operation, "ServiceUnavailableException", count=1)
    emulator.fail_calls(operation, "InternalServerException", count=1)
    with _reel(emulator, max_attempts=8) as reel:
        result = reel.generate(TextVideo(f"Burst on {operation}"), OUTPUT, out_dir=tmp_path)
        assert result.status == "Completed"
        assert result.invocation_id
        stats = emulator.stats()
        assert stats["rejections"] == {
            "ServiceUnavailableException": 1,
            "InternalServerException": 1,
        }
        assert stats["acceptedSubmissions"] == 1
        _assert_whole_download(
            job_dir(tmp_path, result.invocation_id), s3_client, result.invocation_id
        )
        row = _row(reel, result.ledger_id)
        assert row.status == "Completed"
        assert sorted(Path(p).name for p in row.local_files) == EXPECTED_FILES


@pytest.mark.parametrize("operation", BURST_OPERATIONS)
def test_burst_outlasting_retries_is_a_clear_error_and_resumable(
    emulator: Any, s3_client: Any, tmp_path: Path, operation: str
) -> None:
    emulator.fail_calls(operation, "ServiceUnavailableException", count=None)
    with _reel(emulator, max_attempts=3) as reel:
        with pytest.raises(AwsError) as info:
            reel.generate(TextVideo(f"Long outage of {operation}"), OUTPUT, out_dir=tmp_path)
        error = info.value
        assert isinstance(error, ServiceUnavailableError)
        assert operation in error.message or "GetObject" in error.message
        assert error.exit_code == 3
        assert emulator.stats()["rejections"]["ServiceUnavailableException"] >= 3

        assert reel.ledger is not None
        rows = reel.ledger.list_jobs()
        assert len(rows) == 1
        row = rows[0]
        emulator.clear_faults()
        if operation == "StartAsyncInvoke":
            # Never accepted: the row keeps its token so a resubmit cannot pay twice.
            assert row.invocation_arn is None
            assert emulator.stats()["acceptedSubmissions"] == 0
            again = reel.submit(
                TextVideo(f"Long outage of {operation}"), OUTPUT, client_token=row.client_token
            )
            ref = str(again.ledger_id)
            assert again.ledger_id == row.id
        else:
            assert row.invocation_arn
            ref = str(row.id)
        done = reel.wait(ref, timeout=60)
        assert done.status == "Completed"
        downloaded = reel.download(ref, tmp_path)
        assert downloaded.invocation_id
        _assert_whole_download(
            job_dir(tmp_path, downloaded.invocation_id), s3_client, downloaded.invocation_id
        )
        assert emulator.stats()["acceptedSubmissions"] == 1


# --------------------------------------------------------------------- cut downloads


def test_cut_downloads_are_resumed_and_whole(
    reel: VideoGenerator, emulator: Any, s3_client: Any, tmp_path: Path
) -> None:
    submitted = reel.generate(TextVideo("A hummingbird at a feeder"), OUTPUT, out_dir=None)
    assert submitted.invocation_id
    emulator.cut_downloads(count=3)  # one cut per file of the job
    result = reel.download(str(submitted.ledger_id), tmp_path)
    _assert_whole_download(
        job_dir(tmp_path, submitted.invocation_id), s3_client, submitted.invocation_id
    )
    assert sorted(Path(p).name for p in result.local_files) == EXPECTED_FILES
    assert not any("could not be read" in n for n in result.notices)
    row = _row(reel, submitted.ledger_id)
    assert sorted(Path(p).name for p in row.local_files) == EXPECTED_FILES


def test_downloads_cut_every_time_leave_no_truncated_file(
    reel: VideoGenerator, emulator: Any, s3_client: Any, tmp_path: Path
) -> None:
    submitted = reel.generate(TextVideo("A heron in reeds"), OUTPUT, out_dir=None)
    assert submitted.invocation_id
    emulator.cut_downloads(count=1000)
    with pytest.raises(EndpointError) as info:
        reel.download(str(submitted.ledger_id), tmp_path)
    assert "GetObject" in info.value.message and "cut off" in info.value.message
    assert info.value.exit_code == 3 and info.value.hint
    folder = job_dir(tmp_path, submitted.invocation_id)
    sizes = {
        o["Key"].rsplit("/", 1)[-1]: o["Size"]
        for o in s3_client.list_objects_v2(
            Bucket=BUCKET, Prefix=f"videos/{submitted.invocation_id}/"
        )["Contents"]
    }
    # No truncated file under a final name, and no temporary file left behind.
    for path in folder.iterdir():
        assert path.name in sizes, f"stray file {path.name}"
        assert path.stat().st_size == sizes[path.name], path.name
    row = _row(reel, submitted.ledger_id)
    assert row.status == "Completed" and row.invocation_arn == submitted.invocation_arn

    # Once the network heals, the same command finishes the job's files.
    emulator.clear_faults()
    reel.download(str(submitted.ledger_id), tmp_path)
    _assert_whole_download(folder, s3_client, submitted.invocation_id)


# --------------------------------------------------------------------- failing job


def test_job_failing_at_shot_k(reel: VideoGenerator, emulator: Any, tmp_path: Path) -> None:
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=3, marker="FAIL-AT-3")
    request = MultiShotAutomated("A long walk. FAIL-AT-3. Rain. Sun.", duration=24)
    with pytest.raises(JobFailedError) as info:
        reel.generate(request, OUTPUT, out_dir=tmp_path)
    error = info.value
    assert error.exit_code == 1
    failure = error.result.failure
    assert failure is not None
    assert failure.shot == 3
    assert failure.type == "INTERNAL_SERVER_EXCEPTION"
    assert "3" in error.message and error.hint
    row = _row(reel, error.result.ledger_id)
    assert row.status == "Failed"
    assert row.failure_shot == 3
    assert row.failure_type == "INTERNAL_SERVER_EXCEPTION"
    assert row.invocation_arn == error.result.invocation_arn
    # The evidence was downloaded: the status file and the manifest, no video.
    names = sorted(Path(p).name for p in error.result.local_files)
    assert names == ["manifest.json", "video-generation-status.json"]
    assert all(Path(p).is_file() for p in error.result.local_files)


# --------------------------------------------------------------------- restart


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _EmulatorProcess:
    def __init__(self, port: int, speed: float) -> None:
        self.port, self.speed = port, speed
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from novareel.emulator import EmulatorControl

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "novareel.emulator", "--port", str(self.port),
             "--speed", str(self.speed), "--submit-rate", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        control = EmulatorControl(self.url, timeout=2)
        for _ in range(300):
            if control.is_running():
                return
            assert self.proc.poll() is None, "the emulator process exited"
            time.sleep(0.1)
        raise AssertionError("the emulator did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def emulator_process() -> Iterator[_EmulatorProcess]:
    process = _EmulatorProcess(_free_port(), speed=1.0)
    process.start()
    try:
        yield process
    finally:
        process.kill()


def test_emulator_restarted_mid_wait_is_a_clear_error(
    emulator_process: _EmulatorProcess,
) -> None:
    client = make_client(emulator_process.url, max_attempts=3)
    client.ensure_bucket(BUCKET)
    with VideoGenerator(client, time_scale=1.0) as reel:
        submitted = reel.submit(TextVideo("A slow sunrise over a valley"), OUTPUT)
        ledger_id = submitted.ledger_id
        assert ledger_id is not None
        calls: list[int] = []

        def restart_on_first_poll(progress: Any) -> None:
            calls.append(progress.polls)
            if len(calls) == 1:
                assert progress.status == "InProgress"
                emulator_process.kill()
                emulator_process.start()  # same port, all state lost

        with pytest.raises(AwsError) as info:
            reel.wait(
                str(ledger_id),
                timeout=120,
                poll_interval=0.2,
                on_progress=restart_on_first_poll,
            )
        error = info.value
        assert "GetAsyncInvoke" in error.message
        assert error.hint
        assert error.exit_code == 3
        row = _row(reel, ledger_id)
        assert row.invocation_arn == submitted.invocation_arn
        assert row.client_token == submitted.client_token
        assert row.status in ("Submitted", "InProgress")


def test_emulator_gone_mid_wait_is_a_clear_error(emulator_process: _EmulatorProcess) -> None:
    client = make_client(emulator_process.url, max_attempts=2, connect_timeout=2)
    client.ensure_bucket(BUCKET)
    with VideoGenerator(client, time_scale=1.0) as reel:
        submitted = reel.submit(TextVideo("A slow sunset over a lake"), OUTPUT)

        def stop_on_first_poll(progress: Any) -> None:
            emulator_process.kill()

        with pytest.raises(EndpointError) as info:
            reel.wait(
                str(submitted.ledger_id),
                timeout=120,
                poll_interval=0.2,
                on_progress=stop_on_first_poll,
            )
        assert "could not reach the endpoint" in info.value.message
        assert info.value.hint and "--endpoint-url" in info.value.hint
        row = _row(reel, submitted.ledger_id)
        assert row.invocation_arn == submitted.invocation_arn


def test_cli_download_cut_every_time_exits_3_with_a_message(
    reel: VideoGenerator, emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from novareel.cli import _register, app

    _register()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    submitted = reel.generate(TextVideo("A moth at a lamp"), OUTPUT, out_dir=None)
    emulator.cut_downloads(count=1000)
    result = CliRunner().invoke(
        app,
        ["download", str(submitted.ledger_id), "--endpoint-url", emulator.url,
         "--out", str(tmp_path), "--json"],
    )  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "EndpointError"
    assert "cut off" in error["message"] and error["hint"]
