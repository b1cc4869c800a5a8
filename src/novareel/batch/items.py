"""One raw item of a batch file, checked and turned into the requests it sends.

:func:`_build_item` reads one item's keys (over the defaults it inherits), prepares its
frames and storyboard, builds its request(s) and names every problem by where it is in
the file (``items[3].image``); :func:`novareel.batch.file.load_batch` calls it for
each item. These functions are kept together, and only here, on purpose: the one
place to change how an item becomes a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from novareel.batch.keys import (
    _DEFAULT_KEYS,
    _FIT_MODES,
    _MAX_ID,
    _SHOT_KEYS,
    ITEM_KEYS,
    _unknown_key_problems,
)
from novareel.errors import InvalidRequestError, Problem
from novareel.models import (
    FrameRules,
    GenerateOptions,
    Shot,
    StartingFrame,
    VideoRequest,
    build_request,
    build_shot_requests,
    find_model,
    get_model,
)


def _resolve_path(base: Path, value: str) -> str:
    if value.startswith("s3://"):
        return value
    candidate = Path(value).expanduser()
    return str(candidate if candidate.is_absolute() else (base / candidate))


#: The request's field names that a batch file spells differently (its own keys).
_FILE_KEYS = {"duration_seconds": "duration", "task_type": "task"}


def _prefix(where: str, problems: Sequence[Problem]) -> list[Problem]:
    """Problems named by where they are in the file (``items[2].duration``), in the
    file's own keys rather than the request's field names."""
    out = []
    for p in problems:
        field = _FILE_KEYS.get(p.field, p.field)
        name = field if field.startswith(where) else f"{where}.{field}"
        out.append(Problem(name, p.message, value=p.value, limit=p.limit))
    return out


def _frame(
    source: Any,
    fit: Any,
    bucket_owner: Any,
    base: Path,
    field_name: str,
    rules: FrameRules | None = None,
    notes: list[str] | None = None,
) -> tuple[StartingFrame | None, list[Problem]]:
    if not isinstance(source, str) or not source:
        return None, [Problem(field_name, "must be a path or an s3:// URI", value=source)]
    if fit is not None and fit not in _FIT_MODES:
        return None, [
            Problem(f"{field_name}.fit", f"unknown fit mode {fit!r}", limit=" | ".join(_FIT_MODES))
        ]
    from novareel.images import prepare_starting_frame

    try:
        prepared = prepare_starting_frame(
            _resolve_path(base, source),
            fit=fit,
            bucket_owner=bucket_owner,
            field=field_name,
            rules=rules,
        )
    except InvalidRequestError as exc:
        return None, list(exc.problems)
    frame = prepared.frame
    if notes is not None:  # what was done to the image, said before the run
        notes.extend(f"{field_name.split('.', 1)[-1]}: {note}" for note in prepared.notes)
    if fit and frame.data is not None:
        # Recorded so that a retry rebuilds exactly these bytes (see novareel.replay).
        frame = replace(frame, fit=fit)
    return frame, []


def _names_shots(raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    """Whether an item (or the defaults it inherits) names shots or a storyboard."""
    return any(raw.get(k, defaults.get(k)) is not None for k in ("shots", "storyboard"))


def _build_item(
    number: int,
    raw: Any,
    defaults: Mapping[str, Any],
    base: Path,
    notes: list[str] | None = None,
) -> tuple[str | None, list[VideoRequest] | None, str | None, dict[str, str], list[Problem]]:
    """(key, requests, output uri, tags, problems) of one raw item.

    ``requests`` holds one request, or one per shot for a storyboard on a model that
    has no multi-shot job (Luma Ray 2).
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
    problems = _unknown_key_problems(where, raw, ITEM_KEYS)
    spec: dict[str, Any] = {**{k: v for k, v in defaults.items() if k in _DEFAULT_KEYS}, **raw}

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

    for name in ("duration", "seed"):
        value = spec.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(Problem(f"{where}.{name}", "must be an integer", value=value))
            spec[name] = None
    for name in ("prompt", "task", "model_id", "output_uri", "aspect_ratio", "resolution"):
        value = spec.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(f"{where}.{name}", "must be a string", value=value))
            spec[name] = None
    if spec.get("loop") is not None and not isinstance(spec["loop"], bool):
        problems.append(Problem(f"{where}.loop", "must be true or false", value=spec["loop"]))
        spec["loop"] = None

    try:
        model = get_model(spec.get("model_id"))
    except InvalidRequestError as exc:
        problems.extend(_prefix(where, exc.problems))
        return key, None, spec.get("output_uri"), tags, problems
    rules = model.family.frame_rules_for(
        GenerateOptions(aspect_ratio=spec.get("aspect_ratio"), resolution=spec.get("resolution"))
    )

    frame = None
    if spec.get("image") is not None:
        frame, found = _frame(
            spec["image"],
            spec.get("fit"),
            spec.get("bucket_owner"),
            base,
            f"{where}.image",
            rules,
            notes,
        )
        problems.extend(found)
    end_frame = None
    if spec.get("end_image") is not None:
        end_frame, found = _frame(
            spec["end_image"], spec.get("fit"), None, base, f"{where}.end_image", rules, notes
        )
        problems.extend(found)

    shots: list[Shot] | None = None
    if raw.get("shots") is not None and raw.get("storyboard") is not None:
        problems.append(Problem(f"{where}.shots", "give shots or storyboard, not both"))
    elif spec.get("shots") is not None:
        raw_shots = spec["shots"]
        if not isinstance(raw_shots, list):
            problems.append(Problem(f"{where}.shots", "must be a list of shots"))
        else:
            shots = []
            for index, shot in enumerate(raw_shots, start=1):
                shot_where = f"{where}.shots[{index}]"
                if isinstance(shot, str):
                    shots.append(Shot(shot))
                    continue
                if not isinstance(shot, dict):
                    problems.append(Problem(shot_where, "must be a text or a mapping with text"))
                    continue
                problems.extend(_unknown_key_problems(shot_where, shot, _SHOT_KEYS))
                shot_frame = None
                if shot.get("image") is not None:
                    shot_frame, found = _frame(
                        shot["image"],
                        shot.get("fit", spec.get("fit")),
                        shot.get("bucket_owner"),
                        base,
                        f"{shot_where}.image",
                        rules,
                        notes,
                    )
                    problems.extend(found)
                text = shot.get("text")
                shots.append(Shot(text if isinstance(text, str) else "", shot_frame))
    elif spec.get("storyboard") is not None:
        board_path = spec["storyboard"]
        if not isinstance(board_path, str):
            problems.append(Problem(f"{where}.storyboard", "must be a path", value=board_path))
        else:
            from novareel.storyboard import load_storyboard

            try:
                board = load_storyboard(_resolve_path(base, board_path))
                prepared = board.prepare(
                    seed=spec.get("seed"), model_id=spec.get("model_id"), rules=rules
                )
                shots = list(prepared.shots)
                if notes is not None:
                    notes.extend(prepared.notes)
                if spec.get("seed") is None:
                    spec["seed"] = prepared.seed
                if spec.get("model_id") is None:
                    spec["model_id"] = prepared.model_id
            except InvalidRequestError as exc:
                problems.extend(_prefix(f"{where}.storyboard", exc.problems))

    requests: list[VideoRequest] | None = None
    if not problems:
        options = GenerateOptions(
            prompt=spec.get("prompt"),
            model_id=spec.get("model_id"),
            task=spec.get("task"),
            duration=spec.get("duration"),
            image=frame,
            end_image=end_frame,
            shots=shots,
            seed=spec.get("seed"),
            aspect_ratio=spec.get("aspect_ratio"),
            resolution=spec.get("resolution"),
            loop=spec.get("loop"),
        )
        chosen = find_model(spec.get("model_id")) or model
        try:
            if shots and not chosen.family.multi_shot:
                requests = build_shot_requests(options)
            else:
                requests = [build_request(options)]
        except InvalidRequestError as exc:
            problems.extend(_prefix(where, exc.problems))

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
