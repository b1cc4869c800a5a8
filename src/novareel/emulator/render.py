"""The preview renderer: real, playable H.264 MP4 files from a prompt, a seed and an image.

This is NOT a generative model. It draws a deterministic abstract scene (palette and
shapes chosen from a hash of prompt, seed and shot index), or uses the given starting
frame, and moves a virtual camera over it according to the camera words in the prompt
(zoom, pan, tilt, dolly, orbit, ...). Every frame carries a "novareel emulator preview"
label and the shot's prompt, so nobody mistakes a preview for a generated video.

By default the output is what Nova Reel delivers: H.264 (libx264, yuv420p) in MP4,
1280x720, 24 fps, exactly 144 frames (6.000 s) per shot. :func:`render_video` takes
any even width/height and frame count (each model family picks its own), a camera path
that loops back to its start, and a last keyframe. x264 runs single-threaded with a
fixed preset so the same input gives bit-identical bytes; jobs are parallelised across
shots and jobs instead.

:func:`fast_video` / :func:`fast_concat` are the load-test mode (``render="fast"``): one
encode per (width, height, frames) shape, cached for the life of the process, so a job
costs a dictionary lookup instead of ~1 CPU-second per shot.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ParamSpec

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

WIDTH, HEIGHT, FPS = 1280, 720, 24
FRAMES_PER_SHOT = 6 * FPS
#: Extra canvas around the 1280x720 view, so the camera can move without running out.
#: Any other size gets a quarter of its own width and height.
MARGIN_X, MARGIN_Y = WIDTH // 4, HEIGHT // 4
LABEL = "novareel emulator preview - not a generated video"
X264_OPTIONS = {"preset": "ultrafast", "crf": "26", "threads": "1"}
P = ParamSpec("P")


@dataclass(frozen=True)
class CameraMove:
    """End state of the camera (start is identity) plus how the move is paced.

    ``dx``/``dy`` are pixels in scene space, ``zoom`` is a scale factor (>1 zooms in),
    ``angle`` is degrees (positive = counterclockwise), ``orbit`` adds a circular path.
    """

    dx: float = 0.0
    dy: float = 0.0
    zoom: float = 1.0
    angle: float = 0.0
    orbit: float = 0.0
    whip: bool = False
    pace: float = 1.0


# (regex, field changes) applied in order; later words add to earlier ones.
_CAMERA_WORDS: tuple[tuple[str, dict[str, Any]], ...] = (
    (r"\bwhip pan(ning)? left\b", {"dx": -300.0, "whip": True}),
    (r"\bwhip pan(ning)?( right)?\b", {"dx": 300.0, "whip": True}),
    (r"\bwhip tilt\b", {"dy": -160.0, "whip": True}),
    (r"\bwhip zoom\b", {"zoom": 1.5, "whip": True}),
    (r"\b(dolly zoom|zolly|vertigo)\b", {"zoom": 1.25, "angle": 0.0}),
    (r"\bzoom(s|ing)? in\b", {"zoom": 1.35}),
    (r"\bzoom(s|ing)? out\b", {"zoom": 0.76}),
    (r"\bdolly (in|forward)\b|\bdolly(ing)? forward\b", {"zoom": 1.25}),
    (r"\bdolly (out|back(ward)?)\b", {"zoom": 0.8}),
    (r"\bpan(s|ning)? left\b", {"dx": -240.0}),
    (r"\bpan(s|ning)? right\b", {"dx": 240.0}),
    (r"\b(truck|track)(s|ing)? left\b", {"dx": -200.0}),
    (r"\b(truck|track)(s|ing)? right\b", {"dx": 200.0}),
    (r"\btilt(s|ing)? up\b", {"dy": -140.0}),
    (r"\btilt(s|ing)? down\b", {"dy": 140.0}),
    (r"\bpedestal up\b", {"dy": -120.0}),
    (r"\bpedestal down\b", {"dy": 120.0}),
    (r"\bcounter-?clockwise\b", {"angle": 12.0}),
    (r"(?<!counter)(?<!counter-)\bclockwise\b", {"angle": -12.0}),
    (r"\b(orbit(ing)?|arc shot|360)\b", {"orbit": 90.0, "angle": 6.0}),
    (r"\b(aerial|drone|fpv)\b", {"zoom": 1.2, "dy": 60.0}),
    (r"\bfollowing shot\b", {"dx": 150.0, "zoom": 1.1}),
)


def camera_for(prompt: str) -> CameraMove:
    """Turn the camera vocabulary of the contract into one virtual camera move."""
    text = prompt.lower()
    if re.search(r"\b(static|fixed|locked[- ]off)\b( camera| shot)?", text):
        return CameraMove()
    values: dict[str, Any] = {}
    for pattern, changes in _CAMERA_WORDS:
        if re.search(pattern, text):
            for key, value in changes.items():
                if key == "zoom":
                    values["zoom"] = values.get("zoom", 1.0) * value
                elif key == "whip":
                    values["whip"] = True
                else:
                    values[key] = values.get(key, 0.0) + value
    if not values:
        values = {"zoom": 1.08}  # a gentle drift, so an undirected shot still moves
    pace = 1.0
    if "slow motion" in text:
        pace = 0.5
    elif re.search(r"\b(time-?lapse|hyperlapse)\b", text):
        pace = 1.8
    values["zoom"] = min(max(values.get("zoom", 1.0), 0.7), 1.8)
    return CameraMove(pace=pace, **values)


def _ease(t: float, whip: bool) -> float:
    if whip:  # a fast move in the middle third of the shot
        t = min(max((t - 1 / 3) * 3, 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _affine(
    move: CameraMove,
    t: float,
    width: int = WIDTH,
    height: int = HEIGHT,
    loop: bool = False,
) -> tuple[float, float, float, float, float, float]:
    """Output pixel -> canvas pixel mapping at time ``t`` in [0, 1].

    Moves are defined for 1280x720 and scale with the frame, so a pan crosses the same
    share of any picture. With ``loop`` the move runs out and back: the camera ends
    exactly where it started.
    """
    if loop:
        t = 1.0 - abs(2.0 * t - 1.0)
    e = _ease(min(t * move.pace, 1.0), move.whip)
    sx, sy = width / WIDTH, height / HEIGHT
    scale = 1.0 + (move.zoom - 1.0) * e
    if move.orbit:
        phi = math.radians(move.orbit * e)
        ox, oy = 160 * sx * math.sin(phi), 60 * sy * (1 - math.cos(phi))
    else:
        ox = oy = 0.0
    cx = width // 4 + width / 2 + move.dx * sx * e + ox
    cy = height // 4 + height / 2 + move.dy * sy * e + oy
    theta = math.radians(move.angle * e)
    cos, sin = math.cos(theta) / scale, math.sin(theta) / scale
    # input = R(theta) * (out - centre) / scale + camera centre
    return (
        cos,
        sin,
        cx - cos * width / 2 - sin * height / 2,
        -sin,
        cos,
        cy + sin * width / 2 - cos * height / 2,
    )


def _rng_for(prompt: str, seed: int, shot_index: int) -> np.random.Generator:
    import numpy as np

    digest = hashlib.sha256(f"{prompt}\x00{seed}\x00{shot_index}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _scene(
    prompt: str, seed: int, shot_index: int, width: int = WIDTH, height: int = HEIGHT
) -> npt.NDArray[np.uint8]:
    """An abstract ``width`` x ``height`` scene whose palette and shapes come from the hash."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = _rng_for(prompt, seed, shot_index)
    size = min(width / WIDTH, height / HEIGHT)
    palette = rng.integers(20, 236, size=(5, 3))
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    top, bottom, side = (palette[i].astype(np.float32) for i in range(3))
    base = top * (1 - ys) + bottom * ys
    base = base * (1 - 0.35 * xs) + side * 0.35 * xs
    img = Image.fromarray(base.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(10, 18))):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x, y = int(rng.integers(-100, width)), int(rng.integers(-100, height))
        w, h = int(rng.integers(60, 420) * size), int(rng.integers(60, 320) * size)
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + w, y + h), fill=colour)
        else:
            draw.rectangle((x, y, x + w, y + h), fill=colour, outline=(255, 255, 255))
    grid = tuple(int(c) for c in palette[3])
    for gx in range(0, width, 80):
        draw.line((gx, 0, gx, height), fill=grid, width=1)
    for gy in range(0, height, 80):
        draw.line((0, gy, width, gy), fill=grid, width=1)
    return np.asarray(img, dtype=np.uint8)


def fit_image(data: bytes, width: int = WIDTH, height: int = HEIGHT) -> npt.NDArray[np.uint8]:
    """Decode an image as RGB, scaled to cover ``width`` x ``height`` and centre-cropped."""
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as im:
        rgb = im.convert("RGB")
        if rgb.size != (width, height):
            rgb = ImageOps.fit(rgb, (width, height), Image.Resampling.BICUBIC)
        return np.asarray(rgb, dtype=np.uint8)


def _rgb_to_yuv(rgb: npt.NDArray[Any]) -> tuple[npt.NDArray[np.float32], ...]:
    """BT.601 limited-range Y, Cb, Cr at full resolution (what decoders assume)."""
    import numpy as np

    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return y, u, v


def _half(plane: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """2x2 average: 4:2:0 chroma subsampling."""
    h, w = plane.shape[0] // 2 * 2, plane.shape[1] // 2 * 2
    p = plane[:h, :w].astype("float32")
    result: npt.NDArray[np.float32] = (
        p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]
    ) / 4
    return result


def _to_planes(rgb: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.uint8]]:
    import numpy as np

    y, u, v = _rgb_to_yuv(rgb)
    return [np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, _half(u), _half(v))]


class _Overlay:
    """Text pre-rendered once and converted to YUV, so each frame only blends small boxes."""

    def __init__(self, lines: list[str], size: int, width: int, top: int, left: int) -> None:
        import numpy as np
        from PIL import Image, ImageDraw, ImageFont

        font = ImageFont.load_default(size=size)
        line_h = size + 6
        height = (line_h * len(lines) + 8 + 1) // 2 * 2
        img = Image.new("RGBA", (width // 2 * 2, height), (0, 0, 0, 150))
        draw = ImageDraw.Draw(img)
        for i, line in enumerate(lines):
            draw.text((8, 4 + i * line_h), line, font=font, fill=(255, 255, 255, 255))
        arr = np.asarray(img, dtype=np.uint8)
        y, u, v = _rgb_to_yuv(arr[:, :, :3])
        alpha = arr[:, :, 3].astype(np.float32) / 255.0
        half_alpha = _half(alpha)
        self.top, self.left = top // 2 * 2, left // 2 * 2
        # Pre-multiplied: out = plane * (1 - a) + premult
        self.parts = [
            (y * alpha, 1.0 - alpha),
            (_half(u) * half_alpha, 1.0 - half_alpha),
            (_half(v) * half_alpha, 1.0 - half_alpha),
        ]

    def apply(self, planes: list[npt.NDArray[np.uint8]]) -> None:
        for i, (premult, keep) in enumerate(self.parts):
            div = 1 if i == 0 else 2
            top, left = self.top // div, self.left // div
            h, w = premult.shape
            region = planes[i][top : top + h, left : left + w]
            region[...] = (region * keep + premult).astype(region.dtype)


def _wrap(text: str, width: int, max_lines: int) -> list[str]:
    words, lines, current = " ".join(text.split()).split(" "), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if len(candidate) > width and current:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 3] + "..."
    return lines


def _label_lines(width: int, detail: str) -> list[str]:
    """The preview label, on two lines when the frame is too narrow for one."""
    from PIL import ImageFont

    one = f"{LABEL}  |  {detail}"
    fits = ImageFont.load_default(size=16).getlength(one) + 16 <= min(600, width - 24)
    return [one] if fits else [LABEL, detail]


#: A defect drawn into a clip: (``"black"|"frozen"|"flash"``, start s, length s), in the
#: clip's own time (see :func:`clip_defects`).
Defect = tuple[str, float, float]
#: Limited-range (BT.601) black and the "very bright" level a flash lifts luma towards.
BLACK_Y, BRIGHT_Y = 16, 235


def clip_defects(defects: Sequence[dict[str, Any]], start: float, length: float) -> list[Defect]:
    """The part of each job-time defect inside the clip [start, start + length), in clip time.

    A Nova Reel job of several shots renders each shot as its own clip and remuxes them,
    so a defect over 5-8 s of the job is 5-6 s of shot 1 and 0-2 s of shot 2.
    """
    out: list[Defect] = []
    for d in defects:
        a = max(float(d["at"]), start)
        b = min(float(d["at"]) + float(d["length"]), start + length)
        if b > a:
            out.append((str(d["defect"]), a - start, b - a))
    return out


def _defect_at(defects: Sequence[Defect], n: int) -> tuple[str, int] | None:
    """The defect covering frame ``n`` and the span's first frame, if any.

    Frame ``n`` shows at n / FPS s; a span [at, at + length) covers the frames whose
    time is inside it.
    """
    for kind, at, length in defects:
        first = math.ceil(at * FPS - 1e-9)
        if first <= n < math.ceil((at + length) * FPS - 1e-9):
            return kind, first
    return None


def _draw_defect(
    out: npt.NDArray[np.uint8], height: int, kind: str, n: int, first: int, held: Any
) -> None:
    """Spoil one finished frame in place: black, a copy of the held frame, or a flash."""
    import numpy as np

    if kind == "black":
        out[:height] = BLACK_Y
        out[height:] = 128
    elif kind == "frozen":
        out[...] = held
    elif kind == "flash" and (n - first) % 2 == 0:  # every other frame, from the first
        y = out[:height].astype(np.int16)
        out[:height] = (BRIGHT_Y - (BRIGHT_Y - y) // 8).astype(np.uint8)
        c = out[height:].astype(np.int16)
        out[height:] = (128 + (c - 128) // 8).astype(np.uint8)


def render_frames(
    prompt: str,
    seed: int,
    shot_index: int = 0,
    n_shots: int = 1,
    image: bytes | None = None,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    frames: int = FRAMES_PER_SHOT,
    loop: bool = False,
    last_image: bytes | None = None,
    detail: str | None = None,
    defects: Sequence[Defect] = (),
) -> Iterator[npt.NDArray[np.uint8]]:
    """Yield the frames of one clip as yuv420p arrays (``height * 3 / 2`` x ``width``).

    ``image`` is the first frame (fitted to the size), else a scene from the hash;
    ``last_image`` is cross-faded in over the second half and is exactly the last
    frame; ``loop`` sends the camera back to its start. ``detail`` is the label's
    second part (default ``shot i/n``). ``defects`` (a ``defect`` fault) spoil the
    finished frames of their spans: near-black, frozen on the span's first frame, or
    every other frame flashed very bright.

    Work happens in YUV directly: the canvas is converted once, the camera transform
    is bilinear on luma and nearest on the (half-size) chroma planes, which keeps a
    shot at a fraction of real time on one core.
    """
    import numpy as np
    from PIL import Image

    if width % 2 or height % 4 or width < 64 or height < 64 or frames < 2:
        raise ValueError(f"cannot render {width}x{height} with {frames} frames")
    scene = (
        fit_image(image, width, height)
        if image is not None
        else _scene(prompt, seed, shot_index, width, height)
    )
    mx, my = width // 4, height // 4
    canvas = np.pad(scene, ((my, my), (mx, mx), (0, 0)), mode="symmetric")
    planes = _to_planes(canvas)
    images = [Image.fromarray(p, "L") for p in planes]
    last = _to_planes(fit_image(last_image, width, height)) if last_image is not None else None
    move = camera_for(prompt)
    label = _label_lines(width, detail or f"shot {shot_index + 1}/{n_shots}")
    overlays = [_Overlay(label, 16, min(600, width - 24), 12, 12)]
    caption = _wrap(prompt, max(20, 110 * (width - 40) // (WIDTH - 40)), 2)
    if caption:
        overlays.append(_Overlay(caption, 18, width - 40, height - 80, 20))
    out = np.empty((height * 3 // 2, width), dtype=np.uint8)
    flat = out.reshape(-1)
    luma, chroma = width * height, width * height // 4
    y_out = out[:height]
    u_out = flat[luma : luma + chroma].reshape(height // 2, width // 2)
    v_out = flat[luma + chroma :].reshape(height // 2, width // 2)
    views = [y_out, u_out, v_out]
    held: npt.NDArray[np.uint8] | None = None

    for n in range(frames):
        t = n / (frames - 1)
        a, b, c, d, e, f = _affine(move, t, width, height, loop)
        if a == 1.0 and b == 0.0 and d == 0.0 and e == 1.0 and c.is_integer() and f.is_integer():
            x0, y0 = int(c) // 2 * 2, int(f) // 2 * 2
            y_out[...] = planes[0][y0 : y0 + height, x0 : x0 + width]
            for i in (1, 2):
                views[i][...] = planes[i][
                    y0 // 2 : y0 // 2 + height // 2, x0 // 2 : x0 // 2 + width // 2
                ]
        else:
            y_img = images[0].transform(
                (width, height),
                Image.Transform.AFFINE,
                (a, b, c, d, e, f),
                Image.Resampling.BILINEAR,
            )
            y_out[...] = np.asarray(y_img)
            half = (a, b, c / 2, d, e, f / 2)
            for i in (1, 2):
                img = images[i].transform(
                    (width // 2, height // 2),
                    Image.Transform.AFFINE,
                    half,
                    Image.Resampling.NEAREST,
                    fillcolor=128,
                )
                views[i][...] = np.asarray(img)
        if last is not None and t > 0.5:
            w = _ease((t - 0.5) * 2, False)
            for view, target in zip(views, last, strict=True):
                mixed = view.astype(np.float32) * (1.0 - w) + target.astype(np.float32) * w
                view[...] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
        for overlay in overlays:
            overlay.apply(views)
        y_out[height - 4 :, : int(width * (n + 1) / frames)] = 235
        spoiled = _defect_at(defects, n) if defects else None
        if spoiled is not None:
            kind, first = spoiled
            if kind == "frozen" and (n == first or held is None):
                held = out.copy()
            _draw_defect(out, height, kind, n, first, held)
        yield out


def encode_mp4(clip: Iterable[npt.NDArray[np.uint8]]) -> bytes:
    """Encode yuv420p frames (as :func:`render_frames` yields them) as MP4 at 24 fps.

    The size is read from the first frame (``height * 3 / 2`` x ``width``), so the
    encoder never restates the renderer's parameters; the output is deterministic for
    the same frames (single-threaded x264, fixed preset).
    """
    import av

    frames = iter(clip)
    first = next(frames)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS, options=dict(X264_OPTIONS))
        stream.width, stream.height = first.shape[1], first.shape[0] * 2 // 3
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        for n, arr in enumerate(itertools.chain([first], frames)):
            frame = av.VideoFrame.from_ndarray(arr, format="yuv420p")
            frame.pts = n
            frame.time_base = Fraction(1, FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def _encoded(
    frames_of: Callable[P, Iterable[npt.NDArray[np.uint8]]],
) -> Callable[P, bytes]:
    """``frames_of`` with its frames encoded: the same parameters, MP4 bytes back.

    Why: the clip's dozen parameters are declared once, on :func:`render_frames`; a
    second signature forwarding each of them had to change with every new one.
    """

    def encoded(*args: P.args, **kwargs: P.kwargs) -> bytes:
        """Encode one clip as MP4 bytes at 24 fps (deterministic for the same input)."""
        return encode_mp4(frames_of(*args, **kwargs))

    return encoded


#: One clip as MP4 bytes: :func:`render_frames` (same parameters) through :func:`encode_mp4`.
render_video = _encoded(render_frames)


def render_shot(
    prompt: str,
    seed: int,
    shot_index: int = 0,
    n_shots: int = 1,
    image: bytes | None = None,
    defects: Sequence[Defect] = (),
) -> bytes:
    """Encode one 6-second 1280x720 Nova Reel shot as MP4 bytes."""
    return render_video(prompt, seed, shot_index, n_shots, image, defects=defects)


def concat_mp4(parts: list[bytes]) -> bytes:
    """Join same-format MP4 shots by remuxing packets with timestamp offsets (no re-encode)."""
    import av

    if len(parts) == 1:
        return parts[0]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        out_stream: Any = None
        offset = 0
        for part in parts:
            with av.open(io.BytesIO(part), mode="r") as src:
                in_stream = src.streams.video[0]
                if out_stream is None:
                    out_stream = out.add_stream_from_template(in_stream)
                tb = in_stream.time_base or Fraction(1, 12288)
                shot_ticks = int(Fraction(FRAMES_PER_SHOT, FPS) / tb)
                for packet in src.demux(in_stream):
                    if packet.dts is None:
                        continue
                    packet.pts = (packet.pts or 0) + offset
                    packet.dts = packet.dts + offset
                    packet.stream = out_stream
                    out.mux(packet)
                offset += shot_ticks
    return buf.getvalue()


#: The one prompt every fast-mode video is rendered from (no camera words: a gentle drift).
FAST_PROMPT = "novareel emulator fast render: every video of this size is this same clip"
_FAST_LOCK = threading.Lock()


def fast_video(width: int, height: int, frames: int) -> bytes:
    """One preview clip of this shape, encoded once per process and then reused.

    A real encode of the preview renderer (so size, fps, frame count, codec and bitrate
    are what a full render gives), but of :data:`FAST_PROMPT` for every job: the
    job's prompt, seed and images are ignored.
    """
    with _FAST_LOCK:  # two workers asking for a new shape must not both encode it
        return _fast_video(width, height, frames)


@functools.lru_cache(maxsize=64)
def _fast_video(width: int, height: int, frames: int) -> bytes:
    return render_video(
        FAST_PROMPT,
        0,
        width=width,
        height=height,
        frames=frames,
        detail=f"fast render {width}x{height} {frames} frames",
    )


def fast_concat(width: int, height: int, frames: int, n_shots: int) -> bytes:
    """``n_shots`` copies of :func:`fast_video` remuxed into one MP4 (cached too)."""
    with _FAST_LOCK:
        return _fast_concat(width, height, frames, n_shots)


@functools.lru_cache(maxsize=64)
def _fast_concat(width: int, height: int, frames: int, n_shots: int) -> bytes:
    return concat_mp4([_fast_video(width, height, frames)] * n_shots)
