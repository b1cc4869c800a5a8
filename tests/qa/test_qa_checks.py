"""The signal checks on videos drawn by the emulator's renderer, defect by defect.

Small frames (320x192, 2 s) keep each render at a fraction of a second; the end-to-end
runs through the emulator (tests/qa/test_qa_emulator.py) use the models' real sizes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from novareel.emulator.render import _scene, render_video
from novareel.foundation.errors import InvalidRequestError
from novareel.media.qa import QaExpectations, check_file
from novareel.media.qa.checks import FROZEN_MIN_S

W, H, N = 320, 192, 72  # 3 s at 24 fps
PROMPT = "a lighthouse on a cliff, camera pans right"


def _video(tmp_path: Path, name: str, **kwargs: object) -> Path:
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(render_video(PROMPT, 0, width=W, height=H, frames=N, **kwargs))  # type: ignore[arg-type]
    return path


def _png(prompt: str, width: int = W, height: int = H) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(_scene(prompt, 3, 0, width, height)).save(buf, "PNG")
    return buf.getvalue()


def test_a_clean_video_has_no_finding_and_its_facts_match(tmp_path: Path) -> None:
    want = QaExpectations(width=W, height=H, fps=24, seconds=3)
    report = check_file(_video(tmp_path, "clean"), want)
    assert report.findings == []
    assert report.verdict == "clean"
    assert (report.width, report.height, report.frames) == (W, H, N)
    assert report.checks == ["black", "frozen", "flash", "size", "frame_rate", "length"]


@pytest.mark.parametrize("defect", ["black", "frozen", "flash"])
def test_each_defect_is_found_with_its_span(tmp_path: Path, defect: str) -> None:
    report = check_file(_video(tmp_path, defect, defects=[(defect, 1.0, 1.0)]))
    assert [f.kind for f in report.findings] == [defect]
    found = report.findings[0]
    assert abs(found.start - 1.0) <= 0.25 and abs(found.end - 2.0) <= 0.25
    assert found.threshold > 0 and found.detail
    assert report.verdict == "findings"


def test_a_hold_shorter_than_half_a_second_is_not_frozen(tmp_path: Path) -> None:
    report = check_file(_video(tmp_path, "hold", defects=[("frozen", 1.0, FROZEN_MIN_S - 0.1)]))
    assert report.findings == []


def test_wrong_size_rate_and_length_are_findings(tmp_path: Path) -> None:
    want = QaExpectations(width=640, height=360, fps=30, seconds=5)
    kinds = [f.kind for f in check_file(_video(tmp_path, "facts"), want).findings]
    assert kinds == ["size", "frame_rate", "length"]


def test_a_loop_that_returns_passes_and_one_that_does_not_is_a_seam(tmp_path: Path) -> None:
    want = QaExpectations(loop=True)
    assert check_file(_video(tmp_path, "loop", loop=True), want).findings == []
    seam = check_file(_video(tmp_path, "noloop"), want).findings
    assert [f.kind for f in seam] == ["loop_seam"]
    assert seam[0].measure < seam[0].threshold
    assert seam[0].end == pytest.approx(3.0)


def test_start_and_end_images_are_compared_with_the_first_and_last_frames(
    tmp_path: Path,
) -> None:
    # 640x360: at 320x192 the preview's label and caption cover a third of the frame
    w, h = 640, 360
    start, end, other = _png("start", w, h), _png("end", w, h), _png("other", 400, 300)
    path = tmp_path / "keyframes.mp4"
    path.write_bytes(
        render_video(PROMPT, 0, width=w, height=h, frames=24, image=start, last_image=end)
    )
    assert check_file(path, QaExpectations(start_image=start, end_image=end)).findings == []
    wrong = check_file(path, QaExpectations(start_image=other, end_image=start)).findings
    assert [f.kind for f in wrong] == ["start_image", "end_image"]
    assert all(f.measure < f.threshold for f in wrong)


def test_a_file_that_is_not_a_video_is_bad_input(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    with pytest.raises(InvalidRequestError, match="not a readable video"):
        check_file(bogus)
    with pytest.raises(InvalidRequestError, match="no such file"):
        check_file(tmp_path / "missing.mp4")
