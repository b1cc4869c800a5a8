"""Fixtures for batch tests: a NovaReel on the session emulator, frames, batch files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from novareel.client import NovaReelClient
from novareel.jobs import NovaReel

BUCKET = "novareel-batch"
OUTPUT = f"s3://{BUCKET}/videos/"


def make_client(url: str, **kwargs: Any) -> NovaReelClient:
    return NovaReelClient(
        region="us-east-1", endpoint_url=url, access_key="testing", secret_key="testing", **kwargs
    )


@pytest.fixture
def reel(emulator: Any) -> Iterator[NovaReel]:
    """NovaReel on the (reset) emulator at speed 500, with the output bucket created."""
    client = make_client(emulator.url, max_attempts=2)
    client.ensure_bucket(BUCKET)
    with NovaReel(client, time_scale=float(emulator.health()["speed"])) as api:
        yield api


def write_png(path: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    from PIL import Image

    Image.new("RGB", (1280, 720), colour).save(path)
    return path


@pytest.fixture
def frame_png(tmp_path: Path) -> Path:
    """A valid 1280x720 RGB starting frame next to the batch files."""
    return write_png(tmp_path / "frame.png")
