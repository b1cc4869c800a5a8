"""The emulator's latency model: presets, per-job spread, scale, and how to configure them."""

from __future__ import annotations

import json
import math
import signal
import statistics
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emu_helpers import start, text_video, wait

from novareel.emulator import EmulatorConfig
from novareel.emulator.control_client import EmulatorControl, EmulatorControlError
from novareel.emulator.latency import (
    AWS_GUIDE_2026,
    DEFAULT_PRESET,
    DEFAULT_SPREAD,
    LAB_2025,
    PRESETS,
    LatencyModel,
    scaled,
)
from novareel.emulator.models.luma_ray import RayPlan
from novareel.emulator.models.nova_reel import real_latency


class Clip:
    """A stand-in job plan of ``video_seconds`` of Nova Reel video (no rendering)."""

    def __init__(self, video_seconds: float) -> None:
        self.video_seconds = video_seconds

    def real_latency(self, preset: str = DEFAULT_PRESET) -> float:
        return real_latency(self.video_seconds, preset)


@pytest.mark.parametrize(("video", "seconds"), [(6, 76.0), (18, 150.0), (60, 350.0), (120, 510.0)])
def test_lab_preset_passes_through_the_seed_lab_measurements(video: int, seconds: float) -> None:
    assert real_latency(video, LAB_2025) == pytest.approx(seconds)
    model = LatencyModel(LAB_2025, spread=0)
    assert model.draw(Clip(video)) == pytest.approx(seconds)


@pytest.mark.parametrize(("video", "seconds"), [(6, 90.0), (120, 930.0)])
def test_guide_preset_follows_aws_nova_guide(video: int, seconds: float) -> None:
    # ~90 s for 6 s of video; 14-17 min (midpoint 930 s) for 2 minutes.
    assert real_latency(video, AWS_GUIDE_2026) == pytest.approx(seconds)
    assert 14 * 60 <= real_latency(120, AWS_GUIDE_2026) <= 17 * 60
    model = LatencyModel(AWS_GUIDE_2026, spread=0)
    assert model.draw(Clip(video)) == pytest.approx(seconds)


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_interpolate_and_longer_videos_cost_less_per_second(preset: str) -> None:
    per_second = [real_latency(s, preset) / s for s in range(6, 241, 6)]
    assert per_second == sorted(per_second, reverse=True)
    assert real_latency(12, LAB_2025) == pytest.approx(113.0)
    assert real_latency(63, AWS_GUIDE_2026) == pytest.approx(90 + 840 * 57 / 114)


def test_default_is_the_guide_with_spread() -> None:
    config = EmulatorConfig()
    assert (config.latency, config.latency_spread, config.latency_scale) == (
        AWS_GUIDE_2026,
        DEFAULT_SPREAD,
        1.0,
    )
    assert DEFAULT_SPREAD > 0
    assert config.quota_error == "ThrottlingException"


def test_speed_compresses_the_drawn_time() -> None:
    assert scaled(real_latency(6, LAB_2025), 25.0) == pytest.approx(3.04)
    assert scaled(90.0, 0) == 0.0


def test_ray_has_one_guess_for_every_preset() -> None:
    plan = RayPlan(model_id="luma.ray-v2:0", task_type="TEXT_VIDEO", text="a kite")
    assert {plan.real_latency(p) for p in PRESETS} == {90.0}
    assert LatencyModel(LAB_2025, scale=2, spread=0).draw(plan) == pytest.approx(180.0)


def test_spread_is_seeded_and_reproducible() -> None:
    clip = Clip(6)

    def draws(seed: int) -> list[float]:
        model = LatencyModel(spread=0.5, seed=seed)
        return [model.draw(clip) for _ in range(20)]

    a = draws(11)
    assert a == draws(11)
    assert a != draws(12)
    assert len(set(a)) == 20  # every job its own duration


@pytest.mark.parametrize("sigma", [0.1, 0.25, 0.6])
def test_spread_is_a_log_normal_of_the_configured_sigma(sigma: float) -> None:
    clip = Clip(6)
    model = LatencyModel(AWS_GUIDE_2026, spread=sigma, seed=1)
    median = model.median(clip)
    logs = [math.log(model.draw(clip) / median) for _ in range(5000)]
    # ln(factor) ~ N(0, sigma): median 1x, standard deviation sigma (5000 samples:
    # standard errors ~1.8 % of sigma for the mean and ~1 % for the deviation).
    assert abs(statistics.median(logs)) < 0.06 * sigma
    assert statistics.stdev(logs) == pytest.approx(sigma, rel=0.04)
    share_slower = sum(1 for x in logs if x > 0) / len(logs)
    assert 0.47 < share_slower < 0.53
    # 90 % of jobs between exp(-1.645 sigma) and exp(+1.645 sigma) of the median
    inside = sum(1 for x in logs if abs(x) <= 1.645 * sigma) / len(logs)
    assert 0.88 < inside < 0.92


def test_zero_spread_is_exactly_the_median_and_scale_multiplies() -> None:
    clip = Clip(18)
    for preset in PRESETS:
        base = LatencyModel(preset, spread=0)
        slow = LatencyModel(preset, scale=1.8, spread=0)
        assert {base.draw(clip) for _ in range(5)} == {real_latency(18, preset)}
        assert slow.draw(clip) == pytest.approx(1.8 * real_latency(18, preset))
    # with spread the scale multiplies every draw (same seed, same factors)
    plain, tripled = LatencyModel(spread=0.3, seed=4), LatencyModel(scale=3, spread=0.3, seed=4)
    for _ in range(5):
        assert tripled.draw(clip) == pytest.approx(3 * plain.draw(clip))


@pytest.mark.parametrize(
    "bad",
    [
        {"latency": "lab-2024"},
        {"latency_scale": 0},
        {"latency_scale": -1.0},
        {"latency_spread": -0.1},
        {"latency_seed": "x"},
        {"quota_error": "LimitExceededException"},
    ],
)
def test_bad_latency_settings_are_refused(bad: dict[str, Any], emulator: EmulatorControl) -> None:
    with pytest.raises(ValueError):
        EmulatorConfig().update(bad)
    with pytest.raises(EmulatorControlError) as exc:
        emulator.configure(**bad)
    assert exc.value.status == 400


def _duration(job: dict[str, Any]) -> float:
    return (job["endTime"] - job["submitTime"]).total_seconds()


def test_control_endpoint_sets_preset_scale_and_spread(
    emulator: EmulatorControl, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.fail_jobs(count=None)  # fail at once: the job's end is its due time
    # lab 76 s x scale 2 = 152 s at speed 304 -> 0.5 s, exactly (no spread)
    config = emulator.configure(
        latency=LAB_2025, latency_scale=2, latency_spread=0, latency_seed=9, speed=304
    )
    assert (config["latency"], config["latency_scale"], config["latency_spread"]) == (
        LAB_2025,
        2.0,
        0.0,
    )
    job = wait(bedrock_client, start(bedrock_client, emulator_bucket, text_video()))
    assert 0.5 <= _duration(job) < 0.7
    # The guide's 90 s at speed 90 -> a 1 s median; a spread of 1 (seed 9, a new latency
    # setting restarts the sequence) gives these jobs 0.90x, 1.27x and 0.28x of it.
    emulator.configure(latency=AWS_GUIDE_2026, latency_scale=1, latency_spread=1, speed=90)
    arns = [start(bedrock_client, emulator_bucket, text_video(f"j{i}")) for i in range(3)]
    durations = [_duration(wait(bedrock_client, arn)) for arn in arns]
    model = LatencyModel(spread=1, seed=9)
    expected = [model.factor() for _ in range(3)]
    assert [round(x, 2) for x in expected] == [0.9, 1.27, 0.28]
    for got, want in zip(durations, expected, strict=True):
        assert want - 0.002 <= got < want + 0.4  # ends at its due time (ms on the wire)


def test_quota_error_is_selectable(
    emulator: EmulatorControl, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(speed=1)  # jobs stay InProgress for over a minute
    emulator.fail_jobs(count=None)
    for _ in range(3):
        start(bedrock_client, emulator_bucket, text_video())
    with pytest.raises(ClientError) as exc:
        start(bedrock_client, emulator_bucket, text_video())
    error = exc.value.response
    # The default: what AWS users see (rest-json's ThrottlingException is a 429).
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert "exceeding the account quotas" in error["Error"]["Message"]
    assert "3 concurrent async invocations of amazon.nova-reel-v1:1" in error["Error"]["Message"]

    emulator.configure(quota_error="ServiceQuotaExceededException")
    with pytest.raises(ClientError) as exc:
        start(bedrock_client, emulator_bucket, text_video())
    error = exc.value.response
    assert error["Error"]["Code"] == "ServiceQuotaExceededException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "limit of 3 concurrent jobs" in error["Error"]["Message"]
    emulator.configure(quota_error="throttling")  # the short spellings work too
    assert emulator.config()["quota_error"] == "ThrottlingException"
    assert emulator.stats()["rejections"] == {
        "ServiceQuotaExceededException": 1,
        "ThrottlingException": 1,
    }


def _first_json(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    text = ""
    while not text.rstrip().endswith("}"):
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "emulator exited"
        text += line
    result: dict[str, Any] = json.loads(text)
    return result


FLAGS = [
    "--latency", "lab-2025", "--latency-scale", "1.8", "--latency-spread", "0.4",
    "--latency-seed", "5", "--quota-error", "service-quota-exceeded",
    # the aliases novareel users type, in the emulator's own table
    "--model-state", "nova-reel=eol", "--model-state", "luma-ray2=no-agreement",
    "--model-state", "nova-reel-v1:0=legacy",
]  # fmt: skip


def test_novareel_emulator_latency_options() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "novareel", "emulator", "--port", "0", "--json", *FLAGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        _check_served(proc, json_first=True)
    bad = subprocess.run(
        [sys.executable, "-m", "novareel", "emulator", "--port", "0", "--latency-spread", "-1"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert bad.returncode == 2 and "--latency-spread" in bad.stderr


def _check_served(proc: subprocess.Popen[str], *, json_first: bool) -> None:
    """The served config carries FLAGS' settings; then stop the emulator."""
    try:
        if json_first:  # novareel emulator --json
            first = _first_json(proc)
            assert first["latency"] == "lab-2025" and first["latency_scale"] == 1.8
            url = first["url"]
        else:  # python -m novareel.emulator: its first line names the URL
            assert proc.stdout is not None
            line = proc.stdout.readline()
            url = line.split("listening on ", 1)[1].split()[0]
        config = EmulatorControl(url).config()
        assert (config["latency"], config["latency_scale"], config["latency_spread"]) == (
            "lab-2025",
            1.8,
            0.4,
        )
        assert (config["latency_seed"], config["quota_error"]) == (
            5,
            "ServiceQuotaExceededException",
        )
        assert config["model_states"] == {
            "amazon.nova-reel-v1:1": "eol",
            "luma.ray-v2:0": "no-agreement",
            "amazon.nova-reel-v1:0": "legacy",
        }
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_python_m_emulator_latency_options() -> None:
    # python -m novareel.emulator prints a line, not JSON: read the config over HTTP.
    with subprocess.Popen(
        [sys.executable, "-m", "novareel.emulator", "--port", "0", *FLAGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        _check_served(proc, json_first=False)
    bad = subprocess.run(
        [sys.executable, "-m", "novareel.emulator", "--latency", "lab-2024"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert bad.returncode == 2 and "--latency" in bad.stderr
