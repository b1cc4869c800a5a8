"""The batch runner: every item of a checked batch file sent, waited for, downloaded.

:class:`BatchRunner` drives each item through a small state machine::

    pending -> submitting -> in flight -> downloading -> done
                   |             |
                   |             +-> failed (retryable failureType) -> pending (attempt + 1)
                   +-> (quota / throttled) -> pending, same token
                   +-> rejected by the service -> failed (the next run sends it again:
                                                  nothing was accepted or charged)

**The ledger is the only state.** On start, each item's latest attempt in the ledger
decides what to do: nothing (done and downloaded), download it, wait for it, send it
(again with its recorded token), or retry it as a new linked attempt. **An item edited
since it was sent is reported, not resubmitted** (its content hash no longer matches
the recorded request): silently paying for a different video under the same name would
be worse than asking. ``resubmit_changed=True`` (``--resubmit-changed``) sends it as a
new linked attempt instead.

Concurrency follows AIMD: the limit starts at ``max_concurrent``, halves (never below
1) when the service answers ServiceQuotaExceeded or still throttles after botocore's
own retries, and grows by one after as many successful submits as the current limit.
A quota answer means "no slot now": the item goes back to the queue with the same
token, and the next submit waits for a job to finish or a back-off to pass.

**The account's quota is shared** (:mod:`novareel.limits.quota`): before each submit the
runner takes a lease on one slot of the item's model and region from the ledger,
which every process on the same ledger (on PostgreSQL, every machine) counts, and
gives it back when the job ends or the submit is refused. While the slots are taken
the item waits (a cheap read of the count, every tenth of the poll interval, at
most 0.5 s apart), so four batches at once keep the account at its quota instead of
learning it from throttles, and a slot another process frees is taken a small
fraction of a job's length later.

In-flight jobs are polled with one ListAsyncInvokes(statusEquals=InProgress) per tick
instead of one GetAsyncInvoke per job; only jobs missing from that list are asked
about one by one (which also reads their status file to explain a failure). The tick
follows the jobs' expected ends (the single-job poll schedule), so a slot that frees
up is refilled within a few percent of a job's length.

Budgets (``docs/budgets.md``) are checked before every submit. When the next submit
would cross the standing daily or monthly budget (or the ``VideoGenerator``'s
``max_cost_usd``), the runner stops submitting: the jobs already sent are waited for
and downloaded as usual, the rest stay pending in the ledger, and the summary says
why (``budget_stop``). A rerun after the limit is raised (or the day rolls over)
continues exactly once. With a ``max_cost_usd``, a run whose remaining items would
cost more than the cap as a whole is refused before anything is sent.

Time is injected (``clock``, ``sleep`` and ``now``, as in :mod:`novareel.foundation.waiting`), so
the runner's timing (the run's ``timeout``, back-offs, the poll gap) is tested with a
fake clock and no real waiting (``tests/batch/test_batch_clock.py``).

This module is longer than the package's others (about 650 lines) on purpose:
:class:`BatchRunner` is ONE state machine, and every transition stays in one class
beside the loop that makes it, where a reader can follow an item from pending to done.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.batch.file import BatchFile, BatchItem, load_batch
from novareel.batch.identity import client_token_for, content_hash
from novareel.batch.outcomes import BatchEvent, BatchSummary, ItemOutcome, ItemPhase
from novareel.batch.state import (
    MAX_DOWNLOAD_ERRORS,
    MAX_SUBMIT_ERRORS,
    ConcurrencyLimit,
    ItemState,
    downloaded,
    retryable,
)
from novareel.foundation.errors import (
    AwsError,
    BudgetExceededError,
    DownloadError,
    EndpointError,
    InvalidRequestError,
    LedgerError,
    Problem,
    QuotaExceededError,
    ServiceUnavailableError,
    ServiceValidationError,
    ThrottledError,
)
from novareel.foundation.results import Failure, JobResult, advice_for
from novareel.foundation.status import JobStatus
from novareel.foundation.waiting import PollSchedule
from novareel.limits.quota import SharedQuota, quota_settings

if TYPE_CHECKING:
    from novareel.jobs import VideoGenerator
    from novareel.ledger import JobRecord, Ledger

log = logging.getLogger("novareel")

__all__ = [
    "BatchRunner",
    "run_batch",
]


def _utc_now() -> datetime:
    """The wall clock job ages are measured with (submit times are UTC)."""
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------------------- runner


class BatchRunner:
    """Runs a checked :class:`BatchFile` to the end, resuming whatever the ledger knows.

    ``api`` must have a ledger (the ledger is what makes the run resumable).
    ``on_event`` receives a :class:`BatchEvent` for every change of phase, from the
    runner's thread or a download thread (one at a time). ``timeout`` bounds the
    run's wall time; jobs still running then keep running and a rerun picks them up.
    ``check_video=False`` skips decoding each downloaded video to compare it with the
    request (worth it for large batches on a slow machine).

    Time is injected, as in :mod:`novareel.foundation.waiting`, so tests drive the runner with a
    fake clock and never sleep: ``clock`` (monotonic seconds) times the run's
    ``timeout``, back-offs and the poll gap; ``sleep(seconds)`` is the pause between
    two steps of the loop (by default a wait on the runner's wake-up event, which a
    finished download sets to end the pause early); ``now`` is the wall clock that
    job ages are measured with against their submit times.
    """

    def __init__(
        self,
        api: VideoGenerator,
        batch: BatchFile,
        *,
        out_dir: str | Path | None = ".",
        max_concurrent: int = 3,
        max_retries: int = 2,
        timeout: float | None = None,
        poll_interval: float | None = None,
        resubmit_changed: bool = False,
        download_workers: int = 2,
        check_video: bool = True,
        on_event: Callable[[BatchEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        now: Callable[[], datetime] = _utc_now,
        shared_quota: SharedQuota | bool = True,
    ) -> None:
        if api.ledger is None:
            raise LedgerError(
                "a batch needs the job ledger: it is what makes a run resumable",
                hint="Create the VideoGenerator without ledger=False.",
            )
        if max_retries < 0:
            raise InvalidRequestError(
                Problem("max_retries", "must be 0 or more", value=max_retries)
            )
        if max_concurrent < 1:
            raise InvalidRequestError(
                Problem("max_concurrent", "must be at least 1", value=max_concurrent)
            )
        self.api = api
        self.ledger: Ledger = api.ledger
        self.batch = batch
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.max_retries = max_retries
        self.timeout = timeout
        self.resubmit_changed = resubmit_changed
        self.check_video = check_video
        self.limit = ConcurrencyLimit(max_concurrent)
        scale = max(api.time_scale, 1e-6)
        # The longest gap between two list calls; with no fixed interval, the gap
        # shrinks around the moment an in-flight job is expected to end (_next_tick).
        self._fixed_poll = poll_interval is not None
        self.poll_interval = (
            poll_interval if poll_interval is not None else min(15.0, max(0.02, 10.0 / scale))
        )
        self._backoff_base = min(30.0, max(0.02, 5.0 / scale))
        self._backoff = self._backoff_base
        self._slot_free_at = 0.0
        self._next_poll = 0.0
        self._on_event = on_event
        self._event_lock = threading.Lock()
        self._wake = threading.Event()
        self._clock = clock
        self._sleep = sleep if sleep is not None else self._wake.wait
        self._now = now
        self._download_workers = max(1, download_workers)
        self._downloads: dict[int, Future[JobResult]] = {}
        self._queue: deque[ItemState] = deque()
        # The bookkeeping that keeps every step O(1) in the number of items: the
        # states in each phase (index -> state, in the order they entered it) and the
        # downloads due but not started. Only _set_phase moves a state between phases.
        self._phases: dict[ItemPhase, dict[int, ItemState]] = {p: {} for p in ItemPhase}
        self._to_download: dict[int, ItemState] = {}
        self.batch_id = 0
        self.states: list[ItemState] = []
        self.notices: list[str] = []
        #: set when a budget refused a submit: nothing more is sent in this run
        self.budget_stop: BudgetExceededError | None = None
        # The account's quota, shared through the ledger's leases (None: not shared).
        self.quota: SharedQuota | None
        if isinstance(shared_quota, SharedQuota):
            self.quota = shared_quota
        elif shared_quota:
            settings = quota_settings()  # a bad NOVAREEL_QUOTA stops here, nothing sent
            endpoint = getattr(api.client, "runtime_endpoint", None)
            shared = SharedQuota(self.ledger, endpoint=endpoint, settings=settings)
            self.quota = shared if settings.shared else None
        else:
            self.quota = None
        # VideoGenerator.submit takes its lease through the same holder: the item's own,
        # taken in _take_slot (one job, one slot), or none when not shared.
        api.quota = self.quota
        #: lease id held per item (state index) while it is submitted or in flight
        self._leases: dict[int, int] = {}
        # How soon a waiting item looks at the shared quota again. A slot another
        # process frees is only seen at the next look, so each hand-off idles a slot
        # up to this long: a whole poll interval (0.5 s at the emulator's speed 20,
        # ~10 % of a job there) made four processes 1.11x slower than one (benchmark
        # 12). A tenth of it: one read of the count each time (~0.1 ms), after a
        # refusal only.
        self._lease_wait = max(0.005, min(self.poll_interval / 10, 0.5))
        #: when the quota is full, the next look at the handed-over leases' jobs
        self._unwatched_look_at = 0.0

    # -- public --

    def run(self) -> BatchSummary:
        """Send, wait for and download every item; return the summary.

        Raises only for what no item can get past (access denied, an unusable ledger,
        Ctrl-C); everything per item ends in the summary.
        """
        # An explicit region must offer every item's model, else nothing is sent.
        self.api.check_regions(item.request.model_id for item in self.batch.items)
        self._resume()
        self._check_cap()
        started = self._clock()
        timed_out = False
        executor = ThreadPoolExecutor(self._download_workers, thread_name_prefix="novareel-dl")
        clean = False
        try:
            self._adopt_slots()
            while True:
                self._collect_downloads()
                self._poll()
                self._start_downloads(executor)
                self._submit_some()
                if self._unsettled() == 0:
                    break
                if self.timeout is not None and self._clock() - started > self.timeout:
                    timed_out = True
                    break
                self._sleep(self._sleep_time())
                self._wake.clear()
            clean = True
        finally:
            executor.shutdown(wait=clean, cancel_futures=True)
            self._close_quota()
        return self.summary(timed_out=timed_out)

    def summary(self, *, timed_out: bool = False) -> BatchSummary:
        """Where every item stands, with costs from the ledger."""
        keys = {s.item.key for s in self.states}
        jobs = [j for j in self.ledger.batch_jobs(self.batch_id) if j.batch_item in keys]
        cost = sum(j.estimated_cost_usd or 0.0 for j in jobs if j.status == JobStatus.COMPLETED)
        submitted = sum(j.estimated_cost_usd or 0.0 for j in jobs if j.invocation_arn)
        verdicts = {j.id: j.qa for j in jobs}
        outcomes = tuple(
            ItemOutcome(
                number=s.item.number,
                key=s.item.key,
                phase=s.phase,
                attempts=s.attempt if s.job_id is not None else s.attempt - 1,
                job_id=s.job_id,
                invocation_id=s.invocation_id,
                task_type=str(s.item.request.task_type),
                estimated_cost_usd=s.item.estimated_cost_usd,
                local_dir=s.local_dir,
                local_files=s.local_files,
                failure=s.failure,
                message=s.message,
                notices=s.item.notices,
                qa=verdicts.get(s.job_id) if s.job_id is not None else None,
            )
            for s in self.states
        )
        notices = list(self.notices)
        stop = self.budget_stop
        if stop is not None:
            left = len(self._phases[ItemPhase.PENDING])
            notices.append(
                f"stopped submitting at the {stop.limit.replace('_', ' ')} limit: "
                f"{stop.message}. {left} item(s) not sent stay pending; "
                f"{stop.hint or ''} Then run the same command again to continue "
                "(nothing is sent twice)."
            )
        if timed_out:
            notices.append(
                "stopped at the time limit; jobs still running keep running: run the same "
                "command again to continue"
            )
        return BatchSummary(
            batch_id=self.batch_id,
            file=str(self.batch.path),
            items=outcomes,
            cost_usd=round(cost, 2),
            submitted_cost_usd=round(submitted, 2),
            concurrency_limit=self.limit.limit,
            timed_out=timed_out,
            notices=tuple(notices),
            budget_stop=None if stop is None else {"message": stop.message, **stop.to_dict()},
        )

    # -- resume --

    def _resume(self) -> None:
        """Decide each item's starting phase from its latest attempt in the ledger."""
        record = self.ledger.get_or_create_batch(
            identity=self.batch.identity,
            file_path=str(self.batch.path),
            defaults=self.batch.defaults,
        )
        self.batch_id = record.id
        # Every item's latest attempt from ONE read of the batch's jobs (by item, then
        # attempt: the last one per item wins), not one query per item.
        latest = {job.batch_item: job for job in self.ledger.batch_jobs(self.batch_id)}
        self.states = [self._state_for(item, latest.get(item.key)) for item in self.batch.items]
        self._track(self.states)
        for state in self.states:
            self._emit(state)

    def _track(self, states: Sequence[ItemState]) -> None:
        """Start the per-phase bookkeeping from the phases the ledger decided."""
        self._phases = {p: {} for p in ItemPhase}
        self._to_download = {}
        self._queue = deque()
        for index, state in enumerate(states):
            state.index = index
            self._phases[state.phase][index] = state
            if state.phase is ItemPhase.PENDING:
                self._queue.append(state)
            elif state.phase is ItemPhase.DOWNLOADING:
                self._to_download[index] = state

    def _set_phase(self, state: ItemState, phase: ItemPhase) -> None:
        """The one place an item changes phase: the per-phase sets, the queue of items
        to send and the downloads to start follow in O(1), so no step of the loop has
        to scan every item (a scan per submit made a 10,000-item batch quadratic).

        An item coming back to ``PENDING`` goes to the front of the queue (a retry or
        a pushed-back submit goes before items never tried).
        """
        old = state.phase
        state.phase = phase
        if state.index < 0 or old is phase:
            return  # still deciding its starting phase (_resume), or no change
        del self._phases[old][state.index]
        self._phases[phase][state.index] = state
        if old is ItemPhase.DOWNLOADING:
            self._to_download.pop(state.index, None)
        if phase is ItemPhase.DOWNLOADING:
            self._to_download[state.index] = state
        elif phase is ItemPhase.PENDING:
            self._queue.appendleft(state)

    def phase_counts(self) -> dict[ItemPhase, int]:
        """How many items are in each phase now (O(1) per phase)."""
        return {phase: len(states) for phase, states in self._phases.items()}

    def _state_for(self, item: BatchItem, latest: JobRecord | None) -> ItemState:
        state = ItemState(item=item)
        if latest is None:
            state.token = client_token_for(self.batch.identity, item.key, 1, item.content_hash)
            return state
        recorded = content_hash(latest.request, latest.output_uri or "", latest.tags)
        if recorded != item.content_hash:
            if self.resubmit_changed:
                self._next_attempt(state, latest, "changed since the last run; sent again")
            else:
                self._set_phase(state, ItemPhase.CHANGED)
                state.job_id = latest.id
                state.attempt = latest.attempt
                state.message = (
                    f"changed since it was sent as job {latest.id}; not resubmitted "
                    "(give it a new id, or run with --resubmit-changed)"
                )
            return state
        self._adopt_record(state, latest)
        if latest.status == JobStatus.SUBMITTING or latest.not_sent:
            # Sent (maybe) without an answer, or refused before sending (no
            # credentials): send again with the SAME token.
            self._set_phase(state, ItemPhase.PENDING)
            state.token = latest.client_token
            state.retry_of = latest.retry_of
        elif latest.status == JobStatus.IN_PROGRESS:
            self._set_phase(state, ItemPhase.IN_FLIGHT)
        elif latest.status == JobStatus.COMPLETED:
            if not self._downloads_item(state) or downloaded(latest):
                self._set_phase(state, ItemPhase.DONE)
                state.local_files = tuple(latest.local_files)
                state.local_dir = (
                    str(Path(latest.local_files[0]).parent) if latest.local_files else None
                )
            else:
                self._set_phase(state, ItemPhase.DOWNLOADING)
        elif latest.status == JobStatus.FAILED:
            self._after_failure(state, latest, latest.failure)
        else:
            # Rejected at submit: the service accepted nothing and charged nothing, so a
            # refusal is not a result to keep. Its cause may be fixed by now (the bucket
            # created, access granted): this run sends it again as a new attempt, with a
            # new token (the refused one is spent), and if the cause is still there the
            # service says so again, for free.
            self._next_attempt(
                state, latest, "refused at submit last time (nothing was charged); sending again"
            )
        return state

    def _downloads_item(self, state: ItemState) -> bool:
        """Whether the runner downloads this item once it completes: not without an
        ``out_dir``, and not a storyboard's shot (``item.group``), which
        :mod:`novareel.running.shotboard` fetches straight into the storyboard's one folder
        (a download folder per shot would be left beside it)."""
        return self.out_dir is not None and state.item.group is None

    def _adopt_record(self, state: ItemState, record: JobRecord) -> None:
        state.attempt = record.attempt
        state.job_id = record.id
        state.invocation_arn = record.invocation_arn
        state.submitted_at = record.submit_time
        state.token = record.client_token

    def _next_attempt(self, state: ItemState, previous: JobRecord, message: str) -> None:
        self._set_phase(state, ItemPhase.PENDING)
        state.attempt = previous.attempt + 1
        state.retry_of = previous.id
        state.job_id = None
        state.invocation_arn = None
        state.failure = None
        state.token = client_token_for(
            self.batch.identity, state.item.key, state.attempt, state.item.content_hash
        )
        state.message = message

    def _after_failure(self, state: ItemState, record: JobRecord, failure: Failure | None) -> None:
        """A Failed job: retry it as a new linked attempt, or give the item up."""
        if retryable(failure, record.model_id) and record.attempt - 1 < self.max_retries:
            assert failure is not None
            self._next_attempt(
                state, record, f"attempt {record.attempt} failed ({failure.type}); retrying"
            )
            return
        self._set_phase(state, ItemPhase.FAILED)
        state.failure = failure
        if retryable(failure, record.model_id):
            state.message = f"failed after {record.attempt} attempts"
        else:
            state.message = "not retried" if failure and failure.type else "failed"

    # -- the loop --

    def _next_tick(self) -> float:
        """Seconds until the next ListAsyncInvokes.

        The soonest :class:`~novareel.foundation.waiting.PollSchedule` delay over the jobs in
        flight, each at its own age: sparse while none can be done yet, dense around
        the moment one should end, so a freed slot is refilled within a few percent of
        a job's length instead of up to a whole fixed interval later (measured in
        bench/bench_batch.py). Never longer than ``poll_interval``.
        """
        if self._fixed_poll:
            return self.poll_interval
        now = self._now()
        delays = [self.poll_interval]
        for state in self._phases[ItemPhase.IN_FLIGHT].values():
            if state.submitted_at is None:
                continue
            request = state.item.request
            schedule = PollSchedule.for_job(
                self.api.expectation(request.model_id, request.shape).seconds,
                time_scale=self.api.time_scale,
            )
            delays.append(schedule.next_delay((now - state.submitted_at).total_seconds()))
        return min(delays)

    def _sleep_time(self) -> float:
        now = self._clock()
        waits = [self.poll_interval]
        if self._phases[ItemPhase.IN_FLIGHT]:
            waits.append(max(self._next_poll - now, 0.0))
        if self._queue and self._slot_free_at > now:
            waits.append(self._slot_free_at - now)
        return max(0.005, min(waits))

    def _emit(self, state: ItemState, message: str | None = None) -> None:
        if message is not None:
            state.message = message
        if self._on_event is None:
            return
        event = BatchEvent(
            number=state.item.number,
            key=state.item.key,
            phase=state.phase,
            attempt=state.attempt,
            job_id=state.job_id,
            invocation_id=state.invocation_id,
            message=state.message,
        )
        with self._event_lock:
            self._on_event(event)

    def _in_flight(self) -> int:
        return len(self._phases[ItemPhase.SUBMITTING]) + len(self._phases[ItemPhase.IN_FLIGHT])

    def _unsettled(self) -> int:
        """Items something may still happen to in this run: not final, and not
        pending once a budget stopped the submits (those wait for a later run)."""
        settled = sum(len(self._phases[p]) for p in ItemPhase if p.final)
        if self.budget_stop is not None:
            settled += len(self._phases[ItemPhase.PENDING])
        return len(self.states) - settled

    def _check_cap(self) -> None:
        """With a ``max_cost_usd`` on the api, refuse the whole run up front when what
        it would send (items not yet accepted, retries due) costs more than remains."""
        cap = self.api.cost_cap
        if cap is None or not self._queue:
            return
        planned = sum(state.item.estimated_cost_usd for state in self._queue)
        cap.check(planned, what=f"this batch run ({len(self._queue)} job(s) to send)")

    def _submit_some(self) -> None:
        while self._queue and self.budget_stop is None and self._in_flight() < self.limit.limit:
            if self._clock() < self._slot_free_at:
                return
            state = self._queue[0]
            if not self._take_slot(state) and not (
                self._free_unwatched_slots(state) and self._take_slot(state)
            ):
                # Every slot of the account's quota is taken (by this process or
                # another on the ledger): look again soon, or when a job of ours ends.
                self._slot_free_at = self._clock() + self._lease_wait
                return
            self._queue.popleft()
            if not self._submit(state):
                return

    # -- the shared quota --

    def _adopt_slots(self) -> None:
        """Leases for the jobs a resumed run finds running: they hold their slots on
        the service whatever any lease says, so they are counted, quota or not; and
        a note when this run may keep fewer jobs in flight than ``max_concurrent``."""
        if self.quota is None:
            return
        for state in self._phases[ItemPhase.IN_FLIGHT].values():
            model = state.item.request.model_id
            self._leases[state.index] = self.quota.adopt(
                model, self.api.region_for(model), state.token
            )
        for model in sorted({s.item.request.model_id for s in self._queue}):
            quota = self.quota.quota(model)
            if quota < self.limit.maximum:
                self.notices.append(
                    f"at most {quota} job(s) of {model} in flight at once, with every process"
                    f" sharing this ledger (the account's concurrency quota, from"
                    f" {self.quota.settings.source(model)}; raise it with NOVAREEL_QUOTA or"
                    " [quota] in config.toml)"
                )

    def _take_slot(self, state: ItemState) -> bool:
        """A lease on one slot of the item's model and region, unless already held;
        False while the account's quota is full."""
        if self.quota is None or state.index in self._leases:
            return True
        model = state.item.request.model_id
        # Keyed by the job's client token: one job, one slot, whichever process (or
        # earlier run of this batch) holds it.
        lease = self.quota.try_acquire(model, self.api.region_for(model), state.token)
        if lease is None:
            return False
        self._leases[state.index] = lease
        return True

    def _free_unwatched_slots(self, state: ItemState) -> bool:
        """With the quota full, look (at most once a poll interval) at the jobs whose
        leases were handed over by processes that have ended (``generate --no-wait``,
        a stopped run): any that ended gives its slot back. Why: nobody else polls
        those jobs, so without this look their slots would stay taken for hours."""
        if self.quota is None or self._clock() < self._unwatched_look_at:
            return False
        self._unwatched_look_at = self._clock() + self.poll_interval
        model = state.item.request.model_id
        return self.api.free_ended_slots(
            self.quota, model, self.api.region_for(model), unwatched_only=True
        )

    def _give_back(self, state: ItemState) -> None:
        """The item's job ended, or was never accepted: its slot is free for anyone."""
        lease = self._leases.pop(state.index, None)
        if lease is not None and self.quota is not None:
            self.quota.release(lease)

    def _close_quota(self) -> None:
        """Give back the slots of items not in flight and stop renewing; the leases of
        jobs still running (a run stopped at its time limit) are left to expire, as
        their jobs still occupy the slots."""
        if self.quota is None:
            return
        for index in list(self._leases):
            if self.states[index].phase is not ItemPhase.IN_FLIGHT:
                self._give_back(self.states[index])
        self.quota.close()

    def _pushback(self, state: ItemState, why: str, *, shrink: bool = True) -> None:
        """No slot now: same token back to the front of the queue; wait, learn."""
        if shrink:
            self.limit.on_pushback()
        self._give_back(state)
        self._set_phase(state, ItemPhase.PENDING)
        self._slot_free_at = self._clock() + self._backoff
        self._backoff = min(self._backoff * 1.5, 60.0 / max(self.api.time_scale, 1e-6))
        self._emit(state, f"{why}; waiting for a slot (limit now {self.limit.limit})")

    def _submit(self, state: ItemState) -> bool:
        """Send one item; False when the service pushed back (stop submitting now)."""
        item = state.item
        self._set_phase(state, ItemPhase.SUBMITTING)
        self._emit(state, f"sending attempt {state.attempt}")
        assert state.token is not None
        try:
            result = self.api.submit(
                item.request,
                item.output,
                client_token=state.token,
                tags=item.tags or None,
                batch_id=self.batch_id,
                batch_item=item.key,
                attempt=state.attempt,
                retry_of=state.retry_of,
                out_dir=self.out_dir,  # `novareel download <id>` later lands here too
            )
        except BudgetExceededError as exc:
            # Nothing was written or sent for it: it stays pending for a later run.
            self.budget_stop = exc
            self._give_back(state)
            self._set_phase(state, ItemPhase.PENDING)
            self._emit(state, f"not sent: {exc.limit.replace('_', ' ')} limit reached")
            return False
        except QuotaExceededError:
            self._pushback(state, "concurrency quota full")
            return False
        except ThrottledError:
            # Throttling may mean "too many jobs" (the contract leaves it open) or just
            # "too many requests". With nothing of ours in flight it cannot be the
            # former, so only then is the limit kept and the submit merely delayed.
            self._pushback(state, "throttled", shrink=self._in_flight() > 1)
            return False
        except (ServiceUnavailableError, EndpointError) as exc:
            self._give_back(state)
            state.submit_errors += 1
            if state.submit_errors >= MAX_SUBMIT_ERRORS:
                self._set_phase(state, ItemPhase.FAILED)
                state.failure = Failure(exc.code, exc.message, None, exc.hint or "")
                self._emit(state, "the service kept failing; run again later to send it")
                return True
            self._set_phase(state, ItemPhase.PENDING)
            self._slot_free_at = self._clock() + self._backoff
            self._emit(state, f"service error ({exc.code or 'network'}); will send again")
            return False
        except ServiceValidationError as exc:
            self._give_back(state)
            record = self.ledger.find(state.token)
            state.job_id = record.id if record else None
            self._set_phase(state, ItemPhase.FAILED)
            state.failure = Failure(
                exc.code, exc.message, None, exc.hint or advice_for(None, exc.message)
            )
            self._emit(state, "rejected by the service")
            return True
        self.limit.on_success()
        self._backoff = self._backoff_base
        state.job_id = result.ledger_id
        state.invocation_arn = result.invocation_arn
        state.submitted_at = result.submit_time
        if result.status == JobStatus.IN_PROGRESS or not result.done:
            self._set_phase(state, ItemPhase.IN_FLIGHT)
            self._emit(state, f"submitted (~${item.estimated_cost_usd:.2f})")
        else:  # the token had already produced a finished job
            self._finished(state, result)
        return True

    def _poll(self) -> None:
        flying = list(self._phases[ItemPhase.IN_FLIGHT].values())
        now = self._clock()
        if not flying or now < self._next_poll:
            return
        self._next_poll = now + self._next_tick()
        # Each job is listed where it runs (a batch may mix models of two regions):
        # one ListAsyncInvokes per region in flight, in the region its ARN names.
        by_region: dict[str | None, list[ItemState]] = {}
        for state in flying:
            region = self.api.client.region_of_job(state.invocation_arn)
            by_region.setdefault(region, []).append(state)
        running: set[str] | None
        listed: set[str] = set()
        try:
            for region, states in by_region.items():
                times = [s.submitted_at for s in states if s.submitted_at is not None]
                since = (min(times) if times else self._now()) - timedelta(hours=1)
                listed.update(
                    j.invocation_arn
                    for j in self.api.client.list_async_invokes(
                        status=JobStatus.IN_PROGRESS,
                        submitted_after=since,
                        sort_order="Ascending",
                        region=region,
                    )
                )
            running = listed
        except AwsError as exc:
            if not exc.retryable:
                raise
            log.info("ListAsyncInvokes failed (%s); checking jobs one by one", exc.code)
            running = None
        for state in flying:
            if running is not None and state.invocation_arn in running:
                continue
            try:
                result = self.api.status(str(state.job_id))
            except AwsError as exc:
                if not exc.retryable:
                    raise
                continue
            if result.done:
                self._finished(state, result)

    def _finished(self, state: ItemState, result: JobResult) -> None:
        # A slot freed up: a waiting submit may go now.
        self._slot_free_at = 0.0
        self._give_back(state)
        if result.status == JobStatus.COMPLETED:
            self._set_phase(
                state, ItemPhase.DOWNLOADING if self._downloads_item(state) else ItemPhase.DONE
            )
            self._emit(state, "completed")
            return
        record = self.ledger.get(state.job_id) if state.job_id is not None else None
        failure = result.failure or (record.failure if record else None)
        if record is None:
            self._set_phase(state, ItemPhase.FAILED)
            state.failure = failure
            self._emit(state, "failed")
            return
        self._after_failure(state, record, failure)  # back in the queue if retried
        self._emit(state)

    def _start_downloads(self, executor: ThreadPoolExecutor) -> None:
        assert self.out_dir is not None or not self._phases[ItemPhase.DOWNLOADING]
        now = self._clock()
        for index, state in list(self._to_download.items()):
            if state.not_before > now:
                continue  # a failed download waits for its back-off
            del self._to_download[index]
            future = executor.submit(self._download, state)
            future.add_done_callback(lambda _f: self._wake.set())
            self._downloads[index] = future

    def _download(self, state: ItemState) -> JobResult:
        assert self.out_dir is not None and state.job_id is not None
        return self.api.download(str(state.job_id), self.out_dir, check_video=self.check_video)

    def _collect_downloads(self) -> None:
        for index, future in list(self._downloads.items()):
            if not future.done():
                continue
            del self._downloads[index]
            state = self.states[index]
            try:
                result = future.result()
            except (DownloadError, AwsError) as exc:
                if (
                    isinstance(exc, AwsError)
                    and not exc.retryable
                    and not isinstance(exc, DownloadError)
                ):
                    log.warning("download of item %s failed: %s", state.item.label, exc)
                state.download_errors += 1
                if state.download_errors >= MAX_DOWNLOAD_ERRORS:
                    self._set_phase(state, ItemPhase.FAILED)
                    state.failure = Failure(
                        "DownloadError",
                        exc.message,
                        None,
                        "The video is in S3; run the batch again to fetch it.",
                    )
                    self._emit(state, "download failed")
                else:
                    state.not_before = self._clock() + self._backoff_base
                    self._to_download[index] = state  # tried again after the back-off
                    self._emit(state, f"download failed ({exc.message}); trying again")
                continue
            state.local_dir = result.local_dir
            state.local_files = tuple(result.local_files)
            self._set_phase(state, ItemPhase.DONE)
            for notice in result.notices:
                self.notices.append(f"item {state.item.label}: {notice}")
            self._emit(state, f"downloaded to {result.local_dir}")


def run_batch(
    api: VideoGenerator,
    path: str | Path,
    *,
    defaults: Mapping[str, Any] | None = None,
    **options: Any,
) -> BatchSummary:
    """Load, check and run a batch file in one call (see :class:`BatchRunner`).

    ``defaults`` apply to every item (e.g. ``{"output_uri": "s3://bucket/videos/"}``);
    ``options`` are :class:`BatchRunner`'s (``out_dir``, ``max_concurrent``,
    ``max_retries``, ``timeout``, ``on_event``, ...). Running it again on the same
    file continues where an interrupted run stopped.
    """
    batch = load_batch(path, defaults=defaults)
    return BatchRunner(api, batch, **options).run()
