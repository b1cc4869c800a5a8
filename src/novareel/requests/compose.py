"""A person's request, in their own terms, turned into checked video requests: once.

``novareel generate``, a batch file's item and the MCP server's ``generate_video`` all
take the same things: a prompt, a task, a duration, images as paths or ``s3://`` URIs
with a fit mode, shots (texts, or text + image), a storyboard file, a seed, a model,
looks (aspect ratio, resolution, loop). :class:`RequestSpec` holds them as typed
(paths, not bytes) and :func:`compose_requests` does every step to checked
:class:`~novareel.models.VideoRequest` objects, so the steps and their messages exist
once:

1. the fit mode (:func:`novareel.media.images.fit_problem`, the one check of it);
2. the storyboard file, read (relative paths against ``base``);
3. the model (the spec's, else the storyboard's, else the person's default:
   ``NOVAREEL_MODEL`` or ``[defaults]`` in config.toml, :mod:`novareel.settings.defaults`),
   the default's usual options for the options left out, and its frame rules for the
   chosen looks;
4. each image, read and checked (or fitted) to those rules; a failed image is replaced
   by a stand-in so the request's other rules are still checked in the same run;
5. the request: one per shot for shots on a model without multi-shot, else one;
6. the notices a person should read before paying: what was done to each image, the
   model's lifecycle, the family's note on its image input, prompt advice.

Nothing stops at the first problem: every one is collected in
:attr:`Composed.problems`, named by the spec's fields (``image``, ``shots[2].image``,
``fit``, ``duration``...), so the command line can name its flags and a batch file can
prefix ``items[3].``. Nothing is sent and nothing is printed here.

:func:`request_notices` and :func:`model_notices` live here (below ``jobs``, which
re-exports them), so the builder's notices and the submit's are the same words.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

from novareel.foundation.errors import ImageError, InvalidRequestError, Problem
from novareel.media.images import fit_problem, prepare_starting_frame
from novareel.models import (
    FrameRules,
    GenerateOptions,
    Model,
    Shot,
    StartingFrame,
    VideoRequest,
    build_request,
    build_shot_requests,
    find_model,
    get_model,
    lifecycle_notice,
    request_options,
)
from novareel.models.base import MAGIC
from novareel.models.options import as_declared
from novareel.requests.prompting import prompt_warnings
from novareel.settings.defaults import ModelDefault, read_defaults

if TYPE_CHECKING:
    from novareel.media.images import FitMode
    from novareel.requests.storyboard import ParsedStoryboard, StoryboardReport

__all__ = [
    "Composed",
    "Locate",
    "RequestSpec",
    "ShotSpec",
    "check_storyboard",
    "compose_requests",
    "model_notices",
    "request_notices",
]

#: ``locate(value, field) -> path``: how a caller confines or rewrites a local path
#: (the MCP server keeps every file inside its root); raises InvalidRequestError.
Locate = Callable[[str, str], str]


@dataclass(frozen=True)
class ShotSpec:
    """One shot given inline: its text and, optionally, its first frame (a path or an
    ``s3://`` URI), with a fit mode and bucket owner of its own."""

    text: str
    image: str | None = None
    fit: str | None = None
    bucket_owner: str | None = None


class RequestSpec:
    """What a person asks for, as typed: every option of ``novareel generate`` that
    shapes the video (not where it goes or how it is sent), the one spec type of every
    door (the MCP server's :class:`~novareel.mcp_server.specs.VideoSpec` adds only
    where the video goes).

    The options every family shares are attributes (``prompt``, ``model_id``,
    ``image``, ``fit``, ``bucket_owner``, ``shots``, ``storyboard``); a family's own
    options (``duration``, ``seed``, ``aspect_ratio``, ``loop``, a new family's new
    option...) are keywords checked against the registered families' declarations
    (:func:`novareel.models.request_options`) and kept in :attr:`options`, readable as
    attributes too (``spec.duration``; None when not given). So an option a family
    declares is taken here with no edit to this class.

    ``fit`` applies to every image without a fit of its own; ``bucket_owner`` to an
    ``s3://`` starting ``image``. ``shots`` and ``storyboard`` exclude each other.
    """

    __slots__ = (
        "bucket_owner",
        "fit",
        "image",
        "model_id",
        "options",
        "prompt",
        "shots",
        "storyboard",
    )

    prompt: str | None
    model_id: str | None
    image: str | None
    fit: str | None
    bucket_owner: str | None
    shots: Sequence[ShotSpec | str] | None
    storyboard: str | os.PathLike[str] | None
    #: every family option given, by its declared name (None values left out)
    options: Mapping[str, Any]

    def __init__(
        self,
        prompt: str | None = None,
        *,
        model_id: str | None = None,
        image: str | None = None,
        fit: str | None = None,
        bucket_owner: str | None = None,
        shots: Sequence[ShotSpec | str] | None = None,
        storyboard: str | os.PathLike[str] | None = None,
        options: Mapping[str, Any] | None = None,
        **family_options: Any,
    ) -> None:
        values = {**(options or {}), **family_options}
        declared = _family_option_names()
        unknown = [name for name in values if name not in declared]
        if unknown:
            raise TypeError(
                f"RequestSpec got no declared option {', '.join(map(repr, unknown))} "
                f"(declared: {', '.join(sorted(declared))})"
            )
        setter = object.__setattr__
        setter(self, "prompt", prompt)
        setter(self, "model_id", model_id)
        setter(self, "image", image)
        setter(self, "fit", fit)
        setter(self, "bucket_owner", bucket_owner)
        setter(self, "shots", shots)
        setter(self, "storyboard", storyboard)
        setter(self, "options", {k: v for k, v in values.items() if v is not None})

    def __getattr__(self, name: str) -> Any:
        """A family option by name (``spec.duration``): its value, None when not given."""
        if not name.startswith("_") and name in _family_option_names():
            return self.options.get(name)
        raise AttributeError(f"{type(self).__name__!r} has no option {name!r}")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen; use replace()")

    def _fields(self) -> dict[str, Any]:
        shared = {name: getattr(self, name) for name in _SHARED_FIELDS}
        return {**shared, **self.options}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in self._fields().items() if v is not None)
        return f"{type(self).__name__}({given})"

    def value(self, name: str) -> Any:
        """Any option's value by its declared name (shared or a family's)."""
        if name in _SHARED_FIELDS:
            return getattr(self, name)
        return self.options.get(name)

    @classmethod
    def from_keys(cls, values: Mapping[str, Any], **more: Any) -> Self:
        """A spec from options keyed as batch files and the MCP server spell them (each
        declaration's ``file_key``); ``more`` are the subclass's own fields."""
        by_key = {o.file_key: o for o in request_options()}
        shared: dict[str, Any] = {}
        family: dict[str, Any] = {}
        for key, value in values.items():
            option = by_key.get(key)
            if option is None:
                raise TypeError(f"{key!r} is not a declared option")
            (shared if option.name in _SHARED_FIELDS else family)[option.name] = value
        return cls(**shared, **more, options=family)

    def replace(self, **changes: Any) -> RequestSpec:
        """A copy with some options changed (a family option set to None is unset)."""
        return type(self)(**{**self._fields(), **changes})


#: RequestSpec's attributes: the options every family shares (``models.base``).
_SHARED_FIELDS = ("prompt", "model_id", "image", "fit", "bucket_owner", "shots", "storyboard")


def _family_option_names() -> set[str]:
    """The options RequestSpec takes as keywords: every registered declaration but the
    shared ones (its attributes)."""
    return {o.name for o in request_options()} - set(_SHARED_FIELDS)


@dataclass(frozen=True)
class Composed:
    """The checked requests of one :class:`RequestSpec`, or every reason they are not.

    ``model`` is None only when the model (or the storyboard) could not be read, and
    then ``requests`` is empty. ``requests`` may be non-empty while ``problems`` is
    not (built on stand-ins for images that failed): a dry run shows them, nothing
    may send them. ``per_shot`` is True for shots on a model without multi-shot (one
    job per shot). ``image_only`` says every problem is an image's (the CLI reports an
    :class:`~novareel.foundation.errors.ImageError` then).
    """

    model: Model | None
    requests: tuple[VideoRequest, ...]
    notices: tuple[str, ...]
    problems: tuple[Problem, ...]
    hints: tuple[str, ...] = ()
    per_shot: bool = False
    image_only: bool = False
    #: the storyboard file that was read, when the spec names one
    storyboard: Path | None = None
    #: the default that chose the model when the spec and its storyboard name none
    #: (its ``source``: ``NOVAREEL_MODEL``, ``<config.toml> [defaults]``, ``built-in``);
    #: None when the model was named
    chosen_by: ModelDefault | None = None
    #: the options filled from ``[defaults]`` (the spec left them out), by name
    defaulted: tuple[str, ...] = ()
    #: the storyboard file as read (its schema's verdict, its shots), when it could be
    board: ParsedStoryboard | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.model is not None

    def error(self) -> InvalidRequestError | None:
        """One error with every problem and hint (None when there is none)."""
        if not self.problems:
            return None
        kind = ImageError if self.image_only else InvalidRequestError
        return kind(list(self.problems), hint=" ".join(self.hints) or None)

    def raise_if_problems(self) -> None:
        error = self.error()
        if error is not None:
            raise error


class _Found:
    """Problems and hints gathered in order, each (field, message) once."""

    def __init__(self, storyboard_field: str | None) -> None:
        self.problems: list[Problem] = []
        self.hints: list[str] = []
        self.image_only = True
        self.board_field = storyboard_field

    def add(self, error: InvalidRequestError | Problem, *, board: bool = False) -> None:
        if isinstance(error, Problem):
            problems, hint = [error], None
            self.image_only = False
        else:
            problems, hint = list(error.problems), error.hint
            self.image_only = self.image_only and isinstance(error, ImageError)
        if board and self.board_field:
            problems = [_under(self.board_field, p) for p in problems]
        seen = {(p.field, p.message) for p in self.problems}
        self.problems.extend(p for p in problems if (p.field, p.message) not in seen)
        if hint and hint not in self.hints:
            self.hints.append(hint)


def _under(prefix: str, problem: Problem) -> Problem:
    return Problem(
        f"{prefix}.{problem.field}", problem.message, value=problem.value, limit=problem.limit
    )


def _resolve(value: str, base: Path | None) -> str:
    """A path as typed, or joined to ``base`` when relative; ``s3://`` URIs as given."""
    if base is None or value.startswith("s3://"):
        return value
    candidate = Path(value).expanduser()
    return str(candidate if candidate.is_absolute() else base / candidate)


def _stand_in(source: str) -> StartingFrame:
    """A placeholder for an image that failed (its problems are collected already), so
    the request's other rules are still checked in the same run: an image on a task
    that takes none, a duration, a seed."""
    return StartingFrame(format="png", data=MAGIC["png"], source=source)


def _fit(value: str | None, field: str, found: _Found) -> FitMode | None:
    """The fit mode to use, or None after reporting an unknown one."""
    problem = fit_problem(value, field)
    if problem is not None:
        found.add(problem)
        return None
    return cast("FitMode | None", value)


#: The options :class:`GenerateOptions` has a field for (any other goes in its ``extra``).
_GENERATE_FIELDS = frozenset(f.name for f in fields(GenerateOptions)) - {"extra"}


def compose_requests(
    spec: RequestSpec,
    *,
    base: str | os.PathLike[str] | None = None,
    locate: Locate | None = None,
    lifecycle: bool = True,
    record_fit: bool = False,
    storyboard_field: str | None = None,
    defaults: ModelDefault | None = None,
) -> Composed:
    """Every checked request of ``spec``, with its notices and all its problems.

    ``base`` is the folder relative paths (images, the storyboard) are read from (a
    batch file's folder); None reads them as typed (from the current folder).
    ``locate`` sees each local path after that (the MCP server confines them to its
    root) and may refuse one. ``lifecycle=False`` leaves the model's lifecycle notice
    out (a batch says it once per model, not once per item). ``record_fit`` records
    the fit mode on every local frame read with one, even one that needed no
    conversion (a batch's content hashes have always included it).
    ``storyboard_field`` prefixes the storyboard's own problems (``storyboard`` in a
    batch file: ``items[3].storyboard.shots[2].image``); None keeps them as the
    storyboard names them (``shots[2].image``). ``defaults`` is the person's default
    model and its usual options (:func:`novareel.settings.defaults.read_defaults` when None):
    the model when neither the spec nor its storyboard names one, and the options a
    request on that model leaves out; a problem with a filled option names the
    config file's key, not a flag the person never typed.
    """
    folder = Path(base) if base is not None else None
    found = _Found(storyboard_field)
    notices: list[str] = []

    def where(value: str, field: str) -> str | None:
        path = _resolve(value, folder)
        if locate is None or path.startswith("s3://"):
            return path
        try:
            return locate(path, field)
        except InvalidRequestError as exc:
            found.add(exc)
            return None

    fit = _fit(spec.fit, "fit", found)

    board: ParsedStoryboard | None = None
    board_path: Path | None = None
    if spec.storyboard is not None:
        if spec.shots:
            found.add(
                Problem("shots", "give shots or a storyboard, not both", value=len(spec.shots))
            )
        from novareel.requests.storyboard import parse_storyboard

        located = where(os.fspath(spec.storyboard), "storyboard")
        if located is not None:
            board_path = Path(located)
            try:
                board = parse_storyboard(board_path)
            except InvalidRequestError as exc:  # unreadable: nothing more can be known
                found.add(exc, board=True)
            else:
                if board.problems:  # its schema's: its images are still read below
                    schema = InvalidRequestError(board.problems, hint=_check_hint(board))
                    found.add(schema, board=True)
    model = None
    named = spec.model_id or (board.model_id if board else None)
    try:
        if defaults is None:
            defaults = read_defaults()
        model = get_model(named or defaults.model_id)
    except InvalidRequestError as exc:
        found.add(exc)
    source = None if named else defaults
    if model is None or defaults is None or (spec.storyboard is not None and board is None):
        # Without the model, or a storyboard that cannot be read at all, the request
        # itself cannot be checked: what was found so far is the answer.
        return _composed(model, [], notices, found, False, board_path, source, board=board)
    given, filled = _with_defaults(spec, board, model, defaults)
    usual_fit = defaults.options_for(model.model_id).get("fit")
    if spec.fit is None and usual_fit and not (board is not None and board.fit):
        fit, filled = cast("FitMode", usual_fit), (*filled, "fit")
    # The family options as declared: images are read below (to the rules the other
    # options give); the built-in ones fill GenerateOptions' fields, any other (a new
    # family's own) goes in ``extra``, by name.
    declared = {o.name: o for o in request_options()}
    typed: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    images: dict[str, str] = {}
    for name, value in given.items():
        option = declared[name]
        if not option.given(value):
            continue
        if option.kind == "image":
            images[name] = value
        else:
            (typed if name in _GENERATE_FIELDS else extra)[name] = value
    rules = model.family.frame_rules_for(GenerateOptions(**typed, extra=extra))

    def frame(value: str, field: str, fit: FitMode | None, owner: str | None) -> StartingFrame:
        """One image read to the model's rules; its notes named by its field."""
        path = where(value, field)
        if path is None:
            return _stand_in(value)
        try:
            prepared = prepare_starting_frame(
                path, fit=fit, bucket_owner=owner, field=field, rules=rules
            )
        except InvalidRequestError as exc:
            found.add(exc)
            return _stand_in(path)
        notices.extend(prepared.frame.notes)  # "image: cropped ...", as submit says it
        if record_fit and fit and prepared.frame.data is not None:
            # Recorded so that a retry rebuilds exactly these bytes (novareel.running.replay).
            return replace(prepared.frame, fit=fit)
        return prepared.frame

    image = frame(spec.image, "image", fit, spec.bucket_owner) if spec.image else None
    for name, value in images.items():  # the family's other images (Ray 2's end frame)
        (typed if name in _GENERATE_FIELDS else extra)[name] = frame(value, name, fit, None)

    seed = given.get("seed")
    shots: list[Shot] | None = None
    if board is not None:
        shots, seed = _board_shots(board, spec, fit, rules, where, found, notices)
    elif spec.shots:
        shots = []
        for number, item in enumerate(spec.shots, start=1):
            shot = ShotSpec(item) if isinstance(item, str) else item
            named = f"shots[{number}]"
            shot_fit = fit if shot.fit is None else _fit(shot.fit, f"{named}.fit", found)
            shot_frame = None
            if shot.image is not None:
                shot_frame = frame(shot.image, f"{named}.image", shot_fit, shot.bucket_owner)
            shots.append(Shot(shot.text, shot_frame))

    if seed is not None:  # the spec's, else the storyboard's
        typed["seed"] = seed
    options = GenerateOptions(
        prompt=spec.prompt,
        model_id=model.model_id,
        image=image,
        shots=shots,
        extra=extra,
        **typed,
    )
    # One resolver per model for every combination, so contradictions (a prompt with a
    # storyboard, TEXT_VIDEO with 12 s, a seed on Luma Ray 2) read the same everywhere.
    per_shot = bool(shots) and not model.family.multi_shot
    requests: list[VideoRequest] = []
    try:
        # (a refused file with no shot at all has no request to check: its schema said
        # what to fix)
        if board is None or board.shots:
            requests = build_shot_requests(options) if per_shot else [build_request(options)]
    except InvalidRequestError as exc:
        if board is None:
            found.add(exc)
        else:  # a shot's problem is the storyboard file's (``storyboard.shots[2].text``)
            in_file = [p for p in exc.problems if p.field.startswith("shots")]
            rest = [p for p in exc.problems if not p.field.startswith("shots")]
            if rest:
                found.add(type(exc)(rest, hint=exc.hint))
            if in_file and board.valid:  # a refused file's shots: its schema named them
                found.add(InvalidRequestError(in_file), board=True)
    if board is not None and not board.valid:
        # A file its schema refused is still read to the end (its images, and the
        # request's rules on everything else: a seed, a duration, the model), so every
        # problem comes at once; what was built from it is never shown or priced.
        requests, per_shot = [], False
    notices.extend(model_notices(model, requests, lifecycle=lifecycle))
    if filled:
        found.problems = _from_defaults(found.problems, filled, declared, defaults)
    return _composed(
        model, requests, notices, found, per_shot, board_path, source, filled, board=board
    )


def _with_defaults(
    spec: RequestSpec, board: ParsedStoryboard | None, model: Model, defaults: ModelDefault
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The spec's family options with the default's usual options for ``model``
    filled in where the spec (or its storyboard file: its ``seed``) gives none, and
    the names filled."""
    declared = {o.name: o for o in request_options()}
    given = dict(spec.options)
    filled: list[str] = []
    for name, value in defaults.options_for(model.model_id).items():
        if name == "fit" or declared[name].given(given.get(name)):
            continue  # fit is the spec's own attribute (see compose_requests)
        if board is not None and getattr(board.file, name, None) is not None:
            continue
        given[name] = value
        filled.append(name)
    return given, tuple(filled)


def _from_defaults(
    problems: list[Problem],
    filled: tuple[str, ...],
    declared: dict[str, Any],
    defaults: ModelDefault,
) -> list[Problem]:
    """Problems about an option filled from ``[defaults]`` named by the file's key
    (``~/.novareel/config.toml [defaults] duration``): the person typed no flag."""
    names: dict[str, str] = {}
    for name in filled:
        option = declared[name]
        for alias in (name, *option.fields):
            names[alias] = option.file_key
    return [
        Problem(
            f"{defaults.table_source} {names[p.field]}", p.message, value=p.value, limit=p.limit
        )
        if p.field in names
        else p
        for p in problems
    ]


def _check_hint(board: ParsedStoryboard) -> str:
    return f"Run: novareel storyboard check {board.path}"


def _board_shots(
    board: ParsedStoryboard,
    spec: RequestSpec,
    fit: FitMode | None,
    rules: FrameRules,
    where: Callable[[str, str], str | None],
    found: _Found,
    notices: list[str],
) -> tuple[list[Shot], int | None]:
    """A storyboard's shots with their images read to the model's rules (stand-ins
    where one failed, its problems named by the file: ``shots[2].image``), and the
    seed (the spec's, else the file's). A file its schema refused is read the same
    way, so its images' problems come with its schema's."""
    refused = False
    for shot in board.shots:
        if shot.image is not None and not shot.image.startswith("s3://"):
            # Asked before any image is read: a caller's confinement comes first.
            refused = where(shot.image, f"shots[{shot.number}].image") is None or refused
    frames: dict[int, StartingFrame] = {}
    if not refused:
        from novareel.requests.storyboard import read_shot_images

        frames, problems, _notes, hints = read_shot_images(
            board.shots, fit=fit, file_fit=board.fit, rules=rules
        )
        hint = " ".join([*hints, _check_hint(board)]) if problems else None
        if problems:
            found.add(InvalidRequestError(problems, hint=hint), board=True)
        # Each frame's own notes ("shots[2].image: ..."), the words a submit repeats.
        notices.extend(n for number in sorted(frames) for n in frames[number].notes)
    shots = [
        Shot(s.text, frames.get(s.number) or (_stand_in(s.image) if s.image else None))
        for s in board.shots
    ]
    seed = spec.options.get("seed")
    return shots, seed if seed is not None else board.seed


def _composed(
    model: Model | None,
    requests: list[VideoRequest],
    notices: list[str],
    found: _Found,
    per_shot: bool,
    board_path: Path | None,
    source: ModelDefault | None = None,
    filled: tuple[str, ...] = (),
    *,
    board: ParsedStoryboard | None = None,
) -> Composed:
    return Composed(
        model=model,
        requests=tuple(requests),
        notices=tuple(dict.fromkeys(notices)),
        # each problem by the option's own name (``duration``, as RequestSpec takes it),
        # from which a door derives its spelling (``--duration``, ``items[3].duration``)
        problems=tuple(as_declared(found.problems, request_options())),
        hints=tuple(found.hints),
        per_shot=per_shot,
        image_only=bool(found.problems) and found.image_only,
        storyboard=board_path,
        chosen_by=source,
        defaulted=filled,
        board=board,
    )


# ------------------------------------------------------------------ storyboard check


def check_storyboard(
    path: str | os.PathLike[str],
    *,
    model_id: str | None = None,
    options: Mapping[str, Any] | None = None,
    defaults: ModelDefault | None = None,
    locate: Locate | None = None,
) -> StoryboardReport:
    """Everything ``novareel storyboard check`` (and the MCP ``check_storyboard``
    tool) says about a storyboard file, collected instead of raised: its problems are
    :func:`compose_requests`'s for ``generate --storyboard FILE`` with the same model
    and options (``options``: ``duration``, ``resolution``, ``seed``... by their
    declared names), so every door names the same problems; the duration and price are
    the jobs' that ``generate`` would send (one job per shot on a model without
    multi-shot), or, when the request is refused, what it would cost once fixed.

    The model is ``model_id``, else the file's, else the person's default
    (:func:`novareel.settings.defaults.read_defaults`, or ``defaults``). ``locate`` is
    :func:`compose_requests`'s (the MCP server confines every path to its root).
    """
    from novareel.requests.storyboard import StoryboardReport, shot_order

    source = Path(path).expanduser()
    spec = RequestSpec(model_id=model_id, storyboard=source, options=options)
    built = compose_requests(spec, defaults=defaults, locate=locate)
    board = built.board
    hints = [h for h in built.hints if not h.startswith("Run: novareel storyboard check")]
    problems = sorted(built.problems, key=shot_order)
    model = built.model
    chosen = model.model_id if model is not None else (model_id or (board and board.model_id))
    if board is None:  # unreadable: no shot count, no cost, only what to fix first
        return StoryboardReport(
            str(source), problems, [], hints, 0, 0, 0, None, None, str(chosen or ""),
            readable=False, per_shot=model is not None and not model.family.multi_shot,
        )  # fmt: skip
    requests = list(built.requests)
    if not requests and model is not None and board.valid:
        requests = _priced_if_fixed(spec, built, defaults, locate)
    multi_shot = model is None or model.family.multi_shot
    seed = spec.value("seed") if spec.value("seed") is not None else board.seed
    if requests:
        duration = sum(r.duration_seconds for r in requests)
        cost: float | None = round(sum(r.estimated_cost_usd for r in requests), 2)
        seed = requests[0].seed
    else:
        from novareel.models import estimate_cost_usd
        from novareel.models.nova_reel import SHOT_SECONDS

        duration = SHOT_SECONDS * len(board.shots)
        cost = estimate_cost_usd(model.model_id, duration) if model is not None else None
    if not multi_shot and not requests:
        seed = None  # a model without multi-shot takes no seed (a given one is refused)
    if multi_shot and seed is None and model is not None:
        from novareel.models.nova_reel import DEFAULT_SEED

        seed = DEFAULT_SEED
    return StoryboardReport(
        path=str(source),
        problems=problems,
        notes=list(built.notices),
        hints=hints,
        shots=len(board.shots),
        images=sum(1 for s in board.shots if s.image),
        duration_seconds=duration,
        estimated_cost_usd=cost,
        seed=seed,
        model_id=str(chosen or ""),
        jobs=len(requests) if requests else (1 if multi_shot else len(board.shots)),
        per_shot=not multi_shot,
    )


def _priced_if_fixed(
    spec: RequestSpec, built: Composed, defaults: ModelDefault | None, locate: Locate | None
) -> list[VideoRequest]:
    """The jobs once the refused options are left out (their defaults apply), for the
    report's "if fixed" duration and price; none when that does not build either."""
    named = {p.field for p in built.problems}
    refused = {
        o.name: None
        for o in request_options()
        if o.name in spec.options and ({o.name, *o.fields} & named)
    }
    if not refused:
        return []
    again = compose_requests(spec.replace(**refused), defaults=defaults, locate=locate)
    return list(again.requests) if again.ok else []


# ---------------------------------------------------------------------------- notices


def request_notices(request: VideoRequest, *, lifecycle: bool = True) -> list[str]:
    """What to tell a person about a request before it is sent: the model's lifecycle
    (Legacy, past end of life; left out with ``lifecycle=False``, as a batch says it
    once per model), the family's note on an undocumented image input, what was done
    to its images (each frame's notes) and advice on the prompt and shots (negations,
    camera words).

    Never blocks; the same text is said once however many prompts repeat it.
    """
    notices: list[str] = []
    model = find_model(request.model_id)
    if model is not None and lifecycle:
        said = lifecycle_notice(model)
        if said:
            notices.append(said)
    image_notice = getattr(model.family, "image_notice", None) if model else None
    if image_notice and request.frames:  # a family whose image input is undocumented
        notices.append(image_notice)
    for frame in request.frames:  # what was done to each image (novareel.media.images says it)
        notices.extend(frame.notes)
    texts = [getattr(request, "prompt", None)]
    texts += [getattr(shot, "text", None) for shot in getattr(request, "shots", None) or ()]
    for text in texts:
        if isinstance(text, str) and text:
            notices.extend(prompt_warnings(text))
    return list(dict.fromkeys(notices))


def model_notices(
    model: Model, requests: Sequence[VideoRequest], *, lifecycle: bool = True
) -> list[str]:
    """What to say about a command's jobs on one model before any money or time is
    spent: the model's lifecycle once (unless ``lifecycle=False``), the undocumented
    image input of a family that has one, and each request's prompt advice
    (:func:`request_notices`)."""
    notices: list[str] = []
    said = lifecycle_notice(model) if lifecycle else None
    if said:
        notices.append(said)
    image_notice = getattr(model.family, "image_notice", None)
    if image_notice and any(getattr(r, "frames", None) for r in requests):
        notices.append(image_notice)
    for request in requests:
        notices.extend(request_notices(request, lifecycle=False))
    return list(dict.fromkeys(notices))
