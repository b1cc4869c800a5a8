"""The emulator checks the client instead of sharing its bugs: it imports nothing else."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import novareel.emulator

PACKAGE = Path(novareel.emulator.__file__).parent


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.append("." * node.level + (node.module or ""))
    return names


def test_emulator_imports_nothing_from_novareel_outside_emulator() -> None:
    offenders = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 10
    for path in files:
        for name in _imports(path):
            outside = name == "novareel" or (
                name.startswith("novareel.") and not name.startswith("novareel.emulator")
            )
            relative_escape = name.startswith("..")
            if outside or relative_escape:
                offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_importing_the_emulator_is_cheap() -> None:
    code = (
        "import sys, novareel.emulator as e; "
        "assert e.DEFAULT_PORT == 5899 and e.DEFAULT_SPEED == 25.0; "
        "heavy = [m for m in ('moto', 'av', 'werkzeug', 'boto3', 'numpy') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
