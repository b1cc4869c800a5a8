"""The Python API's guard: VideoGenerator refuses before the ledger row and before any request."""

from __future__ import annotations

from typing import Any

import pytest

from novareel import MultiShotAutomated, TextVideo
from novareel.foundation.errors import BudgetExceededError
from novareel.jobs import VideoGenerator
from novareel.limits.budget import COUNT_LOCAL_ENV, DAILY_ENV
from tests.budget.helpers import seed
from tests.helpers import BUCKET, OUTPUT, make_client


def accepted(emulator: Any) -> int:
    return int(emulator.stats()["acceptedSubmissions"])


def capped(emulator: Any, max_cost_usd: float) -> VideoGenerator:
    client = make_client(emulator.url)
    client.ensure_bucket(BUCKET)
    return VideoGenerator(client, max_cost_usd=max_cost_usd, time_scale=500.0)


def test_max_cost_usd_caps_what_one_object_submits_in_its_lifetime(emulator: Any) -> None:
    with capped(emulator, 1.0) as api:
        assert api.ledger is not None
        api.submit(TextVideo("A red kite, static shot"), OUTPUT)
        api.submit(TextVideo("A blue kite, static shot"), OUTPUT)
        assert api.cost_cap is not None and api.cost_cap.spent_usd == pytest.approx(0.96)
        rows_before = len(api.ledger.list_jobs())
        with pytest.raises(BudgetExceededError) as caught:
            api.submit(TextVideo("A green kite, static shot"), OUTPUT)
        assert caught.value.limit == "max_cost"
        assert caught.value.remaining_usd == pytest.approx(0.04)
        # Refused before the ledger row and before any request to the service.
        assert len(api.ledger.list_jobs()) == rows_before
    assert accepted(emulator) == 2


def test_max_cost_is_judged_on_the_aws_price_even_on_the_emulator(emulator: Any) -> None:
    with capped(emulator, 5.0) as api, pytest.raises(BudgetExceededError, match=r"~\$9\.60 on AWS"):
        api.submit(MultiShotAutomated("A long harbour day", duration=120), OUTPUT)
    assert accepted(emulator) == 0


def test_resubmitting_an_accepted_token_sends_nothing_and_is_not_refused(emulator: Any) -> None:
    with capped(emulator, 0.5) as api:
        first = api.submit(TextVideo("A red kite"), OUTPUT, client_token="tok-once")
        again = api.submit(TextVideo("A red kite"), OUTPUT, client_token="tok-once")
        assert again.invocation_arn == first.invocation_arn
    assert accepted(emulator) == 1


def test_a_local_job_is_not_refused_by_the_standing_budget(
    reel: VideoGenerator, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert reel.ledger is not None
    seed(reel.ledger, 25.0)  # today's AWS spend is over the budget already
    monkeypatch.setenv(DAILY_ENV, "20")
    result = reel.submit(TextVideo("A quiet pond"), OUTPUT)
    assert result.invocation_arn and accepted(emulator) == 1


def test_the_standing_budget_refuses_before_anything_is_written_or_sent(
    reel: VideoGenerator, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert reel.ledger is not None
    seed(reel.ledger, 19.80)  # AWS jobs accepted today
    monkeypatch.setenv(DAILY_ENV, "20")
    monkeypatch.setenv(COUNT_LOCAL_ENV, "1")  # rehearse on the emulator as if on AWS
    rows_before = len(reel.ledger.list_jobs())
    with pytest.raises(BudgetExceededError) as caught:
        reel.generate(TextVideo("A quiet pond"), OUTPUT, out_dir=None)
    err = caught.value
    assert (err.limit, err.spent_usd, err.remaining_usd) == ("daily", 19.8, 0.2)
    assert len(reel.ledger.list_jobs()) == rows_before
    assert accepted(emulator) == 0


def test_a_bad_budget_setting_stops_the_submit(
    reel: VideoGenerator, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from novareel.foundation.errors import InvalidRequestError

    monkeypatch.setenv(DAILY_ENV, "twenty")
    with pytest.raises(InvalidRequestError, match=DAILY_ENV):
        reel.submit(TextVideo("A quiet pond"), OUTPUT)
    assert accepted(emulator) == 0
