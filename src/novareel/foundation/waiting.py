"""When to ask again: expected-duration-aware polling under a hard deadline.

Video jobs take minutes and the only way to learn that one finished is to ask
(GetAsyncInvoke). A fixed interval either hammers the API or notices the end late: a
30 s poller learns of a 76 s job at 90 s. Generation time is roughly predictable from
the model and the video's length (each model family holds its prior, e.g.
``novareel.models.nova_reel.GENERATION_TIME_POINTS``), so the schedule asks rarely
while the job cannot be done yet, often around the moment it should end, and backs off
gently when it runs late.

Everything here is pure (time and sleep are injected), so the schedule is tested
without waiting and benchmarked against the emulator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from novareel.foundation.status import FINISHED_STATUSES


@dataclass(frozen=True)
class PollSchedule:
    """How long to sleep before the next status call, given the time already waited.

    ``expected`` is the job's expected generation time in seconds (already divided by
    ``time_scale`` when a sped-up emulator runs the job). With ``fixed_interval`` set
    the schedule is the plain pwshBedrock-style loop.

    Adaptive phases:
      1. one early look at ``early_fraction`` of the expected time (a job refused by
         the service's checks after submit fails quickly; do not wait minutes to say
         so), and one at ``middle_fraction``: a job cannot be done long before its
         estimate, so these jumps are not capped by ``max_interval`` and every call
         there would be waste;
      2. from ``near_fraction`` of the expected time on, the next call comes
         ``dense_fraction`` of the time already waited later (floored at
         ``min_interval``, capped at ``max_interval``). A job that ends at ``t`` is
         then seen by ``t x (1 + dense_fraction)`` plus one call's latency: the
         delay is proportional to the job's own duration wherever it ends, early
         or late, which is the goal (within 2 % of the job's duration for every end
         from 0.7x to 2x the expectation; docs/benchmarks.md, benchmark 1). The
         cheapest schedule that meets that goal is geometric too (a call at ``t``
         covers only the ends in ``[t / 1.02, t]``), so this one spends about
         ``ln 1.02 / ln (1 + dense_fraction)`` (~1.04x) its calls past 0.7x, plus the
         two early looks.

    An older schedule jumped from a look at 0.6x to one at 0.9x and polled every
    1.5 % of the *expected* time: ends between 0.7x and 0.88x were noticed up to
    29 % late and very late ends up to 4 % late.
    """

    expected: float
    fixed_interval: float | None = None
    min_interval: float = 1.0
    max_interval: float = 30.0
    early_fraction: float = 0.2
    middle_fraction: float = 0.5
    near_fraction: float = 0.7
    #: 1.9 %, not 2 %: the gap between two calls is this delay plus one call's
    #: latency, which must fit in the rest of the 2 % too.
    dense_fraction: float = 0.019
    #: Where ``expected`` comes from, in words (shown beside the progress bar).
    source: str | None = None

    @classmethod
    def for_job(
        cls,
        expected_seconds: float,
        *,
        time_scale: float = 1.0,
        fixed_interval: float | None = None,
        source: str | None = None,
    ) -> PollSchedule:
        """The schedule for a job expected to take ``expected_seconds`` on the service.

        The expectation comes from the user's own recent jobs of that kind, else the
        model's prior (``novareel.limits.expectations``; ``source`` says which).
        ``time_scale`` is how much faster than the real service the endpoint runs (the
        emulator's speed).
        The floor between calls is 1 s at real speed and shrinks with short (sped-up)
        jobs, never below 50 ms.
        """
        expected = expected_seconds / max(time_scale, 1e-6)
        return cls(
            expected=expected,
            fixed_interval=fixed_interval,
            min_interval=min(1.0, max(expected * 0.01, 0.05)),
            source=source,
        )

    def next_delay(self, elapsed: float, call_seconds: float = 0.0) -> float:
        """Seconds to sleep after a status call that returned ``elapsed`` seconds into
        the wait and took ``call_seconds`` itself.

        In the dense phase the gap that matters is from one call's start to the next
        one's (a job that ended just after a call started is seen only by the next
        call), so the call's own latency is taken off the sleep: on a slow network or a
        loaded machine the calls keep their rhythm instead of drifting late.
        """
        if self.fixed_interval is not None:
            return max(self.fixed_interval, 0.0)
        e = max(self.expected, 0.0)
        for fraction in (self.early_fraction, self.middle_fraction, self.near_fraction):
            if elapsed < fraction * e:
                return max(fraction * e - elapsed, self.min_interval)
        gap = min(
            max(self.dense_fraction * elapsed, self.min_interval),
            max(self.max_interval, self.min_interval),
        )
        return max(gap - max(call_seconds, 0.0), 0.0)


@dataclass(frozen=True)
class WaitProgress:
    """What a progress callback is told after every status call."""

    elapsed: float
    expected: float
    status: str
    polls: int
    next_delay: float | None
    #: Where ``expected`` comes from (the schedule's ``source``), if known.
    source: str | None = None


def poll_until(
    check: Callable[[], str],
    *,
    schedule: PollSchedule,
    timeout: float | None,
    on_progress: Callable[[WaitProgress], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    elapsed_offset: float = 0.0,
    done: frozenset[str] = FINISHED_STATUSES,
) -> tuple[str, int, bool]:
    """Call ``check`` (returns a status) until it is in ``done`` or the deadline passes.

    The deadline is checked before every sleep and no sleep runs past it; a last call
    is made at the deadline so a job that finished meanwhile is not reported as a
    timeout. ``elapsed_offset`` is how long the job had already run when this wait
    began (a resumed wait keeps its place in the schedule; the timeout still counts
    from now). Returns ``(last status, number of calls, timed_out)``.
    """
    start = clock()
    deadline = None if timeout is None else start + timeout
    polls = 0
    while True:
        asked = clock()
        status = check()
        polls += 1
        now = clock()
        elapsed = now - start + elapsed_offset
        finished = status in done
        timed_out = not finished and deadline is not None and now >= deadline
        delay: float | None = None
        if not (finished or timed_out):
            delay = schedule.next_delay(elapsed, now - asked)
            if deadline is not None:
                delay = min(delay, max(deadline - now, 0.0))
        if on_progress:
            on_progress(
                WaitProgress(elapsed, schedule.expected, status, polls, delay, schedule.source)
            )
        if delay is None:
            return status, polls, timed_out
        if delay > 0:
            sleep(delay)


__all__ = [
    "PollSchedule",
    "WaitProgress",
    "poll_until",
]
