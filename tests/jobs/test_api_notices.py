"""Warnings for everyone: a Python API caller's results carry the prompt advice and
what was done to the images, as the command line says them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from novareel import AwsClient, TextVideo, VideoGenerator
from novareel.media.images import load_starting_frame
from novareel.requests.compose import RequestSpec, compose_requests
from tests.helpers import BUCKET, OUTPUT


def tall_jpeg_as_png(path: Path) -> Path:
    Image.new("RGB", (1280, 816), (30, 90, 160)).save(path, format="JPEG")
    return path


def test_generate_results_carry_prompt_advice_and_image_notes(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
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


def test_submit_says_the_builders_notices_once(reel: VideoGenerator, tmp_path: Path) -> None:
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


def test_a_ray_keyframe_path_brings_the_cli_notices_to_python(
    emulator: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """Before: Luma Ray 2's note on its undocumented image input reached CLI users
    (the builder's model notices) but not a Python caller's submit or dry run. Now the
    notices of the same input are the command line's, in the plan, the hook and the
    submit's result."""
    import json

    from typer.testing import CliRunner

    from novareel import RayVideo
    from novareel.cli import _register, app
    from novareel.models.luma_ray import IMAGE_NOTICE

    start = tmp_path / "start.png"
    Image.new("RGB", (960, 540), (200, 120, 40)).save(start)
    request = RayVideo("A kite over a beach, no people", resolution="540p", start_frame=start)
    heard: list[str] = []
    client = AwsClient(
        region="us-west-2", endpoint_url=emulator.url, access_key="t", secret_key="t"
    )
    client.ensure_bucket(BUCKET)
    with VideoGenerator(client, ledger=False) as reel:  # in Ray 2's region
        plan = reel.dry_run(request, OUTPUT, on_notice=heard.append)
        assert IMAGE_NOTICE in plan.notices and heard == list(plan.notices)
        submitted = reel.submit(request, OUTPUT, on_notice=heard.append)
    assert IMAGE_NOTICE in submitted.notices and set(plan.notices) == set(submitted.notices)
    assert heard == list(plan.notices) * 2  # the hook heard the submit's, before sending

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NOVAREEL_HOME", str(tmp_path / "home"))
    _register()
    said = CliRunner().invoke(
        app,
        ["generate", "A kite over a beach, no people", "--model-id", "luma-ray2",
         "--resolution", "540p", "--image", str(start), "--dry-run", "--json",
         "--output-uri", OUTPUT],
    )  # fmt: skip
    assert said.exit_code == 0, said.output
    cli = set(json.loads(said.stdout)["notices"])
    # every notice the command line gives about the request, the Python caller hears
    # (the Python result adds where the job goes: the region notices of its client)
    assert cli <= set(plan.notices)
