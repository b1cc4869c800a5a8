"""The one request builder (novareel.requests.compose): every problem at once, paths, fit,
notices."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from novareel.foundation.errors import ImageError, InvalidRequestError, Problem
from novareel.media.images import fit_problem, prepare_starting_frame
from novareel.models import get_model, lifecycle_notice
from novareel.models.nova_reel import MultiShotManual, TextVideo
from novareel.requests.compose import RequestSpec, ShotSpec, compose_requests, request_notices
from tests.helpers import write_png


def small_png(path: Path, size: tuple[int, int] = (640, 360)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (10, 120, 200)).save(path)
    return path


def fields(problems: tuple[Problem, ...]) -> list[str]:
    return [p.field for p in problems]


def test_every_problem_of_a_spec_is_reported_at_once() -> None:
    built = compose_requests(
        RequestSpec(
            prompt="A fox in snow",
            task="text",
            duration=7,
            seed=-1,
            fit="squash",
            image="no-such-frame.png",
        )
    )
    found = fields(built.problems)
    # the fit mode, the image, and the request's own rules: all in one answer
    assert found[0] == "fit"
    assert {"image", "duration", "seed"} <= set(found)
    fit = built.problems[0]
    assert fit.message == "unknown fit mode 'squash'; use crop, pad or stretch"
    assert fit.limit == "crop | pad | stretch"
    assert built.model is not None and not built.ok and not built.image_only
    error = built.error()
    assert isinstance(error, InvalidRequestError) and not isinstance(error, ImageError)
    with pytest.raises(InvalidRequestError) as caught:
        built.raise_if_problems()
    assert [p.field for p in caught.value.problems] == found


def test_an_unknown_model_stops_the_request_but_not_the_other_checks() -> None:
    built = compose_requests(RequestSpec(prompt="a fox", model_id="no-such", fit="zoom"))
    assert built.model is None and built.requests == ()
    assert fields(built.problems) == ["fit", "model_id"]


def test_only_image_problems_make_an_image_error(tmp_path: Path) -> None:
    built = compose_requests(RequestSpec(prompt="a fox", image=str(tmp_path / "gone.png")))
    assert built.image_only and fields(built.problems) == ["image"]
    assert isinstance(built.error(), ImageError)


def test_relative_paths_are_read_from_the_base_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "project"
    (base / "frames").mkdir(parents=True)
    write_png(base / "frames" / "a.png")
    (base / "board.yaml").write_text("- text: one\n- text: two\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    built = compose_requests(RequestSpec(prompt="a fox", image="frames/a.png"), base=base)
    assert built.ok
    assert built.requests[0].frames[0].source == str(base / "frames" / "a.png")
    shots = compose_requests(
        RequestSpec(shots=["one", ShotSpec("two", image="frames/a.png")]), base=base
    )
    assert shots.ok and isinstance(shots.requests[0], MultiShotManual)
    board = compose_requests(RequestSpec(storyboard="board.yaml"), base=base)
    assert board.ok and board.storyboard == base / "board.yaml"
    # without a base, a relative path is read from the current folder, as typed
    typed = compose_requests(RequestSpec(prompt="a fox", image="frames/a.png"))
    assert fields(typed.problems) == ["image"]
    assert "frames/a.png" in typed.problems[0].message


def test_fit_is_checked_once_per_image_and_a_shots_own_wins(tmp_path: Path) -> None:
    small = small_png(tmp_path / "small.png")
    refused = compose_requests(RequestSpec(prompt="a fox", image=str(small)))
    assert fields(refused.problems) == ["image"]  # 640x360 is not 1280x720 without a fit

    padded = compose_requests(RequestSpec(prompt="a fox", image=str(small), fit="pad"))
    assert padded.ok
    frame = padded.requests[0].frames[0]
    assert frame.fit == "pad" and frame.format == "png"
    assert any(n.startswith("image: padded 640x360") for n in padded.notices)

    shots = compose_requests(
        RequestSpec(
            fit="crop",
            shots=[ShotSpec("one", image=str(small), fit="stretch"), ShotSpec("two", fit="x")],
        )
    )
    # a shot's own fit wins over the spec's; an unknown one is named by its shot
    assert fields(shots.problems) == ["shots[2].fit"]
    assert any(n.startswith("shots[1].image: stretched") for n in shots.notices)


def test_record_fit_marks_even_an_untouched_frame(frame_png: Path) -> None:
    plain = compose_requests(RequestSpec(prompt="a fox", image=str(frame_png), fit="crop"))
    recorded = compose_requests(
        RequestSpec(prompt="a fox", image=str(frame_png), fit="crop"), record_fit=True
    )
    assert plain.requests[0].frames[0].fit is None
    assert recorded.requests[0].frames[0].fit == "crop"


def test_notices_say_images_prompt_advice_and_lifecycle_before_anything_is_paid(
    tmp_path: Path,
) -> None:
    tall = tmp_path / "tall.png"
    Image.new("RGB", (1280, 816), (30, 90, 160)).save(tall, format="JPEG")
    spec = RequestSpec(
        prompt="A dog on the beach, no people",
        image=str(tall),
        fit="crop",
        model_id="nova-reel-v1:0",
    )
    built = compose_requests(spec)
    assert built.ok
    said = " | ".join(built.notices)
    assert "image: tall.png holds JPEG data" in said
    assert "image: cropped 1280x816" in said
    assert 'negation ("no")' in said
    model = get_model("nova-reel-v1:0")
    lifecycle = lifecycle_notice(model)
    if lifecycle:  # the model's lifecycle once, unless the caller says it elsewhere
        assert built.notices.count(lifecycle) == 1
        assert lifecycle not in compose_requests(spec, lifecycle=False).notices
    # the same words the submit says for the request (each image's notes travel with it)
    assert set(request_notices(built.requests[0])) <= set(built.notices)


def test_a_caller_may_refuse_a_path_before_it_is_read(tmp_path: Path) -> None:
    write_png(tmp_path / "outside.png")
    board = tmp_path / "board.yaml"
    board.write_text(
        f"- text: one\n  image: {tmp_path / 'outside.png'}\n- text: two\n", encoding="utf-8"
    )
    asked: list[tuple[str, str]] = []

    def locate(value: str, field: str) -> str:
        asked.append((value, field))
        if value.endswith(".png"):
            raise InvalidRequestError(Problem(field, "outside the root"), hint="stay inside")
        return value

    built = compose_requests(
        RequestSpec(prompt="a fox", image=str(tmp_path / "outside.png")), locate=locate
    )
    assert fields(built.problems) == ["image"] and built.hints == ("stay inside",)
    from_board = compose_requests(RequestSpec(storyboard=str(board)), locate=locate)
    assert fields(from_board.problems) == ["shots[1].image"]
    assert [f for _, f in asked][-2:] == ["storyboard", "shots[1].image"]


def test_storyboard_problems_can_be_named_under_the_callers_field(tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text("- text: one\n  image: missing.png\n- text: two\n", encoding="utf-8")
    built = compose_requests(RequestSpec(storyboard=str(board)), storyboard_field="storyboard")
    assert fields(built.problems) == ["storyboard.shots[1].image"]
    plain = compose_requests(RequestSpec(storyboard=str(board)))
    assert fields(plain.problems) == ["shots[1].image"]
    both = compose_requests(RequestSpec(storyboard=str(board), shots=["x"]))
    assert "shots" in fields(both.problems)


def test_one_fit_check_for_everyone() -> None:
    assert fit_problem(None) is None and fit_problem("pad") is None
    problem = fit_problem("zoom", "shots[2].fit")
    assert problem is not None and problem.field == "shots[2].fit"
    assert problem.message == "unknown fit mode 'zoom'; use crop, pad or stretch"


def test_a_prepared_frame_carries_its_notes_named_by_its_field(tmp_path: Path) -> None:
    small = small_png(tmp_path / "small.png")
    prepared = prepare_starting_frame(small, fit="crop", field="end_image")
    assert prepared.notes and prepared.frame.notes == tuple(
        f"end_image: {n}" for n in prepared.notes
    )
    # never part of what is sent, recorded or compared
    assert "notes" not in prepared.frame.describe()
    request = TextVideo("A quiet street", image=prepared.frame)
    assert set(prepared.frame.notes) <= set(request_notices(request))
