"""Budgets: a ceiling on what novareel may spend, checked before anything is sent.

A 9 s 720p Luma Ray 2 video costs about $13.50, so a runaway loop or agent can spend
hundreds of dollars in minutes. Two kinds of ceiling stop that, both judged on the
*estimated* price the registry computes for a request (the same number ``--dry-run``
prints), before the ledger row is written and before any network call:

* **A cap on one owner's submits** (:class:`CostCap`): ``--max-cost USD`` on a command,
  or ``VideoGenerator(max_cost_usd=...)`` for the lifetime of one Python object. It counts
  the estimated *AWS* price whatever the endpoint, so a command refused on AWS is
  refused the same way on the local emulator (offline rehearsals behave like the
  real thing).
* **A standing budget per UTC day and per UTC month** (:class:`Budget`), from the
  environment (``NOVAREEL_BUDGET_DAILY_USD``, ``NOVAREEL_BUDGET_MONTHLY_USD``) or
  ``<NOVAREEL_HOME>/config.toml``::

      [budget]
      daily_usd = 20
      monthly_usd = 200

  The environment wins over the file (``off`` in the environment switches a limit
  of the file off for one shell). What counts against it is the ledger's spend: the
  estimated price of jobs the service *accepted* (InProgress, Completed, Failed: a
  started job is paid for however it ends), by submit time, **without local jobs**
  (jobs sent to novareel's emulator, which says so itself, cost nothing). A new job is
  refused when its estimate would take the spend past the limit. A local job is
  never refused by the standing budget, because it spends nothing; set
  ``NOVAREEL_BUDGET_COUNT_LOCAL=1`` (or ``count_local = true``) to rehearse a budget
  on the emulator: local jobs then count at their AWS price and are checked too.

What counts is *reserved* from the moment a job's row exists: a ``Submitting`` row
(sent or about to be, its answer not yet recorded) counts at its estimate, and the
check and the row are one write transaction (:meth:`Ledger.reserve` with
:func:`reservation_check`), so processes submitting at the same instant against one
ledger are serialised and cannot both slip under the limit. A refused or unsent
submit leaves ``Submitting`` and so releases its estimate.

Limits of the guarantee, stated plainly: the estimate is novareel's, not AWS's bill;
processes count each other only through a shared ledger file; and a
``VideoGenerator(ledger=False)`` has no spend to read, so each of its jobs is checked alone
against the standing budget.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import BudgetExceededError, InvalidRequestError, Problem
from novareel.settings.config import CONFIG_NAME, true_or_false

if TYPE_CHECKING:
    from novareel.ledger import Ledger, SpendRow

__all__ = [
    "CONFIG_NAME",
    "COUNT_LOCAL_ENV",
    "DAILY_ENV",
    "MONTHLY_ENV",
    "Budget",
    "BudgetStatus",
    "CostCap",
    "SessionCap",
    "SpendTotals",
    "budget_status",
    "check_max_cost",
    "check_standing_budget",
    "config_path",
    "load_budget",
    "parse_max_cost",
    "parse_usd",
    "period_bounds",
    "reservation_check",
    "spend_totals",
]

DAILY_ENV = "NOVAREEL_BUDGET_DAILY_USD"
MONTHLY_ENV = "NOVAREEL_BUDGET_MONTHLY_USD"
COUNT_LOCAL_ENV = "NOVAREEL_BUDGET_COUNT_LOCAL"

#: key under ``[budget]`` -> the environment variable that overrides it
_KEYS: dict[str, str] = {
    "daily_usd": DAILY_ENV,
    "monthly_usd": MONTHLY_ENV,
    "count_local": COUNT_LOCAL_ENV,
}
_USD_LIMIT = "a number of US dollars, 0 or more (e.g. 20 or 12.5)"
_OFF = ("off", "none")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
#: Amounts closer than this are equal (float sums of cents).
_EPSILON = 1e-6


def config_path() -> Path:
    """``<NOVAREEL_HOME>/config.toml``: novareel's small settings file."""
    from novareel.settings.config import config_path as path

    return path()


# ----------------------------------------------------------------------------- parsing


def parse_usd(value: Any, *, field: str) -> float:
    """A non-negative, finite dollar amount, or :class:`InvalidRequestError` naming
    ``field`` (the flag, variable or config key), the value and what is allowed."""
    if isinstance(value, bool):
        number = math.nan
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().lstrip("$"))
        except ValueError:
            number = math.nan
    else:
        number = math.nan
    if not math.isfinite(number):
        raise InvalidRequestError(
            Problem(field, f"{value!r} is not {_USD_LIMIT}", value=value, limit=_USD_LIMIT)
        )
    if number < 0:
        raise InvalidRequestError(
            Problem(
                field, f"{value!r} is negative; give {_USD_LIMIT}", value=value, limit=_USD_LIMIT
            )
        )
    return number


def parse_max_cost(value: str | float | None, *, field: str = "--max-cost") -> float | None:
    """``--max-cost`` (or ``max_cost_usd``) as a number; None when not given."""
    if value is None:
        return None
    return parse_usd(value, field=field)


def _env_usd(environ: Mapping[str, str], name: str) -> tuple[bool, float | None]:
    """(given, value) of a dollar variable: unset or empty is not given; ``off``
    is given and means no limit."""
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return False, None
    if raw.strip().lower() in _OFF:
        return True, None
    try:
        return True, parse_usd(raw, field=name)
    except InvalidRequestError as exc:
        exc.hint = f"Set {name} to a number of dollars (e.g. 20), `off` for no limit, or unset it."
        raise


def _env_flag(environ: Mapping[str, str], name: str) -> bool | None:
    raw = environ.get(name)
    if raw is None:
        return None
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidRequestError(
        Problem(name, f"{raw!r} is not a yes/no value", value=raw, limit="1 | 0 | true | false")
    )


def _read_config(path: Path) -> dict[str, Any]:
    """The ``[budget]`` table of the config file ({} when the file or table is absent)."""
    from novareel.settings.config import read_table

    return read_table(path, "budget", _KEYS, docs="docs/budgets.md")


@dataclass(frozen=True)
class Budget:
    """The standing limits in force, and where each came from (for messages)."""

    daily_usd: float | None = None
    monthly_usd: float | None = None
    count_local: bool = False
    #: field -> where it was set: an environment variable, or ``<file> [budget] <key>``
    sources: Mapping[str, str] = field(default_factory=dict)
    config_file: str | None = None

    @property
    def active(self) -> bool:
        return self.daily_usd is not None or self.monthly_usd is not None

    def limit(self, kind: str) -> float | None:
        return self.daily_usd if kind == "daily" else self.monthly_usd

    def raise_with(self, kind: str) -> tuple[str, ...]:
        """How a person raises the ``daily`` or ``monthly`` limit."""
        key = f"{kind}_usd"
        where = self.config_file or f"<NOVAREEL_HOME>/{CONFIG_NAME}"
        return (f"{_KEYS[key]}=<USD>", f"{key} = <USD> under [budget] in {where}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "daily_usd": self.daily_usd,
            "monthly_usd": self.monthly_usd,
            "count_local": self.count_local,
            "sources": dict(self.sources),
            "config_file": self.config_file,
        }


def load_budget(environ: Mapping[str, str] | None = None, *, path: Path | None = None) -> Budget:
    """The standing budget from the environment and the config file (environment wins).

    Read on every check (a few microseconds), so a limit raised in the file applies to
    the next command without restarting anything. Bad values raise
    :class:`InvalidRequestError` naming the variable or key, the value, and what is
    allowed (exit 2: nothing is sent while the budget cannot be read).
    """
    env = os.environ if environ is None else environ
    where = path if path is not None else config_path()
    table = _read_config(where)
    values: dict[str, Any] = {"daily_usd": None, "monthly_usd": None, "count_local": False}
    sources: dict[str, str] = {}
    for key in ("daily_usd", "monthly_usd"):
        if key in table:
            if isinstance(table[key], str):  # TOML has numbers: "20" is a typo's sign
                raise InvalidRequestError(
                    Problem(
                        f"{where} [budget] {key}",
                        f"{table[key]!r} is a string; write the amount as a number",
                        value=table[key],
                        limit=f"{key} = 20 (no quotes)",
                    )
                )
            values[key] = parse_usd(table[key], field=f"{where} [budget] {key}")
            sources[key] = f"{where} [budget] {key}"
        given, amount = _env_usd(env, _KEYS[key])
        if given:
            values[key] = amount
            sources[key] = _KEYS[key]
    if "count_local" in table:
        field = f"{where} [budget] count_local"
        values["count_local"] = true_or_false(table["count_local"], field=field)
        sources["count_local"] = field
    env_flag = _env_flag(env, COUNT_LOCAL_ENV)
    if env_flag is not None:
        values["count_local"] = env_flag
        sources["count_local"] = COUNT_LOCAL_ENV
    return Budget(
        daily_usd=values["daily_usd"],
        monthly_usd=values["monthly_usd"],
        count_local=bool(values["count_local"]),
        sources=sources,
        config_file=str(where),
    )


# ------------------------------------------------------------------------------- spend


@dataclass(frozen=True)
class SpendTotals:
    """Accepted jobs summed: on AWS (paid) and on a local emulator (free here)."""

    aws_usd: float = 0.0
    aws_jobs: int = 0
    local_usd: float = 0.0
    local_jobs: int = 0
    unpriced_jobs: int = 0

    def counted_usd(self, *, count_local: bool = False) -> float:
        """What counts against a budget: AWS spend (plus local jobs when rehearsing)."""
        return self.aws_usd + (self.local_usd if count_local else 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "aws_usd": round(self.aws_usd, 2),
            "aws_jobs": self.aws_jobs,
            "local_jobs": self.local_jobs,
            "local_aws_equivalent_usd": round(self.local_usd, 2),
            "unpriced_jobs": self.unpriced_jobs,
        }


def spend_totals(rows: Iterable[SpendRow]) -> SpendTotals:
    """Fold :meth:`Ledger.spend` rows into AWS and local totals."""
    aws_usd = local_usd = 0.0
    aws_jobs = local_jobs = unpriced = 0
    for row in rows:
        unpriced += row.unpriced
        if row.ran_locally:
            local_usd += row.usd
            local_jobs += row.jobs
        else:
            aws_usd += row.usd
            aws_jobs += row.jobs
    return SpendTotals(aws_usd, aws_jobs, local_usd, local_jobs, unpriced)


def period_bounds(kind: str, now: datetime) -> tuple[str, datetime, datetime]:
    """(label, start, end) of the UTC day or month containing ``now``."""
    now = now.astimezone(timezone.utc)
    if kind == "daily":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%d"), start, start + timedelta(days=1)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start.strftime("%Y-%m"), start, end


@dataclass(frozen=True)
class BudgetStatus:
    """One standing limit now: the period, the limit, what is spent and what remains."""

    kind: str
    period: str
    limit_usd: float
    spent_usd: float
    resets_at: datetime
    source: str

    @property
    def remaining_usd(self) -> float:
        return max(self.limit_usd - self.spent_usd, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "period": self.period,
            "limit_usd": round(self.limit_usd, 2),
            "spent_usd": round(self.spent_usd, 2),
            "remaining_usd": round(self.remaining_usd, 2),
            "resets_at": self.resets_at.isoformat().replace("+00:00", "Z"),
            "source": self.source,
        }


def budget_status(
    ledger: Ledger | None, *, budget: Budget | None = None, now: datetime | None = None
) -> list[BudgetStatus]:
    """Each standing limit that is set, with today's / this month's spend from the ledger."""
    budget = load_budget() if budget is None else budget
    now = datetime.now(timezone.utc) if now is None else now
    found: list[BudgetStatus] = []
    for kind in ("daily", "monthly"):
        limit = budget.limit(kind)
        if limit is None:
            continue
        label, start, end = period_bounds(kind, now)
        spent = 0.0
        if ledger is not None:
            totals = spend_totals(ledger.spend(since=start, until=end, reserved=True))
            spent = totals.counted_usd(count_local=budget.count_local)
        source = budget.sources.get(f"{kind}_usd", "")
        found.append(BudgetStatus(kind, label, limit, spent, end, source))
    return found


# ------------------------------------------------------------------------------ checks


def _money(value: float) -> str:
    return f"${value:,.2f}"


def check_standing_budget(
    ledger: Ledger | None,
    estimate: float,
    *,
    endpoint: str | None,
    what: str = "this job",
    budget: Budget | None = None,
    now: datetime | None = None,
) -> None:
    """Refuse (:class:`BudgetExceededError`) when ``estimate`` would take today's or
    this month's spend past the standing budget.

    ``endpoint`` is where the job would go: novareel's emulator (by its own answer,
    :mod:`novareel.client.endpoint_identity`, never by the address) spends nothing and is not
    checked, unless the budget counts local jobs (a rehearsal).
    """
    budget = load_budget() if budget is None else budget
    if not budget.active:
        return
    from novareel.client.endpoint_identity import is_emulator

    if not budget.count_local and is_emulator(endpoint):
        return
    for status in budget_status(ledger, budget=budget, now=now):
        if status.spent_usd + estimate <= status.limit_usd + _EPSILON:
            continue
        day = "today" if status.kind == "daily" else "this month"
        resets = status.resets_at.strftime("%Y-%m-%d 00:00 UTC")
        raise BudgetExceededError(
            f"{status.kind} budget: {what} would cost ~{_money(estimate)}, but only "
            f"{_money(status.remaining_usd)} of the {_money(status.limit_usd)} {status.kind} "
            f"budget remains {day} ({status.period} UTC; {_money(status.spent_usd)} "
            "already spent or reserved); nothing was sent",
            limit=status.kind,
            asked_usd=estimate,
            limit_usd=status.limit_usd,
            spent_usd=status.spent_usd,
            period=status.period,
            raise_with=budget.raise_with(status.kind),
            hint=(
                f"The limit comes from {status.source}. Raise it with "
                + " or ".join(budget.raise_with(status.kind))
                + f" (the environment wins), or wait until {resets}."
            ),
        )


def check_max_cost(
    estimate: float,
    limit: float | None,
    *,
    spent: float = 0.0,
    what: str = "this command",
    name: str = "--max-cost",
) -> None:
    """Refuse when ``spent + estimate`` is over the cap ``limit`` (None: no cap).

    ``name`` is how the person set the cap (``--max-cost``, ``max_cost_usd``), named in
    the message so they know what to raise.
    """
    if limit is None or spent + estimate <= limit + _EPSILON:
        return
    remaining = max(limit - spent, 0.0)
    so_far = (
        f"; {_money(spent)} of it already submitted, {_money(remaining)} remains"
        if spent > 0
        else ""
    )
    raise BudgetExceededError(
        f"{name}: {what} would cost ~{_money(estimate)} on AWS, over the cap of "
        f"{_money(limit)}{so_far}; nothing was sent",
        limit="max_cost",
        asked_usd=estimate,
        limit_usd=limit,
        spent_usd=spent,
        raise_with=(name,),
        hint=(
            f"Raise {name} to at least {spent + estimate:.2f} (or leave it out), or ask for "
            "less: fewer or shorter videos, a lower resolution. The cap is judged on the "
            "estimated AWS price, on the emulator too."
        ),
    )


@dataclass
class CostCap:
    """A ceiling on the estimated AWS price of everything one owner submits.

    ``VideoGenerator(max_cost_usd=...)`` holds one for the object's lifetime (an MCP session,
    a script); the CLI arms one per command with ``--max-cost``. ``spent_usd`` grows
    by each job the service accepted through that owner (a token that only returned
    an existing job adds nothing).
    """

    limit_usd: float
    name: str = "max_cost_usd"
    spent_usd: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.limit_usd = parse_usd(self.limit_usd, field=self.name)

    @property
    def remaining_usd(self) -> float:
        return max(self.limit_usd - self.spent_usd, 0.0)

    def check(self, estimate: float, *, what: str = "this job") -> None:
        """Refuse ``estimate`` if it does not fit in what remains."""
        check_max_cost(estimate, self.limit_usd, spent=self.spent_usd, what=what, name=self.name)

    def add(self, amount: float) -> None:
        with self._lock:
            self.spent_usd += amount

    def reserve(self, estimate: float, *, what: str = "this job") -> float:
        """Check ``estimate`` and count it as spent in one step (threads submitting
        through one owner cannot both fit in the last dollars); :meth:`release` gives
        it back when the submit is refused or never sent. Returns what was held."""
        with self._lock:
            self.check(estimate, what=what)
            self.spent_usd += estimate
        return estimate

    def release(self, amount: float) -> None:
        """Give back what :meth:`reserve` held for a submit that created no job."""
        with self._lock:
            self.spent_usd = max(self.spent_usd - amount, 0.0)


def _cents(usd: float) -> int:
    """Whole cents (estimates are rounded to cents, so ``0.1 + 0.2`` fits a ``0.3`` cap)."""
    return round(usd * 100 + 1e-9)


@dataclass(frozen=True)
class SessionCap:
    """A ceiling on everything one *session* submits, whichever process sends it.

    An MCP server's ``--session-max-cost``: a session has a durable key (``--session``,
    else one per server process), every job it reserves carries that key in the
    ledger (m016), and :meth:`check` reads the session's spend from those rows
    (:meth:`Ledger.session_spend`: accepted plus still ``Submitting``). It runs inside
    :meth:`Ledger.reserve`'s write transaction (:func:`reservation_check`), so threads
    of one server and several servers of one session, on one machine or many sharing
    a PostgreSQL ledger, are serialised and cannot together pass the cap. A refused
    or unsent submit leaves ``Submitting`` and so releases its estimate. Counted in
    whole cents at the estimated AWS price, whatever the endpoint.
    """

    key: str
    #: None: no cap, the key is only recorded (the session's spend can be shown)
    limit_usd: float | None
    name: str = "--session-max-cost"
    #: how a person raises the cap (the refusal's hint)
    hint: str | None = None

    def spent(self, ledger: Ledger) -> tuple[float, float]:
        """(accepted, pending) USD of this session, from the ledger."""
        return ledger.session_spend(self.key)

    def check(self, ledger: Ledger | None, estimate: float, *, what: str = "this job") -> None:
        """Refuse (:class:`BudgetExceededError`, limit ``session_max_cost``) when
        ``estimate`` does not fit in what the session has left."""
        if self.limit_usd is None:
            return
        if ledger is None:
            from novareel.foundation.errors import LedgerError

            raise LedgerError(
                f"{self.name} needs the job ledger: it is where the session's spend is kept",
                hint="Create VideoGenerator without ledger=False.",
            )
        accepted, pending = self.spent(ledger)
        used = _cents(accepted) + _cents(pending)
        cap = _cents(self.limit_usd)
        asked = _cents(estimate)
        if used + asked <= cap:
            return
        left = max(cap - used, 0) / 100
        raise BudgetExceededError(
            f"{what} would cost ~{_money(asked / 100)} on AWS, but session {self.key!r} has "
            f"{_money(left)} left of its {_money(cap / 100)} limit ({_money(used / 100)} "
            "already submitted or reserved, by every process of the session); nothing "
            "was sent",
            limit="session_max_cost",
            asked_usd=asked / 100,
            limit_usd=cap / 100,
            spent_usd=used / 100,
            raise_with=(self.name,),
            hint=self.hint,
        )


def reservation_check(
    ledger: Ledger | None,
    estimate: float,
    *,
    endpoint: str | None,
    cost_cap: CostCap | None,
    held: list[float],
    what: str = "this job",
    session_cap: SessionCap | None = None,
) -> None:
    """The budget check :meth:`Ledger.reserve` runs inside its write transaction:
    the owner's cap (``--max-cost``), reserved in memory and appended to ``held`` so
    the caller can release it, then the session's cap and the standing budget
    against the ledger's spend, reserved rows included. Either refusal rolls the
    reservation back."""
    if cost_cap is not None:
        held.append(cost_cap.reserve(estimate, what=what))
    try:
        if session_cap is not None:
            session_cap.check(ledger, estimate, what=what)
        check_standing_budget(ledger, estimate, endpoint=endpoint, what=what)
    except BaseException:
        if cost_cap is not None and held:
            cost_cap.release(held.pop())
        raise
