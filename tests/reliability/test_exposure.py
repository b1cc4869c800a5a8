"""Exposure: the emulator listens on loopback unless told otherwise; the ledger is 0600."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel import TextVideo
from novareel.cli import _register, app
from novareel.emulator import EmulatorServer
from novareel.jobs import VideoGenerator
from tests.helpers import OUTPUT

_register()


def test_emulator_server_binds_loopback_by_default() -> None:
    server = EmulatorServer(port=0, speed=500)
    assert server.host == "127.0.0.1"
    with server:
        host, port = server._server.socket.getsockname()[:2]
        assert ipaddress.ip_address(host).is_loopback
        assert host == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{port}"


def test_emulator_entry_points_default_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    import inspect

    from novareel.emulator import serve

    assert inspect.signature(EmulatorServer).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    result = CliRunner().invoke(app, ["emulator", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    host_line = next(line for line in result.stdout.splitlines() if "--host" in line)
    assert "[default: 127.0.0.1]" in host_line

    from novareel.emulator.__main__ import main

    captured: dict[str, Any] = {}

    def fake_serve(**kwargs: Any) -> None:
        captured.update(kwargs)

    monkeypatch.setattr("novareel.emulator.server.serve", fake_serve)
    main(["--port", "0"])
    assert captured["host"] == "127.0.0.1"


def test_ledger_file_is_owner_only_after_generate(
    reel: VideoGenerator, tmp_path: Path, isolated_home: Path
) -> None:
    result = reel.generate(TextVideo("A quiet harbour at dawn"), OUTPUT, out_dir=tmp_path)
    assert result.status == "Completed"
    ledger_file = isolated_home / "ledger.db"
    assert ledger_file.is_file()
    assert stat.S_IMODE(ledger_file.stat().st_mode) == 0o600
    for sidecar in ("ledger.db-wal", "ledger.db-shm"):
        path = isolated_home / sidecar
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, sidecar
