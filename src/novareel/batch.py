"""Batches: many jobs from one file, kept within the account's quota, resumable.

A batch file (YAML or JSONL, see ``docs/batch.md``) lists one request per item with
the same keys as ``novareel generate``'s options. :func:`load_batch` checks *every*
item before anything is sent and reports all problems at once with item numbers;
:class:`BatchRunner` then drives each item through a small state machine::

    pending -> submitting -> in flight -> downloading -> done
                   |             |
                   |             +-> failed (retryable failureType) -> pending (attempt + 1)
                   +-> (quota / throttled) -> pending, same token
                   +-> rejected by the service -> failed

Why it can be killed at any moment and run again:

* **Identity comes from the file, not the run.** The batch is the sha256 of the file's
  absolute path; an item is its ``id`` (or its 1-based position). The client token of
  (batch, item, attempt) is *derived* from those and from a hash of what is sent
  (:func:`client_token_for`), and written to the ledger before the submit. A process
  killed between the ledger write and the service's answer sends the same token again
  when restarted, and the service returns the job it already started: no item is ever
  paid for twice.
* **The ledger is the only state.** On start, each item's latest attempt in the ledger
  decides what to do: nothing (done and downloaded), download it, wait for it, send it
  (again with its recorded token), or retry it as a new linked attempt.
* **An item edited since it was sent is reported, not resubmitted** (its content hash
  no longer matches the recorded request): silently paying for a different video under
  the same name would be worse than asking. ``resubmit_changed=True`` (``--resubmit-
  changed``) sends it as a new linked attempt instead.

Concurrency follows AIMD: the limit starts at ``max_concurrent``, halves (never below
1) when the service answers ServiceQuotaExceeded or still throttles after botocore's
own retries, and grows by one after as many successful submits as the current limit.
A quota answer means "no slot now": the item goes back to the queue with the same
token, and the next submit waits for a job to finish or a back-off to pass.

In-flight jobs are polled with one ListAsyncInvokes(statusEquals=InProgress) per tick
instead of one GetAsyncInvoke per job; only jobs missing from that list are asked
about one by one (which also reads their status file to explain a failure). The tick
follows the jobs' expected ends (the single-job poll schedule), so a slot that frees
up is refilled within a few percent of a job's length.

Budgets (``docs/budgets.md``) are checked before every submit. When the next submit
would cross the standing daily or monthly budget (or the ``NovaReel``'s
``max_cost_usd``), the runner stops submitting: the jobs already sent are waited for
and downloaded as usual, the rest stay pending in the ledger, and the summary says
why (``budget_stop``). A rerun after the limit is raised (or the day rolls over)
continues exactly once. With a ``max_cost_usd``, a run whose remaining items would
cost more than the cap as a whole is refused before anything is sent.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.compose import RequestSpec, ShotSpec, compose_requests
from novareel.errors import (
    AwsError,
    BudgetExceededError,
    DownloadError,
    EndpointError,
    InvalidRequestError,
    LedgerError,
    NovaReelError,
    Problem,
    QuotaExceededError,
    ServiceUnavailableError,
    ServiceValidationError,
    ThrottledError,
)
from novareel.models import (
    VideoRequest,
    find_model,
    get_model,
)
from novareel.results import Failure, JobResult, advice_for
from novareel.s3uri import OutputLocation, output_location
from novareel.textfiles import parse_json_or_yaml, read_input_text
from novareel.waiting import PollSchedule

if TYPE_CHECKING:
    from novareel.jobs import NovaReel
    from novareel.ledger import JobRecord, Ledger

log = logging.getLogger("novareel")

__all__ = [
    "ITEM_KEYS",
    "RETRYABLE_FAILURES",
    "BatchEvent",
    "BatchFile",
    "BatchItem",
    "BatchRunner",
    "BatchSummary",
    "ConcurrencyLimit",
    "ItemOutcome",
    "ItemPhase",
    "batch_identity",
    "client_token_for",
    "content_hash",
    "ledger_view",
    "load_batch",
    "run_batch",
]

#: failureTypes worth sending again unchanged, per model family (the service failed,
#: not the request): Nova Reel's INTERNAL_SERVER_EXCEPTION and RATE_LIMIT_EXCEEDED.
RETRYABLE_FAILURES: frozenset[str] = get_model(None).family.retryable_failures

#: Keys an item (and the ``defaults`` section) may use; they mirror ``generate``.
ITEM_KEYS: tuple[str, ...] = (
    "id",
    "prompt",
    "task",
    "duration",
    "image",
    "fit",
    "bucket_owner",
    "shots",
    "storyboard",
    "seed",
    "model_id",
    "output_uri",
    "tags",
    "aspect_ratio",
    "resolution",
    "loop",
    "end_image",
)
_DEFAULT_KEYS = tuple(k for k in ITEM_KEYS if k != "id")
_SHOT_KEYS = ("text", "image", "fit", "bucket_owner")
_MAX_ID = 128

#: Transient submit errors (5xx, network) tolerated per item before it is given up.
MAX_SUBMIT_ERRORS = 10
#: Download attempts per item before it is reported failed (a rerun fetches it again).
MAX_DOWNLOAD_ERRORS = 3


# ---------------------------------------------------------------------------- identity


def batch_identity(path: str | Path) -> str:
    """sha256 of the batch file's absolute path: the same file resumes the same batch."""
    absolute = str(Path(path).expanduser().resolve())
    return hashlib.sha256(absolute.encode("utf-8")).hexdigest()


def _strip_paths(value: Any) -> Any:
    """The described request without local image paths (their sha256 identifies them),
    so moving a frame file does not make an item look changed."""
    if isinstance(value, dict):
        return {k: _strip_paths(v) for k, v in value.items() if k != "path"}
    if isinstance(value, list):
        return [_strip_paths(v) for v in value]
    return value


def content_hash(
    described_request: Mapping[str, Any], output_uri: str, tags: Mapping[str, str] | None
) -> str:
    """A hash of everything an item sends: request (images by sha256), output, tags.

    Computed from :meth:`VideoRequest.describe` output, which is also what the ledger
    stores, so the hash of a recorded job can be recomputed and compared with the file.
    """
    canonical = json.dumps(
        {
            "request": _strip_paths(dict(described_request)),
            "output_uri": output_uri,
            "tags": dict(sorted((tags or {}).items())),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def client_token_for(identity: str, item_key: str, attempt: int, item_hash: str) -> str:
    """The deterministic clientRequestToken of one attempt of one item.

    Deterministic so that a run killed after recording the token but before storing
    the answer sends the very same token when restarted (the service then returns the
    job it already started). 43 printable ASCII characters, far under the 256 limit.
    """
    material = f"{identity}\n{item_key}\n{attempt}\n{item_hash}".encode()
    return "nr-" + hashlib.sha256(material).hexdigest()[:40]


# ---------------------------------------------------------------------------- the file


@dataclass(frozen=True)
class BatchItem:
    """One checked item: its key, the request to send, where, and its content hash."""

    number: int
    key: str
    request: VideoRequest
    output: OutputLocation
    tags: dict[str, str]
    content_hash: str
    notices: tuple[str, ...] = ()
    #: for one shot of a storyboard run as one job per shot (a model without
    #: multi-shot): the storyboard item's key and this shot's number (1-based)
    group: str | None = None
    shot: int | None = None

    @property
    def output_uri(self) -> str:
        return str(self.output.uri)

    @property
    def estimated_cost_usd(self) -> float:
        return self.request.estimated_cost_usd

    @property
    def label(self) -> str:
        """``3`` or ``3 (intro)``: how messages name the item."""
        return str(self.number) if self.key == str(self.number) else f"{self.number} ({self.key})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "key": self.key,
            "task_type": str(self.request.task_type),
            "model_id": self.request.model_id,
            "duration_seconds": self.request.duration_seconds,
            "seed": self.request.seed,
            "estimated_cost_usd": self.estimated_cost_usd,
            "output_uri": self.output_uri,
            "tags": dict(self.tags),
            "request": self.request.describe(),
            "notices": list(self.notices),
        }


@dataclass(frozen=True)
class BatchFile:
    """A fully checked batch file: nothing in it can be refused locally."""

    path: Path
    identity: str
    defaults: dict[str, Any]
    items: tuple[BatchItem, ...]

    @property
    def estimated_cost_usd(self) -> float:
        return round(sum(i.estimated_cost_usd for i in self.items), 2)

    def item(self, key: str) -> BatchItem:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    @property
    def groups(self) -> dict[str, list[BatchItem]]:
        """Storyboards run as one job per shot: group key -> its shot items in order."""
        found: dict[str, list[BatchItem]] = {}
        for item in self.items:
            if item.group is not None:
                found.setdefault(item.group, []).append(item)
        return found


def _read_entries(path: Path) -> tuple[dict[str, Any], list[Any], list[Problem]]:
    """Raw defaults and items from YAML / JSON / JSONL, with syntax problems."""
    text = read_input_text(path, "batch")

    problems: list[Problem] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        entries: list[Any] = []
        defaults: dict[str, Any] = {}
        for lineno, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as exc:
                problems.append(
                    Problem(f"line {lineno}", f"invalid JSON at column {exc.colno}: {exc.msg}")
                )
                entries.append(None)
                continue
            if isinstance(value, dict) and set(value) == {"defaults"} and not entries:
                defaults = value["defaults"] if isinstance(value["defaults"], dict) else {}
                if not isinstance(value["defaults"], dict):
                    problems.append(Problem("defaults", "must be a mapping of item keys"))
                continue
            entries.append(value)
        return defaults, entries, problems

    data = parse_json_or_yaml(text, path, "batch")
    if isinstance(data, list):
        return {}, data, problems
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"defaults", "items"})
        for key in unknown:
            problems.append(
                Problem(str(key), "unknown top-level key", value=key, limit="defaults | items")
            )
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            problems.append(Problem("defaults", "must be a mapping of item keys"))
            defaults = {}
        items = data.get("items")
        if not isinstance(items, list):
            problems.append(Problem("items", "must be a list of items", value=type(items).__name__))
            items = []
        return defaults, items, problems
    raise InvalidRequestError(
        Problem(
            "batch",
            "must be a list of items, or a mapping with 'items' (and optional 'defaults')",
            value=type(data).__name__,
        )
    )


def _unknown_key_problems(
    where: str, mapping: Mapping[str, Any], allowed: Sequence[str]
) -> list[Problem]:
    found = []
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            found.append(
                Problem(f"{where}.{key}", f"unknown key{hint}", value=key, limit=", ".join(allowed))
            )
    return found


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
    has no multi-shot job (Luma Ray 2). The file's own rules (keys, types) are checked
    here; the request itself comes from :func:`novareel.compose.compose_requests`, the
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
    for name in ("image", "end_image", "storyboard"):
        value = spec.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            what = "must be a path" if name == "storyboard" else "must be a path or an s3:// URI"
            problems.append(Problem(f"{where}.{name}", what, value=value))
            spec[name] = None
    if spec.get("bucket_owner") is not None and not isinstance(spec["bucket_owner"], str):
        problems.append(
            Problem(f"{where}.bucket_owner", "must be a string", value=spec["bucket_owner"])
        )
        spec["bucket_owner"] = None

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
                if image is not None and (not isinstance(image, str) or not image):
                    problems.append(
                        Problem(
                            f"{shot_where}.image", "must be a path or an s3:// URI", value=image
                        )
                    )
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
    built = compose_requests(
        RequestSpec(
            prompt=spec.get("prompt"),
            task=spec.get("task"),
            duration=spec.get("duration"),
            image=spec.get("image"),
            end_image=spec.get("end_image"),
            fit=spec.get("fit"),
            bucket_owner=spec.get("bucket_owner"),
            shots=shots,
            storyboard=spec.get("storyboard"),
            seed=spec.get("seed"),
            model_id=spec.get("model_id"),
            aspect_ratio=spec.get("aspect_ratio"),
            resolution=spec.get("resolution"),
            loop=spec.get("loop"),
        ),
        base=base,
        lifecycle=False,  # said once per model for the whole batch
        record_fit=True,  # part of every item's content hash since the first release
        storyboard_field="storyboard",
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


def load_batch(
    path: str | Path,
    *,
    defaults: Mapping[str, Any] | None = None,
    fallback: Mapping[str, Any] | None = None,
) -> BatchFile:
    """Read and check a batch file; raise :class:`InvalidRequestError` with every
    problem of every item (field names such as ``items[3].prompt``), nothing sent.

    ``defaults`` (the command line's ``--output-uri`` and friends) apply to every item
    and win over the file's own ``defaults`` section; an item's own keys win over both.
    ``fallback`` applies only where neither gives a value (``$NOVAREEL_OUTPUT_URI``, the
    ``--local`` bucket).
    Relative image and storyboard paths are resolved from the batch file's folder.
    """
    file_path = Path(path).expanduser().resolve()
    file_defaults, entries, problems = _read_entries(file_path)
    problems.extend(_unknown_key_problems("defaults", file_defaults, _DEFAULT_KEYS))
    merged = {
        **{k: v for k, v in (fallback or {}).items() if v is not None},
        **file_defaults,
        **{k: v for k, v in (defaults or {}).items() if v is not None},
    }
    if not entries and not problems:
        problems.append(Problem("items", "the batch file has no items"))

    items: list[BatchItem] = []
    seen: dict[str, int] = {}
    base = file_path.parent
    for number, raw in enumerate(entries, start=1):
        if raw is None:  # a JSONL line that did not parse; already reported
            continue
        notices: list[str] = []
        key, requests, uri, tags, found = _build_item(number, raw, merged, base, notices)
        location = None
        if uri is not None:
            try:
                location = output_location(uri, notices=notices)
            except InvalidRequestError as exc:
                found.extend(_prefix(f"items[{number}]", exc.problems))
        if key is not None:
            if key in seen:
                found.append(
                    Problem(
                        f"items[{number}].id",
                        f"key {key!r} is also item {seen[key]}'s; every item needs its own id",
                        value=key,
                    )
                )
            else:
                seen[key] = number
        problems.extend(found)
        if found or requests is None or location is None or key is None:
            continue
        # A storyboard on a model without multi-shot is one item per shot, keyed
        # "<key>#shot-<n>" so that each shot has its own deterministic token.
        split = not get_model(requests[0].model_id).family.multi_shot and _names_shots(raw, merged)
        for shot_number, request in enumerate(requests, start=1):
            described = request.describe()
            items.append(
                BatchItem(
                    number=number,
                    key=f"{key}#shot-{shot_number}" if split else key,
                    request=request,
                    output=location,
                    tags=tags,
                    content_hash=content_hash(described, str(location.uri), tags),
                    notices=tuple(notices),
                    group=key if split else None,
                    shot=shot_number if split else None,
                )
            )
    if problems:
        raise InvalidRequestError(
            problems,
            hint=f"Fix every item listed, then run `novareel batch {path} --dry-run` again; "
            "nothing was sent.",
        )
    return BatchFile(
        path=file_path,
        identity=batch_identity(file_path),
        defaults=merged,
        items=tuple(items),
    )


# ---------------------------------------------------------------------------- concurrency


class ConcurrencyLimit:
    """How many jobs to keep in flight: additive increase, multiplicative decrease.

    The account's real quota is not published reliably (3 or 10, per model), and other
    processes may use part of it; so the limit is *learned*: halved (never below 1) on
    every quota or throttling answer, and raised by one after ``limit`` successful
    submits in a row, never above ``maximum``.
    """

    def __init__(self, maximum: int) -> None:
        if maximum < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.maximum = maximum
        self.limit = maximum
        self._successes = 0
        self.decreases = 0

    def on_success(self) -> None:
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self.limit += 1
            self._successes = 0

    def on_pushback(self) -> None:
        self.limit = max(1, self.limit // 2)
        self._successes = 0
        self.decreases += 1


# ---------------------------------------------------------------------------- states


class ItemPhase(str, Enum):
    """Where an item is in its life; ``DONE``, ``FAILED`` and ``CHANGED`` are final."""

    PENDING = "pending"
    SUBMITTING = "submitting"
    IN_FLIGHT = "in flight"
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    CHANGED = "changed"

    def __str__(self) -> str:
        return self.value

    @property
    def final(self) -> bool:
        return self in (ItemPhase.DONE, ItemPhase.FAILED, ItemPhase.CHANGED)


@dataclass
class _ItemState:
    item: BatchItem
    phase: ItemPhase = ItemPhase.PENDING
    attempt: int = 1
    token: str | None = None
    retry_of: int | None = None
    job_id: int | None = None
    invocation_arn: str | None = None
    submitted_at: datetime | None = None
    failure: Failure | None = None
    message: str = ""
    local_dir: str | None = None
    local_files: tuple[str, ...] = ()
    submit_errors: int = 0
    download_errors: int = 0
    not_before: float = 0.0
    #: position in ``BatchRunner.states``; -1 while the runner decides where it starts
    index: int = -1

    @property
    def invocation_id(self) -> str | None:
        return self.invocation_arn.rsplit("/", 1)[-1] if self.invocation_arn else None


@dataclass(frozen=True)
class BatchEvent:
    """One change of one item, for progress displays (``on_event``)."""

    number: int
    key: str
    phase: ItemPhase
    attempt: int
    job_id: int | None
    invocation_id: str | None
    message: str = ""


@dataclass(frozen=True)
class ItemOutcome:
    """How one item ended (or where it stands, if the run stopped before the end)."""

    number: int
    key: str
    phase: ItemPhase
    attempts: int
    job_id: int | None
    invocation_id: str | None
    task_type: str
    estimated_cost_usd: float
    local_dir: str | None = None
    local_files: tuple[str, ...] = ()
    failure: Failure | None = None
    message: str = ""
    #: what a person should read about the item before paying (a converted image,
    #: prompt advice, a fixed output URI), as its BatchItem said it
    notices: tuple[str, ...] = ()

    @property
    def video_path(self) -> str | None:
        for path in self.local_files:
            if path.endswith("output.mp4"):
                return path
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "key": self.key,
            "status": self.phase.value,
            "attempts": self.attempts,
            "job_id": self.job_id,
            "invocation_id": self.invocation_id,
            "task_type": self.task_type,
            "estimated_cost_usd": self.estimated_cost_usd,
            "local_dir": self.local_dir,
            "video_path": self.video_path,
            "failure": self.failure.to_dict() if self.failure else None,
            "message": self.message,
            "notices": list(self.notices),
        }


@dataclass(frozen=True)
class BatchSummary:
    """The end of a run: every item's outcome, and what was spent."""

    batch_id: int
    file: str
    items: tuple[ItemOutcome, ...]
    cost_usd: float
    submitted_cost_usd: float
    concurrency_limit: int
    timed_out: bool = False
    notices: tuple[str, ...] = field(default=())
    #: why the run stopped submitting before the end (a budget's refusal, as a dict)
    budget_stop: dict[str, Any] | None = None

    def _count(self, phase: ItemPhase) -> int:
        return sum(1 for i in self.items if i.phase is phase)

    @property
    def done(self) -> int:
        return self._count(ItemPhase.DONE)

    @property
    def failed(self) -> int:
        return self._count(ItemPhase.FAILED)

    @property
    def changed(self) -> int:
        return self._count(ItemPhase.CHANGED)

    @property
    def unfinished(self) -> int:
        return sum(1 for i in self.items if not i.phase.final)

    @property
    def ok(self) -> bool:
        """True when every item is done (the CLI exits 0)."""
        return all(i.phase is ItemPhase.DONE for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "file": self.file,
            "total": len(self.items),
            "done": self.done,
            "failed": self.failed,
            "changed": self.changed,
            "unfinished": self.unfinished,
            "cost_usd": self.cost_usd,
            "submitted_cost_usd": self.submitted_cost_usd,
            "concurrency_limit": self.concurrency_limit,
            "timed_out": self.timed_out,
            "budget_stop": self.budget_stop,
            "notices": list(self.notices),
            "items": [i.to_dict() for i in self.items],
        }


def _failure_of(record: JobRecord) -> Failure | None:
    if not (record.failure_type or record.failure_message):
        return None
    return Failure(
        record.failure_type,
        record.failure_message,
        record.failure_shot,
        advice_for(record.failure_type, record.failure_message),
    )


def _retryable(failure: Failure | None, model_id: str) -> bool:
    """Whether a failure is worth sending unchanged again, by the model family's rules."""
    model = find_model(model_id)
    retryable = model.family.retryable_failures if model is not None else RETRYABLE_FAILURES
    return failure is not None and failure.type in retryable


def _downloaded(record: JobRecord) -> bool:
    videos = [f for f in record.local_files if f.endswith("output.mp4")]
    return bool(videos) and all(Path(f).is_file() for f in record.local_files)


# ---------------------------------------------------------------------------- runner


class BatchRunner:
    """Runs a checked :class:`BatchFile` to the end, resuming whatever the ledger knows.

    ``api`` must have a ledger (the ledger is what makes the run resumable).
    ``on_event`` receives a :class:`BatchEvent` for every change of phase, from the
    runner's thread or a download thread (one at a time). ``timeout`` bounds the
    run's wall time; jobs still running then keep running and a rerun picks them up.
    ``check_video=False`` skips decoding each downloaded video to compare it with the
    request (worth it for large batches on a slow machine).
    """

    def __init__(
        self,
        api: NovaReel,
        batch: BatchFile,
        *,
        out_dir: str | Path | None = ".",
        max_concurrent: int = 3,
        max_retries: int = 2,
        timeout: float | None = None,
        poll_interval: float | None = None,
        resubmit_changed: bool = False,
        download_workers: int = 2,
        check_video: bool = True,
        on_event: Callable[[BatchEvent], None] | None = None,
    ) -> None:
        if api.ledger is None:
            raise LedgerError(
                "a batch needs the job ledger: it is what makes a run resumable",
                hint="Create NovaReel without ledger=False.",
            )
        if max_retries < 0:
            raise InvalidRequestError(
                Problem("max_retries", "must be 0 or more", value=max_retries)
            )
        if max_concurrent < 1:
            raise InvalidRequestError(
                Problem("max_concurrent", "must be at least 1", value=max_concurrent)
            )
        self.api = api
        self.ledger: Ledger = api.ledger
        self.batch = batch
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.max_retries = max_retries
        self.timeout = timeout
        self.resubmit_changed = resubmit_changed
        self.check_video = check_video
        self.limit = ConcurrencyLimit(max_concurrent)
        scale = max(api.time_scale, 1e-6)
        # The longest gap between two list calls; with no fixed interval, the gap
        # shrinks around the moment an in-flight job is expected to end (_next_tick).
        self._fixed_poll = poll_interval is not None
        self.poll_interval = (
            poll_interval if poll_interval is not None else min(15.0, max(0.02, 10.0 / scale))
        )
        self._backoff_base = min(30.0, max(0.02, 5.0 / scale))
        self._backoff = self._backoff_base
        self._slot_free_at = 0.0
        self._next_poll = 0.0
        self._on_event = on_event
        self._event_lock = threading.Lock()
        self._wake = threading.Event()
        self._download_workers = max(1, download_workers)
        self._downloads: dict[int, Future[JobResult]] = {}
        self._queue: deque[_ItemState] = deque()
        # The bookkeeping that keeps every step O(1) in the number of items: the
        # states in each phase (index -> state, in the order they entered it) and the
        # downloads due but not started. Only _set_phase moves a state between phases.
        self._phases: dict[ItemPhase, dict[int, _ItemState]] = {p: {} for p in ItemPhase}
        self._to_download: dict[int, _ItemState] = {}
        self.batch_id = 0
        self.states: list[_ItemState] = []
        self.notices: list[str] = []
        #: set when a budget refused a submit: nothing more is sent in this run
        self.budget_stop: BudgetExceededError | None = None

    # -- public --

    def run(self) -> BatchSummary:
        """Send, wait for and download every item; return the summary.

        Raises only for what no item can get past (access denied, an unusable ledger,
        Ctrl-C); everything per item ends in the summary.
        """
        self._resume()
        self._check_cap()
        started = time.monotonic()
        timed_out = False
        executor = ThreadPoolExecutor(self._download_workers, thread_name_prefix="novareel-dl")
        clean = False
        try:
            while True:
                self._collect_downloads()
                self._poll()
                self._start_downloads(executor)
                self._submit_some()
                if self._unsettled() == 0:
                    break
                if self.timeout is not None and time.monotonic() - started > self.timeout:
                    timed_out = True
                    break
                self._wake.wait(self._sleep_time())
                self._wake.clear()
            clean = True
        finally:
            executor.shutdown(wait=clean, cancel_futures=True)
        return self.summary(timed_out=timed_out)

    def summary(self, *, timed_out: bool = False) -> BatchSummary:
        """Where every item stands, with costs from the ledger."""
        keys = {s.item.key for s in self.states}
        jobs = [j for j in self.ledger.batch_jobs(self.batch_id) if j.batch_item in keys]
        cost = sum(j.estimated_cost_usd or 0.0 for j in jobs if j.status == "Completed")
        submitted = sum(j.estimated_cost_usd or 0.0 for j in jobs if j.invocation_arn)
        outcomes = tuple(
            ItemOutcome(
                number=s.item.number,
                key=s.item.key,
                phase=s.phase,
                attempts=s.attempt if s.job_id is not None else s.attempt - 1,
                job_id=s.job_id,
                invocation_id=s.invocation_id,
                task_type=str(s.item.request.task_type),
                estimated_cost_usd=s.item.estimated_cost_usd,
                local_dir=s.local_dir,
                local_files=s.local_files,
                failure=s.failure,
                message=s.message,
                notices=s.item.notices,
            )
            for s in self.states
        )
        notices = list(self.notices)
        stop = self.budget_stop
        if stop is not None:
            left = len(self._phases[ItemPhase.PENDING])
            notices.append(
                f"stopped submitting at the {stop.limit.replace('_', ' ')} limit: "
                f"{stop.message}. {left} item(s) not sent stay pending; "
                f"{stop.hint or ''} Then run the same command again to continue "
                "(nothing is sent twice)."
            )
        if timed_out:
            notices.append(
                "stopped at the time limit; jobs still running keep running: run the same "
                "command again to continue"
            )
        return BatchSummary(
            batch_id=self.batch_id,
            file=str(self.batch.path),
            items=outcomes,
            cost_usd=round(cost, 2),
            submitted_cost_usd=round(submitted, 2),
            concurrency_limit=self.limit.limit,
            timed_out=timed_out,
            notices=tuple(notices),
            budget_stop=None if stop is None else {"message": stop.message, **stop.to_dict()},
        )

    # -- resume --

    def _resume(self) -> None:
        """Decide each item's starting phase from its latest attempt in the ledger."""
        record = self.ledger.get_or_create_batch(
            identity=self.batch.identity,
            file_path=str(self.batch.path),
            defaults=self.batch.defaults,
        )
        self.batch_id = record.id
        self.states = [self._state_for(item) for item in self.batch.items]
        self._track(self.states)
        for state in self.states:
            self._emit(state)

    def _track(self, states: Sequence[_ItemState]) -> None:
        """Start the per-phase bookkeeping from the phases the ledger decided."""
        self._phases = {p: {} for p in ItemPhase}
        self._to_download = {}
        self._queue = deque()
        for index, state in enumerate(states):
            state.index = index
            self._phases[state.phase][index] = state
            if state.phase is ItemPhase.PENDING:
                self._queue.append(state)
            elif state.phase is ItemPhase.DOWNLOADING:
                self._to_download[index] = state

    def _set_phase(self, state: _ItemState, phase: ItemPhase) -> None:
        """The one place an item changes phase: the per-phase sets, the queue of items
        to send and the downloads to start follow in O(1), so no step of the loop has
        to scan every item (a scan per submit made a 10,000-item batch quadratic).

        An item coming back to ``PENDING`` goes to the front of the queue (a retry or
        a pushed-back submit goes before items never tried).
        """
        old = state.phase
        state.phase = phase
        if state.index < 0 or old is phase:
            return  # still deciding its starting phase (_resume), or no change
        del self._phases[old][state.index]
        self._phases[phase][state.index] = state
        if old is ItemPhase.DOWNLOADING:
            self._to_download.pop(state.index, None)
        if phase is ItemPhase.DOWNLOADING:
            self._to_download[state.index] = state
        elif phase is ItemPhase.PENDING:
            self._queue.appendleft(state)

    def phase_counts(self) -> dict[ItemPhase, int]:
        """How many items are in each phase now (O(1) per phase)."""
        return {phase: len(states) for phase, states in self._phases.items()}

    def _state_for(self, item: BatchItem) -> _ItemState:
        state = _ItemState(item=item)
        latest = self.ledger.latest_attempt(self.batch_id, item.key)
        if latest is None:
            state.token = client_token_for(self.batch.identity, item.key, 1, item.content_hash)
            return state
        recorded = content_hash(latest.request, latest.output_uri or "", latest.tags)
        if recorded != item.content_hash:
            if self.resubmit_changed:
                self._next_attempt(state, latest, "changed since the last run; sent again")
            else:
                self._set_phase(state, ItemPhase.CHANGED)
                state.job_id = latest.id
                state.attempt = latest.attempt
                state.message = (
                    f"changed since it was sent as job {latest.id}; not resubmitted "
                    "(give it a new id, or run with --resubmit-changed)"
                )
            return state
        self._adopt_record(state, latest)
        if latest.status == "Submitting" or latest.not_sent:
            # Sent (maybe) without an answer, or refused before sending (no
            # credentials): send again with the SAME token.
            self._set_phase(state, ItemPhase.PENDING)
            state.token = latest.client_token
            state.retry_of = latest.retry_of
        elif latest.status == "InProgress":
            self._set_phase(state, ItemPhase.IN_FLIGHT)
        elif latest.status == "Completed":
            if self.out_dir is None or _downloaded(latest):
                self._set_phase(state, ItemPhase.DONE)
                state.local_files = tuple(latest.local_files)
                state.local_dir = (
                    str(Path(latest.local_files[0]).parent) if latest.local_files else None
                )
            else:
                self._set_phase(state, ItemPhase.DOWNLOADING)
        elif latest.status == "Failed":
            self._after_failure(state, latest, _failure_of(latest))
        else:  # Rejected: the service refused the request itself
            self._set_phase(state, ItemPhase.FAILED)
            state.failure = _failure_of(latest)
            state.message = "rejected by the service"
        return state

    def _adopt_record(self, state: _ItemState, record: JobRecord) -> None:
        state.attempt = record.attempt
        state.job_id = record.id
        state.invocation_arn = record.invocation_arn
        state.submitted_at = record.submit_time
        state.token = record.client_token

    def _next_attempt(self, state: _ItemState, previous: JobRecord, message: str) -> None:
        self._set_phase(state, ItemPhase.PENDING)
        state.attempt = previous.attempt + 1
        state.retry_of = previous.id
        state.job_id = None
        state.invocation_arn = None
        state.failure = None
        state.token = client_token_for(
            self.batch.identity, state.item.key, state.attempt, state.item.content_hash
        )
        state.message = message

    def _after_failure(self, state: _ItemState, record: JobRecord, failure: Failure | None) -> None:
        """A Failed job: retry it as a new linked attempt, or give the item up."""
        if _retryable(failure, record.model_id) and record.attempt - 1 < self.max_retries:
            assert failure is not None
            self._next_attempt(
                state, record, f"attempt {record.attempt} failed ({failure.type}); retrying"
            )
            return
        self._set_phase(state, ItemPhase.FAILED)
        state.failure = failure
        if _retryable(failure, record.model_id):
            state.message = f"failed after {record.attempt} attempts"
        else:
            state.message = "not retried" if failure and failure.type else "failed"

    # -- the loop --

    def _next_tick(self) -> float:
        """Seconds until the next ListAsyncInvokes.

        The soonest :class:`~novareel.waiting.PollSchedule` delay over the jobs in
        flight, each at its own age: sparse while none can be done yet, dense around
        the moment one should end, so a freed slot is refilled within a few percent of
        a job's length instead of up to a whole fixed interval later (measured in
        bench/bench_batch.py). Never longer than ``poll_interval``.
        """
        if self._fixed_poll:
            return self.poll_interval
        now = datetime.now(timezone.utc)
        delays = [self.poll_interval]
        for state in self._phases[ItemPhase.IN_FLIGHT].values():
            if state.submitted_at is None:
                continue
            request = state.item.request
            schedule = PollSchedule.for_job(
                self.api.expectation(request.model_id, request.shape).seconds,
                time_scale=self.api.time_scale,
            )
            delays.append(schedule.next_delay((now - state.submitted_at).total_seconds()))
        return min(delays)

    def _sleep_time(self) -> float:
        now = time.monotonic()
        waits = [self.poll_interval]
        if self._phases[ItemPhase.IN_FLIGHT]:
            waits.append(max(self._next_poll - now, 0.0))
        if self._queue and self._slot_free_at > now:
            waits.append(self._slot_free_at - now)
        return max(0.005, min(waits))

    def _emit(self, state: _ItemState, message: str | None = None) -> None:
        if message is not None:
            state.message = message
        if self._on_event is None:
            return
        event = BatchEvent(
            number=state.item.number,
            key=state.item.key,
            phase=state.phase,
            attempt=state.attempt,
            job_id=state.job_id,
            invocation_id=state.invocation_id,
            message=state.message,
        )
        with self._event_lock:
            self._on_event(event)

    def _in_flight(self) -> int:
        return len(self._phases[ItemPhase.SUBMITTING]) + len(self._phases[ItemPhase.IN_FLIGHT])

    def _unsettled(self) -> int:
        """Items something may still happen to in this run: not final, and not
        pending once a budget stopped the submits (those wait for a later run)."""
        settled = sum(len(self._phases[p]) for p in ItemPhase if p.final)
        if self.budget_stop is not None:
            settled += len(self._phases[ItemPhase.PENDING])
        return len(self.states) - settled

    def _check_cap(self) -> None:
        """With a ``max_cost_usd`` on the api, refuse the whole run up front when what
        it would send (items not yet accepted, retries due) costs more than remains."""
        cap = self.api.cost_cap
        if cap is None or not self._queue:
            return
        planned = sum(state.item.estimated_cost_usd for state in self._queue)
        cap.check(planned, what=f"this batch run ({len(self._queue)} job(s) to send)")

    def _submit_some(self) -> None:
        while self._queue and self.budget_stop is None and self._in_flight() < self.limit.limit:
            if time.monotonic() < self._slot_free_at:
                return
            state = self._queue.popleft()
            if not self._submit(state):
                return

    def _pushback(self, state: _ItemState, why: str, *, shrink: bool = True) -> None:
        """No slot now: same token back to the front of the queue; wait, learn."""
        if shrink:
            self.limit.on_pushback()
        self._set_phase(state, ItemPhase.PENDING)
        self._slot_free_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 1.5, 60.0 / max(self.api.time_scale, 1e-6))
        self._emit(state, f"{why}; waiting for a slot (limit now {self.limit.limit})")

    def _submit(self, state: _ItemState) -> bool:
        """Send one item; False when the service pushed back (stop submitting now)."""
        item = state.item
        self._set_phase(state, ItemPhase.SUBMITTING)
        self._emit(state, f"sending attempt {state.attempt}")
        assert state.token is not None
        try:
            result = self.api.submit(
                item.request,
                item.output,
                client_token=state.token,
                tags=item.tags or None,
                batch_id=self.batch_id,
                batch_item=item.key,
                attempt=state.attempt,
                retry_of=state.retry_of,
                out_dir=self.out_dir,  # `novareel download <id>` later lands here too
            )
        except BudgetExceededError as exc:
            # Nothing was written or sent for it: it stays pending for a later run.
            self.budget_stop = exc
            self._set_phase(state, ItemPhase.PENDING)
            self._emit(state, f"not sent: {exc.limit.replace('_', ' ')} limit reached")
            return False
        except QuotaExceededError:
            self._pushback(state, "concurrency quota full")
            return False
        except ThrottledError:
            # Throttling may mean "too many jobs" (the contract leaves it open) or just
            # "too many requests". With nothing of ours in flight it cannot be the
            # former, so only then is the limit kept and the submit merely delayed.
            self._pushback(state, "throttled", shrink=self._in_flight() > 1)
            return False
        except (ServiceUnavailableError, EndpointError) as exc:
            state.submit_errors += 1
            if state.submit_errors >= MAX_SUBMIT_ERRORS:
                self._set_phase(state, ItemPhase.FAILED)
                state.failure = Failure(exc.code, exc.message, None, exc.hint or "")
                self._emit(state, "the service kept failing; run again later to send it")
                return True
            self._set_phase(state, ItemPhase.PENDING)
            self._slot_free_at = time.monotonic() + self._backoff
            self._emit(state, f"service error ({exc.code or 'network'}); will send again")
            return False
        except ServiceValidationError as exc:
            record = self.ledger.find(state.token)
            state.job_id = record.id if record else None
            self._set_phase(state, ItemPhase.FAILED)
            state.failure = Failure(
                exc.code, exc.message, None, exc.hint or advice_for(None, exc.message)
            )
            self._emit(state, "rejected by the service")
            return True
        self.limit.on_success()
        self._backoff = self._backoff_base
        state.job_id = result.ledger_id
        state.invocation_arn = result.invocation_arn
        state.submitted_at = result.submit_time
        if result.status == "InProgress" or not result.done:
            self._set_phase(state, ItemPhase.IN_FLIGHT)
            self._emit(state, f"submitted (~${item.estimated_cost_usd:.2f})")
        else:  # the token had already produced a finished job
            self._finished(state, result)
        return True

    def _poll(self) -> None:
        flying = list(self._phases[ItemPhase.IN_FLIGHT].values())
        now = time.monotonic()
        if not flying or now < self._next_poll:
            return
        self._next_poll = now + self._next_tick()
        running: set[str] | None
        try:
            times = [s.submitted_at for s in flying if s.submitted_at is not None]
            since = (min(times) if times else datetime.now(timezone.utc)) - timedelta(hours=1)
            running = {
                j.invocation_arn
                for j in self.api.client.list_async_invokes(
                    status="InProgress", submitted_after=since, sort_order="Ascending"
                )
            }
        except AwsError as exc:
            if not exc.retryable:
                raise
            log.info("ListAsyncInvokes failed (%s); checking jobs one by one", exc.code)
            running = None
        for state in flying:
            if running is not None and state.invocation_arn in running:
                continue
            try:
                result = self.api.status(str(state.job_id))
            except AwsError as exc:
                if not exc.retryable:
                    raise
                continue
            if result.done:
                self._finished(state, result)

    def _finished(self, state: _ItemState, result: JobResult) -> None:
        # A slot freed up: a waiting submit may go now.
        self._slot_free_at = 0.0
        if result.status == "Completed":
            self._set_phase(
                state, ItemPhase.DOWNLOADING if self.out_dir is not None else ItemPhase.DONE
            )
            self._emit(state, "completed")
            return
        record = self.ledger.get(state.job_id) if state.job_id is not None else None
        failure = result.failure or (_failure_of(record) if record else None)
        if record is None:
            self._set_phase(state, ItemPhase.FAILED)
            state.failure = failure
            self._emit(state, "failed")
            return
        self._after_failure(state, record, failure)  # back in the queue if retried
        self._emit(state)

    def _start_downloads(self, executor: ThreadPoolExecutor) -> None:
        assert self.out_dir is not None or not self._phases[ItemPhase.DOWNLOADING]
        now = time.monotonic()
        for index, state in list(self._to_download.items()):
            if state.not_before > now:
                continue  # a failed download waits for its back-off
            del self._to_download[index]
            future = executor.submit(self._download, state)
            future.add_done_callback(lambda _f: self._wake.set())
            self._downloads[index] = future

    def _download(self, state: _ItemState) -> JobResult:
        assert self.out_dir is not None and state.job_id is not None
        return self.api.download(str(state.job_id), self.out_dir, check_video=self.check_video)

    def _collect_downloads(self) -> None:
        for index, future in list(self._downloads.items()):
            if not future.done():
                continue
            del self._downloads[index]
            state = self.states[index]
            try:
                result = future.result()
            except (DownloadError, AwsError) as exc:
                if (
                    isinstance(exc, AwsError)
                    and not exc.retryable
                    and not isinstance(exc, DownloadError)
                ):
                    log.warning("download of item %s failed: %s", state.item.label, exc)
                state.download_errors += 1
                if state.download_errors >= MAX_DOWNLOAD_ERRORS:
                    self._set_phase(state, ItemPhase.FAILED)
                    state.failure = Failure(
                        "DownloadError",
                        exc.message,
                        None,
                        "The video is in S3; run the batch again to fetch it.",
                    )
                    self._emit(state, "download failed")
                else:
                    state.not_before = time.monotonic() + self._backoff_base
                    self._to_download[index] = state  # tried again after the back-off
                    self._emit(state, f"download failed ({exc.message}); trying again")
                continue
            state.local_dir = result.local_dir
            state.local_files = tuple(result.local_files)
            self._set_phase(state, ItemPhase.DONE)
            for notice in result.notices:
                self.notices.append(f"item {state.item.label}: {notice}")
            self._emit(state, f"downloaded to {result.local_dir}")


def run_batch(
    api: NovaReel,
    path: str | Path,
    *,
    defaults: Mapping[str, Any] | None = None,
    **options: Any,
) -> BatchSummary:
    """Load, check and run a batch file in one call (see :class:`BatchRunner`).

    ``defaults`` apply to every item (e.g. ``{"output_uri": "s3://bucket/videos/"}``);
    ``options`` are :class:`BatchRunner`'s (``out_dir``, ``max_concurrent``,
    ``max_retries``, ``timeout``, ``on_event``, ...). Running it again on the same
    file continues where an interrupted run stopped.
    """
    batch = load_batch(path, defaults=defaults)
    return BatchRunner(api, batch, **options).run()


def ledger_view(ledger: Ledger, batch: BatchFile) -> dict[str, str]:
    """What the ledger already knows of each item (``--dry-run``): key -> status.

    Read-only: a batch never run is not created here.
    """
    found: dict[str, str] = {}
    with contextlib.suppress(NovaReelError):
        for record in ledger.list_batches():
            if record.identity != batch.identity:
                continue
            for item in batch.items:
                latest = ledger.latest_attempt(record.id, item.key)
                if latest is None:
                    continue
                recorded = content_hash(latest.request, latest.output_uri or "", latest.tags)
                found[item.key] = "changed" if recorded != item.content_hash else latest.status
    return found
