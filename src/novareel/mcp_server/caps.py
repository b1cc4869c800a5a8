"""Spending caps of one MCP server: per call and per server session.

``--max-cost USD`` refuses any call whose estimated AWS price is above it. The same
amount also caps the session (the sum of what this server process submits) unless
``--session-max-cost USD`` sets that separately. Prices are the registry's estimates
of what AWS would charge, whatever the endpoint, so a server on the local emulator
refuses exactly what it would refuse against AWS.

Money is counted in whole cents (the registry's estimates are rounded to cents), so
``0.1 + 0.2`` never exceeds a ``0.3`` cap by a float's hair.

**The session is durable and shared.** A session has a key: ``--session NAME`` (or
``NOVAREEL_MCP_SESSION``), else a fresh one per server process (one process, one
session, as before). Every job the server reserves carries that key in the ledger
(m016), and the session's cap is :class:`novareel.limits.budget.SessionCap`, checked inside
the ledger's reservation transaction against every row of the session that is
reserved (``Submitting``) or accepted, whichever process or machine wrote it. So
concurrent tool calls of one server, and several servers started with the same
``--session`` on one ledger (a PostgreSQL ledger: several machines), never together
pass the cap. A job refused or never sent releases its reservation (its row leaves
``Submitting``); an unknown outcome keeps it (the job may exist).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import BudgetExceededError, InvalidRequestError, Problem
from novareel.limits.budget import SessionCap

if TYPE_CHECKING:
    from novareel.ledger import Ledger

__all__ = ["RAISE_HINT", "SESSION_ENV", "SpendGuard", "cents", "dollars", "session_name"]

#: The session's name when ``--session`` is not given (several servers of one agent
#: session, started by one MCP client config, share their cap).
SESSION_ENV = "NOVAREEL_MCP_SESSION"
_SESSION_LIMIT = "1-100 printable characters, no spaces (letters, digits, - _ . : @ /)"

RAISE_HINT = (
    "A person raises the limit by restarting the server with a higher --max-cost "
    "(and --session-max-cost for the session, or a new --session) in the MCP client's "
    "config; the agent cannot change it."
)


def cents(usd: float) -> int:
    """Whole cents of a dollar amount (half a cent rounds up, as prices are shown)."""
    return round(usd * 100 + 1e-9)


def dollars(amount: int) -> float:
    return round(amount / 100, 2)


def session_name(given: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The session's key: ``given`` (``--session``), else ``NOVAREEL_MCP_SESSION``,
    else a fresh ``mcp-<random>`` for this process alone.

    Why a name a person picks: the cap of a named session counts every job of that
    name in the ledger, across restarts, processes and machines; a fresh key keeps the
    cap to one server process (the behaviour without ``--session``).
    """
    env = os.environ if environ is None else environ
    field = "--session"
    if given is None:
        given = env.get(SESSION_ENV) or None
        field = SESSION_ENV
    if given is None:
        return f"mcp-{uuid.uuid4().hex[:16]}"
    ok = 0 < len(given) <= 100 and all(c.isalnum() or c in "-_.:@/" for c in given)
    if not ok or not given.isascii():
        raise InvalidRequestError(
            Problem(field, f"{given!r} is not a session name", value=given, limit=_SESSION_LIMIT)
        )
    return given


class SpendGuard:
    """The caps of one server session: per call (in memory, it holds nothing) and per
    session (:class:`~novareel.limits.budget.SessionCap`, kept in the ledger)."""

    def __init__(
        self,
        per_call_usd: float | str | None = None,
        session_usd: float | str | None = None,
        session: str | None = None,
    ) -> None:
        from novareel.limits.budget import parse_max_cost

        per_call_usd = parse_max_cost(per_call_usd, field="--max-cost")
        session_usd = parse_max_cost(session_usd, field="--session-max-cost")
        self.per_call = cents(per_call_usd) if per_call_usd is not None else None
        if session_usd is None and per_call_usd is not None:
            session_usd = per_call_usd  # one --max-cost caps the call and the session
        self.session = cents(session_usd) if session_usd is not None else None
        #: the session's key, written on every job it reserves (m016)
        self.key = session_name(session)
        #: what VideoGenerator.submit checks in the reservation transaction (the key is
        #: written even without a cap, so the session's spend can be shown)
        self.session_cap = SessionCap(
            self.key,
            dollars(self.session) if self.session is not None else None,
            hint=RAISE_HINT,
        )

    # -- reading --

    def _used(self, ledger: Ledger | None) -> tuple[int, int]:
        """(spent, pending) cents of the session, from the ledger (0, 0 without one)."""
        if ledger is None:
            return 0, 0
        spent, pending = self.session_cap.spent(ledger)
        return cents(spent), cents(pending)

    def remaining(self, ledger: Ledger | None) -> int | None:
        """Cents the session may still spend (None: no session cap)."""
        if self.session is None:
            return None
        spent, pending = self._used(ledger)
        return max(self.session - spent - pending, 0)

    def snapshot(self, ledger: Ledger | None = None, *, spend: bool = True) -> dict[str, Any]:
        """The caps and the session's spend (every process of it), JSON-ready (shown
        with every job). ``ledger`` None opens the default one; ``spend=False`` gives
        the caps alone (nothing is read)."""
        if spend and ledger is None:
            from novareel.ledger import Ledger

            with Ledger.open_default() as opened:
                return self.snapshot(opened)
        spent, pending = self._used(ledger) if spend else (0, 0)
        remaining = max(self.session - spent - pending, 0) if self.session is not None else None
        return {
            "session": self.key,
            "max_cost_per_call_usd": dollars(self.per_call) if self.per_call is not None else None,
            "session_max_cost_usd": dollars(self.session) if self.session is not None else None,
            "session_spent_usd": dollars(spent),
            "session_pending_usd": dollars(pending),
            "session_remaining_usd": dollars(remaining) if remaining is not None else None,
        }

    def check(self, usd: float, label: str, ledger: Ledger | None) -> None:
        """Raise BudgetExceededError if a call of ``usd`` would be refused now (holds
        nothing: each job is reserved, and the session's cap checked again, in the
        ledger's reservation transaction when it is submitted)."""
        amount = cents(usd)
        if self.per_call is not None and amount > self.per_call:
            raise BudgetExceededError(
                f"{label} would cost ~${dollars(amount):.2f} on AWS, over this server's "
                f"limit of ${dollars(self.per_call):.2f} per call (--max-cost); nothing was "
                "sent",
                limit="max_cost",
                asked_usd=dollars(amount),
                limit_usd=dollars(self.per_call),
                spent_usd=0.0,
                raise_with=("--max-cost",),
                hint=RAISE_HINT,
            )
        if self.session is not None and ledger is not None:
            self.session_cap.check(ledger, usd, what=label)
