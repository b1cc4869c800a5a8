"""Shared fixtures: every test runs with its own NOVAREEL_HOME and no real AWS settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

_AWS_ENV = [
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "NOVAREEL_EMULATOR_URL",
    "NOVAREEL_LOG_LEVEL",
]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private NOVAREEL_HOME and a clean AWS environment for every test."""
    home = tmp_path / "novareel-home"
    monkeypatch.setenv("NOVAREEL_HOME", str(home))
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    # No shared config/credentials files from the machine leak into tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield home
