"""The foundation-model catalogue and each model's lifecycle/access state.

Pure functions over the model registry and ``EmulatorConfig.model_states``; the HTTP
handlers live in ``control_plane.py`` and StartAsyncInvoke calls
:func:`check_invoke`. A model's state (default ``active``) decides what every call
answers:

=============  ===============  ================  ==========================  ==================
state          List             GetFoundation...  Availability                StartAsyncInvoke
=============  ===============  ================  ==========================  ==================
active         listed, ACTIVE   ACTIVE            all AVAILABLE/AUTHORIZED    works
legacy         listed, LEGACY   LEGACY + dates    all AVAILABLE/AUTHORIZED    works
legacy-unused  listed, LEGACY   LEGACY + dates    all AVAILABLE/AUTHORIZED    404 ResourceNotFound
eol            absent           404 (EOL text)    404 (EOL text)              404 ResourceNotFound
no-access      listed, ACTIVE   ACTIVE            authorization NOT_AUTH...   403 AccessDenied
no-agreement   listed, ACTIVE   ACTIVE            agreement NOT_AVAILABLE     403 AccessDenied
=============  ===============  ================  ==========================  ==================

Region: a model not hosted in the request's signing region is absent from the list,
``GetFoundationModel`` says ValidationException "The provided model identifier is
invalid." and the availability answers ``regionAvailability: NOT_AVAILABLE``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from novareel.emulator.errors import ApiError, validation
from novareel.emulator.models import MODELS, ModelInfo

ACTIVE = "active"
MODEL_STATES = ("active", "legacy", "legacy-unused", "eol", "no-access", "no-agreement")
_LEGACY_STATES = ("legacy", "legacy-unused")

INVALID_MODEL_MESSAGE = "The provided model identifier is invalid."
LEGACY_UNUSED_MESSAGE = (
    "Access denied. This Model is marked by provider as Legacy and you have not been "
    "actively using the model in the last 15 days. Please upgrade to an active model on "
    "Amazon Bedrock"
)
EOL_MESSAGE = (
    "This model version has reached the end of its life. "
    "Please refer to the AWS documentation for more details."
)
NO_ACCESS_MESSAGE = "You don't have access to the model with the specified model ID."


def no_agreement_message(model_id: str) -> str:
    """The emulator's own wording (the real text is not pinned down)."""
    return (
        f"Model access is denied: your account has no AWS Marketplace subscription "
        f"(agreement) for {model_id}. Accept the model's offer in the Amazon Bedrock "
        "console, or with CreateFoundationModelAgreement, then try again."
    )


MODALITIES = ("TEXT", "IMAGE", "EMBEDDING", "VIDEO")
INFERENCE_TYPES = ("ON_DEMAND", "PROVISIONED")
CUSTOMIZATION_TYPES = ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION")


#: Every short name a model is known by in the emulator's settings -> its full id
#: (lower case; the models' own ``aliases``, see ``models/base.py``).
ALIASES: dict[str, str] = {
    alias.lower(): info.model_id for info in MODELS.values() for alias in info.aliases
}


def model_names() -> list[str]:
    """Every full model id and alias, for messages that say what is allowed."""
    return [name for info in MODELS.values() for name in (info.model_id, *info.aliases)]


def resolve_model_id(name: Any) -> str:
    """A full model id or one of its aliases (any case) -> the full id; ValueError
    naming every allowed name otherwise."""
    if isinstance(name, str):
        text = name.strip()
        if text in MODELS:
            return text
        model_id = ALIASES.get(text.lower())
        if model_id is not None:
            return model_id
    raise ValueError(
        f"unknown model id {name!r} in model_states (known: {', '.join(model_names())})"
    )


def check_states(states: Any) -> dict[str, str]:
    """Validate a ``{model id or alias: state}`` mapping; return it keyed by full model
    ids. ``ValueError`` naming what is wrong and what is allowed."""
    if not isinstance(states, dict):
        raise ValueError("model_states must map model ids to states")
    checked: dict[str, str] = {}
    for name, state in states.items():
        model_id = resolve_model_id(name)
        if state not in MODEL_STATES:
            raise ValueError(
                f"unknown model state {state!r} for {model_id} (states: {', '.join(MODEL_STATES)})"
            )
        checked[model_id] = state
    return checked


def parse_model_state(text: str) -> tuple[str, str]:
    """``MODEL=STATE`` (the CLI's ``--model-state``) -> (model id, state); ValueError if bad."""
    name, sep, state = text.partition("=")
    if not sep or not name or not state:
        raise ValueError(f"{text!r} is not MODEL=STATE (e.g. luma.ray-v2:0=legacy)")
    ((model_id, checked),) = check_states({name.strip(): state.strip()}).items()
    return model_id, checked


def check_invoke(model_id: str, state: str) -> None:
    """Raise what StartAsyncInvoke answers for a model in ``state`` (nothing if usable)."""
    if state == "legacy-unused":
        raise ApiError("ResourceNotFoundException", LEGACY_UNUSED_MESSAGE)
    if state == "eol":
        raise ApiError("ResourceNotFoundException", EOL_MESSAGE)
    if state == "no-access":
        raise ApiError("AccessDeniedException", NO_ACCESS_MESSAGE)
    if state == "no-agreement":
        raise ApiError("AccessDeniedException", no_agreement_message(model_id))


def _lifecycle(info: ModelInfo, state: str) -> dict[str, Any]:
    lifecycle: dict[str, Any] = {"status": "ACTIVE", "startOfLifeTime": info.start_of_life_time}
    if state in _LEGACY_STATES:
        lifecycle["status"] = "LEGACY"
        lifecycle["legacyTime"] = info.legacy_time
        if info.public_extended_access_time is not None:
            lifecycle["publicExtendedAccessTime"] = info.public_extended_access_time
        lifecycle["endOfLifeTime"] = info.end_of_life_time
    return lifecycle


def describe_model(info: ModelInfo, region: str, state: str) -> dict[str, Any]:
    """A FoundationModelSummary / FoundationModelDetails (the two shapes are the same)."""
    return {
        "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{info.model_id}",
        "modelId": info.model_id,
        "modelName": info.name,
        "providerName": info.provider,
        "inputModalities": list(info.input_modalities),
        "outputModalities": list(info.output_modalities),
        "responseStreamingSupported": False,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": _lifecycle(info, state),
    }


def _filter(params: dict[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name)
    if value is not None and value not in allowed:
        raise validation(f"{name} {value!r} is not valid: must be one of {', '.join(allowed)}")
    return value


def list_models(params: dict[str, str], region: str, states: dict[str, str]) -> dict[str, Any]:
    """ListFoundationModels: the models hosted in ``region`` that have not reached EOL.

    ``byProvider`` matches the provider name or the model id's prefix, ignoring case
    (``Amazon``, ``amazon``, ``Luma AI``, ``luma``); ``byOutputModality`` also accepts
    VIDEO (absent from botocore's enum, sent by the real service for video models).
    """
    provider = params.get("byProvider")
    modality = _filter(params, "byOutputModality", MODALITIES)
    inference = _filter(params, "byInferenceType", INFERENCE_TYPES)
    customization = _filter(params, "byCustomizationType", CUSTOMIZATION_TYPES)
    summaries = []
    for info in MODELS.values():
        state = states.get(info.model_id, ACTIVE)
        if region not in info.regions or state == "eol":
            continue
        if provider is not None and provider.lower() not in (
            info.provider.lower(),
            info.model_id.split(".", 1)[0],
        ):
            continue
        if modality is not None and modality not in info.output_modalities:
            continue
        if inference is not None and inference != "ON_DEMAND":
            continue
        if customization is not None:
            continue  # no model here supports customization
        summaries.append(describe_model(info, region, state))
    return {"modelSummaries": summaries}


def _resolve(identifier: str) -> ModelInfo:
    """A model id or foundation-model ARN -> its entry; ValidationException if unknown."""
    identifier = unquote(identifier)
    if identifier.startswith("arn:"):
        _, sep, identifier = identifier.partition(":foundation-model/")
        if not sep:
            raise validation(INVALID_MODEL_MESSAGE)
    info = MODELS.get(identifier)
    if info is None:
        raise validation(INVALID_MODEL_MESSAGE)
    return info


def get_model(identifier: str, region: str, states: dict[str, str]) -> dict[str, Any]:
    """GetFoundationModel: unknown or not in region -> Validation; EOL -> ResourceNotFound."""
    info = _resolve(identifier)
    if region not in info.regions:
        raise validation(INVALID_MODEL_MESSAGE)
    state = states.get(info.model_id, ACTIVE)
    if state == "eol":
        raise ApiError("ResourceNotFoundException", EOL_MESSAGE)
    return {"modelDetails": describe_model(info, region, state)}


def availability(model_id: str, region: str, states: dict[str, str]) -> dict[str, Any]:
    """GetFoundationModelAvailability: unknown -> Validation; EOL -> ResourceNotFound."""
    info = _resolve(model_id)
    state = states.get(info.model_id, ACTIVE)
    if state == "eol":
        raise ApiError("ResourceNotFoundException", EOL_MESSAGE)
    agreement = "NOT_AVAILABLE" if state == "no-agreement" else "AVAILABLE"
    return {
        "modelId": info.model_id,
        "agreementAvailability": {"status": agreement},
        "authorizationStatus": "NOT_AUTHORIZED" if state == "no-access" else "AUTHORIZED",
        "entitlementAvailability": "AVAILABLE",
        "regionAvailability": "AVAILABLE" if region in info.regions else "NOT_AVAILABLE",
    }
