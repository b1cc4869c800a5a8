"""docs/cli.md is generated from the commands' own --help and must not drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen_cli_docs.py"


def test_cli_docs_are_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DOC.read_text() == module.render(), (
        "docs/cli.md is stale: run python scripts/gen_cli_docs.py"
    )


def test_every_command_documented_takes_json() -> None:
    text = (SCRIPT.parents[1] / "docs" / "cli.md").read_text()
    sections = text.split("\n## `novareel ")[1:]
    leaf_sections = [s for s in sections if "Commands" not in s]
    assert leaf_sections
    missing = [s.split("`", 1)[0] for s in leaf_sections if "--json" not in s]
    assert missing == []
