"""Before a paid run: what the account says about each model, and what would fail.

Three things live here, all returning data (the CLI prints, the Python API reads):

* :func:`survey_models` — the registry (:mod:`novareel.models`) joined with the
  account's control plane: lifecycle (GetFoundationModel / ListFoundationModels win
  over the registry when they answer) and access (GetFoundationModelAvailability).
  ``novareel models`` prints it.
* :func:`run_checks` — every check that makes a first real run fail, each with its
  fix: credentials, region, lifecycle, access, Marketplace agreement, output bucket
  (exists, region, writable with the KMS key). ``novareel doctor`` prints it.
* :func:`explain_refusal` — a pure hint for a StartAsyncInvoke refused for lifecycle
  or access reasons, naming the model's state and dates, the active alternatives with
  their price, and ``novareel doctor``.

Nothing here ever picks another model: an alternative is named with its price, and the
user chooses it with ``--model-id``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from novareel.errors import AccessDeniedError, AwsError, NotFoundError
from novareel.models import (
    Model,
    active_alternatives,
    all_models,
    describe_model,
    find_model,
    get_model,
)
from novareel.s3uri import OutputLocation, output_location

if TYPE_CHECKING:
    from novareel.client import NovaReelClient

CheckStatus = Literal["ok", "warn", "fail", "skip"]

#: ``access`` values of :func:`survey_models` and :func:`access_from_availability`.
ACCESS_VALUES = ("ok", "not-authorized", "no-agreement", "not-entitled", "not-in-region", "unknown")

#: Error codes that mean the credentials themselves are missing or refused: no model
#: can be asked about, so these propagate instead of becoming one model's note.
CREDENTIAL_CODES = frozenset(
    {
        "NoCredentials",
        "SSOTokenError",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "ExpiredToken",
    }
)

_EOL_MARK = "end of its life"
_LEGACY_MARK = "marked by provider as legacy"
_REGION_MARKS = (
    "model identifier is invalid",
    "invalid model identifier",
    "not supported in this region",
    "not available in this region",
    "not available in the region",
)


def is_credential_error(exc: AwsError) -> bool:
    """True when the credentials are missing, expired or refused (not a model problem)."""
    return (exc.code or "") in CREDENTIAL_CODES


# -- shared pieces -----------------------------------------------------------------------


def _today(day: date | None) -> date:
    return day or datetime.now(timezone.utc).date()


def _as_date(value: Any) -> date | None:
    """A date from botocore's datetime, an ISO string or a date; None otherwise."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc).date()
    return None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class LifecycleFacts:
    """A model's lifecycle state and dates, and where they came from."""

    status: str
    launched: date | None = None
    legacy_since: date | None = None
    end_of_life: date | None = None
    source: str = "registry"

    def dates_text(self) -> str:
        """``legacy since 2026-03-30, end of life 2026-09-30`` (the known parts)."""
        parts = []
        if self.legacy_since:
            parts.append(f"legacy since {self.legacy_since.isoformat()}")
        if self.end_of_life:
            parts.append(f"end of life {self.end_of_life.isoformat()}")
        return ", ".join(parts)


def registry_lifecycle(model: Model, day: date | None = None) -> LifecycleFacts:
    """The registry's lifecycle for a model, its state derived from the dates."""
    life = model.info.lifecycle
    return LifecycleFacts(
        status=model.lifecycle_status(_today(day)),
        launched=life.launched,
        legacy_since=life.legacy_since,
        end_of_life=life.end_of_life,
        source="registry",
    )


def control_plane_lifecycle(
    details: Mapping[str, Any], model: Model | None = None
) -> LifecycleFacts | None:
    """The lifecycle a GetFoundationModel ``modelDetails`` (or a list summary) gives.

    The control plane wins: its status is reported as given (LEGACY stays LEGACY even
    past an announced end-of-life date, as long as the service still answers), with its
    own dates. None when the answer has no lifecycle block.
    """
    block = details.get("modelLifecycle") if isinstance(details, Mapping) else None
    if not isinstance(block, Mapping) or not block.get("status"):
        return None
    launched = _as_date(block.get("startOfLifeTime"))
    if launched is None and model is not None:
        launched = model.info.lifecycle.launched
    return LifecycleFacts(
        status=str(block["status"]).upper(),
        launched=launched,
        legacy_since=_as_date(block.get("legacyTime")),
        end_of_life=_as_date(block.get("endOfLifeTime")),
        source="control-plane",
    )


def eol_lifecycle(model: Model) -> LifecycleFacts:
    """Past end of life per the control plane (absent, or ResourceNotFoundException)."""
    life = model.info.lifecycle
    return LifecycleFacts(
        status="EOL",
        launched=life.launched,
        legacy_since=life.legacy_since,
        end_of_life=life.end_of_life,
        source="control-plane",
    )


def access_from_availability(availability: Mapping[str, Any], *, marketplace: bool) -> str:
    """One ``access`` value from GetFoundationModelAvailability.

    Checked in the order a user fixes them: region, authorization, the Marketplace
    agreement (for Marketplace models only: first-party models need none), entitlement.
    """
    if availability.get("regionAvailability") == "NOT_AVAILABLE":
        return "not-in-region"
    if availability.get("authorizationStatus") == "NOT_AUTHORIZED":
        return "not-authorized"
    agreement = availability.get("agreementAvailability") or {}
    if marketplace and agreement.get("status") not in (None, "AVAILABLE"):
        return "no-agreement"
    if availability.get("entitlementAvailability") == "NOT_AVAILABLE":
        return "not-entitled"
    return "ok"


def alternatives_text(model_id: str, day: date | None = None) -> str:
    """The active registered models other than ``model_id``, with their price.

    Worded as a choice for the user: novareel never switches model by itself.
    """
    found = active_alternatives(exclude=model_id, day=day)
    if not found:
        return "No active alternative is registered in novareel."
    current = find_model(model_id)
    current_price = current.info.price_for() if current else None
    items = []
    for alt in found:
        info = alt.info
        choose = info.aliases[0] if info.aliases else info.model_id
        text = (
            f"{info.name} ({info.model_id}, {', '.join(info.regions)}), {info.price_text()}"
            f" — choose it with `--model-id {choose}`"
        )
        if current is not None and current_price and info.price_for() > current_price:
            ratio = info.price_for() / current_price
            text += f" (up to {ratio:.0f}x {current.info.name}'s ${current_price:.2f}/s)"
        if info.marketplace:
            text += "; billed through AWS Marketplace (accept its agreement first)"
        items.append(text)
    lead = "An active alternative: " if len(items) == 1 else "Active alternatives: "
    return lead + "; ".join(items) + ". novareel does not switch models for you."


# -- novareel models ----------------------------------------------------------------------


def survey_models(
    client_for: Callable[[str], NovaReelClient] | None,
    *,
    region: str | None = None,
    day: date | None = None,
) -> list[dict[str, Any]]:
    """Every registered model, joined with what the account's control plane says.

    ``client_for(region)`` gives a client for a region (None: offline, the registry
    alone, no call at all). Each model is asked about in ``region`` when given, else in
    its own (first) registry region. Per model, the dict holds :func:`describe_model`'s
    keys plus ``region`` (the region asked), ``access`` (one of :data:`ACCESS_VALUES`),
    ``source`` (``registry`` or ``control-plane``: where the lifecycle came from) and
    ``note`` (why a value is unknown, or what the service said; None when nothing to
    say). Missing or refused credentials raise (see :func:`is_credential_error`); any
    other failure leaves that one model with registry facts, access ``unknown`` and a
    note.
    """
    listings: dict[str, list[dict[str, Any]] | AwsError] = {}
    rows = []
    for model in all_models():
        asked = region or model.info.default_region
        facts = registry_lifecycle(model, day)
        row = describe_model(model, _today(day))
        row.update(region=asked, access="unknown", source="registry", note=None)
        if client_for is None:
            row["note"] = "offline: the registry's facts as of today; the account was not asked"
        elif asked not in model.info.regions:
            row["access"] = "not-in-region"
            row["note"] = (
                f"{model.info.name} is offered in {', '.join(model.info.regions)}, not {asked}"
            )
        else:
            facts, row["access"], row["note"] = _ask_control_plane(
                client_for(asked), model, asked, listings, facts
            )
            row["source"] = facts.source
            if facts.source == "control-plane":
                row["lifecycle_source"] = f"the account's Bedrock control plane in {asked}"
        row.update(
            lifecycle_status=facts.status,
            launched=_iso(facts.launched),
            legacy_since=_iso(facts.legacy_since),
            end_of_life=_iso(facts.end_of_life),
        )
        rows.append(row)
    return rows


def _ask_control_plane(
    client: NovaReelClient,
    model: Model,
    region: str,
    listings: dict[str, list[dict[str, Any]] | AwsError],
    fallback: LifecycleFacts,
) -> tuple[LifecycleFacts, str, str | None]:
    """(lifecycle, access, note) for one model in one region."""
    notes: list[str] = []
    if region not in listings:
        try:
            listings[region] = client.list_foundation_models()
        except AwsError as exc:
            if is_credential_error(exc):
                raise
            listings[region] = exc
    listing = listings[region]
    facts: LifecycleFacts | None = None
    if isinstance(listing, list):
        summary = next((s for s in listing if s.get("modelId") == model.model_id), None)
        if summary is not None:
            facts = control_plane_lifecycle(summary, model)
    if facts is None:
        try:
            details = client.get_foundation_model(model.model_id)
        except NotFoundError as exc:
            facts = eol_lifecycle(model)
            notes.append(f"not found in {region}: {_service_words(exc)}")
        except AwsError as exc:
            if is_credential_error(exc):
                raise
            notes.append(
                "lifecycle from the registry: the control plane did not answer "
                f"({exc.code or exc.message})"
            )
        else:
            facts = control_plane_lifecycle(details, model)
            if facts is None:
                notes.append("the control plane gave no lifecycle; the registry's is shown")
    if facts is None:
        facts = fallback
    if facts.status == "EOL" and facts.source == "control-plane":
        return facts, "unknown", "; ".join(notes) or None
    try:
        availability = client.get_foundation_model_availability(model.model_id)
    except AwsError as exc:
        if is_credential_error(exc):
            raise
        notes.append(
            f"access unknown: GetFoundationModelAvailability failed ({exc.code or exc.message})"
        )
        return facts, "unknown", "; ".join(notes)
    access = access_from_availability(availability, marketplace=model.info.marketplace)
    agreement = availability.get("agreementAvailability") or {}
    if access == "no-agreement" and agreement.get("errorMessage"):
        notes.append(str(agreement["errorMessage"]))
    return facts, access, "; ".join(notes) or None


def _service_words(exc: AwsError) -> str:
    """The service's own message, without novareel's ``Operation failed: Code:`` prefix."""
    text = exc.message
    if exc.code and f"{exc.code}: " in text:
        return text.split(f"{exc.code}: ", 1)[1]
    return text


# -- novareel doctor ---------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One preflight check: ``ok``, ``warn`` (a run can still work), ``fail`` or ``skip``."""

    name: str
    status: CheckStatus
    detail: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass
class DoctorReport:
    """Every check for one model in one region; ``ok`` when a real run can work."""

    model_id: str
    region: str
    checks: list[Check] = field(default_factory=list)
    identity: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "model_id": self.model_id,
            "region": self.region,
            "checks": [c.to_dict() for c in self.checks],
        }


def run_checks(
    client: NovaReelClient,
    model: Model | str | None = None,
    *,
    output: OutputLocation | str | None = None,
    kms_key_id: str | None = None,
    day: date | None = None,
) -> DoctorReport:
    """Every check that makes a first real run of ``model`` fail, with the fix for each.

    ``model`` is a registry model, an id or an alias (None: the default model); an
    unknown one raises :class:`~novareel.errors.InvalidRequestError` before any call, as
    does a malformed ``output`` URI or KMS key ARN. ``output`` is the ``s3://`` folder
    the jobs will write to (its bucket is checked: exists, region, writable under the
    prefix with ``kms_key_id``); without it the bucket checks are skipped. A check that
    cannot run because an earlier one failed is ``skip`` with the reason. Never raises
    for what the service answers: every answer becomes a check.
    """
    resolved = model if isinstance(model, Model) else get_model(model)
    location: OutputLocation | None
    if isinstance(output, OutputLocation):
        location = output
        if kms_key_id and not location.kms_key_id:
            location = output_location(
                str(location.uri), bucket_owner=location.bucket_owner, kms_key_id=kms_key_id
            )
    elif output is not None:
        location = output_location(output, kms_key_id=kms_key_id)
    else:
        location = None
    return _Doctor(client, resolved, location, _today(day)).run()


class _Doctor:
    def __init__(
        self, client: NovaReelClient, model: Model, output: OutputLocation | None, day: date
    ) -> None:
        self.client = client
        self.model = model
        self.info = model.info
        self.output = output
        self.day = day
        self.region = client.region
        self.report = DoctorReport(model_id=model.model_id, region=client.region)
        #: the lifecycle the checks settled on (control plane first, registry otherwise)
        self.facts: LifecycleFacts = registry_lifecycle(model, day)

    def add(self, name: str, status: CheckStatus, detail: str, fix: str | None = None) -> Check:
        check = Check(name, status, detail, fix)
        self.report.checks.append(check)
        return check

    def run(self) -> DoctorReport:
        creds = self.credentials()
        region = self.region_check()
        blocked: str | None = None
        if creds.status == "fail":
            blocked = "the credentials did not resolve"
        elif region.status == "fail":
            blocked = f"{self.info.name} is not offered in {self.region}"
        lifecycle = self.lifecycle(blocked)
        model_blocked = blocked
        if model_blocked is None and lifecycle.status == "fail":
            model_blocked = f"{self.info.name} is past its end of life"
        self.access(model_blocked)
        self.bucket(None if creds.status != "fail" else "the credentials did not resolve")
        return self.report

    # -- credentials and region --

    def credentials(self) -> Check:
        try:
            identity = self.client.get_caller_identity()
        except AwsError as exc:
            fix = exc.hint or (
                "Check the credentials (AWS_PROFILE, `aws configure`, `aws sso login`)."
            )
            if is_credential_error(exc) and "--local" not in fix:
                fix += " Use --local to try novareel against the local emulator."
            return self.add("credentials", "fail", _service_words(exc), fix)
        self.report.identity = identity
        account = identity.get("Account", "?")
        arn = identity.get("Arn", "?")
        return self.add("credentials", "ok", f"account {account} as {arn}")

    def region_check(self) -> Check:
        regions = self.info.regions
        source = getattr(self.client, "region_source", "argument")
        if self.region in regions:
            if source == "default":
                detail = f"no region configured: using {self.info.name}'s own region {self.region}"
            else:
                where = "--region" if source == "argument" else "your AWS configuration"
                detail = f"{self.region} (from {where}) offers {self.info.name}"
            return self.add("region", "ok", detail)
        where = {
            "argument": "--region",
            "configuration": "your AWS configuration (AWS_REGION / the profile)",
            "default": "the default region",
        }.get(source, source)
        others = f" (also {', '.join(regions[1:])})" if len(regions) > 1 else ""
        return self.add(
            "region",
            "fail",
            f"{self.info.name} ({self.model.model_id}) is offered in {', '.join(regions)}, "
            f"but this client uses {self.region} from {where}",
            f"Pass --region {regions[0]}{others}, or set AWS_REGION={regions[0]}; "
            "the output bucket should be in that region too.",
        )

    # -- lifecycle --

    def lifecycle(self, blocked: str | None) -> Check:
        if blocked:
            return self.add("lifecycle", "skip", f"skipped: {blocked}")
        registry = registry_lifecycle(self.model, self.day)
        try:
            details = self.client.get_foundation_model(self.model.model_id)
        except NotFoundError as exc:
            return self.eol(eol_lifecycle(self.model), _service_words(exc))
        except AwsError as exc:
            fix = (
                "Allow bedrock:GetFoundationModel so doctor can read the lifecycle"
                if isinstance(exc, AccessDeniedError)
                else "Run doctor again; if it persists, check the network and the endpoint"
            )
            detail = (
                f"could not read the lifecycle ({exc.code or 'error'}: {_service_words(exc)}); "
                f"the registry says {registry.status}"
            )
            if registry.dates_text():
                detail += f" ({registry.dates_text()})"
            if registry.status != "ACTIVE":
                fix += ". " + alternatives_text(self.model.model_id, self.day)
            return self.add("lifecycle", "warn", detail, fix + ("" if fix.endswith(".") else "."))
        facts = control_plane_lifecycle(details, self.model) or registry
        self.facts = facts
        if facts.status == "ACTIVE":
            since = f", launched {facts.launched.isoformat()}" if facts.launched else ""
            return self.add("lifecycle", "ok", f"ACTIVE{since}")
        if facts.status == "LEGACY":
            dates = facts.dates_text() or "no dates given"
            detail = (
                f"{self.info.name} is LEGACY ({dates}): it still runs, but accounts that "
                "have not used it in the last 15 days may lose access, and it stops at "
                "its end of life"
            )
            if facts.end_of_life and facts.end_of_life <= self.day:
                detail += f" (the announced date {facts.end_of_life.isoformat()} has passed)"
            if facts.end_of_life and facts.end_of_life <= self.day:
                deadline = " now"
            elif facts.end_of_life:
                deadline = f" before {facts.end_of_life.isoformat()}"
            else:
                deadline = ""
            fix = (
                f"Keep using it while it answers, and plan a move{deadline}. "
                + alternatives_text(self.model.model_id, self.day)
            )
            return self.add("lifecycle", "warn", detail, fix)
        return self.eol(facts, None)

    def eol(self, facts: LifecycleFacts, said: str | None) -> Check:
        self.facts = facts
        when = f" on {facts.end_of_life.isoformat()}" if facts.end_of_life else ""
        detail = f"{self.info.name} ({self.model.model_id}) reached its end of life{when}"
        if said:
            detail += f"; the service says: {said}"
        fix = f"{self.info.name} can no longer run: choose another model. " + alternatives_text(
            self.model.model_id, self.day
        )
        return self.add("lifecycle", "fail", detail, fix)

    # -- access and agreement --

    def access(self, blocked: str | None) -> None:
        if blocked:
            self.add("access", "skip", f"skipped: {blocked}")
            self.add("agreement", "skip", f"skipped: {blocked}")
            return
        try:
            availability = self.client.get_foundation_model_availability(self.model.model_id)
        except AwsError as exc:
            fix = (
                "Allow bedrock:GetFoundationModelAvailability so doctor can read it; "
                if isinstance(exc, AccessDeniedError)
                else ""
            ) + self._access_fix()
            self.add(
                "access",
                "warn",
                f"could not read model access ({exc.code or 'error'}: {_service_words(exc)})",
                fix,
            )
            self.add("agreement", "skip", "skipped: model access could not be read")
            return
        self._access_check(availability)
        self._agreement_check(availability)

    def _access_fix(self) -> str:
        fix = (
            f"In the Bedrock console (region {self.region}) open Model access and request "
            f"{self.info.name}; check that IAM allows bedrock:InvokeModel on "
            f"arn:aws:bedrock:{self.region}::foundation-model/{self.model.model_id} "
            "and bedrock:GetAsyncInvoke / bedrock:ListAsyncInvokes."
        )
        if self.facts.status != "ACTIVE":
            fix += (
                f" {self.info.name} is {self.facts.status}: accounts that never used it "
                "may not be granted access. " + alternatives_text(self.model.model_id, self.day)
            )
        return fix

    def _access_check(self, availability: Mapping[str, Any]) -> None:
        name, region = self.info.name, self.region
        if availability.get("regionAvailability") == "NOT_AVAILABLE":
            regions = ", ".join(r for r in self.info.regions if r != region) or "another region"
            self.add(
                "access",
                "fail",
                f"the service says {name} is not available in {region} for this account",
                f"Use a region where it is offered ({regions}) with --region.",
            )
            return
        if availability.get("authorizationStatus") == "NOT_AUTHORIZED":
            self.add(
                "access",
                "fail",
                f"this account is not authorized to use {name} in {region}",
                self._access_fix(),
            )
            return
        if availability.get("entitlementAvailability") == "NOT_AVAILABLE":
            fix = self._access_fix()
            if self.info.marketplace:
                fix = (
                    f"Accept {self.info.provider}'s Marketplace offer for {name} "
                    f"(Bedrock console, Model access, {region}). " + fix
                )
            self.add("access", "fail", f"this account is not entitled to {name} in {region}", fix)
            return
        self.add("access", "ok", f"authorized and entitled to {name} in {region}")

    def _agreement_check(self, availability: Mapping[str, Any]) -> None:
        agreement = availability.get("agreementAvailability") or {}
        status = agreement.get("status")
        name = self.info.name
        if not self.info.marketplace:
            if status in (None, "AVAILABLE"):
                self.add("agreement", "ok", f"{name} is not a Marketplace model: none needed")
            else:
                # First-party models need no agreement; say what the service answered
                # without blocking on it (the real service's answer here is not pinned down).
                self.add(
                    "agreement",
                    "warn",
                    f"the service reports agreement status {status} for {name}, which is not "
                    "sold through AWS Marketplace",
                    "If a submit is refused, open Model access in the Bedrock console "
                    f"(region {self.region}) and request {name}.",
                )
            return
        if status == "AVAILABLE":
            self.add("agreement", "ok", f"the AWS Marketplace agreement for {name} is accepted")
            return
        said = f" ({agreement['errorMessage']})" if agreement.get("errorMessage") else ""
        if status == "PENDING":
            detail = f"the AWS Marketplace agreement for {name} is still pending{said}"
            fix = "Wait a few minutes for the subscription to complete, then run doctor again."
        else:
            detail = (
                f"no accepted AWS Marketplace agreement for {name} "
                f"(status {status or 'unknown'}){said}"
            )
            fix = (
                f"Accept {self.info.provider}'s offer: Bedrock console (region {self.region}) "
                f"> Model access > request {name}, which subscribes through AWS Marketplace "
                "(IAM needs aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions). "
                f"It is billed through Marketplace at {self.info.price_text()}."
            )
        self.add("agreement", "fail", detail, fix)

    # -- output bucket --

    def bucket(self, blocked: str | None) -> None:
        if self.output is None:
            reason = "skipped: no output URI given"
            fix = "Pass --output-uri s3://bucket/folder/ (or set NOVAREEL_OUTPUT_URI) to check it."
            for name in ("bucket", "bucket-region", "bucket-write"):
                self.add(name, "skip", reason, fix)
            return
        if blocked:
            for name in ("bucket", "bucket-region", "bucket-write"):
                self.add(name, "skip", f"skipped: {blocked}")
            return
        bucket = self.output.uri.bucket
        try:
            region = self.client.bucket_region(bucket)
        except NotFoundError:
            self.add(
                "bucket",
                "fail",
                f"the bucket {bucket} does not exist",
                f"Create it in {self.region} (`aws s3 mb s3://{bucket} --region {self.region}`), "
                "or fix --output-uri.",
            )
            self.add("bucket-region", "skip", "skipped: the bucket does not exist")
            self.add("bucket-write", "skip", "skipped: the bucket does not exist")
            return
        except AwsError as exc:
            if not _is_denied(exc):
                self.add(
                    "bucket",
                    "fail",
                    f"HeadBucket on {bucket} failed ({exc.code or 'error'}: {_service_words(exc)})",
                    exc.hint or "Check the bucket name, the network and the endpoint.",
                )
                self.add("bucket-region", "skip", "skipped: the bucket could not be read")
                self.add("bucket-write", "skip", "skipped: the bucket could not be read")
                return
            self.add(
                "bucket",
                "warn",
                f"HeadBucket on {bucket} was refused (403): it exists but this identity "
                "cannot read it (s3:ListBucket), or it belongs to another account",
                "Allow s3:ListBucket on the bucket to let doctor check it; a bucket of "
                "another account needs --bucket-owner on generate.",
            )
            region = None
        else:
            self.add("bucket", "ok", f"s3://{bucket} exists" + (f" in {region}" if region else ""))
        self.bucket_region(region)
        self.bucket_write()

    def bucket_region(self, region: str | None) -> None:
        bucket = self.output.uri.bucket if self.output else "?"
        if region is None:
            self.add("bucket-region", "skip", "skipped: the bucket's region is not known")
        elif region != self.region:
            self.add(
                "bucket-region",
                "warn",
                f"{bucket} is in {region}, but {self.info.name} runs in {self.region}",
                f"Use a bucket in {self.region} for the output: writing across regions may "
                "be refused by the service, and transfers between regions are billed.",
            )
        else:
            self.add("bucket-region", "ok", f"{bucket} is in {region}, where the jobs run")

    def bucket_write(self) -> None:
        assert self.output is not None
        folder = self.output.uri.as_folder()
        key = f"{folder.key}.novareel-doctor-{uuid.uuid4().hex[:12]}"
        where = f"s3://{folder.bucket}/{key}"
        kms = self.output.kms_key_id
        try:
            self.client.probe_write(folder.bucket, key, kms)
        except AwsError as exc:
            said = f"{exc.code or 'error'}: {_service_words(exc)}"
            if exc.operation == "DeleteObject":
                self.add(
                    "bucket-write",
                    "warn",
                    f"a test object was written to {where} but could not be deleted ({said})",
                    f"Delete {where} by hand; allow s3:DeleteObject to let doctor clean up.",
                )
                return
            prefix = f"arn:aws:s3:::{folder.bucket}/{folder.key}*"
            fix = (
                f"Allow s3:PutObject on {prefix} for this identity (Bedrock writes a job's "
                "files with the caller's permissions), and check the bucket policy."
            )
            if kms or "kms" in said.lower():
                fix += (
                    f" With SSE-KMS, allow kms:GenerateDataKey and kms:Decrypt on "
                    f"{kms or 'the bucket key'} and check that the key is enabled and in "
                    f"{self.region}."
                )
            self.add("bucket-write", "fail", f"writing {where} was refused ({said})", fix)
            return
        with_kms = f" with SSE-KMS key {kms}" if kms else ""
        self.add(
            "bucket-write",
            "ok",
            f"a test object was written{with_kms} under s3://{folder.bucket}/{folder.key} "
            "and deleted",
        )


def _is_denied(exc: AwsError) -> bool:
    return isinstance(exc, AccessDeniedError) or exc.status_code == 403 or exc.code == "403"


# -- refusals explained ------------------------------------------------------------------


def explain_refusal(
    model_id: str,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    *,
    region: str | None = None,
    day: date | None = None,
) -> str | None:
    """A hint for a StartAsyncInvoke refused for lifecycle or access reasons, else None.

    ``code`` and ``message`` are the service's (``AwsError.code`` and its message);
    ``details`` is GetFoundationModel's ``modelDetails`` when the caller has it (its
    lifecycle wins over the registry's). The hint names the model's lifecycle state and
    dates, the active alternatives with their price, and ``novareel doctor``. It never
    switches model: choosing another one is the user's call.
    """
    text = message.lower()
    model = find_model(model_id)
    name = model.info.name if model else model_id
    facts: LifecycleFacts | None = None
    if details:
        facts = control_plane_lifecycle(details, model)
    if facts is None and model is not None:
        facts = registry_lifecycle(model, day)
    dates = f" ({facts.dates_text()})" if facts and facts.dates_text() else ""
    state = facts.status if facts else "unknown"
    doctor = f"Run `novareel doctor --model-id {model_id}` to check every requirement."
    alternatives = alternatives_text(model_id, day)

    if code == "ResourceNotFoundException" and _EOL_MARK in text:
        when = f" on {facts.end_of_life.isoformat()}" if facts and facts.end_of_life else ""
        if facts and facts.legacy_since:
            when += f" (Legacy since {facts.legacy_since.isoformat()})"
        return (
            f"{name} ({model_id}) reached its end of life{when}: the service no longer "
            f"runs it, and nothing was charged. {alternatives} {doctor}"
        )
    if code == "ResourceNotFoundException" and _LEGACY_MARK in text:
        return (
            f"{name} ({model_id}) is a Legacy model{dates}, and this account has not used it "
            "in the last 15 days, so the provider no longer grants it; nothing was charged. "
            f"{alternatives} {doctor}"
        )
    if code in ("AccessDeniedException", "AccessDenied"):
        if "agreement" in text or "marketplace" in text:
            provider = model.info.provider if model else "the provider"
            where = f" (region {region})" if region else ""
            return (
                f"{name} ({model_id}) needs an accepted AWS Marketplace agreement: accept "
                f"{provider}'s offer in the Bedrock console{where} under Model access, then "
                f"submit again. {doctor}"
            )
        lead = f"This account has no access to {name} ({model_id})"
        if state in ("LEGACY", "EOL"):
            lead += (
                f", which is {state}{dates}: accounts that never used a Legacy model may "
                f"not be granted access. {alternatives}"
            )
        else:
            lead += (
                ": request it in the Bedrock console (Model access) and check that IAM "
                "allows bedrock:InvokeModel on the model."
            )
        return f"{lead} {doctor}"
    if code == "ValidationException" and any(mark in text for mark in _REGION_MARKS):
        if model is None:
            return f"{model_id} may not be offered in this region. {doctor}"
        here = f", not in {region}" if region and region not in model.info.regions else ""
        first = model.info.regions[0]
        return (
            f"{name} ({model_id}) is offered in {', '.join(model.info.regions)}{here}: pass "
            f"--region {first} (or set AWS_REGION={first}). {doctor}"
        )
    return None


__all__ = [
    "ACCESS_VALUES",
    "CREDENTIAL_CODES",
    "Check",
    "CheckStatus",
    "DoctorReport",
    "LifecycleFacts",
    "access_from_availability",
    "alternatives_text",
    "control_plane_lifecycle",
    "explain_refusal",
    "is_credential_error",
    "registry_lifecycle",
    "run_checks",
    "survey_models",
]
