"""Warnings for everyone: a batch item's image notes and prompt advice reach its result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from novareel.batch import load_batch, run_batch
from novareel.jobs import VideoGenerator
from tests.helpers import OUTPUT


def tall_jpeg_as_png(path: Path) -> Path:
    """A 1280x816 JPEG named .png: with fit crop it is converted (two notes)."""
    Image.new("RGB", (1280, 816), (30, 90, 160)).save(path, format="JPEG")
    return path


def notice_batch(tmp_path: Path) -> Path:
    tall_jpeg_as_png(tmp_path / "frame.png")
    path = tmp_path / "jobs.yaml"
    path.write_text(
        f"defaults:\n  output_uri: {OUTPUT}\n"
        "items:\n"
        "  - id: intro\n    prompt: A lighthouse, no boats\n"
        "    image: frame.png\n    fit: crop\n"
        "  - id: outro\n    prompt: A calm harbour at dusk, static shot\n",
        encoding="utf-8",
    )
    return path


def test_a_batch_items_notices_are_in_its_result_and_the_summary(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    path = notice_batch(tmp_path)
    checked = load_batch(path)
    said = " | ".join(checked.item("intro").notices)
    assert "image: frame.png holds JPEG data" in said
    assert "image: cropped 1280x816" in said
    assert 'negation ("no")' in said

    summary = run_batch(reel, path, out_dir=tmp_path / "out")
    assert summary.ok
    intro, outro = summary.items
    # the outcome carries what the person was told before the run, as the item said it
    assert intro.notices == checked.item("intro").notices
    assert not any("negation" in n or n.startswith("image:") for n in outro.notices)
    items = summary.to_dict()["items"]
    assert items[0]["notices"] == list(intro.notices)
    assert any('negation ("no")' in n for n in items[0]["notices"])
    assert any(n.startswith("image: cropped") for n in items[0]["notices"])


def test_a_storyboard_items_image_notes_are_named_by_their_shot(tmp_path: Path) -> None:
    tall_jpeg_as_png(tmp_path / "frame.png")
    (tmp_path / "board.yaml").write_text(
        "fit: crop\nshots:\n  - text: A cliff, never foggy\n    image: frame.png\n"
        "  - text: The sea\n",
        encoding="utf-8",
    )
    path = tmp_path / "jobs.yaml"
    path.write_text(f"- storyboard: board.yaml\n  output_uri: {OUTPUT}\n", encoding="utf-8")
    (item,) = load_batch(path).items
    said = " | ".join(item.notices)
    assert "shots[1].image: cropped 1280x816" in said
    assert 'negation ("never")' in said
