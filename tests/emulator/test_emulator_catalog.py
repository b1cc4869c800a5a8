"""The Bedrock control plane (foundation models, availability) and model lifecycle states."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emu_helpers import (
    RAY,
    RAY_REGION,
    V0,
    V1,
    aws_client,
    error_of,
    ray_input,
    start,
    start_ray,
    text_video,
    wait,
)

from novareel.emulator import EmulatorConfig
from novareel.emulator.control_client import EmulatorControlError

INVALID = "The provided model identifier is invalid."
EOL = (
    "This model version has reached the end of its life. "
    "Please refer to the AWS documentation for more details."
)
LEGACY_UNUSED = (
    "Access denied. This Model is marked by provider as Legacy and you have not been "
    "actively using the model in the last 15 days. Please upgrade to an active model on "
    "Amazon Bedrock"
)
NO_ACCESS = "You don't have access to the model with the specified model ID."


def _ids(client: Any, **filters: Any) -> list[str]:
    return [m["modelId"] for m in client.list_foundation_models(**filters)["modelSummaries"]]


def _day(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d")


def test_list_foundation_models_per_region(emulator: Any) -> None:
    east = aws_client("bedrock", emulator.url, "us-east-1")
    west = aws_client("bedrock", emulator.url, RAY_REGION)
    assert _ids(east) == [V0, V1]
    assert _ids(west) == [RAY]
    assert _ids(aws_client("bedrock", emulator.url, "eu-west-1")) == [V0]
    assert _ids(aws_client("bedrock", emulator.url, "ap-northeast-1")) == [V0]
    assert _ids(aws_client("bedrock", emulator.url, "ap-south-1")) == []
    summary = west.list_foundation_models()["modelSummaries"][0]
    assert summary["modelArn"] == f"arn:aws:bedrock:{RAY_REGION}::foundation-model/{RAY}"
    assert summary["modelName"] == "Ray v2" and summary["providerName"] == "Luma AI"
    assert summary["inputModalities"] == ["TEXT", "IMAGE"]
    assert summary["outputModalities"] == ["VIDEO"]
    assert summary["responseStreamingSupported"] is False
    assert summary["customizationsSupported"] == []
    assert summary["inferenceTypesSupported"] == ["ON_DEMAND"]
    assert summary["modelLifecycle"]["status"] == "ACTIVE"
    assert _day(summary["modelLifecycle"]["startOfLifeTime"]) == "2025-01-23"
    nova = east.list_foundation_models()["modelSummaries"][1]
    assert (nova["modelName"], nova["providerName"]) == ("Nova Reel", "Amazon")
    assert _day(nova["modelLifecycle"]["startOfLifeTime"]) == "2024-12-03"
    assert "legacyTime" not in nova["modelLifecycle"]


def test_list_filters(emulator: Any) -> None:
    east = aws_client("bedrock", emulator.url, "us-east-1")
    west = aws_client("bedrock", emulator.url, RAY_REGION)
    assert _ids(east, byProvider="Amazon") == [V0, V1]
    assert _ids(east, byProvider="amazon") == [V0, V1]
    assert _ids(east, byProvider="Luma AI") == []
    assert _ids(west, byProvider="luma") == [RAY]
    assert _ids(west, byOutputModality="VIDEO") == [RAY]
    assert _ids(west, byOutputModality="TEXT") == []
    assert _ids(east, byInferenceType="ON_DEMAND") == [V0, V1]
    assert _ids(east, byInferenceType="PROVISIONED") == []
    assert _ids(east, byCustomizationType="FINE_TUNING") == []
    with pytest.raises(ClientError) as exc:
        east.list_foundation_models(byOutputModality="HOLOGRAM")
    code, status, message = error_of(exc.value)
    assert (code, status) == ("ValidationException", 400) and "byOutputModality" in message


def test_get_foundation_model(emulator: Any) -> None:
    west = aws_client("bedrock", emulator.url, RAY_REGION)
    details = west.get_foundation_model(modelIdentifier=RAY)["modelDetails"]
    assert details["modelId"] == RAY and details["modelName"] == "Ray v2"
    arn = details["modelArn"]
    assert west.get_foundation_model(modelIdentifier=arn)["modelDetails"]["modelId"] == RAY
    for identifier in (V1, "luma.ray-v9:0", "anthropic.claude-v2"):
        with pytest.raises(ClientError) as exc:
            west.get_foundation_model(modelIdentifier=identifier)
        assert error_of(exc.value) == ("ValidationException", 400, INVALID)


def test_availability(emulator: Any) -> None:
    east = aws_client("bedrock", emulator.url, "us-east-1")
    answer = east.get_foundation_model_availability(modelId=V1)
    answer.pop("ResponseMetadata")
    assert answer == {
        "modelId": V1,
        "agreementAvailability": {"status": "AVAILABLE"},
        "authorizationStatus": "AUTHORIZED",
        "entitlementAvailability": "AVAILABLE",
        "regionAvailability": "AVAILABLE",
    }
    ray = east.get_foundation_model_availability(modelId=RAY)
    assert ray["regionAvailability"] == "NOT_AVAILABLE"
    with pytest.raises(ClientError) as exc:
        east.get_foundation_model_availability(modelId="luma.ray-v9:0")
    assert error_of(exc.value) == ("ValidationException", 400, INVALID)


def test_control_plane_calls_are_counted_and_can_fail(emulator: Any) -> None:
    east = aws_client("bedrock", emulator.url, "us-east-1")
    emulator.fail_calls("ListFoundationModels", "ThrottlingException")
    with pytest.raises(ClientError) as exc:
        east.list_foundation_models()
    assert error_of(exc.value)[:2] == ("ThrottlingException", 429)
    east.list_foundation_models()
    east.get_foundation_model(modelIdentifier=V1)
    east.get_foundation_model_availability(modelId=V1)
    assert emulator.stats()["requests"] == {
        "ListFoundationModels": 2,
        "GetFoundationModel": 1,
        "GetFoundationModelAvailability": 1,
    }


def _submit(emulator: Any, model_id: str, bucket: str) -> str:
    if model_id == RAY:
        client = aws_client("bedrock-runtime", emulator.url, RAY_REGION)
        return start_ray(client, bucket, ray_input())
    client = aws_client("bedrock-runtime", emulator.url, "us-east-1")
    return start(client, bucket, text_video(), modelId=model_id)


def _region(model_id: str) -> str:
    return RAY_REGION if model_id == RAY else "us-east-1"


@pytest.mark.parametrize("model_id", [V1, RAY])
def test_state_active_and_legacy_work(emulator: Any, emulator_bucket: str, model_id: str) -> None:
    emulator.fail_jobs(count=None)
    control = aws_client("bedrock", emulator.url, _region(model_id))
    _submit(emulator, model_id, emulator_bucket)
    emulator.set_model_state(model_id, "legacy")
    assert emulator.config()["model_states"][model_id] == "legacy"
    _submit(emulator, model_id, emulator_bucket)
    lifecycle = control.get_foundation_model(modelIdentifier=model_id)["modelDetails"][
        "modelLifecycle"
    ]
    assert lifecycle["status"] == "LEGACY"
    assert lifecycle["legacyTime"] < lifecycle["endOfLifeTime"]
    if model_id == V1:
        assert _day(lifecycle["legacyTime"]) == "2026-03-30"
        assert _day(lifecycle["endOfLifeTime"]) == "2026-09-30"
    else:
        assert lifecycle["legacyTime"] < lifecycle["publicExtendedAccessTime"]
    listed = control.list_foundation_models()["modelSummaries"]
    assert {m["modelId"]: m["modelLifecycle"]["status"] for m in listed}[model_id] == "LEGACY"


@pytest.mark.parametrize("model_id", [V1, RAY])
def test_state_legacy_unused(emulator: Any, emulator_bucket: str, model_id: str) -> None:
    emulator.set_model_state(model_id, "legacy-unused")
    with pytest.raises(ClientError) as exc:
        _submit(emulator, model_id, emulator_bucket)
    assert error_of(exc.value) == ("ResourceNotFoundException", 404, LEGACY_UNUSED)
    control = aws_client("bedrock", emulator.url, _region(model_id))
    details = control.get_foundation_model(modelIdentifier=model_id)["modelDetails"]
    assert details["modelLifecycle"]["status"] == "LEGACY"
    assert control.get_foundation_model_availability(modelId=model_id)["authorizationStatus"] == (
        "AUTHORIZED"
    )


@pytest.mark.parametrize("model_id", [V1, RAY])
def test_state_eol(emulator: Any, emulator_bucket: str, model_id: str) -> None:
    emulator.configure(speed=1)
    emulator.fail_jobs(count=None)
    arn = _submit(emulator, model_id, emulator_bucket)  # submitted before the end of life
    emulator.set_model_state(model_id, "eol")
    with pytest.raises(ClientError) as exc:
        _submit(emulator, model_id, emulator_bucket)
    assert error_of(exc.value) == ("ResourceNotFoundException", 404, EOL)
    control = aws_client("bedrock", emulator.url, _region(model_id))
    assert model_id not in _ids(control)
    with pytest.raises(ClientError) as exc:
        control.get_foundation_model(modelIdentifier=model_id)
    assert error_of(exc.value) == ("ResourceNotFoundException", 404, EOL)
    with pytest.raises(ClientError) as exc:
        control.get_foundation_model_availability(modelId=model_id)
    assert error_of(exc.value) == ("ResourceNotFoundException", 404, EOL)
    # the existing job can still be read and finishes
    runtime = aws_client("bedrock-runtime", emulator.url, _region(model_id))
    assert runtime.get_async_invoke(invocationArn=arn)["status"] == "InProgress"
    emulator.finish(arn)
    assert wait(runtime, arn, timeout=5)["status"] == "Failed"


@pytest.mark.parametrize("model_id", [V1, RAY])
def test_state_no_access(emulator: Any, emulator_bucket: str, model_id: str) -> None:
    emulator.set_model_state(model_id, "no-access")
    with pytest.raises(ClientError) as exc:
        _submit(emulator, model_id, emulator_bucket)
    assert error_of(exc.value) == ("AccessDeniedException", 403, NO_ACCESS)
    control = aws_client("bedrock", emulator.url, _region(model_id))
    answer = control.get_foundation_model_availability(modelId=model_id)
    assert answer["authorizationStatus"] == "NOT_AUTHORIZED"
    assert answer["agreementAvailability"] == {"status": "AVAILABLE"}
    assert model_id in _ids(control)  # still listed, still described
    assert control.get_foundation_model(modelIdentifier=model_id)["modelDetails"]["modelId"]


@pytest.mark.parametrize("model_id", [V1, RAY])
def test_state_no_agreement(emulator: Any, emulator_bucket: str, model_id: str) -> None:
    emulator.set_model_state(model_id, "no-agreement")
    with pytest.raises(ClientError) as exc:
        _submit(emulator, model_id, emulator_bucket)
    code, status, message = error_of(exc.value)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "Marketplace subscription" in message and model_id in message
    control = aws_client("bedrock", emulator.url, _region(model_id))
    answer = control.get_foundation_model_availability(modelId=model_id)
    assert answer["agreementAvailability"]["status"] == "NOT_AVAILABLE"
    assert answer["authorizationStatus"] == "AUTHORIZED"


def test_region_check_comes_before_the_state(emulator: Any, emulator_bucket: str) -> None:
    emulator.set_model_state(RAY, "no-access")
    east = aws_client("bedrock-runtime", emulator.url, "us-east-1")
    with pytest.raises(ClientError) as exc:
        start_ray(east, emulator_bucket, ray_input())
    assert error_of(exc.value)[0] == "ValidationException"


def test_states_are_per_model_and_reset(
    emulator: Any, s3_client: Any, emulator_bucket: str
) -> None:
    emulator.fail_jobs(count=None)
    emulator.configure(model_states={V1: "eol", RAY: "no-access"})
    states = emulator.config()["model_states"]
    assert states == {V0: "active", V1: "eol", RAY: "no-access"}
    _submit(emulator, V0, emulator_bucket)  # the other Nova model is unaffected
    emulator.reset()
    assert set(emulator.config()["model_states"].values()) == {"active"}
    s3_client.create_bucket(Bucket=emulator_bucket)  # reset dropped it
    emulator.fail_jobs(count=None)
    _submit(emulator, V1, emulator_bucket)


@pytest.mark.parametrize(
    "states",
    [{"luma.ray-v9:0": "eol"}, {RAY: "retired"}, {RAY: 3}, ["eol"]],
)
def test_bad_model_states_are_refused(emulator: Any, states: Any) -> None:
    with pytest.raises(EmulatorControlError) as exc:
        emulator.configure(model_states=states)
    assert exc.value.status == 400


def test_config_object_validates_and_fills_states() -> None:
    config = EmulatorConfig(model_states={RAY: "legacy"})
    assert config.model_states == {V0: "active", V1: "active", RAY: "legacy"}
    with pytest.raises(ValueError, match="unknown model state"):
        EmulatorConfig(model_states={RAY: "gone"})
    with pytest.raises(ValueError, match="unknown model id"):
        config.update({"model_states": {"nova": "eol"}})
