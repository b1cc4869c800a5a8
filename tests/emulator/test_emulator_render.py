"""The preview renderer on its own: determinism, camera words, frame count."""

from __future__ import annotations

import numpy as np
import pytest
from emu_helpers import decode_video

from novareel.emulator.render import FRAMES_PER_SHOT, camera_for, render_frames, render_shot


def test_same_input_gives_identical_bytes_and_a_new_seed_changes_them() -> None:
    a = render_shot("static shot of a lighthouse", 42)
    assert a == render_shot("static shot of a lighthouse", 42)
    assert a != render_shot("static shot of a lighthouse", 43)
    info, frames = decode_video(a)
    assert len(frames) == FRAMES_PER_SHOT == 144
    assert info["codec"] == "h264"


@pytest.mark.parametrize(
    ("prompt", "field", "sign"),
    [
        ("camera zooms in on a face", "zoom", 1),
        ("zoom out to reveal a city", "zoom", -1),
        ("dolly forward through a forest", "zoom", 1),
        ("pan left across the bay", "dx", -1),
        ("slow pan right", "dx", 1),
        ("tilt up to the sky", "dy", -1),
        ("pedestal down", "dy", 1),
        ("track left with the runner", "dx", -1),
        ("clockwise rotation", "angle", -1),
        ("counterclockwise rotation", "angle", 1),
        ("orbit around the statue", "orbit", 1),
        ("aerial drone shot of a coast", "zoom", 1),
        ("whip pan to the door", "dx", 1),
    ],
)
def test_camera_words_move_the_virtual_camera(prompt: str, field: str, sign: int) -> None:
    move = camera_for(prompt)
    value = getattr(move, field) - (1.0 if field == "zoom" else 0.0)
    assert value * sign > 0, move


def test_static_shot_does_not_move() -> None:
    move = camera_for("static shot, a pan left would be nice")
    assert (move.dx, move.dy, move.zoom, move.angle) == (0.0, 0.0, 1.0, 0.0)


def test_moving_camera_changes_the_picture_static_does_not() -> None:
    def first_last(prompt: str) -> float:
        frames = list(f.copy() for f in render_frames(prompt, 1, 0, 1, None))
        y0, y1 = frames[0][:600].astype(np.int16), frames[-1][:600].astype(np.int16)
        return float(np.abs(y0 - y1)[100:500].mean())

    assert first_last("static shot") < 1.0
    assert first_last("pan right") > 5.0
