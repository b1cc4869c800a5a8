"""The MCP tools as plain methods: the CLI's checks, the root around every path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from novareel.foundation.errors import InvalidRequestError
from novareel.foundation.results import JobResult
from novareel.mcp_server.tools import AgentTools, ServerSettings, ShotSpec, VideoSpec
from tests.helpers import write_png

_register()


@pytest.fixture
def tools(tmp_path: Path) -> AgentTools:
    root = tmp_path / "root"
    root.mkdir()
    return AgentTools(ServerSettings(root=root, max_cost_usd=5.0))


def cli_problems(*args: str) -> list[tuple[str, str]]:
    """The problems `novareel generate --dry-run --json` reports for the same input."""
    result = CliRunner().invoke(
        app, ["generate", *args, "--dry-run", "--json", "--output-uri", "s3://my-bucket/v/"]
    )
    assert result.exit_code == 2, result.stdout
    return [(p["field"], p["message"]) for p in json.loads(result.stdout)["error"]["problems"]]


def tool_problems(tools: AgentTools, spec: VideoSpec) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequestError) as caught:
        tools.estimate_cost(spec)
    return [(p.field, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("cli_args", "spec"),
    [
        (["a fox", "--model-id", "luma-ray2", "--seed", "7", "--duration", "7"],
         VideoSpec(prompt="a fox", model_id="luma-ray2", seed=7, duration=7)),
        (["a fox", "--task", "text", "--duration", "12"],
         VideoSpec(prompt="a fox", task="text", duration=12)),
        (["x" * 600, "--model-id", "nova-reel-v1:0"],
         VideoSpec(prompt="x" * 600, model_id="nova-reel-v1:0")),
        (["a fox", "--shot", "one", "--shot", "two"],
         VideoSpec(prompt="a fox", shots=["one", "two"])),
        (["a fox", "--model-id", "luma-ray2", "--aspect-ratio", "2:1", "--resolution", "4k"],
         VideoSpec(prompt="a fox", model_id="luma-ray2", aspect_ratio="2:1", resolution="4k")),
        (["a fox", "--model-id", "no-such-model"], VideoSpec(prompt="a fox", model_id="no-such")),
    ],
)  # fmt: skip
def test_bad_input_reads_exactly_as_the_cli_says_it(
    tools: AgentTools, cli_args: list[str], spec: VideoSpec
) -> None:
    expected = cli_problems(*cli_args)
    found = tool_problems(tools, spec)
    if spec.model_id == "no-such":  # the value differs; the field and the rule do not
        assert [f for f, _ in found] == [f for f, _ in expected] == ["model_id"]
        return
    assert found == expected and found


def test_a_checked_estimate_prices_every_job_and_tells_the_caps(tools: AgentTools) -> None:
    quote = tools.estimate_cost(
        VideoSpec(prompt="a fox", model_id="luma-ray2", duration=9, resolution="720p", loop=True)
    )
    assert quote["checked"] and quote["estimated_cost_usd"] == 13.5
    assert quote["jobs"][0]["request"]["loop"] is True
    # the library's dry run: the complete request that generate_video would send
    sent = quote["jobs"][0]["start_async_invoke"]
    assert sent["modelId"] == "luma.ray-v2:0" and sent["modelInput"]["loop"] is True
    assert quote["jobs"][0]["expected_generation_seconds"] > 0
    assert quote["caps"]["within_caps"] is False
    assert quote["caps"]["refusal"]["asked_usd"] == 13.5
    manual = tools.estimate_cost(VideoSpec(shots=[ShotSpec("one"), "two", "three"]))
    assert manual["jobs"][0]["task_type"] == "MULTI_SHOT_MANUAL"
    assert manual["estimated_cost_usd"] == 1.44 and manual["caps"]["within_caps"] is True
    per_shot = tools.estimate_cost(
        VideoSpec(shots=["one", "two"], model_id="luma-ray2", duration=5, resolution="540p")
    )
    assert per_shot["per_shot"] is True and per_shot["estimated_cost_usd"] == 7.5


def test_a_price_quote_needs_only_a_model_and_a_duration(tools: AgentTools) -> None:
    quote = tools.estimate_cost(VideoSpec(model_id="luma-ray2", duration=5, resolution="540p"))
    assert quote["estimated_cost_usd"] == 3.75 and quote["checked"] is False
    with pytest.raises(InvalidRequestError) as caught:
        tools.estimate_cost(VideoSpec(model_id="luma-ray2"))
    assert caught.value.problems[0].field == "duration"


def test_images_named_inside_a_storyboard_are_confined_too(
    tools: AgentTools, tmp_path: Path
) -> None:
    write_png(tmp_path / "outside.png")
    board = tools.root.path / "board.yaml"
    board.write_text(
        f"- text: one\n  image: {tmp_path / 'outside.png'}\n- text: two\n  image: ../outside.png\n",
        encoding="utf-8",
    )
    for call in (
        lambda: tools.estimate_cost(VideoSpec(storyboard="board.yaml")),
        lambda: tools.check_storyboard("board.yaml"),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            call()
        assert [p.field for p in caught.value.problems] == ["shots[1].image", "shots[2].image"]


def test_a_home_folder_image_in_a_storyboard_is_outside_the_root(
    tools: AgentTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_png(home / "me.png")
    monkeypatch.setenv("HOME", str(home))
    (tools.root.path / "board.yaml").write_text(
        "- text: one\n  image: ~/me.png\n- text: two\n", encoding="utf-8"
    )
    for call in (
        lambda: tools.estimate_cost(VideoSpec(storyboard="board.yaml")),
        lambda: tools.check_storyboard("board.yaml"),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            call()
        assert [p.field for p in caught.value.problems] == ["shots[1].image"]


def test_inline_shot_images_are_confined_and_checked_to_the_models_rules(
    tools: AgentTools, tmp_path: Path
) -> None:
    write_png(tools.root.path / "ok.png")
    write_png(tmp_path / "outside.png")
    spec = VideoSpec(
        shots=[ShotSpec("one", image="ok.png"), ShotSpec("two", image="../outside.png")]
    )
    with pytest.raises(InvalidRequestError) as caught:
        tools.estimate_cost(spec)
    assert [p.field for p in caught.value.problems] == ["shots[2].image"]
    small = tools.root.path / "small.png"
    from PIL import Image

    Image.new("RGB", (640, 360)).save(small)
    with pytest.raises(InvalidRequestError) as caught:
        tools.estimate_cost(VideoSpec(shots=[ShotSpec("one", image="small.png"), "two"]))
    assert caught.value.problems[0].field == "shots[1].image"
    fitted = tools.estimate_cost(
        VideoSpec(shots=[ShotSpec("one", image="small.png", fit="pad"), "two"])
    )
    first = fitted["jobs"][0]["request"]["multiShotManualParams"]["shots"][0]
    assert first["image"]["fit"] == "pad"  # converted, as the CLI's --fit pad would


def test_a_download_folder_planted_as_a_symlink_is_refused(
    tools: AgentTools, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tools.root.path / "abc123def456")
    job = JobResult(
        status="Completed", task_type="TEXT_VIDEO", model_id="amazon.nova-reel-v1:1",
        duration_seconds=6, seed=42, estimated_cost_usd=0.48,
        invocation_arn="arn:aws:bedrock:us-east-1:1:async-invoke/abc123def456",
    )  # fmt: skip
    with pytest.raises(InvalidRequestError) as caught:
        tools._check_target(tools.root.path, job)
    assert caught.value.problems[0].field == "out"


def test_without_an_output_location_nothing_is_reserved_or_sent(
    tools: AgentTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOVAREEL_OUTPUT_URI", raising=False)
    with pytest.raises(InvalidRequestError) as caught:
        tools.generate_video(VideoSpec(prompt="a fox"))
    assert caught.value.problems[0].field == "output_uri"
    assert tools.guard.snapshot()["session_pending_usd"] == 0.0


def test_list_jobs_reads_the_ledger_and_checks_its_limit(tools: AgentTools) -> None:
    assert tools.list_jobs() == {"jobs": [], "count": 0}
    with pytest.raises(InvalidRequestError) as caught:
        tools.list_jobs(limit=0)
    assert caught.value.problems[0].field == "limit"


def test_list_models_names_every_family(tools: AgentTools) -> None:
    ids = {m["model_id"] for m in tools.list_models()["models"]}
    assert {"amazon.nova-reel-v1:0", "amazon.nova-reel-v1:1", "luma.ray-v2:0"} <= ids


def test_without_the_extra_the_command_exits_2_naming_the_pip_command(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['mcp'] = None; sys.argv = ['novareel', 'mcp', *sys.argv[1:]];"
        "from novareel.cli import main; main()"
    )
    for extra in ([], ["--json"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *extra], cwd=tmp_path, capture_output=True, text=True,
            timeout=60, env={**os.environ},
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "pip install 'novareel[mcp]'" in done.stderr + done.stdout
        if extra:
            assert json.loads(done.stdout)["error"]["exit_code"] == 2


def test_every_task_type_and_model_is_planned_by_the_registry(tools: AgentTools) -> None:
    write_png(tools.root.path / "start.png")
    write_png(tools.root.path / "end.png", (10, 10, 200))
    cases = [
        (VideoSpec(prompt="a fox"), "amazon.nova-reel-v1:1", "TEXT_VIDEO", 6),
        (VideoSpec(prompt="a fox", model_id="nova-reel-v1:0", image="start.png"),
         "amazon.nova-reel-v1:0", "TEXT_VIDEO", 6),
        (VideoSpec(prompt="a fox", duration=24), "amazon.nova-reel-v1:1",
         "MULTI_SHOT_AUTOMATED", 24),
        (VideoSpec(shots=["one", "two"], seed=9), "amazon.nova-reel-v1:1",
         "MULTI_SHOT_MANUAL", 12),
        (VideoSpec(prompt="a fox", model_id="luma-ray2", duration=5, aspect_ratio="9:16",
                   resolution="540p", loop=True, image="start.png", end_image="end.png"),
         "luma.ray-v2:0", None, 5),
    ]  # fmt: skip
    for spec, model_id, task_type, seconds in cases:
        plan = tools.estimate_cost(spec)
        assert plan["model_id"] == model_id
        job = plan["jobs"][0]
        assert job["duration_seconds"] == seconds
        if task_type is not None:
            assert job["task_type"] == task_type
    ray = tools.estimate_cost(cases[-1][0])
    assert ray["estimated_cost_usd"] == 3.75
    # The keyframes reach the request (described by path and hash, not bytes).
    assert "start.png" in json.dumps(ray["jobs"][0]["request"])
    assert "end.png" in json.dumps(ray["jobs"][0]["request"])


def test_the_command_refuses_a_missing_root_or_a_bad_cap_before_serving(tmp_path: Path) -> None:
    for args, field in (
        (["--root", str(tmp_path / "nope")], "root"),
        (["--max-cost", "-2"], "--max-cost"),
        (["--session-max-cost", "lots"], "--session-max-cost"),
    ):
        result = CliRunner().invoke(app, ["mcp", *args, "--json"])
        assert result.exit_code == 2, result.output
        assert json.loads(result.stdout)["error"]["problems"][0]["field"] == field


@pytest.mark.parametrize("missing", ["mcp", "anyio"])
@pytest.mark.parametrize("as_json", [False, True])
def test_without_the_extra_the_command_exits_2_with_the_install_hint(
    tmp_path: Path, missing: str, as_json: bool
) -> None:
    """Without the 'mcp' extra (or with one of its dependencies missing, as anyio was on
    a fresh install), ``novareel mcp`` says how to install it and exits 2: no traceback."""
    argv = ["novareel", "mcp", "--root", str(tmp_path), *(["--json"] if as_json else [])]
    program = (
        "import sys\n"
        f"sys.modules[{missing!r}] = None  # 'import {missing}' now raises ImportError\n"
        f"sys.argv = {argv!r}\n"
        "from novareel.cli import main\n"
        "main()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    shown = json.loads(run.stdout)["error"]["hint"] if as_json else run.stderr
    assert "pip install 'novareel[mcp]'" in shown
