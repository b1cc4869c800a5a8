"""Real media files for the media tests, written once per session with PyAV / Pillow."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

#: The three shots of the test video: distinct background colours.
SHOT_COLOURS: tuple[tuple[int, int, int], ...] = ((200, 40, 40), (40, 180, 60), (40, 60, 200))


def write_video(
    path: Path,
    colours: Sequence[tuple[int, int, int]],
    *,
    seconds_per_shot: float = 6.0,
    size: tuple[int, int] = (1280, 720),
    fps: int = 24,
) -> Path:
    """An H.264 MP4 with one solid-colour shot per colour and a white square moving
    across each shot, so frames inside a shot differ a little (motion, not cuts)."""
    import av
    import numpy as np

    width, height = size
    frames_per_shot = round(seconds_per_shot * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30"}
        for colour in colours:
            base = np.empty((height, width, 3), dtype=np.uint8)
            base[:, :] = colour
            side = max(4, height // 8)
            for i in range(frames_per_shot):
                array = base.copy()
                x = int((width - side) * i / max(1, frames_per_shot - 1))
                array[height // 2 - side // 2 : height // 2 + side // 2, x : x + side] = 255
                frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="session")
def three_shot_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """18 s, 1280x720, 24 fps, three 6 s shots: what a 3-shot Nova Reel job returns."""
    folder = tmp_path_factory.mktemp("video")
    return write_video(folder / "output.mp4", SHOT_COLOURS)


@pytest.fixture(scope="session")
def odd_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s, 640x480, 25 fps, one shot: a video that matches nothing Nova Reel makes."""
    folder = tmp_path_factory.mktemp("odd")
    return write_video(
        folder / "odd.mp4", [(90, 90, 90)], seconds_per_shot=2.0, size=(640, 480), fps=25
    )
