"""What :mod:`novareel.preflight`'s three parts share: a model's lifecycle (from the
registry or the account's control plane), its access, the alternatives worded as a
choice, and which errors are the credentials' own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Literal

from novareel.foundation.errors import AwsError
from novareel.models import Model, active_alternatives, find_model

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


#: Who answered the control plane: the novareel emulator (``--local``, or an
#: ``--endpoint-url`` that is one), another endpoint, or AWS itself.
EndpointKind = Literal["emulator", "endpoint", "aws"]

#: How each kind of endpoint is named beside AWS's published lifecycle.
ENDPOINT_LABELS: dict[str, str] = {"emulator": "emulator", "endpoint": "endpoint", "aws": "account"}


def endpoint_kind_of(client: Any) -> EndpointKind:
    """The kind of endpoint a client talks to, when the caller did not say.

    Without a probe novareel cannot tell its emulator from another endpoint, so a
    client with an endpoint URL is an ``endpoint`` and one without is ``aws``; the
    connection factory (:mod:`novareel.running.connection`), which probes, passes ``emulator``.
    """
    return "endpoint" if getattr(client, "runtime_endpoint", None) else "aws"


def is_credential_error(exc: AwsError) -> bool:
    """True when the credentials are missing, expired or refused (not a model problem)."""
    return (exc.code or "") in CREDENTIAL_CODES


# -- shared pieces -----------------------------------------------------------------------


def today(day: date | None) -> date:
    return day or datetime.now(timezone.utc).date()


def as_date(value: Any) -> date | None:
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


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class LifecycleFacts:
    """A model's lifecycle state and dates, and where they came from."""

    status: str
    launched: date | None = None
    legacy_since: date | None = None
    end_of_life: date | None = None
    source: str = "registry"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``status``, the three dates (ISO) and ``source``."""
        return {
            "status": self.status,
            "launched": iso_date(self.launched),
            "legacy_since": iso_date(self.legacy_since),
            "end_of_life": iso_date(self.end_of_life),
            "source": self.source,
        }

    def published_text(self) -> str:
        """The state in words, with its dates: ``end of life since 2026-09-30``,
        ``LEGACY since 2026-03-30, end of life 2026-09-30`` or ``ACTIVE``."""
        if self.status == "EOL":
            return (
                f"end of life since {self.end_of_life.isoformat()}"
                if self.end_of_life
                else "end of life"
            )
        if self.status == "LEGACY":
            text = "LEGACY"
            if self.legacy_since:
                text += f" since {self.legacy_since.isoformat()}"
            if self.end_of_life:
                text += f", end of life {self.end_of_life.isoformat()}"
            return text
        return self.status

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
        status=model.lifecycle_status(today(day)),
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
    launched = as_date(block.get("startOfLifeTime"))
    if launched is None and model is not None:
        launched = model.info.lifecycle.launched
    return LifecycleFacts(
        status=str(block["status"]).upper(),
        launched=launched,
        legacy_since=as_date(block.get("legacyTime")),
        end_of_life=as_date(block.get("endOfLifeTime")),
        source="control-plane",
    )


def side_by_side(
    endpoint: LifecycleFacts | None, published: LifecycleFacts, kind: EndpointKind
) -> str:
    """The endpoint's answer beside AWS's published lifecycle, never merged into one.

    ``emulator: ACTIVE (as configured) · AWS: end of life since 2026-09-30``. An
    emulator answers what it was configured to (``--model-state``), another endpoint
    what it answers, the account what AWS says for it (then the second half reads
    ``AWS published``); the second half is the registry's copy of what AWS
    published, the same for everyone. ``endpoint`` None
    means it gave no lifecycle (it did not answer, or has none).
    """
    label = ENDPOINT_LABELS[kind]
    if endpoint is None:
        said = "not known"
    elif kind == "emulator":
        said = f"{endpoint.status} (as configured)"
    else:
        said = endpoint.published_text()
    aws = "AWS published" if kind == "aws" else "AWS"
    return f"{label}: {said} · {aws}: {published.published_text()}"


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


def service_words(exc: AwsError) -> str:
    """The service's own message, without novareel's ``Operation failed: Code:`` prefix."""
    text = exc.message
    if exc.code and f"{exc.code}: " in text:
        return text.split(f"{exc.code}: ", 1)[1]
    return text
