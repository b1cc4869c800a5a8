"""The download's video check: every failure it detects, on real files made with PyAV
and byte surgery.

These tests go through ``novareel.jobs._check_output_video``, the function
``VideoGenerator.download`` calls, so they pin what a download reports whatever the check
does inside (a full decode, or metadata and keyframes). Each damaged file is the
realistic kind: a cut download, an S3 error page saved as ``output.mp4``, a stream whose
packets were overwritten, a video of the wrong size, rate or length.

Most files are 320x180 (the check does not depend on the picture size) so the module
stays fast; one is a 1280x720 emulator render, what a Nova Reel job returns.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from novareel.foundation.errors import InvalidRequestError
from novareel.jobs import _check_output_video
from novareel.models.base import VideoShape

from .conftest import write_video

SMALL = (320, 180)
#: What the small files should be: 320x180, 24 fps, 6 s (144 frames).
SHAPE = VideoShape(width=SMALL[0], height=SMALL[1], fps=24, seconds=6)


def check(path: Path, shape: VideoShape = SHAPE) -> list[str]:
    return _check_output_video(path, shape)


def packets(path: Path) -> list[tuple[int, int, bool]]:
    """``(byte position, size, keyframe)`` of each video packet, in file order."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(p.pos or 0, p.size, p.is_keyframe) for p in container.demux(stream) if p.size]


def remux(
    src: Path,
    dest: Path,
    *,
    fmt: str = "mp4",
    options: dict[str, str] | None = None,
    keep: Callable[[int], bool] = lambda index: True,
    retime: Callable[[int], int] | None = None,
) -> Path:
    """Copy ``src``'s video packets to ``dest`` without re-encoding: into another
    container, with ``faststart`` (index first), without some packets (``keep``), or
    with new timestamps (``retime`` maps a packet's index to its pts in frames)."""
    import av

    with (
        av.open(str(src)) as inp,
        av.open(str(dest), "w", format=fmt, options=options or {}) as out,
    ):
        stream = inp.streams.video[0]
        assert stream.time_base is not None
        target = out.add_stream_from_template(stream)
        index = 0
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue
            if keep(index):
                if retime is not None:
                    ticks = int(Fraction(1, 24) / stream.time_base)
                    packet.pts = packet.dts = retime(index) * ticks
                packet.stream = target
                out.mux(packet)
            index += 1
    return dest


def overwrite(src: Path, dest: Path, spans: list[tuple[int, int]], *, noise: bool) -> Path:
    """``src`` with each ``(position, length)`` span zeroed or filled with noise."""
    data = bytearray(src.read_bytes())
    rng = random.Random(7)
    for pos, length in spans:
        data[pos : pos + length] = (
            bytes(rng.randrange(256) for _ in range(length)) if noise else bytes(length)
        )
    dest.write_bytes(bytes(data))
    return dest


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("check")


@pytest.fixture(scope="module")
def good(folder: Path) -> Path:
    """6 s, 320x180, 24 fps, index at the end (what PyAV and the emulator write)."""
    return write_video(folder / "good.mp4", [(200, 40, 40)], size=SMALL)


@pytest.fixture(scope="module")
def faststart(good: Path, folder: Path) -> Path:
    """The same packets with the index first, as a streaming-friendly service writes."""
    return remux(good, folder / "faststart.mp4", options={"movflags": "faststart"})


@pytest.fixture(scope="module")
def nova(folder: Path) -> Path:
    """A 1280x720 emulator render (camera moves, overlays, x264 on one thread as the
    emulator runs it), 2 s instead of Nova Reel's 6 s to keep the tests fast."""
    from novareel.emulator.render import render_video

    path = folder / "nova.mp4"
    path.write_bytes(render_video("A cat. Zoom in.", 1, frames=48))
    return path


# --------------------------------------------------------------------------- good files


def test_an_emulator_render_passes(nova: Path) -> None:
    assert check(nova, VideoShape(1280, 720, 24, 2)) == []
    (notice,) = check(nova, VideoShape(1280, 720, 24, 6))
    assert "duration is 2 s, expected 6 s (4.00 s shorter; 48 frames instead of 144)" in notice


def test_good_files_pass(good: Path, faststart: Path, folder: Path) -> None:
    assert check(good) == []
    assert check(faststart) == []
    three = write_video(folder / "three.mp4", [(200, 40, 40), (40, 200, 40)], size=SMALL)
    assert check(three, VideoShape(*SMALL, fps=24, seconds=12)) == []


def test_another_container_with_the_right_video_passes(good: Path, folder: Path) -> None:
    """Neither codec nor container is checked: any video PyAV decodes is usable."""
    assert check(remux(good, folder / "good.mkv", fmt="matroska")) == []


def test_a_missing_file_is_not_checked(folder: Path) -> None:
    """The download's size check owns missing files; the video check says nothing."""
    assert check(folder / "missing.mp4") == []


# --------------------------------------------------------------------------- wrong video


def test_wrong_size(folder: Path) -> None:
    path = write_video(folder / "size.mp4", [(90, 90, 90)], size=(256, 144))
    assert check(path) == ["size.mp4: size is 256x144, expected 320x180"]


def test_wrong_frame_rate(folder: Path) -> None:
    path = write_video(folder / "fps.mp4", [(90, 90, 90)], size=SMALL, fps=25)
    assert check(path) == ["fps.mp4: frame rate is 25 fps, expected 24 fps"]


def test_wrong_length(folder: Path) -> None:
    path = write_video(folder / "short.mp4", [(90, 90, 90)], size=SMALL, seconds_per_shot=5)
    assert check(path) == [
        "short.mp4: duration is 5 s, expected 6 s (1.00 s shorter; 120 frames instead of 144)"
    ]


def test_one_frame_of_slack_and_no_more(folder: Path) -> None:
    one = write_video(folder / "143.mp4", [(90, 90, 90)], size=SMALL, seconds_per_shot=143 / 24)
    two = write_video(folder / "142.mp4", [(90, 90, 90)], size=SMALL, seconds_per_shot=142 / 24)
    assert check(one) == []
    (notice,) = check(two)
    assert "duration is 5.917 s, expected 6 s" in notice
    assert "142 frames instead of 144" in notice


def test_a_hole_in_the_timestamps(good: Path, folder: Path) -> None:
    """144 frames whose timestamps skip a second: the video plays 7 s, not 6."""
    path = remux(good, folder / "hole.mp4", retime=lambda i: i if i < 72 else i + 24)
    notices = check(path)
    assert "hole.mp4: frame rate is 20.571 fps, expected 24 fps" in notices
    assert any("duration is 7.007 s, expected 6 s" in n and "144 frames" in n for n in notices)


def test_a_still_image_saved_as_mp4(folder: Path) -> None:
    from PIL import Image

    path = folder / "still.mp4"
    Image.new("RGB", SMALL).save(path, format="PNG")
    notices = check(path)
    assert any("frame rate is 25 fps" in n for n in notices)
    assert any("duration is 0.04 s" in n and "1 frames" in n for n in notices)


# --------------------------------------------------------------------------- not a video


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"", "empty.mp4"), (b"<Error><Code>AccessDenied</Code></Error>" * 4, "error.mp4")],
)
def test_not_a_video(content: bytes, name: str, folder: Path) -> None:
    path = folder / name
    path.write_bytes(content)
    (notice,) = check(path)
    assert notice.startswith(f"{name} could not be read as a video: ")
    assert "cannot be read as a video" in notice


def test_no_video_stream(folder: Path) -> None:
    import av
    import numpy as np

    path = folder / "audio.mp4"
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream("aac", rate=48000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 48000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert check(path) == ["audio.mp4 could not be read as a video: video: has no video stream"]


# --------------------------------------------------------------------------- cut downloads


@pytest.mark.parametrize("share", [0.3, 0.6, 0.95])
def test_cut_file_with_the_index_at_the_end(good: Path, folder: Path, share: float) -> None:
    data = good.read_bytes()
    path = folder / f"cut-end-{share}.mp4"
    path.write_bytes(data[: int(len(data) * share)])
    (notice,) = check(path)
    assert "could not be read as a video" in notice


@pytest.mark.parametrize(("share", "frames"), [(0.3, 1), (0.6, 55), (0.95, 132)])
def test_cut_file_with_the_index_first(
    faststart: Path, folder: Path, share: float, frames: int
) -> None:
    """The index still promises 144 frames; only the frames really there count."""
    data = faststart.read_bytes()
    path = folder / f"cut-fast-{share}.mp4"
    path.write_bytes(data[: int(len(data) * share)])
    (notice,) = check(path)
    assert "s shorter;" in notice
    assert f"{frames} frames instead of 144" in notice


# --------------------------------------------------------------------------- damaged streams


def test_no_keyframe_means_no_decodable_frames(good: Path, folder: Path) -> None:
    path = remux(good, folder / "nokey.mp4", keep=lambda i: i > 0)
    (notice,) = check(path)
    assert notice.endswith("nokey.mp4 has no decodable frames")


@pytest.mark.parametrize("noise", [False, True], ids=["zeroed", "noise"])
@pytest.mark.parametrize("where", ["keyframe", "middle", "last three"])
def test_overwritten_packets(good: Path, folder: Path, where: str, noise: bool) -> None:
    found = packets(good)
    assert found[0][2], "the first packet is the keyframe"
    chosen = {"keyframe": found[:1], "middle": found[70:71], "last three": found[-3:]}[where]
    spans = [(pos, size) for pos, size, _key in chosen]
    path = overwrite(
        good, folder / f"damaged-{where}-{noise}.mp4".replace(" ", "-"), spans, noise=noise
    )
    (notice,) = check(path)
    assert "could not be read as a video" in notice
    assert "is damaged: decoding failed" in notice


@pytest.mark.parametrize("header", [0x60, 0xE1], ids=["type-0", "forbidden-bit"])
def test_a_packet_whose_only_slice_is_unreadable(nova: Path, folder: Path, header: int) -> None:
    """One frame's NAL header overwritten: the packet holds no picture, and a full
    decode of this file fails on it ("no frame!"). A decoder told to skip non-key
    frames does not notice that by itself."""
    pos, _size, _key = packets(nova)[30]
    data = bytearray(nova.read_bytes())
    assert data[pos + 4] & 0x1F == 1, "a length-prefixed non-IDR slice"
    data[pos + 4] = header
    path = folder / f"no-picture-{header}.mp4"
    path.write_bytes(bytes(data))
    (notice,) = check(path, VideoShape(1280, 720, 24, 2))
    assert "is damaged: decoding failed" in notice


def test_unknown_codec(good: Path, folder: Path) -> None:
    """The sample description's codec (``avc1``) overwritten: nothing can decode it."""
    data = good.read_bytes()
    at = data.find(b"avc1", data.find(b"stsd"))
    assert at > 0
    path = folder / "codec.mp4"
    path.write_bytes(data[:at] + b"zzzz" + data[at + 4 :])
    (notice,) = check(path)
    assert "is damaged: decoding failed" in notice
    assert "Decoder not found" in notice


def test_damaged_decoder_setup(good: Path, folder: Path) -> None:
    """The SPS in the index (``avcC``) overwritten: no frame can be decoded."""
    data = good.read_bytes()
    at = data.find(b"avcC")
    assert at > 0
    path = folder / "avcc.mp4"
    path.write_bytes(data[: at + 14] + b"\xff" * 8 + data[at + 22 :])
    (notice,) = check(path)
    assert "is damaged: decoding failed" in notice


# --------------------------------------------------------------------------- the cheap path


def write_b_frames(path: Path) -> Path:
    """6 s at 320x180 with B-frames and a keyframe every 2 s (x264 ``medium``): packets
    in decode order, timestamps out of order, as most services' encoders write."""
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = *SMALL, "yuv420p"
        stream.options = {"preset": "medium", "x264-params": "keyint=48"}
        for i in range(144):
            array = np.full((SMALL[1], SMALL[0], 3), (i * 3) % 255, dtype=np.uint8)
            array[50:80, i : i + 30] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def full_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files :func:`probe_video` fell back to the full decode for."""
    from novareel.media import video_probe

    calls: list[str] = []
    real = video_probe._inspect

    def spy(path: Any, *, shots: bool) -> Any:
        calls.append(Path(path).name)
        return real(path, shots=shots)

    monkeypatch.setattr(video_probe, "_inspect", spy)
    return calls


@pytest.mark.parametrize(
    "name", ["good", "faststart", "b-frames", "hole", "fps25", "small", "short", "nova"]
)
def test_probe_reads_packets_and_agrees_with_the_full_decode(
    name: str, good: Path, faststart: Path, nova: Path, folder: Path, full_decodes: list[str]
) -> None:
    """On every intact MP4 the cheap path answers alone, with the full decode's numbers."""
    import dataclasses

    from novareel.media.video import inspect_video
    from novareel.media.video_probe import probe_video

    colour = [(90, 90, 90)]
    make: dict[str, Callable[[], Path]] = {
        "good": lambda: good,
        "faststart": lambda: faststart,
        "b-frames": lambda: write_b_frames(folder / "b-frames.mp4"),
        "hole": lambda: remux(good, folder / "hole2.mp4", retime=lambda i: i + 24 * (i >= 72)),
        "fps25": lambda: write_video(folder / "fps25.mp4", colour, size=SMALL, fps=25),
        "small": lambda: write_video(folder / "small.mp4", colour, size=(256, 144)),
        "short": lambda: write_video(folder / "5s.mp4", colour, size=SMALL, seconds_per_shot=5),
        "nova": lambda: nova,
    }
    path = make[name]()
    probed = probe_video(path)
    assert full_decodes == [], "an intact MP4 needs no full decode"
    assert probed.shot_starts == []
    assert probed == dataclasses.replace(inspect_video(path), shot_starts=[])
    assert probed.frame_count > 0


def test_probe_falls_back_to_the_full_decode(
    good: Path, faststart: Path, folder: Path, full_decodes: list[str]
) -> None:
    """Where packets cannot stand for frames, the full decode answers (as before)."""
    from novareel.media.video_probe import probe_video

    mkv = remux(good, folder / "fallback.mkv", fmt="matroska")
    assert probe_video(mkv).frame_count == 144  # not MP4: timestamps may be missing
    cut = folder / "fallback-cut.mp4"
    data = faststart.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert probe_video(cut).frame_count < 144  # the index promises more than is there
    nokey = remux(good, folder / "fallback-nokey.mp4", keep=lambda i: i > 0)
    assert probe_video(nokey).frame_count == 0  # does not start with a keyframe
    middle = packets(good)[70]
    damaged = overwrite(good, folder / "fallback-damaged.mp4", [middle[:2]], noise=True)
    with pytest.raises(InvalidRequestError, match="is damaged: decoding failed"):
        probe_video(damaged)  # the decoder complained
    assert full_decodes == [
        "fallback.mkv",
        "fallback-cut.mp4",
        "fallback-nokey.mp4",
        "fallback-damaged.mp4",
    ]


def test_damaged_composition_offsets_take_the_full_decode(
    folder: Path, full_decodes: list[str]
) -> None:
    """With B-frames the decoder returns frames in bitstream order; once the index's
    composition offsets (``ctts``) are damaged, the packets' timestamps no longer say
    which frames come first and last, so the full decode measures the duration."""
    import dataclasses

    from novareel.media.video import inspect_video
    from novareel.media.video_probe import probe_video

    source = write_b_frames(folder / "ctts-source.mp4")
    data = bytearray(source.read_bytes())
    at = data.find(b"ctts")
    entry = at + 12 + 8 * 3  # (sample count, offset) pairs after version and count
    data[entry + 4 : entry + 8] = data[at + 12 + 8 + 4 : at + 12 + 8 + 8]
    path = folder / "ctts.mp4"
    path.write_bytes(bytes(data))
    expected = dataclasses.replace(inspect_video(path), shot_starts=[])
    full_decodes.clear()
    assert probe_video(path) == expected
    assert full_decodes == ["ctts.mp4"]


def test_exp_golomb_reader_and_emulation_prevention() -> None:
    """The slice-header reader behind the packet check: a wrong read would send intact
    files to the full decode (slow) or let a damaged one through."""
    from novareel.media.video_probe import _Bits, _rbsp

    # NAL header 0x65, then 00 00 03 01: the 03 is emulation prevention, not data.
    assert _rbsp(b"\x65\x00\x00\x03\x01\x88") == b"\x00\x00\x01\x88"
    bits = _Bits(b"\x88\x40")  # 1 | 0001000 | 01000000: ue values 0, 7, then 1
    assert (bits.ue(), bits.ue(), bits.ue()) == (0, 7, 1)
    with pytest.raises(ValueError, match="truncated"):
        _Bits(b"\x00").ue()


def full_decode_verdict(path: Path, shape: VideoShape = SHAPE) -> list[str]:
    """What the download's check said before it went cheap: decode every frame."""
    from novareel.media.video import check_video, inspect_video

    try:
        info = inspect_video(path)
    except Exception as exc:
        return [f"{path.name} could not be read as a video: {exc}"]
    found = check_video(
        info,
        expected_duration=shape.seconds,
        width=shape.width,
        height=shape.height,
        fps=shape.fps,
    )
    return [f"{path.name}: {m}" for m in found]


@pytest.fixture(scope="module")
def b_frames(folder: Path) -> Path:
    return write_b_frames(folder / "b-frames-source.mp4")


@pytest.mark.parametrize("mask", [0x01, 0x02, 0x08, 0x10, 0x1A, 0x40])
@pytest.mark.parametrize("offset", [1, 2])
@pytest.mark.parametrize("index", [2, 60])
def test_damaged_slice_headers_get_the_full_decodes_verdict(
    b_frames: Path, folder: Path, index: int, offset: int, mask: int
) -> None:
    """Bits flipped in the slice header of a B- or P-frame (slice type, frame number,
    picture order count: the order the decoder returns frames in). Whatever the full
    decode makes of each file (often nothing, sometimes a shorter duration because
    the frames come back in another order), the download's check says the same."""
    pos, _size, _key = packets(b_frames)[index]
    data = bytearray(b_frames.read_bytes())
    data[pos + 4 + offset] ^= mask  # past the 4-byte length and the NAL header
    path = folder / f"slice-{index}-{offset}-{mask}.mp4"
    path.write_bytes(bytes(data))
    assert check(path) == full_decode_verdict(path)
