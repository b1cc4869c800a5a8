"""One account's quota shared by real ``novareel batch`` processes on one ledger,
counted on the emulator's side, on both backends (issue 20, item 4).

* Four batches at once against an emulator whose quota is 3 (``ThrottlingException``
  beyond it, as AWS answers): quota/throttle rejections stay at most 1 % of the
  submits (each process learning the quota alone made four times too many
  attempts), and every item is done.
* The same four batches against an emulator that would take 100 jobs, with the
  client's quota at 3 (``NOVAREEL_QUOTA``): the service never sees more than 3 jobs
  in progress at once (``maxInFlight``): the limit is the client's, shared.
* A process killed outright holds its slots only until its leases expire.
* On PostgreSQL, the same batch file started from two homes ("machines") at once:
  each item accepted once by the service (deterministic client tokens, one row per
  token), both runs end with every item done.

``bench/bench_quota.py`` measures the same set-up at full size (rejections per
submit, makespan against one process running every item).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import batch_command, process_env, run_together

from novareel.ledger import Ledger
from novareel.ledger.backend import LEDGER_URL_ENV

pytestmark = pytest.mark.slow

V11 = "amazon.nova-reel-v1:1"
SLOT = f"{V11}@us-east-1"
PROCESSES = 4
ITEMS = 5
QUOTA = 3
QUOTA_ERRORS = ("ThrottlingException", "ServiceQuotaExceededException")


def _batch_file(path: Path, name: str, items: int = ITEMS) -> Path:
    path.write_text(
        "".join(
            f"- id: item-{i}\n  prompt: {name} lantern {i} over a lake\n" for i in range(items)
        ),
        encoding="utf-8",
    )
    return path


def _quota_rejections(stats: dict[str, Any]) -> int:
    return sum(int(stats["rejections"].get(code, 0)) for code in QUOTA_ERRORS)


def _four_batches(tmp_path: Path, emulator: Any, **extra: str) -> dict[str, Any]:
    Ledger.open_default().close()  # migrated first: the race is the quota's
    home = tmp_path / "home"
    env = process_env(home, emulator.url, **extra)
    runs = [
        (batch_command(_batch_file(tmp_path / f"b{n}.yaml", f"batch {n}"), QUOTA), env)
        for n in range(PROCESSES)
    ]
    for code, out, err in run_together(runs, timeout=240):
        assert code == 0, err[-3000:]
        summary = json.loads(out)
        assert summary["done"] == ITEMS, summary
    stats: dict[str, Any] = emulator.stats()
    assert stats["acceptedSubmissions"] == PROCESSES * ITEMS
    with Ledger.open_default() as ledger:  # every slot given back at the end
        assert ledger.leases_in_use(endpoint=emulator.url, model_id=V11, region="us-east-1") == 0
    return stats


def test_four_batches_against_a_quota_of_three_are_not_throttled(
    emulator: Any, tmp_path: Path, backend: str
) -> None:
    emulator.configure(quotas={V11: QUOTA}, submit_rate=0, render="fast", speed=100)
    stats = _four_batches(tmp_path, emulator)  # the family's default quota: 3
    submits = stats["requests"].get("StartAsyncInvoke", 0)
    assert _quota_rejections(stats) <= 0.01 * submits, stats
    assert stats["maxInFlight"][SLOT] == QUOTA  # the quota was used, not left idle


def test_four_batches_never_have_more_jobs_in_flight_than_the_shared_quota(
    emulator: Any, tmp_path: Path, backend: str
) -> None:
    emulator.configure(quotas={V11: 100}, submit_rate=0, render="fast", speed=100)
    stats = _four_batches(tmp_path, emulator, NOVAREEL_QUOTA=str(QUOTA))
    assert stats["maxInFlight"][SLOT] <= QUOTA, stats
    assert _quota_rejections(stats) == 0


HOLDER = textwrap.dedent(
    """
    import sys, time
    from novareel.ledger import Ledger
    from novareel.limits.quota import SharedQuota
    quota = SharedQuota(Ledger.open_default(), endpoint="e", ttl=float(sys.argv[1]))
    for _ in range(2):
        assert quota.try_acquire("amazon.nova-reel-v1:1", "us-east-1") is not None
    print("held", flush=True)
    time.sleep(600)
    """
)


def test_a_killed_process_frees_its_slots_when_its_leases_expire(
    backend: str, tmp_path: Path
) -> None:
    """A real process takes 2 slots of 3 and renews them; while it lives they count
    (past several TTLs), and once it is killed (SIGKILL: no clean-up runs) they
    expire, so the others get the whole quota back."""
    Ledger.open_default().close()
    slot = {"endpoint": "e", "model_id": V11, "region": "us-east-1"}
    ttl = 1.0
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ttl)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with Ledger.open_default() as ledger:
            time.sleep(3 * ttl)  # alive: renewed, still counted
            assert ledger.leases_in_use(**slot) == 2
            assert ledger.acquire_lease(**slot, holder="me", quota=QUOTA) is not None
            assert ledger.acquire_lease(**slot, holder="me", quota=QUOTA) is None
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            time.sleep(ttl + 0.5)
            assert ledger.leases_in_use(**slot) == 1  # only mine (it has 60 s)
            assert ledger.acquire_lease(**slot, holder="me", quota=QUOTA) is not None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_one_batch_file_from_two_machines_sends_each_item_once(
    emulator: Any, tmp_path: Path, pg_url: str
) -> None:
    """Two NOVAREEL_HOMEs (two "machines") run the same batch file at once on one
    PostgreSQL ledger: the items' client tokens are deterministic (the batch's
    identity, the item, the attempt), so whichever process sends an item first, the
    other finds its row or is answered with the same job: one accepted job per item."""
    emulator.configure(quotas={V11: QUOTA}, submit_rate=0, render="fast", speed=100)
    Ledger(pg_url).close()
    batch = _batch_file(tmp_path / "shared.yaml", "shared", items=6)
    runs = [
        (
            batch_command(batch, QUOTA),
            process_env(tmp_path / machine, emulator.url, **{LEDGER_URL_ENV: pg_url}),
        )
        for machine in ("machine-a", "machine-b")
    ]
    for code, out, err in run_together(runs, timeout=240):
        assert code == 0, err[-3000:]
        assert json.loads(out)["done"] == 6
    stats = emulator.stats()
    assert stats["acceptedSubmissions"] == 6, stats
    with Ledger(pg_url) as ledger:
        jobs = ledger.batch_jobs(ledger.list_batches()[0].id)
        assert sorted(j.batch_item for j in jobs) == [f"item-{i}" for i in range(6)]
