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
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path

from novareel.foundation.errors import LedgerError

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
    from novareel.settings.paths import novareel_home

    return novareel_home() / LEDGER_FILENAME


def secure_new_file(path: Path) -> None:
    """Create ``path`` as a new 0600 file (it must not exist), its folder if needed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError as exc:
        raise LedgerError(f"{path} already exists; refusing to overwrite it") from exc
    except OSError as exc:
        raise LedgerError(f"cannot create {path}: {exc.strerror or exc}") from exc


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


#: The first 16 bytes of every SQLite 3 database file.
SQLITE_MAGIC = b"SQLite format 3\x00"


def disk_full(exc: BaseException) -> bool:
    """True for SQLite's "database or disk is full" (SQLITE_FULL)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return "disk is full" in str(exc) or code == sqlite3.SQLITE_FULL


def full_disk_error(path: Path | str) -> LedgerError:
    return LedgerError(
        f"the disk holding the ledger at {path} is full; nothing was recorded",
        hint="free some space on that disk (or point NOVAREEL_HOME at another one)"
        " and run the command again",
    )


def _move_aside_hint(path: Path) -> str:
    aside = path.with_name(path.name + ".broken")
    return (
        f"novareel never replaces a ledger by a new one on its own (its jobs and today's "
        f"spend would be forgotten). To start a new ledger, move this file aside first "
        f"(mv {path} {aside}); to restore one, copy a backup (`novareel ledger backup`) "
        "to this path."
    )


def check_ledger_file(path: Path) -> None:
    """Refuse an existing file that cannot be a ledger, before SQLite touches it.

    Why: SQLite treats an empty file as a new database, so a ledger emptied by a bad
    copy or a full disk would silently start over (history gone, the day's spend reset
    to $0, an identical job paid again). Refused: a 0-byte file, a file that does not
    start with SQLite's header, and one shorter than its header says (truncated).
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise LedgerError(
            f"cannot read the ledger at {path}: {exc.strerror or exc}",
            hint="check the file's permissions, or point NOVAREEL_HOME elsewhere",
        ) from exc
    found = None
    if size == 0:
        found = "is empty (0 bytes)"
    elif not header.startswith(SQLITE_MAGIC):
        found = f"is not a SQLite database ({size} bytes; it starts with {header[:16]!r})"
    elif len(header) == 100:
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        # The page count in the header is valid when "version-valid-for" equals the
        # change counter (every SQLite since 3.7.0 writes both).
        valid = header[92:96] == header[24:28]
        # While a -wal file holds frames, another process's checkpoint may be
        # writing the file (its header first): the size says nothing then, and
        # SQLite itself judges the pages when it reads them.
        wal = path.with_name(path.name + "-wal")
        busy = wal.exists() and wal.stat().st_size > 0
        if valid and not busy and pages and size < pages * page_size:
            found = (
                f"is truncated: {size} bytes where its header says {pages} pages of"
                f" {page_size} bytes ({pages * page_size} bytes)"
            )
    else:
        found = f"is truncated: {size} bytes, shorter than a SQLite header"
    if found is not None:
        raise LedgerError(
            f"the ledger at {path} {found}; refusing to use it, nothing was sent",
            hint=_move_aside_hint(path),
        )


def check_ledger_schema(conn: sqlite3.Connection, path: Path | str) -> None:
    """Refuse a SQLite database that holds tables but is not a novareel ledger."""
    names = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if names and "_migrations" not in names:
        shown = ", ".join(sorted(names)[:5])
        raise LedgerError(
            f"the file at {path} is a SQLite database but not a novareel ledger (its"
            f" tables: {shown}; no _migrations table); refusing to use it, nothing was"
            " sent",
            hint=_move_aside_hint(Path(path)),
        )


def _create_new(path: Path) -> None:
    """Create a new, empty ledger file at ``path`` atomically: never a 0-byte file
    another process could take for an emptied ledger.

    The SQLite header is written to a private temporary file in the same folder,
    which is then hard-linked into place; if another process created the ledger
    meanwhile, the link fails and theirs is used.
    """
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}-{id(path)}")
    try:
        _secure_file(tmp)
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # writes the header
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it meanwhile: use theirs
        except OSError:
            # No hard links here (some network or FUSE folders): fall back to an
            # exclusive create, SQLite then writes the header on first use.
            with suppress(FileExistsError):
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except sqlite3.DatabaseError as exc:
        if disk_full(exc):
            raise full_disk_error(path) from exc
        raise LedgerError(f"cannot create the ledger at {path}: {exc}") from exc
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            with suppress(FileNotFoundError):
                leftover.unlink()


#: SQLite connections this process has open, per ledger file (its real path).
_OPEN: dict[str, int] = {}
_OPEN_LOCK = threading.Lock()


class _Counted(sqlite3.Connection):
    """A connection that counts itself in :data:`_OPEN` until it is closed."""

    counted: str | None = None

    def close(self) -> None:
        super().close()
        with _OPEN_LOCK:
            key, self.counted = self.counted, None
            if key is not None:
                _OPEN[key] -= 1
                if not _OPEN[key]:
                    del _OPEN[key]


def connect(path: Path | str) -> sqlite3.Connection:
    """Open the ledger's SQLite file at ``path`` (creating a new one if there is no
    file) with the ledger's settings. An existing file that is empty, truncated or
    not a ledger is refused (:func:`check_ledger_file`), never replaced.

    ``":memory:"`` is accepted for throw-away databases (schema rendering, tests).
    """
    target = str(path)
    key = None
    if target != ":memory:":
        file_path = Path(path)
        try:
            file_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"cannot create the folder for the ledger at {file_path}") from exc
        key = os.path.realpath(file_path)
        with _OPEN_LOCK:
            # Only while this process has no connection on the file: closing ANY
            # descriptor of a file drops every POSIX lock the process holds on it,
            # SQLite's included, and its WAL is then checkpointed or deleted under the
            # other connections' feet (disk I/O errors, committed rows lost). A file
            # already open here was checked when it was first opened.
            if key not in _OPEN:
                if not file_path.exists():
                    _create_new(file_path)
                check_ledger_file(file_path)
                _secure_file(file_path)
            _OPEN[key] = _OPEN.get(key, 0) + 1
    try:
        # check_same_thread=False: the Ledger serialises use of its connection with a
        # lock, so worker threads (parallel waits, downloads) may share one instance.
        conn = sqlite3.connect(
            target,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
            factory=_Counted,
        )
        conn.counted = key
    except BaseException:
        if key is not None:
            with _OPEN_LOCK:
                _OPEN[key] -= 1
                if not _OPEN[key]:
                    del _OPEN[key]
        raise
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if target != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL is durable across application crashes (only a power
            # loss may roll back the last transactions) and avoids an fsync per commit.
            conn.execute("PRAGMA synchronous = NORMAL")
            check_ledger_schema(conn, target)
    except LedgerError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        if disk_full(exc):
            raise full_disk_error(target) from exc
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
