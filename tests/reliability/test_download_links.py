"""A job's download folder planted as a symlink is refused at write time, at every door.

The MCP server's ``download_job`` checked ``<out>/<invocation-id>`` while the download
went to ``<out>/<date>-<slug>-<invocation-id>`` (:mod:`novareel.foundation.naming`): with a link
planted under that real name it wrote ``output.mp4`` outside its root and reported a
path inside it. The CLI and the Python API download through the same code, so each
door is tested: the folder (and every folder under it) must be a real folder.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from novareel import TextVideo
from novareel.foundation.errors import DownloadError
from novareel.jobs import VideoGenerator
from tests.helpers import OUTPUT


def _plant(tmp_path: Path, reel: VideoGenerator) -> tuple[str, Path, Path]:
    """A finished job downloaded once into ``a/``; ``b/<the same folder name>`` is a
    link to ``outside/``. Returns (ledger id, the ``b`` folder, ``outside``)."""
    done = reel.generate(TextVideo("A lantern in fog"), OUTPUT, out_dir=tmp_path / "a")
    assert done.local_dir and done.ledger_id is not None
    name = Path(done.local_dir).name
    assert name.endswith(f"-{done.invocation_id}") and name != done.invocation_id
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "b").mkdir()
    os.symlink(outside, tmp_path / "b" / name)
    return str(done.ledger_id), tmp_path / "b", outside


def test_the_python_api_refuses_a_planted_job_folder(reel: VideoGenerator, tmp_path: Path) -> None:
    ref, out, outside = _plant(tmp_path, reel)
    with pytest.raises(DownloadError, match="symbolic link"):
        reel.download(ref, out)
    assert list(outside.iterdir()) == []


def test_the_cli_refuses_a_planted_job_folder(
    reel: VideoGenerator, tmp_path: Path, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from novareel.cli import _register, app

    _register()
    ref, out, outside = _plant(tmp_path, reel)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    result = CliRunner().invoke(
        app, ["download", ref, "--endpoint-url", emulator.url, "--out", str(out), "--json"]
    )
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "DownloadError" and "symbolic link" in error["message"]
    assert list(outside.iterdir()) == []


def test_mcp_download_job_checks_the_folder_it_really_writes(tmp_path: Path, emulator: Any) -> None:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "novareel", "mcp", "--local", "--root", str(root)],
        env={**os.environ, "NOVAREEL_EMULATOR_URL": emulator.url},
        cwd=str(tmp_path),
    )
    seen: dict[str, Any] = {}

    async def main() -> None:
        with anyio.fail_after(120), (tmp_path / "server.log").open("a") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                first = await session.call_tool(
                    "generate_video", {"prompt": "a lantern in fog", "wait": True, "out": "a"}
                )
                assert not first.is_error, first.content
                job = dict(first.structured_content or {})
                name = Path(job["local_dir"]).name
                (root / "b").mkdir()
                os.symlink(outside, root / "b" / name)
                again = await session.call_tool("download_job", {"job": "1", "out": "b"})
                seen["again"] = (again.is_error, dict(again.structured_content or {}))

    anyio.run(main)
    is_error, answer = seen["again"]
    assert is_error, answer
    (problem,) = answer["error"]["problems"]
    assert problem["field"] == "out" and "outside the server's root" in problem["message"]
    assert list(outside.iterdir()) == []


def test_no_folder_under_the_job_folder_is_written_through_a_link(tmp_path: Path) -> None:
    """The final move opens each folder with O_NOFOLLOW: a link swapped in after the
    plan was checked is refused, not followed."""
    from novareel.jobs.fetching import _open_folder, make_job_folder

    target = tmp_path / "job"
    make_job_folder(target)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, target / "shots")
    with pytest.raises(DownloadError, match="symbolic link"):
        _open_folder(target, ("shots", "1"))
    assert list(outside.iterdir()) == []
    fd = _open_folder(target, ("real", "deeper"))
    os.close(fd)
    assert (target / "real" / "deeper").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(DownloadError, match="not a folder"):
        make_job_folder(tmp_path / "file")
