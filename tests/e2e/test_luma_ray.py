"""Luma Ray 2 end to end on the emulator: generate, storyboards, batch, ledger, refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from novareel.foundation.errors import InvalidRequestError
from novareel.media.video import inspect_video
from tests.helpers import make_client

_register()
runner = CliRunner()


@pytest.fixture
def ray_env(emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Dummy credentials and no configured region: the model's own region is used."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    make_client(emulator.url).ensure_bucket("ray-bucket")
    return {
        "args": ["--endpoint-url", emulator.url, "--output-uri", "s3://ray-bucket/v/"],
        "out": tmp_path / "videos",
    }


def run_json(*args: str) -> tuple[int, Any, str]:
    result = runner.invoke(app, [*args, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_ray_job_end_to_end_in_the_models_region(ray_env: dict[str, Any], emulator: Any) -> None:
    code, data, _ = run_json(
        "generate",
        "A red fox runs through snow",
        "--model-id",
        "luma-ray2",
        "--aspect-ratio",
        "9:16",
        "--resolution",
        "540p",
        "--duration",
        "5",
        *ray_env["args"],
        "--out",
        str(ray_env["out"]),
    )
    assert code == 0, data
    assert data["model_id"] == "luma.ray-v2:0"
    assert ":us-west-2:" in data["invocation_arn"]
    assert data["estimated_cost_usd"] == 3.75
    assert any("no AWS region configured: using us-west-2" in n for n in data["notices"])
    video = next(p for p in data["local_files"] if p.endswith("output.mp4"))
    info = inspect_video(video)
    assert (info.width, info.height, info.frame_count) == (540, 960, 120)
    # the ledger knows it as a Ray 2 job, and `jobs show` reads it back
    result = runner.invoke(app, ["jobs", "show", str(data["ledger_id"]), "--json"])
    assert json.loads(result.stdout)["job"]["request"]["aspect_ratio"] == "9:16"


def test_a_configured_region_without_the_model_is_not_used(
    ray_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_DEFAULT_REGION=us-east-1 (boto3's variable; most users have it or a profile's
    region) is a default for every service, not a choice of where Ray 2 runs: the job
    goes to us-west-2, and a notice says so."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    code, data, _ = run_json(
        "generate", "A red fox", "--model-id", "luma-ray2", "--resolution", "540p",
        "--duration", "5", *ray_env["args"], "--no-wait",
    )  # fmt: skip
    assert code == 0, data
    assert ":us-west-2:" in data["invocation_arn"]
    assert any(
        "not offered in us-east-1" in n and "using us-west-2" in n for n in data["notices"]
    ), data["notices"]


def test_a_configured_region_that_offers_the_model_is_kept(
    ray_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    code, data, _ = run_json("generate", "A red fox", *ray_env["args"], "--no-wait")
    assert code == 0, data
    assert ":us-east-1:" in data["invocation_arn"]
    assert not any("region" in n for n in data["notices"]), data["notices"]


def test_an_explicit_region_without_the_model_is_refused_before_sending(
    ray_env: dict[str, Any], emulator: Any
) -> None:
    before = emulator.stats()["acceptedSubmissions"]
    result = runner.invoke(
        app,
        ["generate", "A red fox", "--model-id", "luma-ray2", *ray_env["args"],
         "--region", "us-east-1", "--no-wait", "--json"],
    )  # fmt: skip
    assert result.exit_code == 2, result.stdout
    error = json.loads(result.stdout)["error"]
    assert error["problems"][0]["field"] == "region"
    assert error["problems"][0]["value"] == "us-east-1"
    assert "us-west-2" in error["problems"][0]["limit"]
    assert "--region" in error["hint"]
    assert emulator.stats()["acceptedSubmissions"] == before
    # the Python door: region= is the same explicit choice
    from novareel import RayVideo, VideoGenerator

    with (
        VideoGenerator(region="us-east-1", endpoint_url=emulator.url, ledger=False) as reel,
        pytest.raises(InvalidRequestError) as info,
    ):
        reel.submit(RayVideo("A red fox"), "s3://ray-bucket/v/")
    assert info.value.field == "region"
    assert emulator.stats()["acceptedSubmissions"] == before


def test_ray_storyboard_runs_one_job_per_shot_exactly_once(
    ray_env: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(
        "model_id: luma-ray2\nshots:\n  - text: A lighthouse at dawn\n"
        "  - text: Waves crash on rocks, camera pans right\n  - text: Seagulls over the sea\n"
    )
    args = ["generate", "--storyboard", str(board), "--resolution", "540p", *ray_env["args"]]
    code, data, _ = run_json(*args, "--out", str(ray_env["out"]))
    assert code == 0, data
    assert data["status"] == "Completed"
    assert data["estimated_cost_usd"] == 3 * 3.75
    folder = Path(data["local_dir"])
    # named like every download: date, the storyboard file's name, the run's short id
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-board-[0-9a-f]{12}", folder.name), folder.name
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "output.mp4",
        "shot_0001.mp4",
        "shot_0002.mp4",
        "shot_0003.mp4",
    ]
    # one folder: the joined video, its shots and manifest; no per-shot download folders
    assert list(ray_env["out"].iterdir()) == [folder]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [s["file"] for s in manifest["shots"]] == [f"shot_000{n}.mp4" for n in (1, 2, 3)]
    assert data["shot_files"] == [str(folder / f"shot_000{n}.mp4") for n in (1, 2, 3)]
    whole = inspect_video(folder / "output.mp4")
    assert (whole.width, whole.height) == (960, 540)
    assert whole.duration_seconds == pytest.approx(15.0, abs=0.05)
    assert whole.frame_count == 360
    accepted = emulator.stats()["acceptedSubmissions"]
    # the same command again pays for nothing: every shot is in the ledger
    code, again, _ = run_json(*args, "--out", str(ray_env["out"]))
    assert code == 0 and again["video_path"] == data["video_path"]
    assert emulator.stats()["acceptedSubmissions"] == accepted == 3
    assert list(ray_env["out"].iterdir()) == [folder]


def test_a_refused_ray_storyboard_runs_once_the_cause_is_fixed(
    ray_env: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    """Shots refused at submit (the bucket did not exist yet) are sent again by the same
    command once the bucket exists, as its hint says: a refusal is not a result."""
    board = tmp_path / "board.yaml"
    board.write_text("model_id: luma-ray2\nshots:\n  - text: A lighthouse\n  - text: A boat\n")
    args = [
        "generate", "--storyboard", str(board), "--resolution", "540p",
        "--endpoint-url", emulator.url, "--output-uri", "s3://later-bucket/v/",
        "--out", str(ray_env["out"]),
    ]  # fmt: skip
    code, data, _ = run_json(*args)  # one JSON document: the error, with the run
    assert code == 1, data
    assert data["error"]["hint"].startswith("Run the same command again")
    assert [s["status"] for s in data["error"]["result"]["shots"]] == ["failed", "failed"]
    assert emulator.stats()["acceptedSubmissions"] == 0
    make_client(emulator.url).ensure_bucket("later-bucket")
    code, data, _ = run_json(*args)
    assert code == 0, data
    assert data["status"] == "Completed"
    assert inspect_video(data["video_path"]).duration_seconds == pytest.approx(10.0, abs=0.05)
    assert emulator.stats()["acceptedSubmissions"] == 2


def test_a_refused_batch_item_is_sent_again_on_resume(
    ray_env: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        "- id: here\n  prompt: A kite\n"
        "- id: later\n  prompt: A boat\n  output_uri: s3://later-bucket/v/\n"
    )
    args = ["batch", str(batch), *ray_env["args"], "--out", str(ray_env["out"]), "--json"]
    first = runner.invoke(app, args, catch_exceptions=False)
    assert first.exit_code == 1, first.stdout
    items = {i["key"]: i for i in json.loads(first.stdout)["items"]}
    assert (items["here"]["status"], items["later"]["status"]) == ("done", "failed")
    make_client(emulator.url).ensure_bucket("later-bucket")
    again = runner.invoke(app, args, catch_exceptions=False)
    assert again.exit_code == 0, again.stdout
    items = {i["key"]: i for i in json.loads(again.stdout)["items"]}
    assert items["later"]["status"] == "done" and items["later"]["attempts"] == 2
    assert emulator.stats()["acceptedSubmissions"] == 2  # `here` was not sent again


def test_ray_batch_item_and_storyboard_item(
    ray_env: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        "defaults:\n  model_id: luma-ray2\n  resolution: 540p\n"
        "items:\n"
        "  - id: square\n    prompt: A spinning top\n    aspect_ratio: '1:1'\n    loop: true\n"
        "  - id: story\n    shots: [A door opens, A cat walks in]\n"
    )
    result = runner.invoke(
        app,
        ["batch", str(batch), *ray_env["args"], "--out", str(ray_env["out"]), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stdout
    data = json.loads(result.stdout)
    keys = sorted(item["key"] for item in data["items"])
    assert keys == ["square", "story#shot-1", "story#shot-2"]
    story = data["storyboards"]["story"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-story-[0-9a-f]{12}", Path(story["local_dir"]).name)
    # the square item's download folder and the storyboard's one folder, nothing else
    assert len(list(ray_env["out"].iterdir())) == 2
    assert sorted(p.name for p in Path(story["local_dir"]).iterdir()) == [
        "manifest.json", "output.mp4", "shot_0001.mp4", "shot_0002.mp4"
    ]  # fmt: skip
    assert inspect_video(story["video_path"]).duration_seconds == pytest.approx(10.0, abs=0.05)
    square = next(i for i in data["items"] if i["key"] == "square")
    info = inspect_video(square["video_path"])
    assert (info.width, info.height) == (540, 540)


def test_a_batch_sends_each_item_to_its_own_models_region(
    ray_env: dict[str, Any], emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch mixing Nova Reel and Ray 2 runs, each item in its model's region (like
    `generate`), even with a configured region that offers only one of them."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    batch = tmp_path / "mixed.yaml"
    batch.write_text(
        "- id: nova\n  prompt: one\n"
        "- id: ray\n  prompt: two\n  model_id: luma-ray2\n  resolution: 540p\n"
    )
    result = runner.invoke(
        app,
        ["batch", str(batch), *ray_env["args"], "--out", str(ray_env["out"]), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stdout
    items = {i["key"]: i for i in json.loads(result.stdout)["items"]}
    assert items["nova"]["status"] == items["ray"]["status"] == "done", items
    from novareel.ledger import Ledger

    with Ledger.open_default() as ledger:
        arns = {k: ledger.get(i["job_id"]).invocation_arn for k, i in items.items()}
    assert ":us-east-1:" in arns["nova"] and ":us-west-2:" in arns["ray"], arns
    assert inspect_video(items["ray"]["video_path"]).height == 540


def test_a_batch_with_an_explicit_region_missing_a_model_sends_nothing(
    ray_env: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    before = emulator.stats()["acceptedSubmissions"]
    batch = tmp_path / "mixed.yaml"
    batch.write_text("- prompt: one\n- prompt: two\n  model_id: luma-ray2\n")
    result = runner.invoke(
        app, ["batch", str(batch), *ray_env["args"], "--region", "us-west-2", "--json"]
    )
    assert result.exit_code == 2, result.stdout
    problem = json.loads(result.stdout)["error"]["problems"][0]
    assert (problem["field"], problem["value"]) == ("region", "us-west-2")
    assert "us-east-1" in problem["limit"]
    assert emulator.stats()["acceptedSubmissions"] == before
    # the dry run gives the same verdict (it said "2 item(s) OK" before)
    dry = runner.invoke(
        app,
        ["batch", str(batch), *ray_env["args"], "--region", "us-west-2", "--dry-run", "--json"],
    )
    assert dry.exit_code == 2, dry.stdout
    assert json.loads(dry.stdout)["error"]["problems"] == [problem]


def test_eol_refusal_is_explained(ray_env: dict[str, Any], emulator: Any) -> None:
    emulator.configure(model_states={"amazon.nova-reel-v1:1": "eol"})
    code, data, _ = run_json("generate", "A lighthouse", *ray_env["args"])
    assert code == 3
    hint = data["error"]["hint"]
    assert "end of life" in hint
    assert "Luma Ray 2" in hint and "doctor" in hint
    # the refused submit is recorded as rejected, never as a paid job
    result = runner.invoke(app, ["jobs", "--json"])
    assert json.loads(result.stdout)[0]["status"] == "Rejected"


def test_ray_failed_job_is_retried_from_the_ledger(ray_env: dict[str, Any], emulator: Any) -> None:
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", count=1)
    code, data, _ = run_json(
        "generate", "A kite in the wind", "--model-id", "luma-ray2", "--resolution", "540p",
        *ray_env["args"], "--out", str(ray_env["out"]),
    )  # fmt: skip
    assert code == 1
    job = data["error"]["result"]["ledger_id"] if "result" in data["error"] else None
    result = runner.invoke(app, ["jobs", "--json"])
    rows = json.loads(result.stdout)
    job = job or rows[0]["id"]
    assert rows[0]["status"] == "Failed"
    result = runner.invoke(app, ["jobs", "retry", str(job), *ray_env["args"][:2], "--json"])
    assert result.exit_code == 0, result.stdout
    retried = json.loads(result.stdout)
    assert retried["model_id"] == "luma.ray-v2:0"
    assert retried["request"]["resolution"] == "540p"


def test_batch_says_the_lifecycle_before_the_run(ray_env: dict[str, Any], tmp_path: Path) -> None:
    batch = tmp_path / "nova.yaml"
    batch.write_text("- prompt: one\n")
    result = runner.invoke(
        app,
        ["batch", str(batch), *ray_env["args"], "--out", str(ray_env["out"]), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stdout
    notices = json.loads(result.stdout)["notices"]
    assert any("Nova Reel 1.1" in n and "end of life" in n for n in notices)
