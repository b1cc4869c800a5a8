"""What the command-line end-to-end tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_client


@pytest.fixture
def cli_env(emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Dummy credentials, the output bucket, and the user's folder as the cwd (``wait``
    downloads into the folder a job was submitted from: kept in tmp_path); returns the
    connection args."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.chdir(tmp_path)
    make_client(emulator.url).ensure_bucket("cli-bucket")
    return {
        "args": ["--endpoint-url", emulator.url, "--output-uri", "s3://cli-bucket/v/"],
        "conn": ["--endpoint-url", emulator.url],
        "url": emulator.url,
        "out": tmp_path / "videos",
    }
