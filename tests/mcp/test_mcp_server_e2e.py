"""`novareel mcp --local` as an agent sees it: a subprocess driven by the `mcp` client
over stdio, on the test emulator (speed 500), with a real ledger and a real root."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from mcp import ClientSession, StdioServerParameters, stdio_client
from tests.helpers import job_dir, write_png

TOOLS = {
    "generate_video", "get_job", "wait_job", "list_jobs", "download_job",
    "estimate_cost", "check_storyboard", "list_models",
}  # fmt: skip

Session = Callable[[ClientSession], Awaitable[None]]


def serve(
    root: Path,
    log: Path,
    emulator_url: str,
    *flags: str,
    body: Session,
    env: dict[str, str] | None = None,
) -> None:
    """Start `novareel mcp --local` in ``root``'s parent and run ``body`` against it."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "novareel", "mcp", "--local", "--root", str(root), *flags],
        env={**os.environ, "NOVAREEL_EMULATOR_URL": emulator_url, **(env or {})},
        cwd=str(root.parent),
    )

    async def main() -> None:
        with log.open("a") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await body(session)

    anyio.run(main)


async def call(session: ClientSession, tool: str, **arguments: Any) -> tuple[bool, dict[str, Any]]:
    result = await session.call_tool(tool, arguments)
    assert result.structured_content is not None, result.content
    return bool(result.is_error), dict(result.structured_content)


def test_agent_generates_is_capped_is_confined_and_a_restart_sees_the_jobs(
    tmp_path: Path, emulator: Any
) -> None:
    root = tmp_path / "root"
    (root / "frames").mkdir(parents=True)
    write_png(root / "frames" / "start.png")
    outside = write_png(tmp_path / "secret.png", (10, 200, 10))
    log = tmp_path / "server.log"
    seen: dict[str, Any] = {}

    async def first(session: ClientSession) -> None:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names >= TOOLS

        # A Nova Reel TEXT_VIDEO job with a starting frame, waited for with progress.
        progress: list[tuple[float, float | None, str | None]] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, total, message))

        result = await session.call_tool(
            "generate_video",
            {"prompt": "a red kite over a beach", "image": "frames/start.png", "wait": True,
             "out": "videos"},
            progress_callback=on_progress,
        )  # fmt: skip
        assert not result.is_error, result.content
        job = dict(result.structured_content or {})
        assert job["status"] == "Completed" and job["ledger_id"] == 1
        assert job["invocation_arn"].startswith("arn:aws:bedrock:")
        video = Path(job["video_path"])
        assert video == (job_dir(root / "videos", job["ledger_id"]) / "output.mp4").resolve()
        assert video.stat().st_size > 0
        assert job["session"]["session_spent_usd"] == 0.48
        assert progress and progress[-1][0] == progress[-1][1]  # ran to the expected end
        assert all("job 1" in (m or "") for _, _, m in progress)

        # Over the per-call cap: refused before anything is sent, with what remains.
        bad, refused = await call(session, "generate_video", prompt="a storm at sea",
                                  model_id="luma-ray2", duration=9)  # fmt: skip
        assert bad
        error = refused["error"]
        assert error["type"] == "BudgetExceededError" and error["exit_code"] == 2
        budget = error["budget"]
        assert budget["limit"] == "max_cost" and budget["raise_with"] == ["--max-cost"]
        assert budget["asked_usd"] == 13.5 and budget["limit_usd"] == 1.0
        assert "restarting the server with a higher --max-cost" in budget["how_to_raise"]

        # A second job fits the session ($0.96 of $1.00); a third does not.
        bad, second = await call(session, "generate_video", prompt="a slow tide at dusk")
        assert not bad and second["status"] == "InProgress"
        assert second["session"]["session_remaining_usd"] == 0.04
        seen["second"] = second
        bad, refused = await call(session, "generate_video", prompt="one more, please")
        assert bad and refused["error"]["budget"]["limit"] == "session_max_cost"
        assert refused["error"]["budget"]["remaining_usd"] == 0.04
        assert "0.04 left" in refused["error"]["message"]

        # Paths outside the root: a climb, an absolute path, a download folder.
        for arguments in (
            {"prompt": "x", "image": "../secret.png"},
            {"prompt": "x", "image": str(outside)},
        ):
            bad, refused = await call(session, "generate_video", **arguments)
            assert bad
            assert refused["error"]["problems"][0]["field"] == "image"
            assert "outside the server's root" in refused["error"]["message"]
        bad, refused = await call(session, "download_job", job="1", out=str(tmp_path))
        assert bad and refused["error"]["problems"][0]["field"] == "out"

        # Bad input names its fields, as the CLI does; nothing is charged for it.
        bad, refused = await call(session, "generate_video", prompt="x", model_id="luma-ray2",
                                  seed=7, duration=7)  # fmt: skip
        assert bad
        fields = {p["field"] for p in refused["error"]["problems"]}
        assert {"seed", "duration"} <= fields

        bad, listed = await call(session, "list_jobs")
        assert not bad and [j["id"] for j in listed["jobs"]] == [2, 1]

    serve(root, log, emulator.url, "--max-cost", "1", body=first)
    assert "video_path" not in seen["second"] or seen["second"]["video_path"] is None

    async def second(session: ClientSession) -> None:
        # A new server process: the first one's jobs are in the ledger.
        job = seen["second"]
        bad, found = await call(session, "get_job", job=job["invocation_id"])
        assert not bad and found["ledger_id"] == job["ledger_id"]
        bad, done = await call(session, "wait_job", job=str(job["ledger_id"]), out="later")
        assert not bad and done["status"] == "Completed"
        assert Path(done["video_path"]).is_file()
        assert Path(done["video_path"]).is_relative_to(root.resolve() / "later")
        # A fresh session has its own cap; the caps are the new server's.
        assert done["session"]["session_spent_usd"] == 0.0
        bad, quote = await call(session, "estimate_cost", prompt="a fox", model_id="luma-ray2",
                                duration=5, resolution="540p")  # fmt: skip
        assert not bad and quote["estimated_cost_usd"] == 3.75
        assert quote["caps"]["within_caps"] is True

    serve(root, log, emulator.url, "--max-cost", "20", body=second)


def test_storyboards_by_path_and_inline_on_both_families(tmp_path: Path, emulator: Any) -> None:
    root = tmp_path / "root"
    (root / "boards").mkdir(parents=True)
    write_png(root / "boards" / "one.png")
    write_png(tmp_path / "outside.png")
    (root / "boards" / "good.yaml").write_text(
        "shots:\n  - text: A lighthouse at dawn.\n    image: one.png\n"
        "  - text: The keeper climbs the stairs.\n",
        encoding="utf-8",
    )
    (root / "boards" / "sneaky.yaml").write_text(
        "- text: A lighthouse at dawn.\n  image: ../../outside.png\n- text: Stairs.\n",
        encoding="utf-8",
    )
    log = tmp_path / "server.log"

    async def body(session: ClientSession) -> None:
        bad, report = await call(session, "check_storyboard", path="boards/good.yaml")
        assert not bad and report["ok"] and report["shots"] == 2 and report["images"] == 1
        assert report["estimated_cost_usd"] == 0.96

        bad, refused = await call(session, "check_storyboard", path="boards/sneaky.yaml")
        assert bad and refused["error"]["problems"][0]["field"] == "shots[1].image"
        bad, refused = await call(session, "generate_video", storyboard="boards/sneaky.yaml")
        assert bad and refused["error"]["problems"][0]["field"] == "shots[1].image"

        # Nova Reel: the storyboard is one MULTI_SHOT_MANUAL job (not waited for here).
        bad, job = await call(session, "generate_video", storyboard="boards/good.yaml")
        assert not bad, job
        assert job["task_type"] == "MULTI_SHOT_MANUAL" and job["duration_seconds"] == 12
        assert job["status"] == "InProgress" and job["video_path"] is None

        # Luma Ray 2: inline shots run as one job per shot, joined under the root.
        bad, refused = await call(session, "generate_video", model_id="luma-ray2",
                                  shots=["a fox runs", "a fox sleeps"], duration=5,
                                  resolution="540p")  # fmt: skip
        assert bad and refused["error"]["problems"][0]["field"] == "wait"
        shots_done: list[str] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            shots_done.append(f"{done:g}/{total:g} {message}")

        result = await session.call_tool(
            "generate_video",
            {"model_id": "luma-ray2", "shots": ["a fox runs", {"text": "a fox sleeps"}],
             "duration": 5, "resolution": "540p", "aspect_ratio": "1:1", "wait": True,
             "out": "foxes"},
            progress_callback=on_progress,
        )  # fmt: skip
        joined = dict(result.structured_content or {})
        assert not result.is_error, joined
        assert shots_done[-1].startswith("2/2 shot")
        assert joined["status"] == "Completed" and len(joined["shots"]) == 2
        assert Path(joined["video_path"]).is_file()
        assert Path(joined["video_path"]).is_relative_to(root.resolve() / "foxes")
        # the CLI's folder rule: one folder with the joined video, its shots and manifest
        folder = Path(joined["local_dir"])
        assert [p.resolve() for p in (root / "foxes").iterdir()] == [folder]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-storyboard-[0-9a-f]{12}", folder.name)
        assert sorted(p.name for p in folder.iterdir()) == [
            "manifest.json", "output.mp4", "shot_0001.mp4", "shot_0002.mp4"
        ]  # fmt: skip
        assert joined["session"]["session_spent_usd"] == round(0.96 + 2 * 3.75, 2)

    serve(root, log, emulator.url, "--session-max-cost", "20", body=body)


def test_the_standing_budget_refuses_in_the_same_shape(tmp_path: Path, emulator: Any) -> None:
    """The daily budget (counting emulator jobs, as a rehearsal) is checked per call,
    and its refusal reaches the agent as structured data."""
    root = tmp_path / "root"
    root.mkdir()
    budget = {"NOVAREEL_BUDGET_DAILY_USD": "0.5", "NOVAREEL_BUDGET_COUNT_LOCAL": "1"}

    async def body(session: ClientSession) -> None:
        emulator.configure(speed=1)  # the job now runs for over a minute
        bad, first = await call(session, "generate_video", prompt="a kite")
        assert not bad and first["status"] == "InProgress"
        # A wait that runs out of time is an answer, not an error: the job goes on.
        progress: list[str] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append(message or "")

        result = await session.call_tool(
            "wait_job",
            {"job": str(first["ledger_id"]), "timeout": 1},
            progress_callback=on_progress,
        )
        waited = dict(result.structured_content or {})
        assert not result.is_error and waited["timed_out"] is True
        assert waited["status"] == "InProgress" and "wait_job" in waited["next_step"]
        assert progress and "InProgress" in progress[-1]
        bad, quote = await call(session, "estimate_cost", prompt="another kite")
        assert not bad and quote["caps"]["within_caps"] is False
        assert quote["caps"]["standing_budget"][0]["spent_usd"] == 0.48
        bad, refused = await call(session, "generate_video", prompt="another kite")
        assert bad
        error = refused["error"]
        assert error["type"] == "BudgetExceededError"
        assert error["budget"]["limit"] == "daily" and error["budget"]["remaining_usd"] == 0.02
        assert "NOVAREEL_BUDGET_DAILY_USD" in error["budget"]["how_to_raise"]
        # A refused call costs the session nothing.
        bad, listed = await call(session, "list_jobs")
        assert [j["id"] for j in listed["jobs"]] == [first["ledger_id"]]
        bad, again = await call(session, "get_job", job=str(first["ledger_id"]))
        assert again["session"]["session_spent_usd"] == 0.48

    serve(root, tmp_path / "server.log", emulator.url, body=body, env=budget)
