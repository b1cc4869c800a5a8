"""Times a person types: ``--since 2026-11-01``, ``--since 12h``.

Shared by the commands that filter the ledger (``jobs``, ``list``, ``spend``) and by the
MCP server's ``list_jobs``, so one spelling works everywhere, and so does one refusal:
an age beyond :data:`MAX_AGE_DAYS` (``--since 99999999d`` overflowed ``datetime`` into
an ``OverflowError`` traceback) or a date at the very edge of what ``datetime`` holds
is an InvalidRequestError naming the option, the value and the allowed range.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from novareel.foundation.errors import InvalidRequestError, Problem

__all__ = ["MAX_AGE_DAYS", "parse_when"]

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
#: The oldest age accepted (100 years): older than any ledger, far from datetime's year 1.
MAX_AGE_DAYS = 36_500
#: Dates this close to datetime's own limits are refused: later arithmetic (a spend
#: period, a UTC conversion) would overflow.
_EDGE = timedelta(days=2)
_FIRST = datetime.min.replace(tzinfo=timezone.utc) + _EDGE
_LAST = datetime.max.replace(tzinfo=timezone.utc) - _EDGE
_LIMIT = (
    f"an age <n>s|m|h|d|w of at most {MAX_AGE_DAYS}d ({MAX_AGE_DAYS // 7}w), "
    "or a date YYYY-MM-DD[THH:MM[:SS]] from 0001-01-03 to 9999-12-29"
)


def parse_when(
    value: str | None, *, field: str = "since", flag: str | None = None
) -> datetime | None:
    """An ISO date/time, or a relative age such as ``30m``, ``12h``, ``7d`` (ago).

    ``flag`` is the option as the command line spells it (``--since``), so a refusal
    names it; the MCP server leaves it out and its callers see ``field``.
    """
    if value is None:
        return None
    text = value.strip()
    match = _RELATIVE.match(text.lower())
    if match:
        digits, unit = match.groups()
        # More digits than any allowed age never reach int() (which refuses 4300+
        # digits) nor timedelta (which overflows).
        if len(digits) > 12 or int(digits) * _SECONDS[unit] > MAX_AGE_DAYS * 86_400:
            raise _refused(value, field, flag, f"is too far back: at most {MAX_AGE_DAYS} days")
        delta = timedelta(**{_UNITS[unit]: int(digits)})
        return datetime.now(timezone.utc) - delta
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _refused(
            value, field, flag, "is neither an ISO date/time nor an age like 12h or 7d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        inside = _FIRST <= parsed <= _LAST
    except OverflowError:  # pragma: no cover - an offset at datetime's very edge
        inside = False
    if not inside:
        raise _refused(value, field, flag, "is outside the range of dates")
    return parsed


def _refused(value: str, field: str, flag: str | None, what: str) -> InvalidRequestError:
    """The one refusal: option (or field), value (cut if long), what is wrong, the range."""
    shown = value if len(value) <= 80 else value[:77] + "..."
    return InvalidRequestError(
        Problem(field, f"{shown!r} {what}", value=value, limit=_LIMIT, flag=flag)
    )
