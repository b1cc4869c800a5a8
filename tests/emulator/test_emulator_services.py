"""STS, services the emulator does not speak, read-only buckets and S3-shaped errors."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emu_helpers import V1, aws_client, error_of, start, text_video, wait
from typer.testing import CliRunner

from novareel.emulator.control_client import EmulatorControlError

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def test_get_caller_identity(emulator: Any) -> None:
    sts = aws_client("sts", emulator.url, "us-east-1")
    identity = sts.get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:user/novareel-local"
    assert identity["UserId"].startswith("AIDA") and len(identity["UserId"]) == 21
    assert identity["ResponseMetadata"]["RequestId"]
    assert emulator.stats()["requests"] == {"GetCallerIdentity": 1}
    # any region works, it is the same account
    assert aws_client("sts", emulator.url, "eu-west-1").get_caller_identity()["Account"]


def test_other_sts_actions_and_faults(emulator: Any) -> None:
    sts = aws_client("sts", emulator.url, "us-east-1")
    with pytest.raises(ClientError) as exc:
        sts.get_session_token()
    code, status, message = error_of(exc.value)
    assert (code, status) == ("InvalidAction", 400) and "GetSessionToken" in message
    emulator.fail_calls("GetCallerIdentity", "AccessDeniedException")
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert error_of(exc.value)[:2] == ("AccessDenied", 403)
    emulator.fail_calls("GetCallerIdentity", "ThrottlingException", message="slow down")
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert error_of(exc.value) == ("Throttling", 400, "slow down")


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("sqs", lambda c: c.list_queues(), "UnknownOperationException"),  # JSON protocol
        ("dynamodb", lambda c: c.list_tables(), "UnknownOperationException"),
        ("iam", lambda c: c.list_users(), "InvalidAction"),  # query protocol
        ("ec2", lambda c: c.describe_regions(), "InvalidAction"),  # ec2 protocol
        ("lambda", lambda c: c.list_functions(), "UnknownOperationException"),  # rest-json
        ("route53", lambda c: c.list_hosted_zones(), "UnknownOperationException"),  # rest-xml
    ],
)
def test_unknown_services_get_an_error_in_their_protocol(
    emulator: Any, s3_client: Any, service: str, call: Any, code: str
) -> None:
    s3_client.create_bucket(Bucket="must-not-be-listed")
    with pytest.raises(ClientError) as exc:
        call(aws_client(service, emulator.url, "us-east-1"))
    got_code, status, message = error_of(exc.value)
    assert (got_code, status) == (code, 400)
    assert f"does not emulate service '{service}'" in message
    assert emulator.stats()["requests"].get("ListBuckets") is None


def test_head_bucket_and_kms_put_for_a_preflight(s3_client: Any, emulator_bucket: str) -> None:
    head = s3_client.head_bucket(Bucket=emulator_bucket)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    s3_client.put_object(
        Bucket=emulator_bucket,
        Key="novareel-doctor/probe.txt",
        Body=b"ok",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=KMS_KEY,
    )
    s3_client.delete_object(Bucket=emulator_bucket, Key="novareel-doctor/probe.txt")


def test_read_only_bucket_refuses_client_writes(
    emulator: Any, s3_client: Any, emulator_bucket: str
) -> None:
    s3_client.put_object(Bucket=emulator_bucket, Key="before.txt", Body=b"hi")
    s3_client.create_bucket(Bucket="still-writable")
    config = emulator.set_read_only_buckets([emulator_bucket])
    assert config["read_only_buckets"] == [emulator_bucket]

    def denied(call: Any) -> str:
        with pytest.raises(ClientError) as exc:
            call()
        code, status, message = error_of(exc.value)
        assert (code, status) == ("AccessDenied", 403)
        return message

    message = denied(lambda: s3_client.put_object(Bucket=emulator_bucket, Key="p", Body=b"x"))
    assert "s3:PutObject" in message and f"arn:aws:s3:::{emulator_bucket}/p" in message
    denied(
        lambda: s3_client.put_object(
            Bucket=emulator_bucket,
            Key="k",
            Body=b"x",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=KMS_KEY,
        )
    )
    assert "s3:DeleteObject" in denied(
        lambda: s3_client.delete_object(Bucket=emulator_bucket, Key="before.txt")
    )
    denied(lambda: s3_client.create_multipart_upload(Bucket=emulator_bucket, Key="mp"))
    denied(
        lambda: s3_client.delete_objects(
            Bucket=emulator_bucket, Delete={"Objects": [{"Key": "before.txt"}]}
        )
    )
    # reads and the bucket itself are fine; other buckets are writable
    assert s3_client.head_bucket(Bucket=emulator_bucket)["ResponseMetadata"]["HTTPStatusCode"]
    assert s3_client.get_object(Bucket=emulator_bucket, Key="before.txt")["Body"].read() == b"hi"
    s3_client.put_object(Bucket="still-writable", Key="p", Body=b"x")
    assert emulator.stats()["rejections"] == {"AccessDenied": 5}
    emulator.set_read_only_buckets([])
    s3_client.put_object(Bucket=emulator_bucket, Key="p", Body=b"x")


def test_read_only_bucket_still_receives_job_outputs(
    emulator: Any, bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    emulator.set_read_only_buckets([emulator_bucket])
    emulator.fail_jobs()  # a failed Nova job still writes manifest + status, without a render
    arn = start(bedrock_client, emulator_bucket, text_video())
    assert wait(bedrock_client, arn)["status"] == "Failed"
    job_id = arn.rsplit("/", 1)[1]
    keys = {o["Key"] for o in s3_client.list_objects_v2(Bucket=emulator_bucket)["Contents"]}
    assert keys == {f"out/{job_id}/manifest.json", f"out/{job_id}/video-generation-status.json"}


def test_read_only_buckets_config_is_checked(emulator: Any) -> None:
    with pytest.raises(EmulatorControlError) as exc:
        emulator.configure(read_only_buckets="not-a-list")
    assert exc.value.status == 400


S3_FAULTS = [
    ("AccessDeniedException", "PutObject", "AccessDenied", 403, "Access Denied"),
    ("ThrottlingException", "PutObject", "SlowDown", 503, "Please reduce your request rate."),
    ("ResourceNotFoundException", "GetObject", "NoSuchKey", 404,
     "The specified key does not exist."),
    ("InternalServerException", "GetObject", "InternalError", 500,
     "We encountered an internal error. Please try again."),
]  # fmt: skip


@pytest.mark.parametrize(("fault", "operation", "code", "status", "message"), S3_FAULTS)
def test_injected_s3_faults_speak_s3(
    emulator: Any,
    s3_client: Any,
    emulator_bucket: str,
    fault: str,
    operation: str,
    code: str,
    status: int,
    message: str,
) -> None:
    s3_client.put_object(Bucket=emulator_bucket, Key="a", Body=b"a")
    call = {
        "PutObject": lambda: s3_client.put_object(Bucket=emulator_bucket, Key="a", Body=b"b"),
        "GetObject": lambda: s3_client.get_object(Bucket=emulator_bucket, Key="a"),
    }[operation]
    emulator.fail_calls(operation, fault)
    with pytest.raises(ClientError) as exc:
        call()
    assert error_of(exc.value) == (code, status, message)
    emulator.fail_calls(operation, fault, message="custom words")
    with pytest.raises(ClientError) as exc:
        call()
    assert error_of(exc.value)[2] == "custom words"


def test_unsigned_control_plane_paths_go_to_bedrock(emulator: Any) -> None:
    with urllib.request.urlopen(f"{emulator.url}/foundation-models") as resp:
        assert b'"modelSummaries"' in resp.read()


def test_cli_model_state_and_read_only_flags() -> None:
    from novareel.cli import _register, app

    _register()
    runner = CliRunner()
    for bad in ("luma.ray-v2:0=retired", "nova=eol", "luma.ray-v2:0"):
        result = runner.invoke(app, ["emulator", "--port", "0", "--model-state", bad])
        assert result.exit_code == 2, result.output
        assert "--model-state" in result.output
    result = runner.invoke(app, ["emulator", "--help"], env={"COLUMNS": "200"})
    assert "--model-state" in result.output and "--read-only-bucket" in result.output


def test_module_entry_point_parses_model_states(monkeypatch: pytest.MonkeyPatch) -> None:
    from novareel.emulator.__main__ import main

    captured: dict[str, Any] = {}
    monkeypatch.setattr("novareel.emulator.server.serve", lambda **kw: captured.update(kw))
    main(["--port", "0", "--model-state", f"{V1}=legacy", "--read-only-bucket", "ro-bucket"])
    config = captured["config"]
    assert config.model_states[V1] == "legacy"
    assert config.read_only_buckets == ["ro-bucket"]
    with pytest.raises(SystemExit) as exc:
        main(["--model-state", f"{V1}=gone"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("injected", "code", "status", "message"),
    [
        ("ThrottlingException", "SlowDown", 503, "Please reduce your request rate."),
        (
            "InternalServerException",
            "InternalError",
            500,
            "We encountered an internal error. Please try again.",
        ),
        (
            "ServiceUnavailableException",
            "ServiceUnavailable",
            503,
            "Service is unable to handle request.",
        ),
        ("ServiceQuotaExceededException", "SlowDown", 503, "Please reduce your request rate."),
    ],
)
def test_injected_s3_faults_are_s3_xml_on_the_wire(
    emulator: Any,
    s3_client: Any,
    emulator_bucket: str,
    injected: str,
    code: str,
    status: int,
    message: str,
) -> None:
    """S3's XML error document, no Bedrock JSON or header (codes as the test above)."""
    s3_client.put_object(Bucket=emulator_bucket, Key="a.txt", Body=b"hello")
    emulator.fail_calls("GetObject", injected, count=2)
    with pytest.raises(ClientError) as exc:
        s3_client.get_object(Bucket=emulator_bucket, Key="a.txt")
    assert error_of(exc.value) == (code, status, message)
    assert "x-amzn-errortype" not in exc.value.response["ResponseMetadata"]["HTTPHeaders"]
    # On the wire: an XML <Error> document, not Bedrock's JSON {"message": ...}.
    request = urllib.request.Request(f"{emulator.url}/{emulator_bucket}/a.txt")
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(request, timeout=10)
    body = raw.value.read().decode()
    assert raw.value.code == status
    assert raw.value.headers["Content-Type"] == "application/xml"
    assert f"<Error><Code>{code}</Code><Message>{message}</Message>" in body
    assert "{" not in body
    assert s3_client.get_object(Bucket=emulator_bucket, Key="a.txt")["Body"].read() == b"hello"
