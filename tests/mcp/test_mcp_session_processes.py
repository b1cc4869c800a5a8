"""One MCP session's ``--session-max-cost`` across processes, counted on the emulator's
side, on both backends (issue 20, item 1: "same for the MCP server's session caps
across processes").

Each round starts ``PROCESSES`` real Python processes together, each an MCP server's
tools (:class:`~novareel.mcp_server.tools.AgentTools`, what ``novareel mcp`` serves)
with the same session (``NOVAREEL_MCP_SESSION``) and a ``$2.00`` session cap, each
making ``CALLS`` concurrent ``generate_video`` calls (threads, as the server runs its
tools) with distinct prompts, against one emulator and one ledger. $0.48 clips: four
fit ($1.92), a fifth would make $2.40. What the service accepted
(``acceptedSubmissions`` of ``/_emulator/stats``, each job looked up with
``GET /_emulator/jobs/<id>``) must be exactly four per round: never more (the cap
holds for the session, not per process or per thread), never fewer (the cap is
used, not refused wholesale).

Before the session lived in the ledger, each process kept its own tally: every one of
them accepted four jobs (sixteen per round, $7.68 on a $2.00 cap).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import round_env

pytestmark = pytest.mark.slow

V11 = "amazon.nova-reel-v1:1"
CLIP_USD = 0.48
CAP_USD = 2.00
PROCESSES = 4
CALLS = 4
ROUNDS = 3
#: 4 clips ($1.92) fit the cap; a 5th would make $2.40
FITS = int(CAP_USD // CLIP_USD)

#: One server's tools in one process: CALLS generate_video calls at once.
SERVER = textwrap.dedent(
    """
    import json, sys, threading
    from pathlib import Path
    from novareel.foundation.errors import BudgetExceededError
    from novareel.mcp_server.tools import AgentTools, ServerSettings, VideoSpec

    root, name, calls, cap, model = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), *sys.argv[4:]
    tools = AgentTools(ServerSettings(root=root, session_max_cost_usd=cap, local=True))
    tools.start()
    barrier = threading.Barrier(calls)
    accepted, refused, errors = [], [], []

    def call(number):
        spec = VideoSpec(f"{name} lantern {number} over a lake", model_id=model, duration=6)
        barrier.wait()
        try:
            job = tools.generate_video(spec, wait=False)
        except BudgetExceededError as exc:
            refused.append([exc.limit, exc.message])
        except Exception as exc:  # reported, and the test fails on it
            import traceback

            errors.append(traceback.format_exc())
        else:
            accepted.append([job["invocation_arn"], job["estimated_cost_usd"]])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tools.close()
    print(json.dumps({"accepted": accepted, "refused": refused, "errors": errors}))
    """
)


def session_round(
    emulator: Any,
    tmp_path: Path,
    backend: str,
    new_target: Callable[[], Any],
    round_no: int,
    **extra: str,
) -> dict[str, str]:
    """One round's emulator (reset; a quota and a submit rate that never refuse, so
    only the session's cap may) and environment (a fresh ledger on ``backend``)."""
    emulator.reset()
    emulator.configure(quotas={V11: 200}, submit_rate=0, render="fast")
    return round_env(
        emulator.url,
        tmp_path / f"home-{round_no}",
        backend,
        new_target,
        NOVAREEL_QUOTA="off",  # the quota's leases are not what this measures
        **extra,
    )


def test_one_session_never_passes_its_cap_across_processes_and_threads(
    emulator: Any, tmp_path: Path, backend: str, new_target: Callable[[], Any]
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for round_no in range(ROUNDS):
        env = session_round(
            emulator, tmp_path, backend, new_target, round_no,
            NOVAREEL_MCP_SESSION=f"agent-round-{round_no}",
        )  # fmt: skip
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    SERVER,
                    str(root),
                    f"r{round_no}p{p}",
                    str(CALLS),
                    f"{CAP_USD:.2f}",
                    V11,
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for p in range(PROCESSES)
        ]
        reports = []
        for process in processes:
            out, err = process.communicate(timeout=180)
            assert process.returncode == 0, err[-2000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
        assert not [e for r in reports for e in r["errors"]], reports
        accepted = [job for r in reports for job in r["accepted"]]
        refused = [limit for r in reports for limit, _message in r["refused"]]
        assert all(cost == CLIP_USD for _arn, cost in accepted), accepted
        # Counted where the money is spent: the service's own tally and its jobs.
        stats = emulator.stats()
        assert stats["acceptedSubmissions"] == FITS, (round_no, stats, reports)
        for arn, _cost in accepted:
            assert emulator.job(arn.rsplit("/", 1)[-1])["status"] in ("InProgress", "Completed")
        assert len(accepted) == FITS, (round_no, reports)
        assert set(refused) == {"session_max_cost"}, refused
        assert len(refused) == PROCESSES * CALLS - FITS
