"""Plain helpers shared by the test packages (fixtures live in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from novareel.client import NovaReelClient

BUCKET = "novareel-test-out"
OUTPUT = f"s3://{BUCKET}/videos/"


def make_client(url: str, **kwargs: Any) -> NovaReelClient:
    """A NovaReelClient for the emulator at ``url``, with dummy credentials."""
    return NovaReelClient(
        region="us-east-1", endpoint_url=url, access_key="testing", secret_key="testing", **kwargs
    )


def write_png(path: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    """A valid 1280x720 RGB PNG of one colour."""
    from PIL import Image

    Image.new("RGB", (1280, 720), colour).save(path)
    return path


def job_dir(root: Path, ref: str | int) -> Path:
    """Where novareel downloads a job under ``root``: the folder named by
    :mod:`novareel.naming` from the job's ledger row (date, slug, invocation id)."""
    from novareel.ledger import Ledger
    from novareel.naming import job_folder_name, job_label

    with Ledger.open_default() as ledger:
        record = ledger.get(ref)
    assert record.invocation_id
    label = job_label(name=record.name, batch_item=record.batch_item, request=record.request)
    return root / job_folder_name(record.invocation_id, label=label, when=record.submit_time)
