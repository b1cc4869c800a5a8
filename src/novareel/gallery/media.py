"""A job's media on its card: the local video linked into the gallery's folder with a
poster and a contact sheet, else a presigned link to the video in S3, else why there
is no player. A per-shot storyboard's joined video (:class:`JoinedStoryboard`, found
from its shots' files) gets the same treatment on its own card. Everything written
under ``media/`` is named ``job-<id>...`` or ``storyboard-<hash>...`` (the page prunes
the ones no card uses)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import pathname2url

from novareel.foundation.arns import arn_region
from novareel.foundation.errors import NovaReelError
from novareel.foundation.results import VIDEO_SUFFIXES
from novareel.foundation.s3uri import S3Uri
from novareel.foundation.status import JobStatus
from novareel.ledger import JobRecord
from novareel.models import video_name, video_uri

log = logging.getLogger("novareel")

#: A presigner makes a time-limited link to a job's video in S3: (job, object, region).
#: It raises a NovaReelError (no credentials, say) that the card then shows.
Presigner = Callable[[JobRecord, S3Uri, "str | None"], str]

_SHEET_PATTERN = re.compile(r"(contact|sheet)", re.IGNORECASE)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_CSP_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


#: A shot's file in a per-shot storyboard's folder (novareel.running.shotboard's layout).
_SHOT_FILE = re.compile(r"^shot_\d{4}\.mp4$")
#: A manifest is novareel's own small JSON file; anything bigger is not one.
_MANIFEST_LIMIT = 1024 * 1024


@dataclass
class JoinedStoryboard:
    """A per-shot storyboard joined into one video (``output.mp4`` beside
    ``shot_000N.mp4`` and ``manifest.json`` in its folder): the card it gets shows
    the joined video, the jobs it joins and their total cost."""

    folder: Path
    video: Path
    #: the shots' ledger ids, in shot order (from ``manifest.json``)
    job_ids: list[int] = field(default_factory=list)
    duration_seconds: float | None = None

    @property
    def key(self) -> str:
        """A stable, file-name-safe name for its media (the folder's path hashed)."""
        return hashlib.sha256(str(self.folder).encode("utf-8")).hexdigest()[:12]


def _read_manifest(folder: Path) -> JoinedStoryboard | None:
    """The joined storyboard in ``folder`` as its ``manifest.json`` says, if its video
    is there; None for anything else (no manifest, not ours, the video deleted)."""
    path = folder / "manifest.json"
    try:
        if not path.is_file() or path.stat().st_size > _MANIFEST_LIMIT:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("shots"), list):
        return None
    name = data.get("video")
    if not isinstance(name, str) or Path(name).name != name or not (folder / name).is_file():
        return None
    shots = [s for s in data["shots"] if isinstance(s, dict)]
    shots.sort(key=lambda s: s["number"] if isinstance(s.get("number"), int) else 0)
    ids = [s["job_id"] for s in shots if isinstance(s.get("job_id"), int)]
    if not ids:
        return None
    duration = data.get("duration_seconds")
    return JoinedStoryboard(
        folder=folder,
        video=folder / name,
        job_ids=ids,
        duration_seconds=float(duration) if isinstance(duration, int | float) else None,
    )


def joined_storyboards(records: Sequence[JobRecord]) -> list[JoinedStoryboard]:
    """Every joined per-shot storyboard whose shots are among ``records``, found from
    the shots' downloaded files (``shot_000N.mp4`` in the storyboard's folder); each
    once, in the order of its first shot among ``records``."""
    found: dict[Path, JoinedStoryboard | None] = {}
    for record in records:
        for name in record.local_files:
            path = Path(name)
            if _SHOT_FILE.match(path.name) and path.parent not in found:
                found[path.parent] = _read_manifest(path.parent)
    return [board for board in found.values() if board is not None]


def _s3_video(record: JobRecord) -> S3Uri | None:
    """Where the job's video is in S3, if the ledger says (None for a row without an
    output location, or with one that is not ``s3://``)."""
    if not record.output_uri or not record.invocation_id:
        return None
    try:
        return video_uri(record.model_id, record.output_uri, record.invocation_id)
    except NovaReelError:
        return None


def _link(target: Path, link: Path) -> bool:
    """Put ``target``'s content at ``link``: a hard link, else a copy. False if neither.

    A hard link costs no space and is a real file of the gallery's folder, so the page
    keeps working when the folder is copied, zipped or served (``--serve`` serves only
    this folder). A symlink would not: an absolute one breaks every player once the
    folder moves, and a relative one as soon as it is zipped or copied elsewhere. Across
    file systems (no hard link) the file is copied, once: an unchanged copy is kept.
    """
    if link.is_symlink() or (link.exists() and not _fresh(link, target)):
        link.unlink()
    elif link.exists():
        return True  # the same file (a hard link) or an up-to-date copy
    try:
        os.link(target, link)
        return True
    except OSError:
        pass
    try:
        shutil.copy2(target, link)
        return True
    except OSError:
        return False


def _fresh(product: Path, source: Path) -> bool:
    """True when ``product`` exists and is newer than ``source`` (no need to redo it)."""
    try:
        return product.stat().st_mtime >= source.stat().st_mtime
    except OSError:
        return False


def _poster(video: Path, out: Path, duration: float | None) -> bool:
    """Write a JPEG poster (a frame about 1 s in, at most 640 px wide); False on failure."""
    if _fresh(out, video):
        return True
    from novareel.media.video import preview_frame

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
    from novareel.media.video import make_contact_sheet

    try:
        sheet = make_contact_sheet(video, out)
        if len(sheet.timestamps) == 1:
            info_seconds = max(sheet.timestamps[0] * 2, 0.4)
            make_contact_sheet(video, out, every=info_seconds / 4)
    except (NovaReelError, OSError, ValueError) as exc:
        log.warning("no contact sheet for %s: %s", video, exc)
        return False
    return True


@dataclass
class _Media:
    """What a card shows in its top half, decided once per job."""

    video_src: str | None = None
    video_note: str = ""
    poster: str | None = None
    sheet: str | None = None
    origin: str | None = None


class MediaLinks:
    """Decides each job's :class:`_Media` and keeps what the page needs afterwards:
    the media files written (the rest are pruned), the S3 origins the page's
    Content-Security-Policy must allow, and notes for the user."""

    def __init__(
        self,
        out_dir: Path,
        *,
        presigner: Presigner | None,
        presign_note: str | None,
        contact_sheets: bool,
    ) -> None:
        self.out_dir = out_dir
        self.media_dir = out_dir / "media"
        self.presigner = presigner
        self.presign_note = presign_note
        self.contact_sheets = contact_sheets
        self.written: set[str] = set()
        self.origins: set[str] = set()
        self.notes: list[str] = []

    def _rel(self, path: Path) -> str:
        """A relative URL from the page to a file in the gallery's folder."""
        return pathname2url(os.path.relpath(path, self.out_dir))

    def _local(self, video: Path, stem: str, what: str, duration: float | None) -> _Media:
        """A local video's media: hard-linked into ``media/`` as ``<stem>.mp4`` (so
        the folder can be copied, zipped or served), its poster and contact sheet."""
        media = _Media()
        suffix = video.suffix.lower() if video.suffix.lower() in VIDEO_SUFFIXES else ".mp4"
        link = self.media_dir / f"{stem}{suffix}"
        if _link(video, link):
            self.written.add(link.name)
            media.video_src = self._rel(link)
        else:
            # No links on this file system: a relative path works when the page is
            # opened as a file (not through --serve, which serves only this folder).
            media.video_src = pathname2url(os.path.relpath(video.resolve(), self.out_dir))
            self.notes.append(
                f"{what}: could not link {video} into the gallery; "
                "its player works when index.html is opened as a file, not with --serve"
            )
        # where it was downloaded, without the absolute path (the page is shared)
        media.video_note = f"downloaded as {video.parent.name}/{video.name}"
        poster = self.media_dir / f"{stem}-poster.jpg"
        if _poster(video, poster, duration):
            self.written.add(poster.name)
            media.poster = self._rel(poster)
        sheet = _existing_sheet(video)
        if sheet is not None:
            target = self.media_dir / f"{stem}-sheet{sheet.suffix.lower()}"
            if _link(sheet, target):
                self.written.add(target.name)
                media.sheet = self._rel(target)
        elif self.contact_sheets:
            target = self.media_dir / f"{stem}-sheet.png"
            if _make_sheet(video, target):
                self.written.add(target.name)
                media.sheet = self._rel(target)
        return media

    def storyboard_media(self, board: JoinedStoryboard) -> _Media:
        """The joined video of a per-shot storyboard, like a job's local video."""
        what = f"storyboard {board.folder.name}"
        return self._local(board.video, f"storyboard-{board.key}", what, board.duration_seconds)

    def media_for(self, record: JobRecord) -> _Media:
        media = _Media()
        video = record.downloaded_video(video_name(record.model_id))
        if video is not None:
            return self._local(
                video, f"job-{record.id}", f"job {record.id}", record.duration_seconds
            )
        if record.status != JobStatus.COMPLETED:
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
            url = self.presigner(record, uri, arn_region(record.invocation_arn))
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
        if record.status == JobStatus.IN_PROGRESS:
            return (
                "No player yet: the job is still rendering. "
                f"`novareel wait {record.id}` then `novareel download {record.id}`."
            )
        if record.status == JobStatus.SUBMITTING:
            return (
                "No player: the job was recorded but the service never confirmed the "
                "submit. `novareel jobs sync` finds out whether it exists."
            )
        if record.status == JobStatus.REJECTED:
            return "No player: the service refused the request, so no video was made."
        return "No player: the job failed, so there is no video."
