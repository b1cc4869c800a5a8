"""A default model chosen once (issue 22, item 9): ``novareel models default``,
``NOVAREEL_MODEL`` and ``[defaults]`` in config.toml, honoured by every door (the
command line, batch files, the Python API, the MCP server), shown by ``models`` and
``doctor``, suggested by the end-of-life notice. An explicit model always wins.

Every test runs with its own NOVAREEL_HOME (tests/conftest.py), so config.toml is
the test's own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from novareel.foundation.errors import InvalidRequestError
from novareel.requests.compose import RequestSpec, compose_requests
from novareel.settings.config import config_path

_register()
runner = CliRunner()

NOVA = "amazon.nova-reel-v1:1"
RAY = "luma.ray-v2:0"


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def write_config(text: str) -> Path:
    path = config_path()
    path.write_text(text)
    return path


def dry_run(*args: str) -> dict[str, Any]:
    """``generate --dry-run --json`` (no network): the request that would be sent."""
    result = run("generate", *args, "--dry-run", "--json", "--output-uri", "s3://my-bucket/v/")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def sent(plan: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(modelId, modelInput) of a dry run's one job."""
    body = plan.get("start_async_invoke") or plan["jobs"][0]["start_async_invoke"]
    return body["modelId"], body["modelInput"]


# --------------------------------------------------------------- models default (CLI)


def test_models_default_sets_shows_and_clears_keeping_the_rest_of_the_file() -> None:
    path = write_config("# my caps\n[budget]\ndaily_usd = 5  # per day\n")
    result = run("models", "default", "luma-ray2")
    assert result.exit_code == 0, result.output
    text = path.read_text()
    # the budget table and its comments as the person wrote them; the full id stored
    assert text.startswith("# my caps\n[budget]\ndaily_usd = 5  # per day\n")
    assert '[defaults]\nmodel_id = "luma.ray-v2:0"' in text
    shown = json.loads(run("models", "default", "--json").stdout)
    assert shown["model_id"] == RAY and shown["source"] == f"{path} [defaults]"

    cleared = run("models", "default", "--clear")
    assert cleared.exit_code == 0, cleared.output
    assert "[defaults]" not in path.read_text() and "daily_usd = 5" in path.read_text()
    shown = json.loads(run("models", "default", "--json").stdout)
    assert (shown["model_id"], shown["source"]) == (NOVA, "built-in")


def test_an_unknown_model_is_refused_and_nothing_is_written() -> None:
    result = run("models", "default", "sora")
    assert result.exit_code == 2
    assert "'sora' is not a video model novareel knows" in result.stderr
    assert not config_path().exists()


def test_switching_to_a_model_that_takes_none_of_the_usual_options_is_refused() -> None:
    path = write_config('[defaults]\nmodel_id = "luma-ray2"\nresolution = "540p"\n')
    result = run("models", "default", "nova-reel")
    assert result.exit_code == 2
    assert f"{path} [defaults] resolution" in result.stderr
    assert "takes no resolution ('540p')" in result.stderr
    assert "Nothing was written" in result.stderr
    assert 'model_id = "luma-ray2"' in path.read_text()


def test_the_environment_overrides_the_file_and_says_so() -> None:
    run("models", "default", "luma-ray2")
    result = runner.invoke(
        app, ["models", "default"], env={"NOVAREEL_MODEL": "nova-reel"}, catch_exceptions=False
    )
    assert "amazon.nova-reel-v1:1 (from NOVAREEL_MODEL)" in result.stdout
    bad = runner.invoke(app, ["models", "default"], env={"NOVAREEL_MODEL": "nova-real"})
    assert bad.exit_code == 2 and "NOVAREEL_MODEL: 'nova-real' is not a video model" in bad.stderr


@pytest.mark.parametrize(
    ("table", "named", "said"),
    [
        ('model_id = "luma-ray2"\nresolution = "1080p"\n', "resolution",
         "'1080p' is not a Luma Ray 2 resolution; allowed: 540p | 720p"),
        ('model_id = "luma-ray2"\nseed = 7\n', "seed",
         "takes no seed (7); allowed keys: model_id | duration | aspect_ratio | resolution"),
        ('model_id = "luma-ray2"\nduration = "5"\n', "duration", "must be an integer (got '5')"),
        ('model_id = "ray-3"\n', "model_id", "'ray-3' is not a video model novareel knows"),
        ('model = "luma-ray2"\n', "model", "is not a defaults setting (did you mean model_id?)"),
    ],
)  # fmt: skip
def test_a_bad_defaults_table_names_the_file_table_key_value_and_what_is_allowed(
    table: str, named: str, said: str
) -> None:
    path = write_config("[defaults]\n" + table)
    result = run("generate", "a fox", "--dry-run", "--output-uri", "s3://my-bucket/v/")
    assert result.exit_code == 2
    assert f"{path} [defaults] {named}" in result.stderr
    assert said in result.stderr


# ----------------------------------------------------------------- generate (the CLI)


def test_generate_without_a_model_uses_the_default_and_its_usual_options() -> None:
    assert sent(dry_run("a fox in snow"))[0] == NOVA  # nothing chosen: the built-in
    write_config('[defaults]\nmodel_id = "luma-ray2"\nresolution = "540p"\naspect_ratio = "9:16"\n')
    plan = dry_run("a fox in snow")
    model, body = sent(plan)
    assert model == RAY
    assert (body["resolution"], body["aspect_ratio"]) == ("540p", "9:16")
    assert plan["estimated_cost_usd"] == 3.75  # 5 s at Ray 2's 540p price


def test_an_explicit_model_or_option_always_wins() -> None:
    write_config('[defaults]\nmodel_id = "luma-ray2"\nresolution = "540p"\n')
    assert sent(dry_run("a fox", "--model-id", "nova-reel"))[0] == NOVA
    _, body = sent(dry_run("a fox", "--resolution", "720p"))
    assert body["resolution"] == "720p"


def test_the_usual_options_apply_only_to_their_model() -> None:
    # Ray 2's usual options never reach a Nova Reel request: NOVAREEL_MODEL picks Nova
    # Reel for this shell, and its request is sent without them (it takes no resolution).
    write_config('[defaults]\nmodel_id = "luma-ray2"\nresolution = "540p"\n')
    result = runner.invoke(
        app,
        ["generate", "a fox", "--dry-run", "--json", "--output-uri", "s3://my-bucket/v/"],
        env={"NOVAREEL_MODEL": "nova-reel"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    model, body = sent(json.loads(result.stdout))
    assert model == NOVA and "resolution" not in json.dumps(body)


def test_a_usual_option_the_model_refuses_is_named_by_its_config_key_not_a_flag() -> None:
    path = write_config('[defaults]\nmodel_id = "luma-ray2"\nduration = 7\n')
    result = run("generate", "a fox", "--dry-run", "--output-uri", "s3://my-bucket/v/")
    assert result.exit_code == 2
    assert f"{path} [defaults] duration: 7 s is not a Luma Ray 2 length" in result.stderr
    assert "--duration" not in result.stderr


@pytest.fixture
def cli_bucket(emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Test credentials, the working folder in ``tmp_path`` and the emulator's bucket
    ``cli-bucket``: what a CLI run against the emulator needs; returns its URL."""
    from tests.helpers import make_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.chdir(tmp_path)
    make_client(emulator.url).ensure_bucket("cli-bucket")
    return str(emulator.url)


def test_the_price_line_names_the_default_model_and_where_it_came_from(
    emulator: Any, cli_bucket: str
) -> None:
    run("models", "default", "luma-ray2")
    result = run(
        "generate", "a fox", "--endpoint-url", emulator.url,
        "--output-uri", "s3://cli-bucket/v/", "--no-wait",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    price = next(i for i, line in enumerate(lines) if line.startswith("submitting 1 job"))
    assert lines[price - 1] == (
        "default model luma.ray-v2:0 (config.toml [defaults]; --model-id picks another)"
    )
    assert lines[price].startswith("submitting 1 job to luma.ray-v2:0 in us-west-2")


def test_storyboard_check_prices_a_file_naming_no_model_on_the_default(tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text("shots:\n  - text: a fox runs\n  - text: a fox sleeps\n")
    run("models", "default", "luma-ray2")
    report = json.loads(run("storyboard", "check", str(board), "--json").stdout)
    assert report["model_id"] == RAY


# ---------------------------------------------------------------- batch files


def test_a_batch_item_naming_no_model_uses_the_default(tmp_path: Path) -> None:
    from novareel.batch import load_batch

    batch = tmp_path / "jobs.yaml"
    batch.write_text(
        "defaults:\n  output_uri: s3://my-bucket/v/\n"
        "items:\n  - prompt: a fox\n  - prompt: a heron\n    model_id: nova-reel\n"
    )
    write_config('[defaults]\nmodel_id = "luma-ray2"\nresolution = "540p"\n')
    first, second = load_batch(batch).items
    assert (first.request.model_id, getattr(first.request, "resolution", None)) == (RAY, "540p")
    assert second.request.model_id == NOVA  # the item's own model wins


def test_a_batch_files_own_default_model_wins_over_the_persons(tmp_path: Path) -> None:
    from novareel.batch import load_batch

    batch = tmp_path / "jobs.yaml"
    batch.write_text(
        "defaults:\n  output_uri: s3://my-bucket/v/\n  model_id: nova-reel\n"
        "items:\n  - prompt: a fox\n"
    )
    write_config('[defaults]\nmodel_id = "luma-ray2"\n')
    assert load_batch(batch).items[0].request.model_id == NOVA


# ---------------------------------------------------------------- the Python API


def test_a_request_spec_naming_no_model_uses_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = compose_requests(RequestSpec("a fox"))
    assert built.requests[0].model_id == NOVA and built.chosen_by is not None
    assert built.chosen_by.source == "built-in"
    monkeypatch.setenv("NOVAREEL_MODEL", "luma-ray2")
    built = compose_requests(RequestSpec("a fox"))
    assert built.requests[0].model_id == RAY
    assert built.chosen_by is not None and built.chosen_by.source == "NOVAREEL_MODEL"
    named = compose_requests(RequestSpec("a fox", model_id="nova-reel"))
    assert named.requests[0].model_id == NOVA and named.chosen_by is None


def test_a_storyboard_files_model_wins_over_the_default(tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text("model_id: nova-reel\nshots:\n  - text: one\n  - text: two\n")
    write_config('[defaults]\nmodel_id = "luma-ray2"\n')
    built = compose_requests(RequestSpec(storyboard=board))
    assert built.ok and built.model is not None and built.model.model_id == NOVA


def test_a_bad_config_is_a_problem_of_the_request_not_a_crash() -> None:
    write_config("[defaults]\nmodel_id = 3\n")
    built = compose_requests(RequestSpec("a fox"))
    assert not built.ok and built.requests == ()
    with pytest.raises(InvalidRequestError, match=r"\[defaults\] model_id"):
        built.raise_if_problems()


# ---------------------------------------------------------------- the MCP server


def test_mcp_tools_without_a_model_use_the_default(tmp_path: Path) -> None:
    from novareel.mcp_server.tools import AgentTools, ServerSettings, VideoSpec

    root = tmp_path / "root"
    root.mkdir()
    tools = AgentTools(ServerSettings(root=root, max_cost_usd=50.0))
    write_config('[defaults]\nmodel_id = "luma-ray2"\nresolution = "540p"\nduration = 9\n')
    checked = tools.estimate_cost(VideoSpec(prompt="a fox"))
    assert checked["jobs"][0]["start_async_invoke"]["modelId"] == RAY
    assert checked["estimated_cost_usd"] == 6.75  # 9 s at 540p
    quoted = tools.estimate_cost(VideoSpec())  # price only: the default and its options
    assert (quoted["model_id"], quoted["duration_seconds"], quoted["resolution"]) == (
        RAY,
        9,
        "540p",
    )
    listed = tools.list_models()
    assert listed["default"]["model_id"] == RAY
    assert [m["model_id"] for m in listed["models"] if m["default"]] == [RAY]
    # an explicit model_id always wins
    named = tools.estimate_cost(VideoSpec(prompt="a fox", model_id="nova-reel"))
    assert named["jobs"][0]["start_async_invoke"]["modelId"] == NOVA


# ---------------------------------------------------------------- shown and suggested


def test_models_marks_the_default_and_says_where_it_came_from() -> None:
    path = write_config('[defaults]\nmodel_id = "luma-ray2"\n')
    rows = json.loads(run("models", "--offline", "--json").stdout)
    assert {r["model_id"]: r["default"] for r in rows}[RAY] is True
    assert [r["default_source"] for r in rows if r["default"]] == [f"{path} [defaults]"]
    text = runner.invoke(app, ["models", "--offline"], env={"COLUMNS": "80"}).stdout
    assert "default: luma.ray-v2:0 (from" in text


def test_doctor_checks_the_default_model(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    run("models", "default", "luma-ray2")
    result = run("doctor", "--endpoint-url", emulator.url, "--json")
    report = json.loads(result.stdout)
    assert report["model_id"] == RAY
    assert report["default_model"]["model_id"] == RAY
    assert report["default_model"]["source"].endswith("config.toml [defaults]")
    text = run("doctor", "--endpoint-url", emulator.url).stdout
    assert "default model: luma.ray-v2:0 (from" in text


def test_the_end_of_life_notice_suggests_choosing_the_default_once() -> None:
    from datetime import date

    from novareel.models import get_model, lifecycle_notice

    said = lifecycle_notice(get_model("nova-reel"), day=date(2026, 12, 1))
    assert said is not None
    assert "`novareel models default luma-ray2`" in said


def test_a_batch_run_names_the_default_model_before_sending(
    emulator: Any, cli_bucket: str, tmp_path: Path
) -> None:
    batch = tmp_path / "jobs.yaml"
    batch.write_text("defaults:\n  output_uri: s3://cli-bucket/v/\nitems:\n  - prompt: a fox\n")
    run("models", "default", "luma-ray2")
    result = run("batch", str(batch), "--endpoint-url", emulator.url, "--no-download")
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "items naming no model run on your default model luma.ray-v2:0" in said
    assert "(config.toml [defaults];" in said


def test_reading_the_default_leaves_no_trace(isolated_home: Path) -> None:
    # Composing a request (the Python API, a dry run) reads config.toml if there is
    # one; it never creates NOVAREEL_HOME to find out.
    assert not isolated_home.exists()
    assert compose_requests(RequestSpec("a fox")).ok
    assert not isolated_home.exists()


def test_the_mcp_server_generates_on_the_default_model_when_no_model_id_is_given(
    tmp_path: Path, emulator: Any
) -> None:
    """Through the SDK, as an agent calls it: the server's environment chooses the
    model (NOVAREEL_MODEL), config.toml gives its usual options."""
    from tests.mcp.test_mcp_server_e2e import call, serve

    write_config('[defaults]\nmodel_id = "luma-ray2"\nresolution = "540p"\n')
    root = tmp_path / "root"
    root.mkdir()
    seen: dict[str, Any] = {}

    async def body(session: Any) -> None:
        bad, listed = await call(session, "list_models")
        assert not bad and listed["default"]["source"] == "NOVAREEL_MODEL"
        bad, job = await call(session, "generate_video", prompt="a heron", wait=True, out="v")
        assert not bad, job
        seen.update(job)

    serve(root, tmp_path / "server.log", emulator.url, body=body,
          env={"NOVAREEL_MODEL": "luma-ray2"})  # fmt: skip
    assert seen["status"] == "Completed"
    assert seen["model_id"] == RAY and seen["estimated_cost_usd"] == 3.75  # 5 s at 540p
