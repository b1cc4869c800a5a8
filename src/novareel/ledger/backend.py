"""Where the ledger lives (a SQLite file, or a PostgreSQL database for a team), and
the one adapter that lets the same SQL run on both.

Choosing the backend: ``NOVAREEL_LEDGER_URL`` (a ``postgresql://`` URL) wins, then
``url`` under ``[ledger]`` in ``<NOVAREEL_HOME>/config.toml``; without either the
ledger is the SQLite file ``<NOVAREEL_HOME>/ledger.db``, as always. An empty
variable counts as unset; ``NOVAREEL_LEDGER_URL=sqlite`` uses the local file for one
shell whatever the config file says.

Why an adapter and not SQLAlchemy Core: the ledger's SQL is written once, in the
small dialect both databases share (plain ``SELECT``/``INSERT``/``UPDATE``, ``?``
placeholders, ``COALESCE``, partial indexes), and every mixin and migration speaks
DB-API to a ``sqlite3.Connection``. Expressing all of it again as SQLAlchemy
expressions would rewrite every query (and every future one) for a translation that
needs a handful of rules. :class:`PgConnection` presents the part of
``sqlite3.Connection`` the ledger uses (``execute``, ``executemany``,
``in_transaction``, ``close``; rows indexable by name and position; a cursor's
``lastrowid`` and ``rowcount``; sqlite3's DB-API exception classes) over a psycopg 3
connection, and :func:`translate` rewrites each statement once (cached):

* ``?`` placeholders become ``%s`` (and a literal ``%`` becomes ``%%``); SQLite's
  numbered ``?NNN`` too, the parameters reordered (and repeated) to match;
* ``BEGIN IMMEDIATE`` / ``BEGIN EXCLUSIVE`` (take the write lock now) become
  ``BEGIN`` plus ``pg_advisory_xact_lock`` on one key per ledger: one writer at a
  time across every process and machine sharing the database, exactly SQLite's
  rule, so a read-then-write transaction cannot interleave with another; reads never
  wait (each statement reads the latest committed state, READ COMMITTED);
* ``PRAGMA ...`` is skipped (SQLite's file settings; foreign keys are always on in
  PostgreSQL);
* ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``;
* ``x IS ?`` / ``x IS NOT ?`` become ``IS [NOT] DISTINCT FROM`` (SQLite's null-safe
  equality);
* ``SUM(x IS NULL)`` / ``SUM(x IS NOT NULL)`` count with ``CASE`` (PostgreSQL does
  not add booleans), and ``CASE WHEN ? THEN`` tests the parameter as an integer;
* every ``ORDER BY`` term and ``CREATE INDEX`` column gets SQLite's NULL order
  (``NULLS FIRST`` ascending, ``NULLS LAST`` descending: NULL is the smallest
  value in SQLite, the largest in PostgreSQL), so results come in the same order
  and indexes still serve the listings;
* ``IFNULL(`` becomes ``COALESCE(``; ``REAL`` becomes ``DOUBLE PRECISION`` (SQLite's
  REAL is 8 bytes, PostgreSQL's 4);
* in ``CREATE TABLE`` / ``ALTER TABLE``: ``INTEGER PRIMARY KEY [AUTOINCREMENT]``
  becomes an identity column (SQLite's rowid alias: the database numbers new
  rows), ``TEXT`` gets ``COLLATE "C"`` (byte order, as SQLite compares text, so
  listings sort the same on both), and a table without an integer key gets a hidden
  ``rowid`` identity column, so ``ORDER BY rowid`` (insertion order) means the same;
* an ``INSERT`` into a table with an ``id`` identity column gets ``RETURNING id``
  (unless it returns rows of its own: ``RETURNING *``),
  which is what the cursor's ``lastrowid`` reports; one that writes ids of its own
  (a copy, an import) moves the identity past them, as SQLite's next rowid is the
  largest plus one.

What stays SQLite-only: the file (0600 mode, folder, WAL), file checks and backups.
On PostgreSQL the server's own access control, backups (``pg_dump``) and durability
apply. Timestamps are never computed by the database (``datetime('now')``): the
ledger writes ISO-8601 UTC text computed in Python, so both store the same values.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from novareel.foundation.errors import InvalidRequestError, LedgerError, Problem

__all__ = [
    "LEDGER_URL_ENV",
    "PgConnection",
    "Translated",
    "connect_postgres",
    "connect_target",
    "describe",
    "is_postgres",
    "job_origin",
    "ledger_target",
    "redact",
    "table_exists",
    "translate",
]

LEDGER_URL_ENV = "NOVAREEL_LEDGER_URL"
_SCHEMES = ("postgresql", "postgres")
_SQLITE_WORDS = ("sqlite", "file", "local")
_URL_LIMIT = "postgresql://USER@HOST[:PORT]/DATABASE (or 'sqlite' for the local file)"
#: The advisory lock every ledger write transaction takes: this number (any fixed
#: 32-bit one; "nrl\0" in ASCII) and the hash of the ledger's schema, so one ledger
#: is one lock (a database may hold several ledgers, one per schema).
WRITE_LOCK_KEY = 0x6E726C00
_WRITE_LOCK = f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY}, hashtext(current_schema()))"
#: How long a writer waits for another's write transaction (SQLite's busy timeout).
LOCK_TIMEOUT_MS = 30_000


# ------------------------------------------------------------------------ where


def is_postgres(target: object) -> bool:
    """True when ``target`` is a ``postgresql://`` (or ``postgres://``) URL."""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in _SCHEMES


def redact(url: str) -> str:
    """The URL without its password (for messages, ``repr`` and ``doctor``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def describe(target: Path | str) -> str:
    """How messages name a ledger: the file's path, or the URL without its password."""
    return redact(target) if isinstance(target, str) and is_postgres(target) else str(target)


def _check_url(value: str, *, field: str) -> str | None:
    """A PostgreSQL URL, ``None`` for "the local file", or a clear refusal."""
    text = value.strip()
    if text.lower() in _SQLITE_WORDS:
        return None
    if not is_postgres(text) or not urlsplit(text).path.strip("/"):
        raise InvalidRequestError(
            Problem(
                field,
                f"{redact(text)!r} is not a PostgreSQL URL naming a database;"
                f" expected {_URL_LIMIT}",
                value=redact(text),
                limit=_URL_LIMIT,
            ),
            hint="Leave it unset (or set it to 'sqlite') to keep the ledger in"
            " <NOVAREEL_HOME>/ledger.db; see docs/ledger.md#postgresql-for-teams.",
        )
    return text


def ledger_target(environ: dict[str, str] | None = None) -> Path | str:
    """Where the default ledger lives: a PostgreSQL URL, or the SQLite file's path.

    ``NOVAREEL_LEDGER_URL`` wins over ``[ledger] url`` in ``config.toml``; ``sqlite``
    in either means the local file. Read on every open, so a changed file applies to
    the next command. A bad value raises :class:`InvalidRequestError` naming the
    variable or key, before anything is sent.
    """
    from novareel.ledger.db import default_path

    env = os.environ if environ is None else environ
    raw = env.get(LEDGER_URL_ENV, "")
    if raw.strip():
        url = _check_url(raw, field=LEDGER_URL_ENV)
        return default_path() if url is None else url
    from novareel.settings.config import config_path, read_table

    path = config_path()
    table = read_table(path, "ledger", ("url",), docs="docs/ledger.md")
    if "url" in table:
        value = table["url"]
        field = f"{path} [ledger] url"
        if not isinstance(value, str):
            raise InvalidRequestError(
                Problem(field, f"{value!r} is not a string", value=value, limit=_URL_LIMIT)
            )
        url = _check_url(value, field=field)
        if url is not None:
            return url
    return default_path()


# ------------------------------------------------------------------ translation


@dataclass(frozen=True)
class Translated:
    """One statement as PostgreSQL runs it, and what the adapter does around it."""

    sql: str
    #: "sql" (run it), "skip" (a PRAGMA), "begin" / "begin_write" (start a transaction),
    #: "commit" (end one)
    kind: str = "sql"
    #: the table an INSERT writes into (for ``RETURNING id``), else None
    insert_into: str | None = None
    #: which parameter each ``%s`` takes, when the SQL numbered them (``?NNN``)
    order: tuple[int, ...] | None = None
    #: the INSERT may give ``id`` itself (it names the column, or names none)
    gives_id: bool = False
    #: the statement has its own ``RETURNING`` clause (its rows are the result)
    returns: bool = False
    #: CREATE TABLE / ALTER TABLE: the adapter forgets what it knew of the schema
    ddl: bool = False

    def bind(self, parameters: Sequence[Any]) -> tuple[Any, ...]:
        """The parameters in the order of the translated placeholders."""
        if self.order is None:
            return tuple(parameters)
        return tuple(parameters[i] for i in self.order)


_LITERAL = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")
_BEGIN = re.compile(
    r"^\s*BEGIN(?:\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(?:\s+TRANSACTION)?\s*;?\s*$", re.I
)
_COMMIT = re.compile(r"^\s*(?:COMMIT|END)(?:\s+TRANSACTION)?\s*;?\s*$", re.I)
_PRAGMA = re.compile(r"^\s*PRAGMA\b", re.I)
_DDL = re.compile(r"^\s*(CREATE\s+(?:TEMP\w*\s+)?TABLE|ALTER\s+TABLE)\b", re.I)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+(?:TEMP\w*\s+)?TABLE\b", re.I)
_INSERT_INTO = re.compile(r"^\s*INSERT\s+(?:OR\s+IGNORE\s+)?INTO\s+(\w+)", re.I)
_INSERT_OR_IGNORE = re.compile(r"^(\s*INSERT)\s+OR\s+IGNORE\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bIS\s+NOT\s+\?", re.I), "IS DISTINCT FROM ?"),
    (re.compile(r"\bIS\s+\?", re.I), "IS NOT DISTINCT FROM ?"),
    (
        re.compile(r"\bSUM\(\s*([^()]+?)\s+IS\s+(NOT\s+)?NULL\s*\)", re.I),
        r"SUM(CASE WHEN \1 IS \2NULL THEN 1 ELSE 0 END)",
    ),
    (re.compile(r"\bWHEN\s+\?\s+THEN\b", re.I), "WHEN CAST(? AS INTEGER) <> 0 THEN"),
    (re.compile(r"\bIFNULL\(", re.I), "COALESCE("),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
)
_DDL_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\bINTEGER\s+PRIMARY\s+KEY(?:\s+AUTOINCREMENT)?\b", re.I),
        "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bTEXT\b", re.I), 'TEXT COLLATE "C"'),
)


_ORDER_BY = re.compile(r"\bORDER\s+BY\s", re.I)
_CREATE_INDEX = re.compile(r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\b[^(]*\bON\s+\w+\s*\(", re.I)
_CLAUSE_END = re.compile(r"\s(?:LIMIT|OFFSET|FETCH|FOR)\b", re.I)
_DESC = re.compile(r"\bDESC\s*$", re.I)
_NULLS = re.compile(r"\bNULLS\s+(?:FIRST|LAST)\b", re.I)


def _terms_end(sql: str, start: int) -> int:
    """Where the comma-separated terms starting at ``start`` end: a ``)`` closing an
    outer parenthesis, ``LIMIT``/``OFFSET``/... at the same depth, or the end."""
    depth = 0
    i = start
    while i < len(sql):
        char = sql[i]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and _CLAUSE_END.match(sql, i):
            return i
        i += 1
    return len(sql)


def _split_terms(text: str) -> list[str]:
    terms, depth, begin = [], 0, 0
    for i, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            terms.append(text[begin:i])
            begin = i + 1
    terms.append(text[begin:])
    return terms


def _sqlite_nulls(terms: str) -> str:
    """Each term with SQLite's NULL order spelled out: NULL is the smallest value
    (first ascending, last descending); PostgreSQL's default is the opposite."""
    out = []
    for term in _split_terms(terms):
        body = term.rstrip()
        if body and not _NULLS.search(body):
            body += " NULLS LAST" if _DESC.search(body) else " NULLS FIRST"
        out.append(body + term[len(term.rstrip()) :])
    return ",".join(out)


def _null_order(sql: str) -> str:
    """SQLite's NULL order in every ``ORDER BY`` and ``CREATE INDEX`` (so an index
    still serves the ORDER BY that matches it, in either direction)."""
    index = _CREATE_INDEX.match(sql)
    if index:
        end = _terms_end(sql, index.end())
        return sql[: index.end()] + _sqlite_nulls(sql[index.end() : end]) + sql[end:]
    out, at = [], 0
    for match in _ORDER_BY.finditer(sql):
        if match.start() < at:
            continue
        end = _terms_end(sql, match.end())
        out.append(sql[at : match.end()] + _sqlite_nulls(sql[match.end() : end]))
        at = end
    out.append(sql[at:])
    return "".join(out)


def _outside_literals(sql: str, rules: Sequence[tuple[re.Pattern[str], str]]) -> str:
    """Apply ``rules`` to the parts of ``sql`` outside quoted literals and names."""
    pieces = _LITERAL.split(sql)
    for i in range(0, len(pieces), 2):  # even pieces are outside quotes
        for pattern, replacement in rules:
            pieces[i] = pattern.sub(replacement, pieces[i])
    return "".join(pieces)


_MARK = re.compile(r"\?(\d*)")


def _placeholders(sql: str) -> tuple[str, tuple[int, ...] | None]:
    """``?`` and ``?NNN`` -> ``%s`` outside literals, every ``%`` (anywhere) doubled
    for psycopg; with the parameter index each ``%s`` takes when a ``?NNN`` (SQLite's
    numbered parameter, which may repeat one) is used, else None."""
    order: list[int] = []
    numbered = False

    def mark(match: re.Match[str]) -> str:
        nonlocal numbered
        if match.group(1):
            numbered = True
            order.append(int(match.group(1)) - 1)
        else:  # SQLite: a bare ? takes the number after the largest so far
            order.append(max(order, default=-1) + 1)
        return "%s"

    pieces = _LITERAL.split(sql.replace("%", "%%"))
    for i in range(0, len(pieces), 2):
        pieces[i] = _MARK.sub(mark, pieces[i])
    return "".join(pieces), (tuple(order) if numbered else None)


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> Translated:
    """The PostgreSQL form of one ledger statement (see the module docstring)."""
    begin = _BEGIN.match(sql)
    if begin:
        mode = (begin.group(1) or "").upper()
        return Translated("BEGIN", "begin_write" if mode in ("IMMEDIATE", "EXCLUSIVE") else "begin")
    if _COMMIT.match(sql):
        return Translated("COMMIT", "commit")
    if _PRAGMA.match(sql):
        return Translated("", "skip")
    text = _outside_literals(sql, _RULES)
    ddl = bool(_DDL.match(text))
    if ddl:
        text = _outside_literals(text, _DDL_RULES)
        if _CREATE_TABLE.match(text) and "IDENTITY PRIMARY KEY" not in text:
            close = text.rindex(")")
            rowid = ", rowid BIGINT GENERATED ALWAYS AS IDENTITY"
            text = text[:close].rstrip() + rowid + text[close:]
    insert = _INSERT_INTO.match(text)
    gives_id = False
    if insert:
        rest = text[insert.end() :].lstrip()
        columns = rest[1 : rest.find(")")] if rest.startswith("(") else None
        gives_id = columns is None or "id" in {c.strip().lower() for c in columns.split(",")}
    if _INSERT_OR_IGNORE.match(text):
        text = _INSERT_OR_IGNORE.sub(r"\1", text).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    text = _null_order(text)
    text, order = _placeholders(text)
    table = insert.group(1).lower() if insert else None
    returns = bool(_RETURNING.search("".join(_LITERAL.split(text)[::2])))
    return Translated(text, "sql", table, order, gives_id, returns, ddl)


# ---------------------------------------------------------------------- adapter


def _map_error(exc: Exception) -> sqlite3.Error:
    """psycopg's exception as the sqlite3 (DB-API) class the ledger already catches."""
    import psycopg

    message = str(exc).strip() or type(exc).__name__
    if isinstance(exc, psycopg.IntegrityError):
        return sqlite3.IntegrityError(message)
    if isinstance(exc, psycopg.DataError):
        return sqlite3.DataError(message)
    if isinstance(exc, psycopg.InterfaceError):
        return sqlite3.InterfaceError(message)
    return sqlite3.OperationalError(message)


class Row(dict[str, Any]):
    """A result row indexable by column name and by position, like ``sqlite3.Row``.

    Why a ``dict`` subclass: the ledger reads a job's row by name dozens of times
    (:func:`~novareel.ledger.core.job_record`), and a name lookup that is the dict's
    own (C) ``__getitem__`` costs a fraction of a Python ``__getitem__`` (issue 20:
    client CPU per job). A position is not a key, so it reaches ``__missing__``,
    which reads the values in column order. Everything else says what
    ``sqlite3.Row`` says: iteration, ``len`` and ``in`` see the values, ``keys()``
    is the list of column names. One difference: no slices (a dict hashes the key
    first; the ledger never slices a row; ``tuple(row)[a:b]`` does).
    """

    __slots__ = ("_values",)

    def __init__(self, values: Sequence[Any], names: Sequence[str]) -> None:
        super().__init__(zip(names, values, strict=False))
        self._values = tuple(values)

    def __missing__(self, key: Any) -> Any:
        if isinstance(key, int):
            return self._values[key]
        raise KeyError(key)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(dict.keys(self))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values and self.keys() == other.keys()
        return NotImplemented

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._values)

    def __repr__(self) -> str:
        return f"Row({dict(self.items())!r})"


class Cursor:
    """The rows of one statement (read at once: the ledger's results are small pages)
    with ``lastrowid`` and ``rowcount`` as sqlite3's cursor has them."""

    def __init__(self, rows: list[Row], *, lastrowid: int | None, rowcount: int) -> None:
        self._rows = rows
        self._at = 0
        self.lastrowid = lastrowid
        self.rowcount = rowcount

    def fetchone(self) -> Row | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[Row]:
        rest = self._rows[self._at :]
        self._at = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Row]:
        while (row := self.fetchone()) is not None:
            yield row


class PgConnection:
    """A psycopg 3 connection that runs the ledger's SQLite-dialect statements.

    Autocommit, as the SQLite connection (``isolation_level=None``): a statement
    outside ``BEGIN`` commits alone, and :func:`novareel.ledger.db.transaction`
    brackets writes with ``BEGIN IMMEDIATE`` / ``COMMIT`` / ``ROLLBACK``.
    """

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise LedgerError(
                f"the ledger is set to PostgreSQL ({redact(url)}) but psycopg is not installed",
                hint="pip install 'novareel[postgres]'",
            ) from exc
        self.url = url
        try:
            self._conn = psycopg.connect(
                url, autocommit=True, connect_timeout=10, application_name="novareel"
            )
            # SET, not the connection's ``options``: those would replace any the URL
            # carries (e.g. ``?options=-csearch_path%3Dteam`` for a schema per ledger).
            self._conn.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT_MS)}")
        except psycopg.Error as exc:
            raise LedgerError(
                f"cannot connect to the ledger at {redact(url)}: {str(exc).strip()}",
                hint=f"check the server, the URL in {LEDGER_URL_ENV} (or [ledger] url in"
                " config.toml) and its credentials (~/.pgpass or PGPASSWORD)",
            ) from exc
        self._conn.adapters.register_loader("numeric", _numeric_loader())
        # What every statement needs of psycopg, looked up once (an import or an
        # attribute chain per statement showed in the CPU profile: issue 20).
        from psycopg.pq import ExecStatus, TransactionStatus

        self._error: type[Exception] = psycopg.Error
        self._tuples_ok = ExecStatus.TUPLES_OK
        self._idle = TransactionStatus.IDLE
        self._info = self._conn.info
        self._pgconn = self._conn.pgconn
        self._command_ok = ExecStatus.COMMAND_OK
        self._identity_tables: set[str] | None = None
        self._columns: dict[str, tuple[str, ...]] = {}
        self._cur = self._conn.cursor()
        self._trace: Callable[[str], object] | None = None

    def set_trace_callback(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with each statement as the ledger wrote it (as sqlite3's
        does), so tests count statements and transactions the same on both."""
        self._trace = callback

    @property
    def in_transaction(self) -> bool:
        return bool(self._info.transaction_status != self._idle)

    def close(self) -> None:
        self._conn.close()

    def _tables_with_id(self) -> set[str]:
        if self._identity_tables is None:
            with self._conn.cursor() as cur:
                cur.execute(
                    "SELECT table_name FROM information_schema.columns"
                    " WHERE column_name = 'id' AND is_identity = 'YES'"
                    " AND table_schema = current_schema()"
                )
                self._identity_tables = {str(r[0]) for r in cur.fetchall()}
        return self._identity_tables

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        """Run one statement (translated once, then cached) with ``?`` parameters."""
        stmt = translate(sql)
        if self._trace is not None:
            self._trace(sql)
        if stmt.kind == "skip":
            return Cursor([], lastrowid=None, rowcount=-1)
        text = stmt.sql
        identity = stmt.insert_into is not None and stmt.insert_into in self._tables_with_id()
        returning = identity and not stmt.returns
        if returning:
            text = text.rstrip().rstrip(";") + " RETURNING id"
        if stmt.kind == "commit":
            self._commit()
            return Cursor([], lastrowid=None, rowcount=-1)
        cur = self._cur  # one cursor, reused: the Ledger's lock serialises its use
        try:
            if stmt.kind in ("begin", "begin_write"):
                # BEGIN and the write lock in one round trip (simple query, no params)
                cur.execute("BEGIN; " + _WRITE_LOCK if stmt.kind == "begin_write" else "BEGIN")
                return Cursor([], lastrowid=None, rowcount=-1)
            cur.execute(text, stmt.bind(parameters))
            rows = self._rows(cur, text)
            rowcount = cur.rowcount
        except self._error as exc:
            raise _map_error(exc) from exc
        if stmt.ddl:
            self._identity_tables = None  # a new table (or column) may have an id now
            self._columns.clear()
        if identity and stmt.gives_id:
            self._follow_ids(str(stmt.insert_into))
        lastrowid = None
        if returning:
            lastrowid = int(rows[0]["id"]) if rows else None
            rows = []
        return Cursor(rows, lastrowid=lastrowid, rowcount=rowcount)

    def _commit(self) -> None:
        """``COMMIT`` straight through libpq (blocking, the GIL released): no
        parameters, no rows, never waits for another transaction's lock; psycopg's
        cursor machinery (query conversion, the prepared-statement cache, its wait
        loop) cost ~15 us of client CPU more per call, and every write transaction
        ends with one (issue 20). Its outcome is checked as psycopg would."""
        from psycopg import errors

        result = self._pgconn.exec_(b"COMMIT")
        if result.status != self._command_ok:
            raise _map_error(errors.error_from_result(result, encoding=self._info.encoding))

    def _rows(self, cur: Any, text: str) -> list[Row]:
        """The statement's rows, their column names read once per statement (and
        again after any schema change): building them per call cost more than the
        query on a local server."""
        result = cur.pgresult
        if result is None or result.status != self._tuples_ok:
            return []
        names = self._columns.get(text)
        if names is None or len(names) != result.nfields:  # (another process's migration)
            names = tuple(bytes(result.fname(i) or b"").decode() for i in range(result.nfields))
            self._columns[text] = names
        return [Row(values, names) for values in cur.fetchall()]

    def _follow_ids(self, table: str) -> None:
        """After rows were written with ids of their own (a copy, an import), move
        the table's identity past them, as SQLite's next rowid is max(rowid) + 1."""
        import psycopg

        try:
            self._conn.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
                f" GREATEST((SELECT MAX(id) FROM {table}), 1))",  # table: an identifier
                (table,),
            )
        except psycopg.Error as exc:
            raise _map_error(exc) from exc

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]], /) -> Cursor:
        """Run one statement once per parameter row (no rows returned)."""
        import psycopg

        stmt = translate(sql)
        params = [stmt.bind(p) for p in seq_of_parameters]
        if self._trace is not None:
            for _ in params:
                self._trace(sql)
        if stmt.kind != "sql" or not params:
            return Cursor([], lastrowid=None, rowcount=0)
        try:
            if len(params) == 1:  # (one tag, one file): no pipeline to set up
                self._cur.execute(stmt.sql, params[0])
            else:
                self._cur.executemany(stmt.sql, params)
            rowcount = self._cur.rowcount
        except psycopg.Error as exc:
            raise _map_error(exc) from exc
        if stmt.gives_id and stmt.insert_into in self._tables_with_id():
            self._follow_ids(str(stmt.insert_into))
        return Cursor([], lastrowid=None, rowcount=rowcount)


@functools.cache
def _numeric_loader() -> type:
    """Numbers come back as Python ``int`` / ``float`` (SQLite's types), not
    ``Decimal``: ``SUM`` of integers is ``numeric`` in PostgreSQL."""
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        def load(self, data: Any) -> Any:
            text = bytes(data).decode("ascii")
            try:
                return int(text)
            except ValueError:
                return float(text)

    return NumericLoader


def connect_postgres(url: str) -> sqlite3.Connection:
    """Open the PostgreSQL ledger at ``url``.

    Typed as ``sqlite3.Connection`` on purpose: :class:`PgConnection` offers the
    subset of it that the ledger's modules use, so the mixins and migrations are
    written (and type-checked) once, against one connection type. Code that needs
    more than that subset (a file backup, ``PRAGMA`` checks) is SQLite-only and
    checks ``isinstance(conn, sqlite3.Connection)`` first.
    """
    return cast(sqlite3.Connection, PgConnection(url))


def job_origin() -> str:
    """``user@host:NOVAREEL_HOME``: who records a job and from where (m011's
    ``origin``), so a team sharing a ledger can tell its members' jobs apart."""
    import getpass
    import socket

    from novareel.settings.paths import HOME_ENV

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    home = os.environ.get(HOME_ENV) or "default home"
    return f"{user}@{socket.gethostname()}:{home}"


def connect_target(target: Path | str) -> sqlite3.Connection:
    """Open the ledger database at ``target``: a ``postgresql://`` URL, else a file
    path (or ``":memory:"``), with the settings of :func:`novareel.ledger.db.connect`."""
    if is_postgres(target):
        return connect_postgres(str(target))
    from novareel.ledger.db import connect

    return connect(target)


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    """Whether table ``name`` exists (each database keeps its own catalogue)."""
    if isinstance(conn, PgConnection):
        row = conn.execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()
    else:
        row = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
    return bool(row is not None and row[0])
