from __future__ import annotations

import pytest

from novareel.emulator.latency import job_latency, real_latency


@pytest.mark.parametrize(("video", "seconds"), [(6, 76.0), (18, 150.0), (60, 350.0), (120, 510.0)])
def test_latency_passes_through_the_seed_lab_measurements(video: int, seconds: float) -> None:
    assert real_latency(video) == pytest.approx(seconds)


def test_latency_interpolates_and_longer_videos_cost_less_per_second() -> None:
    assert real_latency(12) == pytest.approx(113.0)
    per_second = [real_latency(s) / s for s in range(6, 121, 6)]
    assert per_second == sorted(per_second, reverse=True)


def test_default_speed_makes_a_six_second_job_take_about_three_seconds() -> None:
    assert job_latency(6, 25.0) == pytest.approx(3.04)
    assert job_latency(6, 0) == 0.0
