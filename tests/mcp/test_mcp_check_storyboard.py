"""The MCP ``check_storyboard`` tool prices a storyboard as ``storyboard check`` does:
on the model it is given (``model_id``, declared as every tool declares it), else the
file's, else the person's default, with the options ``generate_video`` would be given.

Before, the tool took only a path: a Luma Ray 2 storyboard from an agent could only be
priced on Nova Reel, while ``storyboard check --model-id luma-ray2`` said $22.50.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("mcp")

from novareel.cli import _register, app
from novareel.mcp_server.server import build_server
from novareel.mcp_server.tools import AgentTools, ServerSettings
from novareel.models import request_options

_register()

BOARD = "shots:\n  - text: A lighthouse at dawn.\n  - text: The keeper climbs.\n  - text: A gull.\n"


def _mcp(root: Path, arguments: dict[str, Any]) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    """One check_storyboard call through the MCP server (in-process, as the SDK calls
    it), with the tool's input schema."""
    server = build_server(AgentTools(ServerSettings(root=root)))

    async def ask() -> tuple[Any, Any]:
        tools = {t.name: t for t in await server.list_tools()}
        return tools["check_storyboard"], await server.call_tool("check_storyboard", arguments)

    tool, result = asyncio.run(ask())
    assert result.structured_content is not None, result.content
    return bool(result.is_error), dict(result.structured_content), tool.input_schema


def _cli(board: Path, *flags: str) -> dict[str, Any]:
    run = CliRunner().invoke(app, ["storyboard", "check", str(board), *flags, "--json"])
    assert run.exit_code in (0, 2), run.output
    return dict(json.loads(run.stdout))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    made = tmp_path / "root"
    made.mkdir()
    (made / "board.yaml").write_text(BOARD, encoding="utf-8")
    return made


def test_the_model_given_prices_the_storyboard_as_the_cli_does(root: Path) -> None:
    bad, report, schema = _mcp(root, {"path": "board.yaml", "model_id": "luma-ray2"})
    assert not bad, report
    cli = _cli(root / "board.yaml", "--model-id", "luma-ray2")
    assert report["estimated_cost_usd"] == cli["estimated_cost_usd"] == 22.5
    assert (report["model_id"], report["jobs"], report["per_shot"]) == ("luma.ray-v2:0", 3, True)
    # declared as every tool declares the model: the registry's option, its help
    declared = {o.file_key: o for o in request_options()}
    assert schema["properties"]["model_id"]["description"] == declared["model_id"].help
    assert schema["required"] == ["path"]


def test_options_reach_the_check_as_they_reach_the_cli(root: Path) -> None:
    asked = {"model_id": "luma-ray2", "duration": 9, "resolution": "540p"}
    bad, report, _schema = _mcp(root, {"path": "board.yaml", **asked})
    assert not bad, report
    cli = _cli(root / "board.yaml", "--model-id", "luma-ray2", "--duration", "9",
               "--resolution", "540p")  # fmt: skip
    assert report["estimated_cost_usd"] == cli["estimated_cost_usd"] == 20.25
    # a refused option: the same problems, by field, as the command line's
    bad, report, _schema = _mcp(root, {"path": "board.yaml", "model_id": "luma-ray2", "seed": 3})
    cli = _cli(root / "board.yaml", "--model-id", "luma-ray2", "--seed", "3")
    assert not report["ok"] and not cli["ok"]
    fields = [p["field"] for p in report["problems"]]
    assert fields == [p["field"] for p in cli["problems"]] == ["seed"]


def test_the_default_model_is_honoured(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No model named (by the call or the file): the person's default, as
    estimate_cost and generate_video use it."""
    monkeypatch.setenv("NOVAREEL_MODEL", "luma-ray2")
    bad, report, _schema = _mcp(root, {"path": "board.yaml"})
    assert not bad, report
    assert report["model_id"] == "luma.ray-v2:0"
    assert report["estimated_cost_usd"] == _cli(root / "board.yaml")["estimated_cost_usd"] == 22.5
