"""One raw item of a batch file, checked and turned into the requests it sends.

:func:`_build_item` reads one item's keys (over the defaults it inherits), checks the
file's own rules (keys, types), hands the request to the library's one builder
(:func:`novareel.requests.compose.compose_requests`, which ``generate`` and the MCP server use
too) and names every problem by where it is in the file (``items[3].image``);
:func:`novareel.batch.file.load_batch` calls it for each item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from novareel.batch.keys import (
    _MAX_ID,
    _SHOT_KEYS,
    _unknown_key_problems,
    default_keys,
    item_keys,
    request_keys,
)
from novareel.foundation.errors import Problem
from novareel.models import VideoRequest
from novareel.requests.compose import RequestSpec, ShotSpec, compose_requests
from novareel.settings.defaults import ModelDefault


def _file_keys() -> dict[str, str]:
    """The options a batch file spells otherwise than their name (each declaration's
    ``key``): the builder names every problem by the option's name
    (:func:`novareel.models.options.as_declared`), a batch file by its key."""
    return {option.name: key for key, option in request_keys().items() if key != option.name}


def _prefix(where: str, problems: Sequence[Problem]) -> list[Problem]:
    """Problems named by where they are in the file (``items[2].duration``), in the
    file's own keys rather than the request's field names."""
    out = []
    file_keys = _file_keys()
    for p in problems:
        field = file_keys.get(p.field, p.field)
        name = field if field.startswith(where) else f"{where}.{field}"
        out.append(Problem(name, p.message, value=p.value, limit=p.limit))
    return out


def _names_shots(raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    """Whether an item (or the defaults it inherits) names shots or a storyboard."""
    return any(raw.get(k, defaults.get(k)) is not None for k in ("shots", "storyboard"))


def _build_item(
    number: int,
    raw: Any,
    defaults: Mapping[str, Any],
    base: Path,
    notes: list[str] | None = None,
    chosen: ModelDefault | None = None,
) -> tuple[str | None, list[VideoRequest] | None, str | None, dict[str, str], list[Problem]]:
    """(key, requests, output uri, tags, problems) of one raw item.

    ``requests`` holds one request, or one per shot for a storyboard on a model that
    has no multi-shot job (Luma Ray 2). The file's own rules (keys, types) are checked
    here; the request itself comes from :func:`novareel.requests.compose.compose_requests`, the
    builder ``generate`` uses, and its notices (image notes, prompt advice) go to
    ``notes``.
    """
    where = f"items[{number}]"
    if not isinstance(raw, dict):
        return (
            None,
            None,
            None,
            {},
            [Problem(where, "must be a mapping of keys (prompt, task, ...)", value=raw)],
        )
    problems = _unknown_key_problems(where, raw, item_keys())
    inherited = default_keys()
    spec: dict[str, Any] = {**{k: v for k, v in defaults.items() if k in inherited}, **raw}

    key: str | None = str(number)
    if "id" in raw:
        ident = raw["id"]
        if isinstance(ident, bool) or not isinstance(ident, str | int):
            problems.append(Problem(f"{where}.id", "must be a string or a number", value=ident))
            key = None
        else:
            key = str(ident).strip()
            if not key or len(key) > _MAX_ID or not key.isprintable():
                problems.append(
                    Problem(
                        f"{where}.id",
                        "must be 1-128 printable characters",
                        value=ident,
                        limit="1-128 printable characters",
                    )
                )
                key = None

    tags: dict[str, str] = {}
    raw_tags = spec.get("tags")
    if raw_tags is not None:
        if not isinstance(raw_tags, dict):
            problems.append(Problem(f"{where}.tags", "must be a mapping of key: value"))
        else:
            tags = {str(k): "" if v is None else str(v) for k, v in raw_tags.items()}

    # Each request key's kind, as its family declared it: a value of the wrong kind is
    # named here and left out, so the request's own rules are still checked.
    declared = request_keys()
    for name, option in declared.items():
        problem = option.type_problem(f"{where}.{name}", spec.get(name))
        if problem is not None:
            problems.append(problem)
            spec[name] = None
    if spec.get("output_uri") is not None and not isinstance(spec["output_uri"], str):
        problems.append(
            Problem(f"{where}.output_uri", "must be a string", value=spec["output_uri"])
        )
        spec["output_uri"] = None

    shots: list[ShotSpec | str] | None = None
    if raw.get("shots") is not None and raw.get("storyboard") is not None:
        problems.append(Problem(f"{where}.shots", "give shots or storyboard, not both"))
        spec["storyboard"] = None
    elif spec.get("shots") is not None:
        spec["storyboard"] = None  # the defaults' storyboard does not apply to shots
        raw_shots = spec["shots"]
        if not isinstance(raw_shots, list):
            problems.append(Problem(f"{where}.shots", "must be a list of shots"))
        else:
            shots = []
            for index, shot in enumerate(raw_shots, start=1):
                shot_where = f"{where}.shots[{index}]"
                if isinstance(shot, str):
                    shots.append(shot)
                    continue
                if not isinstance(shot, dict):
                    problems.append(Problem(shot_where, "must be a text or a mapping with text"))
                    continue
                problems.extend(_unknown_key_problems(shot_where, shot, _SHOT_KEYS))
                image = shot.get("image")
                wrong = declared["image"].type_problem(f"{shot_where}.image", image)
                if wrong is not None:
                    problems.append(wrong)
                    image = None
                owner = shot.get("bucket_owner")
                text = shot.get("text")
                shots.append(
                    ShotSpec(
                        text if isinstance(text, str) else "",
                        image=image,
                        fit=shot.get("fit"),
                        bucket_owner=owner if isinstance(owner, str) else None,
                    )
                )

    # The request itself: the library's one builder (the CLI and the MCP server use
    # it too); its problems are named in the file's own terms (items[3].image).
    values = {key: spec.get(key) for key, option in declared.items() if option.kind != "shots"}
    built = compose_requests(
        RequestSpec.from_keys({**values, "shots": shots}),
        base=base,
        lifecycle=False,  # said once per model for the whole batch
        record_fit=True,  # part of every item's content hash since the first release
        storyboard_field="storyboard",
        defaults=chosen,  # an item naming no model (here or in `defaults`): the person's
    )
    problems.extend(_prefix(where, built.problems))
    if notes is not None:  # what was done to the images, and prompt advice: before the run
        notes.extend(built.notices)
    requests = list(built.requests) if not problems and built.ok else None

    output_uri = spec.get("output_uri")
    if output_uri is None:
        problems.append(
            Problem(
                f"{where}.output_uri",
                "an output location is required (in the item, the defaults or --output-uri)",
                limit="s3://bucket/folder/",
            )
        )
    return key, requests, output_uri, tags, problems
