"""InvokeModel for Nova 2 Lite on the emulator: AWS's checks, a synthetic deterministic review."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.emulator.emu_helpers import error_of, manual, start, text_video, wait

LITE = "us.amazon.nova-2-lite-v1:0"


def body_for(uri: str, text: str = "Review this video as JSON.", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemaVersion": "messages-v1",
        "system": [{"text": "You review generated videos."}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"video": {"format": "mp4", "source": {"s3Location": {"uri": uri}}}},
                    {"text": text},
                ],
            }
        ],
        "inferenceConfig": {"maxTokens": 2000, "temperature": 0.1},
    }
    body.update(extra)
    return body


def invoke(client: Any, body: Any, model_id: str = LITE) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.invoke_model(modelId=model_id, body=raw)
    result: dict[str, Any] = json.loads(response["body"].read())
    return result


def refused(client: Any, body: Any, model_id: str = LITE) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as exc:
        invoke(client, body, model_id)
    return error_of(exc.value)


def rendered(client: Any, bucket: str, model_input: dict[str, Any]) -> str:
    arn = start(client, bucket, model_input)
    job = wait(client, arn)
    assert job["status"] == "Completed"
    return str(job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"])


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    text = result["output"]["message"]["content"][0]["text"]
    assert text.startswith("```json\n") and text.endswith("\n```")
    parsed: dict[str, Any] = json.loads(text[len("```json\n") : -len("\n```")])
    return parsed


def test_review_of_a_rendered_video_is_built_from_its_prompt(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    folder = rendered(
        bedrock_client, emulator_bucket, text_video("A red kite over green hills, static shot")
    )
    first = invoke(bedrock_client, body_for(f"{folder}/output.mp4"))
    again = invoke(bedrock_client, body_for(f"{folder}/output.mp4"))
    assert first == again  # deterministic
    review = verdict(first)
    assert [e["element"] for e in review["elements"]] == [
        "A red kite over green hills",
        "static shot",
    ]
    assert review["defects"] == [] and review["synthetic"] is True
    assert first["stopReason"] == "end_turn"
    usage = first["usage"]
    # 6 s at 1 frame per second, 288 tokens a frame, plus the text.
    assert usage["inputTokens"] >= 6 * 288
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] > 6 * 288
    received = emulator.invocations()
    assert len(received) == 2 and received[0]["modelId"] == LITE
    assert received[0]["body"] == body_for(f"{folder}/output.mp4")
    assert received[0]["error"] is None


def test_each_shot_of_a_multi_shot_job_is_an_element(
    bedrock_client: Any, emulator_bucket: str
) -> None:
    shots = [{"text": "A lighthouse at dawn"}, {"text": "Waves on black rocks"}]
    folder = rendered(bedrock_client, emulator_bucket, manual(shots))
    review = verdict(invoke(bedrock_client, body_for(f"{folder}/output.mp4")))
    assert [(e["shot"], e["element"]) for e in review["elements"]] == [
        (1, "A lighthouse at dawn"),
        (2, "Waves on black rocks"),
    ]
    one = verdict(invoke(bedrock_client, body_for(f"{folder}/shot_0002.mp4")))
    assert [e["element"] for e in one["elements"]] == ["Waves on black rocks"]


def test_injected_defects_are_reported_with_their_span(
    emulator_server: Any, emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    folder = rendered(bedrock_client, emulator_bucket, text_video("A kite"))
    job = emulator_server.backend.jobs.all()[-1]
    # The field engineer "qa"'s defect fault sets on a job; read with a default of [].
    job.injected_defects = [{"defect": "frozen", "at": 2.0, "length": 1.5}]
    review = verdict(invoke(bedrock_client, body_for(f"{folder}/output.mp4")))
    assert [(d["kind"], d["start_s"], d["end_s"]) for d in review["defects"]] == [
        ("frozen", 2.0, 3.5)
    ]
    assert all(e["shown"] is False for e in review["elements"])


def test_inline_bytes_are_accepted_within_the_limit(
    bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    folder = rendered(bedrock_client, emulator_bucket, text_video("A kite"))
    bucket, _, prefix = folder[len("s3://") :].partition("/")
    data = s3_client.get_object(Bucket=bucket, Key=f"{prefix}/output.mp4")["Body"].read()
    body = body_for("unused")
    body["messages"][0]["content"][0] = {
        "video": {"format": "mp4", "source": {"bytes": base64.b64encode(data).decode()}}
    }
    result = invoke(bedrock_client, body)
    assert result["usage"]["inputTokens"] >= 6 * 288
    assert "a video the emulator did not render" in verdict(result)["summary"]


def test_prose_when_json_is_not_asked(bedrock_client: Any, emulator_bucket: str) -> None:
    folder = rendered(bedrock_client, emulator_bucket, text_video("A kite"))
    result = invoke(bedrock_client, body_for(f"{folder}/output.mp4", text="What happens?"))
    assert result["output"]["message"]["content"][0]["text"].startswith("Synthetic review")


def test_max_tokens_cuts_the_answer(bedrock_client: Any, emulator_bucket: str) -> None:
    folder = rendered(bedrock_client, emulator_bucket, text_video("A kite"))
    body = body_for(f"{folder}/output.mp4")
    body["inferenceConfig"]["maxTokens"] = 5
    result = invoke(bedrock_client, body)
    assert result["stopReason"] == "max_tokens" and result["usage"]["outputTokens"] == 5


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda b: b.update(schemaVersion="messages-v2"), "schemaVersion"),
        (lambda b: b.update(extra=1), "extraneous key [extra]"),
        (lambda b: b["messages"][0].update(role="assistant"), "start with a user message"),
        (lambda b: b["messages"][0].update(role="robot"), "role 'robot'"),
        (lambda b: b.update(messages=[]), "messages"),
        (lambda b: b["messages"][0]["content"][0]["video"].update(format="avi"), "format 'avi'"),
        (lambda b: b["inferenceConfig"].update(maxTokens=0), "maxTokens 0"),
        (lambda b: b["inferenceConfig"].update(maxTokens=70000), "maxTokens 70000"),
        (lambda b: b["inferenceConfig"].update(temperature=2), "temperature"),
        (lambda b: b["messages"][0]["content"].append({"audio": {}}), "'audio'"),
        (
            lambda b: b["messages"][0]["content"].append(b["messages"][0]["content"][0]),
            "one video",
        ),
    ],
)
def test_malformed_requests_are_refused_as_aws_does(
    emulator: Any, bedrock_client: Any, emulator_bucket: str, change: Any, needle: str
) -> None:
    folder = rendered(bedrock_client, emulator_bucket, text_video("A kite"))
    body = body_for(f"{folder}/output.mp4")
    change(body)
    code, status, message = refused(bedrock_client, body)
    assert (code, status) == ("ValidationException", 400)
    assert needle in message
    assert emulator.invocations()[-1]["error"] == "ValidationException"


def test_missing_objects_and_buckets_are_refused(bedrock_client: Any, emulator_bucket: str) -> None:
    code, status, message = refused(bedrock_client, body_for(f"s3://{emulator_bucket}/nothing.mp4"))
    assert (code, status) == ("ValidationException", 400) and "does not exist" in message
    code, _, message = refused(bedrock_client, body_for("s3://no-such-bucket-x/a.mp4"))
    assert code == "ValidationException" and "bucket" in message
    code, _, message = refused(bedrock_client, body_for("https://example.com/a.mp4"))
    assert code == "ValidationException" and "not a valid S3 URI" in message


def test_bytes_over_the_inline_limit_are_refused(bedrock_client: Any) -> None:
    body = body_for("unused")
    big = base64.b64encode(b"\0" * (25 * 1000 * 1000 + 1)).decode()
    body["messages"][0]["content"][0] = {"video": {"format": "mp4", "source": {"bytes": big}}}
    code, status, message = refused(bedrock_client, body)
    assert (code, status) == ("ValidationException", 400) and "larger than 25 MB" in message


def test_the_base_model_id_needs_an_inference_profile(
    bedrock_client: Any, emulator_bucket: str
) -> None:
    code, status, message = refused(
        bedrock_client, body_for(f"s3://{emulator_bucket}/a.mp4"), "amazon.nova-2-lite-v1:0"
    )
    assert (code, status) == ("ValidationException", 400)
    assert "inference profile" in message


def test_global_profile_and_not_json(bedrock_client: Any) -> None:
    code, _, message = refused(bedrock_client, b"{not json", "global.amazon.nova-2-lite-v1:0")
    assert code == "ValidationException" and "Malformed input request" in message
