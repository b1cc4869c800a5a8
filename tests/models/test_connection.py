"""The one connection factory (``novareel.running.connection``) behind every door.

The command line's ``open_api``, the MCP server's session and ``models``/``doctor``
each used to build their clients from the options in their own way; these tests pin
that they now share :class:`~novareel.running.connection.Endpoint`: the same clients, the same
emulator lifetime, the same idea of what kind of endpoint answers.
"""

from __future__ import annotations

import ast
import socket
from pathlib import Path
from typing import Any

import pytest

from novareel.client.local import LocalClient, probe
from novareel.running.connection import CONTROL_MAX_ATTEMPTS, Connection, Endpoint, connect

SRC = Path(__file__).resolve().parents[2] / "src" / "novareel"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_local_starts_an_emulator_for_the_block_and_stops_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", f"http://127.0.0.1:{_free_port()}")
    with connect(Connection(local=True)) as endpoint:
        emulator = endpoint.emulator
        assert emulator is not None and emulator.owned
        assert probe(emulator.url) is not None
        assert endpoint.kind == "emulator"
        assert endpoint.url == emulator.url
        with endpoint.api(region="us-west-2") as api:
            assert isinstance(api.client, LocalClient)
            assert api.client.endpoint_url == emulator.url
            assert api.client.region == "us-west-2"  # the model's own, as a default
            assert api.emulator_owned  # its jobs die with this process
    assert probe(emulator.url) is None
    assert endpoint.emulator is None


def test_local_uses_a_running_emulator_and_leaves_it_running(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    with connect(Connection(local=True)) as endpoint:
        assert endpoint.emulator is not None and not endpoint.emulator.owned
        assert endpoint.speed == 500.0  # the emulator's own speed (tests/conftest.py)
        with endpoint.api() as api:
            assert not api.emulator_owned
            assert api.time_scale == 500.0
    assert probe(emulator.url) is not None


def test_kind_of_an_endpoint(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Endpoint(Connection(endpoint_url=emulator.url)).kind == "emulator"  # probed
    dead = f"http://127.0.0.1:{_free_port()}"
    assert Endpoint(Connection(endpoint_url=dead)).kind == "endpoint"
    assert Endpoint(Connection(endpoint_url="https://bedrock.example.com")).kind == "endpoint"
    assert Endpoint(Connection()).kind == "aws"
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    assert Endpoint(Connection()).kind == "emulator"


def test_an_endpoint_url_is_asked_for_its_speed_only_by_callers_that_wait(
    emulator: Any,
) -> None:
    endpoint = Endpoint(Connection(endpoint_url=emulator.url))
    with endpoint.api(waits=False) as api:
        assert api.time_scale == 1.0
    with endpoint.api(waits=True) as api:
        assert api.time_scale == 500.0


def test_clients_follow_the_options() -> None:
    endpoint = Endpoint(
        Connection(profile=None, region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    )
    client = endpoint.client(default_region="us-west-2")
    assert client.region == "eu-west-1" and client.region_source == "argument"
    assert client.endpoint_url == "http://127.0.0.1:9"
    assert endpoint.client("us-west-2").region == "us-west-2"
    plain = Endpoint(Connection()).client(default_region="us-west-2")
    assert (plain.region, plain.region_source) == ("us-west-2", "default")


def test_control_clients_are_made_once_per_region_with_few_retries() -> None:
    endpoint = Endpoint(Connection(endpoint_url="http://127.0.0.1:9"))
    east = endpoint.control_client("us-east-1")
    assert endpoint.control_client("us-east-1") is east
    assert endpoint.control_client("us-west-2") is not east
    assert east._config.retries["total_max_attempts"] == CONTROL_MAX_ATTEMPTS


def test_the_cli_and_the_mcp_server_open_the_same_api(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from novareel.cli.common import open_api
    from novareel.mcp_server.session import ServerSession
    from novareel.mcp_server.specs import ServerSettings

    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    conn = Connection(local=True)
    session = ServerSession(ServerSettings(root=tmp_path, local=True))
    try:
        with (
            open_api(conn, waits=True, region="us-west-2") as (cli_api, cli_emulator),
            session.api("us-west-2") as mcp_api,
        ):
            assert isinstance(session.endpoint, Endpoint)
            assert cli_emulator is not None and session.emulator_url == cli_emulator.url
            for api in (cli_api, mcp_api):
                assert isinstance(api.client, LocalClient)
                assert (api.client.region, api.client.region_source) == ("us-west-2", "default")
                assert api.client.endpoint_url == emulator.url
                assert api.time_scale == 500.0
    finally:
        session.close()


#: What only the connection factory (and the modules it stands on) may call.
_FACTORY_ONLY = {"AwsClient", "LocalClient", "connect_local", "VideoGenerator"}


def _calls(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in _FACTORY_ONLY:
                found.add(name)
    return found


@pytest.mark.parametrize(
    "door",
    [
        "cli/common.py",
        "cli/models_cmd.py",
        "cli/doctor_cmd.py",
        "cli/generate.py",
        "cli/track.py",
        "cli/jobs_cmd.py",
        "cli/batch_cmd.py",
        "mcp_server/session.py",
        "mcp_server/tools.py",
        "mcp_server/server.py",
    ],
)
def test_the_doors_make_no_client_of_their_own(door: str) -> None:
    """Connection set-up written once: the doors call ``novareel.running.connection`` (through
    ``open_api``/``open_endpoint`` or the server's session) and only print."""
    assert _calls(SRC / door) == set()
