"""A family owns its options: one declaration reaches every door.

The fake family in :mod:`tests.core.fake_styled_family` declares a new option,
``style``, that no built-in family has. Registered (and nothing else edited), the
option is a flag of ``generate`` (in ``--help``, reaching the request, a bad value
named ``--style``), a property of the MCP ``generate_video`` / ``estimate_cost``
schema (reaching the request, a bad value named ``style``), a batch-file key (reaching
the request, a bad value named ``items[2].style``) and a ``RequestSpec`` keyword.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from novareel.foundation.errors import InvalidRequestError
from novareel.models import register, request_options, unregister
from novareel.requests.compose import RequestSpec, compose_requests
from tests.core import fake_styled_family


@pytest.fixture
def styled() -> Iterator[None]:
    register(fake_styled_family.FAMILY)  # type: ignore[arg-type]
    try:
        yield
    finally:
        unregister(fake_styled_family.FAMILY)  # type: ignore[arg-type]


def _cli(*args: str) -> Any:
    _register()
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)


def test_the_declarations_are_the_list_of_options(styled: None) -> None:
    names = [o.name for o in request_options()]
    assert names.count("duration") == 1  # declared by three families, one option
    assert "style" in names
    assert "style" not in {o.name for o in _without_fake()}


def _without_fake() -> list[Any]:
    unregister(fake_styled_family.FAMILY)  # type: ignore[arg-type]
    try:
        return request_options()
    finally:
        register(fake_styled_family.FAMILY)  # type: ignore[arg-type]


def test_the_new_option_is_a_generate_flag(styled: None, tmp_path: Path) -> None:
    shown = _cli("generate", "--help").stdout
    assert "--style" in shown
    assert "Styled Fake: the look, noir | pastel (default) | claymation." in shown
    assert "Styled Fake 4 (only)" in shown  # its duration help joins the others'

    sent = _cli(
        "generate", "a fox", "--model-id", "styled-fake", "--style", "noir",
        "--output-uri", "s3://bucket/v/", "--dry-run", "--json",
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    request = json.loads(sent.stdout)["start_async_invoke"]
    assert request["modelInput"] == {"text": "a fox", "style": "noir", "seconds": 4}

    refused = _cli(
        "generate", "a fox", "--model-id", "styled-fake", "--style", "sepia",
        "--output-uri", "s3://bucket/v/",
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "--style: 'sepia' is not one of noir | pastel | claymation" in refused.output

    foreign = _cli("generate", "a fox", "--style", "noir", "--output-uri", "s3://bucket/v/")
    assert foreign.exit_code == 2
    assert "--style: Nova Reel 1.1 (amazon.nova-reel-v1:1) takes no --style" in foreign.output


def test_the_new_option_is_in_the_mcp_schema_and_reaches_the_request(
    styled: None, tmp_path: Path
) -> None:
    pytest.importorskip("mcp")
    from novareel.mcp_server.server import build_server
    from novareel.mcp_server.tools import AgentTools, ServerSettings

    server = build_server(AgentTools(ServerSettings(root=tmp_path)))

    async def ask() -> tuple[dict[str, Any], Any, Any]:
        tools = {t.name: t for t in await server.list_tools()}
        good = await server.call_tool(
            "estimate_cost", {"prompt": "a fox", "model_id": "styled-fake", "style": "noir"}
        )
        bad = await server.call_tool(
            "estimate_cost", {"prompt": "a fox", "model_id": "styled-fake", "style": "sepia"}
        )
        return tools, good, bad

    tools, good, bad = asyncio.run(ask())
    for name in ("generate_video", "estimate_cost"):
        prop = tools[name].input_schema["properties"]["style"]
        assert prop["description"] == fake_styled_family.STYLE.help
    answer = _structured(good)
    assert answer["jobs"][0]["start_async_invoke"]["modelInput"]["style"] == "noir"
    error = _structured(bad)["error"]
    assert [p["field"] for p in error["problems"]] == ["style"]


def _structured(result: Any) -> dict[str, Any]:
    """A tool call's structured content (the dict, or the error payload)."""
    assert result.structured_content is not None
    return dict(result.structured_content)


def test_the_new_option_is_a_batch_key(styled: None, tmp_path: Path) -> None:
    from novareel.batch import item_keys, load_batch

    assert "style" in item_keys()
    good = tmp_path / "good.yaml"
    good.write_text(
        "defaults:\n  output_uri: s3://bucket/v/\n  model_id: styled-fake\n  style: claymation\n"
        "items:\n  - prompt: a fox\n    style: noir\n  - prompt: a cat\n"
    )
    batch = load_batch(good)
    styles = [item.request.to_model_input()["style"] for item in batch.items]
    assert styles == ["noir", "claymation"]  # its own, then the defaults'

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "defaults:\n  output_uri: s3://bucket/v/\n  model_id: styled-fake\n"
        "items:\n  - prompt: a fox\n  - prompt: a cat\n    style: sepia\n"
        "  - prompt: a dog\n    style: 3\n"
    )
    with pytest.raises(InvalidRequestError) as refused:
        load_batch(bad)
    found = {(p.field, p.message) for p in refused.value.problems}
    assert ("items[2].style", "'sepia' is not one of noir | pastel | claymation") in found
    assert ("items[3].style", "must be a string") in found


def test_the_new_option_is_a_python_keyword(styled: None) -> None:
    built = compose_requests(RequestSpec("a fox", model_id="styled-fake", style="pastel"))
    assert built.ok, built.problems
    assert built.requests[0].to_model_input()["style"] == "pastel"
    assert RequestSpec("a fox", style="noir").style == "noir"

    refused = compose_requests(RequestSpec("a fox", model_id="styled-fake", style="sepia"))
    assert [p.field for p in refused.problems] == ["style"]

    on_nova = compose_requests(RequestSpec("a fox", style="noir"))
    assert [p.field for p in on_nova.problems] == ["style"]
    assert "takes no --style" in on_nova.problems[0].message


def test_an_undeclared_option_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="'style'"):
        RequestSpec("a fox", style="noir")  # no family declares it unless registered


def test_built_in_fields_keep_their_flags_and_keys() -> None:
    """The derived tables name every field a request's problems use: by the flag on
    the command line, by the key in a batch file (the builder names a problem by the
    option's name, never another: ``duration``, not ``duration_seconds``)."""
    from novareel.batch.items import _file_keys
    from novareel.cli.common import GENERATE_FLAGS

    assert {
        field: GENERATE_FLAGS[field]
        for field in (
            "prompt", "task", "duration", "image.bucket_owner", "end_image",
            "shots", "aspect_ratio", "loop", "model_id", "client_token", "tags",
        )
    } == {
        "prompt": "PROMPT", "task": "--task", "duration": "--duration",
        "image.bucket_owner": "--bucket-owner", "end_image": "--end-image", "shots": "--shot",
        "aspect_ratio": "--aspect-ratio", "loop": "--loop", "model_id": "--model-id",
        "client_token": "--token", "tags": "--tag",
    }  # fmt: skip
    assert _file_keys() == {}  # every key is its option's name
