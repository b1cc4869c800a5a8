"""Warnings for everyone: a Python API caller's results carry the prompt advice and
what was done to the images, as the command line says them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from novareel import NovaReel, TextVideo
from novareel.compose import RequestSpec, compose_requests
from novareel.images import load_starting_frame
from tests.helpers import OUTPUT


def tall_jpeg_as_png(path: Path) -> Path:
    Image.new("RGB", (1280, 816), (30, 90, 160)).save(path, format="JPEG")
    return path


def test_generate_results_carry_prompt_advice_and_image_notes(
    reel: NovaReel, emulator: Any, tmp_path: Path
) -> None:
    frame = load_starting_frame(tall_jpeg_as_png(tmp_path / "frame.png"), fit="crop")
    heard: list[tuple[str, int]] = []

    def on_notice(notice: str) -> None:
        heard.append((notice, int(emulator.stats()["acceptedSubmissions"])))

    result = reel.generate(
        TextVideo("A quiet street, no cars", image=frame),
        OUTPUT,
        out_dir=tmp_path / "out",
        on_notice=on_notice,
    )
    assert result.status == "Completed"
    said = " | ".join(result.notices)
    assert 'negation ("no")' in said
    assert "image: frame.png holds JPEG data" in said
    assert "image: cropped 1280x816" in said
    # heard before anything was accepted, not only in the result
    early = {notice for notice, accepted in heard if accepted == 0}
    assert {n for n in result.notices if "negation" in n or n.startswith("image:")} <= early


def test_submit_says_the_builders_notices_once(reel: NovaReel, tmp_path: Path) -> None:
    built = compose_requests(
        RequestSpec(
            prompt="A harbour at dawn, without boats",
            image=str(tall_jpeg_as_png(tmp_path / "frame.png")),
            fit="crop",
        )
    )
    assert built.ok
    submitted = reel.submit(built.requests[0], OUTPUT)
    # everything the builder told the person is in the API's result, each once
    assert set(built.notices) <= set(submitted.notices)
    assert len(submitted.notices) == len(set(submitted.notices))
