"""What every video model family answers, and the pieces they share. No I/O.

A *family* (Nova Reel, Luma Ray) is one module in :mod:`novareel.models`; it owns its
ids and aliases, regions, lifecycle facts, request types and their validation, the
``modelInput`` builder, its price table, how long its jobs are expected to take, what
its output folder holds and how to read a failure. The rest of novareel (jobs, batch,
replay, the CLI) asks the family through :class:`ModelFamily` instead of knowing
Nova Reel, so a third model is one new module plus its emulator renderer.

Why facts are data and not code: lifecycle dates and prices change while a release is
in users' hands. They live in one :class:`ModelInfo` per model id, each with the
source it was taken from, and ``novareel models`` joins them with what the account's
control plane says at run time (which wins when reachable).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from novareel.foundation.errors import ImageError, InvalidRequestError, Problem
from novareel.foundation.frame_reader import installed as _installed_reader
from novareel.models.options import Option, OptionKind, is_whole_number

ImageFormat = Literal["png", "jpeg"]

#: File signatures: the format sent must match the bytes (pure check, no decoding).
MAGIC: dict[str, bytes] = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff"}
_Built = TypeVar("_Built")
MODEL_ID_RE = re.compile(r"^[a-zA-Z_.\-/0-9:]{1,256}$")
#: Every family's starting-frame size limit that is known (Nova Reel's 25 MB); used
#: for families that document none, so a huge file never reaches a paid call.
MAX_IMAGE_BYTES = 25_000_000

LifecycleStatus = Literal["ACTIVE", "LEGACY", "EOL"]


@dataclass(frozen=True)
class Lifecycle:
    """A model's lifecycle as published (model card, lifecycle table), with dates.

    ``status_on(day)`` derives the state on a given day from the dates, so a release of
    novareel that ships before a model's end of life still says the right thing after
    it. The account's control plane (GetFoundationModel) is more current and wins when
    it can be asked.
    """

    launched: date | None = None
    legacy_since: date | None = None
    end_of_life: date | None = None
    source: str = ""

    def status_on(self, day: date) -> LifecycleStatus:
        if self.end_of_life is not None and day >= self.end_of_life:
            return "EOL"
        if self.legacy_since is not None and day >= self.legacy_since:
            return "LEGACY"
        return "ACTIVE"


@dataclass(frozen=True)
class VideoShape:
    """The video a request should produce: pixels, frame rate and length."""

    width: int
    height: int
    fps: int
    seconds: int

    @property
    def frames(self) -> int:
        return self.fps * self.seconds

    @property
    def orientation(self) -> str:
        if self.width == self.height:
            return "square"
        return "landscape" if self.width > self.height else "portrait"


@dataclass(frozen=True)
class FrameRules:
    """What a family accepts as an input image (a starting or end frame).

    ``size`` is the exact pixel size the service demands, or None when it documents
    none (then any size is sent as is, and ``--fit`` fits to ``fit_size``).
    ``s3_sources`` says whether an image may be passed by ``s3://`` reference.
    """

    model_name: str
    size: tuple[int, int] | None
    s3_sources: bool = True
    max_bytes: int = MAX_IMAGE_BYTES
    fit_size: tuple[int, int] | None = None

    @property
    def target_size(self) -> tuple[int, int] | None:
        return self.size or self.fit_size


@dataclass(frozen=True)
class ModelInfo:
    """One model id: who makes it, where it runs, its lifecycle and its price.

    ``price_usd_per_second`` maps a resolution (or ``"*"`` when the price does not
    depend on it) to the per-second price. ``concurrency`` is the default number of
    jobs in flight an account gets (uncertain for every model; batches learn the
    real limit from quota errors).
    """

    model_id: str
    family: str
    name: str
    provider: str
    regions: tuple[str, ...]
    lifecycle: Lifecycle
    price_usd_per_second: dict[str, float]
    task_types: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    concurrency: int = 3
    marketplace: bool = False
    price_source: str = ""
    notes: tuple[str, ...] = ()

    @property
    def default_region(self) -> str:
        return self.regions[0]

    def price_for(self, resolution: str | None = None) -> float:
        if resolution is not None and resolution in self.price_usd_per_second:
            return self.price_usd_per_second[resolution]
        if "*" in self.price_usd_per_second:
            return self.price_usd_per_second["*"]
        return max(self.price_usd_per_second.values())

    def cost_usd(self, seconds: int, resolution: str | None = None) -> float:
        """The price of ``seconds`` of video at ``resolution`` (see :meth:`price_for`),
        in dollars and cents: the one price computation every request, the registry's
        :func:`~novareel.models.estimate_cost_usd` and the budget use."""
        return round(self.price_for(resolution) * seconds, 2)

    def price_text(self) -> str:
        prices = self.price_usd_per_second
        if list(prices) == ["*"]:
            return f"${prices['*']:.2f}/s"
        return ", ".join(f"${p:.2f}/s at {k}" for k, p in prices.items())


@dataclass(frozen=True)
class StartingFrame:
    """An image that becomes the first (or last) frame of a shot.

    Either ``data`` (the file's bytes, already checked by :mod:`novareel.media.images`) or
    ``s3_uri`` (an image already in S3, passed by reference, never downloaded) is set.
    ``source`` is what the user named (a path or URI) and ``sha256`` the digest of the
    bytes, so the ledger can record the image without storing it; ``fit`` is the
    conversion applied (crop/pad/stretch), so a retry can rebuild the same bytes.
    The family decides how the image is spelled in its ``modelInput``.

    ``notes`` say what was done to get the image (a renamed file's real format, how it
    was cropped), each named by the image's field (``image: cropped ...``), so they
    reach whoever sends the request (``VideoGenerator.submit``'s notices, a batch, an API
    caller) without being sent, recorded or compared.
    """

    format: ImageFormat
    data: bytes | None = field(default=None, repr=False)
    s3_uri: str | None = None
    bucket_owner: str | None = None
    source: str = ""
    sha256: str | None = None
    fit: str | None = None
    notes: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data or b"").decode("ascii")

    def describe(self) -> dict[str, Any]:
        """The image as recorded and shown: where it came from, never its bytes."""
        info: dict[str, Any] = {"format": self.format}
        if self.s3_uri:
            info["s3_uri"] = self.s3_uri
            if self.bucket_owner:
                info["bucket_owner"] = self.bucket_owner
        else:
            info["path"] = self.source
            info["sha256"] = self.sha256
            info["size"] = len(self.data or b"")
            if self.fit:
                info["fit"] = self.fit
        return info

    def problems(self, field_name: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> list[Problem]:
        """Checks that need no decoding: format spelling, size, and one source only."""
        found: list[Problem] = []
        if self.format not in ("png", "jpeg"):
            found.append(
                Problem(
                    f"{field_name}.format",
                    f"image format must be 'png' or 'jpeg', not {self.format!r}",
                    value=self.format,
                    limit="png | jpeg",
                )
            )
        if (self.data is None) == (self.s3_uri is None):
            found.append(Problem(field_name, "an image needs exactly one of bytes or an s3:// URI"))
        magic = MAGIC.get(self.format)
        if self.data is not None and magic is not None and not self.data.startswith(magic):
            actual = next((f for f, m in MAGIC.items() if self.data.startswith(m)), "unknown")
            found.append(
                Problem(
                    f"{field_name}.format",
                    f"declared {self.format!r} but the bytes are {actual}",
                    value=self.format,
                    limit="format must match the image's real content",
                )
            )
        if self.data is not None and len(self.data) > max_bytes:
            found.append(
                Problem(
                    field_name,
                    f"image is {len(self.data):,} bytes; the limit is {max_bytes:,}",
                    value=len(self.data),
                    limit=f"<= {max_bytes:,} bytes",
                )
            )
        return found


#: An image as a request class takes it: a checked :class:`StartingFrame`, or a path
#: or ``s3://`` URI that the request reads and checks when it is built, as the command
#: line's ``--image`` is read (see :func:`read_image`).
ImageInput = StartingFrame | str | os.PathLike[str]


@dataclass(frozen=True)
class Shot:
    """One shot of a storyboard: its prompt and an optional starting frame (a
    :class:`StartingFrame`, or a path or ``s3://`` URI read when the request is built)."""

    text: str
    image: ImageInput | None = None


def image_label(value: object) -> object:
    """An image as messages show it: the path or URI it came from."""
    if isinstance(value, StartingFrame):
        return value.source or value.s3_uri
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def read_image(
    value: ImageInput | None,
    field_name: str,
    rules: FrameRules,
    errors: list[InvalidRequestError],
) -> StartingFrame | None:
    """An image given to a request class, as the :class:`StartingFrame` it stands for.

    A frame (or None) is returned as given. A path or ``s3://`` URI is read and checked
    against the model's ``rules`` by the reader :mod:`novareel.media.images` lends this leaf
    package (:mod:`novareel.foundation.frame_reader`), exactly as ``--image`` is read; what is wrong
    with it goes to ``errors`` (and None is returned), so the request's other rules are
    still checked and every problem is reported at once.
    """
    if value is None or isinstance(value, StartingFrame):
        return value
    if not isinstance(value, (str, os.PathLike)):
        errors.append(
            InvalidRequestError(
                Problem(
                    field_name,
                    f"{type(value).__name__} is not an image; give a path, an s3:// URI "
                    "or a StartingFrame",
                    value=repr(value)[:80],
                    limit="a PNG or JPEG path | s3://bucket/key | StartingFrame",
                )
            )
        )
        return None
    reader = _installed_reader()
    if reader is None:  # pragma: no cover - the package root always installs one
        errors.append(
            InvalidRequestError(
                Problem(field_name, "no image reader is installed", value=image_label(value))
            )
        )
        return None
    try:
        frame = reader(value, field_name, rules)
    except InvalidRequestError as exc:
        errors.append(exc)
        return None
    assert isinstance(frame, StartingFrame)
    return frame


def frame_of(value: ImageInput | None) -> StartingFrame | None:
    """The frame a built request holds in an image field (it read any path when built)."""
    if value is None or isinstance(value, StartingFrame):
        return value
    raise TypeError(f"image {value!r} was not read: requests read their images when built")


@runtime_checkable
class VideoRequest(Protocol):
    """A checked request for one job, of any family.

    ``task_type`` is what the ledger records (Nova's task types; ``TEXT_VIDEO`` /
    ``IMAGE_VIDEO`` for families without task types). ``seed`` is None for a family
    that takes none.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def task_type(self) -> Any: ...

    @property
    def duration_seconds(self) -> int: ...

    @property
    def seed(self) -> int | None: ...

    @property
    def estimated_cost_usd(self) -> float: ...

    @property
    def frames(self) -> list[StartingFrame]: ...

    @property
    def shape(self) -> VideoShape: ...

    def problems(self) -> list[Problem]: ...

    def validate(self) -> None: ...

    def to_model_input(self) -> dict[str, Any]: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class GenerateOptions:
    """Everything a user can ask of ``generate`` (or a batch item), model-neutral.

    ``None`` means "not given": each family applies its own defaults and refuses the
    options it does not take (naming the model and what it accepts), so ``--seed`` on
    Luma Ray 2 is an error, never silently dropped.

    The fields are the options the built-in families declare; ``extra`` holds, by
    name, the value of any other declared option (a new family's own option reaches
    its ``build`` there, with no field added here). :meth:`value` reads either.
    """

    prompt: str | None = None
    model_id: str | None = None
    task: str | None = None
    duration: int | None = None
    image: StartingFrame | None = None
    end_image: StartingFrame | None = None
    shots: Sequence[Shot] | None = None
    seed: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    loop: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """An option's value by its declared name (a field, else ``extra``)."""
        if name in _OPTION_FIELDS:
            return getattr(self, name)
        return self.extra.get(name)

    def given(self) -> list[str]:
        """The option names the user set (for per-family acceptance checks)."""
        names = []
        for name in _OPTION_FIELDS:
            value = getattr(self, name)
            if value is not None and value is not False:
                names.append(name)
        if self.shots:
            names.append("shots")
        names.extend(k for k, v in self.extra.items() if v is not None and v is not False)
        return names


#: The option fields of :class:`GenerateOptions`: every field but the prompt, the model
#: and the shots (which every family takes or refuses in its own words) and ``extra``.
_NOT_OPTIONS = ("prompt", "model_id", "shots", "extra")
_OPTION_FIELDS = tuple(f.name for f in fields(GenerateOptions) if f.name not in _NOT_OPTIONS)

#: The options every family shares, declared here once (a family's own options are
#: declared in its module; :func:`novareel.models.request_options` joins them).
PROMPT = Option(
    "prompt",
    "text",
    "What the video shows (TEXT_VIDEO / auto).",
    argument=True,
    metavar="PROMPT",
)
MODEL_ID = Option(
    "model_id",
    "model",
    "Model id or alias: nova-reel (v1:1), nova-reel-v1:0, luma-ray2 (default: "
    "NOVAREEL_MODEL, else `novareel models default`, else nova-reel).",
)
IMAGE = Option("image", "image", "Starting frame: a PNG/JPEG path (or s3:// URI on Nova Reel).")
FIT = Option(
    "fit",
    "choice",
    "Convert images to the model's size: crop | pad | stretch (default: refuse).",
    choices=("crop", "pad", "stretch"),
    enum_in_schema=True,
)
SHOTS = Option(
    "shots",
    "shots",
    "A storyboard shot's text (repeat for each shot).",
    flag="--shot",
)
STORYBOARD = Option("storyboard", "file", "YAML/JSON storyboard of shots (text + optional image).")
BUCKET_OWNER = Option(
    "bucket_owner",
    "text",
    "Account id owning the output bucket (and S3 images).",
    fields=("image.bucket_owner",),
)
SHARED_OPTIONS: tuple[Option, ...] = (
    PROMPT,
    MODEL_ID,
    IMAGE,
    FIT,
    SHOTS,
    STORYBOARD,
    BUCKET_OWNER,
)


def option_flag(name: str, families: Sequence[Any] = ()) -> str:
    """How the command line spells an option, for messages about what a model takes
    (its declaration's flag; ``--shot/--storyboard`` for shots)."""
    if name == "shots":
        return "--shot/--storyboard"
    for option in SHARED_OPTIONS:
        if option.name == name:
            return option.cli_flag
    for family in families:
        own: tuple[Option, ...] = getattr(family, "options", ())
        for declared in own:
            if declared.name == name:
                return declared.cli_flag
    return "--" + name.replace("_", "-")


#: Reads back an image a ledger row recorded (its ``describe()`` form): (the recorded
#: image, the field it belongs to for messages, the rules it must meet).
FrameLoader = Callable[[Any, str, FrameRules], StartingFrame]


@dataclass(frozen=True)
class RecordedRequest:
    """What the ledger kept of a job's request, for its family to rebuild it
    (``jobs retry``): one value, so every family's ``rebuild`` takes the same."""

    model_id: str
    task_type: str
    #: the request in its ``describe()`` form (images as path + sha256)
    body: dict[str, Any]
    duration: int | None
    seed: int | None


class ModelFamily(Protocol):
    """What the rest of novareel asks a family. One module implements it per family."""

    name: str
    models: tuple[ModelInfo, ...]
    #: the options the family takes, each declared once: its own, and those of
    #: :data:`SHARED_OPTIONS` it takes (``IMAGE``, ``SHOTS``); every door derives its
    #: flags, keys and schema from them, and any other option given is refused
    options: tuple[Option, ...]
    #: the video file of a finished job, relative to the job's folder
    video_name: str
    #: status files written beside the video (read to explain a failure); may be empty
    status_files: tuple[str, ...]
    #: failureTypes worth sending again unchanged: the service failed, not the request
    retryable_failures: frozenset[str]
    #: whether one job can hold several shots (else a storyboard is one job per shot)
    multi_shot: bool
    #: where ``expected_generation_seconds``' prior comes from, shown to the user until
    #: enough of their own jobs replace it (``novareel.limits.expectations``)
    generation_prior_source: str

    def frame_rules_for(self, options: GenerateOptions) -> FrameRules:
        """The image rules for these options (a size may depend on the video's shape)."""
        ...

    def build(self, options: GenerateOptions) -> VideoRequest:
        """A checked request, or InvalidRequestError with every problem at once."""
        ...

    def build_shots(self, options: GenerateOptions) -> list[VideoRequest]:
        """A storyboard as the jobs it takes: one multi-shot job, or one job per shot."""
        ...

    def rebuild(self, recorded: RecordedRequest, *, load_frame: FrameLoader) -> VideoRequest:
        """The request a ledger row recorded (its ``describe()`` form), images reloaded."""
        ...

    def expected_generation_seconds(self, model_id: str, shape: VideoShape) -> float:
        """The prior for how long a job takes on the real service, in seconds."""
        ...

    def shape_from_body(self, body: dict[str, Any], duration: int | None) -> VideoShape:
        """The video a recorded request (``describe()`` form) should produce."""
        ...


def accepted_options(family: ModelFamily) -> list[str]:
    """The option names a family takes, in its declared order: its ``options`` (its own
    and the shared ones it takes), else (a family written before declarations) its
    ``accepts``."""
    own: tuple[Option, ...] = getattr(family, "options", ())
    if own:
        return [o.name for o in own]
    return sorted(getattr(family, "accepts", ()))


def unsupported_option_problems(
    family: ModelFamily, info: ModelInfo, options: GenerateOptions
) -> list[Problem]:
    """One problem per option the family does not take, naming what it does take
    (each by its declared flag)."""
    takes = accepted_options(family)
    accepted = ", ".join(option_flag(o, [family]) for o in takes if o != "prompt")
    return [
        Problem(
            name,
            f"{info.name} ({info.model_id}) takes no {option_flag(name, [family])}; "
            f"it accepts {accepted}",
            value=options.value(name) if name != "shots" else len(options.shots or ()),
            limit=f"{info.name} accepts: {accepted}",
        )
        for name in options.given()
        if name not in takes
    ]


def built_with(found: list[Problem], build: Callable[[], _Built]) -> _Built:
    """``build()``, refused with ``found`` (problems seen before it) and its own at once.

    Why: a family checks what the request class cannot see (options it does not take,
    shots on a task without them), then builds the request, which checks itself; the
    user hears every problem of both in one :class:`InvalidRequestError`, never the
    first half only.
    """
    try:
        built = build()
    except InvalidRequestError as exc:
        if not found:
            raise
        raise InvalidRequestError(found + list(exc.problems), hint=exc.hint) from None
    if found:
        raise InvalidRequestError(found)
    return built


def text_problems(field_name: str, text: object, limit: int) -> list[Problem]:
    """A prompt's checks: a string, not blank, at most ``limit`` characters.

    Blank (whitespace-only) prompts are refused although the services only count
    characters: a paid video of nothing is never what a user meant.
    """
    if not isinstance(text, str):
        return [Problem(field_name, "must be a string", value=text, limit=f"1-{limit} characters")]
    if len(text) == 0 or not text.strip():
        return [Problem(field_name, "must not be empty", value=text, limit=f"1-{limit} characters")]
    if len(text) > limit:
        return [
            Problem(
                field_name,
                f"is {len(text)} characters; the limit is {limit}",
                value=text,
                limit=f"1-{limit} characters",
            )
        ]
    return []


def model_id_problems(model_id: object) -> list[Problem]:
    """The service's own pattern for a model id (1-256 of ``[a-zA-Z_.-/0-9:]``)."""
    if not isinstance(model_id, str) or not MODEL_ID_RE.match(model_id):
        return [
            Problem(
                "model_id",
                f"{model_id!r} is not a valid model id",
                value=model_id,
                limit="1-256 of [a-zA-Z_.-/0-9:]",
            )
        ]
    return []


class RequestBase:
    """Behaviour every family's request shares: checked when built, validate, cost,
    describe.

    A request that exists is one its model would accept: each family's request class
    reads its images (:func:`read_image`) and calls :meth:`_check` from
    ``__post_init__``, which raises :class:`InvalidRequestError` with every problem
    (the same problems, named by the same fields, that the command line reports by
    flag). So nothing can price, describe or send a request that a submit would refuse.
    """

    model_id: str

    def problems(self) -> list[Problem]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _check(self, image_errors: Sequence[InvalidRequestError] = ()) -> None:
        """Raise every problem at once: the images' (read when built) first, as the
        command line lists them, then the request's own rules. An
        :class:`~novareel.foundation.errors.ImageError` when every problem is an image file's, as
        the command line reports it (with the image checker's hints)."""
        found = [p for error in image_errors for p in error.problems]
        rules = self.problems()
        found.extend(rules)
        if not found:
            return
        hints = [e.hint for e in image_errors if e.hint]
        image_only = not rules and all(isinstance(e, ImageError) for e in image_errors)
        kind = ImageError if image_only else InvalidRequestError
        raise kind(found, hint=" ".join(dict.fromkeys(hints)) or None)

    def _body(self, describe: bool) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def validate(self) -> None:
        """Raise :class:`InvalidRequestError` listing every problem, if there is any."""
        found = self.problems()
        if found:
            raise InvalidRequestError(found)

    def to_model_input(self) -> dict[str, Any]:
        """The exact ``modelInput`` JSON for StartAsyncInvoke (validated first)."""
        self.validate()
        return self._body(False)

    def describe(self) -> dict[str, Any]:
        """The ``modelInput`` with every image replaced by its path + sha256 (or URI).

        This is what ``--dry-run`` prints and what the ledger stores: enough to see
        and reproduce the request, never megabytes of base64.
        """
        return self._body(True)


_TOKEN_RE = re.compile(r"^[!-~]{1,256}$")
_TAG_RE = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")
MAX_TAGS = 200


def submit_option_problems(client_token: str | None, tags: dict[str, str] | None) -> list[Problem]:
    """StartAsyncInvoke's own limits on the client token and the tags.

    The token is what makes a resubmit safe, so a bad one must be caught before it is
    recorded, not by the service after.
    """
    found: list[Problem] = []
    if client_token is not None and not _TOKEN_RE.match(client_token):
        found.append(
            Problem(
                "client_token",
                f"{client_token!r} is not 1-256 printable ASCII characters without spaces",
                value=client_token,
                limit="1-256 of [!-~]",
            )
        )
    tags = tags or {}
    if len(tags) > MAX_TAGS:
        found.append(Problem("tags", f"{len(tags)} tags; the limit is {MAX_TAGS}", value=len(tags)))
    limit = "letters, digits, spaces and . _ : / = + @ -"
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not _TAG_RE.match(key):
            found.append(
                Problem(
                    f"tags[{key}]",
                    f"tag key {key!r}: keys are 1-128 of {limit}",
                    value=key,
                    limit=limit,
                )
            )
        if len(value) > 256 or not _TAG_RE.match(value):
            found.append(
                Problem(
                    f"tags[{key}]",
                    f"tag value {value!r}: values are 0-256 of {limit}",
                    value=value,
                    limit=limit,
                )
            )
    return found


__all__ = [
    "MAX_IMAGE_BYTES",
    "SHARED_OPTIONS",
    "FrameLoader",
    "FrameRules",
    "GenerateOptions",
    "ImageFormat",
    "ImageInput",
    "Lifecycle",
    "LifecycleStatus",
    "ModelFamily",
    "ModelInfo",
    "Option",
    "OptionKind",
    "RecordedRequest",
    "RequestBase",
    "Shot",
    "StartingFrame",
    "VideoRequest",
    "VideoShape",
    "accepted_options",
    "frame_of",
    "image_label",
    "is_whole_number",
    "model_id_problems",
    "option_flag",
    "read_image",
    "submit_option_problems",
    "text_problems",
    "unsupported_option_problems",
]
