"""`novareel qa` end to end on the emulator: injected defects found where they are.

The emulator's ``defect`` fault spoils real renders (black, frozen, flash over a time
span); every download runs the checks and stores the verdict in the ledger. Clean
videos must have no finding, defective ones exactly their defect within 0.25 s.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel import TextVideo
from novareel.batch import run_batch
from novareel.cli import _register, app
from novareel.jobs import VideoGenerator
from tests.helpers import OUTPUT

_register()
runner = CliRunner()

#: (defect, at, length) per defective item: three of each kind at different times.
SPANS = [
    ("black", 1.0, 1.0),
    ("black", 2.5, 0.75),
    ("black", 3.5, 1.25),
    ("frozen", 0.5, 1.0),
    ("frozen", 2.0, 2.0),
    ("frozen", 3.5, 0.75),
    ("flash", 1.0, 0.5),
    ("flash", 2.5, 1.0),
    ("flash", 4.5, 0.5),
]
#: Prompts whose camera keeps moving (a static shot is frozen by nature).
MOVES = ["camera pans right", "camera pans left", "zoom in", "tilt up"]


@pytest.mark.slow
def test_a_batch_of_twelve_finds_every_injected_defect_and_nothing_else(
    ray: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    """Luma Ray 2 at 540p (5 s, 960x540): the cheapest real renders of a video model."""
    reel = ray
    items = []
    for n, (defect, at, length) in enumerate(SPANS):
        marker = f"DEFECT-{n}"
        emulator.spoil_videos(defect, at, length, marker=marker)
        items.append(f"  - prompt: A harbour at dawn {marker}, {MOVES[n % 4]}")
    for n in range(3):
        items.append(f"  - prompt: A clean harbour scene {n}, {MOVES[n]}")
    path = tmp_path / "defects.yaml"
    defaults = f"defaults:\n  output_uri: {OUTPUT}\n  model_id: luma-ray2\n  resolution: 540p\n"
    path.write_text(defaults + "items:\n" + "\n".join(items) + "\n")

    summary = run_batch(reel, path, out_dir=tmp_path / "out", max_concurrent=4)
    assert summary.done == 12, [(i.key, i.message) for i in summary.items]
    ledger = reel.ledger
    assert ledger is not None
    for number, item in enumerate(summary.items):
        assert item.job_id is not None and item.invocation_id is not None
        verdict = ledger.get(item.job_id).qa
        assert verdict is not None, item.key
        assert item.qa == verdict  # the batch summary shows what the ledger holds
        injected = emulator.job(item.invocation_id)["injectedDefects"]
        if number >= len(SPANS):
            assert injected == []
            assert verdict["verdict"] == "clean", (item.key, verdict["findings"])
            continue
        defect, at, length = SPANS[number]
        assert injected == [{"defect": defect, "at": at, "length": length}]
        assert [f["kind"] for f in verdict["findings"]] == [defect], verdict["findings"]
        found = verdict["findings"][0]
        assert abs(found["start"] - at) <= 0.25, found
        assert abs(found["end"] - (at + length)) <= 0.25, found
        assert "size" in verdict["checks"] and "length" in verdict["checks"]


def test_qa_command_on_a_job_and_a_file_exit_codes(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    emulator.spoil_videos("black", 2.0, 1.0, marker="GO-DARK")
    spoiled = reel.generate(
        TextVideo("A lighthouse GO-DARK, camera pans right"), OUTPUT, out_dir=tmp_path / "a"
    )
    clean = reel.generate(
        TextVideo("A lighthouse at noon, camera pans left"), OUTPUT, out_dir=tmp_path / "b"
    )
    assert spoiled.qa is not None and spoiled.qa["verdict"] == "findings"
    assert any(n.startswith("qa: 1 finding(s): black") for n in spoiled.notices)

    by_job = runner.invoke(app, ["qa", str(spoiled.ledger_id), "--json"])
    assert by_job.exit_code == 1, by_job.output
    data = json.loads(by_job.stdout)
    assert data["job"] == spoiled.ledger_id
    assert [f["kind"] for f in data["findings"]] == ["black"]

    by_file = runner.invoke(app, ["qa", str(clean.video_path)])
    assert by_file.exit_code == 0, by_file.output
    assert "clean" in by_file.stdout

    shown = runner.invoke(app, ["jobs", "show", str(spoiled.ledger_id)])
    assert "qa finding" in shown.stdout and "black 2.00-3.00 s" in shown.stdout
    shown_json = json.loads(
        runner.invoke(app, ["jobs", "show", str(clean.ledger_id), "--json"]).stdout
    )
    assert shown_json["job"]["qa"]["verdict"] == "clean"

    missing = runner.invoke(app, ["qa", "no-such-job-or-file.mp4"])
    assert missing.exit_code == 2
    assert "neither a file nor a job" in missing.output
    assert runner.invoke(app, ["qa", "-h"]).exit_code == 0


def _scene_png(path: Path, prompt: str, width: int = 960, height: int = 540) -> Path:
    from PIL import Image

    from novareel.emulator.render import _scene

    Image.fromarray(_scene(prompt, 5, 0, width, height)).save(path)
    return path


@pytest.fixture
def ray(emulator: Any) -> Any:
    """VideoGenerator in Luma Ray 2's region (us-west-2) on the emulator."""
    from tests.helpers import BUCKET, make_client

    client = make_client(emulator.url, max_attempts=2, region="us-west-2")
    client.ensure_bucket(BUCKET)
    with VideoGenerator(client, time_scale=float(emulator.health()["speed"])) as api:
        yield api


@pytest.mark.slow
def test_ray2_loops_and_keyframes_pass_and_a_wrong_keyframe_is_found(
    ray: VideoGenerator, tmp_path: Path
) -> None:
    from novareel import RayVideo

    reel = ray
    start = _scene_png(tmp_path / "start.png", "a quiet bay at dawn")
    end = _scene_png(tmp_path / "end.png", "the same bay at dusk")
    loop = reel.generate(
        RayVideo("Waves roll onto a beach, camera pans right", loop=True, resolution="540p"),
        OUTPUT,
        out_dir=tmp_path / "loop",
    )
    keyed = reel.generate(
        RayVideo(
            "A bay from dawn to dusk, camera pans left",
            start_frame=str(start),
            end_frame=str(end),
            resolution="540p",
        ),
        OUTPUT,
        out_dir=tmp_path / "keys",
    )
    assert loop.qa is not None and keyed.qa is not None
    assert "loop_seam" in loop.qa["checks"] and loop.qa["verdict"] == "clean", loop.qa
    assert {"start_image", "end_image"} <= set(keyed.qa["checks"])
    assert keyed.qa["verdict"] == "clean", keyed.qa

    # The same video against a picture it does not show: the keyframe check says so,
    # and the seam check of a video that is not a loop finds its jump.
    from novareel.media.qa import QaExpectations, check_file

    other = _scene_png(tmp_path / "other.png", "a mountain village", 1024, 768)
    wrong = check_file(
        str(keyed.video_path), QaExpectations(start_image=other.read_bytes(), loop=True)
    )
    assert [f.kind for f in wrong.findings] == ["loop_seam", "start_image"]


@pytest.mark.slow
def test_per_shot_storyboard_checks_each_shot_and_stores_its_verdict(
    ray: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    """A Ray 2 storyboard runs one job per shot: each shot's video is checked when it is
    fetched, the defective shot's job holds its finding, the notices name the shot."""
    from novareel import RayVideo
    from novareel.foundation.s3uri import output_location
    from novareel.running.shotboard import run_storyboard

    emulator.spoil_videos("flash", 1.0, 0.5, marker="FLASH-SHOT")
    shots = [
        RayVideo("A lighthouse at dawn, camera pans right", resolution="540p"),
        RayVideo("Waves on rocks FLASH-SHOT, camera pans left", resolution="540p"),
    ]
    run = run_storyboard(ray, shots, output_location(OUTPUT), out_dir=tmp_path)
    assert run.ok and run.joined is not None
    ledger = ray.ledger
    assert ledger is not None
    verdicts = [ledger.get(item.job_id).qa for item in run.summary.items if item.job_id]
    assert [v["verdict"] for v in verdicts if v] == ["clean", "findings"]
    assert [f["kind"] for f in verdicts[1]["findings"]] == ["flash"]  # type: ignore[index]
    assert any("shot_0002: qa: 1 finding(s): flash" in n for n in run.notices), run.notices


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"defect": "blurry", "at": 1, "length": 1}, "unknown defect 'blurry'"),
        ({"defect": "black", "at": -1, "length": 1}, "at -1.0 must be"),
        ({"defect": "black", "at": 1, "length": 0}, "length 0.0 must be"),
        ({"defect": "black", "at": "soon", "length": 1}, "at 'soon' must be a number"),
        ({"defect": "black", "at": 1, "length": True}, "length True must be a number"),
    ],
)
def test_the_defect_fault_refuses_what_it_cannot_draw(
    emulator: Any, body: dict[str, Any], message: str
) -> None:
    from novareel.emulator.control_client import EmulatorControlError

    with pytest.raises(EmulatorControlError, match=message) as caught:
        emulator._call("POST", "faults", {"kind": "defect", **body})
    assert caught.value.status == 400
    assert emulator.faults()["defects"] == []


def test_defect_faults_are_listed_and_cleared(emulator: Any) -> None:
    emulator.spoil_videos("frozen", 2, 1.5, marker="HOLD")
    assert emulator.faults()["defects"] == [
        {"defect": "frozen", "at": 2.0, "length": 1.5, "marker": "HOLD", "count": None}
    ]
    emulator.clear_faults()
    assert emulator.faults()["defects"] == []


def test_generate_shows_the_verdict_and_no_qa_skips_it(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from novareel.ledger import Ledger
    from tests.helpers import make_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    make_client(emulator.url).ensure_bucket("qa-bucket")
    base = ["generate", "--model-id", "luma-ray2", "--resolution", "540p"]
    where = ["--endpoint-url", emulator.url, "--output-uri", "s3://qa-bucket/v/"]
    where += ["--out", str(tmp_path)]
    checked = runner.invoke(app, [*base, "A kite over dunes, camera pans right", *where])
    assert checked.exit_code == 0, checked.output
    assert re.search(r"^qa\s+clean$", checked.stdout, re.MULTILINE), checked.stdout
    assert "qa:" not in checked.stderr  # a clean verdict is no warning
    skipped = runner.invoke(
        app, [*base, "A kite over a lake, camera pans left", *where, "--no-qa", "--json"]
    )
    assert skipped.exit_code == 0, skipped.output
    data = json.loads(skipped.stdout)
    assert data["qa"] is None and not any(n.startswith("qa:") for n in data["notices"])
    with Ledger.open_default() as ledger:
        assert ledger.get(data["ledger_id"]).qa is None
