"""Opening the ledger's SQLite file safely, and the small helpers every query needs.

Why these settings:

* **0600 from the first byte.** The file records prompts, bucket names and account ids;
  other local users have no business reading it. We create it with ``os.open(...,
  0o600)`` *before* SQLite touches it (SQLite would otherwise create it 0644 under the
  usual umask) and tighten an existing file that is looser. SQLite gives its ``-wal``
  and ``-shm`` side files the permissions of the main file, so they follow.
* **WAL + busy_timeout.** A batch run and a ``novareel jobs`` in another terminal use
  the same file at the same time. WAL lets readers proceed while one process writes,
  and the busy timeout makes a second writer wait for the lock instead of failing with
  ``database is locked``.
* **Explicit transactions.** The connection runs in autocommit mode
  (``isolation_level=None``) and writes go through :func:`transaction`, which starts
  with ``BEGIN IMMEDIATE``: the write lock is taken up front, so two writers queue
  instead of deadlocking when both try to upgrade a read lock.
* **Foreign keys on.** SQLite leaves them off by default; the ledger relies on them
  for status events, retry links and batch links.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from novareel.errors import LedgerError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "FILE_MODE",
    "connect",
    "default_path",
    "from_iso",
    "to_iso",
    "transaction",
    "utc_now",
]

#: Permissions of the ledger file: read/write for its owner only.
FILE_MODE = 0o600
#: How long a writer waits for another process's lock before giving up.
BUSY_TIMEOUT_MS = 30_000
LEDGER_FILENAME = "ledger.db"


def default_path() -> Path:
    """``$NOVAREEL_HOME/ledger.db``, or the platform's user data folder without it."""
    from novareel.paths import novareel_home

    return novareel_home() / LEDGER_FILENAME


def _secure_file(path: Path) -> None:
    """Create ``path`` as 0600 if missing; strip group/other bits if it exists."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise LedgerError(
            f"cannot create or open the ledger at {path}: {exc.strerror or exc}",
            hint="check the folder's permissions, or point NOVAREEL_HOME elsewhere",
        ) from exc
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077 and os.name == "posix":
            os.fchmod(fd, mode & ~0o077 & 0o777)
    finally:
        os.close(fd)


def connect(path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed) the SQLite file at ``path`` with the ledger's settings.

    ``":memory:"`` is accepted for throw-away databases (schema rendering, tests).
    """
    target = str(path)
    if target != ":memory:":
        file_path = Path(path)
        try:
            file_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"cannot create the folder for the ledger at {file_path}") from exc
        _secure_file(file_path)
    try:
        # check_same_thread=False: the Ledger serialises use of its connection with a
        # lock, so worker threads (parallel waits, downloads) may share one instance.
        conn = sqlite3.connect(
            target,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if target != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL is durable across application crashes (only a power
            # loss may roll back the last transactions) and avoids an fsync per commit.
            conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        raise LedgerError(
            f"cannot open the ledger at {target}: {exc}",
            hint="the file may not be a novareel ledger, or may be damaged",
        ) from exc
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one write transaction: all of it is committed, or none.

    ``BEGIN IMMEDIATE`` takes the write lock at once (waiting up to the busy timeout),
    so a read-then-write block such as "insert unless the token exists" cannot be
    interleaved with another process doing the same.
    """
    if conn.in_transaction:
        # Nested use joins the outer transaction rather than committing it early.
        yield conn
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise LedgerError(
            f"the ledger is busy or unavailable: {exc}",
            hint="another novareel process may hold it; try again",
        ) from exc
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def to_iso(value: datetime) -> str:
    """A fixed-width ISO-8601 UTC string, so text order is time order in SQL.

    A naive datetime is taken to be UTC already (boto3 returns aware ones).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(value: str) -> datetime:
    """Parse a stored timestamp back into an aware UTC datetime."""
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
