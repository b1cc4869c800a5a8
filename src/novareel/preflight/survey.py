"""``novareel models``: every registered model joined with what the account says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import AwsError, NotFoundError
from novareel.models import Model, all_models, describe_model
from novareel.preflight.lifecycle import (
    EndpointKind,
    LifecycleFacts,
    access_from_availability,
    control_plane_lifecycle,
    endpoint_kind_of,
    eol_lifecycle,
    is_credential_error,
    iso_date,
    registry_lifecycle,
    service_words,
    side_by_side,
    today,
)

if TYPE_CHECKING:
    from novareel.client import AwsClient

#: Where a lifecycle the endpoint answered came from, by kind of endpoint.
_LIFECYCLE_SOURCES = {
    "emulator": "the emulator's control plane in {region} (as configured, not AWS's)",
    "endpoint": "the control plane at the endpoint given, in {region}",
    "aws": "the account's Bedrock control plane in {region}",
}


def survey_models(
    client_for: Callable[[str], AwsClient] | None,
    *,
    region: str | None = None,
    day: date | None = None,
    endpoint: EndpointKind | None = None,
) -> list[dict[str, Any]]:
    """Every registered model, joined with what the account's control plane says.

    ``client_for(region)`` gives a client for a region (None: offline, the registry
    alone, no call at all). Each model is asked about in ``region`` when given, else in
    its own (first) registry region. Per model, the dict holds :func:`describe_model`'s
    keys plus ``region`` (the region asked), ``access`` (one of :data:`ACCESS_VALUES`),
    ``source`` (``registry`` or ``control-plane``: where the lifecycle came from) and
    ``note`` (why a value is unknown, or what the service said; None when nothing to
    say).

    Two lifecycles, never merged: ``published_lifecycle`` is what AWS published (the
    registry's dates, as of ``day``) and ``endpoint_lifecycle`` what the endpoint
    answered (None offline or when it gave none), with ``endpoint`` naming who
    answered (``emulator``, ``endpoint`` or ``aws``: ``endpoint`` when given, else
    guessed from the client) and ``lifecycle_text`` both side by side. The flat
    ``lifecycle_status`` and dates are the endpoint's answer when there is one, else
    the registry's. Missing or refused credentials raise (see
    :func:`is_credential_error`); any other failure leaves that one model with registry
    facts, access ``unknown`` and a note.
    """
    listings: dict[str, list[dict[str, Any]] | AwsError] = {}
    rows = []
    for model in all_models():
        asked = region or model.info.default_region
        published = facts = registry_lifecycle(model, day)
        kind: EndpointKind | None = endpoint if client_for is not None else None
        row = describe_model(model, today(day))
        row.update(region=asked, access="unknown", source="registry", note=None)
        if client_for is None:
            row["note"] = "offline: the registry's facts as of today; the account was not asked"
        elif asked not in model.info.regions:
            row["access"] = "not-in-region"
            row["note"] = (
                f"{model.info.name} is offered in {', '.join(model.info.regions)}, not {asked}"
            )
        else:
            client = client_for(asked)
            kind = kind or endpoint_kind_of(client)
            facts, row["access"], row["note"] = _ask_control_plane(
                client, model, asked, listings, facts
            )
            row["source"] = facts.source
            if facts.source == "control-plane":
                row["lifecycle_source"] = _LIFECYCLE_SOURCES[kind].format(region=asked)
        row.update(
            lifecycle_status=facts.status,
            launched=iso_date(facts.launched),
            legacy_since=iso_date(facts.legacy_since),
            end_of_life=iso_date(facts.end_of_life),
        )
        answered = facts if facts.source == "control-plane" else None
        row.update(
            endpoint=kind,
            endpoint_lifecycle=answered.to_dict() if answered else None,
            published_lifecycle=published.to_dict(),
            lifecycle_text=(
                side_by_side(answered, published, kind)
                if kind is not None and answered is not None
                else f"AWS: {published.published_text()}"
            ),
        )
        rows.append(row)
    return rows


def _ask_control_plane(
    client: AwsClient,
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
            notes.append(f"not found in {region}: {service_words(exc)}")
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
