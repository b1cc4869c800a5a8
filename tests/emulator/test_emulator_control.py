"""Limits, injected faults and the control endpoint."""

from __future__ import annotations

import http.client
import time
from typing import Any
from urllib.parse import urlparse

import pytest
from botocore.exceptions import ClientError
from emu_helpers import V0, V1, start, text_video, wait

from novareel.emulator import EmulatorControl
from novareel.emulator.control_client import EmulatorControlError


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_health_identifies_the_emulator(emulator: EmulatorControl) -> None:
    assert emulator.health()["service"] == "novareel-emulator"
    assert emulator.is_running()
    assert not EmulatorControl("http://127.0.0.1:9", timeout=0.5).is_running()


def test_reset_clears_jobs_buckets_faults_and_config(
    emulator: EmulatorControl, bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(speed=3, quotas={V1: 7})
    emulator.fail_jobs(count=None)
    emulator.fail_calls("GetAsyncInvoke", count=None)
    emulator.spoil_videos("black", 1, 1, marker="never-used")
    start(bedrock_client, emulator_bucket, text_video())
    emulator.reset()
    assert emulator.jobs() == []
    assert emulator.stats()["totalRequests"] == 0
    assert emulator.faults() == {"api": [], "jobs": [], "downloadCuts": 0, "defects": []}
    assert emulator.config()["speed"] == 500.0
    assert emulator.config()["quotas"] == {V0: 10, V1: 3, "luma.ray-v2:0": 3}
    assert s3_client.list_buckets()["Buckets"] == []


def test_config_rejects_unknown_keys(emulator: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError) as exc:
        emulator.configure(colour="blue")
    assert exc.value.status == 400


def test_concurrency_quota(
    emulator: EmulatorControl, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(speed=1)  # jobs stay InProgress for ~76 s
    emulator.fail_jobs(count=None)  # and never render: cheap
    for _ in range(3):
        start(bedrock_client, emulator_bucket, text_video())
    with pytest.raises(ClientError) as exc:
        start(bedrock_client, emulator_bucket, text_video())
    # What AWS users see by default; ServiceQuotaExceededException stays selectable.
    assert _error(exc) == ("ThrottlingException", 429)
    assert "3 concurrent async invocations" in exc.value.response["Error"]["Message"]
    emulator.configure(quota_error="service-quota-exceeded")
    with pytest.raises(ClientError) as exc:
        start(bedrock_client, emulator_bucket, text_video())
    assert _error(exc) == ("ServiceQuotaExceededException", 400)
    # v1:0 has its own quota (10)
    start(bedrock_client, emulator_bucket, text_video(), modelId=V0)
    stats = emulator.stats()
    assert stats["acceptedSubmissions"] == 4
    assert stats["rejections"] == {"ThrottlingException": 1, "ServiceQuotaExceededException": 1}
    # finishing one job frees a slot
    first = emulator.jobs()[0]["invocationArn"]
    emulator.finish(first)
    assert wait(bedrock_client, first, timeout=5)["status"] == "Failed"
    start(bedrock_client, emulator_bucket, text_video())


def test_submit_rate_limit(
    emulator: EmulatorControl, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(submit_rate=0.5, submit_burst=2)
    emulator.fail_jobs(count=None)
    start(bedrock_client, emulator_bucket, text_video())
    start(bedrock_client, emulator_bucket, text_video())
    with pytest.raises(ClientError) as exc:
        start(bedrock_client, emulator_bucket, text_video())
    assert _error(exc) == ("ThrottlingException", 429)
    assert emulator.stats()["acceptedSubmissions"] == 2


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 429),
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 500),
        ("ServiceQuotaExceededException", 400),
        ("AccessDeniedException", 403),
        ("ResourceNotFoundException", 404),
        ("ConflictException", 400),
        ("ValidationException", 400),
    ],
)
def test_injected_submit_errors(
    emulator: EmulatorControl, bedrock_client: Any, emulator_bucket: str, code: str, status: int
) -> None:
    emulator.fail_jobs(count=None)
    emulator.fail_calls("StartAsyncInvoke", code, count=1)
    with pytest.raises(ClientError) as exc:
        start(bedrock_client, emulator_bucket, text_video())
    assert _error(exc) == (code, status)
    start(bedrock_client, emulator_bucket, text_video())  # only the next call failed
    stats = emulator.stats()
    assert stats["acceptedSubmissions"] == 1
    assert stats["rejections"] == {code: 1}


def test_injected_get_and_list_errors(
    emulator: EmulatorControl, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.fail_jobs(count=None)
    arn = start(bedrock_client, emulator_bucket, text_video())
    emulator.fail_calls("GetAsyncInvoke", "ServiceUnavailableException", count=2)
    emulator.fail_calls("ListAsyncInvokes", "InternalServerException", count=1)
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            bedrock_client.get_async_invoke(invocationArn=arn)
        assert _error(exc) == ("ServiceUnavailableException", 503)
    assert bedrock_client.get_async_invoke(invocationArn=arn)["invocationArn"] == arn
    with pytest.raises(ClientError) as exc:
        bedrock_client.list_async_invokes()
    assert _error(exc) == ("InternalServerException", 500)


def test_probabilistic_faults_are_seeded(emulator: EmulatorControl, bedrock_client: Any) -> None:
    def run() -> list[str]:
        emulator.reset()
        emulator.fail_calls("StartAsyncInvoke", count=None, probability=0.5, seed=7)
        codes = []
        for _ in range(20):  # no bucket: every call that is not throttled is invalid
            with pytest.raises(ClientError) as exc:
                start(bedrock_client, "missing-bucket", text_video())
            codes.append(exc.value.response["Error"]["Code"])
        return codes

    first = run()
    assert 3 <= first.count("ThrottlingException") <= 17
    assert set(first) == {"ThrottlingException", "ValidationException"}
    assert run() == first


def test_wildcard_and_s3_faults(
    emulator: EmulatorControl, s3_client: Any, emulator_bucket: str
) -> None:
    s3_client.put_object(Bucket=emulator_bucket, Key="a.txt", Body=b"hello")
    emulator.fail_calls("GetObject", "InternalServerException")
    with pytest.raises(ClientError) as exc:
        s3_client.get_object(Bucket=emulator_bucket, Key="a.txt")
    assert _error(exc) == ("InternalError", 500)
    assert s3_client.get_object(Bucket=emulator_bucket, Key="a.txt")["Body"].read() == b"hello"
    emulator.fail_calls("*", "AccessDeniedException", count=1)
    with pytest.raises(ClientError) as exc:
        s3_client.list_objects_v2(Bucket=emulator_bucket)
    assert _error(exc) == ("AccessDenied", 403)
    assert emulator.stats()["requests"]["ListObjectsV2"] == 1


def test_cut_download_sends_fewer_bytes_than_content_length(
    emulator: EmulatorControl, s3_client: Any, emulator_bucket: str
) -> None:
    body = bytes(range(256)) * 400
    s3_client.put_object(Bucket=emulator_bucket, Key="big.bin", Body=body)
    emulator.cut_downloads(1)
    signed = urlparse(
        s3_client.generate_presigned_url(
            "get_object", Params={"Bucket": emulator_bucket, "Key": "big.bin"}
        )
    )
    conn = http.client.HTTPConnection(signed.hostname or "", signed.port, timeout=5)
    conn.request("GET", f"{signed.path}?{signed.query}")
    resp = conn.getresponse()
    assert resp.status == 200
    assert int(resp.headers["Content-Length"]) == len(body)
    with pytest.raises(http.client.IncompleteRead) as exc:
        resp.read()
    assert 0 < len(exc.value.partial) < len(body)
    conn.close()
    # the next download is whole again, also with a ranged GET through boto3
    assert s3_client.get_object(Bucket=emulator_bucket, Key="big.bin")["Body"].read() == body
    ranged = s3_client.get_object(Bucket=emulator_bucket, Key="big.bin", Range="bytes=10-19")
    assert ranged["Body"].read() == body[10:20]


def test_stats_prove_no_call_was_made(emulator: EmulatorControl, bedrock_client: Any) -> None:
    assert emulator.stats()["totalRequests"] == 0
    bedrock_client.list_async_invokes()
    assert emulator.stats()["requests"] == {"ListAsyncInvokes": 1}


def test_finish_unknown_job_is_404(emulator: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError) as exc:
        emulator.finish("abcdefabcdef")
    assert exc.value.status == 404


def test_multipart_upload_works(s3_client: Any, emulator_bucket: str) -> None:
    part = b"x" * (5 * 1024 * 1024)
    up = s3_client.create_multipart_upload(Bucket=emulator_bucket, Key="mp.bin")
    etags = []
    for n in (1, 2):
        r = s3_client.upload_part(
            Bucket=emulator_bucket, Key="mp.bin", UploadId=up["UploadId"], PartNumber=n, Body=part
        )
        etags.append({"PartNumber": n, "ETag": r["ETag"]})
    s3_client.complete_multipart_upload(
        Bucket=emulator_bucket,
        Key="mp.bin",
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": etags},
    )
    head = s3_client.head_object(Bucket=emulator_bucket, Key="mp.bin")
    assert head["ContentLength"] == 2 * len(part)


def test_speed_changes_take_effect(
    emulator: EmulatorControl, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(speed=0)
    emulator.fail_jobs()
    t0 = time.monotonic()
    assert (
        wait(bedrock_client, start(bedrock_client, emulator_bucket, text_video()))["status"]
        == "Failed"
    )
    assert time.monotonic() - t0 < 2.0


def test_stats_report_the_most_jobs_in_flight_per_model_and_region(
    emulator: EmulatorControl, bedrock_client: Any, emulator_bucket: str
) -> None:
    """``maxInFlight`` is the high-water mark of jobs in progress per model@region:
    what a test of several clients sharing one quota asserts against."""
    emulator.configure(speed=20, quotas={V1: 5})  # jobs last seconds: all overlap
    arns = [start(bedrock_client, emulator_bucket, text_video(f"kite {n}")) for n in range(3)]
    assert emulator.stats()["maxInFlight"] == {f"{V1}@us-east-1": 3}
    for arn in arns:
        emulator.finish(arn.rsplit("/", 1)[-1])
        wait(bedrock_client, arn)
    start(bedrock_client, emulator_bucket, text_video("kite 4"))
    assert emulator.stats()["maxInFlight"] == {f"{V1}@us-east-1": 3}  # a mark, not a count
    emulator.reset()
    assert emulator.stats()["maxInFlight"] == {}
