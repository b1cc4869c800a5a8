"""Write the gallery: one card per ledger job, as plain HTML with escaped text.

The page is built from strings, each piece of user or ledger text through
:func:`_e` (``html.escape`` with quotes), so a prompt such as
``"><img src=x onerror=...>`` shows up as those characters and never as markup.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import pathname2url

from novareel.errors import InvalidRequestError, NovaReelError, Problem
from novareel.ledger import BatchRecord, JobRecord
from novareel.models import find_model
from novareel.results import advice_for
from novareel.s3uri import S3Uri, parse_s3_uri

log = logging.getLogger("novareel")

#: Written into every page; a folder whose index.html lacks it is not ours to replace.
GENERATOR = "novareel gallery"
#: A presigner makes a time-limited link to a job's video in S3: (job, object, region).
#: It raises a NovaReelError (no credentials, say) that the card then shows.
Presigner = Callable[[JobRecord, S3Uri, "str | None"], str]

_ASSETS = ("gallery.css", "gallery.js", "favicon.svg")
_VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm")
_SHEET_PATTERN = re.compile(r"(contact|sheet)", re.IGNORECASE)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_OWN_MEDIA = re.compile(r"^job-\d+(-poster\.jpg|-sheet\.(png|jpe?g)|\.(mp4|m4v|mov|webm))$")
# Keys whose string values are what the user wrote (a prompt or a shot's text).
_TEXT_KEYS = frozenset({"text", "prompt"})
# Request keys shown elsewhere on the card (from the ledger row), or not worth showing.
_SKIP_KEYS = frozenset({"taskType", "seed", "durationSeconds", "duration"})
_IMAGE_DETAIL_KEYS = frozenset({"sha256", "size", "format", "fit", "bucket_owner"})
_CSP_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


@dataclass
class GalleryResult:
    """What was written: the page, the folder, and how many cards of which kind."""

    out_dir: Path
    index: Path
    cards: int
    players: int
    by_status: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "index": str(self.index),
            "cards": self.cards,
            "players": self.players,
            "by_status": dict(self.by_status),
            "notes": list(self.notes),
        }


def _e(value: object) -> str:
    """Escape any text for HTML content and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------- request


@dataclass
class _Described:
    """What a recorded request says, read generically (no model's field names)."""

    prompts: list[str] = field(default_factory=list)
    shots: list[tuple[str, str | None]] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)


def _words(key: str) -> str:
    """``durationSeconds`` / ``aspect_ratio`` -> ``duration seconds`` / ``aspect ratio``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ")
    return spaced.lower()


def _image_source(value: dict[str, Any]) -> str | None:
    """The path or S3 URI of a recorded image ({"format", "path"|"s3_uri", ...})."""
    if "format" not in value:
        return None
    source = value.get("path") or value.get("s3_uri")
    return str(source) if source else None


def _first_text(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _TEXT_KEYS and isinstance(item, str):
                return item
        for item in value.values():
            found = _first_text(item)
            if found is not None:
                return found
    return None


def _first_image(value: Any) -> str | None:
    if isinstance(value, dict):
        source = _image_source(value)
        if source is not None:
            return source
        for item in value.values():
            found = _first_image(item)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _first_image(item)
            if found is not None:
                return found
    return None


def describe_request(request: dict[str, Any]) -> _Described:
    """Prompts, shots, settings and images of a recorded request, for any model.

    Model-neutral on purpose: strings under ``text``/``prompt`` are what the user
    wrote, a list under ``shots`` is a storyboard, a dict with ``format`` and a
    ``path``/``s3_uri`` is an image, and the remaining scalars are settings.
    """
    out = _Described()

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            source = _image_source(value)
            if source is not None:
                out.images.append((_words(key), source))
                return
            for k, item in value.items():
                k = str(k)
                if k == "shots" and isinstance(item, list):
                    for shot in item:
                        text = _first_text(shot) if isinstance(shot, dict) else None
                        image = _first_image(shot)
                        out.shots.append((text if text is not None else str(shot), image))
                    continue
                walk(item, k)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{key} {index + 1}" if len(value) > 1 else key)
        elif key in _TEXT_KEYS and isinstance(value, str):
            out.prompts.append(value)
        elif key not in _SKIP_KEYS and key not in _IMAGE_DETAIL_KEYS and value is not None:
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            out.settings.append((_words(key), shown))

    walk(request, "request")
    return out


# --------------------------------------------------------------------------- media


def _region_of(arn: str | None) -> str | None:
    """The region an invocation ARN names (arn:aws:bedrock:REGION:account:...)."""
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 4 and parts[3] else None


def _video_name(model_id: str) -> str:
    model = find_model(model_id)
    return model.family.video_name if model is not None else "output.mp4"


def _local_video(record: JobRecord) -> Path | None:
    """The job's downloaded video, if it is still on disk (the family's name first)."""
    files = [Path(f) for f in record.local_files]
    wanted = _video_name(record.model_id)
    ordered = [f for f in files if f.name == wanted] + [
        f for f in files if f.name != wanted and f.suffix.lower() in _VIDEO_SUFFIXES
    ]
    for path in ordered:
        if path.is_file():
            return path
    return None


def _s3_video(record: JobRecord) -> S3Uri | None:
    """Where the job's video is in S3 (its folder is <output_uri>/<invocation id>/)."""
    if not record.output_uri or not record.invocation_id:
        return None
    try:
        base = parse_s3_uri(record.output_uri)
    except NovaReelError:
        return None
    folder = base.child(record.invocation_id).as_folder()
    return folder.child(_video_name(record.model_id))


def _link(target: Path, link: Path) -> bool:
    """Make ``link`` show ``target``: a symlink, else a hard link. False if neither.

    Linking (not copying) keeps a gallery of hundreds of videos small; linking into
    the gallery's own folder lets ``--serve`` reach the file and keeps the page's
    links relative.
    """
    if link.is_symlink() or link.exists():
        link.unlink()
    try:
        os.symlink(target.resolve(), link)
        return True
    except (OSError, NotImplementedError):
        pass
    try:
        os.link(target, link)
        return True
    except OSError:
        return False


def _fresh(product: Path, source: Path) -> bool:
    """True when ``product`` exists and is newer than ``source`` (no need to redo it)."""
    try:
        return product.stat().st_mtime >= source.stat().st_mtime
    except OSError:
        return False


def _poster(video: Path, out: Path, duration: int | None) -> bool:
    """Write a JPEG poster (a frame about 1 s in, at most 640 px wide); False on failure."""
    if _fresh(out, video):
        return True
    from novareel.video import preview_frame

    at = min(1.0, duration / 2) if duration else 0.0
    try:
        image = preview_frame(video, at=at)
    except (NovaReelError, OSError, ValueError) as exc:
        log.warning("no poster for %s: %s", video, exc)
        return False
    image.thumbnail((640, 640))
    partial = out.with_name(out.name + ".part")
    image.save(partial, format="JPEG", quality=82)
    os.replace(partial, out)
    return True


def _existing_sheet(video: Path) -> Path | None:
    """A contact sheet someone already made beside the video (``*contact*``/``*sheet*``)."""
    try:
        siblings = sorted(video.parent.iterdir())
    except OSError:
        return None
    for path in siblings:
        if (
            path.suffix.lower() in _IMAGE_SUFFIXES
            and _SHEET_PATTERN.search(path.stem)
            and path.is_file()
        ):
            return path
    return None


def _make_sheet(video: Path, out: Path) -> bool:
    """A contact sheet: one tile per detected shot, or four frames for a single shot."""
    if _fresh(out, video):
        return True
    from novareel.video import make_contact_sheet

    try:
        sheet = make_contact_sheet(video, out)
        if len(sheet.timestamps) == 1:
            info_seconds = max(sheet.timestamps[0] * 2, 0.4)
            make_contact_sheet(video, out, every=info_seconds / 4)
    except (NovaReelError, OSError, ValueError) as exc:
        log.warning("no contact sheet for %s: %s", video, exc)
        return False
    return True


# --------------------------------------------------------------------------- cards


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    utc = value.astimezone(timezone.utc)
    return (
        f'<time datetime="{_e(utc.isoformat())}">{_e(utc.strftime("%Y-%m-%d %H:%M:%S"))} UTC</time>'
    )


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _cost(record: JobRecord) -> str:
    """The cost line: what this job cost here, and what it would cost on AWS."""
    estimate = record.estimated_cost_usd
    if record.status == "Rejected":
        return "$0 (refused at submit, nothing charged)"
    if record.ran_locally:
        if estimate is None:
            return "$0 here (local emulator)"
        return f"$0 here (≈ {_money(estimate)} on AWS)"
    if estimate is None:
        return "unknown"
    return f"≈ {_money(estimate)} (estimate)"


@dataclass
class _Media:
    """What a card shows in its top half, decided once per job."""

    video_src: str | None = None
    video_note: str = ""
    poster: str | None = None
    sheet: str | None = None
    origin: str | None = None


class _Builder:
    def __init__(
        self,
        out_dir: Path,
        *,
        presigner: Presigner | None,
        presign_note: str | None,
        contact_sheets: bool,
        now: datetime,
    ) -> None:
        self.out_dir = out_dir
        self.media_dir = out_dir / "media"
        self.presigner = presigner
        self.presign_note = presign_note
        self.contact_sheets = contact_sheets
        self.now = now
        self.written: set[str] = set()
        self.origins: set[str] = set()
        self.notes: list[str] = []

    def _rel(self, path: Path) -> str:
        """A relative URL from the page to a file in the gallery's folder."""
        return pathname2url(os.path.relpath(path, self.out_dir))

    def media_for(self, record: JobRecord) -> _Media:
        media = _Media()
        video = _local_video(record)
        if video is not None:
            suffix = video.suffix.lower() if video.suffix.lower() in _VIDEO_SUFFIXES else ".mp4"
            link = self.media_dir / f"job-{record.id}{suffix}"
            if _link(video, link):
                self.written.add(link.name)
                media.video_src = self._rel(link)
            else:
                # No links on this file system: a relative path works when the page is
                # opened as a file (not through --serve, which serves only this folder).
                media.video_src = pathname2url(os.path.relpath(video.resolve(), self.out_dir))
                self.notes.append(
                    f"job {record.id}: could not link {video} into the gallery; "
                    "its player works when index.html is opened as a file, not with --serve"
                )
            media.video_note = f"local file {video}"
            poster = self.media_dir / f"job-{record.id}-poster.jpg"
            if _poster(video, poster, record.duration_seconds):
                self.written.add(poster.name)
                media.poster = self._rel(poster)
            sheet = _existing_sheet(video)
            if sheet is not None:
                target = self.media_dir / f"job-{record.id}-sheet{sheet.suffix.lower()}"
                if _link(sheet, target):
                    self.written.add(target.name)
                    media.sheet = self._rel(target)
            elif self.contact_sheets:
                target = self.media_dir / f"job-{record.id}-sheet.png"
                if _make_sheet(video, target):
                    self.written.add(target.name)
                    media.sheet = self._rel(target)
            return media
        if record.status != "Completed":
            media.video_note = self._why_no_video(record)
            return media
        uri = _s3_video(record)
        if uri is None:
            media.video_note = "No player: the ledger has no output location for this job."
            return media
        if self.presigner is None:
            media.video_note = (
                f"No player: the video is only in S3 ({uri}) and "
                f"{self.presign_note or 'no link was made for it'}. "
                f"Fetch it with `novareel download {record.id}`."
            )
            return media
        try:
            url = self.presigner(record, uri, _region_of(record.invocation_arn))
        except NovaReelError as exc:
            media.video_note = (
                f"No player: the video is only in S3 ({uri}) and no link could be made "
                f"for it ({exc.message}). Fetch it with `novareel download {record.id}`."
            )
            return media
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if not _CSP_ORIGIN.match(origin):
            media.video_note = f"No player: the link for {uri} has an unexpected address."
            return media
        self.origins.add(origin)
        media.origin = origin
        media.video_src = url
        media.video_note = f"streamed from S3 ({uri}) through a time-limited link"
        if record.ran_locally:
            media.video_note += f" (the local emulator at {record.endpoint} must be running)"
        return media

    def _why_no_video(self, record: JobRecord) -> str:
        if record.status == "InProgress":
            return (
                "No player yet: the job is still rendering. "
                f"`novareel wait {record.id}` then `novareel download {record.id}`."
            )
        if record.status == "Submitting":
            return (
                "No player: the job was recorded but the service never confirmed the "
                "submit. `novareel jobs sync` finds out whether it exists."
            )
        if record.status == "Rejected":
            return "No player: the service refused the request, so no video was made."
        return "No player: the job failed, so there is no video."

    def failure_html(self, record: JobRecord) -> str:
        if record.status not in ("Failed", "Rejected"):
            return ""
        where = f" at shot {record.failure_shot}" if record.failure_shot else ""
        kind = f" ({record.failure_type})" if record.failure_type else ""
        title = "Refused at submit" if record.status == "Rejected" else f"Failed{where}{kind}"
        message = record.failure_message or "no message was recorded"
        if record.status == "Rejected":
            advice = "Nothing was charged. Fix the request and submit a new job."
        else:
            advice = advice_for(record.failure_type, record.failure_message)
        return (
            '<div class="failure" role="note">'
            f'<p class="failure-title">{_e(title)}</p>'
            f'<p class="failure-message">{_e(message)}</p>'
            f'<p class="failure-advice">{_e(advice)}</p>'
            "</div>"
        )

    def card(self, record: JobRecord, batches: dict[int, BatchRecord]) -> tuple[str, bool]:
        media = self.media_for(record)
        described = describe_request(record.request)
        model = find_model(record.model_id)
        model_name = model.info.name if model is not None else record.model_id
        status_class = re.sub(r"[^a-z]", "", record.status.lower()) or "unknown"

        parts: list[str] = [
            f'<article class="card status-{status_class}" id="job-{record.id}"'
            f' data-status="{_e(record.status)}" data-model="{_e(record.model_id)}"'
            f' data-batch="{_e(record.batch_id if record.batch_id is not None else "")}">'
        ]
        if media.video_src is not None:
            poster = f' poster="{_e(media.poster)}"' if media.poster else ""
            parts.append(
                f'<video class="player" controls playsinline preload="metadata"{poster}'
                f' src="{_e(media.video_src)}"'
                f' aria-label="video of job {record.id}"></video>'
            )
        else:
            parts.append(f'<div class="no-player"><p>{_e(media.video_note)}</p></div>')

        parts.append('<div class="body">')
        parts.append(
            '<header class="card-head">'
            f'<span class="badge">{_e(record.status)}</span>'
            f"<h2>Job {record.id}</h2>"
            f'<span class="model" title="{_e(record.model_id)}">{_e(model_name)}</span>'
            "</header>"
        )
        parts.append(self.failure_html(record))
        parts.append(self._text_html(described))

        rows: list[tuple[str, str]] = [
            ("model", _e(record.model_id)),
            ("task", _e(record.task_type)),
        ]
        if record.duration_seconds is not None:
            rows.append(("duration", _e(f"{record.duration_seconds} s")))
        if record.seed is not None:
            rows.append(("seed", _e(record.seed)))
        rows.extend((_e(name), _e(value)) for name, value in described.settings)
        rows.extend((_e(where), _e(source)) for where, source in described.images)
        rows.append(("cost", _e(_cost(record))))
        rows.extend(self._time_rows(record))
        if record.batch_id is not None:
            batch = batches.get(record.batch_id)
            label = f"{record.batch_id}"
            if batch is not None:
                label += f" ({Path(batch.file_path).name})"
            if record.batch_item:
                label += f", item {record.batch_item}"
            rows.append(("batch", _e(label)))
        if record.attempt > 1:
            rows.append(("attempt", _e(f"{record.attempt} (retry of job {record.retry_of})")))
        for key, value in sorted(record.tags.items()):
            rows.append((f"tag {_e(key)}", _e(value)))
        if record.invocation_arn:
            rows.append(("invocation", _e(record.invocation_arn)))
        if media.video_src is not None:
            rows.append(("video", _e(media.video_note)))
        parts.append(
            '<dl class="facts">'
            + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
            + "</dl>"
        )
        if media.sheet is not None:
            parts.append(
                '<details class="sheet"><summary>Contact sheet</summary>'
                f'<a href="{_e(media.sheet)}"><img src="{_e(media.sheet)}" loading="lazy"'
                f' alt="contact sheet of job {record.id}"></a></details>'
            )
        parts.append("</div></article>")
        return "".join(parts), media.video_src is not None

    @staticmethod
    def _text_html(described: _Described) -> str:
        if described.shots:
            items = []
            for text, image in described.shots:
                frame = f'<span class="frame">starting frame: {_e(image)}</span>' if image else ""
                items.append(f'<li><p class="prompt">{_e(text)}</p>{frame}</li>')
            return f'<ol class="shots" aria-label="shots">{"".join(items)}</ol>'
        if described.prompts:
            return "".join(f'<p class="prompt">{_e(p)}</p>' for p in described.prompts)
        return '<p class="prompt empty">(no prompt recorded)</p>'

    def _time_rows(self, record: JobRecord) -> list[tuple[str, str]]:
        rows = [("recorded", _when(record.created_at))]
        if record.submit_time is not None:
            rows.append(("submitted", _when(record.submit_time)))
        if record.end_time is not None:
            rows.append(("ended", _when(record.end_time)))
            if record.submit_time is not None:
                took = (record.end_time - record.submit_time).total_seconds()
                if took >= 0:
                    rows.append(("took", _e(_span(took))))
        elif record.status in ("InProgress", "Submitting"):
            start = record.submit_time or record.created_at
            running = (self.now - start).total_seconds()
            if running >= 0:
                rows.append(("running", _e(f"{_span(running)} when this page was written")))
        return rows


# --------------------------------------------------------------------------- page


def _select(name: str, label: str, values: Iterable[tuple[str, str]]) -> str:
    options = "".join(f'<option value="{_e(v)}">{_e(text)}</option>' for v, text in values)
    return (
        f'<label>{_e(label)} <select data-filter="{_e(name)}" name="{_e(name)}">'
        f'<option value="">all</option>{options}</select></label>'
    )


def _csp(origins: Sequence[str]) -> str:
    media = " ".join(["'self'", *sorted(origins)])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"media-src {media}; base-uri 'none'; form-action 'none'; object-src 'none'"
    )


def _page(
    cards: list[str],
    records: Sequence[JobRecord],
    batches: dict[int, BatchRecord],
    origins: Sequence[str],
    now: datetime,
) -> str:
    statuses = Counter(r.status for r in records)
    models = sorted({r.model_id for r in records})
    batch_ids = sorted({r.batch_id for r in records if r.batch_id is not None})

    def model_label(model_id: str) -> str:
        model = find_model(model_id)
        return f"{model.info.name} ({model_id})" if model is not None else model_id

    def batch_label(batch_id: int) -> str:
        batch = batches.get(batch_id)
        return f"{batch_id}: {Path(batch.file_path).name}" if batch else str(batch_id)

    filters = (
        '<form id="filters" class="filters" hidden>'
        + _select("status", "Status", ((s, f"{s} ({n})") for s, n in sorted(statuses.items())))
        + _select("model", "Model", ((m, model_label(m)) for m in models))
        + _select("batch", "Batch", ((str(b), batch_label(b)) for b in batch_ids))
        + '<output id="shown" aria-live="polite"></output>'
        + "</form>"
        + '<noscript><p class="notice">Filters need JavaScript; all jobs are shown.</p>'
        + "</noscript>"
    )
    summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "no jobs"
    body = (
        "".join(cards)
        if cards
        else '<p class="empty">The ledger has no jobs yet. Run `novareel generate`.</p>'
    )
    written = now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_e(_csp(origins))}">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="{_e(GENERATOR)}">
<title>novareel gallery</title>
<link rel="icon" href="assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="assets/gallery.css">
<script src="assets/gallery.js" defer></script>
</head>
<body>
<header class="top">
<h1>novareel gallery</h1>
<p class="meta">{_e(len(records))} jobs ({_e(summary)}), written {_e(written)}
from the ledger.</p>
{filters}
</header>
<main id="cards" class="grid">
{body}
</main>
</body>
</html>
"""


def _prepare(out_dir: Path) -> None:
    """Refuse a folder that holds something other than a gallery; create the rest."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidRequestError(
            Problem("out", f"{out_dir} is a file, not a folder", value=str(out_dir))
        )
    index = out_dir / "index.html"
    if out_dir.is_dir() and not index.exists() and any(out_dir.iterdir()):
        raise InvalidRequestError(
            Problem("out", f"{out_dir} is not empty and holds no gallery", value=str(out_dir)),
            hint="Choose a new or empty folder with -o (or one an earlier gallery wrote).",
        )
    if index.exists():
        head = index.read_text(encoding="utf-8", errors="replace")[:4000]
        if f'content="{GENERATOR}"' not in head:
            raise InvalidRequestError(
                Problem(
                    "out",
                    f"{index} exists and was not written by novareel gallery",
                    value=str(out_dir),
                ),
                hint="Choose another folder with -o; novareel never overwrites other pages.",
            )
    (out_dir / "assets").mkdir(parents=True, exist_ok=True)
    (out_dir / "media").mkdir(parents=True, exist_ok=True)


def _copy_assets(out_dir: Path) -> None:
    package = resources.files("novareel.gallery").joinpath("assets")
    for name in _ASSETS:
        data = package.joinpath(name).read_bytes()
        target = out_dir / "assets" / name
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)


def _prune(media_dir: Path, keep: set[str]) -> None:
    """Remove this gallery's own media files that no card uses any more."""
    for path in media_dir.iterdir():
        if _OWN_MEDIA.match(path.name) and path.name not in keep:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def build_gallery(
    records: Sequence[JobRecord],
    out_dir: str | os.PathLike[str],
    *,
    batches: dict[int, BatchRecord] | None = None,
    presigner: Presigner | None = None,
    presign_note: str | None = None,
    contact_sheets: bool = False,
    now: datetime | None = None,
) -> GalleryResult:
    """Write ``index.html``, ``assets/`` and ``media/`` for these jobs into ``out_dir``.

    Local videos are linked into ``media/`` (so the page's links stay relative and
    ``--serve`` can reach them) with a JPEG poster beside each. A Completed job whose
    video is only in S3 gets a link from ``presigner``; without one (or when it
    fails, e.g. no credentials), the card says why there is no player, as it does
    for failed and unfinished jobs. ``contact_sheets`` makes a contact sheet for each
    local video that has none beside it (it decodes the whole video, once).
    """
    target = Path(out_dir).expanduser().resolve()
    _prepare(target)
    _copy_assets(target)
    when = now or datetime.now(timezone.utc)
    builder = _Builder(
        target,
        presigner=presigner,
        presign_note=presign_note,
        contact_sheets=contact_sheets,
        now=when,
    )
    batch_map = dict(batches or {})
    cards: list[str] = []
    players = 0
    for record in records:
        card, has_player = builder.card(record, batch_map)
        cards.append(card)
        players += int(has_player)
    page = _page(cards, records, batch_map, sorted(builder.origins), when)
    index = target / "index.html"
    partial = target / ".index.html.part"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, index)
    _prune(target / "media", builder.written)
    return GalleryResult(
        out_dir=target,
        index=index,
        cards=len(cards),
        players=players,
        by_status=dict(sorted(Counter(r.status for r in records).items())),
        notes=builder.notes,
    )


def file_url(path: Path) -> str:
    """``file://`` URL of a local file (for ``--open`` without ``--serve``)."""
    return path.resolve().as_uri()


__all__ = [
    "GENERATOR",
    "GalleryResult",
    "Presigner",
    "build_gallery",
    "describe_request",
    "file_url",
]
