"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql`` binaries, a
cluster in a temporary folder, trust authentication on 127.0.0.1 at a free port,
one database for the session and a fresh schema (a complete ledger) per test, all
of it removed at the end of the session.

Why a real server and not a mock: what the PostgreSQL ledger must prove (one writer
at a time across processes, identity columns, partial unique indexes, the adapter's
translations) only exists in the server. Under CI (``CI`` set) a server that cannot
start FAILS the tests that need it; elsewhere they are skipped with the reason.

The cluster runs as the unprivileged ``postgres`` user when the tests run as root
(PostgreSQL refuses to run as root), via ``runuser``; the temporary folder is given
to that user. As any other user it runs as that user. A test process killed outright
leaves its server running (PostgreSQL has no parent-death signal): stop it with
``pg_ctl -D /tmp/novareel-pg-*/data stop``. Import the fixtures into a ``conftest.py``::

    from tests.pg import pg_cluster, pg_database, pg_url, pg_urls  # noqa: F401
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_PG_USER = "postgres"


class ClusterUnavailable(RuntimeError):
    """PostgreSQL cannot be started here (no binaries, no user, no psycopg...)."""


def _bin_dir() -> Path:
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        (Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for folder in reversed(found):
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    initdb = shutil.which("initdb")
    if initdb:  # elsewhere (e.g. a distribution that puts them on PATH)
        return Path(initdb).resolve().parent
    raise ClusterUnavailable(
        "PostgreSQL's server binaries are not installed (apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway server: its folder, port and how to run its tools."""

    root: Path
    bin: Path
    port: int
    as_user: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{_PG_USER}@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            check=False,
        )

    def admin(self, sql: str) -> None:
        """Run one statement as the superuser, outside any transaction."""
        self.admin_in("postgres", sql)

    def admin_in(self, database: str, sql: str) -> None:
        """Run one statement as the superuser in ``database``, outside any transaction."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)  # type: ignore[arg-type]  (trusted test SQL)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def new_ledger(self, database: str) -> tuple[str, str]:
        """(schema, URL) of a fresh, empty ledger: a new schema in ``database``, named
        by the URL's ``search_path`` (the tests' :func:`pg_urls` and the benches')."""
        schema = f"t_{uuid.uuid4().hex[:16]}"
        self.admin_in(database, f"CREATE SCHEMA {schema}")
        return schema, f"{self.url(database)}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb + start a cluster in a new temporary folder; ClusterUnavailable if not."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise ClusterUnavailable("psycopg is not installed (pip install -e '.[postgres]')") from exc
    folder = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="novareel-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(_PG_USER)
        except KeyError as exc:
            shutil.rmtree(root, ignore_errors=True)
            raise ClusterUnavailable(f"no {_PG_USER!r} user to run PostgreSQL as") from exc
        runuser = shutil.which("runuser")
        if not runuser:
            shutil.rmtree(root, ignore_errors=True)
            raise ClusterUnavailable("runuser is missing: cannot drop root to start PostgreSQL")
        os.chown(root, entry.pw_uid, entry.pw_gid)
        as_user = [runuser, "-u", _PG_USER, "--"]
    cluster = Cluster(root=root, bin=folder, port=0, as_user=as_user)
    done = cluster.run(
        str(folder / "initdb"),
        "-D",
        str(cluster.data),
        "-U",
        _PG_USER,
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise ClusterUnavailable(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
    last = ""
    for _attempt in range(3):  # a free port may be taken between the probe and the start
        cluster.port = _free_port()
        options = (
            f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200 -c shared_buffers=32MB"
        )
        started = cluster.run(
            str(folder / "pg_ctl"),
            "-D",
            str(cluster.data),
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )
        if started.returncode == 0:
            return cluster
        log = root / "server.log"
        last = log.read_text(errors="replace")[-2000:] if log.exists() else started.stderr
    shutil.rmtree(root, ignore_errors=True)
    raise ClusterUnavailable(f"PostgreSQL did not start: {last.strip()}")


def unavailable(reason: str) -> None:
    """Fail under CI (the server is part of the test environment), else skip."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway server for the session (started on first use, stopped at the end)."""
    try:
        cluster = start_cluster()
    except (ClusterUnavailable, OSError, subprocess.SubprocessError) as exc:
        unavailable(str(exc))
        raise  # unreachable: unavailable() raises
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_database(pg_cluster: Cluster) -> Iterator[str]:
    """One database for the session's ledgers (each test gets its own schema in it)."""
    name = pg_cluster.create_database()
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            pg_cluster.drop_database(name)


@pytest.fixture
def pg_urls(pg_cluster: Cluster, pg_database: str) -> Iterator[Callable[[], str]]:
    """``new()``: the URL of a fresh, empty ledger, as many as a test needs: each a
    new schema in the session's database, named by the URL's ``search_path``, all
    dropped after the test.

    Why a schema and not a database per test: ``CREATE DATABASE`` takes ~0.6 s here
    (it copies a template), a schema a few milliseconds, and a schema is a complete,
    separate ledger (tables, sequences, its own write lock) all the same.
    """
    made: list[str] = []

    def new() -> str:
        schema, url = pg_cluster.new_ledger(pg_database)
        made.append(schema)
        return url

    try:
        yield new
    finally:
        for schema in made:
            with contextlib.suppress(Exception):
                pg_cluster.admin_in(pg_database, f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_url(pg_urls: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL ledger for one test (see :func:`pg_urls`)."""
    return pg_urls()


#: For a ledger test that checks something only SQLite has (the file, its WAL, a
#: query plan): run it on the SQLite backend only, saying why next to the mark.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
