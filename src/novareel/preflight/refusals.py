"""The hint for a StartAsyncInvoke refused for lifecycle, access or region reasons."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from novareel.models import find_model
from novareel.preflight.lifecycle import (
    LifecycleFacts,
    alternatives_text,
    control_plane_lifecycle,
    registry_lifecycle,
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
