"""The download's video check without a full decode: :func:`probe_video`.

A download checks every ``output.mp4`` (size, frame rate, length, that it decodes).
Decoding every frame costs ~300 ms of CPU for 6 s of 720p; this reads the MP4 index,
decodes only keyframes and checks the rest of the H.264 packets cheaply, falling back
to :func:`novareel.media.video.inspect_video`'s full decode wherever the cheap answer could
differ (see :func:`probe_video`). It lives apart from :mod:`novareel.media.video` because
the H.264 bitstream reading below is only for this check.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from novareel.media.video import VideoInfo, _fps, _inspect, _open

__all__ = ["probe_video"]


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
