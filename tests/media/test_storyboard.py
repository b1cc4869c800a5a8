"""Storyboard files: both forms, YAML and JSON, relative images, every problem at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from novareel.foundation.errors import InvalidRequestError
from novareel.models.nova_reel import MultiShotManual
from novareel.requests.compose import check_storyboard
from novareel.requests.storyboard import (
    SCHEMA_PATH,
    load_storyboard,
    shot_label,
    storyboard_json_schema,
)


def frame(
    path: Path, size: tuple[int, int] = (1280, 720), colour: str = "red", fmt: str = "PNG"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)
    return path


def write(path: Path, document: object) -> Path:
    if path.suffix == ".json":
        path.write_text(json.dumps(document))
    else:
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_list_form_in_yaml_with_relative_images(tmp_path: Path) -> None:
    folder = tmp_path / "story"
    frame(folder / "frames" / "one.png", colour="red")
    frame(folder / "frames" / "three.jpg", colour="blue")  # PNG data, .jpg name
    path = write(
        folder / "board.yaml",
        [
            {"text": "A red room. Static shot.", "image": "frames/one.png"},
            {"text": "A green field."},
            {"text": "A blue sea.", "image": "frames/three.jpg"},
        ],
    )
    # Relative paths follow the file, not the current directory.
    board = load_storyboard(path)
    assert board.shots[0].image == str((folder / "frames" / "one.png").resolve())
    request = board.to_request()
    assert isinstance(request, MultiShotManual)
    assert [s.text for s in request.shots] == [
        "A red room. Static shot.",
        "A green field.",
        "A blue sea.",
    ]
    images = [s.image for s in request.shots]
    assert images[0] is not None and images[0].format == "png"
    assert images[1] is None
    # three.jpg is PNG data: the real format wins.
    assert images[2] is not None and images[2].format == "png"
    assert request.seed == 42 and request.duration_seconds == 18
    body = request.to_model_input()
    assert body["taskType"] == "MULTI_SHOT_MANUAL"
    assert body["multiShotManualParams"]["shots"][0]["image"]["format"] == "png"


def test_mapping_form_in_json_with_seed_and_default_fit(tmp_path: Path) -> None:
    frame(tmp_path / "wide.png", size=(1920, 1080))
    path = write(
        tmp_path / "board.json",
        {
            "seed": 7,
            "fit": "crop",
            "shots": [{"text": "One.", "image": "wide.png"}, {"text": "Two."}],
        },
    )
    prepared = load_storyboard(path).prepare()
    request = prepared.request
    assert request.seed == 7
    image = request.shots[0].image
    assert image is not None and image.fit == "crop"
    assert any(n.startswith("shot 1: cropped 1920x1080") for n in prepared.notes)
    # An explicit seed (the command line's --seed) beats the file's.
    assert load_storyboard(path).to_request(seed=9).seed == 9


def test_shot_fit_beats_the_default(tmp_path: Path) -> None:
    frame(tmp_path / "tall.png", size=(720, 1280), colour="white")
    path = write(
        tmp_path / "b.yaml",
        {
            "fit": "crop",
            "shots": [{"text": "A.", "image": "tall.png", "fit": "pad"}, {"text": "B."}],
        },
    )
    image = load_storyboard(path).to_request().shots[0].image
    assert image is not None and image.fit == "pad"


def test_check_reports_every_problem_at_once_with_shot_numbers(tmp_path: Path) -> None:
    frame(tmp_path / "big.png", size=(1920, 1080))
    frame(tmp_path / "ok.png")
    path = write(
        tmp_path / "board.yaml",
        {
            "seed": 7,
            "shots": [
                {"text": "Fine.", "image": "ok.png"},
                {"text": "x" * 513, "image": "big.png"},
                {"text": "Typo.", "imgae": "ok.png"},
                {"text": "Missing image.", "image": "nope.png"},
            ],
        },
    )
    report = check_storyboard(path)
    assert not report.ok
    fields = [p.field for p in report.problems]
    assert fields == ["shots[2].text", "shots[2].image", "shots[3].imgae", "shots[4].image"]
    lines = [shot_label(p) for p in report.problems]
    assert lines[0] == "shot 2, text: is 513 characters; the limit is 512"
    assert lines[1].startswith("shot 2, image: is 1920x1080 pixels")
    assert "did you mean 'image'?" in lines[2]
    assert lines[3] == f"shot 4, image: file not found: {tmp_path / 'nope.png'}"
    assert any(h.startswith("shot 2:") and "--fit" in h for h in report.hints)
    assert (report.shots, report.duration_seconds, report.estimated_cost_usd) == (4, 24, 1.92)
    assert report.seed == 7  # the file's own seed, although the file failed validation


def test_check_of_a_good_storyboard(tmp_path: Path) -> None:
    frame(tmp_path / "a.png")
    path = write(
        tmp_path / "b.yml", [{"text": "A."}, {"text": "B.", "image": "a.png"}, {"text": "C."}]
    )
    report = check_storyboard(path)
    assert report.ok and report.problems == []
    data = report.to_dict()
    assert data["shots"] == 3 and data["images"] == 1
    assert data["duration_seconds"] == 18 and data["estimated_cost_usd"] == 1.44
    assert data["seed"] == 42 and data["model_id"] == "amazon.nova-reel-v1:1"


def test_shot_count_limits(tmp_path: Path) -> None:
    one = check_storyboard(write(tmp_path / "one.yaml", [{"text": "Alone."}]))
    assert [p.field for p in one.problems] == ["shots"]
    assert "1 shot; a manual storyboard needs 2-20" in one.problems[0].message
    many = check_storyboard(write(tmp_path / "many.yaml", [{"text": "s"}] * 21))
    assert "21 shots" in many.problems[0].message
    assert many.duration_seconds == 126


def test_seed_out_of_range_and_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.yaml",
        {"seed": 2_147_483_647, "sots": [], "shots": [{"text": "a"}, {"text": "b"}]},
    )
    report = check_storyboard(path)
    messages = {p.field: p.message for p in report.problems}
    assert set(messages) == {"seed", "sots"}
    assert "did you mean 'shots'?" in messages["sots"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", "shots:\n  - text: [unclosed\n", "invalid YAML at line"),
        ("bad.json", '{"shots": [}', "invalid JSON at line 1, column 12"),
        ("empty.yaml", "", "not empty"),
        ("scalar.yaml", "just text", "not str"),
    ],
)
def test_syntax_and_shape_errors(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    report = check_storyboard(path)
    assert len(report.problems) == 1
    assert expected in report.problems[0].message
    with pytest.raises(InvalidRequestError):
        load_storyboard(path)


def test_missing_file(tmp_path: Path) -> None:
    report = check_storyboard(tmp_path / "nope.yaml")
    assert report.problems[0].message == f"file not found: {tmp_path / 'nope.yaml'}"


def test_to_request_raises_with_every_image_problem(tmp_path: Path) -> None:
    frame(tmp_path / "small.png", size=(10, 10))
    path = write(
        tmp_path / "b.yaml",
        [{"text": "a", "image": "small.png"}, {"text": "b", "image": "small.png"}],
    )
    with pytest.raises(InvalidRequestError) as info:
        load_storyboard(path).to_request()
    assert [p.field for p in info.value.problems] == ["shots[1].image", "shots[2].image"]
    assert info.value.hint is not None and "storyboard check" in info.value.hint


def test_s3_images_in_a_storyboard(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.yaml",
        [
            {"text": "a", "image": "s3://bucket/frames/a.png", "bucket_owner": "123456789012"},
            {"text": "b"},
        ],
    )
    image = load_storyboard(path).to_request().shots[0].image
    assert image is not None
    assert (image.s3_uri, image.bucket_owner) == ("s3://bucket/frames/a.png", "123456789012")


def test_images_are_checked_even_when_the_schema_fails(tmp_path: Path) -> None:
    frame(tmp_path / "tiny.png", size=(8, 8))
    path = write(tmp_path / "b.yaml", [{"text": "", "image": "tiny.png"}, {"text": "b"}])
    report = check_storyboard(path)
    assert [p.field for p in report.problems] == ["shots[1].text", "shots[1].image"]
    assert report.images == 1


def test_published_schema_is_up_to_date() -> None:
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == storyboard_json_schema(), (
        "run: python -m novareel.requests.storyboard to regenerate the schema"
    )


def test_schema_accepts_both_forms_and_forbids_extra_keys() -> None:
    schema = storyboard_json_schema()
    forms = {entry.get("type") or entry.get("$ref") for entry in schema["anyOf"]}
    assert forms == {"array", "#/$defs/StoryboardFile"}
    shot = schema["$defs"]["StoryboardShot"]
    assert shot["additionalProperties"] is False
    assert shot["properties"]["text"]["maxLength"] == 512
    assert shot["required"] == ["text"]


# --- storyboard check prices what generate would send (every model) -------------------


def _cli_json(*args: str) -> tuple[int, dict[str, object]]:
    from typer.testing import CliRunner

    from novareel.cli import _register, app

    _register()
    result = CliRunner().invoke(app, [*args, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def _dry_run(board: Path, *args: str) -> dict[str, object]:
    _code, data = _cli_json(
        "generate", "--storyboard", str(board), "--output-uri", "s3://bucket-ok/v/",
        "--dry-run", *args,
    )  # fmt: skip
    return data


def test_check_of_a_ray_storyboard_prices_what_generate_sends(tmp_path: Path) -> None:
    """The file's model_id: Luma Ray 2 is checked as Ray 2 (no "not a Nova Reel model"),
    priced per shot as generate prices it ($22.50, not Nova Reel's $1.44)."""
    board = write(
        tmp_path / "ray.yaml",
        {"model_id": "luma-ray2", "shots": [{"text": "A"}, {"text": "B"}, {"text": "C"}]},
    )
    code, report = _cli_json("storyboard", "check", str(board))
    assert code == 0, report
    assert report["ok"] is True and report["problems"] == []
    assert report["model_id"] == "luma.ray-v2:0" and report["per_shot"] is True
    assert report["jobs"] == 3 and report["duration_seconds"] == 15
    assert report["estimated_cost_usd"] == _dry_run(board)["estimated_cost_usd"] == 22.5


def test_check_takes_the_model_and_options_generate_takes(tmp_path: Path) -> None:
    board = write(tmp_path / "b.yaml", [{"text": "A"}, {"text": "B"}])
    flags = ("--model-id", "luma-ray2", "--resolution", "540p", "--duration", "9")
    code, report = _cli_json("storyboard", "check", str(board), *flags)
    assert code == 0, report
    assert report["estimated_cost_usd"] == _dry_run(board, *flags)["estimated_cost_usd"] == 13.5
    assert report["duration_seconds"] == 18 and report["seed"] is None
    # the same problems as generate, by field
    code, report = _cli_json("storyboard", "check", str(board), "--model-id", "luma-ray2",
                             "--seed", "3", "--duration", "7")  # fmt: skip
    assert code == 2
    refused: Any = _dry_run(board, "--model-id", "luma-ray2", "--seed", "3", "--duration", "7")
    said: Any = report["problems"]
    fields = sorted(p["field"] for p in said)
    assert (
        fields
        == sorted(p["field"] for p in refused["error"]["problems"])
        == [
            "duration",
            "seed",
        ]
    )
    # an image is checked to the chosen model's rules: 1920x1080 suits Ray 2, not Nova Reel
    frame(tmp_path / "wide.png", (1920, 1080))
    board = write(tmp_path / "img.yaml", [{"text": "A", "image": "wide.png"}, {"text": "B"}])
    assert _cli_json("storyboard", "check", str(board))[0] == 2
    assert _cli_json("storyboard", "check", str(board), "--model-id", "luma-ray2")[0] == 0


def test_a_tab_in_the_indentation_gets_a_hint_that_says_so(tmp_path: Path) -> None:
    """PyYAML says only "found character '\\t' that cannot start any token"; the hint
    names the line and says YAML indents with spaces (storyboard check and batch)."""
    import json

    from typer.testing import CliRunner

    from novareel.cli import _register, app

    _register()
    board = tmp_path / "tabbed.yaml"
    board.write_text("shots:\n\t- text: a fox\n", encoding="utf-8")
    run = CliRunner().invoke(app, ["storyboard", "check", str(board), "--json"])
    assert run.exit_code == 2
    assert "line 2 is indented with a tab" in run.stdout and "spaces" in run.stdout
    batch = tmp_path / "tabbed-batch.yaml"
    batch.write_text("items:\n\t- prompt: a fox\n", encoding="utf-8")
    run = CliRunner().invoke(app, ["batch", str(batch), "--dry-run", "--json"])
    assert run.exit_code == 2
    assert json.loads(run.stdout)["error"]["hint"].startswith("line 2 is indented with a tab")
