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
    "NOVAREEL_LEDGER_URL",  # a developer's team ledger never receives test jobs
    "NOVAREEL_MODEL",  # a developer's default model never changes what a test sends
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


# --- emulator fixtures ---------------------------------------------------------------
# One emulator per test session (moto's S3 state is process-global anyway); each test
# gets it reset. Speed 500 makes a 6 s job "take" 0.15 s plus render time; the submit
# rate limit is off unless a test switches it on.

from typing import Any  # noqa: E402  (appended section keeps the original header intact)


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Any]:
    from novareel.emulator import EmulatorConfig, EmulatorServer

    config = EmulatorConfig(speed=500.0, submit_rate=0.0)
    with EmulatorServer(port=0, config=config) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: Any) -> Any:
    """A freshly reset emulator; returns its ``EmulatorControl``."""
    from novareel.emulator import EmulatorControl

    control = EmulatorControl(emulator_server.url)
    control.reset()
    return control


def _emulator_client(service: str, url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # botocore's "max_attempts" counts retries (1 would still retry once);
        # total_max_attempts=1 means exactly one HTTP call, so tests see raw errors.
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def bedrock_client(emulator: Any) -> Any:
    return _emulator_client("bedrock-runtime", emulator.url)


@pytest.fixture
def s3_client(emulator: Any) -> Any:
    return _emulator_client("s3", emulator.url)


@pytest.fixture
def emulator_bucket(s3_client: Any) -> str:
    """An existing bucket in the emulator's S3."""
    s3_client.create_bucket(Bucket="novareel-test")
    return "novareel-test"


# --- VideoGenerator on the emulator -----------------------------------------------------------


@pytest.fixture
def reel(emulator: Any) -> Iterator[Any]:
    """VideoGenerator on the (reset) emulator, with the output bucket created.

    botocore makes at most 2 attempts per call, so injected faults show quickly.
    """
    from novareel.jobs import VideoGenerator
    from tests.helpers import BUCKET, make_client

    client = make_client(emulator.url, max_attempts=2)
    client.ensure_bucket(BUCKET)
    with VideoGenerator(client, time_scale=float(emulator.health()["speed"])) as api:
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


# --- the ledger on each backend -----------------------------------------------------------
# A test that takes ``backend`` (or ``target``, ``new_target``) runs twice: on the SQLite
# file in its NOVAREEL_HOME and on a fresh PostgreSQL ledger (a new schema) of the
# session's throwaway server (tests/pg.py), which NOVAREEL_LEDGER_URL names, so
# ``Ledger.open_default()`` and every process the test starts (they inherit
# os.environ) open the same one. Here, not in tests/ledger/, so one session starts one
# server for every folder that needs it (a session fixture imported into two conftests
# would be two fixtures, two servers).

from collections.abc import Callable  # noqa: E402

from tests.pg import pg_cluster, pg_database, pg_url, pg_urls  # noqa: E402, F401  (fixtures)

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sqlite`` or ``postgres``: where this run of the test keeps its default ledger."""
    from novareel.ledger.backend import LEDGER_URL_ENV

    if request.param == "postgres":
        monkeypatch.setenv(LEDGER_URL_ENV, request.getfixturevalue("pg_url"))
    else:
        monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    return str(request.param)


@pytest.fixture
def target(backend: str) -> Path | str:
    """The default ledger's location on this backend: a file path, or a URL."""
    from novareel.ledger.backend import ledger_target

    return ledger_target()


@pytest.fixture
def new_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Any]:
    """``new()``: the location of another fresh ledger on this test's backend (a new
    file, or a new PostgreSQL schema), e.g. to compare with a freshly migrated one."""
    made = iter(range(1_000_000))

    def new() -> Path | str:
        if backend == "postgres":
            return str(request.getfixturevalue("pg_urls")())
        return tmp_path / f"other-{next(made)}.db"

    return new
