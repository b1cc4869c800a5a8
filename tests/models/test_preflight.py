"""preflight without a network: the model survey, doctor's checks, refusals explained."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from novareel.foundation.errors import AwsError, EndpointError, InvalidRequestError
from novareel.models import DEFAULT_MODEL, get_model
from novareel.preflight import (
    access_from_availability,
    control_plane_lifecycle,
    explain_refusal,
    run_checks,
    survey_models,
)
from tests.models.fakes import FakeClient, availability, lifecycle

NOVA = "amazon.nova-reel-v1:1"
NOVA0 = "amazon.nova-reel-v1:0"
RAY = "luma.ray-v2:0"
BEFORE_LEGACY = date(2026, 1, 15)
AFTER_EOL = date(2026, 11, 27)
BEFORE_LEGACY = date(2026, 1, 15)

EOL_MESSAGE = (
    "This model version has reached the end of its life. "
    "Please refer to the AWS documentation for more details."
)
LEGACY_MESSAGE = (
    "Access denied. This Model is marked by provider as Legacy and you have not been "
    "actively using the model in the last 15 days. Please upgrade to an active model on "
    "Amazon Bedrock"
)


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["model_id"]: r for r in rows}


# -- pure helpers -------------------------------------------------------------------------


def test_access_value_follows_the_order_a_user_fixes_things() -> None:
    assert access_from_availability(availability(), marketplace=True) == "ok"
    assert access_from_availability(availability(region="NOT_AVAILABLE"), marketplace=False) == (
        "not-in-region"
    )
    assert access_from_availability(availability(auth="NOT_AUTHORIZED"), marketplace=False) == (
        "not-authorized"
    )
    no_agreement = availability(agreement="NOT_AVAILABLE", entitlement="NOT_AVAILABLE")
    assert access_from_availability(no_agreement, marketplace=True) == "no-agreement"
    # A first-party model needs no agreement: only the entitlement counts.
    assert access_from_availability(no_agreement, marketplace=False) == "not-entitled"
    assert access_from_availability(availability(agreement="PENDING"), marketplace=False) == "ok"


def test_control_plane_lifecycle_reads_botocore_datetimes_and_iso_strings() -> None:
    facts = control_plane_lifecycle(
        {"modelLifecycle": lifecycle("LEGACY", legacyTime="2026-03-30", endOfLifeTime="2026-09-30")}
    )
    assert facts is not None
    assert (facts.status, facts.source) == ("LEGACY", "control-plane")
    assert facts.legacy_since == date(2026, 3, 30)
    assert facts.end_of_life == date(2026, 9, 30)
    facts = control_plane_lifecycle(
        {"modelLifecycle": {"status": "ACTIVE", "startOfLifeTime": "2025-01-23T00:00:00.000Z"}}
    )
    assert facts is not None and facts.launched == date(2025, 1, 23)
    assert control_plane_lifecycle({"modelId": NOVA}) is None


# -- survey_models (novareel models) ------------------------------------------------------


def test_offline_survey_is_the_registry_as_of_the_day_and_makes_no_call() -> None:
    rows = _by_id(survey_models(None, day=AFTER_EOL))
    assert set(rows) >= {NOVA, NOVA0, RAY}
    nova = rows[NOVA]
    assert nova["lifecycle_status"] == "EOL"
    assert nova["end_of_life"] == "2026-09-30"
    assert nova["legacy_since"] == "2026-03-30"
    assert (nova["access"], nova["source"], nova["region"]) == ("unknown", "registry", "us-east-1")
    assert nova["price_usd_per_second"] == {"*": 0.08}
    assert "nova-reel" in nova["aliases"]
    assert rows[RAY]["region"] == "us-west-2"
    assert rows[RAY]["lifecycle_status"] == "ACTIVE"
    before = _by_id(survey_models(None, day=BEFORE_LEGACY))
    assert before[NOVA]["lifecycle_status"] == "ACTIVE"


def test_survey_joins_the_control_plane_per_region() -> None:
    east, west = FakeClient("us-east-1"), FakeClient("us-west-2")
    east.models = {
        NOVA: {"modelLifecycle": lifecycle("ACTIVE", startOfLifeTime="2024-12-03")},
        # v1:0 is absent from the listing and GetFoundationModel says end of life.
    }
    west.models = {RAY: {"modelLifecycle": lifecycle("ACTIVE")}}
    west.availability[RAY] = availability(agreement="NOT_AVAILABLE")
    clients = {"us-east-1": east, "us-west-2": west}
    rows = _by_id(survey_models(lambda r: clients[r], day=AFTER_EOL))

    assert rows[NOVA]["lifecycle_status"] == "ACTIVE"  # the control plane wins
    assert rows[NOVA]["source"] == "control-plane"
    assert rows[NOVA]["end_of_life"] is None
    assert rows[NOVA]["access"] == "ok"
    assert rows[NOVA0]["lifecycle_status"] == "EOL"
    assert rows[NOVA0]["end_of_life"] == "2026-09-30"
    assert "end of its life" in rows[NOVA0]["note"]
    assert rows[RAY]["access"] == "no-agreement"
    # One listing per region, not one per model.
    assert east.calls.count("ListFoundationModels") == 1


def test_survey_with_region_reports_models_not_offered_there() -> None:
    east = FakeClient("us-east-1")
    east.models = {NOVA: {"modelLifecycle": lifecycle("ACTIVE")}}
    rows = _by_id(survey_models(lambda r: east, region="us-east-1", day=AFTER_EOL))
    assert rows[RAY]["access"] == "not-in-region"
    assert rows[RAY]["region"] == "us-east-1"
    assert "us-west-2" in rows[RAY]["note"]


def test_survey_keeps_a_model_whose_control_plane_is_unreachable() -> None:
    east, west = FakeClient("us-east-1"), FakeClient("us-west-2")
    east.models = {NOVA: {"modelLifecycle": lifecycle("ACTIVE")}}
    west.errors["ListFoundationModels"] = EndpointError("unreachable", operation="List")
    west.errors["GetFoundationModel"] = EndpointError("unreachable", operation="Get")
    west.errors["GetFoundationModelAvailability"] = EndpointError("unreachable", operation="A")
    clients = {"us-east-1": east, "us-west-2": west}
    rows = _by_id(survey_models(lambda r: clients[r], day=AFTER_EOL))
    assert rows[RAY]["access"] == "unknown"
    assert rows[RAY]["source"] == "registry"
    assert rows[RAY]["note"]


def test_survey_raises_when_there_are_no_credentials() -> None:
    east = FakeClient("us-east-1")
    east.errors["ListFoundationModels"] = AwsError("no AWS credentials found", code="NoCredentials")
    with pytest.raises(AwsError) as caught:
        survey_models(lambda r: east)
    assert caught.value.code == "NoCredentials"


# -- run_checks (novareel doctor) ---------------------------------------------------------


def _ready(region: str = "us-east-1", model_id: str = NOVA, **kwargs: Any) -> FakeClient:
    client = FakeClient(region, **kwargs)
    client.models[model_id] = {"modelLifecycle": lifecycle("ACTIVE")}
    client.buckets["out-bucket"] = region
    return client


def _statuses(report: Any) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_all_green_with_the_default_model() -> None:
    client = _ready()
    report = run_checks(client, None, output="s3://out-bucket/videos/", day=BEFORE_LEGACY)
    assert report.ok
    assert report.model_id == DEFAULT_MODEL
    assert set(_statuses(report).values()) == {"ok"}
    assert report.to_dict()["checks"][0] == {
        "name": "credentials",
        "status": "ok",
        "detail": "account 123456789012 as arn:aws:iam::123456789012:user/dev",
        "fix": None,
    }
    assert "PutObject" in client.calls
    assert report.verdict == "ready: a real run can work"
    assert report.to_dict()["endpoint"] == "aws"


def test_region_from_the_model_is_said() -> None:
    client = _ready("us-west-2", RAY, region_source="default")
    report = run_checks(client, "luma-ray2", day=AFTER_EOL)
    region = report.check("region")
    assert region is not None and region.status == "ok"
    assert "no region configured" in region.detail and "us-west-2" in region.detail
    assert _statuses(report)["bucket"] == "skip"


def test_wrong_region_fails_and_skips_the_model_checks() -> None:
    client = _ready("us-east-1", RAY)
    report = run_checks(client, "luma-ray2", output="s3://out-bucket/v/", day=AFTER_EOL)
    assert not report.ok
    statuses = _statuses(report)
    assert statuses["region"] == "fail"
    assert statuses["lifecycle"] == statuses["access"] == statuses["agreement"] == "skip"
    region = report.check("region")
    assert region is not None and region.fix is not None and "--region us-west-2" in region.fix
    assert "GetFoundationModel" not in client.calls


def test_legacy_warns_with_dates_and_alternatives() -> None:
    client = _ready()
    client.models[NOVA] = {
        "modelLifecycle": lifecycle("LEGACY", legacyTime="2026-03-30", endOfLifeTime="2026-09-30")
    }
    report = run_checks(client, NOVA, day=date(2026, 6, 1))
    assert report.ok
    check = report.check("lifecycle")
    assert check is not None and check.status == "warn"
    assert "2026-03-30" in check.detail and "2026-09-30" in check.detail
    assert check.fix is not None and "Luma Ray 2" in check.fix and "$0.75/s" in check.fix


def test_eol_fails_names_the_alternative_and_skips_access() -> None:
    client = _ready()
    del client.models[NOVA]
    report = run_checks(client, NOVA, day=AFTER_EOL)
    assert not report.ok
    check = report.check("lifecycle")
    assert check is not None and check.status == "fail"
    assert "end of life" in check.detail
    assert check.fix is not None
    assert "Luma Ray 2" in check.fix and "$1.50/s at 720p" in check.fix
    assert "does not switch" in check.fix
    assert _statuses(report)["access"] == "skip"
    assert "GetFoundationModelAvailability" not in client.calls


def test_unreadable_lifecycle_falls_back_to_the_registry_as_a_warning() -> None:
    from novareel.foundation.errors import AccessDeniedError

    client = _ready()
    client.errors["GetFoundationModel"] = AccessDeniedError(
        "GetFoundationModel failed: AccessDeniedException: no", code="AccessDeniedException"
    )
    report = run_checks(client, NOVA, day=AFTER_EOL)
    check = report.check("lifecycle")
    assert check is not None and check.status == "warn"
    assert "registry says EOL" in check.detail
    assert check.fix is not None and "bedrock:GetFoundationModel" in check.fix


def test_not_authorized_and_no_agreement() -> None:
    client = _ready()
    client.availability[NOVA] = availability(auth="NOT_AUTHORIZED")
    report = run_checks(client, NOVA, day=AFTER_EOL)
    access = report.check("access")
    assert access is not None and access.status == "fail"
    assert access.fix is not None and "Model access" in access.fix

    west = _ready("us-west-2", RAY)
    west.availability[RAY] = availability(agreement="NOT_AVAILABLE")
    report = run_checks(west, RAY, day=AFTER_EOL)
    agreement = report.check("agreement")
    assert agreement is not None and agreement.status == "fail"
    assert agreement.fix is not None and "Marketplace" in agreement.fix
    assert not report.ok


def test_first_party_model_with_an_odd_agreement_status_only_warns() -> None:
    client = _ready()
    client.availability[NOVA] = availability(agreement="NOT_AVAILABLE")
    report = run_checks(client, NOVA, day=AFTER_EOL)
    assert report.ok
    assert _statuses(report)["agreement"] == "warn"


def test_bucket_missing_other_region_and_read_only() -> None:
    client = _ready()
    report = run_checks(client, NOVA, output="s3://missing-bucket/v/", day=AFTER_EOL)
    bucket = report.check("bucket")
    assert bucket is not None and bucket.status == "fail"
    assert bucket.fix is not None and "aws s3 mb s3://missing-bucket" in bucket.fix
    assert _statuses(report)["bucket-write"] == "skip"

    client = _ready()
    client.buckets["out-bucket"] = "eu-west-1"
    report = run_checks(client, NOVA, output="s3://out-bucket/v/", day=AFTER_EOL)
    assert _statuses(report)["bucket-region"] == "warn"
    assert report.ok

    client = _ready()
    client.read_only.add("out-bucket")
    kms = "arn:aws:kms:us-east-1:123456789012:key/" + "a" * 8 + "-aaaa-aaaa-aaaa-" + "a" * 12
    report = run_checks(
        client,
        NOVA,
        output="s3://out-bucket/v/",
        kms_key_id=kms,
        day=AFTER_EOL,
    )
    write = report.check("bucket-write")
    assert write is not None and write.status == "fail"
    assert write.fix is not None
    assert "s3:PutObject on arn:aws:s3:::out-bucket/v/*" in write.fix
    assert "kms:GenerateDataKey" in write.fix
    assert not report.ok


def test_no_credentials_fail_and_the_rest_is_skipped() -> None:
    client = _ready()
    client.errors["GetCallerIdentity"] = AwsError(
        "GetCallerIdentity failed: no AWS credentials found",
        code="NoCredentials",
        hint="Set AWS_PROFILE or run `aws configure`.",
    )
    report = run_checks(client, NOVA, output="s3://out-bucket/v/", day=AFTER_EOL)
    statuses = _statuses(report)
    assert statuses["credentials"] == "fail"
    assert statuses["region"] == "ok"
    assert {statuses[n] for n in ("lifecycle", "access", "bucket", "bucket-write")} == {"skip"}
    credentials = report.check("credentials")
    assert credentials is not None and credentials.fix is not None and "--local" in credentials.fix
    assert client.calls == ["GetCallerIdentity"]


def test_bad_input_raises_before_any_call() -> None:
    client = _ready()
    with pytest.raises(InvalidRequestError):
        run_checks(client, "no-such-model")
    with pytest.raises(InvalidRequestError):
        run_checks(client, NOVA, output="https://not-s3/")
    with pytest.raises(InvalidRequestError):
        run_checks(client, NOVA, output="s3://out-bucket/", kms_key_id="not-an-arn")
    assert client.calls == []
    assert get_model("nova-reel-v1:0").model_id == NOVA0


# -- explain_refusal ----------------------------------------------------------------------


def test_refusal_at_end_of_life_names_dates_alternative_price_and_doctor() -> None:
    hint = explain_refusal(NOVA, "ResourceNotFoundException", EOL_MESSAGE, day=AFTER_EOL)
    assert hint is not None
    assert "end of life on 2026-09-30" in hint
    assert "Luma Ray 2" in hint and "$0.75/s at 540p" in hint
    assert "does not switch" in hint
    assert f"novareel doctor --model-id {NOVA}" in hint


def test_refusal_for_an_unused_legacy_model_uses_the_control_plane_dates() -> None:
    details = {
        "modelLifecycle": lifecycle("LEGACY", legacyTime="2026-04-01", endOfLifeTime="2026-12-31")
    }
    hint = explain_refusal(NOVA, "ResourceNotFoundException", LEGACY_MESSAGE, details)
    assert hint is not None
    assert "Legacy" in hint and "2026-04-01" in hint and "2026-12-31" in hint
    assert "15 days" in hint and "Luma Ray 2" in hint


def test_refusal_for_access_and_agreement() -> None:
    hint = explain_refusal(
        RAY,
        "AccessDeniedException",
        "Model access is denied: your account has no AWS Marketplace subscription (agreement)",
        region="us-west-2",
    )
    assert hint is not None and "Marketplace agreement" in hint and "us-west-2" in hint
    hint = explain_refusal(
        NOVA,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
        day=AFTER_EOL,
    )
    assert hint is not None and "no access" in hint and "EOL" in hint and "Luma Ray 2" in hint
    hint = explain_refusal(RAY, "AccessDeniedException", "You don't have access", day=AFTER_EOL)
    assert hint is not None and "Model access" in hint


def test_refusal_for_a_model_outside_its_region() -> None:
    hint = explain_refusal(
        RAY,
        "ValidationException",
        "The provided model identifier is invalid.",
        region="us-east-1",
    )
    assert hint is not None and "--region us-west-2" in hint and "not in us-east-1" in hint


def test_other_refusals_get_no_hint() -> None:
    assert explain_refusal(NOVA, "ValidationException", "The prompt was blocked") is None
    assert explain_refusal(NOVA, "ThrottlingException", "slow down") is None
    assert explain_refusal(NOVA, "ResourceNotFoundException", "no such invocation") is None


# -- the endpoint's lifecycle beside what AWS published -----------------------------------


def test_an_account_still_active_past_the_published_end_of_life_only_warns() -> None:
    client = _ready()  # the account's control plane answers ACTIVE
    report = run_checks(client, NOVA, output="s3://out-bucket/videos/", day=AFTER_EOL)
    assert report.ok
    check = report.check("lifecycle")
    assert check is not None and check.status == "warn"
    assert check.detail == "account: ACTIVE · AWS published: end of life since 2026-09-30"
    assert check.fix is not None and "may stop at any time" in check.fix
    assert not report.verdict.startswith("ready: a real run can work")
    assert "AWS published: Nova Reel 1.1 reached its end of life on 2026-09-30" in report.verdict
    data = report.to_dict()
    assert data["endpoint_lifecycle"]["status"] == "ACTIVE"
    assert data["published_lifecycle"]["status"] == "EOL"


def test_an_unread_account_lifecycle_past_the_published_end_of_life_is_not_ready() -> None:
    from novareel.foundation.errors import AccessDeniedError

    client = _ready()
    client.errors["GetFoundationModel"] = AccessDeniedError(
        "GetFoundationModel failed: AccessDeniedException: no", code="AccessDeniedException"
    )
    report = run_checks(client, NOVA, day=AFTER_EOL)
    assert report.endpoint_lifecycle is None
    assert report.verdict.startswith("not known to be ready (1 warning): AWS published: ")
    assert "ready:" not in report.verdict and "still runs it" not in report.verdict


def test_an_emulator_legacy_model_is_ready_there_with_aws_said() -> None:
    client = _ready()
    report = run_checks(client, NOVA, day=date(2026, 6, 1), endpoint="emulator")
    check = report.check("lifecycle")
    assert check is not None and check.status == "warn"  # AWS: LEGACY since 2026-03-30
    assert check.detail == (
        "emulator: ACTIVE (as configured) · AWS: LEGACY since 2026-03-30, end of life 2026-09-30"
    )
    assert report.verdict == (
        "ready on this emulator (1 warning); on AWS: Nova Reel 1.1 is LEGACY since "
        "2026-03-30, end of life 2026-09-30"
    )


def test_survey_keeps_the_account_and_the_published_lifecycle_apart() -> None:
    east = FakeClient("us-east-1")
    east.models = {NOVA: {"modelLifecycle": lifecycle("ACTIVE")}}
    west = FakeClient("us-west-2")
    west.models = {RAY: {"modelLifecycle": lifecycle("ACTIVE")}}
    rows = {
        r["model_id"]: r
        for r in survey_models(lambda r: east if r == "us-east-1" else west, day=AFTER_EOL)
    }
    nova = rows[NOVA]
    assert nova["endpoint"] == "aws"
    assert nova["endpoint_lifecycle"]["status"] == "ACTIVE"
    assert nova["published_lifecycle"]["status"] == "EOL"
    assert nova["lifecycle_text"] == "account: ACTIVE · AWS published: end of life since 2026-09-30"
    # Nova Reel 1.0 is not in the listing and not found: the account answers EOL.
    assert rows[NOVA0]["endpoint_lifecycle"]["status"] == "EOL"
