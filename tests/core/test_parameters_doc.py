"""docs/parameters.md maps every Invoke-AmazonVideoModel parameter, and its options exist."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from novareel.cli import _register, app

DOC = Path(__file__).resolve().parents[2] / "docs" / "parameters.md"

#: Every parameter of pwshBedrock's Invoke-AmazonVideoModel (its help page's SYNTAX).
PWSH_PARAMETERS = [
    "VideoPrompt", "MediaPath", "S3OutputURI", "TaskType", "DurationSeconds", "Shots",
    "Seed", "ModelID", "AttemptS3Download", "LocalSavePath", "S3OutputBucketOwner",
    "S3OutputKmsKeyId", "JobCheckInterval", "JobTimeout", "AccessKey", "Credential",
    "EndpointUrl", "NetworkCredential", "ProfileLocation", "ProfileName", "Region",
    "SecretKey", "SessionToken",
]  # fmt: skip


def test_every_pwsh_parameter_has_a_row() -> None:
    rows = {m.group(1) for m in re.finditer(r"^\| `-(\w+)`", DOC.read_text(), re.M)}
    assert set(PWSH_PARAMETERS) <= rows


def test_every_cli_option_in_the_table_exists() -> None:
    _register()
    help_text = CliRunner().invoke(app, ["generate", "--help"], env={"COLUMNS": "200"}).stdout
    options = set(re.findall(r"`(--[a-z-]+)", DOC.read_text()))
    missing = {opt for opt in options if opt not in help_text}
    assert not missing, f"options documented but not in `novareel generate --help`: {missing}"
