"""Who may import whom (docs/architecture.md): the folders are the floors.

Every module of novareel sits in a folder, and every folder on a floor. A folder
imports only folders on floors below its own (arrows point one way, down), and only
those its row in ``ALLOWED`` names; inside ``foundation/`` the leaves stay leaves.
Only ``client`` talks AWS, only ``ledger`` a database.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "novareel"

#: The floors, lowest first. A folder may import folders on lower floors only; folders
#: on one floor never import each other. The package root (``novareel/__init__.py``,
#: the Python door) stands above them all and is no floor.
FLOORS: list[set[str]] = [
    # pure pieces: errors, statuses, results, the poll schedule, s3:// rules, typed
    # times, folder names, display of prompts, the guarded file reader, the frame slot
    {"foundation"},
    # the model registry: what each family takes, checks and costs (no I/O)
    {"models"},
    # state and settings · input images and output videos · the only boto3 package
    {"settings", "media", "client"},
    # a person's request -> checked requests · the only database user · checks before a run
    {"requests", "ledger", "preflight"},
    # what the ledger's history allows (money, concurrency, time) · the static gallery
    {"limits", "gallery"},
    # VideoGenerator: submit, wait, download, dry run
    {"jobs"},
    # batch files and the exactly-once runner · a finished video reviewed by Nova 2 Lite
    {"batch", "review"},
    # the connection factory, retries from the ledger, per-shot storyboards
    {"running"},
    # the doors that only print: the MCP server for agents (started by `novareel mcp`),
    # then the command line
    {"mcp_server"},
    {"cli"},
]

#: The local Bedrock + S3 stand-in: imports nothing of novareel and stands apart from
#: the floors (tests/emulator keep it so); only the ones named here may start it.
EMULATOR = "emulator"

#: folder -> the folders it may import (besides itself): a subset of the floors below it.
ALLOWED: dict[str, set[str]] = {
    "foundation": set(),
    "models": {"foundation"},
    # defaults: the default model, checked against its family's options
    "settings": {"foundation", "models"},
    # images are checked by the chosen model's FrameRules
    "media": {"foundation", "models"},
    # client/local.py probes or starts the emulator (--local, VideoGenerator.local())
    "client": {"foundation", EMULATOR},
    # compose reads the default model (settings) and images (media)
    "requests": {"foundation", "models", "settings", "media"},
    # config.toml's [ledger] url and NOVAREEL_HOME; a row's failure is a results.Failure
    "ledger": {"foundation", "settings"},
    "preflight": {"foundation", "models", "client"},
    # budget asks the endpoint whether it is the emulator (client/endpoint_identity.py)
    "limits": {"foundation", "models", "settings", "client", "ledger"},
    # never client: the CLI hands in a presigner
    "gallery": {"foundation", "models", "media", "ledger"},
    "jobs": {
        "foundation",
        "models",
        "media",
        "client",
        "requests",
        "ledger",
        "preflight",
        "limits",
    },
    # never running: running/shotboard drives batch, not the other way round
    "batch": {"foundation", "models", "settings", "requests", "ledger", "limits", "jobs"},
    # InvokeModel on a finished job's video, priced and reserved like a job
    "review": {"foundation", "models", "media", "client", "ledger", "limits", "jobs"},
    "running": {
        "foundation",
        "models",
        "media",
        "client",
        "ledger",
        "preflight",
        "jobs",
        "batch",
    },
    # every floor below; the MCP server only through cli/mcp_cmd.py (tested below)
    "cli": {
        "foundation",
        "models",
        "settings",
        "media",
        "client",
        "requests",
        "ledger",
        "preflight",
        "limits",
        "gallery",
        "jobs",
        "batch",
        "running",
        "review",
        "mcp_server",
        EMULATOR,
    },
    # never cli: requests come from requests/compose, --since from foundation/when
    "mcp_server": {
        "foundation",
        "models",
        "settings",
        "client",
        "requests",
        "ledger",
        "limits",
        "jobs",
        "running",
        "review",
    },
}

#: Inside foundation/: module -> the foundation modules it may import. The leaves
#: stay leaves, so the ground floor has no floors of its own to hide.
FOUNDATION: dict[str, set[str]] = {
    "errors": set(),
    "status": set(),
    "naming": set(),
    "display": set(),
    # the slot through which a request class reads an image path (filled by the root)
    "frame_reader": set(),
    "arns": set(),
    "results": {"status", "arns"},
    "waiting": {"status"},
    "s3uri": {"errors"},
    "when": {"errors"},
    "textfiles": {"errors"},
}


def floor_of(folder: str) -> int:
    for number, floor in enumerate(FLOORS):
        if folder in floor:
            return number
    raise AssertionError(f"novareel/{folder}/ is on no floor: add it to FLOORS")


def novareel_imports(path: Path, depth: int = 1) -> set[str]:
    """The novareel names ``path`` imports, ``depth`` parts below ``novareel``
    (1: the folder, ``novareel.media.video`` -> ``media``; 2: ``media.video``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "novareel" and len(parts) > 1:
                found.add(".".join(parts[1 : 1 + depth]))
    return found


def folder_imports(folder: str) -> dict[str, set[str]]:
    """Each folder ``folder`` imports, with the files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((SRC / folder).rglob("*.py")):
        for name in novareel_imports(path) - {folder, "__version__"}:
            found.setdefault(name, set()).add(str(path.relative_to(SRC)))
    return found


def test_every_module_sits_in_a_folder_on_a_floor() -> None:
    """The package root holds only the Python door; a new module picks a floor."""
    loose = sorted(p.name for p in SRC.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"]
    folders = {p.relative_to(SRC).parts[0] for p in SRC.rglob("*.py") if p.parent != SRC}
    folders.discard(EMULATOR)
    for folder in sorted(folders):
        floor_of(folder)
    assert folders == set().union(*FLOORS) == set(ALLOWED)


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_the_rules_point_down(folder: str) -> None:
    """The table itself keeps the arrows one-way: a folder may name only lower floors."""
    up = sorted(
        other
        for other in ALLOWED[folder]
        if other != EMULATOR and floor_of(other) >= floor_of(folder)
    )
    assert not up, f"novareel/{folder}/ is allowed folders on its floor or above: {up}"


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_no_folder_imports_its_own_floor_or_above(folder: str) -> None:
    """The floors themselves: a folder importing one on its floor or above fails here,
    whatever ``ALLOWED`` says."""
    up = {
        other: files
        for other, files in folder_imports(folder).items()
        if other != EMULATOR and floor_of(other) >= floor_of(folder)
    }
    assert not up, f"novareel/{folder}/ imports folders on its floor or above: {up}"


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_folder_imports_only_what_its_row_allows(folder: str) -> None:
    extra = {
        other: files
        for other, files in folder_imports(folder).items()
        if other not in ALLOWED[folder]
    }
    assert not extra, f"novareel/{folder}/ must not import {extra}"


@pytest.mark.parametrize("module", sorted(FOUNDATION))
def test_foundation_leaves_stay_leaves(module: str) -> None:
    imported = novareel_imports(SRC / "foundation" / f"{module}.py", depth=2)
    assert all(name.startswith("foundation.") for name in imported), imported
    extra = {name.split(".")[1] for name in imported} - FOUNDATION[module] - {module}
    assert not extra, f"novareel.foundation.{module} must not import {sorted(extra)}"
    assert set(FOUNDATION) == {p.stem for p in (SRC / "foundation").glob("*.py")} - {"__init__"}


def test_only_local_and_the_emulator_command_import_the_emulator() -> None:
    """The emulator stands apart: the client's ``local`` starts it, ``novareel emulator``
    serves it, and nothing else depends on it."""
    importers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if EMULATOR in novareel_imports(path) and EMULATOR not in path.relative_to(SRC).parts
    )
    assert importers == ["cli/emulator_cmd.py", "client/local.py"]


def test_the_emulator_imports_nothing_of_novareel_outside_itself() -> None:
    outside = {
        str(path.relative_to(SRC)): imported - {EMULATOR}
        for path in (SRC / EMULATOR).rglob("*.py")
        if (imported := novareel_imports(path)) - {EMULATOR}
    }
    assert outside == {}


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
