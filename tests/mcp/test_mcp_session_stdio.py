"""Two real ``novareel mcp`` servers, started as an agent starts them (``mcp``'s stdio
client, one subprocess each), with the same ``--session`` and a ``$2.00``
``--session-max-cost``, on both ledger backends (issue 20, item 1: "same for the MCP
server's session caps across processes").

Each server is sent ``CALLS`` ``generate_video`` calls at once (distinct prompts, no
wait); $0.48 clips, so four fit ($1.92) and a fifth would make $2.40. Counted on the
emulator's side (``acceptedSubmissions`` of ``/_emulator/stats``): exactly four per
round, however the eight calls interleave over the two servers. The answers must agree
with the service: four jobs accepted at $0.48, the others refused by the session's
cap, each refusal naming what the session has left.

``tests/mcp/test_mcp_session_processes.py`` races the tools in 4 processes × 4 threads;
this test is the same promise through the door an agent really uses: the server's
command line, its stdio transport and its tool schema.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp import ClientSession, StdioServerParameters, stdio_client
from tests.mcp.test_mcp_session_processes import CAP_USD, CLIP_USD, FITS, session_round

pytestmark = pytest.mark.slow

SERVERS = 2
CALLS = 4
ROUNDS = 2


async def _serve(
    params: StdioServerParameters,
    log: Path,
    name: str,
    ready: anyio.Event,
    go: anyio.Event,
    answers: list[tuple[bool, dict[str, Any]]],
) -> None:
    """Start one server, wait until every server is up, then send CALLS at once."""
    with log.open("a") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            ready.set()
            await go.wait()

            async def one(number: int) -> None:
                result = await session.call_tool(
                    "generate_video",
                    {"prompt": f"{name} lantern {number} over a lake", "duration": 6},
                )
                assert result.structured_content is not None, result.content
                answers.append((bool(result.is_error), dict(result.structured_content)))

            async with anyio.create_task_group() as calls:
                for number in range(CALLS):
                    calls.start_soon(one, number)


async def _race(
    params: StdioServerParameters,
    logs: Path,
    label: str,
    answers: list[tuple[bool, dict[str, Any]]],
) -> None:
    """Start SERVERS servers; once every one is up, each sends its CALLS at once."""
    readies = [anyio.Event() for _ in range(SERVERS)]
    go = anyio.Event()

    async def release() -> None:
        for ready in readies:
            await ready.wait()
        go.set()

    with anyio.fail_after(180):
        async with anyio.create_task_group() as servers:
            for number, ready in enumerate(readies):
                log = logs / f"server-{label}-{number}.log"
                name = f"{label}s{number}"
                servers.start_soon(_serve, params, log, name, ready, go, answers)
            servers.start_soon(release)


def test_two_stdio_servers_with_one_session_never_pass_its_cap(
    emulator: Any, tmp_path: Path, backend: str, new_target: Callable[[], Any]
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for round_no in range(ROUNDS):
        env = session_round(emulator, tmp_path, backend, new_target, round_no)
        session_flags = ["--session", f"team-{round_no}", "--session-max-cost", f"{CAP_USD:.2f}"]
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "novareel", "mcp", "--local", "--root", str(root), "--max-cost", "1",
                  *session_flags],
            env=env,
            cwd=str(tmp_path),
        )  # fmt: skip
        answers: list[tuple[bool, dict[str, Any]]] = []

        anyio.run(_race, params, tmp_path, f"r{round_no}", answers)

        accepted = [job for bad, job in answers if not bad]
        refused = [job["error"] for bad, job in answers if bad]
        assert len(answers) == SERVERS * CALLS
        # Counted where the money is spent: the service's own tally and its jobs.
        stats = emulator.stats()
        assert stats["acceptedSubmissions"] == FITS, (round_no, stats, answers)
        assert len(accepted) == FITS, (round_no, answers)
        assert all(job["estimated_cost_usd"] == CLIP_USD for job in accepted), accepted
        for job in accepted:
            assert emulator.job(job["invocation_id"])["status"] in ("InProgress", "Completed")
        assert len(refused) == SERVERS * CALLS - FITS
        assert {error["budget"]["limit"] for error in refused} == {"session_max_cost"}, refused
        # Each refusal says what the session had left, never more than one more clip's
        # worth short: $0.08 once the four are in.
        assert all(error["budget"]["remaining_usd"] < CLIP_USD for error in refused), refused
