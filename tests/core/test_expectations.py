"""Expectations learned from the user's own jobs (novareel.limits.expectations)."""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from novareel.ledger import Ledger
from novareel.limits.expectations import LEARN_AFTER, LEARN_FROM_LAST, expect, robust_estimate
from novareel.models import VideoShape, expected_generation_seconds, get_model
from tests.helpers import record_timed_job

NOVA = "amazon.nova-reel-v1:1"
LUMA = "luma.ray-v2:0"
SIX = VideoShape(1280, 720, 24, 6)
LOCAL = "http://127.0.0.1:5899"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with Ledger.open_default() as opened:
        yield opened


def test_the_prior_until_enough_jobs_of_the_kind(ledger: Ledger) -> None:
    prior = expected_generation_seconds(NOVA, SIX)
    for n in range(LEARN_AFTER):
        got = expect(ledger, NOVA, SIX, endpoint=None)
        assert (got.seconds, got.samples, got.learned) == (prior, 0, False)
        assert got.source == "built-in prior (seed lab 2025)"
        record_timed_job(ledger, 150.0 + n, ended_at=T0 + timedelta(minutes=n))
    got = expect(ledger, NOVA, SIX, endpoint=None)
    assert got.learned and got.samples == LEARN_AFTER
    assert got.seconds == 151.0
    assert got.source == f"learned from {LEARN_AFTER} jobs (median)"
    assert got.prior_seconds == prior


def test_each_family_names_its_prior() -> None:
    luma = VideoShape(1280, 720, 24, 5)
    got = expect(None, LUMA, luma, endpoint=None)
    assert got.seconds == get_model(LUMA).expected_generation_seconds(luma)
    assert got.source == "built-in prior (a guess, no published figure)"
    assert expect(None, "someone.else-v9", SIX, endpoint=None).source.startswith(
        "built-in prior (slowest"
    )


def test_other_lengths_and_models_do_not_count(ledger: Ledger) -> None:
    for n in range(5):
        record_timed_job(ledger, 500.0, duration=12, ended_at=T0 + timedelta(minutes=n))
        record_timed_job(ledger, 400.0, model_id=LUMA, ended_at=T0 + timedelta(minutes=n))
    assert not expect(ledger, NOVA, SIX, endpoint=None).learned
    twelve = expect(ledger, NOVA, VideoShape(1280, 720, 24, 12), endpoint=None)
    assert twelve.learned and twelve.seconds == 500.0


def test_aws_and_a_local_emulator_never_teach_each_other(ledger: Ledger) -> None:
    for n in range(4):
        record_timed_job(ledger, 120.0, ended_at=T0 + timedelta(minutes=n))
    for n in range(3):  # 0.2 s at speed 500: 100 s of real service
        record_timed_job(
            ledger, 0.2, endpoint=LOCAL, time_scale=500.0, ended_at=T0 + timedelta(minutes=n)
        )
    aws = expect(ledger, NOVA, SIX, endpoint=None)
    local = expect(ledger, NOVA, SIX, endpoint=LOCAL)
    other = expect(ledger, NOVA, SIX, endpoint="http://127.0.0.1:6000")
    assert (aws.samples, aws.seconds) == (4, 120.0)
    assert local.samples == 3 and local.seconds == pytest.approx(100.0)
    assert not other.learned


def test_only_the_latest_jobs_count(ledger: Ledger) -> None:
    for n in range(25):  # old: the service was slower then
        record_timed_job(ledger, 300.0, ended_at=T0 + timedelta(minutes=n))
    for n in range(LEARN_FROM_LAST):
        record_timed_job(ledger, 100.0, ended_at=T0 + timedelta(hours=1, minutes=n))
    got = expect(ledger, NOVA, SIX, endpoint=None)
    assert (got.samples, got.seconds) == (LEARN_FROM_LAST, 100.0)


def test_one_job_that_queued_does_not_move_the_estimate(ledger: Ledger) -> None:
    for n, seconds in enumerate((90.0, 95.0, 100.0, 1800.0, 92.0)):
        record_timed_job(ledger, seconds, ended_at=T0 + timedelta(minutes=n))
    assert expect(ledger, NOVA, SIX, endpoint=None).seconds == 95.0


def test_after_five_jobs_the_expectation_is_their_median(ledger: Ledger) -> None:
    """Five real jobs 1.8x slower than the prior, with spread: the expectation is
    exactly their median, far from the prior."""
    rng = random.Random(11)
    prior = expected_generation_seconds(NOVA, SIX)
    took = [prior * 1.8 * rng.lognormvariate(0.0, 0.2) for _ in range(5)]
    for n, seconds in enumerate(took):
        record_timed_job(ledger, seconds, ended_at=T0 + timedelta(minutes=n))
    got = expect(ledger, NOVA, SIX, endpoint=None)
    assert got.seconds == pytest.approx(statistics.median(took))
    assert abs(got.seconds - prior) / prior > 0.4


@pytest.mark.parametrize(("spread", "share"), [(0.1, 0.99), (0.2, 0.75)])
def test_five_jobs_land_within_15_percent_of_the_true_median(spread: float, share: float) -> None:
    """The issue's goal, over 2,000 seeded draws: the median of 5 jobs from a log-normal
    spread around a true median (here 1.8x the prior) is within 15 % of it in at least
    ``share`` of cases (per-job spread 0.1: nearly always; 0.2: mostly)."""
    rng = random.Random(2026)
    true_median = expected_generation_seconds(NOVA, SIX) * 1.8
    trials = 2000
    within = 0
    for _ in range(trials):
        took = [true_median * rng.lognormvariate(0.0, spread) for _ in range(5)]
        if abs(robust_estimate(took) - true_median) <= 0.15 * true_median:
            within += 1
    assert within / trials >= share


def test_an_unreadable_ledger_falls_back_to_the_prior(ledger: Ledger) -> None:
    for n in range(3):
        record_timed_job(ledger, 200.0, ended_at=T0 + timedelta(minutes=n))
    ledger.close()
    got = expect(ledger, NOVA, SIX, endpoint=None)
    assert not got.learned and got.seconds == expected_generation_seconds(NOVA, SIX)
