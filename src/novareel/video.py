"""Look at the videos that come back: what they are, frames, contact sheets.

A finished job is an ``output.mp4`` that should be H.264, 1280x720, 24 fps and as long
as was paid for (6 s per shot). :func:`inspect_video` reads what the file really is,
:func:`check_video` compares it with the request, :func:`extract_frame` pulls one frame
(at exactly 1280x720, ready to be the starting frame of the next clip) and
:func:`contact_sheet` tiles one frame per shot into a PNG that shows a whole video at a
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

import itertools
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.errors import InvalidRequestError, Problem

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

__all__ = [
    "ContactSheet",
    "VideoInfo",
    "check_video",
    "concat_videos",
    "contact_sheet",
    "extract_frame",
    "inspect_video",
    "make_contact_sheet",
    "probe_video",
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
        raise _problem(path, "file not found")
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


#: Containers whose demuxer gives every frame's packet a timestamp from the index
#: (ISO BMFF: what Nova Reel and Luma Ray 2 deliver), and the codecs whose decoder
#: is known to parse every packet when asked to skip all but keyframes. Anything else
#: goes through the full decode.
_PROBE_FORMATS = frozenset({"mov", "mp4"})
_PROBE_CODECS = frozenset({"h264"})


#: NAL unit types a plain H.264 stream in MP4 carries (slices, SEI, parameter sets,
#: delimiters, filler). Anything else (unspecified, reserved, SVC/MVC, data
#: partitioning) sends the file to the full decode.
_H264_PLAIN_NALS = frozenset({1, 5, 6, 7, 8, 9, 10, 11, 12})
_H264_SLICES = frozenset({1, 5})


class _Bits:
    """A bit reader (fixed-width and Exp-Golomb codes) over a NAL unit's RBSP."""

    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")
        self.left = len(data) * 8

    def u(self, width: int) -> int:
        if width > self.left:
            raise ValueError("truncated field")
        self.left -= width
        return (self.value >> self.left) & ((1 << width) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.left > 0 and not (self.value >> (self.left - 1)) & 1:
            zeros += 1
            self.left -= 1
        if self.left < zeros + 1 or zeros > 31:
            raise ValueError("truncated Exp-Golomb code")
        self.left -= zeros + 1
        return ((1 << zeros) | ((self.value >> self.left) & ((1 << zeros) - 1))) - 1

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)


def _rbsp(nal: bytes, limit: int = 32) -> bytes:
    """The first ``limit`` bytes of a NAL unit's payload without emulation prevention."""
    out = bytearray()
    zeros = 0
    for byte in nal[1 : limit + 1]:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


#: Profiles whose sequence parameter set carries chroma format, bit depths and
#: scaling lists before the fields read here.
_HIGH_PROFILES = frozenset({44, 83, 86, 100, 110, 118, 122, 128, 134, 135, 138, 139, 244})


@dataclass(frozen=True)
class _Sps:
    """What a slice header's picture order count needs from its sequence parameters."""

    log2_max_frame_num: int
    poc_type: int
    log2_max_poc_lsb: int
    colour_planes: bool


def _parse_sps(nal: bytes) -> tuple[int, _Sps]:
    """``(id, parameters)`` of a sequence parameter set (progressive video only:
    interlaced streams and picture order count type 1 raise ValueError)."""
    bits = _Bits(_rbsp(nal, len(nal)))
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    sps_id = bits.ue()
    colour_planes = False
    if profile in _HIGH_PROFILES:
        chroma = bits.ue()
        if chroma == 3:
            colour_planes = bool(bits.u(1))
        bits.ue(), bits.ue(), bits.u(1)  # bit depths, transform bypass
        if bits.u(1):  # scaling matrices
            for i in range(12 if chroma == 3 else 8):
                if bits.u(1):
                    last = following = 8
                    for _ in range(16 if i < 6 else 64):
                        if following:
                            following = (last + bits.se() + 256) % 256
                        last = following or last
    log2_max_frame_num = bits.ue() + 4
    poc_type = bits.ue()
    if poc_type not in (0, 2):
        raise ValueError("picture order count type not followed")
    log2_max_poc_lsb = bits.ue() + 4 if poc_type == 0 else 0
    bits.ue(), bits.u(1), bits.ue(), bits.ue()  # refs, gaps, width, height
    if not bits.u(1):
        raise ValueError("interlaced video not followed")
    return sps_id, _Sps(log2_max_frame_num, poc_type, log2_max_poc_lsb, colour_planes)


def _parse_pps(nal: bytes) -> tuple[int, int, bool]:
    """``(id, sequence parameter set id, bottom field order present)`` of a PPS."""
    bits = _Bits(_rbsp(nal, 16))
    pps_id, sps_id = bits.ue(), bits.ue()
    bits.u(1)  # entropy coding mode
    return pps_id, sps_id, bool(bits.u(1))


class _H264Packets:
    """What an H.264 decoder checks of every packet before it decodes any pixel, and
    the order in which it will return the frames.

    A full decode fails a packet with "no frame!" when none of its slices can be
    parsed; a decoder told to skip non-key frames does not. So for each packet
    (length-prefixed NAL units, as in MP4) this checks the framing, the NAL headers,
    that there is a slice, and the start of its slice header (first macroblock inside
    the picture, a valid slice type, known parameter sets). It also reads the slice's
    picture order count, the order in which the decoder returns frames (``keys``, one
    per packet): :func:`inspect_video` measures the duration between the first and
    last frames returned, so the packets' timestamps must follow that order for the
    cheap answer to be the same.

    ``ok`` is False on anything odd or not followed (interlacing, picture order count
    type 1): the caller then falls back to the full decode, which gives the verdict.
    This never reports damage itself.
    """

    def __init__(self, extradata: bytes | None, width: int, height: int) -> None:
        data = bytes(extradata or b"")
        self.macroblocks = ((width + 15) // 16) * ((height + 15) // 16)
        self.sps: dict[int, _Sps] = {}
        self.pps: dict[int, tuple[int, bool]] = {}
        self.keys: list[tuple[int, int]] = []
        self.idr = self.prev_msb = self.prev_lsb = 0
        self.length_size = 4
        # An ``avcC`` record (version 1): anything else is not what this parses.
        self.ok = len(data) >= 7 and data[0] == 1 and self.macroblocks > 0
        if not self.ok:
            return
        self.length_size = (data[4] & 3) + 1
        try:
            pos = 6
            for _ in range(data[5] & 0x1F):  # sequence parameter sets
                size = int.from_bytes(data[pos : pos + 2], "big")
                self._sps(data[pos + 2 : pos + 2 + size])
                pos += 2 + size
            count = data[pos]
            pos += 1
            for _ in range(count):  # picture parameter sets
                size = int.from_bytes(data[pos : pos + 2], "big")
                self._pps(data[pos + 2 : pos + 2 + size])
                pos += 2 + size
        except (IndexError, KeyError, ValueError):
            self.ok = False
        if not self.pps:
            self.ok = False

    def _sps(self, nal: bytes) -> None:
        sps_id, sps = _parse_sps(nal)
        self.sps[sps_id] = sps

    def _pps(self, nal: bytes) -> None:
        pps_id, sps_id, bottom = _parse_pps(nal)
        if sps_id not in self.sps:
            raise KeyError(sps_id)
        self.pps[pps_id] = (sps_id, bottom)

    def check(self, packet: bytes) -> None:
        """Clear ``ok`` if this packet would not pass a full decoder's parser; else
        append its frame's place in the decoder's output order to ``keys``."""
        pos, end = 0, len(packet)
        key: tuple[int, int] | None = None
        try:
            while pos < end:
                size = int.from_bytes(packet[pos : pos + self.length_size], "big")
                pos += self.length_size
                if size == 0 or pos + size > end:
                    raise ValueError("bad NAL unit size")
                nal = packet[pos : pos + size]
                kind = nal[0] & 0x1F
                if nal[0] & 0x80 or kind not in _H264_PLAIN_NALS:
                    raise ValueError("not a plain H.264 NAL unit")
                if kind == 7:
                    self._sps(nal)
                elif kind == 8:
                    self._pps(nal)
                elif kind in _H264_SLICES:
                    order = self._slice(nal)
                    key = key or order
                pos += size
        except (IndexError, KeyError, ValueError):
            self.ok = False
            return
        if key is None:
            self.ok = False
        else:
            self.keys.append(key)

    def _slice(self, nal: bytes) -> tuple[int, int]:
        """Check a slice header's start; its picture's ``(IDR period, order)``."""
        bits = _Bits(_rbsp(nal))
        first_mb, slice_type, pps_id = bits.ue(), bits.ue(), bits.ue()
        if first_mb >= self.macroblocks or slice_type > 9:
            raise ValueError("slice header out of range")
        sps_id, bottom = self.pps[pps_id]
        sps = self.sps[sps_id]
        if sps.colour_planes:
            bits.u(2)
        bits.u(sps.log2_max_frame_num)
        idr = nal[0] & 0x1F == 5
        if idr:
            bits.ue()  # idr_pic_id
            if first_mb == 0:
                self.idr += 1
                self.prev_msb = self.prev_lsb = 0
        if sps.poc_type == 2:  # output order is decoding order
            return self.idr, len(self.keys)
        lsb = bits.u(sps.log2_max_poc_lsb)
        delta = bits.se() if bottom else 0
        half = 1 << (sps.log2_max_poc_lsb - 1)
        msb = self.prev_msb
        if lsb < self.prev_lsb and self.prev_lsb - lsb >= half:
            msb += 2 * half
        elif lsb > self.prev_lsb and lsb - self.prev_lsb > half:
            msb -= 2 * half
        if nal[0] & 0x60 and first_mb == 0:  # a reference picture
            self.prev_msb, self.prev_lsb = msb, lsb
        return self.idr, msb + lsb + min(0, delta)


def _same_order_as_decoded(pts: Sequence[int], keys: Sequence[tuple[int, int]]) -> bool:
    """Whether the decoder will return the packets' frames in timestamp order.

    :func:`inspect_video` measures the duration between the first and the last frame
    the decoder returns; the cheap answer (lowest to highest timestamp) is the same
    when the timestamps increase along the decoder's output order (``keys``: IDR
    period, then picture order count, from the slice headers) and are evenly spaced
    wherever frames are reordered. A damaged composition offset table (duplicate or
    shuffled timestamps) or a damaged picture order count breaks that, and the full
    decode decides.
    """
    if len(keys) != len(pts) or len(set(keys)) != len(keys):
        return False
    order = sorted(range(len(pts)), key=keys.__getitem__)
    if not all(pts[a] < pts[b] for a, b in itertools.pairwise(order)):
        return False
    if all(a < b for a, b in itertools.pairwise(pts)):
        return True  # no reordering at all
    steps = {pts[b] - pts[a] for a, b in itertools.pairwise(order)}
    return len(steps) == 1


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """What :func:`inspect_video` reports except shots, at a fraction of the cost.

    This is the check a download runs on every ``output.mp4``, so it must find what a
    full decode finds without paying for one (~300 ms of CPU for 6 s of 720p; this
    takes a few ms). It reads every packet from the container's index (no decoding)
    and hands each one to the decoder told to skip all but keyframes:

    * frame count and duration come from the packets' timestamps, which are the
      timestamps the decoded frames would carry (one MP4 sample is one frame), so a
      short or long video or a hole in the timestamps shows exactly as before;
    * size and codec come from the decoded first keyframe and the frame rate from the
      stream, as in :func:`inspect_video`; every keyframe (the first, and the first of
      every later shot) is really decoded;
    * the skipped packets still go through the decoder's parser (NAL unit framing)
      with ``err_detect=explode``, and through :class:`_H264Packets`, which checks
      what skipping hides from the decoder (each packet holds a slice whose header
      starts sanely: a full decode fails with "no frame!" otherwise) and reads each
      frame's picture order count: the full decode measures the duration between the
      first and last frames the decoder returns, so the timestamps must follow that
      order. Only the pixels of non-key frames are not reconstructed, and there the
      H.264 decoder conceals damage instead of failing, so a full decode does not
      report it either.

    Wherever the cheap answer could differ from the full decode's, it falls back to the
    full decode (without thumbnails), so the answer is the full decode's: a container
    other than MP4/MOV or a codec other than H.264 (no index to trust), a packet
    without a timestamp or marked corrupt or to be discarded (edit lists), a stream
    that does not start with a keyframe, an index that promises more frames than the
    file holds (a cut file with its index first), keyframe flags the decoder does not
    confirm, timestamps that do not follow the picture order (damaged composition
    offsets or slice headers), interlaced video or picture order count type 1 (not
    followed), and any error the decoder reports (damage; "explode" is stricter than a
    full decode, which conceals some of it). Damaged files are rare, so the fallback's
    cost does not matter; an intact H.264 MP4 (what Nova Reel and Luma Ray 2 deliver,
    with or without B-frames) does not take it.

    ``shot_starts`` is always empty: shots need every frame (use :func:`inspect_video`).
    Errors are those of :func:`inspect_video` (file not found, not a video, no video
    stream, damaged).
    """
    probed = _probe_packets(path)
    if probed is not None:
        return probed
    return _inspect(path, shots=False)


def _probe_packets(path: str | os.PathLike[str]) -> VideoInfo | None:
    """The cheap half of :func:`probe_video`; ``None`` means "do the full decode"."""
    import av

    container = _open(path)
    try:
        if not _PROBE_FORMATS & set(container.format.name.split(",")):
            return None
        stream = container.streams.video[0]
        context = stream.codec_context
        if context is None or context.name not in _PROBE_CODECS or stream.time_base is None:
            return None
        context.thread_count = 1  # one keyframe at a time: threads only add overhead
        context.skip_frame = "NONKEY"
        # Skipping frames also silences the decoder's "no frame!" check (a packet none
        # of whose slices parse); "explode" turns the slice-header errors behind it,
        # and any other error the decoder notices, into exceptions.
        context.options = {"err_detect": "explode"}
        parser = _H264Packets(context.extradata, stream.width, stream.height)
        if not parser.ok:
            return None
        pts: list[int] = []
        last_dts: int | None = None
        keyframes = decoded = 0
        width = height = 0
        try:
            for packet in container.demux(stream):
                if packet.size:
                    if packet.pts is None or packet.dts is None:
                        return None
                    if packet.is_corrupt or packet.is_discard:
                        return None
                    if not pts and not packet.is_keyframe:
                        return None
                    if last_dts is not None and packet.dts <= last_dts:
                        return None  # not in decoding order: an odd or damaged index
                    last_dts = packet.dts
                    pts.append(packet.pts)
                    keyframes += packet.is_keyframe
                    parser.check(bytes(packet))
                    if not parser.ok:
                        return None
                for _frame in packet.decode():
                    if not decoded:
                        width, height = context.width, context.height
                    decoded += 1
        except av.FFmpegError:
            # Damaged, or stricter than a full decode would be ("explode" also stops
            # at damage the decoder can conceal): the full decode decides, as before.
            return None
        if not pts or decoded != keyframes or (stream.frames and len(pts) < stream.frames):
            return None
        if not _same_order_as_decoded(pts, parser.keys):
            return None
        fps = _fps(stream)
        span = float((max(pts) - min(pts)) * stream.time_base)
        duration = span + (1.0 / fps if fps else 0.0)
        return VideoInfo(
            path=os.fspath(path),
            codec=context.name,
            width=width,
            height=height,
            fps=round(fps, 3),
            duration_seconds=round(duration, 3),
            frame_count=len(pts),
            size_bytes=Path(path).stat().st_size,
            shot_starts=[],
        )
    finally:
        container.close()


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
    from novareel.images import fit_image

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


def contact_sheet(
    path: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    *,
    every: float | None = None,
    columns: int | None = None,
    thumb_width: int = 320,
) -> Path:
    """Write a contact sheet PNG (see :func:`make_contact_sheet`) and return its path."""
    return make_contact_sheet(
        path, out_png, every=every, columns=columns, thumb_width=thumb_width
    ).path
