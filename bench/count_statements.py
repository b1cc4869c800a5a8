"""Run a novareel command and count the ledger statements it sends (a benchmark hook,
not product code).

Run: ``python bench/count_statements.py OUT.json -- batch FILE --local ...``. Every
:class:`~novareel.ledger.Ledger` the command opens gets a trace callback on its
connection (sqlite3's ``set_trace_callback``; the PostgreSQL adapter offers the same
one), which counts each statement as the ledger wrote it, grouped by its text. At
exit the counts are written to ``OUT.json``: ``{"total": N, "by_statement": {sql: n}}``.
A statement is one round trip on PostgreSQL (``BEGIN IMMEDIATE`` included: the
adapter sends ``BEGIN`` and the write lock as one), so the count is what the
PostgreSQL client pays per job, and the same SQL runs on SQLite.

Why a wrapper and not a switch in novareel: counting costs CPU of its own, and the
CPU benchmark must measure the command as users run it; the count comes from a
separate run of the same command.
"""

from __future__ import annotations

import atexit
import json
import re
import runpy
import sys
import threading
from collections import Counter
from pathlib import Path

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])", re.I)
_BOUND_NULL = re.compile(r"(?<=[(,]) ?NULL(?=[,)])")


def _normal(sql: str) -> str:
    """One key per statement shape: whitespace folded, and the values sqlite3's
    trace shows bound (strings, numbers, NULL arguments) as ``?``, so one statement
    with different values counts as one; an ``IN (?, ?, ...)`` list of any length
    too. (Only the grouping: the total counts every statement.)"""
    text = re.sub(r"\s+", " ", sql).strip()
    text = _NUMBER.sub("?", _STRING.sub("?", text))
    text = _BOUND_NULL.sub("?", text)
    return re.sub(r"\((?:\?, ?)*\?\)", "(?, ...)", text)


def install(out: Path) -> Counter[str]:
    """Count every statement of every Ledger opened from now on; dump to ``out``."""
    from novareel.ledger import core

    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def trace(sql: str) -> None:
        key = _normal(sql)
        with lock:
            counts[key] += 1

    original = core.LedgerCore.__init__

    def init(self: core.LedgerCore, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        self.conn.set_trace_callback(trace)

    core.LedgerCore.__init__ = init  # type: ignore[method-assign]

    def dump() -> None:
        with lock:
            data = {"total": sum(counts.values()), "by_statement": dict(counts.most_common())}
        out.write_text(json.dumps(data, indent=1), encoding="utf-8")

    atexit.register(dump)
    return counts


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        raise SystemExit("usage: count_statements.py OUT.json -- NOVAREEL-ARGS...")
    install(Path(sys.argv[1]))
    sys.argv = ["novareel", *sys.argv[3:]]
    runpy.run_module("novareel", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
