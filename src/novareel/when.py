"""Times a person types: ``--since 2026-11-01``, ``--since 12h``.

Shared by the commands that filter the ledger (``jobs``, ``list``, ``spend``) and by the
MCP server's ``list_jobs``, so one spelling works everywhere.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from novareel.errors import InvalidRequestError, Problem

__all__ = ["parse_when"]

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(value: str | None, *, field: str = "since") -> datetime | None:
    """An ISO date/time, or a relative age such as ``30m``, ``12h``, ``7d`` (ago)."""
    if value is None:
        return None
    text = value.strip()
    match = _RELATIVE.match(text.lower())
    if match:
        delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        return datetime.now(timezone.utc) - delta
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(
            Problem(
                field,
                f"{value!r} is neither an ISO date/time nor an age like 12h or 7d",
                value=value,
                limit="YYYY-MM-DD[THH:MM[:SS]] | <n>s|m|h|d|w",
            )
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
