"""The account's concurrency quota as leases in the ledger (m012), on both backends:
a lease is granted only below the quota, across connections (processes); renewed
leases keep counting, expired ones do not; released slots are free again."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from novareel.foundation.errors import InvalidRequestError
from novareel.ledger import Ledger
from novareel.limits.quota import QUOTA_ENV, QuotaSettings, SharedQuota, quota_settings

V11 = "amazon.nova-reel-v1:1"
SLOT = {"endpoint": "http://127.0.0.1:1", "model_id": V11, "region": "us-east-1"}


def take(ledger: Ledger, holder: str, quota: int = 3, **kw: object) -> int | None:
    return ledger.acquire_lease(**SLOT, holder=holder, quota=quota, **kw)  # type: ignore[arg-type]


def test_leases_are_granted_only_below_the_quota_across_connections(ledger: Ledger) -> None:
    other = Ledger.open_default()  # another process's connection to the same ledger
    try:
        assert take(ledger, "a") is not None
        assert take(other, "b") is not None
        assert take(ledger, "a") is not None
        assert take(other, "b") is None  # 3 of 3 taken
        assert ledger.leases_in_use(**SLOT) == 3
        # another model, region or endpoint is another quota
        assert take(other, "b", **{}) is None
        assert other.acquire_lease(**{**SLOT, "region": "eu-west-1"}, holder="b", quota=3)
        assert other.acquire_lease(**{**SLOT, "endpoint": ""}, holder="b", quota=3)
    finally:
        other.close()


def test_a_released_slot_is_free_again(ledger: Ledger) -> None:
    leases = [take(ledger, "a", quota=2) for _ in range(2)]
    assert take(ledger, "b", quota=2) is None
    assert leases[0] is not None
    ledger.release_lease(leases[0])
    assert take(ledger, "b", quota=2) is not None


def test_an_unrenewed_lease_expires_and_a_renewed_one_does_not(ledger: Ledger) -> None:
    assert take(ledger, "dead", quota=2, ttl=0.3) is not None
    assert take(ledger, "alive", quota=2, ttl=0.3) is not None
    assert take(ledger, "new", quota=2) is None
    time.sleep(0.2)
    assert ledger.renew_leases("alive", ttl=5) == 1
    time.sleep(0.2)  # "dead" stopped renewing: its slot no longer counts
    assert ledger.leases_in_use(**SLOT) == 1
    assert take(ledger, "new", quota=2) is not None
    assert take(ledger, "new", quota=2) is None


def test_force_counts_a_running_job_whatever_the_quota(ledger: Ledger) -> None:
    assert take(ledger, "a", quota=1) is not None
    assert take(ledger, "resumed", quota=1, force=True) is not None
    assert ledger.leases_in_use(**SLOT) == 2
    assert take(ledger, "b", quota=1) is None


def test_threads_racing_for_slots_never_take_more_than_the_quota(backend: str) -> None:
    """Eight connections (one each, as eight processes) take slots at once, 20 tries
    each: the count of granted, unreleased leases never passes the quota."""
    Ledger.open_default().close()
    granted: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            with Ledger.open_default() as mine:
                start.wait()
                for _ in range(20):
                    lease = take(mine, f"w{n}", quota=3)
                    if lease is not None:
                        granted.append(lease)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(granted) == 3


def test_shared_quota_renews_in_the_background(ledger: Ledger) -> None:
    quota = SharedQuota(ledger, endpoint=SLOT["endpoint"], ttl=0.6)
    try:
        lease = quota.try_acquire(V11, "us-east-1", "item-1")
        assert lease is not None
        time.sleep(1.2)  # twice the TTL: only the renewals keep it
        assert ledger.leases_in_use(**SLOT) == 1
        quota.release(lease)
        assert ledger.leases_in_use(**SLOT) == 0
    finally:
        quota.close()


def test_a_slot_this_holder_holds_for_the_job_is_not_asked_for_again(ledger: Ledger) -> None:
    # Issue 20 (client CPU per job): a batch takes the item's slot, then the submit
    # path asks for the same token's slot. The second ask costs the ledger nothing
    # (it was a write transaction of 4 statements: BEGIN, the INSERT ... SELECT that
    # inserts nothing, the held-lease lookup, COMMIT), and still names the one lease.
    quota = SharedQuota(ledger, endpoint=SLOT["endpoint"])
    try:
        lease = quota.try_acquire(V11, "us-east-1", "item-1")
        assert lease is not None
        seen: list[str] = []
        ledger.conn.set_trace_callback(seen.append)
        try:
            again = quota.try_acquire(V11, "us-east-1", "item-1")
        finally:
            ledger.conn.set_trace_callback(None)
        assert (again, seen) == (lease, [])
        assert ledger.leases_in_use(**SLOT) == 1
        # given back, the job's next ask goes to the ledger (a new lease)
        quota.release_item("item-1")
        assert ledger.leases_in_use(**SLOT) == 0
        third = quota.try_acquire(V11, "us-east-1", "item-1")
        assert third is not None and third != lease
        assert ledger.leases_in_use(**SLOT) == 1
    finally:
        quota.close()


def test_quota_settings_from_the_environment_and_the_file(tmp_path: Path) -> None:
    assert quota_settings({}, tmp_path / "none.toml").quota(V11) == 3  # the family's
    assert quota_settings({}, tmp_path / "none.toml").quota("amazon.nova-reel-v1:0") == 10
    mixed = quota_settings({QUOTA_ENV: "5, nova-reel=2"}, tmp_path / "none.toml")
    assert mixed.quota(V11) == 2 and mixed.quota("luma.ray-v2:0") == 5
    assert quota_settings({QUOTA_ENV: "off"}, tmp_path / "x.toml").shared is False
    config = tmp_path / "config.toml"
    config.write_text('[quota]\ndefault = 4\n"luma.ray-v2:0" = 1\n', encoding="utf-8")
    filed = quota_settings({}, config)
    assert filed.quota(V11) == 4 and filed.quota("luma.ray-v2:0") == 1
    assert quota_settings({QUOTA_ENV: "7"}, config).quota("luma.ray-v2:0") == 7


@pytest.mark.parametrize("value", ["0", "three", "nova-reel=", "no-such-model=3"])
def test_a_bad_quota_names_the_variable_and_the_value(value: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        quota_settings({QUOTA_ENV: value}, tmp_path / "none.toml")
    assert QUOTA_ENV in str(caught.value) + repr(caught.value.problems)


def test_a_bad_quota_in_the_file_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[quota]\ndefault = "3"\n', encoding="utf-8")
    with pytest.raises(InvalidRequestError) as caught:
        quota_settings({}, config)
    assert "[quota] default" in str(caught.value) + repr(caught.value.problems)


def test_a_process_that_stops_hands_its_running_jobs_leases_over(ledger: Ledger) -> None:
    """``generate --no-wait`` ends while its job still runs: the job's lease must keep
    counting after the process's renewals stop (before, it expired a TTL later and a
    second process sent a job into a slot the service still counted as taken), until
    some process sees the job end and frees it by the job's token."""
    settings = QuotaSettings(default=1)
    first = SharedQuota(ledger, endpoint=SLOT["endpoint"], settings=settings, ttl=0.3)
    assert first.try_acquire(V11, "us-east-1", "no-wait-job") is not None
    first.close()  # the command ends; its job runs on
    time.sleep(0.9)  # three of its TTLs: nobody renews it now
    second = SharedQuota(ledger, endpoint=SLOT["endpoint"], settings=settings, ttl=0.3)
    try:
        assert second.try_acquire(V11, "us-east-1", "next-job") is None
        assert ledger.leases_in_use(**SLOT) == 1
        # Handed over: what a waiting submit (or a batch) looks at, and only that.
        assert ledger.lease_items(**SLOT, unwatched_only=True) == ["no-wait-job"]
        assert second.try_acquire(V11, "us-east-1", "next-job") is None
        # Some process sees the job end: the slot is free for the next one.
        ledger.release_item_lease(SLOT["endpoint"], "no-wait-job")
        assert second.try_acquire(V11, "us-east-1", "next-job") is not None
        assert ledger.lease_items(**SLOT, unwatched_only=True) == []
    finally:
        second.close()
    # The waiting job's lease is handed over in turn (it was not given back).
    assert ledger.lease_items(**SLOT, unwatched_only=True) == ["next-job"]


def test_one_job_holds_one_slot_whoever_asks(ledger: Ledger) -> None:
    """The lease names the job (its client token): a second ask for the same job gets
    the same lease (two machines running one batch file), and a resumed run's forced
    ask takes over the lease its stopped run left instead of counting the job twice."""
    first = take(ledger, "run-1", item="token-a")
    assert take(ledger, "machine-b", item="token-a") == first
    assert ledger.leases_in_use(**SLOT) == 1
    assert take(ledger, "run-2", item="token-a", force=True) == first
    assert ledger.renew_leases("run-2") == 1  # now the resumed run's to renew
    assert ledger.renew_leases("run-1") == 0
    assert ledger.leases_in_use(**SLOT) == 1
