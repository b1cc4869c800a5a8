"""Downloading a job's files: every one, never outside its folder, checked."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from novareel.client import (
    S3Object,
)
from novareel.foundation.errors import (
    DownloadError,
)
from novareel.foundation.naming import job_folder_name, job_label
from novareel.foundation.results import JobResult
from novareel.foundation.s3uri import S3Uri, parse_s3_uri
from novareel.foundation.status import JobStatus
from novareel.jobs.submitting import kill_point
from novareel.jobs.tracking import Tracking
from novareel.models import (
    VideoShape,
    shape_of,
    video_name,
)

if TYPE_CHECKING:
    from novareel.ledger import JobRecord

log = logging.getLogger("novareel")

MAX_NAME_BYTES = 255


@dataclass(frozen=True)
class DownloadProgress:
    """Reported while files arrive: bytes so far and in total."""

    done_bytes: int
    total_bytes: int
    files: int


def safe_local_path(target: Path, relative_key: str) -> Path:
    """Where an object's relative key lands under ``target``, or a DownloadError.

    S3 keys are arbitrary strings: ``../x``, ``/etc/x``, ``a/../../x``, backslashes
    and NUL must never steer a write outside ``target``. Components are checked one by
    one (no empty, ``.`` or ``..`` part, nothing over 255 bytes) and the resolved path
    must still lie inside the resolved target, which also defeats symlinks planted in
    the folder.
    """
    problem: str | None = None
    if not relative_key or relative_key.startswith("/") or "\\" in relative_key:
        problem = "is absolute, empty or uses backslashes"
    elif "\x00" in relative_key:
        problem = "contains a NUL byte"
    else:
        parts = PurePosixPath(relative_key).parts
        raw_parts = relative_key.split("/")
        if any(p in ("", ".", "..") for p in raw_parts) or not parts:
            problem = "has an empty, '.' or '..' component"
        elif any(len(p.encode("utf-8")) > MAX_NAME_BYTES for p in raw_parts):
            problem = f"has a component longer than {MAX_NAME_BYTES} bytes"
    if problem is None:
        root = target.resolve()
        dest = (root / relative_key).resolve()
        if dest == root or not dest.is_relative_to(root):
            problem = "resolves outside the download folder"
        else:
            return dest
    raise DownloadError(
        f"refusing to download key {relative_key[:120]!r}: it {problem}",
        hint="The key was skipped so nothing is written outside the target folder.",
    )


def make_job_folder(target: Path) -> None:
    """Create the job's folder, refusing one that is a symlink (or not a folder).

    The folder's parent is the user's resolved ``--out``; the job folder itself is
    novareel's, so a symlink found under its name was planted (by a shared folder, an
    agent's earlier call): following it wrote ``output.mp4`` outside the root the MCP
    server reported it inside. Every door downloads through here.
    """
    with contextlib.suppress(FileExistsError):
        os.mkdir(target)
    info = os.lstat(target)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
        raise DownloadError(
            f"refusing to download into {target}: it is {what}",
            hint="Remove it (nothing was written), or download into another --out folder.",
        )


def _complete(dest: Path, size: int) -> bool:
    """Already downloaded: a regular file (not a link) of the right size."""
    return _regular_size(dest) == size


def _regular_size(path: Path) -> int:
    """The size of ``path`` if it is a regular file, not a link; else -1."""
    try:
        info = os.lstat(path)
    except OSError:
        return -1
    return info.st_size if stat.S_ISREG(info.st_mode) else -1


def _open_folder(target: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of ``target/parts...``, made as needed, never through a symlink.

    Each component is opened relative to the one before with ``O_NOFOLLOW``, so a
    link planted anywhere on the way (even after the plan was checked) is refused
    instead of followed.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    where = target
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise _unsafe_folder(where, exc) from exc
    for part in parts:
        where = where / part
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=fd)
            child = os.open(part, flags, dir_fd=fd)
        except OSError as exc:
            os.close(fd)
            raise _unsafe_folder(where, exc) from exc
        os.close(fd)
        fd = child
    return fd


def _unsafe_folder(path: Path, exc: OSError) -> DownloadError:
    return DownloadError(
        f"refusing to write under {path}: it is a symbolic link or not a folder ({exc.strerror})",
        hint="Remove it (nothing was written there), or download into another --out folder.",
    )


class _Staging:
    """Where files arrive before they are moved into place, one per download call.

    s3transfer writes by path; a fresh ``mkdtemp`` folder (mode 0700, a random name)
    holds nothing planted, and each complete file is then renamed into its folder,
    opened component by component without following links (:func:`_open_folder`), so
    no write can land outside the job's folder. A rename replaces a link found under
    the final name rather than writing through it. Complete files are moved even when
    the download fails midway (a rerun fetches only the rest), and the staging folder
    is removed.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.resolved = target.resolve()  # what safe_local_path's destinations start with
        self.folder = Path(tempfile.mkdtemp(prefix=".novareel-download-", dir=target))
        self.moves: list[tuple[Path, Path, int]] = []

    def path_for(self, obj: S3Object, dest: Path) -> Path:
        staged = self.folder / str(len(self.moves))
        self.moves.append((staged, dest, obj.size))
        return staged

    def __enter__(self) -> _Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for staged, dest, size in self.moves:
                if _regular_size(staged) != size:
                    continue  # incomplete: fetched again next time
                parts = dest.relative_to(self.resolved).parts
                fd = _open_folder(self.target, parts[:-1])
                try:
                    os.rename(staged, parts[-1], dst_dir_fd=fd)
                except OSError as exc:  # a folder under the file's name, say
                    raise DownloadError(
                        f"cannot put {dest} in place ({exc.strerror})",
                        hint="Remove what is there, then run the download again.",
                    ) from exc
                finally:
                    os.close(fd)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def job_download_folder(
    out_dir: str | os.PathLike[str],
    invocation_id: str,
    record: JobRecord | None,
    submit_time: datetime | None = None,
) -> Path:
    """The folder a job's files go to under ``out_dir`` (one rule for every command).

    A job that already has files under ``out_dir`` keeps their folder, and so does an
    old ``<out_dir>/<invocation-id>/`` folder: rows written before the naming rule
    keep working and nothing is fetched twice. Otherwise the name comes from
    :func:`novareel.foundation.naming.job_folder_name`.
    """
    root = Path(out_dir).resolve()
    if record is not None:
        for path in record.local_files:
            file = Path(path)
            if file.is_relative_to(root) and file.parent != root:
                first = root / file.relative_to(root).parts[0]
                if first.is_dir():
                    return first
    legacy = root / invocation_id
    if legacy.is_dir():
        return legacy
    label = (
        job_label(name=record.name, batch_item=record.batch_item, request=record.request)
        if record is not None
        else ""
    )
    when = (record.submit_time if record is not None else None) or submit_time
    return root / job_folder_name(invocation_id, label=label, when=when)


def check_output_video(path: Path, shape: VideoShape) -> list[str]:
    """Mismatches between the downloaded video and what was asked (as notices)."""
    if not path.is_file() or not shape.seconds:
        return []
    try:
        from novareel.media.video import check_video
        from novareel.media.video_probe import probe_video
    except ImportError:  # pragma: no cover - media module missing
        return []
    try:
        # Metadata, packets and keyframes only: a full decode cost ~300 ms per job.
        info = probe_video(path)
    except Exception as exc:  # a broken file is worth a notice, not a crash
        return [f"{path.name} could not be read as a video: {exc}"]
    found = check_video(
        info,
        expected_duration=shape.seconds,
        width=shape.width,
        height=shape.height,
        fps=shape.fps,
    )
    return [f"{path.name}: {m}" for m in found]


class Fetching(Tracking):
    """:meth:`download`."""

    # -- download --

    def download(
        self,
        ref: str,
        out_dir: str | os.PathLike[str] | None = None,
        *,
        on_progress: Callable[[DownloadProgress], None] | None = None,
        check_video: bool = True,
    ) -> JobResult:
        """Fetch every file of the job's folder into ``<out_dir>/<date>-<slug>-<id>/``
        (see :mod:`novareel.foundation.naming`).

        ``out_dir=None`` means the folder recorded when the job was submitted (its
        ``--out``), else the current folder. Files already present with the right
        size are not fetched again; keys that would land outside the folder are
        refused. A Failed job yields its status file and manifest (there is no video
        to fetch).
        """
        _, record = self.resolve(ref)
        return self._fetch(
            self.status(ref), record, out_dir, on_progress=on_progress, check_video=check_video
        )

    def _fetch(
        self,
        result: JobResult,
        record: JobRecord | None,
        out_dir: str | os.PathLike[str] | None,
        *,
        on_progress: Callable[[DownloadProgress], None] | None = None,
        check_video: bool = True,
    ) -> JobResult:
        """:meth:`download` for a job whose status is known already (``result``, just
        asked of the service: :meth:`VideoGenerator.finish <novareel.jobs.VideoGenerator.finish>`
        has it from the wait, so it does not ask again)."""
        if out_dir is None:
            out_dir = (record.out_dir if record is not None else None) or "."
        if result.status == JobStatus.IN_PROGRESS:
            raise DownloadError(
                f"job {result.invocation_id} is still InProgress; nothing to download yet",
                hint=f"Run `novareel wait {result.ledger_id or result.invocation_arn}` first.",
            )
        if not result.output_uri or not result.invocation_id:
            raise DownloadError("the service returned no output location for this job")
        folder = parse_s3_uri(result.output_uri).as_folder()
        target = job_download_folder(out_dir, result.invocation_id, record, result.submit_time)
        target.parent.mkdir(parents=True, exist_ok=True)  # the user's --out (may be a link)
        make_job_folder(target)
        objects = self.client.list_objects(folder)
        plan: list[tuple[S3Object, Path]] = []
        skipped: list[str] = []
        for obj in objects:
            relative = obj.key[len(folder.key) :]
            try:
                dest = safe_local_path(target, relative)
            except DownloadError as exc:
                log.warning("%s", exc.message)
                skipped.append(relative)
                continue
            plan.append((obj, dest))
        todo = [(obj, dest) for obj, dest in plan if not _complete(dest, obj.size)]
        total = sum(obj.size for obj, _ in todo)
        done = [0]

        def on_bytes(n: int) -> None:
            done[0] += n
            if on_progress:
                on_progress(DownloadProgress(done[0], total, len(todo)))

        if todo:
            with _Staging(target) as staging:
                self.client.download_objects(
                    [
                        (S3Uri(folder.bucket, obj.key), staging.path_for(obj, dest))
                        for obj, dest in todo
                    ],
                    on_bytes=on_bytes,
                )
        for obj, dest in plan:
            size = _regular_size(dest)
            if size != obj.size:
                raise DownloadError(
                    f"{dest} has {size} bytes, expected {obj.size}",
                    hint="Run the download again; complete files are kept.",
                )
        files = sorted(str(dest) for _, dest in plan)
        notices = list(result.notices)
        if skipped:
            notices.append(f"skipped {len(skipped)} unsafe key(s): {', '.join(skipped[:3])}")
        # A job of unknown length (adopted by `jobs sync`) is not checked, as before:
        # a guessed length would flag a correct video.
        video = target / video_name(result.model_id)
        if check_video and result.status == JobStatus.COMPLETED and result.duration_seconds:
            shape = shape_of(result.model_id, result.request, result.duration_seconds)
            notices.extend(check_output_video(video, shape))
        qa = None
        if self.run_qa and result.status == JobStatus.COMPLETED:
            from novareel.jobs.quality import verdict_after_download

            qa = verdict_after_download(video, result, ledger=self.ledger, job_id=result.ledger_id)
        if qa is not None and qa["findings"]:  # a warning; a clean verdict is in .qa
            notices.append(f"qa: {qa['summary']}")
        kill_point("after-download")
        if self.ledger is not None and result.ledger_id is not None:
            self.ledger.record_files(result.ledger_id, files)
        return result.with_(
            local_dir=str(target), local_files=tuple(files), notices=tuple(notices), qa=qa
        )
