"""One account's concurrency quota, shared by every process on one ledger.

Why: an AWS account has ONE quota of jobs in flight per model and region (3 for Nova
Reel 1.1 by default), whatever number of processes, CI runners or machines submit
with it. Each batch learning the limit on its own (AIMD on throttling answers) makes
four batches at once a throttling storm. Here the jobs in flight are counted where
every such process already looks: the ledger (:mod:`novareel.ledger.leases`), as
leases on slots, taken before a submit and given back when the job ends.

The quota per model: ``NOVAREEL_QUOTA`` (``10``: every model; ``nova-reel=10,ray=2``:
per model, ids or aliases; ``5,ray=2``: both; ``off``: no sharing, each process on
its own), else ``[quota]`` in ``config.toml`` (``default = 10``, ``"luma.ray-v2:0" =
2``, ``shared = false``), else the model family's documented default
(``ModelInfo.concurrency``). The environment wins over the file.

:class:`SharedQuota` is one process's holder: its id, the leases it holds, and a
daemon thread renewing them every third of their TTL, so a process blocked in a slow
call keeps its slots, and a dead one frees them when they expire.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import InvalidRequestError, LedgerError, Problem
from novareel.ledger.leases import LEASE_TTL_SECONDS
from novareel.models import all_models, find_model

if TYPE_CHECKING:
    from novareel.ledger import Ledger

__all__ = ["QUOTA_ENV", "QuotaSettings", "SharedQuota", "quota_settings"]

log = logging.getLogger("novareel")

QUOTA_ENV = "NOVAREEL_QUOTA"
_OFF = ("off", "false", "no", "none")
_ENV_LIMIT = "N | MODEL=N,... | N,MODEL=N,... | off (N a whole number, 1 or more)"


@dataclass(frozen=True)
class QuotaSettings:
    """Where the quota of each model comes from (configured, else the family's)."""

    shared: bool = True
    default: int | None = None
    per_model: Mapping[str, int] = field(default_factory=dict)
    #: where each configured value was read (a variable, or file [quota] key)
    sources: Mapping[str, str] = field(default_factory=dict)

    def quota(self, model_id: str) -> int:
        """The account's jobs in flight at most for ``model_id`` (in one region)."""
        if model_id in self.per_model:
            return self.per_model[model_id]
        if self.default is not None:
            return self.default
        model = find_model(model_id)
        return model.info.concurrency if model is not None else 3

    def source(self, model_id: str) -> str:
        """Where :meth:`quota` came from, for a notice."""
        if model_id in self.per_model:
            return self.sources.get(model_id, QUOTA_ENV)
        if self.default is not None:
            return self.sources.get("default", QUOTA_ENV)
        return "the model's default quota"


def _count(value: Any, *, field: str, text: bool = True) -> int:
    """A quota: a whole number, 1 or more (``text=False``: a TOML number, not "3")."""
    if isinstance(value, bool) or not isinstance(value, (int, str) if text else int):
        raise InvalidRequestError(
            Problem(field, f"{value!r} is not a whole number", value=value, limit=_ENV_LIMIT)
        )
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidRequestError(
            Problem(field, f"{value!r} is not a whole number", value=value, limit=_ENV_LIMIT)
        ) from None
    if number < 1:
        raise InvalidRequestError(
            Problem(field, f"{number} is below 1", value=value, limit="1 or more")
        )
    return number


def _model_id(name: str, *, field: str) -> str:
    model = find_model(name.strip())
    if model is None:
        names = " | ".join(m.model_id for m in all_models())
        raise InvalidRequestError(
            Problem(field, f"{name.strip()!r} is not a known model", value=name, limit=names)
        )
    return model.model_id


def _from_env(raw: str) -> QuotaSettings:
    text = raw.strip()
    if text.lower() in _OFF:
        return QuotaSettings(shared=False, sources={"shared": QUOTA_ENV})
    default: int | None = None
    per_model: dict[str, int] = {}
    for part in (p for p in text.split(",") if p.strip()):
        if "=" in part:
            name, _, value = part.partition("=")
            model_id = _model_id(name, field=QUOTA_ENV)
            per_model[model_id] = _count(value, field=f"{QUOTA_ENV} ({name.strip()})")
        else:
            default = _count(part, field=QUOTA_ENV)
    sources = {k: QUOTA_ENV for k in [*per_model, "default"]}
    return QuotaSettings(default=default, per_model=per_model, sources=sources)


def _from_file(path: Path) -> QuotaSettings:
    from novareel.settings.config import read_table, true_or_false

    names = ["default", "shared"]
    for model in all_models():
        names += [model.model_id, *model.info.aliases]
    table = read_table(path, "quota", names, docs="docs/ledger.md")
    where = f"{path} [quota]"
    shared = true_or_false(table.pop("shared", True), field=f"{where} shared")
    default = None
    if "default" in table:
        default = _count(table.pop("default"), field=f"{where} default", text=False)
    per_model = {
        _model_id(k, field=f"{where} {k}"): _count(v, field=f"{where} {k}", text=False)
        for k, v in table.items()
    }
    sources = {k: f"{where} {k}" for k in per_model}
    sources["default"] = f"{where} default"
    return QuotaSettings(shared=shared, default=default, per_model=per_model, sources=sources)


def quota_settings(
    environ: Mapping[str, str] | None = None, path: Path | None = None
) -> QuotaSettings:
    """The quota settings: ``NOVAREEL_QUOTA`` when set, else ``[quota]`` in
    ``config.toml``, else every model's documented default. A bad value raises
    :class:`InvalidRequestError` naming the variable or key (before anything is sent).
    """
    env = os.environ if environ is None else environ
    raw = env.get(QUOTA_ENV, "")
    if raw.strip():
        return _from_env(raw)
    from novareel.settings.config import config_path

    return _from_file(path if path is not None else config_path())


class SharedQuota:
    """One process's share of the account's quota, through ``ledger``'s leases.

    ``endpoint`` is the runtime endpoint the jobs go to (None for AWS): an emulator
    and an AWS account are different quotas. Leases are renewed every ``ttl / 3``
    seconds by a daemon thread, started with the first lease and stopped by
    :meth:`close`.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        endpoint: str | None,
        settings: QuotaSettings | None = None,
        ttl: float = LEASE_TTL_SECONDS,
    ) -> None:
        self.ledger = ledger
        self.endpoint = endpoint or ""
        self.settings = settings if settings is not None else quota_settings()
        self.ttl = ttl
        origin = getattr(ledger, "origin", "novareel")
        self.holder = f"{origin}:{os.getpid()}:{secrets.token_hex(4)}"
        self.held: set[int] = set()
        #: the lease of each job (its client token) taken through this holder
        self.items: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def quota(self, model_id: str) -> int:
        return self.settings.quota(model_id)

    def try_acquire(self, model_id: str, region: str, item: str | None = None) -> int | None:
        """A lease on one slot of (model, region), or None while the quota is full."""
        return self._acquire(model_id, region, item, force=False)

    def adopt(self, model_id: str, region: str, item: str | None = None) -> int:
        """A lease for a job already running (found again by a resumed run): taken
        whatever the count, since the job occupies its slot on the service anyway."""
        lease = self._acquire(model_id, region, item, force=True)
        assert lease is not None
        return lease

    def _acquire(self, model_id: str, region: str, item: str | None, *, force: bool) -> int | None:
        if not force and item is not None:
            mine = self.items.get(item)
            if mine is not None and mine in self.held:
                # This holder already holds the job's slot (a batch takes it, then the
                # submit path asks again for the same token): the ledger would answer
                # with this very lease, after a write transaction of four statements
                # (issue 20: client CPU per job). It stays held and renewed until
                # released, exactly as when the ledger had just confirmed it.
                return mine
        lease = self.ledger.acquire_lease(
            endpoint=self.endpoint,
            model_id=model_id,
            region=region,
            holder=self.holder,
            quota=self.quota(model_id),
            item=item,
            ttl=self.ttl,
            force=force,
        )
        if lease is not None:
            self._held(lease)
            if item is not None:
                self.items[item] = lease
        return lease

    def wait_for_slot(
        self,
        model_id: str,
        region: str,
        item: str | None,
        *,
        timeout: float,
        interval: float,
        on_full: Callable[[str], None] | None = None,
        reap: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> int | None:
        """A lease on one slot of (model, region) for the job ``item``, waiting up to
        ``timeout`` seconds while the quota is full (looking again every
        ``interval``); None when none freed up in time. ``on_full`` hears once, the
        first time the quota is found full, what is being waited for. ``reap`` is
        asked each time the quota is full whether it freed a slot (the leases of jobs
        that ended without anyone seeing it: ``generate --no-wait`` on a fast
        endpoint); when it did, the lease is asked for again at once.

        Why here: a single job (``generate``, an MCP call) waits for its slot; a
        batch's loop asks :meth:`try_acquire` and goes on with other work. Both take
        the same lease, keyed by the job's token, so a job holds one slot whoever asks.
        """
        deadline = clock() + max(timeout, 0.0)
        told = False
        while True:
            lease = self.try_acquire(model_id, region, item)
            if lease is not None:
                return lease
            if reap is not None and reap():
                continue
            if on_full is not None and not told:
                told = True
                on_full(self.full_notice(model_id, region))
            if clock() + interval > deadline:
                return None
            sleep(interval)

    def full_notice(self, model_id: str, region: str) -> str:
        """What a job waiting for a slot is waiting for (a notice, and the error's text)."""
        return (
            f"the account's concurrency quota for {model_id} in {region} is full: "
            f"{self.quota(model_id)} job(s) in flight with every process sharing this "
            f"ledger (quota from {self.settings.source(model_id)}; raise it with "
            "NOVAREEL_QUOTA or [quota] in config.toml)"
        )

    def release_item(self, item: str) -> None:
        """The job ``item`` names ended (or was never sent): give back its slot, if
        this holder took one for it."""
        lease = self.items.pop(item, None)
        if lease is not None:
            self.release(lease)

    def release(self, lease: int) -> None:
        """Give a slot back (once: a lease already given back is not asked again)."""
        if lease not in self.held:
            return
        self.held.discard(lease)
        for item in [k for k, v in self.items.items() if v == lease]:
            self.items.pop(item, None)
        try:
            self.ledger.release_lease(lease)
        except LedgerError as exc:  # it expires on its own
            log.warning("could not give back quota lease %s: %s", lease, exc)

    def close(self) -> None:
        """Stop renewing, and hand over the leases still held (jobs still running:
        ``--no-wait``, a run stopped at its time limit): their jobs still occupy the
        slots on the service, so the leases keep counting until some process sees
        the jobs end (:meth:`~novareel.ledger.leases.JobLeases.hand_over_leases`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.held:
            try:
                self.ledger.hand_over_leases(self.holder)
            except LedgerError as exc:  # they expire within a TTL, as after a crash
                log.warning("could not hand over quota leases: %s", exc)
            self.held.clear()
            self.items.clear()

    def _held(self, lease: int) -> None:
        self.held.add(lease)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._renew, name="novareel-quota-leases", daemon=True
            )
            self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            if not self.held:
                continue
            try:
                self.ledger.renew_leases(self.holder, ttl=self.ttl)
            except LedgerError as exc:
                log.warning("could not renew quota leases: %s", exc)
