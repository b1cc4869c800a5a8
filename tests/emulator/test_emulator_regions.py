"""Jobs live per region, throttling is per region, model aliases in the emulator's settings,
and what the emulator received per job (``GET /_emulator/jobs/<id>``).

On AWS each region's Bedrock runtime is a separate service: a job submitted in
us-west-2 is not listed, nor found, by us-east-1, and a page token of one region means
nothing to another. The emulator used to keep one job list for every region.
"""

from __future__ import annotations

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
    keyframe,
    make_image,
    ray_input,
    start,
    text_video,
)
from typer.testing import CliRunner

from novareel.emulator import EmulatorControl
from novareel.emulator.control_client import EmulatorControlError

EU = "eu-west-1"


def _arns(page: dict[str, Any]) -> list[str]:
    return [s["invocationArn"] for s in page["asyncInvokeSummaries"]]


@pytest.fixture
def regions(emulator: EmulatorControl, emulator_bucket: str) -> dict[str, Any]:
    """Runtime clients of three regions, and two Nova v1:0 jobs in us-east-1 and one in
    eu-west-1 (v1:0 runs in both), plus a Ray 2 job in us-west-2."""
    emulator.fail_jobs(count=None)  # no render needed
    east = aws_client("bedrock-runtime", emulator.url)
    eu = aws_client("bedrock-runtime", emulator.url, EU)
    west = aws_client("bedrock-runtime", emulator.url, RAY_REGION)
    jobs = {
        "east": [start(east, emulator_bucket, text_video(), modelId=V0) for _ in range(2)],
        "eu": [start(eu, emulator_bucket, text_video(), modelId=V0)],
        "west": [start(west, emulator_bucket, ray_input(), modelId=RAY)],
    }
    return {"east": east, "eu": eu, "west": west, "jobs": jobs}


def test_each_region_lists_only_its_own_jobs(regions: dict[str, Any]) -> None:
    jobs = regions["jobs"]
    assert {a.split(":")[3] for a in jobs["east"]} == {"us-east-1"}
    assert jobs["eu"][0].split(":")[3] == EU
    for name in ("east", "eu", "west"):
        listed = _arns(regions[name].list_async_invokes())
        assert sorted(listed) == sorted(jobs[name]), name
    # per status too (the per-state index is per region)
    failed = regions["west"].list_async_invokes(statusEquals="Failed")
    in_progress = regions["west"].list_async_invokes(statusEquals="InProgress")
    assert sorted(_arns(failed) + _arns(in_progress)) == jobs["west"]


def test_get_of_another_regions_arn_is_refused(regions: dict[str, Any]) -> None:
    west_arn = regions["jobs"]["west"][0]
    assert regions["west"].get_async_invoke(invocationArn=west_arn)["invocationArn"] == west_arn
    with pytest.raises(ClientError) as exc:
        regions["east"].get_async_invoke(invocationArn=west_arn)
    code, status, message = error_of(exc.value)
    assert (code, status) == ("ValidationException", 400)
    assert "us-west-2" in message and "us-east-1" in message
    # an ARN of a region with no job at all is refused the same way (nothing is revealed)
    ghost = west_arn.replace(RAY_REGION, "ap-northeast-1")
    with pytest.raises(ClientError) as exc:
        regions["east"].get_async_invoke(invocationArn=ghost)
    assert error_of(exc.value)[0] == "ValidationException"


def test_a_next_token_of_another_region_is_refused(regions: dict[str, Any]) -> None:
    east, eu = regions["east"], regions["eu"]
    page = east.list_async_invokes(maxResults=1)
    assert "nextToken" in page
    with pytest.raises(ClientError) as exc:
        eu.list_async_invokes(maxResults=1, nextToken=page["nextToken"])
    code, status, message = error_of(exc.value)
    assert (code, status) == ("ValidationException", 400)
    assert "issued by region us-east-1" in message
    # the issuing region takes it
    rest = east.list_async_invokes(maxResults=1, nextToken=page["nextToken"])
    assert sorted(_arns(page) + _arns(rest)) == sorted(regions["jobs"]["east"])


def test_client_request_tokens_and_quotas_are_per_region(
    emulator: EmulatorControl, emulator_bucket: str
) -> None:
    emulator.configure(speed=1, quotas={V0: 1})  # jobs stay InProgress
    emulator.fail_jobs(count=None)
    east = aws_client("bedrock-runtime", emulator.url)
    eu = aws_client("bedrock-runtime", emulator.url, EU)
    a = start(east, emulator_bucket, text_video(), modelId=V0, clientRequestToken="same-token")
    b = start(eu, emulator_bucket, text_video(), modelId=V0, clientRequestToken="same-token")
    assert a != b and a.split(":")[3] == "us-east-1" and b.split(":")[3] == EU
    # us-east-1's quota of 1 is full; eu-west-1's was used by its own job only
    with pytest.raises(ClientError) as exc:
        start(east, emulator_bucket, text_video(), modelId=V0)
    assert error_of(exc.value)[:2] == ("ThrottlingException", 429)
    assert [j["invocationArn"] for j in emulator.jobs()] == [a, b]  # the control sees all


def test_submit_rate_is_a_token_bucket_per_region(
    emulator: EmulatorControl, emulator_bucket: str
) -> None:
    emulator.configure(submit_rate=0.2, submit_burst=2)
    emulator.fail_jobs(count=None)
    east = aws_client("bedrock-runtime", emulator.url)
    eu = aws_client("bedrock-runtime", emulator.url, EU)
    for _ in range(2):
        start(east, emulator_bucket, text_video(), modelId=V0)
    with pytest.raises(ClientError) as exc:
        start(east, emulator_bucket, text_video(), modelId=V0)
    assert error_of(exc.value) == (
        "ThrottlingException",
        429,
        "Too many requests, please wait before trying again.",
    )
    start(eu, emulator_bucket, text_video(), modelId=V0)  # its own bucket is full
    assert emulator.stats()["rejections"] == {"ThrottlingException": 1}


def test_the_default_rate_lets_ordinary_bursts_through() -> None:
    """Tests and users submitting a handful of jobs at once are not throttled by the
    default bucket; a burst well beyond it is."""
    from novareel.emulator import EmulatorConfig
    from novareel.emulator.faults import TokenBucket

    config = EmulatorConfig()
    bucket = TokenBucket(config.submit_rate, config.submit_burst)
    assert all(bucket.take() for _ in range(config.submit_burst))
    assert config.submit_burst >= 5
    assert not all(bucket.take() for _ in range(5 * config.submit_burst))


# -- model aliases in the emulator's settings ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("nova-reel", V1),
        ("nova-reel-v1:1", V1),
        ("nova-reel-v1:0", V0),
        ("luma-ray2", RAY),
        ("Luma-Ray2", RAY),
        (V0, V0),
    ],
)
def test_control_endpoint_takes_model_aliases(
    emulator: EmulatorControl, name: str, model_id: str
) -> None:
    config = emulator.set_model_state(name, "eol")
    assert config["model_states"][model_id] == "eol"
    assert name not in config["model_states"] or name == model_id
    assert sum(state == "eol" for state in config["model_states"].values()) == 1


def test_control_endpoint_names_the_allowed_models(emulator: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError) as exc:
        emulator.set_model_state("nova-reel-v2", "eol")
    assert exc.value.status == 400
    for allowed in ("nova-reel", "nova-reel-v1:0", "luma-ray2", V1, RAY):
        assert allowed in exc.value.message
    emulator.configure(quotas={"luma-ray2": 5})
    assert emulator.config()["quotas"][RAY] == 5


def test_an_alias_state_takes_effect_on_submit(
    emulator: EmulatorControl, emulator_bucket: str
) -> None:
    emulator.set_model_state("nova-reel", "eol")
    east = aws_client("bedrock-runtime", emulator.url)
    with pytest.raises(ClientError) as exc:
        start(east, emulator_bucket, text_video())  # V1
    assert error_of(exc.value)[:2] == ("ResourceNotFoundException", 404)
    # the wire itself takes full ids only, as AWS does
    with pytest.raises(ClientError) as exc:
        start(east, emulator_bucket, text_video(), modelId="nova-reel-v1:0")
    assert error_of(exc.value)[0] == "ValidationException"


def test_cli_model_state_takes_aliases_and_lists_them_when_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the CLI door: ``novareel emulator --model-state nova-reel=eol``."""
    from novareel.cli import _register, app
    from novareel.emulator import server as server_module

    started: list[Any] = []

    class Stop(Exception):
        pass

    def fake_start(self: Any) -> None:
        started.append(self.backend.config)
        raise Stop  # the command never listens

    monkeypatch.setattr(server_module.EmulatorServer, "start", fake_start)
    _register()
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["emulator", "--port", "0", "--model-state", "nova-reel=eol",
         "--model-state", "luma-ray2=legacy", "--model-state", "nova-reel-v1:0=no-access"],
    )  # fmt: skip
    assert isinstance(result.exception, Stop), result.output
    assert started[0].model_states == {V1: "eol", RAY: "legacy", V0: "no-access"}
    result = runner.invoke(app, ["emulator", "--port", "0", "--model-state", "nova-reel-v3=eol"])
    assert result.exit_code == 2
    assert "--model-state" in result.output
    for allowed in ("nova-reel", "luma-ray2", "nova-reel-v1:0"):
        assert allowed in result.output


# -- what the emulator received ---------------------------------------------------------


def test_job_detail_shows_the_model_input_received(
    emulator: EmulatorControl, emulator_bucket: str
) -> None:
    emulator.fail_jobs(count=None)
    west = aws_client("bedrock-runtime", emulator.url, RAY_REGION)
    asked = ray_input(
        loop=True,
        aspect_ratio="9:16",
        keyframes={"frame1": keyframe(make_image((64, 64)))},
    )
    arn = start(west, emulator_bucket, asked, modelId=RAY)
    detail = emulator.job(arn)
    assert detail["modelInput"] == asked
    assert (detail["modelId"], detail["region"], detail["invocationArn"]) == (
        RAY,
        RAY_REGION,
        arn,
    )
    with pytest.raises(EmulatorControlError) as exc:
        emulator.job("zzzzzzzzzzzz")
    assert exc.value.status == 404


# -- the client against regional jobs -------------------------------------------------------


def test_client_tracks_and_syncs_jobs_in_their_own_region(emulator: EmulatorControl) -> None:
    """novareel follows a job to the region its ARN names (status), and `jobs sync`
    adopts what the region it asks lists: us-west-2's Ray job from a us-west-2 client,
    not from a us-east-1 one (as on AWS)."""
    from novareel import RayVideo, TextVideo
    from novareel.client import AwsClient
    from novareel.jobs import VideoGenerator
    from novareel.running.replay import sync_jobs

    emulator.fail_jobs(count=None)

    def client(region: str | None) -> AwsClient:
        return AwsClient(
            region=region, endpoint_url=emulator.url, access_key="testing",
            secret_key="testing", max_attempts=2,
        )  # fmt: skip

    submitter = client(None)  # no region configured: each model in its own region
    submitter.ensure_bucket("regional")
    with VideoGenerator(submitter) as api:
        ray = api.submit(RayVideo("a kite over the sea"), "s3://regional/v/")
        nova = api.submit(TextVideo("a kite over the hills"), "s3://regional/v/")
        assert ":us-west-2:" in ray.invocation_arn and ":us-east-1:" in nova.invocation_arn
        assert api.status(str(ray.ledger_id)).invocation_arn == ray.invocation_arn

    for region, expected in (("us-east-1", nova), (RAY_REGION, ray)):
        with VideoGenerator(client(region)) as api:
            assert [j.invocation_arn for j in api.list()] == [expected.invocation_arn]
            report = sync_jobs(api)
            assert (report.seen, report.adopted) == (1, []), region  # known by its ARN
