"""Spending caps of one MCP server: per call and per server session.

``--max-cost USD`` refuses any call whose estimated AWS price is above it. The same
amount also caps the session (the sum of what this server process submits) unless
``--session-max-cost USD`` sets that separately. Prices are the registry's estimates
of what AWS would charge, whatever the endpoint, so a server on the local emulator
refuses exactly what it would refuse against AWS.

Money is counted in whole cents (the registry's estimates are rounded to cents), so
``0.1 + 0.2`` never exceeds a ``0.3`` cap by a float's hair. A call *reserves* its
price before anything is sent; the reservation is kept when the service accepted the
job (or may have: an unknown outcome counts as spent) and released when the job is
known not to have been created, so two calls made at once cannot both slip under the
cap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from novareel.foundation.errors import BudgetExceededError

__all__ = ["RAISE_HINT", "Reservation", "SpendGuard", "cents", "dollars"]

RAISE_HINT = (
    "A person raises the limit by restarting the server with a higher --max-cost "
    "(and --session-max-cost for the session) in the MCP client's config; the agent "
    "cannot change it."
)


def cents(usd: float) -> int:
    """Whole cents of a dollar amount (half a cent rounds up, as prices are shown)."""
    return round(usd * 100 + 1e-9)


def dollars(amount: int) -> float:
    return round(amount / 100, 2)


def _refusal(
    message: str, *, limit: str, asked: int, cap: int, spent: int, option: str
) -> BudgetExceededError:
    """A call refused by the server's cap, in the standing budget's own class and shape,
    so an agent reads one kind of refusal: ``limit`` is ``max_cost`` (per call) or
    ``session_max_cost``; ``spent_usd`` is this session's (pending submits included);
    ``raise_with`` names the server option a person raises."""
    return BudgetExceededError(
        message,
        limit=limit,
        asked_usd=dollars(asked),
        limit_usd=dollars(cap),
        spent_usd=dollars(spent),
        raise_with=(option,),
        hint=RAISE_HINT,
    )


@dataclass
class Reservation:
    """Cents held for one call until its submit is known to have happened or not.

    Settled once: a second commit or release of the same reservation does nothing.
    """

    amount: int
    label: str
    open: bool = True


class SpendGuard:
    """The caps of one server session and what it has spent so far (thread-safe)."""

    def __init__(
        self, per_call_usd: float | str | None = None, session_usd: float | str | None = None
    ) -> None:
        from novareel.limits.budget import parse_max_cost

        per_call_usd = parse_max_cost(per_call_usd, field="--max-cost")
        session_usd = parse_max_cost(session_usd, field="--session-max-cost")
        self.per_call = cents(per_call_usd) if per_call_usd is not None else None
        if session_usd is None and per_call_usd is not None:
            session_usd = per_call_usd  # one --max-cost caps the call and the session
        self.session = cents(session_usd) if session_usd is not None else None
        self._spent = 0
        self._held = 0
        self._lock = threading.Lock()

    # -- reading --

    def remaining(self) -> int | None:
        """Cents the session may still spend (None: no session cap)."""
        with self._lock:
            return self._remaining()

    def _remaining(self) -> int | None:
        if self.session is None:
            return None
        return max(self.session - self._spent - self._held, 0)

    def snapshot(self) -> dict[str, Any]:
        """The caps and the session's spend, JSON-ready (shown with every job)."""
        with self._lock:
            remaining = self._remaining()
            return {
                "max_cost_per_call_usd": dollars(self.per_call)
                if self.per_call is not None
                else None,
                "session_max_cost_usd": dollars(self.session) if self.session is not None else None,
                "session_spent_usd": dollars(self._spent),
                "session_pending_usd": dollars(self._held),
                "session_remaining_usd": dollars(remaining) if remaining is not None else None,
            }

    def check(self, usd: float, label: str) -> None:
        """Raise BudgetExceededError if a call of ``usd`` would be refused now (holds nothing)."""
        with self._lock:
            self._check_fits(cents(usd), label)

    # -- spending --

    def reserve(self, usd: float, label: str) -> Reservation:
        """Hold ``usd`` for a call about to submit, or raise BudgetExceededError."""
        amount = cents(usd)
        with self._lock:
            self._check_fits(amount, label)
            self._held += amount
        return Reservation(amount, label)

    def commit(self, reservation: Reservation, usd: float | None = None) -> None:
        """The call submitted: count ``usd`` (default all it held) as spent."""
        spent = reservation.amount if usd is None else min(cents(usd), reservation.amount)
        with self._lock:
            if not reservation.open:
                return
            reservation.open = False
            self._held -= reservation.amount
            self._spent += spent

    def release(self, reservation: Reservation) -> None:
        """The call sent nothing (or the service refused it): free what it held."""
        with self._lock:
            if not reservation.open:
                return
            reservation.open = False
            self._held -= reservation.amount

    def _check_fits(self, amount: int, label: str) -> None:
        if self.per_call is not None and amount > self.per_call:
            raise _refusal(
                f"{label} would cost ~${dollars(amount):.2f} on AWS, over this server's "
                f"limit of ${dollars(self.per_call):.2f} per call (--max-cost); nothing was "
                "sent",
                limit="max_cost",
                asked=amount,
                cap=self.per_call,
                spent=0,
                option="--max-cost",
            )
        remaining = self._remaining()
        if self.session is not None and remaining is not None and amount > remaining:
            used = self._spent + self._held
            raise _refusal(
                f"{label} would cost ~${dollars(amount):.2f} on AWS, but this server "
                f"session has ${dollars(remaining):.2f} left of its "
                f"${dollars(self.session):.2f} limit (${dollars(used):.2f} already "
                "submitted); nothing was sent",
                limit="session_max_cost",
                asked=amount,
                cap=self.session,
                spent=used,
                option="--session-max-cost",
            )
