"""The media commands, run through Typer's CliRunner as a user would type them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from novareel.cli import _register, app


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


def run_json(runner: CliRunner, *args: str, code: int = 0) -> object:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_inspect_json_and_text(runner: CliRunner, three_shot_video: Path) -> None:
    data = run_json(runner, "inspect", str(three_shot_video))
    assert isinstance(data, dict)
    assert data["codec"] == "h264" and data["shots"] == 3 and data["frame_count"] == 432
    text = runner.invoke(app, ["inspect", str(three_shot_video), "--expect-duration", "18"])
    assert text.exit_code == 0
    assert "3 shots: 0:00.00, 0:06.00, 0:12.00" in text.stdout
    assert "matches what was asked" in text.stdout


def test_inspect_flags_a_mismatch_with_exit_1(runner: CliRunner, three_shot_video: Path) -> None:
    data = run_json(runner, "inspect", str(three_shot_video), "--expect-duration", "24", code=1)
    assert isinstance(data, dict)
    assert data["mismatches"] and "expected 24 s" in data["mismatches"][0]


def test_inspect_of_a_missing_file_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    data = run_json(runner, "inspect", str(tmp_path / "none.mp4"), code=2)
    assert isinstance(data, dict)
    assert data["error"]["problems"][0]["message"] == f"file not found: {tmp_path / 'none.mp4'}"


def test_contact_sheet(runner: CliRunner, three_shot_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    data = run_json(runner, "contact-sheet", str(three_shot_video), "-o", str(out))
    assert isinstance(data, dict)
    assert data["timestamps"] == [3.0, 9.0, 15.0]
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (data["width"], data["height"])


def test_frame_last_and_at(runner: CliRunner, three_shot_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "last.png"
    result = runner.invoke(app, ["frame", str(three_shot_video), "--last", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.size == (1280, 720)
    data = run_json(runner, "frame", str(three_shot_video), "--at", "7", "-o", str(out))
    assert isinstance(data, dict) and data["at"] == 7.0
    bad = runner.invoke(app, ["frame", str(three_shot_video), "-o", str(out)])
    assert bad.exit_code == 2
    assert "exactly one of --at SECONDS or --last" in bad.stderr


def test_camera_lists_the_vocabulary(runner: CliRunner) -> None:
    data = run_json(runner, "camera")
    assert isinstance(data, list) and len(data) == 24
    assert {"name", "keywords", "example"} <= set(data[0])
    text = runner.invoke(app, ["camera"])
    assert text.exit_code == 0 and "dolly zoom" in text.stdout


def test_image_check(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    Image.new("RGB", (1920, 1080), "orange").save(source, format="PNG")
    refused = run_json(runner, "image", "check", str(source), code=2)
    assert isinstance(refused, dict)
    assert "1920x1080" in refused["error"]["message"]
    assert "--fit" in refused["error"]["hint"]
    out = tmp_path / "frame.png"
    data = run_json(runner, "image", "check", str(source), "--fit", "crop", "-o", str(out))
    assert isinstance(data, dict) and data["converted"] and data["format"] == "png"
    with Image.open(out) as image:
        assert (image.size, image.mode) == ((1280, 720), "RGB")
    assert any("holds PNG data" in n for n in data["notes"])


def test_storyboard_check(runner: CliRunner, tmp_path: Path) -> None:
    Image.new("RGB", (1280, 720), "red").save(tmp_path / "a.png")
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump([{"text": "A.", "image": "a.png"}, {"text": "B."}]))
    result = runner.invoke(app, ["storyboard", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 shots, 1 with images, 12 s, estimated $0.96" in result.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump([{"text": ""}, {"text": "B.", "image": "missing.png"}]))
    result = runner.invoke(app, ["storyboard", "check", str(bad)])
    assert result.exit_code == 2
    assert "2 problems" in result.stderr
    assert "shot 1, text: must not be empty" in result.stderr
    assert "shot 2, image: file not found" in result.stderr
    data = run_json(runner, "storyboard", "check", str(bad), code=2)
    assert isinstance(data, dict) and not data["ok"] and len(data["problems"]) == 2
