"""Look at the videos that come back: what they are, frames, contact sheets.

A finished job is an ``output.mp4`` that should be H.264, 1280x720, 24 fps and as long
as was paid for (6 s per shot). :func:`inspect_video` reads what the file really is,
:func:`check_video` compares it with the request, :func:`extract_frame` pulls one frame
(at exactly 1280x720, ready to be the starting frame of the next clip) and
:func:`make_contact_sheet` tiles one frame per shot into a PNG that shows a whole video at a
glance.

Shots are found by frame difference: every frame is shrunk to 64x36 by the decoder's
scaler and compared with the previous one. A cut is a jump that is both large in
absolute terms and far above the recent motion, so a fast pan does not count as a cut
while a change of scene does. Nova Reel cuts every 6 s in multi-shot jobs and the
emulator's shots look nothing alike, so this simple detector is reliable for both.

PyAV, numpy and Pillow are imported inside functions: importing this module is cheap.
Local files only; fetching from S3 is the client's job.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import InvalidRequestError, Problem

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

__all__ = [
    "ContactSheet",
    "VideoInfo",
    "check_video",
    "concat_videos",
    "extract_frame",
    "inspect_video",
    "make_contact_sheet",
    "save_frame",
]

WIDTH = 1280
HEIGHT = 720
FPS = 24

#: Mean absolute difference (0-255) between 64x36 thumbnails above which a frame
#: change may be a cut...
_CUT_MIN_SCORE = 24.0
#: ...provided it is also this many times the median of the recent differences.
_CUT_RATIO = 4.0
#: Two cuts closer than this are one flash, not two shots.
_MIN_SHOT_SECONDS = 0.5
_THUMB = (64, 36)


@dataclass(frozen=True)
class VideoInfo:
    """What a video file really is (from decoding it, not from its metadata alone).

    ``duration_seconds`` is the span of the decoded frames (last timestamp minus first,
    plus one frame), so for constant frame rate it equals ``frame_count / fps``.
    ``shot_starts`` are the times (s) at which shots begin; the first is always 0.
    """

    path: str
    codec: str
    width: int
    height: int
    fps: float
    duration_seconds: float
    frame_count: int
    size_bytes: int
    shot_starts: list[float] = field(default_factory=list)

    @property
    def shots(self) -> int:
        """How many shots were detected."""
        return len(self.shot_starts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, snake_case keys, with ``shots`` included."""
        data = asdict(self)
        data["shots"] = self.shots
        return data


@dataclass(frozen=True)
class ContactSheet:
    """A written contact sheet and where each tile sits, for callers that annotate it.

    ``tiles`` are ``(left, top, right, bottom)`` boxes of the picture part of each tile
    (the label strip is below it), in the same order as ``timestamps``.
    """

    path: Path
    timestamps: list[float]
    columns: int
    rows: int
    tiles: list[tuple[int, int, int, int]]
    width: int
    height: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "timestamps": self.timestamps,
            "columns": self.columns,
            "rows": self.rows,
            "tiles": [list(box) for box in self.tiles],
            "width": self.width,
            "height": self.height,
        }


# --------------------------------------------------------------------------- opening


def _problem(path: str | os.PathLike[str], message: str) -> InvalidRequestError:
    return InvalidRequestError(Problem("video", message, value=os.fspath(path)))


def _open(path: str | os.PathLike[str]) -> Any:
    """Open a local video with PyAV, translating its errors to novareel's."""
    import av

    p = Path(path)
    if not p.exists():
        raise _problem(path, f"file not found: {path}")
    if p.is_dir():
        raise _problem(path, "is a folder, not a video file")
    try:
        container = av.open(str(p))
    except (av.FFmpegError, OSError) as exc:
        raise _problem(path, f"cannot be read as a video ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise _problem(path, "has no video stream")
    return container


def _video_stream(container: Any) -> Any:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return stream


def _fps(stream: Any) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _frames(path: str | os.PathLike[str]) -> Iterator[tuple[float, Any, Any]]:
    """Yield ``(time, frame, stream)`` for every decoded frame, in order."""
    import av

    container = _open(path)
    try:
        stream = _video_stream(container)
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                yield float(frame.pts * stream.time_base), frame, stream
        except av.FFmpegError as exc:
            raise _problem(path, f"is damaged: decoding failed ({exc})") from exc
    finally:
        container.close()


def _thumb(frame: Any) -> np.ndarray[Any, Any]:
    import numpy as np

    array = frame.reformat(width=_THUMB[0], height=_THUMB[1], format="rgb24").to_ndarray()
    return np.asarray(array, dtype=np.int16)


# --------------------------------------------------------------------------- inspect


def _detect_cuts(times: Sequence[float], scores: Sequence[float]) -> list[float]:
    """Shot start times from per-frame difference scores (``scores[i]`` compares frame
    ``i`` with frame ``i - 1``; ``scores[0]`` is unused)."""
    import statistics

    starts = [0.0] if times else []
    history: list[float] = []
    for t, score in zip(times[1:], scores[1:], strict=True):
        baseline = statistics.median(history[-24:]) if history else 0.0
        if score >= _CUT_MIN_SCORE and score >= _CUT_RATIO * baseline:
            if t - starts[-1] >= _MIN_SHOT_SECONDS:
                starts.append(round(t - times[0], 3))
            history.clear()
        else:
            history.append(score)
    return starts


def inspect_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Decode a whole video once and report codec, size, fps, duration and shots.

    Decoding every frame (rather than trusting the container's metadata) is what lets
    this catch a truncated download or a video with missing frames. A 2-minute Nova
    Reel video decodes in a few seconds. To compare a video with a request without
    needing its shots, :func:`probe_video` gives the same answer far more cheaply.
    """
    return _inspect(path, shots=True)


def _inspect(path: str | os.PathLike[str], *, shots: bool) -> VideoInfo:
    """The full decode behind :func:`inspect_video`; ``shots=False`` skips the 64x36
    thumbnails and the cut detection (``shot_starts`` is then empty)."""
    import numpy as np

    size_bytes = Path(path).stat().st_size if Path(path).is_file() else 0
    times: list[float] = []
    scores: list[float] = []
    previous: np.ndarray[Any, Any] | None = None
    codec = ""
    width = height = 0
    fps = 0.0
    for t, frame, stream in _frames(path):
        if not times:
            codec = stream.codec_context.name
            width, height = stream.codec_context.width, stream.codec_context.height
            fps = _fps(stream)
        if shots:
            thumb = _thumb(frame)
            scores.append(0.0 if previous is None else float(np.abs(thumb - previous).mean()))
            previous = thumb
        times.append(t)
    if not times:
        # No decodable frame: report the container's view so the caller sees why.
        container = _open(path)
        try:
            stream = container.streams.video[0]
            codec, width, height, fps = (
                stream.codec_context.name,
                stream.codec_context.width,
                stream.codec_context.height,
                _fps(stream),
            )
        finally:
            container.close()
        duration = 0.0
    else:
        frame_time = 1.0 / fps if fps else 0.0
        duration = times[-1] - times[0] + frame_time
    return VideoInfo(
        path=os.fspath(path),
        codec=codec,
        width=width,
        height=height,
        fps=round(fps, 3),
        duration_seconds=round(duration, 3),
        frame_count=len(times),
        size_bytes=size_bytes,
        shot_starts=_detect_cuts(times, scores) if shots else [],
    )


def check_video(
    info: VideoInfo,
    *,
    expected_duration: float,
    width: int = WIDTH,
    height: int = HEIGHT,
    fps: float = FPS,
) -> list[str]:
    """What differs between a video and what was asked; empty when it matches.

    Duration is allowed one frame of slack either way (encoders round the last frame).
    The codec is not checked: any codec PyAV can decode is a usable video.
    """
    problems: list[str] = []
    if info.frame_count == 0:
        return [f"{info.path} has no decodable frames"]
    if (info.width, info.height) != (width, height):
        problems.append(f"size is {info.width}x{info.height}, expected {width}x{height}")
    if not math.isclose(info.fps, fps, abs_tol=0.01):
        problems.append(f"frame rate is {info.fps:g} fps, expected {fps:g} fps")
    tolerance = 1.0 / fps + 1e-3
    if abs(info.duration_seconds - expected_duration) > tolerance:
        missing = expected_duration - info.duration_seconds
        what = "shorter" if missing > 0 else "longer"
        problems.append(
            f"duration is {info.duration_seconds:g} s, expected {expected_duration:g} s "
            f"({abs(missing):.2f} s {what}; {info.frame_count} frames instead of "
            f"{round(expected_duration * fps)})"
        )
    return problems


# --------------------------------------------------------------------------- joining


def concat_videos(
    parts: Sequence[str | os.PathLike[str]], dest: str | os.PathLike[str]
) -> VideoInfo:
    """Join videos end to end into ``dest`` without re-encoding (PyAV remux).

    For a storyboard run as one job per shot (a model without multi-shot): every part
    comes from the same model with the same settings, so their H.264 streams share
    size, frame rate and codec, and their packets can be copied with shifted
    timestamps: no quality loss, and milliseconds instead of seconds per shot. Parts
    that differ in size or codec are refused rather than joined into a broken file.
    The result is written to a temporary name and renamed, so ``dest`` is never half
    written.
    """
    import av

    if not parts:
        raise _problem(dest, "no videos to join")
    target = Path(dest)
    partial = target.with_name(target.name + ".partial")
    first_shape: tuple[Any, ...] | None = None
    with av.open(str(partial), mode="w", format="mp4") as output:
        out_stream: Any = None
        offset = 0
        for part in parts:
            with _open(part) as container:
                stream = _video_stream(container)
                shape = (stream.codec_context.name, stream.width, stream.height)
                if first_shape is None:
                    first_shape = shape
                    out_stream = output.add_stream_from_template(stream)
                elif shape != first_shape:
                    partial.unlink(missing_ok=True)
                    raise _problem(
                        part,
                        f"is {shape[1]}x{shape[2]} {shape[0]}, the first part is "
                        f"{first_shape[1]}x{first_shape[2]} {first_shape[0]}: not joined",
                    )
                last_end = offset
                for packet in container.demux(stream):
                    if packet.dts is None:
                        continue
                    packet.pts = (packet.pts if packet.pts is not None else packet.dts) + offset
                    packet.dts += offset
                    last_end = max(last_end, packet.pts + (packet.duration or 0))
                    packet.stream = out_stream
                    output.mux(packet)
                offset = last_end
    os.replace(partial, target)
    return inspect_video(target)


# --------------------------------------------------------------------------- frames


def _to_frame_size(image: Image.Image) -> Image.Image:
    """Exactly 1280x720 RGB: videos of another size are fitted (cropped, not bent)."""
    image = image.convert("RGB")
    if image.size == (WIDTH, HEIGHT):
        return image
    from novareel.media.images import fit_image

    fitted, _notes = fit_image(image, "crop")
    return fitted


def _frames_at(path: str | os.PathLike[str], times: Sequence[float]) -> list[Image.Image]:
    """The frame shown at each time (the last frame starting at or before it), in one
    decoding pass. ``times`` must be sorted; times past the end get the last frame."""
    wanted = list(times)
    found: list[Image.Image] = []
    previous: Any = None
    index = 0
    start: float | None = None
    for t, frame, _stream in _frames(path):
        if start is None:
            start = t
        relative = t - start
        while index < len(wanted) and relative > wanted[index] + 1e-6:
            found.append((previous if previous is not None else frame).to_image())
            index += 1
        if index >= len(wanted):
            break
        previous = frame
    while index < len(wanted) and previous is not None:
        found.append(previous.to_image())
        index += 1
    if not found and wanted:
        raise _problem(path, "has no decodable frames")
    return found


def extract_frame(
    path: str | os.PathLike[str], *, at: float | None = None, last: bool = False
) -> Image.Image:
    """The frame shown at ``at`` seconds (or the last frame) as 1280x720 RGB.

    The last frame of a clip is the natural starting frame of the next one, which is
    how longer stories are chained shot by shot. Exactly one of ``at`` / ``last``.
    """
    if (at is None) == (not last):
        raise InvalidRequestError(
            Problem("at", "give exactly one of --at SECONDS or --last", value=at),
        )
    if last:
        frames = _last_frame(path)
        return _to_frame_size(frames)
    assert at is not None
    if at < 0 or not math.isfinite(at):
        raise InvalidRequestError(Problem("at", "must be a time >= 0 in seconds", value=at))
    info = _quick_duration(path)
    if info is not None and at >= info + 1e-6:
        raise InvalidRequestError(
            Problem(
                "at",
                f"is past the end of the video ({info:g} s)",
                value=at,
                limit=f"< {info:g}",
            ),
            hint="Use --last for the final frame.",
        )
    return _to_frame_size(_frames_at(path, [at])[0])


def preview_frame(path: str | os.PathLike[str], *, at: float = 0.0) -> Image.Image:
    """The frame shown at ``at`` seconds (the last one past the end), at the video's
    own size and RGB: for previews such as a gallery's poster, where fitting to
    1280x720 like :func:`extract_frame` would crop a portrait Luma Ray 2 video."""
    if at < 0 or not math.isfinite(at):
        raise InvalidRequestError(Problem("at", "must be a time >= 0 in seconds", value=at))
    return _frames_at(path, [at])[0].convert("RGB")


def _quick_duration(path: str | os.PathLike[str]) -> float | None:
    """The container's duration in seconds (metadata only, no decoding)."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return float(container.duration) / 1_000_000
        return None
    finally:
        container.close()


def _last_frame(path: str | os.PathLike[str]) -> Image.Image:
    """Decode from the last keyframe or so and keep the final frame.

    Seeking near the end avoids decoding a 2-minute video for one frame; if the seek
    lands nowhere useful (no index, odd file) it falls back to a full decode.
    """
    import av

    duration = _quick_duration(path)
    if duration and duration > 3:
        container = _open(path)
        try:
            stream = _video_stream(container)
            target = int((duration - 3) / stream.time_base)
            container.seek(target, stream=stream, backward=True, any_frame=False)
            final = None
            for frame in container.decode(stream):
                final = frame
            if final is not None:
                image: Image.Image = final.to_image()
                return image
        except av.FFmpegError:
            pass
        finally:
            container.close()
    final_frame = None
    for _t, frame, _stream in _frames(path):
        final_frame = frame
    if final_frame is None:
        raise _problem(path, "has no decodable frames")
    result: Image.Image = final_frame.to_image()
    return result


def save_frame(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    at: float | None = None,
    last: bool = False,
) -> Path:
    """Write :func:`extract_frame`'s result to ``out`` (PNG unless it ends .jpg/.jpeg).

    PNG is the default because a frame that becomes the next clip's starting frame
    should not lose quality twice.
    """
    image = extract_frame(path, at=at, last=last)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() in (".jpg", ".jpeg"):
        image.save(target, format="JPEG", quality=95)
    else:
        image.save(target, format="PNG")
    return target


# --------------------------------------------------------------------------- contact sheet


def _label(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:05.2f}"


def make_contact_sheet(
    path: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    *,
    every: float | None = None,
    columns: int | None = None,
    thumb_width: int = 320,
) -> ContactSheet:
    """Tile frames of a video into one PNG, each labelled with its timestamp.

    By default one frame per detected shot, taken mid-shot (the start of a shot may
    still carry the previous one's motion blur); with ``every``, one frame every N
    seconds from 0. Returns where each tile is, so tests and tools can read it back.
    """
    from PIL import Image, ImageDraw, ImageFont

    if every is not None and (not math.isfinite(every) or every <= 0):
        raise InvalidRequestError(Problem("every", "must be a number of seconds > 0", value=every))
    if columns is not None and columns < 1:
        raise InvalidRequestError(Problem("columns", "must be at least 1", value=columns))
    if thumb_width < 16:
        raise InvalidRequestError(Problem("thumb_width", "must be at least 16", value=thumb_width))
    info = inspect_video(path)
    if info.frame_count == 0:
        raise _problem(path, "has no decodable frames")
    duration = info.duration_seconds
    if every is not None:
        count = max(1, math.ceil(duration / every - 1e-9))
        timestamps = [round(i * every, 3) for i in range(count)]
        labels = [_label(t) for t in timestamps]
    else:
        ends = [*info.shot_starts[1:], duration]
        timestamps = [round((a + b) / 2, 3) for a, b in zip(info.shot_starts, ends, strict=True)]
        labels = [f"shot {i} · {_label(t)}" for i, t in enumerate(timestamps, start=1)]
    frames = _frames_at(path, timestamps)

    aspect = info.height / info.width if info.width else 9 / 16
    tile_w = thumb_width
    tile_h = max(1, round(thumb_width * aspect))
    cols = columns or min(len(frames), 4)
    rows = math.ceil(len(frames) / cols)
    gap = 8
    label_h = max(14, tile_w // 16)
    try:
        font: Any = ImageFont.load_default(size=max(10, label_h - 4))
    except (TypeError, OSError):  # Pillow without FreeType
        font = ImageFont.load_default()
    sheet_w = cols * tile_w + (cols + 1) * gap
    sheet_h = rows * (tile_h + label_h) + (rows + 1) * gap
    sheet = Image.new("RGB", (sheet_w, sheet_h), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    boxes: list[tuple[int, int, int, int]] = []
    for i, (frame, label) in enumerate(zip(frames, labels, strict=True)):
        row, col = divmod(i, cols)
        left = gap + col * (tile_w + gap)
        top = gap + row * (tile_h + label_h + gap)
        thumb = frame.convert("RGB").resize((tile_w, tile_h), Image.Resampling.LANCZOS)
        sheet.paste(thumb, (left, top))
        boxes.append((left, top, left + tile_w, top + tile_h))
        draw.text((left + 2, top + tile_h + 1), label, fill=(230, 230, 230), font=font)
    target = Path(out_png)
    target.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(target, format="PNG")
    return ContactSheet(
        path=target,
        timestamps=timestamps,
        columns=cols,
        rows=rows,
        tiles=boxes,
        width=sheet_w,
        height=sheet_h,
    )
