"""The batch file: its items, checked all at once before anything is sent.

A batch file (YAML or JSONL, see ``docs/batch.md``) lists one request per item with
the same keys as ``novareel generate``'s options. :func:`load_batch` reads it
(:func:`_read_entries`), merges the defaults, builds each item
(:mod:`novareel.batch.items`) and reports *every* problem of every item at once, with
item numbers; what it returns is a :class:`BatchFile` of :class:`BatchItem`, each
with its content hash (:mod:`novareel.batch.identity`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from novareel.batch.identity import batch_identity, content_hash
from novareel.batch.items import _build_item, _names_shots, _prefix
from novareel.batch.keys import _unknown_key_problems, default_keys
from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.foundation.s3uri import OutputLocation, output_location
from novareel.foundation.textfiles import load_json, parse_json_or_yaml, read_input_text
from novareel.models import VideoRequest, get_model

__all__ = ["BatchFile", "BatchItem", "load_batch"]


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
            try:  # with the depth limit every input file has
                value = load_json(stripped, path, f"line {lineno}", line=lineno)
            except InvalidRequestError as exc:
                problems.extend(exc.problems)
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
    problems.extend(_unknown_key_problems("defaults", file_defaults, default_keys()))
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
    # Read once for every item: an item (and the file's defaults) naming no model is
    # for the person's default model (NOVAREEL_MODEL, [defaults] in config.toml).
    from novareel.settings.defaults import read_defaults

    chosen = read_defaults()
    for number, raw in enumerate(entries, start=1):
        if raw is None:  # a JSONL line that did not parse; already reported
            continue
        notices: list[str] = []
        key, requests, uri, tags, found = _build_item(number, raw, merged, base, notices, chosen)
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
