"""The job ledger: the only place novareel keeps state, and the only database user.

Every job is recorded *before* it is submitted (see :mod:`novareel.ledger.store` for
the write-before-submit protocol), so a crash never loses a paid job and a retry never
pays twice. The file lives at ``$NOVAREEL_HOME/ledger.db`` (else the platform's user
data folder), is created 0600 and never holds credentials or image bytes. A team
can share one on PostgreSQL instead (``NOVAREEL_LEDGER_URL``, :mod:`.backend`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from novareel.ledger.models import (
    ACTIVE_STATUSES,
    LOCAL_EMULATOR_GONE,
    NOT_SENT,
    TERMINAL_STATUSES,
    BatchRecord,
    JobRecord,
    Reservation,
    SpendRow,
    StatusEvent,
)
from novareel.ledger.store import Ledger

if TYPE_CHECKING:
    from novareel.ledger.schema import ledger_schema_markdown

__all__ = [
    "ACTIVE_STATUSES",
    "LOCAL_EMULATOR_GONE",
    "NOT_SENT",
    "TERMINAL_STATUSES",
    "BatchRecord",
    "JobRecord",
    "Ledger",
    "Reservation",
    "SpendRow",
    "StatusEvent",
    "ledger_schema_markdown",
]


def __getattr__(name: str) -> Any:
    # The schema renderer is for docs; commands should not pay for importing it.
    if name == "ledger_schema_markdown":
        from novareel.ledger.schema import ledger_schema_markdown

        return ledger_schema_markdown
    raise AttributeError(f"module 'novareel.ledger' has no attribute {name!r}")
