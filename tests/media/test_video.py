"""inspect / check / frames / contact sheets on real MP4 files written by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from novareel.foundation.errors import InvalidRequestError
from novareel.media.images import check_image_bytes
from novareel.media.video import (
    check_video,
    extract_frame,
    inspect_video,
    make_contact_sheet,
    save_frame,
)

from .conftest import SHOT_COLOURS


def background(image: Image.Image) -> tuple[int, int, int]:
    """Mean colour of the top band of a frame (the moving square stays mid-height)."""
    array = np.asarray(image.convert("RGB"))[: image.height // 4]
    r, g, b = array.reshape(-1, 3).mean(axis=0)
    return round(r), round(g), round(b)


def close_to(actual: tuple[int, int, int], expected: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


def test_inspect_reports_what_the_video_is(three_shot_video: Path) -> None:
    info = inspect_video(three_shot_video)
    assert (info.codec, info.width, info.height, info.fps) == ("h264", 1280, 720, 24.0)
    assert info.frame_count == 432
    assert info.duration_seconds == pytest.approx(18.0)
    assert info.size_bytes == three_shot_video.stat().st_size
    assert info.shot_starts == [0.0, 6.0, 12.0]
    data = info.to_dict()
    assert data["shots"] == 3 and data["shot_starts"] == [0.0, 6.0, 12.0]


def test_check_video_accepts_what_was_asked(three_shot_video: Path) -> None:
    assert check_video(inspect_video(three_shot_video), expected_duration=18) == []


def test_check_video_tolerates_one_frame_only(three_shot_video: Path) -> None:
    info = inspect_video(three_shot_video)
    assert check_video(info, expected_duration=18 + 1 / 24) == []
    problems = check_video(info, expected_duration=24)
    assert len(problems) == 1
    assert "duration is 18 s, expected 24 s" in problems[0]
    assert "432 frames instead of 576" in problems[0]


def test_check_video_flags_size_and_fps(odd_video: Path) -> None:
    info = inspect_video(odd_video)
    assert info.shot_starts == [0.0]
    problems = check_video(info, expected_duration=6)
    assert any("size is 640x480, expected 1280x720" in p for p in problems)
    assert any("frame rate is 25 fps, expected 24 fps" in p for p in problems)
    assert any("duration is 2 s, expected 6 s" in p for p in problems)


@pytest.mark.parametrize(("at", "shot"), [(0.0, 0), (5.9, 0), (6.0, 1), (13.5, 2)])
def test_extract_frame_at_a_time(three_shot_video: Path, at: float, shot: int) -> None:
    image = extract_frame(three_shot_video, at=at)
    assert image.size == (1280, 720) and image.mode == "RGB"
    assert close_to(background(image), SHOT_COLOURS[shot])


def test_last_frame_is_a_valid_starting_frame(three_shot_video: Path, tmp_path: Path) -> None:
    out = save_frame(three_shot_video, tmp_path / "next" / "start.png", last=True)
    assert check_image_bytes(out.read_bytes(), field="image") == "png"
    with Image.open(out) as image:
        assert close_to(background(image), SHOT_COLOURS[2])
        # The square has reached the right edge in the last frame.
        assert np.asarray(image)[360, 1250].min() > 200


def test_frames_of_other_sizes_come_out_1280x720(odd_video: Path) -> None:
    image = extract_frame(odd_video, at=1.0)
    assert image.size == (1280, 720)
    assert close_to(background(image), (90, 90, 90))


def test_extract_frame_argument_errors(three_shot_video: Path) -> None:
    with pytest.raises(InvalidRequestError, match="exactly one"):
        extract_frame(three_shot_video)
    with pytest.raises(InvalidRequestError, match="exactly one"):
        extract_frame(three_shot_video, at=1, last=True)
    with pytest.raises(InvalidRequestError, match="past the end"):
        extract_frame(three_shot_video, at=18.5)
    with pytest.raises(InvalidRequestError, match=">= 0"):
        extract_frame(three_shot_video, at=-1)


def test_contact_sheet_shows_one_tile_per_shot(three_shot_video: Path, tmp_path: Path) -> None:
    sheet = make_contact_sheet(three_shot_video, tmp_path / "sheet.png")
    assert sheet.timestamps == [3.0, 9.0, 15.0]
    assert (sheet.columns, sheet.rows) == (3, 1)
    with Image.open(sheet.path) as image:
        assert image.format == "PNG"
        assert image.size == (sheet.width, sheet.height)
        tiles = [background(image.crop(box)) for box in sheet.tiles]
    for tile, colour in zip(tiles, SHOT_COLOURS, strict=True):
        assert close_to(tile, colour)
    assert len(set(tiles)) == 3


def test_contact_sheet_every_n_seconds(three_shot_video: Path, tmp_path: Path) -> None:
    sheet = make_contact_sheet(three_shot_video, tmp_path / "s.png", every=4, columns=2)
    assert sheet.timestamps == [0.0, 4.0, 8.0, 12.0, 16.0]
    assert (sheet.columns, sheet.rows) == (2, 3)
    with Image.open(sheet.path) as image:
        colours = [background(image.crop(box)) for box in sheet.tiles]
    expected = [SHOT_COLOURS[i] for i in (0, 0, 1, 2, 2)]
    assert all(close_to(c, e) for c, e in zip(colours, expected, strict=True))


def test_contact_sheet_tiles_at_the_thumbnail_width(three_shot_video: Path, tmp_path: Path) -> None:
    out = make_contact_sheet(three_shot_video, tmp_path / "c.png", thumb_width=160).path
    with Image.open(out) as image:
        assert image.width == 3 * 160 + 4 * 8


def test_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4"
    path.write_text("not a video")
    with pytest.raises(InvalidRequestError, match="cannot be read as a video"):
        inspect_video(path)
    with pytest.raises(InvalidRequestError, match="file not found"):
        inspect_video(tmp_path / "missing.mp4")


@pytest.fixture(scope="module")
def emulator_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Image.Image]:
    """A 3-shot video rendered by the emulator (camera moves, overlays), shot 2 from an
    image: the videos users of the emulator will inspect."""
    import io

    from novareel.emulator.render import concat_mp4, render_shot

    start = Image.linear_gradient("L").resize((1280, 720)).convert("RGB")
    buffer = io.BytesIO()
    start.save(buffer, "PNG")
    prompts = [
        "Whip pan across a crowded night market.",
        "A cat on a sofa. Zoom in.",
        "Whip zoom onto a clock tower.",
    ]
    parts = [
        render_shot(p, 42, i, len(prompts), buffer.getvalue() if i == 1 else None)
        for i, p in enumerate(prompts)
    ]
    path = tmp_path_factory.mktemp("emulator") / "output.mp4"
    path.write_bytes(concat_mp4(parts))
    return path, start


def test_emulator_video_shots_and_starting_frame(
    emulator_video: tuple[Path, Image.Image], tmp_path: Path
) -> None:
    path, start = emulator_video
    info = inspect_video(path)
    # Whip pans and zooms move a lot inside a shot; only the real cuts count.
    assert info.shot_starts == [0.0, 6.0, 12.0]
    assert check_video(info, expected_duration=18) == []
    first_of_shot_2 = np.asarray(extract_frame(path, at=6.0), dtype=np.int16)
    expected = np.asarray(start, dtype=np.int16)
    # Compare below the top label and above the caption the emulator draws.
    assert np.abs(first_of_shot_2 - expected)[60:600].mean() < 4
    sheet = make_contact_sheet(path, tmp_path / "sheet.png")
    with Image.open(sheet.path) as image:
        tiles = [np.asarray(image.crop(box), dtype=np.int16) for box in sheet.tiles]
    assert len(tiles) == 3
    for a, b in [(0, 1), (1, 2), (0, 2)]:
        assert np.abs(tiles[a] - tiles[b]).mean() > 20
