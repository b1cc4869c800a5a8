"""A NovaReel wired to the session's emulator with dummy credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from novareel.client import NovaReelClient
from novareel.jobs import NovaReel

BUCKET = "novareel-e2e"
OUTPUT = f"s3://{BUCKET}/videos/"


def make_client(url: str, **kwargs: Any) -> NovaReelClient:
    return NovaReelClient(
        region="us-east-1",
        endpoint_url=url,
        access_key="testing",
        secret_key="testing",
        **kwargs,
    )


@pytest.fixture
def reel(emulator: Any) -> Iterator[NovaReel]:
    """NovaReel on the emulator (speed 500), with the output bucket created.

    botocore's retries are limited to 2 attempts so injected faults show quickly.
    """
    client = make_client(emulator.url, max_attempts=2)
    client.ensure_bucket(BUCKET)
    speed = float(emulator.health()["speed"])
    with NovaReel(client, time_scale=speed) as api:
        yield api


@pytest.fixture
def frame_png(tmp_path: Path) -> Path:
    """A real 1280x720 RGB PNG with a distinctive left/right split."""
    from PIL import Image

    image = Image.new("RGB", (1280, 720), (200, 30, 30))
    image.paste((20, 40, 220), (640, 0, 1280, 720))
    path = tmp_path / "frame.png"
    image.save(path)
    return path
