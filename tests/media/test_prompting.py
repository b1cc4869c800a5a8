"""Prompt advice: negations and camera wording placement; the camera vocabulary."""

from __future__ import annotations

import pytest

from novareel.requests.prompting import CAMERA_MOVES, CameraMove, find_camera_moves, prompt_warnings


@pytest.mark.parametrize(
    ("prompt", "word"),
    [
        ("A kitchen table with no bananas.", '"no"'),
        ("The street is NOT crowded.", '"not"'),
        ("A beach without people.", '"without"'),
        ("A bird that never lands.", '"never"'),
        ("The cat doesn't move.", '"doesn\'t"'),
        ("The cat doesn\u2019t move.", '"doesn\'t"'),
        ("A desk with nothing on it.", '"nothing"'),
        ("None of the lights are on.", '"none"'),
        ("A square where no one walks.", '"no one"'),
    ],
)
def test_negation_words_warn(prompt: str, word: str) -> None:
    warnings = prompt_warnings(prompt)
    assert len(warnings) == 1
    assert word in warnings[0]
    assert "instead" in warnings[0]


@pytest.mark.parametrize(
    "prompt",
    [
        "A notebook on a knotted rope.",
        "Snowy mountains at dawn, a supernova overhead.",
        "Nothingness is a word, and so is Norway and a nook.",
        "A nonchalant cat in Notting Hill.",
    ],
)
def test_no_false_positives_inside_words(prompt: str) -> None:
    assert prompt_warnings(prompt) == []


def test_all_negations_are_listed_once() -> None:
    (warning,) = prompt_warnings("No cars, not a single one, no trees.")
    assert warning.count('"no"') == 1 and '"not"' in warning


def test_camera_wording_in_a_middle_sentence_warns() -> None:
    prompt = "A busy harbour at dawn. The camera pans left across the boats. Gulls circle."
    (warning,) = prompt_warnings(prompt)
    assert '"pans left"' in warning and "sentence 2 of 3" in warning


@pytest.mark.parametrize(
    "prompt",
    [
        "Pan left across a busy harbour at dawn. Boats bob. Gulls circle.",
        "A busy harbour at dawn. Boats bob. Gulls circle. Pan left.",
        "A busy harbour at dawn, the camera pans left.",  # one sentence
        "A busy harbour at dawn. Pan left.",  # two sentences: start and end only
    ],
)
def test_camera_wording_at_start_or_end_is_fine(prompt: str) -> None:
    assert prompt_warnings(prompt) == []


def test_the_vocabulary_covers_the_contract() -> None:
    names = {move.name for move in CAMERA_MOVES}
    contract = {
        "aerial shot", "arc shot", "clockwise rotation", "counterclockwise rotation",
        "dolly in", "dolly out", "pan left", "pan right", "whip pan", "pedestal up",
        "pedestal down", "static shot", "tilt up", "tilt down", "whip tilt", "track left",
        "track right", "zoom in", "zoom out", "whip zoom", "dolly zoom", "following shot",
        "slow motion", "time-lapse",
    }  # fmt: skip
    assert names == contract


@pytest.mark.parametrize("move", CAMERA_MOVES, ids=lambda m: m.name)
def test_each_example_and_keyword_is_recognised_as_its_own_move(move: CameraMove) -> None:
    assert [m.name for m, _s, _e in find_camera_moves(move.example)] == [move.name]
    for keyword in move.keywords:
        assert move.search(keyword), keyword


def test_counterclockwise_is_not_clockwise() -> None:
    found = [m.name for m, _s, _e in find_camera_moves("Counter-clockwise rotation.")]
    assert found == ["counterclockwise rotation"]


@pytest.mark.parametrize(
    "prompt,said",
    [
        ("金色的夕阳照在平静的海浪上", "not in English letters"),
        ("Тихий океан на закате", "not in English letters"),
        ("A sunset 🌅 over calm waves", "emoji"),
    ],
)
def test_a_prompt_not_in_english_gets_a_notice_through_the_cli(prompt: str, said: str) -> None:
    """A Chinese, Russian or emoji prompt is sent as typed, with the notice that the
    models are documented for English (issue 22); ``--dry-run --json`` carries it."""
    import json

    from typer.testing import CliRunner

    from novareel.cli import _register, app

    _register()
    run = CliRunner().invoke(
        app, ["generate", prompt, "--dry-run", "--json", "--output-uri", "s3://my-bucket/v/"]
    )
    assert run.exit_code == 0, run.output
    plan = json.loads(run.stdout)
    notices = " ".join(plan.get("notices", []))
    assert said in notices and "English" in notices
    assert json.dumps(plan, ensure_ascii=False).count(prompt) >= 1  # sent as typed


@pytest.mark.parametrize(
    "prompt", ["Café in Zürich at dawn, camera pans left", "A dragon named 龙 flies over Kyoto"]
)
def test_accents_and_a_foreign_name_in_an_english_prompt_say_nothing(prompt: str) -> None:
    assert not [w for w in prompt_warnings(prompt) if "English" in w]
