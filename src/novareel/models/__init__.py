"""The video model registry: every model novareel can drive, looked up by id or alias.

Each family is one module (:mod:`.nova_reel`, :mod:`.luma_ray`) exposing ``FAMILY``
(the :class:`~novareel.models.base.ModelFamily` interface) and ``MODELS`` (one
:class:`~novareel.models.base.ModelInfo` per model id). Built-in families are
registered from a plain list below, in llm's manner; :func:`register` adds another
(tests register a fake one). The rest of novareel resolves a model once with
:func:`get_model` and then asks its family, never a family module directly.

Why aliases resolve here and nowhere else: ``nova-reel`` must mean the same model on
the command line, in a batch file, in a storyboard and in the Python API.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.models import luma_ray, nova_reel
from novareel.models.base import (
    SHARED_OPTIONS,
    FrameRules,
    GenerateOptions,
    Lifecycle,
    ModelFamily,
    ModelInfo,
    Option,
    RecordedRequest,
    Shot,
    StartingFrame,
    VideoRequest,
    VideoShape,
    is_whole_number,
    submit_option_problems,
)
from novareel.models.options import merge_options

if TYPE_CHECKING:
    from novareel.foundation.s3uri import S3Uri

#: The built-in model used when none is named and the person chose no default
#: (``NOVAREEL_MODEL``, ``[defaults]`` in config.toml: :mod:`novareel.settings.defaults`, read
#: above this leaf by ``compose``). Nova Reel v1:1 stays the built-in default so that a
#: command written for novareel 0.1 sends what it sent then; ``doctor`` and the
#: lifecycle notice say when it can no longer run and how to choose another once.
DEFAULT_MODEL = nova_reel.DEFAULT_MODEL


@dataclass(frozen=True)
class Model:
    """A resolved model: its facts and the family that knows how to talk to it."""

    info: ModelInfo
    family: ModelFamily

    @property
    def model_id(self) -> str:
        return self.info.model_id

    def lifecycle_status(self, day: date | None = None) -> str:
        today = day or datetime.now(timezone.utc).date()
        return self.info.lifecycle.status_on(today)

    def expected_generation_seconds(self, shape: VideoShape) -> float:
        return self.family.expected_generation_seconds(self.model_id, shape)


_FAMILIES: list[ModelFamily] = []
_MODELS: dict[str, Model] = {}
_ALIASES: dict[str, str] = {}


def register(family: ModelFamily) -> None:
    """Add a family and its models (a later registration of the same id replaces it)."""
    if family not in _FAMILIES:
        _FAMILIES.append(family)
    for info in family.models:
        _MODELS[info.model_id] = Model(info, family)
        for alias in info.aliases:
            _ALIASES[alias.lower()] = info.model_id


def unregister(family: ModelFamily) -> None:
    """Remove a family (for tests that register a fake one)."""
    if family in _FAMILIES:
        _FAMILIES.remove(family)
    for info in family.models:
        _MODELS.pop(info.model_id, None)
        for alias in info.aliases:
            if _ALIASES.get(alias.lower()) == info.model_id:
                del _ALIASES[alias.lower()]


for _family in (nova_reel.FAMILY, luma_ray.FAMILY):
    register(_family)


def request_options() -> list[Option]:
    """Every option a request may carry: the shared ones, then each registered
    family's own (one per name), as declared. The command line's flags, the MCP
    schema, the batch keys and ``RequestSpec`` are derived from this list, so a family
    registered later (a test's fake one) brings its options to every door."""
    declared = [*SHARED_OPTIONS]
    for family in _FAMILIES:
        declared.extend(getattr(family, "options", ()))
    return merge_options(declared)


def all_models() -> list[Model]:
    """Every registered model, in registration order."""
    return list(_MODELS.values())


def resolve_model_id(value: str | None) -> str:
    """A full model id from an id or alias (case-insensitive alias); None -> default."""
    if value is None:
        return DEFAULT_MODEL
    text = value.strip()
    if text in _MODELS:
        return text
    return _ALIASES.get(text.lower(), text)


def find_model(value: str | None) -> Model | None:
    """The registered model for an id or alias, or None."""
    return _MODELS.get(resolve_model_id(value))


def video_name(model_id: str | None) -> str:
    """The file a finished job of ``model_id`` holds its video in, inside the job's
    folder: the family's ``video_name``, else ``output.mp4`` (what every family
    writes) for an id no family knows, such as a job adopted by ``jobs sync``."""
    model = find_model(model_id)
    return model.family.video_name if model is not None else "output.mp4"


def video_uri(model_id: str | None, output_uri: str, invocation_id: str) -> S3Uri:
    """Where a job's video is in S3: ``<output_uri>/<invocation id>/<video name>``,
    the folder the service writes each job into. Raises
    :class:`~novareel.foundation.errors.InvalidRequestError` for an output URI that is
    not ``s3://``."""
    from novareel.foundation.s3uri import parse_s3_uri

    folder = parse_s3_uri(output_uri).child(invocation_id).as_folder()
    return folder.child(video_name(model_id))


def known_names() -> str:
    """Every id and alias, for messages that say what is allowed."""
    names = []
    for model in _MODELS.values():
        names.append(model.model_id)
        names.extend(model.info.aliases)
    return " | ".join(names)


def get_model(value: str | None, *, field: str = "model_id") -> Model:
    """The model for an id or alias; InvalidRequestError naming every choice otherwise."""
    model = find_model(value)
    if model is None:
        from novareel.models.understanding import find_understanding_model

        reviewer = find_understanding_model(value)
        if reviewer is not None:
            raise InvalidRequestError(
                Problem(
                    field,
                    f"{value!r} is {reviewer.name}, a model that reviews videos, not one "
                    f"that makes them (video models: {known_names()})",
                    value=value,
                    limit=known_names(),
                ),
                hint=f"`novareel review <job> --model-id {reviewer.aliases[0]}` reviews a video.",
            )
        raise InvalidRequestError(
            Problem(
                field,
                f"{value!r} is not a video model novareel knows (known: {known_names()})",
                value=value,
                limit=known_names(),
            ),
            hint="`novareel models --offline` lists them with their prices and lifecycle.",
        )
    return model


def model_for_request(request: VideoRequest) -> Model:
    """The registered model a request is for."""
    return get_model(request.model_id)


def build_request(options: GenerateOptions) -> VideoRequest:
    """A checked request for the options' model (aliases resolved), every problem at once."""
    model = get_model(options.model_id)
    return model.family.build(_with_id(options, model))


def build_shot_requests(options: GenerateOptions) -> list[VideoRequest]:
    """A storyboard as its jobs: one for a multi-shot family, one per shot otherwise."""
    model = get_model(options.model_id)
    return model.family.build_shots(_with_id(options, model))


def _with_id(options: GenerateOptions, model: Model) -> GenerateOptions:
    return replace(options, model_id=model.model_id)


def estimate_cost_usd(
    model_id: str, duration_seconds: int, resolution: str | None = None
) -> float | None:
    """The price of ``duration_seconds`` of video on a model (an id or an alias), in
    US dollars; None for a model the registry does not know (never a guess from another
    model's price).

    This is ``novareel.estimate_cost_usd``, and the one price function: every request's
    ``estimated_cost_usd`` computes with the same :meth:`ModelInfo.cost_usd`, so a dry
    run, ``storyboard check``, the MCP server and a budget quote the same dollars.

    ``resolution`` matters only for a model priced by resolution (Luma Ray 2: ``540p``
    or ``720p``). Left out, the model's highest per-second price is used, so a quote
    never falls short: for Ray 2 that is 720p, which is also its default. A resolution
    the model is not priced at raises :class:`InvalidRequestError`. The length is not
    checked against the model's allowed lengths here (build the request for that:
    ``RayVideo(prompt, duration=9).estimated_cost_usd``).
    """
    model = find_model(model_id)
    if model is None:
        return None
    found: list[Problem] = []
    if not is_whole_number(duration_seconds):
        found.append(
            Problem(
                "duration_seconds",
                f"{duration_seconds!r} is not a whole number of seconds",
                value=duration_seconds,
                limit="seconds >= 0",
            )
        )
    elif duration_seconds < 0:
        found.append(
            Problem(
                "duration_seconds",
                f"{duration_seconds} is negative",
                value=duration_seconds,
                limit="seconds >= 0",
            )
        )
    prices = model.info.price_usd_per_second
    if resolution is not None and "*" not in prices and resolution not in prices:
        allowed = " | ".join(prices)
        found.append(
            Problem(
                "resolution",
                f"{model.info.name} is not priced at {resolution!r}; allowed: {allowed}",
                value=resolution,
                limit=allowed,
            )
        )
    if found:
        raise InvalidRequestError(found)
    return model.info.cost_usd(duration_seconds, resolution)


def expected_generation_seconds(model_id: str | None, shape: VideoShape) -> float:
    """The prior for a job's generation time on the real service.

    An unknown model (a job adopted from another tool) uses the slowest registered
    family's prior, so a wait never gives up early.
    """
    model = find_model(model_id)
    if model is not None:
        return model.expected_generation_seconds(shape)
    return max(m.expected_generation_seconds(shape) for m in _MODELS.values())


def shape_of(model_id: str | None, body: dict[str, Any] | None, duration: int | None) -> VideoShape:
    """The video a recorded job should produce (Nova Reel's 1280x720 for an unknown model)."""
    model = find_model(model_id) or get_model(DEFAULT_MODEL)
    return model.family.shape_from_body(body or {}, duration)


def describe_model(model: Model, day: date | None = None) -> dict[str, Any]:
    """The registry's facts about a model, JSON-ready (``novareel models --offline``)."""
    info = model.info
    life: Lifecycle = info.lifecycle
    return {
        "model_id": info.model_id,
        "name": info.name,
        "provider": info.provider,
        "family": info.family,
        "aliases": list(info.aliases),
        "regions": list(info.regions),
        "lifecycle_status": model.lifecycle_status(day),
        "launched": life.launched.isoformat() if life.launched else None,
        "legacy_since": life.legacy_since.isoformat() if life.legacy_since else None,
        "end_of_life": life.end_of_life.isoformat() if life.end_of_life else None,
        "lifecycle_source": life.source,
        "price_usd_per_second": dict(info.price_usd_per_second),
        "price_source": info.price_source,
        "task_types": list(info.task_types),
        "marketplace": info.marketplace,
        "default_concurrency": info.concurrency,
        "notes": list(info.notes),
    }


def lifecycle_notice(model: Model, day: date | None = None) -> str | None:
    """What to say before a submit to a Legacy or retired model (registry dates).

    Names the dates, the active alternative with its price, how to make it the
    default once (``novareel models default``, so it need not be typed on every
    command) and ``novareel doctor``; never switches model. None for an active model.
    """
    info = model.info
    status = model.lifecycle_status(day)
    if status not in ("LEGACY", "EOL"):
        return None
    alternatives = active_alternatives(exclude=info.model_id, day=day)
    other = ""
    if alternatives:
        alt = alternatives[0].info
        flag = alt.aliases[0] if alt.aliases else alt.model_id
        other = (
            f"; the active alternative is {alt.name} (--model-id {flag}, {alt.price_text()}); "
            f"to make it your default once: `novareel models default {flag}`"
        )
    when = (
        f"reached end of life on {info.lifecycle.end_of_life}"
        if status == "EOL"
        else f"is Legacy since {info.lifecycle.legacy_since} (end of life "
        f"{info.lifecycle.end_of_life})"
    )
    return (
        f"{info.name} ({info.model_id}) {when}: AWS will likely refuse it{other}. "
        "Check your account with `novareel doctor`"
    )


def active_alternatives(exclude: str | None = None, day: date | None = None) -> list[Model]:
    """Registered models not past end of life or Legacy, cheapest first."""
    found = [
        m for m in _MODELS.values() if m.model_id != exclude and m.lifecycle_status(day) == "ACTIVE"
    ]
    return sorted(found, key=lambda m: min(m.info.price_usd_per_second.values()))


__all__ = [
    "DEFAULT_MODEL",
    "FrameRules",
    "GenerateOptions",
    "Lifecycle",
    "Model",
    "ModelFamily",
    "ModelInfo",
    "Option",
    "RecordedRequest",
    "Shot",
    "StartingFrame",
    "VideoRequest",
    "VideoShape",
    "active_alternatives",
    "all_models",
    "build_request",
    "build_shot_requests",
    "describe_model",
    "estimate_cost_usd",
    "expected_generation_seconds",
    "find_model",
    "get_model",
    "known_names",
    "lifecycle_notice",
    "model_for_request",
    "register",
    "request_options",
    "resolve_model_id",
    "shape_of",
    "submit_option_problems",
    "unregister",
    "video_name",
    "video_uri",
]
