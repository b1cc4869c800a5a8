"""Recording jobs: write-before-submit, status history, lookups, filters, sync."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from novareel.foundation.errors import LedgerError
from novareel.ledger import TERMINAL_STATUSES, JobRecord, Ledger

AddJob = Callable[..., JobRecord]
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc123def456"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_intent_is_recorded_as_submitting_before_any_arn(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1", tags={"project": "fox"})
    assert job.status == "Submitting"
    assert job.invocation_arn is None
    assert job.client_token == "tok-1"
    assert job.tags == {"project": "fox"}
    assert job.request["textToVideoParams"]["images"][0]["source"]["sha256"] == "ab" * 32
    assert job.created_at.tzinfo is not None
    assert [j.id for j in ledger.pending_jobs()] == [job.id]


def test_add_intent_is_idempotent_on_the_client_token(add: AddJob, ledger: Ledger) -> None:
    first = add("tok-1")
    again = add("tok-1", seed=7)  # a resumed run: the existing row wins
    assert again.id == first.id
    assert again.seed == 42
    assert len(ledger.list_jobs()) == 1


def test_mark_submitted_stores_arn_and_invocation_id(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    done = ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=T0)
    assert done.status == "InProgress"
    assert done.invocation_arn == ARN
    assert done.invocation_id == "abc123def456"
    assert done.submit_time == T0
    # A crash healed by resubmitting with the same token returns the same ARN: no change.
    again = ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=None)
    assert again.submit_time == T0
    assert [e.status for e in ledger.history(job.id)] == ["Submitting", "InProgress"]


def test_a_different_arn_for_the_same_job_is_refused(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=T0)
    with pytest.raises(LedgerError, match="already has invocation"):
        ledger.mark_submitted(job.id, invocation_arn=ARN[:-12] + "zzzzzzzzzzzz", submit_time=T0)


def test_an_arn_recorded_for_another_job_is_refused_and_changes_nothing(
    add: AddJob, ledger: Ledger
) -> None:
    # The ARN's UNIQUE index refuses it (no SELECT before each update does any more):
    # the message still names the job that holds it, and the second job is unchanged.
    first = add("tok-1")
    second = add("tok-2")
    ledger.mark_submitted(first.id, invocation_arn=ARN, submit_time=T0)
    with pytest.raises(LedgerError, match=f"already recorded as job {first.id}"):
        ledger.mark_submitted(second.id, invocation_arn=ARN, submit_time=T0)
    again = ledger.get(second.id)
    assert (again.status, again.invocation_arn) == ("Submitting", None)
    assert [e.status for e in ledger.history(second.id)] == ["Submitting"]
    # the ledger is usable after the refusal (the transaction was rolled back)
    assert ledger.mark_submitted(second.id, invocation_arn=ARN[:-1] + "7", submit_time=T0)


def test_a_batch_item_costs_the_ledger_few_statements(add: AddJob, ledger: Ledger) -> None:
    # Issue 20: each statement is a round trip to a PostgreSQL server (~80 us of client
    # CPU). Reserve, submit and completion of a job without tags: 15 statements on
    # both backends (4 to 6 each: BEGIN, the row, one UPDATE/INSERT returning the row,
    # the history event, COMMIT), where reloading the row after every write took 30.
    counts: list[int] = []

    def counted(call: Callable[[], JobRecord]) -> JobRecord:
        seen: list[str] = []
        ledger.conn.set_trace_callback(seen.append)
        try:
            return call()
        finally:
            ledger.conn.set_trace_callback(None)
            counts.append(len(seen))

    job = counted(lambda: add("tok-1", fingerprint="f" * 64))
    submitted = counted(lambda: ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=T0))
    assert submitted == ledger.get(job.id)  # the record returned is what a read gives
    end = T0 + timedelta(minutes=2)
    done = counted(lambda: ledger.record_status(job.id, "Completed", end_time=end))
    assert done == ledger.get(job.id)
    assert (done.status, done.generation_seconds, done.end_time) == ("Completed", 120.0, end)
    assert counts == [5, 5, 5]
    tagged = add("tok-2", tags={"b": "2", "a": "1"})  # built from what was written
    assert tagged == ledger.get(tagged.id)
    assert list(tagged.tags) == ["a", "b"]


def test_rejected_submit_keeps_the_reason(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    rejected = ledger.mark_rejected(
        job.id,
        message="This request has been blocked by our content filters.",
        failure_type="ValidationException",
    )
    assert rejected.status == "Rejected"
    assert rejected.is_terminal
    assert rejected.failure_message == "This request has been blocked by our content filters."
    assert rejected.end_time is not None
    assert ledger.pending_jobs() == []
    with pytest.raises(LedgerError, match="not Submitting"):
        ledger.mark_rejected(job.id, message="again")


def test_status_history_records_changes_only(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=T0)
    ledger.record_status(job.id, "InProgress", at=T0 + timedelta(seconds=30))
    ledger.record_status(job.id, "InProgress", at=T0 + timedelta(seconds=60))
    failed = ledger.record_status(
        job.id,
        "Failed",
        at=T0 + timedelta(seconds=90),
        end_time=T0 + timedelta(seconds=85),
        failure_type="INTERNAL_SERVER_EXCEPTION",
        failure_message="Something went wrong on the server side.",
        failure_shot=11,
    )
    assert failed.status == "Failed"
    assert failed.end_time == T0 + timedelta(seconds=85)
    assert (failed.failure_type, failed.failure_shot) == ("INTERNAL_SERVER_EXCEPTION", 11)
    events = ledger.history(job.id)
    assert [e.status for e in events] == ["Submitting", "InProgress", "Failed"]
    assert events[1].at == T0
    assert events[2].at == T0 + timedelta(seconds=90)
    assert events[2].detail == "Something went wrong on the server side."


@pytest.mark.parametrize("final", ["Completed", "Failed"])
def test_a_finished_job_never_goes_back(add: AddJob, ledger: Ledger, final: str) -> None:
    job = add("tok-1")
    ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=T0)
    ledger.record_status(job.id, final, at=T0 + timedelta(minutes=2))
    stale = ledger.record_status(job.id, "InProgress", at=T0 + timedelta(minutes=3))
    assert stale.status == final
    other = "Failed" if final == "Completed" else "Completed"
    assert ledger.record_status(job.id, other).status == final
    assert [e.status for e in ledger.history(job.id)] == ["Submitting", "InProgress", final]
    assert final in TERMINAL_STATUSES


def test_completed_without_end_time_uses_when_it_was_seen(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    done = ledger.record_status(job.id, "Completed", at=T0)
    assert done.end_time == T0


def test_unknown_status_is_refused(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    with pytest.raises(LedgerError, match="unknown job status"):
        ledger.record_status(job.id, "Done")


def test_record_files_adds_in_order_without_duplicates(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    ledger.record_files(job.id, ["/videos/fox/output.mp4"])
    rec = ledger.record_files(job.id, ["/videos/fox/output.mp4", "/videos/fox/shot_0001.mp4"])
    assert rec.local_files == ["/videos/fox/output.mp4", "/videos/fox/shot_0001.mp4"]


def test_get_resolves_id_invocation_id_arn_and_token(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-fox")
    add("tok-other")
    ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=T0)
    for ref in (job.id, str(job.id), "abc123def456", ARN, "tok-fox"):
        assert ledger.get(ref).id == job.id, ref


def test_unknown_reference_is_a_clear_error(add: AddJob, ledger: Ledger) -> None:
    add("tok-1")
    with pytest.raises(LedgerError, match="no job in the ledger matches 'nope'"):
        ledger.get("nope")
    assert ledger.find("nope") is None
    assert ledger.find(999) is None


def test_ambiguous_reference_is_refused(add: AddJob, ledger: Ledger) -> None:
    first = add("tok-1")
    second = add(str(first.id))  # a client token that looks like the first job's id
    with pytest.raises(LedgerError, match="matches several jobs") as info:
        ledger.get(str(first.id))
    assert str(second.id) in str(info.value)
    # The int form is always a ledger id, so it stays unambiguous.
    assert ledger.get(first.id).id == first.id


def test_same_invocation_id_in_two_regions_is_ambiguous(add: AddJob, ledger: Ledger) -> None:
    a, b = add("tok-a"), add("tok-b")
    ledger.mark_submitted(a.id, invocation_arn=ARN, submit_time=T0)
    ledger.mark_submitted(
        b.id, invocation_arn=ARN.replace("us-east-1", "eu-west-1"), submit_time=T0
    )
    with pytest.raises(LedgerError, match="several jobs"):
        ledger.get("abc123def456")
    assert ledger.get(ARN).id == a.id


def test_list_jobs_newest_first_with_filters(add: AddJob, ledger: Ledger) -> None:
    jobs = [add(f"tok-{i}") for i in range(4)]
    for i, job in enumerate(jobs[:3]):
        ledger.mark_submitted(
            job.id,
            invocation_arn=f"{ARN[:-12]}{i:012d}",
            submit_time=T0 + timedelta(hours=i),
        )
    ledger.record_status(jobs[0].id, "Completed")
    ledger.record_status(jobs[1].id, "Failed", failure_message="blocked")

    newest_first = [j.client_token for j in ledger.list_jobs()]
    # tok-3 was never submitted: it sorts by its creation time, which is now.
    assert newest_first == ["tok-3", "tok-2", "tok-1", "tok-0"]
    assert [j.client_token for j in ledger.list_jobs(status="Completed")] == ["tok-0"]
    assert [j.client_token for j in ledger.list_jobs(status=["Completed", "Failed"])] == [
        "tok-1",
        "tok-0",
    ]
    window = ledger.list_jobs(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2))
    assert [j.client_token for j in window] == ["tok-1"]
    assert len(ledger.list_jobs(limit=2)) == 2
    assert ledger.list_jobs(status="InProgress")[0].client_token == "tok-2"


def test_list_jobs_refuses_unknown_status(ledger: Ledger) -> None:
    with pytest.raises(LedgerError):
        ledger.list_jobs(status="Running")


def test_adopt_creates_a_row_for_a_job_submitted_elsewhere(ledger: Ledger) -> None:
    record, created = ledger.adopt(
        invocation_arn=ARN,
        model_id="amazon.nova-reel-v1:1",
        status="Failed",
        submit_time=T0,
        end_time=T0 + timedelta(minutes=2),
        output_uri="s3://bucket/out/abc123def456",
        client_token="console-token",
        failure_message="The generated video has been blocked by our content filters.",
    )
    assert created
    assert record.task_type == "UNKNOWN"
    assert record.request == {}
    assert record.status == "Failed"
    assert record.failure_message is not None
    assert ledger.get("abc123def456").id == record.id
    assert [e.status for e in ledger.history(record.id)] == ["InProgress", "Failed"]
    again, created_again = ledger.adopt(
        invocation_arn=ARN,
        model_id="amazon.nova-reel-v1:1",
        status="Failed",
        submit_time=T0,
        end_time=T0 + timedelta(minutes=2),
        output_uri=None,
        client_token="console-token",
        failure_message=None,
    )
    assert (again.id, created_again) == (record.id, False)
    assert len(ledger.list_jobs()) == 1


def test_adopt_heals_a_row_left_submitting_by_a_crash(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-crash")  # written before submit; the process died before the response
    record, created = ledger.adopt(
        invocation_arn=ARN,
        model_id="amazon.nova-reel-v1:1",
        status="Completed",
        submit_time=T0,
        end_time=T0 + timedelta(seconds=80),
        output_uri="s3://my-bucket/videos/abc123def456",
        client_token="tok-crash",
        failure_message=None,
    )
    assert not created
    assert record.id == job.id
    assert record.invocation_arn == ARN
    assert record.status == "Completed"
    assert record.output_uri == "s3://my-bucket/videos/"  # what we asked for is kept
    assert record.task_type == "TEXT_VIDEO"
    assert record.end_time == T0 + timedelta(seconds=80)
    assert [e.status for e in ledger.history(job.id)] == ["Submitting", "InProgress", "Completed"]
    assert ledger.pending_jobs() == []


def test_adopt_does_not_unfinish_a_job(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=T0)
    ledger.record_status(job.id, "Completed")
    record, _ = ledger.adopt(
        invocation_arn=ARN,
        model_id="amazon.nova-reel-v1:1",
        status="InProgress",
        submit_time=T0,
        end_time=None,
        output_uri=None,
        client_token="tok-1",
        failure_message=None,
    )
    assert record.status == "Completed"


def test_adopt_without_token_still_gets_a_unique_key(ledger: Ledger) -> None:
    record, created = ledger.adopt(
        invocation_arn=ARN,
        model_id="amazon.nova-reel-v1:0",
        status="InProgress",
        submit_time=T0,
        end_time=None,
        output_uri=None,
        client_token=None,
        failure_message=None,
    )
    assert created
    assert record.client_token == f"adopted:{ARN}"
    assert [j.id for j in ledger.pending_jobs()] == [record.id]


def test_to_dict_is_json_ready(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1", tags={"k": "v"})
    ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=T0)
    data = ledger.get(job.id).to_dict()
    text = json.dumps(data)
    assert data["submit_time"] == "2025-03-01T12:00:00.000000Z"
    assert data["status"] == "InProgress"
    assert "clientToken" not in text and data["client_token"] == "tok-1"
    assert data["tags"] == {"k": "v"}
    assert [e.to_dict()["status"] for e in ledger.history(job.id)] == ["Submitting", "InProgress"]


def test_naive_datetimes_are_taken_as_utc(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    rec = ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=datetime(2025, 3, 1, 12))
    assert rec.submit_time == T0
    assert rec.submit_time is not None and rec.submit_time.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("endpoint", "local"),
    [
        (None, False),
        ("https://bedrock-runtime.us-east-1.amazonaws.com", False),
        ("http://127.0.0.1:5899", True),
        ("http://localhost:8000", True),
        ("http://[::1]:5899", True),
    ],
)
def test_the_endpoint_tells_local_jobs_from_paid_ones(
    add: AddJob, ledger: Ledger, endpoint: str | None, local: bool
) -> None:
    job = add("tok-1", endpoint=endpoint)
    again = ledger.get(job.id)
    assert again.endpoint == endpoint
    assert again.ran_locally is local
    assert again.to_dict()["ran_locally"] is local


def test_a_submit_never_sent_costs_nothing_until_it_is_sent(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1")
    refused = ledger.mark_rejected(job.id, message="no AWS credentials found", not_sent=True)
    assert (refused.status, refused.failure_type) == ("Rejected", "NotSent")
    assert refused.not_sent and refused.estimated_cost_usd == 0
    assert refused.to_dict()["not_sent"] is True
    # A service refusal is not "not sent": it keeps its estimate.
    other = ledger.mark_rejected(add("tok-2").id, message="ValidationException")
    assert not other.not_sent and other.estimated_cost_usd == 0.48

    sent = ledger.mark_submitted(
        job.id, invocation_arn=ARN, submit_time=None, estimated_cost_usd=0.48
    )
    assert sent.status == "InProgress" and not sent.not_sent
    assert sent.failure_type is None and sent.failure_message is None and sent.end_time is None
    assert sent.estimated_cost_usd == 0.48


def test_name_out_dir_and_emulator_ownership_are_kept(add: AddJob, ledger: Ledger) -> None:
    job = add("tok-1", name="Launch teaser", out_dir="/home/me/videos", emulator_owned=True)
    again = ledger.get(job.id)
    assert (again.name, again.out_dir, again.emulator_owned) == (
        "Launch teaser",
        "/home/me/videos",
        True,
    )
    plain = ledger.get(add("tok-2").id)
    assert (plain.name, plain.out_dir, plain.emulator_owned) == (None, None, False)


def test_a_rows_failure_is_rebuilt_with_advice(add: AddJob, ledger: Ledger) -> None:
    """JobRecord.failure is the one place a row becomes a results.Failure."""
    from novareel.foundation.results import Failure, advice_for

    job = add("tok-1")
    assert job.failure is None
    ledger.mark_submitted(job.id, invocation_arn=ARN, submit_time=T0)
    failed = ledger.record_status(
        job.id,
        "Failed",
        at=T0 + timedelta(seconds=90),
        failure_type="INTERNAL_SERVER_EXCEPTION",
        failure_message="Something went wrong on the server side.",
        failure_shot=3,
    )
    assert failed.failure == Failure(
        "INTERNAL_SERVER_EXCEPTION",
        "Something went wrong on the server side.",
        3,
        advice_for("INTERNAL_SERVER_EXCEPTION", None),
    )
    # a message alone (no type) is still a failure, advised from its words
    refused = ledger.mark_rejected(
        add("tok-2").id, message="This request has been blocked by our content filters."
    )
    assert refused.failure is not None
    assert refused.failure.type is None
    assert refused.failure.shot is None
    assert refused.failure.advice == advice_for("RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION", None)
