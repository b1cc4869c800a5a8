"""Storyboard files for MULTI_SHOT_MANUAL jobs: load, check, turn into a request.

A storyboard is a YAML or JSON file holding either a plain list of shots::

    - text: A lighthouse on a cliff at dawn, waves below. Drone shot.
      image: frames/lighthouse.png
    - text: The lighthouse keeper climbs the spiral stairs. Following shot.

or a mapping with a ``shots`` list and optional defaults::

    seed: 7
    fit: crop            # applies to every shot that has an image and no fit of its own
    shots:
      - text: ...
        image: frames/one.jpg

Relative image paths are resolved from the storyboard file's folder (not from the
current directory), so a storyboard and its frames can be moved or shared together.
Unknown keys are errors, so a typo (``imgae:``) is caught instead of silently
dropping a starting frame from a paid job.

:func:`parse_storyboard` reads a file and checks its schema (a refused file's shots
are still read as far as they can be) and :func:`read_shot_images` reads every shot's
image; :func:`novareel.requests.compose.compose_requests` joins them with the request's own
checks, and :func:`novareel.requests.compose.check_storyboard` (``storyboard check``, the MCP
``check_storyboard`` tool) reports what it found: *every* problem at once (syntax,
schema, each shot's text, each image, the request's rules) with shot numbers, plus
the duration and estimated cost, so a user fixes a 20-shot storyboard in one pass, and
``generate`` with the same file names the same problems. The JSON Schema of the format is generated
from the pydantic models (:func:`storyboard_json_schema`) and published as
``novareel/requests/schemas/storyboard.schema.json`` for editors.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.foundation.textfiles import parse_json_or_yaml, read_input_text
from novareel.media.images import FitMode, prepare_starting_frame
from novareel.models import (
    FrameRules,
    Shot,
    StartingFrame,
    find_model,
    resolve_model_id,
)
from novareel.models.nova_reel import (
    DEFAULT_MODEL,
    DEFAULT_SEED,
    MAX_SEED,
    MAX_SHORT_TEXT,
    MAX_SHOTS,
    MIN_SEED,
    MIN_SHOTS,
    SHOT_SECONDS,
    MultiShotManual,
)

__all__ = [
    "SCHEMA_PATH",
    "ParsedStoryboard",
    "PreparedStoryboard",
    "ResolvedShot",
    "Storyboard",
    "StoryboardFile",
    "StoryboardReport",
    "StoryboardShot",
    "load_storyboard",
    "parse_storyboard",
    "read_shot_images",
    "shot_label",
    "shot_order",
    "storyboard_json_schema",
    "write_storyboard_schema",
]

#: Where the published JSON Schema lives inside the package.
SCHEMA_PATH = Path(__file__).parent / "schemas" / "storyboard.schema.json"


class StoryboardShot(BaseModel):
    """One 6-second shot: what happens, and optionally the image it starts from."""

    model_config = ConfigDict(extra="forbid", title="Shot")

    text: str = Field(
        min_length=1,
        max_length=MAX_SHORT_TEXT,
        description="What the shot shows, in English (1-512 characters). Put camera "
        "wording at the start or the end; avoid negations such as 'no' or 'without'.",
    )
    image: str | None = Field(
        default=None,
        description="Starting frame: a PNG or JPEG path (relative paths are resolved "
        "from the storyboard file's folder) or an s3:// URI.",
    )
    fit: FitMode | None = Field(
        default=None,
        description="How to make the image exactly 1280x720 RGB if it is not: crop, "
        "pad or stretch. Without it, an image that breaks a rule is refused.",
    )
    bucket_owner: str | None = Field(
        default=None,
        pattern=r"^\d{12}$",
        description="AWS account id that owns the bucket of an s3:// image.",
    )


class StoryboardFile(BaseModel):
    """A storyboard file in its mapping form: shots plus defaults for the job."""

    model_config = ConfigDict(extra="forbid", title="Storyboard")

    shots: list[StoryboardShot] = Field(
        min_length=MIN_SHOTS,
        max_length=MAX_SHOTS,
        description=f"{MIN_SHOTS}-{MAX_SHOTS} shots, 6 seconds each.",
    )
    seed: int | None = Field(
        default=None,
        ge=MIN_SEED,
        le=MAX_SEED,
        description="Seed for the job (default 42); a command-line --seed wins.",
    )
    model_id: str | None = Field(
        default=None, description="Bedrock model id (default amazon.nova-reel-v1:1)."
    )
    fit: FitMode | None = Field(
        default=None, description="Default fit for every shot's image that sets none."
    )


_DOCUMENT: TypeAdapter[StoryboardFile | list[StoryboardShot]] = TypeAdapter(
    StoryboardFile | list[StoryboardShot]
)


def storyboard_json_schema() -> dict[str, Any]:
    """The JSON Schema of a storyboard file, generated from the pydantic models.

    Either form is valid: the mapping (with ``shots``) or a bare list of shots.
    """
    schema = _DOCUMENT.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "novareel storyboard",
        "description": "Shots of an Amazon Nova Reel MULTI_SHOT_MANUAL job: a list of "
        "shots, or a mapping with a 'shots' list and job defaults.",
        **schema,
    }


def write_storyboard_schema(path: str | os.PathLike[str] | None = None) -> Path:
    """(Re)write the published schema file; a test keeps it equal to the models."""
    target = Path(path) if path is not None else SCHEMA_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(storyboard_json_schema(), indent=2, ensure_ascii=False) + "\n"
    target.write_text(text, encoding="utf-8")
    return target


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class ResolvedShot:
    """A shot with its image path resolved against the storyboard's folder."""

    number: int
    text: str
    image: str | None = None
    fit: FitMode | None = None
    bucket_owner: str | None = None


@dataclass(frozen=True)
class PreparedStoryboard:
    """A storyboard's shots with their images loaded, and notes on what was done to
    the images (each prefixed with its shot number).

    ``request`` is the MULTI_SHOT_MANUAL job for a model that runs storyboards as one
    job (Nova Reel); None for a model without multi-shot (Luma Ray 2), whose shots the
    caller builds as one job each (``novareel.models.build_shot_requests``).
    """

    shots: list[Shot]
    model_id: str
    seed: int | None
    request: MultiShotManual | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Storyboard:
    """A parsed, schema-valid storyboard; images are read only by :meth:`prepare`."""

    path: Path
    file: StoryboardFile
    shots: list[ResolvedShot]

    @property
    def duration_seconds(self) -> int:
        return SHOT_SECONDS * len(self.shots)

    def prepare(
        self,
        *,
        seed: int | None = None,
        model_id: str | None = None,
        fit: FitMode | None = None,
        rules: FrameRules | None = None,
    ) -> PreparedStoryboard:
        """Load every image and build the request; raise once with every problem.

        Precedence: an argument beats the file's default, which beats the library
        default. For ``fit``: the shot's own, then the argument, then the file's.
        ``rules`` are the model's image rules (Nova Reel's when None).
        """
        chosen = resolve_model_id(_first(model_id, self.file.model_id, DEFAULT_MODEL))
        frames, problems, notes, hints = read_shot_images(
            self.shots, fit=fit, file_fit=self.file.fit, rules=rules
        )
        shots = [Shot(text=shot.text, image=frames.get(shot.number)) for shot in self.shots]
        found = find_model(chosen)
        request = None
        if found is None or found.family.multi_shot:
            try:  # checked when built
                request = MultiShotManual(
                    shots=shots, seed=_first(seed, self.file.seed, DEFAULT_SEED), model_id=chosen
                )
            except InvalidRequestError as exc:
                problems.extend(exc.problems)
        if problems:
            hints.append(f"Run: novareel storyboard check {self.path}")
            raise InvalidRequestError(_dedupe(problems), hint=" ".join(hints))
        return PreparedStoryboard(
            shots=shots,
            model_id=chosen,
            seed=seed if seed is not None else self.file.seed,
            request=request,
            notes=notes,
        )

    def to_request(
        self,
        *,
        seed: int | None = None,
        model_id: str | None = None,
        fit: FitMode | None = None,
    ) -> MultiShotManual:
        """The validated MULTI_SHOT_MANUAL request (see :meth:`prepare`)."""
        prepared = self.prepare(seed=seed, model_id=model_id, fit=fit)
        if prepared.request is None:
            raise InvalidRequestError(
                Problem(
                    "model_id",
                    f"{prepared.model_id} runs a storyboard as one job per shot, not one "
                    "MULTI_SHOT_MANUAL job",
                    value=prepared.model_id,
                )
            )
        return prepared.request


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def read_shot_images(
    shots: Sequence[ResolvedShot],
    *,
    fit: FitMode | None,
    file_fit: FitMode | None,
    rules: FrameRules | None = None,
) -> tuple[dict[int, StartingFrame], list[Problem], list[str], list[str]]:
    """Read every shot's image, collecting all problems instead of stopping: the one
    reader of a storyboard's images (:meth:`Storyboard.prepare` and
    :func:`novareel.requests.compose.compose_requests`, which ``storyboard check`` and every
    other door use), for a valid file and for one that failed its schema alike.

    Returns frames by shot number, problems, notes and hints (``shot 2: use --fit``).
    The fit is the shot's own, else ``fit``, else ``file_fit``.
    """
    frames: dict[int, StartingFrame] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    hints: list[str] = []
    for shot in shots:
        if shot.image is None:
            continue
        chosen = shot.fit or fit or file_fit
        try:
            prepared = prepare_starting_frame(
                shot.image,
                fit=chosen,
                bucket_owner=shot.bucket_owner,
                field=f"shots[{shot.number}].image",
                rules=rules,
            )
        except InvalidRequestError as exc:
            problems.extend(exc.problems)
            if exc.hint:
                hints.append(f"shot {shot.number}: {exc.hint}")
            continue
        frames[shot.number] = prepared.frame
        notes.extend(f"shot {shot.number}: {note}" for note in prepared.notes)
    return frames, problems, notes, hints


def _read(path: Path) -> Any:
    """Parse YAML or JSON; raise InvalidRequestError with line and column on bad syntax.

    ``.json`` files are parsed as JSON (better messages for JSON mistakes); anything
    else as YAML, which also reads JSON.
    """
    return parse_json_or_yaml(read_input_text(path, "storyboard"), path, "storyboard")


_ALLOWED = {
    "shot": sorted(StoryboardShot.model_fields),
    "file": sorted(StoryboardFile.model_fields),
}


def _field_name(loc: tuple[int | str, ...]) -> str:
    """pydantic's location as a field path with 1-based shot numbers: shots[2].text."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item + 1}]")
        else:
            parts.append(f".{item}" if parts else item)
    return "".join(parts) or "storyboard"


def _translate(error: Any) -> Problem:
    """One pydantic error as a Problem a person can act on."""
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    name = _field_name(loc)
    key = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        allowed = _ALLOWED["shot"] if any(isinstance(x, int) for x in loc) else _ALLOWED["file"]
        guess = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f"; did you mean {guess[0]!r}?" if guess else ""
        return Problem(
            name,
            f"unknown key {key!r}{suggestion} (allowed: {', '.join(allowed)})",
            value=key,
            limit=", ".join(allowed),
        )
    if kind == "missing":
        return Problem(name, "is required", limit="required")
    if kind == "string_too_long":
        return Problem(
            name,
            f"is {len(value)} characters; the limit is {ctx.get('max_length')}",
            value=value,
            limit=f"1-{ctx.get('max_length')} characters",
        )
    if kind == "string_too_short":
        return Problem(name, "must not be empty", value=value, limit="at least 1 character")
    if kind in ("too_short", "too_long") and name == "shots":
        count = len(value) if isinstance(value, list) else value
        return Problem(
            "shots",
            f"{count} shot{'s' if count != 1 else ''}; a manual storyboard needs "
            f"{MIN_SHOTS}-{MAX_SHOTS}",
            value=count,
            limit=f"{MIN_SHOTS}-{MAX_SHOTS} shots",
        )
    if kind == "literal_error":
        expected = str(ctx.get("expected"))
        return Problem(name, f"{value!r} is not one of {expected}", value=value, limit=expected)
    if key == "seed":
        seed_range = f"{MIN_SEED}-{MAX_SEED:,}"
        return Problem(
            name,
            f"{value} is out of range {seed_range}"
            if type(value) is int
            else f"{value!r} is not an integer in {seed_range}",
            value=value,
            limit=f"{MIN_SEED}-{MAX_SEED}",
        )
    message = error["msg"][:1].lower() + error["msg"][1:]
    if isinstance(value, str | int | float):  # say which value, as every message does
        message = f"{value!r}: {message}"
    return Problem(name, message, value=value)


def _validate(data: Any) -> tuple[StoryboardFile | None, list[Problem]]:
    """Validate the parsed document in whichever form it has; all errors at once."""
    if isinstance(data, list):
        data = {"shots": data}
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        return None, [
            Problem(
                "storyboard",
                f"must be a list of shots or a mapping with a 'shots' list, not {kind}",
            )
        ]
    try:
        return StoryboardFile.model_validate(data), []
    except ValidationError as exc:
        return None, [_translate(error) for error in exc.errors()]


def _resolve(shots: list[StoryboardShot], base: Path) -> list[ResolvedShot]:
    resolved = []
    for number, shot in enumerate(shots, start=1):
        image = shot.image
        if image is not None and not image.startswith("s3://"):
            candidate = Path(image).expanduser()
            image = str(candidate if candidate.is_absolute() else base / candidate)
        resolved.append(
            ResolvedShot(
                number=number,
                text=shot.text,
                image=image,
                fit=shot.fit,
                bucket_owner=shot.bucket_owner,
            )
        )
    return resolved


@dataclass(frozen=True)
class ParsedStoryboard:
    """A storyboard file read and checked against its schema, whether or not it passed.

    ``file`` is the validated document (None when the schema refused it: ``problems``
    says why). ``shots`` are every shot the document lists, images resolved against its
    folder, read as far as they can be from a refused document too (a shot that is not
    a mapping counts, without text or image), so that its images are still checked and
    its shots counted: every problem of the file at once.
    """

    path: Path
    file: StoryboardFile | None
    shots: list[ResolvedShot]
    problems: list[Problem]
    raw: Any = None

    @property
    def valid(self) -> bool:
        return self.file is not None

    @property
    def model_id(self) -> str | None:
        """The file's model (as written; a refused file's only when it is a string)."""
        if self.file is not None:
            return self.file.model_id
        named = self.raw.get("model_id") if isinstance(self.raw, dict) else None
        return named if isinstance(named, str) and named else None

    @property
    def seed(self) -> int | None:
        """The file's seed (a refused file's only when it is an integer)."""
        if self.file is not None:
            return self.file.seed
        seed = self.raw.get("seed") if isinstance(self.raw, dict) else None
        return seed if type(seed) is int else None

    @property
    def fit(self) -> FitMode | None:
        """The file's default fit (a refused file's only when it is a fit mode)."""
        if self.file is not None:
            return self.file.fit
        fit = self.raw.get("fit") if isinstance(self.raw, dict) else None
        return fit if fit in _FITS else None


_FITS = ("crop", "pad", "stretch")


def _raw_shots(data: Any, base: Path) -> list[ResolvedShot]:
    """Every shot of a document that failed validation, as far as it can be read."""
    listed = data.get("shots") if isinstance(data, dict) else data
    resolved = []
    for number, item in enumerate(listed if isinstance(listed, list) else [], start=1):
        item = item if isinstance(item, dict) else {}
        image, fit, owner, text = (item.get(k) for k in ("image", "fit", "bucket_owner", "text"))
        image = image if isinstance(image, str) and image else None
        resolved.append(
            ResolvedShot(
                number=number,
                text=text if isinstance(text, str) else "",
                image=_resolve([StoryboardShot(text="x", image=image)], base)[0].image,
                fit=fit if fit in _FITS else None,
                bucket_owner=owner if isinstance(owner, str) else None,
            )
        )
    return resolved


def parse_storyboard(path: str | os.PathLike[str]) -> ParsedStoryboard:
    """Read a storyboard file and check it against its schema, collecting every schema
    problem. Raises :class:`InvalidRequestError` only when the file cannot be read or
    parsed (nothing past a syntax error can be known)."""
    source = Path(path).expanduser()
    data = _read(source)
    model, problems = _validate(data)
    base = source.resolve().parent
    if model is None:
        return ParsedStoryboard(source, None, _raw_shots(data, base), problems, data)
    return ParsedStoryboard(source, model, _resolve(model.shots, base), [], data)


def load_storyboard(path: str | os.PathLike[str]) -> Storyboard:
    """Parse and schema-check a storyboard file (images are read later, by
    :meth:`Storyboard.prepare`). Raises :class:`InvalidRequestError` with every schema
    problem at once."""
    parsed = parse_storyboard(path)
    if parsed.file is None:
        hint = f"Run: novareel storyboard check {parsed.path}"
        raise InvalidRequestError(parsed.problems, hint=hint)
    return Storyboard(path=parsed.path, file=parsed.file, shots=parsed.shots)


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class StoryboardReport:
    """Everything ``novareel storyboard check`` says about a file."""

    path: str
    problems: list[Problem]
    notes: list[str]
    hints: list[str]
    shots: int
    images: int
    duration_seconds: int
    #: what ``generate`` would pay for this file on this model (None: an unknown model)
    estimated_cost_usd: float | None
    #: the seed sent (None for a model that takes none, such as Luma Ray 2)
    seed: int | None
    model_id: str
    #: False when the file could not be read or parsed: the counts and the cost are
    #: then unknown (None in JSON), not zero.
    readable: bool = True
    #: how many jobs ``generate`` would send: 1 (a multi-shot job), or one per shot on
    #: a model without multi-shot
    jobs: int = 1
    per_shot: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        known = self.readable
        return {
            "path": self.path,
            "ok": self.ok,
            "readable": self.readable,
            "shots": self.shots if known else None,
            "images": self.images if known else None,
            "duration_seconds": self.duration_seconds if known else None,
            "estimated_cost_usd": self.estimated_cost_usd if known else None,
            "seed": self.seed,
            "model_id": self.model_id,
            "jobs": self.jobs if known else None,
            "per_shot": self.per_shot,
            "problems": [p.to_dict() for p in self.problems],
            "hints": self.hints,
            "notes": self.notes,
        }


_SHOT_FIELD = re.compile(r"^shots\[(\d+)\]\.?(.*)$")


def shot_label(problem: Problem) -> str:
    """A problem as a person reads it: ``shot 2, image: is 1920x1080 pixels...``."""
    match = _SHOT_FIELD.match(problem.field)
    if match:
        rest = f", {match.group(2)}" if match.group(2) else ""
        return f"shot {match.group(1)}{rest}: {problem.message}"
    return str(problem)


def shot_order(problem: Problem) -> tuple[int, str]:
    """File-level problems first, then by shot number (stable within a shot)."""
    match = _SHOT_FIELD.match(problem.field)
    return (int(match.group(1)) if match else 0, "")


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    print(write_storyboard_schema())
