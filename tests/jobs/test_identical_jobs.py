"""One command pays once: an identical request stands for the earlier job.

"Identical" is the complete StartAsyncInvoke request minus its token (plus endpoint
and region). Within the window, a Submitting (or never sent) identical job has its
own token sent again; an InProgress or Completed one is attached to. Failed and
service-rejected ones do not count; ``again=True`` / ``--again`` pays on purpose.
Counted on the emulator's side.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel import ServiceUnavailableError, TextVideo, VideoGenerator
from novareel.cli import _register, app
from novareel.foundation.errors import BudgetExceededError, ServiceValidationError
from novareel.foundation.s3uri import output_location
from novareel.jobs import IDENTICAL_JOB_WINDOW, request_fingerprint
from novareel.ledger import Ledger
from novareel.ledger.db import to_iso, utc_now
from novareel.limits.budget import DAILY_ENV
from tests.helpers import OUTPUT

_register()
runner = CliRunner()


def accepted(emulator: Any) -> int:
    return int(emulator.stats()["acceptedSubmissions"])


def test_a_running_identical_job_is_attached_to_not_paid_again(
    reel: VideoGenerator, emulator: Any
) -> None:
    first = reel.submit(TextVideo("a kite over dunes"), OUTPUT)
    heard: list[str] = []
    second = reel.submit(TextVideo("a kite over dunes"), OUTPUT, on_notice=heard.append)
    assert (second.ledger_id, second.invocation_arn) == (first.ledger_id, first.invocation_arn)
    assert second.client_token == first.client_token
    # the Python door names its own way to pay again (the CLI says --again)
    assert any(f"identical job {first.ledger_id}" in n and "again=True" in n for n in heard)
    assert emulator.stats()["requests"].get("StartAsyncInvoke", 0) == 1
    assert accepted(emulator) == 1


def test_a_completed_identical_job_is_downloaded_again_to_the_new_folder(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    first = reel.generate(TextVideo("a quiet harbour"), OUTPUT, out_dir=tmp_path / "a")
    second = reel.generate(TextVideo("a quiet harbour"), OUTPUT, out_dir=tmp_path / "b")
    assert second.invocation_arn == first.invocation_arn and second.status == "Completed"
    assert second.local_dir is not None and Path(second.local_dir).is_relative_to(tmp_path / "b")
    assert (Path(second.local_dir) / "output.mp4").stat().st_size > 0
    assert any("already Completed" in n for n in second.notices)
    assert accepted(emulator) == 1


def test_again_pays_for_a_new_job_on_purpose(reel: VideoGenerator, emulator: Any) -> None:
    first = reel.submit(TextVideo("a red lantern"), OUTPUT)
    second = reel.submit(TextVideo("a red lantern"), OUTPUT, again=True)
    assert second.invocation_arn != first.invocation_arn
    assert accepted(emulator) == 2


def test_an_unanswered_identical_submit_resends_its_own_token(
    reel: VideoGenerator, emulator: Any, bedrock_client: Any
) -> None:
    """Killed (here: cut off) after the ledger row: the rerun sends the same token, and
    the service answers with the job it had already started."""
    emulator.fail_calls("StartAsyncInvoke", "ServiceUnavailableException", count=10)
    request = TextVideo("a lost answer, no token given")
    with pytest.raises(ServiceUnavailableError):
        reel.submit(request, OUTPUT)
    emulator.clear_faults()
    assert reel.ledger is not None
    (row,) = reel.ledger.list_jobs()
    assert row.status == "Submitting"
    started = bedrock_client.start_async_invoke(
        modelId=request.model_id,
        modelInput=request.to_model_input(),
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": OUTPUT}},
        clientRequestToken=row.client_token,
    )
    heard: list[str] = []
    healed = reel.submit(request, OUTPUT, on_notice=heard.append)
    assert healed.invocation_arn == started["invocationArn"]
    assert healed.ledger_id == row.id
    assert any("never confirmed as sent" in n for n in heard)
    assert accepted(emulator) == 1
    assert emulator.stats()["idempotentReplays"] == 1


def test_a_failed_identical_job_does_not_block_a_new_one(
    reel: VideoGenerator, emulator: Any
) -> None:
    emulator.fail_jobs(count=1)
    failed = reel.generate(
        TextVideo("a storm at sea"), OUTPUT, out_dir=None, raise_on_failure=False
    )
    assert failed.status == "Failed"
    retried = reel.generate(TextVideo("a storm at sea"), OUTPUT, out_dir=None)
    assert retried.status == "Completed" and retried.invocation_arn != failed.invocation_arn
    assert accepted(emulator) == 2


def test_an_identical_job_older_than_the_window_does_not_count(
    reel: VideoGenerator, emulator: Any
) -> None:
    first = reel.submit(TextVideo("an old kite"), OUTPUT)
    old = to_iso(utc_now() - IDENTICAL_JOB_WINDOW - timedelta(minutes=1))
    assert reel.ledger is not None
    reel.ledger.conn.execute("UPDATE jobs SET created_at = ? WHERE id = ?", (old, first.ledger_id))
    reel.ledger.conn.commit()
    second = reel.submit(TextVideo("an old kite"), OUTPUT)
    assert second.invocation_arn != first.invocation_arn
    assert accepted(emulator) == 2


def test_any_difference_in_the_request_is_another_job(
    reel: VideoGenerator, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five jobs in flight at once: the service's quota and the client's shared one.
    emulator.configure(quotas={"amazon.nova-reel-v1:1": 10})
    monkeypatch.setenv("NOVAREEL_QUOTA", "10")
    base = reel.submit(TextVideo("a fox", seed=1), OUTPUT, tags={"a": "1", "b": "2"})
    same = reel.submit(TextVideo("a fox", seed=1), OUTPUT, tags={"b": "2", "a": "1"})
    assert same.invocation_arn == base.invocation_arn  # tag order does not matter
    others = [
        reel.submit(TextVideo("a fox", seed=2), OUTPUT, tags={"a": "1", "b": "2"}),
        reel.submit(TextVideo("a fox", seed=1), OUTPUT + "other/", tags={"a": "1", "b": "2"}),
        reel.submit(TextVideo("a fox", seed=1), OUTPUT, tags={"a": "1"}),
        reel.submit(TextVideo("a fox!", seed=1), OUTPUT, tags={"a": "1", "b": "2"}),
    ]
    assert len({r.invocation_arn for r in [base, *others]}) == 5
    assert accepted(emulator) == 5


def test_an_explicit_token_is_its_own_identity(reel: VideoGenerator, emulator: Any) -> None:
    """A caller's token (a batch's derived one, --token) is never swapped for another."""
    first = reel.submit(TextVideo("a tokened kite"), OUTPUT)
    mine = reel.submit(TextVideo("a tokened kite"), OUTPUT, client_token="tok-mine")
    assert mine.client_token == "tok-mine" and mine.invocation_arn != first.invocation_arn


def test_the_fingerprint_ignores_the_token_but_not_the_endpoint() -> None:
    request = TextVideo("same")
    output = output_location(OUTPUT)
    common: dict[str, Any] = {
        "model_id": request.model_id,
        "model_input": request.to_model_input(),
        "output": output,
        "tags": None,
        "region": "us-east-1",
    }
    local = request_fingerprint(endpoint="http://127.0.0.1:5899", **common)
    assert local == request_fingerprint(endpoint="http://127.0.0.1:5899", **common)
    assert local != request_fingerprint(endpoint=None, **common)
    elsewhere = {**common, "region": "eu-west-1"}
    assert local != request_fingerprint(endpoint="http://127.0.0.1:5899", **elsewhere)


def test_a_cost_cap_refuses_a_new_job_but_not_an_attach(emulator: Any) -> None:
    from novareel.jobs import VideoGenerator as Reel
    from tests.helpers import BUCKET, make_client

    client = make_client(emulator.url, max_attempts=2)
    client.ensure_bucket(BUCKET)
    with Reel(client, time_scale=500.0, max_cost_usd=0.5) as capped:
        first = capped.submit(TextVideo("one paid kite"), OUTPUT)  # $0.48 of $0.50
        attached = capped.submit(TextVideo("one paid kite"), OUTPUT)
        assert attached.invocation_arn == first.invocation_arn
        with pytest.raises(BudgetExceededError):
            capped.submit(TextVideo("one paid kite"), OUTPUT, again=True)
    assert accepted(emulator) == 1


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def local(emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    return ["--local", "--out", str(tmp_path / "videos")]


def test_cli_attaches_with_a_notice_and_again_pays(emulator: Any, local: list[str]) -> None:
    first = runner.invoke(app, ["generate", "A kite", *local, "--no-wait", "--json"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["generate", "A kite", *local])
    assert second.exit_code == 0, second.output
    job = json.loads(first.stdout)["ledger_id"]
    assert f"an identical job {job} is already" in second.stderr
    assert f"attached to job {job}" in second.stderr
    assert accepted(emulator) == 1
    third = runner.invoke(app, ["generate", "A kite", *local, "--again", "--no-wait"])
    assert third.exit_code == 0, third.output
    assert accepted(emulator) == 2


def test_cli_standing_budget_refuses_new_but_not_attach(
    emulator: Any, local: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAREEL_BUDGET_COUNT_LOCAL", "true")
    monkeypatch.setenv(DAILY_ENV, "0.60")  # room for one $0.48 job, not two
    first = runner.invoke(app, ["generate", "A budget kite", *local, "--json"])
    assert first.exit_code == 0, first.output
    attached = runner.invoke(app, ["generate", "A budget kite", *local, "--json"])
    assert attached.exit_code == 0, attached.output
    assert (
        json.loads(attached.stdout)["invocation_arn"] == json.loads(first.stdout)["invocation_arn"]
    )
    refused = runner.invoke(app, ["generate", "A budget kite", *local, "--again", "--json"])
    assert refused.exit_code == 2
    assert json.loads(refused.stdout)["error"]["budget"]["limit"] == "daily"
    assert accepted(emulator) == 1
    with Ledger.open_default() as ledger:
        assert len(ledger.list_jobs()) == 1


# ------------------------------------------------------------ reserved from the row on


def test_a_refused_submit_gives_its_reservation_back(emulator: Any) -> None:
    """The cap holds a job's estimate from its reservation; a submit the service
    refuses created no job, so the cap and the standing budget get it back."""
    from novareel.jobs import VideoGenerator as Reel
    from tests.helpers import BUCKET, make_client

    client = make_client(emulator.url, max_attempts=1)
    client.ensure_bucket(BUCKET)
    emulator.fail_calls("StartAsyncInvoke", "ValidationException", count=1)
    with Reel(client, time_scale=500.0, max_cost_usd=0.5) as capped:
        assert capped.cost_cap is not None
        with pytest.raises(ServiceValidationError):
            capped.submit(TextVideo("a refused kite"), OUTPUT)
        assert capped.cost_cap.spent_usd == 0.0
        assert capped.ledger is not None
        assert capped.ledger.list_jobs()[0].status == "Rejected"
        day = utc_now() - timedelta(hours=1)
        assert capped.ledger.spend(since=day, reserved=True) == []
        capped.submit(TextVideo("a refused kite"), OUTPUT)  # the $0.48 fits again
        assert capped.cost_cap.spent_usd == pytest.approx(0.48)
    assert accepted(emulator) == 1


def test_an_unanswered_row_counts_against_the_standing_budget(
    reel: VideoGenerator, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Submitting row without an ARN (another process mid-submit, or a lost answer)
    is reserved: a second job that would not fit beside it is refused."""
    monkeypatch.setenv("NOVAREEL_BUDGET_COUNT_LOCAL", "1")
    monkeypatch.setenv(DAILY_ENV, "0.60")
    assert reel.ledger is not None
    reel.ledger.add_intent(
        client_token="someone-else-mid-submit",
        model_id="amazon.nova-reel-v1:1",
        task_type="TEXT_VIDEO",
        request={"taskType": "TEXT_VIDEO"},
        output_uri=str(OUTPUT),
        duration_seconds=6,
        seed=42,
        estimated_cost_usd=0.48,
        endpoint=reel.client.runtime_endpoint,
    )
    with pytest.raises(BudgetExceededError) as caught:
        reel.submit(TextVideo("a second kite"), OUTPUT)
    assert caught.value.spent_usd == pytest.approx(0.48)
    assert accepted(emulator) == 0
