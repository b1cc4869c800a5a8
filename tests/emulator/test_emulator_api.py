"""StartAsyncInvoke / GetAsyncInvoke / ListAsyncInvokes over HTTP with plain boto3."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emu_helpers import V0, V1, start, text_video, wait

ARN_RE = re.compile(r"arn:aws:bedrock:us-east-1:123456789012:async-invoke/[a-z0-9]{12}")


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_start_get_complete_round_trip(bedrock_client: Any, emulator_bucket: str) -> None:
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    arn = start(bedrock_client, emulator_bucket, text_video(), clientRequestToken="tok-1")
    assert ARN_RE.fullmatch(arn)
    job_id = arn.rsplit("/", 1)[1]

    job = bedrock_client.get_async_invoke(invocationArn=arn)
    assert job["status"] == "InProgress"
    assert "endTime" not in job and "failureMessage" not in job
    assert job["invocationArn"] == arn
    assert job["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{V1}"
    assert job["clientRequestToken"] == "tok-1"
    assert job["submitTime"] >= before
    assert job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] == (
        f"s3://{emulator_bucket}/out/{job_id}"
    )

    done = wait(bedrock_client, arn)
    assert done["status"] == "Completed"
    assert done["endTime"] >= done["submitTime"]
    assert done["lastModifiedTime"] == done["endTime"]
    assert isinstance(done["endTime"], dt.datetime)


def test_timestamps_on_the_wire_are_iso8601(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    arn = start(bedrock_client, emulator_bucket, text_video())
    from urllib.parse import quote

    with urllib.request.urlopen(f"{emulator.url}/async-invoke/{quote(arn, safe='')}") as resp:
        raw = json.loads(resp.read())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", raw["submitTime"])


def test_region_comes_from_the_signature(emulator: Any, emulator_bucket: str) -> None:
    import boto3

    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=emulator.url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    arn = start(client, emulator_bucket, text_video(), modelId=V0)
    assert arn.startswith("arn:aws:bedrock:eu-west-1:123456789012:async-invoke/")
    job = client.get_async_invoke(invocationArn=arn)
    assert job["modelArn"] == f"arn:aws:bedrock:eu-west-1::foundation-model/{V0}"
    with pytest.raises(ClientError) as exc:
        start(client, emulator_bucket, text_video(), modelId=V1)
    assert _code(exc) == ("ValidationException", 400)
    assert "eu-west-1" in str(exc.value)


def test_unknown_arn_is_a_validation_error(bedrock_client: Any) -> None:
    for arn in (
        "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghijkl",
        "not-an-arn",
    ):
        with pytest.raises(ClientError) as exc:
            bedrock_client.get_async_invoke(invocationArn=arn)
        assert _code(exc) == ("ValidationException", 400)
        assert "invocationArn" in str(exc.value)


def test_same_token_same_request_returns_the_same_job(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    first = start(bedrock_client, emulator_bucket, text_video(), clientRequestToken="same")
    second = start(bedrock_client, emulator_bucket, text_video(), clientRequestToken="same")
    assert first == second
    stats = emulator.stats()
    assert stats["acceptedSubmissions"] == 1
    assert stats["idempotentReplays"] == 1
    assert stats["requests"]["StartAsyncInvoke"] == 2
    assert len(bedrock_client.list_async_invokes()["asyncInvokeSummaries"]) == 1


def test_same_token_different_request_is_a_conflict(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    start(bedrock_client, emulator_bucket, text_video(), clientRequestToken="same")
    with pytest.raises(ClientError) as exc:
        start(bedrock_client, emulator_bucket, text_video("different"), clientRequestToken="same")
    assert _code(exc) == ("ConflictException", 400)
    assert emulator.stats()["rejections"] == {"ConflictException": 1}


def test_boto3_fills_a_fresh_token_so_plain_retries_duplicate(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    a = start(bedrock_client, emulator_bucket, text_video())
    b = start(bedrock_client, emulator_bucket, text_video())
    assert a != b
    assert emulator.stats()["acceptedSubmissions"] == 2


def _submit_failing(client: Any, bucket: str, n: int) -> list[str]:
    """Jobs that fail without rendering (cheap), spaced so submit times differ."""
    arns = []
    for i in range(n):
        arns.append(start(client, bucket, text_video(f"job {i} FAILME")))
        time.sleep(0.01)
    return arns


def test_list_sorts_filters_and_paginates(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(quotas={V1: 100})
    emulator.fail_jobs(marker="FAILME", count=None)
    arns = _submit_failing(bedrock_client, emulator_bucket, 5)
    for arn in arns:
        wait(bedrock_client, arn)

    listed = bedrock_client.list_async_invokes()["asyncInvokeSummaries"]
    assert [s["invocationArn"] for s in listed] == arns[::-1]  # default Descending
    ascending = bedrock_client.list_async_invokes(sortOrder="Ascending", sortBy="SubmissionTime")
    assert [s["invocationArn"] for s in ascending["asyncInvokeSummaries"]] == arns
    assert {s["status"] for s in listed} == {"Failed"}
    assert listed[0]["failureMessage"]

    pages, token = [], None
    while True:
        kwargs: dict[str, Any] = {"maxResults": 2, "sortOrder": "Ascending"}
        if token:
            kwargs["nextToken"] = token
        page = bedrock_client.list_async_invokes(**kwargs)
        pages.append([s["invocationArn"] for s in page["asyncInvokeSummaries"]])
        token = page.get("nextToken")
        if not token:
            break
    assert pages == [arns[0:2], arns[2:4], arns[4:5]]

    times = {s["invocationArn"]: s["submitTime"] for s in listed}
    middle = times[arns[2]]
    after = bedrock_client.list_async_invokes(submitTimeAfter=middle)["asyncInvokeSummaries"]
    assert {s["invocationArn"] for s in after} == set(arns[2:])
    before = bedrock_client.list_async_invokes(submitTimeBefore=middle)["asyncInvokeSummaries"]
    assert {s["invocationArn"] for s in before} == set(arns[:3])

    assert bedrock_client.list_async_invokes(statusEquals="Completed")["asyncInvokeSummaries"] == []
    failed = bedrock_client.list_async_invokes(statusEquals="Failed")["asyncInvokeSummaries"]
    assert len(failed) == 5


def test_list_status_in_progress(bedrock_client: Any, emulator: Any, emulator_bucket: str) -> None:
    emulator.configure(speed=1)
    emulator.fail_jobs(count=None)
    arn = start(bedrock_client, emulator_bucket, text_video())
    summaries = bedrock_client.list_async_invokes(statusEquals="InProgress")["asyncInvokeSummaries"]
    assert [s["invocationArn"] for s in summaries] == [arn]
    assert "endTime" not in summaries[0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"maxResults": 0},
        {"maxResults": 1001},
        {"sortOrder": "Sideways"},
        {"sortBy": "Name"},
        {"statusEquals": "Done"},
        {"nextToken": "garbage!"},
    ],
)
def test_list_rejects_bad_parameters(bedrock_client: Any, kwargs: dict[str, Any]) -> None:
    import botocore.exceptions

    try:
        bedrock_client.list_async_invokes(**kwargs)
    except botocore.exceptions.ParamValidationError:
        return  # botocore refused it client-side; nothing reached the emulator
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ValidationException"
        return
    raise AssertionError(f"{kwargs} was accepted")


def test_invoke_model_is_not_supported(bedrock_client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        bedrock_client.invoke_model(modelId=V1, body=b"{}")
    assert _code(exc) == ("ValidationException", 400)


def test_output_uri_for_bucket_root(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.fail_jobs(marker="FAILME", count=None)
    for uri in (f"s3://{emulator_bucket}", f"s3://{emulator_bucket}/"):
        arn = start(
            bedrock_client,
            emulator_bucket,
            text_video("FAILME"),
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": uri}},
        )
        job = bedrock_client.get_async_invoke(invocationArn=arn)
        job_id = arn.rsplit("/", 1)[1]
        assert job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] == (
            f"s3://{emulator_bucket}/{job_id}"
        )
