"""``--max-cost USD``, shared by the commands that spend money (generate, batch, retry).

The option is read as text and parsed by :func:`novareel.limits.budget.parse_max_cost`, so a
bad value (``abc``, ``-1``, ``nan``) is an :class:`InvalidRequestError` naming
``--max-cost`` that ``--json`` prints as JSON, like every other bad input (exit 2).
"""

from __future__ import annotations

from typing import Any

import typer

MAX_COST = typer.Option(
    None,
    "--max-cost",
    metavar="USD",
    help="Refuse (exit 2, nothing sent) if this command's estimated AWS price is over USD "
    "(judged the same on --local).",
)


def parse(value: str | None) -> float | None:
    """The ``--max-cost`` value as dollars (None when not given)."""
    from novareel.limits.budget import parse_max_cost

    return parse_max_cost(value, field="--max-cost")


def arm(api: Any, max_cost: float | None) -> None:
    """Give the command's :class:`VideoGenerator` a ``--max-cost`` cap for what it submits
    (retries and every shot included), so the library's own guard enforces it."""
    if max_cost is None:
        return
    from novareel.limits.budget import CostCap

    api.cost_cap = CostCap(max_cost, name="--max-cost")


def check_command(
    api: Any, estimate: float, max_cost: float | None, *, what: str, token: str | None = None
) -> None:
    """Refuse a whole command up front: its estimate against ``--max-cost`` and
    against what remains of the standing budget (nothing sent either way).

    Each submit is checked again by the library; this check only makes a command of
    several jobs (a storyboard on Ray 2) fail before the first one instead of midway.
    A ``--token`` that already produced a job sends nothing and is not refused.
    """
    from novareel.limits.budget import check_max_cost, check_standing_budget

    if token and api.ledger is not None and api.ledger.token_accepted(token):
        return
    check_max_cost(estimate, max_cost, what=what, name="--max-cost")
    check_standing_budget(api.ledger, estimate, endpoint=api.client.runtime_endpoint, what=what)
    arm(api, max_cost)
