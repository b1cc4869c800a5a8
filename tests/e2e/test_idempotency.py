"""A paid job is never submitted twice by accident: tokens are written first and reused."""

from __future__ import annotations

from typing import Any

import pytest

from novareel import ServiceUnavailableError, TextVideo, VideoGenerator
from novareel.foundation.errors import InvalidRequestError
from tests.helpers import OUTPUT


def test_same_token_same_request_is_one_job(reel: VideoGenerator, emulator: Any) -> None:
    first = reel.submit(TextVideo("one job only"), OUTPUT, client_token="tok-1")
    again = reel.submit(TextVideo("one job only"), OUTPUT, client_token="tok-1")
    assert again.invocation_arn == first.invocation_arn
    assert again.ledger_id == first.ledger_id
    stats = emulator.stats()
    assert stats["acceptedSubmissions"] == 1
    # the second submit was answered from the ledger: no second call at all
    assert stats["requests"].get("StartAsyncInvoke", 0) == 1


def test_same_token_different_request_is_refused_before_sending(
    reel: VideoGenerator, emulator: Any
) -> None:
    reel.submit(TextVideo("first prompt"), OUTPUT, client_token="tok-2")
    with pytest.raises(InvalidRequestError) as exc:
        reel.submit(TextVideo("another prompt"), OUTPUT, client_token="tok-2")
    assert exc.value.field == "client_token"
    assert emulator.stats()["requests"].get("StartAsyncInvoke", 0) == 1


def test_lost_response_is_healed_by_the_recorded_token(
    reel: VideoGenerator, emulator: Any, bedrock_client: Any
) -> None:
    """The submit reached the service but its answer never came back (a crash, a cut)."""
    emulator.fail_calls("StartAsyncInvoke", "ServiceUnavailableException", count=10)
    request = TextVideo("lost answer")
    with pytest.raises(ServiceUnavailableError) as exc:
        reel.submit(request, OUTPUT, client_token="tok-3")
    assert "--token tok-3" in (exc.value.hint or "")
    record = reel.ledger.get("tok-3")
    assert record.status == "Submitting" and record.invocation_arn is None
    emulator.clear_faults()
    # Meanwhile the service did start it (as if one attempt had got through).
    started = bedrock_client.start_async_invoke(
        modelId=request.model_id,
        modelInput=request.to_model_input(),
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": OUTPUT}},
        clientRequestToken="tok-3",
    )
    healed = reel.submit(request, OUTPUT, client_token="tok-3")
    assert healed.invocation_arn == started["invocationArn"]
    assert healed.ledger_id == record.id
    assert emulator.stats()["acceptedSubmissions"] == 1


def test_validation_refusal_is_recorded_as_rejected(reel: VideoGenerator, emulator: Any) -> None:
    with pytest.raises(Exception) as exc:
        reel.submit(TextVideo("a blocked-input scene"), OUTPUT, client_token="tok-4")
    assert "content filters" in str(exc.value)
    assert "Rephrase" in (getattr(exc.value, "hint", "") or "")
    assert reel.ledger.get("tok-4").status == "Rejected"
    assert emulator.stats()["acceptedSubmissions"] == 0


@pytest.mark.parametrize("quota_error", ["ThrottlingException", "ServiceQuotaExceededException"])
def test_quota_full_waits_for_a_slot_with_the_same_token(
    reel: VideoGenerator, emulator: Any, quota_error: str
) -> None:
    """A full quota, answered ThrottlingException (what AWS users see, the emulator's
    default) or ServiceQuotaExceededException: the submit waits for the slot and
    sends the same token again, and one job is accepted for it."""
    emulator.configure(quotas={"amazon.nova-reel-v1:1": 1}, speed=100.0, quota_error=quota_error)
    first = reel.submit(TextVideo("fills the only slot"), OUTPUT)
    second = reel.submit(TextVideo("waits for it"), OUTPUT, wait_for_slot=30)
    assert second.invocation_arn != first.invocation_arn
    stats = emulator.stats()
    assert stats["acceptedSubmissions"] == 2
    assert stats["rejections"].get(quota_error, 0) >= 1
    assert set(stats["rejections"]) == {quota_error}
    tokens = [reel.ledger.get(second.ledger_id).client_token]
    assert [j["clientRequestToken"] for j in emulator.jobs()][1:] == tokens


def test_throttled_submit_without_waiting_says_why(reel: VideoGenerator, emulator: Any) -> None:
    from novareel.foundation.errors import ThrottledError

    emulator.configure(quotas={"amazon.nova-reel-v1:1": 1}, speed=1.0)
    reel.submit(TextVideo("fills the only slot"), OUTPUT)
    with pytest.raises(ThrottledError) as exc:
        reel.submit(TextVideo("no slot"), OUTPUT)
    assert exc.value.code == "ThrottlingException"
    assert "quota" in (exc.value.hint or "") and "novareel batch" in (exc.value.hint or "")


@pytest.mark.parametrize(
    "token,tags,field",
    [
        ("has space", None, "client_token"),
        ("x" * 257, None, "client_token"),
        ("", None, "client_token"),
        (None, {"": "v"}, "tags[]"),
        (None, {"k": "v" * 257}, "tags[k]"),
        (None, {"k": "semi;colon"}, "tags[k]"),
    ],
)
def test_bad_token_or_tags_refused_before_anything_is_recorded_or_sent(
    reel: VideoGenerator, emulator: Any, token: str | None, tags: dict[str, str] | None, field: str
) -> None:
    before = emulator.stats()["totalRequests"]
    with pytest.raises(InvalidRequestError) as exc:
        reel.submit(TextVideo("x"), OUTPUT, client_token=token, tags=tags)
    assert exc.value.field == field
    assert reel.ledger.list_jobs() == []
    assert emulator.stats()["totalRequests"] == before
