"""``novareel doctor``: every check that makes a first real run fail, each with its fix
(credentials, region, lifecycle, access, Marketplace agreement, output bucket)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from novareel.foundation.errors import AccessDeniedError, AwsError, NotFoundError
from novareel.foundation.s3uri import OutputLocation, output_location
from novareel.models import Model, get_model
from novareel.preflight.lifecycle import (
    ENDPOINT_LABELS,
    EndpointKind,
    LifecycleFacts,
    alternatives_text,
    control_plane_lifecycle,
    endpoint_kind_of,
    eol_lifecycle,
    is_credential_error,
    registry_lifecycle,
    service_words,
    side_by_side,
    today,
)

if TYPE_CHECKING:
    from novareel.client import AwsClient

CheckStatus = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One preflight check: ``ok``, ``warn`` (a run can still work), ``fail`` or ``skip``."""

    name: str
    status: CheckStatus
    detail: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


#: Where a run that passed every check can work, by kind of endpoint.
_READY_ON = {"emulator": "on this emulator", "endpoint": "on this endpoint", "aws": ""}


@dataclass
class DoctorReport:
    """Every check for one model in one region; ``ok`` when a run on this endpoint can
    work (which, on an emulator, says nothing of AWS: see :attr:`verdict`).

    The lifecycle comes from two sources, kept apart: ``endpoint_lifecycle`` is what
    the endpoint answered (an emulator answers as configured; None when it did not
    say), ``published_lifecycle`` what AWS published (the registry's dates).
    """

    model_id: str
    region: str
    checks: list[Check] = field(default_factory=list)
    identity: dict[str, Any] | None = None
    endpoint: EndpointKind = "aws"
    model_name: str = ""
    endpoint_lifecycle: LifecycleFacts | None = None
    published_lifecycle: LifecycleFacts | None = None

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def verdict(self) -> str:
        """One line: where a run can work, and never ``ready`` on AWS's behalf for a
        model AWS has published as past its end of life.

        ``ready on this emulator (1 warning); on AWS: Nova Reel 1.1 reached its end of
        life on 2026-09-30``, ``ready: a real run can work``, or ``not ready: 2 checks
        failed``.
        """
        failures = sum(c.status == "fail" for c in self.checks)
        if failures:
            return f"not ready: {failures} check{'s' if failures != 1 else ''} failed"
        warnings = sum(c.status == "warn" for c in self.checks)
        extra = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        published = self.published_lifecycle
        name = self.model_name or self.model_id
        if published is not None and published.status == "EOL":
            when = f" on {published.end_of_life.isoformat()}" if published.end_of_life else ""
            aws = f"{name} reached its end of life{when}"
            if self.endpoint != "aws":
                return f"ready {_READY_ON[self.endpoint]}{extra}; on AWS: {aws}"
            if self.endpoint_lifecycle is None:  # the account's lifecycle was not read
                return f"not known to be ready{extra}: AWS published: {aws}"
            return f"ready in this account, which still runs it{extra}; AWS published: {aws}"
        if self.endpoint == "aws":
            return f"ready: a real run can work{extra}"
        text = f"ready {_READY_ON[self.endpoint]}{extra}"
        if published is not None and published.status == "LEGACY":
            text += f"; on AWS: {name} is {published.published_text()}"
        return text

    def to_dict(self) -> dict[str, Any]:
        endpoint_life = self.endpoint_lifecycle
        published = self.published_lifecycle
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "model_id": self.model_id,
            "region": self.region,
            "endpoint": self.endpoint,
            "endpoint_lifecycle": endpoint_life.to_dict() if endpoint_life else None,
            "published_lifecycle": published.to_dict() if published else None,
            "checks": [c.to_dict() for c in self.checks],
        }


def run_checks(
    client: AwsClient,
    model: Model | str | None = None,
    *,
    output: OutputLocation | str | None = None,
    kms_key_id: str | None = None,
    day: date | None = None,
    endpoint: EndpointKind | None = None,
) -> DoctorReport:
    """Every check that makes a first real run of ``model`` fail, with the fix for each.

    ``model`` is a registry model, an id or an alias (None: the default model); an
    unknown one raises :class:`~novareel.foundation.errors.InvalidRequestError` before any call, as
    does a malformed ``output`` URI or KMS key ARN. ``output`` is the ``s3://`` folder
    the jobs will write to (its bucket is checked: exists, region, writable under the
    prefix with ``kms_key_id``); without it the bucket checks are skipped. A check that
    cannot run because an earlier one failed is ``skip`` with the reason. Never raises
    for what the service answers: every answer becomes a check.

    ``endpoint`` says who answers (``emulator``, ``endpoint`` or ``aws``; guessed from
    the client when None): the lifecycle check shows its answer beside what AWS
    published, and a model AWS published as past its end of life is never ``ready``
    on AWS's behalf (a warning at least, and said in :attr:`DoctorReport.verdict`).
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
    kind = endpoint or endpoint_kind_of(client)
    return _Doctor(client, resolved, location, today(day), kind).run()


class _Doctor:
    def __init__(
        self,
        client: AwsClient,
        model: Model,
        output: OutputLocation | None,
        day: date,
        endpoint: EndpointKind,
    ) -> None:
        self.client = client
        self.model = model
        self.info = model.info
        self.output = output
        self.day = day
        self.region = client.region
        self.endpoint = endpoint
        #: what AWS published (the registry's dates on ``day``)
        self.published = registry_lifecycle(model, day)
        self.report = DoctorReport(
            model_id=model.model_id,
            region=client.region,
            endpoint=endpoint,
            model_name=model.info.name,
            published_lifecycle=self.published,
        )
        #: the lifecycle the checks settled on (control plane first, registry otherwise)
        self.facts: LifecycleFacts = self.published

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
            return self.add("credentials", "fail", service_words(exc), fix)
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
        registry = self.published
        try:
            details = self.client.get_foundation_model(self.model.model_id)
        except NotFoundError as exc:
            return self.eol(eol_lifecycle(self.model), service_words(exc))
        except AwsError as exc:
            fix = (
                "Allow bedrock:GetFoundationModel so doctor can read the lifecycle"
                if isinstance(exc, AccessDeniedError)
                else "Run doctor again; if it persists, check the network and the endpoint"
            )
            detail = (
                f"could not read the lifecycle ({exc.code or 'error'}: {service_words(exc)}); "
                f"the registry says {registry.status}"
            )
            if registry.dates_text():
                detail += f" ({registry.dates_text()})"
            if registry.status != "ACTIVE":
                fix += ". " + alternatives_text(self.model.model_id, self.day)
            return self.add("lifecycle", "warn", detail, fix + ("" if fix.endswith(".") else "."))
        answered = control_plane_lifecycle(details, self.model)
        self.report.endpoint_lifecycle = answered
        facts = answered or registry
        self.facts = facts
        sources = side_by_side(answered, registry, self.endpoint)
        if facts.status == "ACTIVE":
            if registry.status != "ACTIVE":
                return self.published_differs(sources)
            since = f", launched {facts.launched.isoformat()}" if facts.launched else ""
            return self.add("lifecycle", "ok", f"{sources}{since}")
        if facts.status == "LEGACY":
            dates = facts.dates_text() or "no dates given"
            detail = (
                f"{sources}: {self.info.name} is LEGACY ({dates}): it still runs, but "
                "accounts that have not used it in the last 15 days may lose access, and "
                "it stops at its end of life"
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

    def published_differs(self, sources: str) -> Check:
        """The endpoint runs the model, but AWS published it as Legacy or retired: a
        warning, so that an emulator's (or a stale account's) ACTIVE is never taken
        for AWS's."""
        name = self.info.name
        published = self.published
        if published.status == "EOL":
            when = f" on {published.end_of_life.isoformat()}" if published.end_of_life else ""
            on_aws = f"{name} reached its end of life{when}"
        else:
            on_aws = f"{name} is {published.published_text()}"
        if self.endpoint == "aws":
            fix = f"AWS published that {on_aws}, yet this account still runs it: it may stop "
            fix += "at any time. "
        else:
            where = ENDPOINT_LABELS[self.endpoint]
            fix = f"This {where} runs {name} as it is set up to; on AWS {on_aws}"
            fix += ", so a real run will be refused. " if published.status == "EOL" else ". "
        fix += alternatives_text(self.model.model_id, self.day)
        return self.add("lifecycle", "warn", sources, fix)

    def eol(self, facts: LifecycleFacts, said: str | None) -> Check:
        self.facts = facts
        self.report.endpoint_lifecycle = facts
        when = f" on {facts.end_of_life.isoformat()}" if facts.end_of_life else ""
        where = ENDPOINT_LABELS[self.endpoint]
        detail = (
            f"{self.info.name} ({self.model.model_id}) reached its end of life{when} "
            f"({side_by_side(facts, self.published, self.endpoint)})"
        )
        if said:
            who = "service" if self.endpoint == "aws" else where
            detail += f"; the {who} says: {said}"
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
                f"could not read model access ({exc.code or 'error'}: {service_words(exc)})",
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
                    f"HeadBucket on {bucket} failed ({exc.code or 'error'}: {service_words(exc)})",
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
            said = f"{exc.code or 'error'}: {service_words(exc)}"
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
