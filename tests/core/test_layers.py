"""Who may import whom (docs/architecture.md): leaves stay leaves, only client talks AWS."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "novareel"

LEAVES = {"errors", "paths", "status", "results", "waiting", "prompting", "naming", "display"}
#: module -> the novareel modules it may import (besides itself and its package).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "paths": set(),
    # the job statuses' one home; results and waiting build on it, nothing else below
    "status": set(),
    "results": {"status"},
    "waiting": {"status"},
    "prompting": set(),
    "naming": set(),
    # the slot novareel.images' reader is lent through (installed by the package root):
    # a request class reads an image path without importing a layer above it
    "frame_reader": set(),
    # bidi overrides and control characters made visible (the CLI and the gallery)
    "display": set(),
    "models": {"errors", "models", "frame_reader"},
    "s3uri": {"errors"},
    # textfiles: the one guarded read of a local input file (regular, bounded)
    "images": {"errors", "models", "s3uri", "textfiles"},
    "video": {"errors", "images"},
    "video_probe": {"video"},
    "storyboard": {"errors", "models", "images", "textfiles"},
    # a person's request in their own terms -> checked requests and notices: above
    # images and storyboard, below jobs (which re-exports its notices)
    "compose": {"errors", "models", "images", "storyboard", "prompting", "defaults"},
    # the default model chosen once (NOVAREEL_MODEL, [defaults] in config.toml):
    # read for every door by compose, which sits above it
    "defaults": {"errors", "config", "models"},
    "textfiles": {"errors"},
    "client": {"errors", "s3uri"},
    "preflight": {"errors", "models", "s3uri", "client"},
    # results: a row's failure comes back as the Failure every result path returns
    "ledger": {"errors", "paths", "config", "status", "results", "ledger"},
    # the gallery reads the ledger and local files; presigning is handed in by the CLI
    "gallery": {"errors", "ledger", "models", "results", "status", "s3uri", "video", "display"},
    # beside cli, above jobs; never imports cli (only cli.mcp_cmd imports it)
    "mcp_server": {
        "errors",
        "models",
        "images",
        "storyboard",
        "compose",
        "defaults",
        "textfiles",
        "s3uri",
        "client",
        "ledger",
        "results",
        "status",
        "jobs",
        "batch",
        "shotboard",
        "connection",
        "local",
        "budget",
        "quota",
        "when",
    },
    "when": {"errors"},
    # learned expectations: below jobs and batch, which ask it
    "expectations": {"errors", "ledger", "models"},
    "budget": {"errors", "paths", "config", "ledger", "models"},
    # the account's concurrency quota (configured, else the family's), shared as
    # ledger leases: beside budget, below batch (and jobs), which ask it
    "quota": {"errors", "config", "ledger", "models"},
    # config.toml, read in one place (budget's [budget], the ledger's [ledger] url)
    "config": {"errors", "paths"},
    # above jobs (it drives NovaReel); never imports shotboard, which drives it
    "batch": {
        "compose",
        "defaults",
        "errors",
        "models",
        "images",
        "storyboard",
        "textfiles",
        "s3uri",
        "results",
        "status",
        "waiting",
        "ledger",
        "jobs",
        "quota",
    },
    # --local and NovaReel.local(): below jobs (which imports it lazily), never above.
    "local": {"errors", "s3uri", "client", "emulator"},
    # the one connection factory (options -> clients, NovaReel, the emulator's
    # lifetime): above jobs, below the doors (cli, mcp_server), which only print
    "connection": {"client", "local", "jobs", "preflight"},
}


def novareel_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "novareel" and len(parts) > 1:
                found.add(parts[1])
    return found


def module_files(name: str) -> list[Path]:
    package = SRC / name
    return sorted(package.rglob("*.py")) if package.is_dir() else [SRC / f"{name}.py"]


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_module_imports_only_what_its_layer_allows(module: str) -> None:
    imported: set[str] = set()
    for path in module_files(module):
        imported |= novareel_imports(path)
    extra = imported - ALLOWED[module] - {module}
    assert not extra, f"novareel.{module} must not import {sorted(extra)}"


def test_only_the_mcp_command_imports_the_mcp_server() -> None:
    """The MCP server is a top layer: nothing but ``novareel mcp`` may depend on it."""
    importers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "mcp_server" in novareel_imports(path) and "mcp_server" not in path.parts
    )
    assert importers == ["cli/mcp_cmd.py"]


#: The only modules that may import boto3, botocore or s3transfer (the emulator aside).
BOTO3_MODULES = {"client/aws.py", "client/boundary.py"}


def test_only_client_imports_boto3() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if "emulator" in path.parts or str(path.relative_to(SRC)) in BOTO3_MODULES:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            if any(m.split(".")[0] in ("boto3", "botocore", "s3transfer") for m in mods):
                offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


@pytest.mark.parametrize("driver", ["sqlite3", "psycopg"])
def test_only_ledger_uses_a_database_driver(driver: str) -> None:
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if driver in p.read_text() and "ledger" not in p.parts
    ]
    assert offenders == []


def test_only_the_ledgers_backend_imports_psycopg() -> None:
    """PostgreSQL is reached through one adapter (ledger/backend.py), nowhere else."""
    importers = sorted(
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("psycopg"))
        or (isinstance(node, ast.Import) and any(a.name.startswith("psycopg") for a in node.names))
    )
    assert sorted(set(importers)) == ["ledger/backend.py"]
