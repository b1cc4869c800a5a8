"""The ledger's schema, as an ordered list of small named migrations applied once each.

Borrowed from simonw/llm: each migration is a plain function decorated with
:func:`migration`; :func:`migrate` applies the ones not yet recorded in the
``_migrations`` table, in order, each in its own transaction together with the row
that records it. A ledger written by any earlier novareel therefore upgrades in place,
and a crash half-way through a migration leaves the file at the previous schema rather
than in between.

Rules for adding one: append a new function at the end (never edit or reorder a
released one), keep it small, and keep it working on a database that holds data
(``ALTER TABLE ... ADD COLUMN`` with a default, or copy-and-swap).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from novareel.foundation.errors import LedgerError
from novareel.ledger.backend import table_exists
from novareel.ledger.db import disk_full, full_disk_error, to_iso, transaction, utc_now

__all__ = ["JOB_STATUSES", "MIGRATIONS", "Migration", "applied_migrations", "migrate", "migration"]

#: Every status a job row may hold, as m001's CHECK constraint spells them. This is
#: schema history, so it stays a literal: :class:`novareel.foundation.status.JobStatus` is where
#: the names live, and a test keeps the two equal. A new status needs a new migration
#: that widens the CHECK; editing this tuple would not change any existing ledger.
JOB_STATUSES = ("Submitting", "InProgress", "Completed", "Failed", "Rejected")

MigrationFunc = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migration:
    """One schema step: its recorded name and the function that performs it."""

    name: str
    func: MigrationFunc

    @property
    def summary(self) -> str:
        """The first line of the function's docstring (used in the generated docs)."""
        doc = (self.func.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


#: All migrations in the order they are applied. Append only.
MIGRATIONS: list[Migration] = []


def migration(func: MigrationFunc) -> MigrationFunc:
    """Register ``func`` as the next migration, recorded under its function name."""
    if any(m.name == func.__name__ for m in MIGRATIONS):
        raise ValueError(f"duplicate migration name {func.__name__}")
    MIGRATIONS.append(Migration(func.__name__, func))
    return func


def _ensure_migrations_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations ( name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations already applied to this database, oldest first."""
    if not table_exists(conn, "_migrations"):
        return []
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] | None = None) -> list[str]:
    """Apply the migrations not yet applied; return the names applied now.

    ``migrations`` defaults to :data:`MIGRATIONS`; tests pass a prefix of it to build
    a database exactly as an earlier release would have left it.
    """
    steps = list(MIGRATIONS if migrations is None else migrations)
    done_now: list[str] = []
    try:
        with transaction(conn):
            _ensure_migrations_table(conn)
        for step in steps:
            # Each step re-reads what is applied inside its own write transaction, so
            # two processes opening a fresh ledger at once apply every step once.
            with transaction(conn):
                applied = set(applied_migrations(conn))
                if step.name in applied:
                    continue
                step.func(conn)
                conn.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                    (step.name, to_iso(utc_now())),
                )
                done_now.append(step.name)
    except sqlite3.DatabaseError as exc:
        if disk_full(exc):
            raise full_disk_error("its path") from exc
        raise LedgerError(
            f"cannot migrate the ledger: {exc}",
            hint="the file may be damaged or written by an incompatible tool",
        ) from exc
    return done_now


_STATUS_CHECK = ", ".join(f"'{s}'" for s in JOB_STATUSES)


@migration
def m001_jobs(db: sqlite3.Connection) -> None:
    """One row per job, and the history of its statuses."""
    db.execute(
        f"""
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            client_token TEXT NOT NULL UNIQUE,
            invocation_arn TEXT UNIQUE,
            invocation_id TEXT,
            model_id TEXT NOT NULL,
            task_type TEXT NOT NULL,
            request_json TEXT NOT NULL DEFAULT '{{}}',
            output_uri TEXT,
            status TEXT NOT NULL CHECK (status IN ({_STATUS_CHECK})),
            duration_seconds INTEGER,
            seed INTEGER,
            estimated_cost_usd REAL,
            failure_type TEXT,
            failure_message TEXT,
            failure_shot INTEGER,
            created_at TEXT NOT NULL,
            submit_time TEXT,
            end_time TEXT,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX jobs_invocation_id ON jobs (invocation_id)")
    db.execute("CREATE INDEX jobs_status ON jobs (status)")
    db.execute(
        """
        CREATE TABLE status_events (
            id INTEGER PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            at TEXT NOT NULL,
            detail TEXT
        )
        """
    )
    db.execute("CREATE INDEX status_events_job ON status_events (job_id, id)")


@migration
def m002_batches_and_retries(db: sqlite3.Connection) -> None:
    """Batches (one per batch file), each job's place in one, and retry links."""
    db.execute(
        """
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            identity TEXT NOT NULL UNIQUE,
            file_path TEXT NOT NULL,
            created_at TEXT NOT NULL,
            defaults_json TEXT NOT NULL DEFAULT '{}'
        )
        """
    )
    db.execute("ALTER TABLE jobs ADD COLUMN batch_id INTEGER REFERENCES batches (id)")
    db.execute("ALTER TABLE jobs ADD COLUMN batch_item TEXT")
    db.execute("ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE jobs ADD COLUMN retry_of INTEGER REFERENCES jobs (id)")
    # One (batch, item, attempt) exists once: a resumed batch cannot pay for the same
    # item twice by accident; a retry is a new row with attempt + 1. Jobs outside a
    # batch have a NULL batch_id, and NULLs never collide in a UNIQUE index.
    db.execute(
        "CREATE UNIQUE INDEX jobs_batch_item_attempt ON jobs (batch_id, batch_item, attempt)"
    )
    db.execute("CREATE INDEX jobs_retry_of ON jobs (retry_of)")


@migration
def m003_files_and_tags(db: sqlite3.Connection) -> None:
    """Local files downloaded for a job, and the job's tags."""
    db.execute(
        """
        CREATE TABLE job_files (
            job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            added_at TEXT NOT NULL,
            PRIMARY KEY (job_id, path)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE job_tags (
            job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (job_id, key)
        )
        """
    )
    db.execute("CREATE INDEX job_tags_key_value ON job_tags (key, value)")


@migration
def m004_output_options(db: sqlite3.Connection) -> None:
    """The output bucket's owner and KMS key, so a retry writes exactly where the
    original job did (and encrypted the same way)."""
    db.execute("ALTER TABLE jobs ADD COLUMN output_bucket_owner TEXT")
    db.execute("ALTER TABLE jobs ADD COLUMN output_kms_key_id TEXT")


@migration
def m005_endpoint(db: sqlite3.Connection) -> None:
    """Which endpoint a job was sent to (NULL: AWS's own), so spend and listings can
    tell a job that cost money on AWS from one that ran on a local emulator."""
    db.execute("ALTER TABLE jobs ADD COLUMN endpoint TEXT")


@migration
def m006_name_and_out_dir(db: sqlite3.Connection) -> None:
    """Each job's name, download folder and whether its emulator died with its command.

    ``name`` (``generate --name``) and ``out_dir`` (``--out``) let ``wait`` and
    ``download`` later put the files where the first command would have;
    ``emulator_owned`` lets a later ``wait`` say why the job is gone."""
    db.execute("ALTER TABLE jobs ADD COLUMN name TEXT")
    db.execute("ALTER TABLE jobs ADD COLUMN out_dir TEXT")
    db.execute("ALTER TABLE jobs ADD COLUMN emulator_owned INTEGER NOT NULL DEFAULT 0")


@migration
def m007_listing_order_index(db: sqlite3.Connection) -> None:
    """An index in the order `novareel jobs` lists, so it reads page by page.

    The order is newest first by submit time (else creation time), then id: a page
    starts where the last one ended instead of sorting the whole table again."""
    db.execute("CREATE INDEX jobs_listing_order ON jobs (COALESCE(submit_time, created_at), id)")


@migration
def m008_generation_seconds(db: sqlite3.Connection) -> None:
    """Each finished job's generation time in real-service seconds, to learn from.

    ``generation_seconds`` is end time minus submit time as the service reported them,
    multiplied by ``time_scale`` (the emulator's speed; 1 on AWS) so a sped-up local
    job counts in the seconds the real service would have taken. Only jobs recorded
    Completed by a novareel that knew both times have it: adopted and older rows stay
    NULL and are never learned from. The partial index serves the one question asked
    of it (the latest timed jobs of a model, length and endpoint) without a scan."""
    db.execute("ALTER TABLE jobs ADD COLUMN generation_seconds REAL")
    db.execute("ALTER TABLE jobs ADD COLUMN time_scale REAL")
    db.execute(
        "CREATE INDEX jobs_generation_times ON jobs"
        " (model_id, duration_seconds, endpoint, end_time)"
        " WHERE generation_seconds IS NOT NULL"
    )


@migration
def m009_request_fingerprint(db: sqlite3.Connection) -> None:
    """Each job's request fingerprint, indexed, so an identical command pays once.

    The fingerprint is a sha256 of the complete StartAsyncInvoke request minus its
    client token (plus the endpoint and region it goes to): `generate` looks up the
    newest job with the same fingerprint and resends its token or attaches to it
    instead of paying for a second one (see docs/ledger.md)."""
    db.execute("ALTER TABLE jobs ADD COLUMN fingerprint TEXT")
    db.execute("CREATE INDEX jobs_fingerprint ON jobs (fingerprint, id)")


@migration
def m010_live_fingerprint_unique(db: sqlite3.Connection) -> None:
    """One live job per request: ``dedupe_key``, UNIQUE, held by the newest row of
    each fingerprint.

    An identical request attaches to the job that holds its fingerprint as
    ``dedupe_key`` (or pays on purpose: ``--again`` moves the key to the new row); the
    unique index makes a second holder impossible whatever the code around it does,
    so two identical commands cannot both insert one (see :meth:`Ledger.reserve`).
    Older rows of the same fingerprint keep it in ``fingerprint`` and hold no key
    (NULLs never collide in a UNIQUE index), so a ledger written before this step,
    with several rows per fingerprint, migrates: only its newest row of each gets
    the key."""
    db.execute("ALTER TABLE jobs ADD COLUMN dedupe_key TEXT")
    db.execute(
        "UPDATE jobs SET dedupe_key = fingerprint WHERE fingerprint IS NOT NULL"
        " AND id = (SELECT MAX(j.id) FROM jobs j WHERE j.fingerprint = jobs.fingerprint)"
    )
    db.execute("CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key)")


@migration
def m011_job_origin(db: sqlite3.Connection) -> None:
    """Who recorded each job, and where: ``user@host`` and the NOVAREEL_HOME.

    One SQLite file has one author; a PostgreSQL ledger shared by a team has many, and
    `jobs show` says whose job it is. NULL for rows recorded before this step and for
    jobs adopted from the service by `jobs sync` (submitted from anywhere)."""
    db.execute("ALTER TABLE jobs ADD COLUMN origin TEXT")


@migration
def m012_failure_advice(db: sqlite3.Connection) -> None:
    """What to do about a refused submit, as it was said when it happened.

    A refusal's hint (accept the Marketplace agreement in us-west-2; the model reached
    its end of life, here is the active alternative...) is built from the service's
    answer and the model's lifecycle at that moment; ``jobs show``, the batch table
    and the gallery used to rebuild generic advice from the message alone ("resubmit
    with `novareel jobs retry`", which would be refused again). NULL: no specific
    advice was recorded (the generic one from the failure type applies)."""
    db.execute("ALTER TABLE jobs ADD COLUMN failure_advice TEXT")


@migration
def m013_quota_leases(db: sqlite3.Connection) -> None:
    """The account's concurrency quota, shared: one row per job slot a process holds.

    A process takes a lease (in one write transaction, only while fewer unexpired
    leases of the same endpoint, model and region exist than the quota) before it
    submits, renews it while the job runs and deletes it when the job ends; a lease
    whose holder died expires at ``expires_at``. So every process sharing the ledger
    (on PostgreSQL, every machine) counts the same jobs in flight (see docs/ledger.md)."""
    db.execute(
        "CREATE TABLE quota_leases ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " endpoint TEXT NOT NULL,"
        " model_id TEXT NOT NULL,"
        " region TEXT NOT NULL,"
        " holder TEXT NOT NULL,"
        " item TEXT,"
        " acquired_at TEXT NOT NULL,"
        " expires_at TEXT NOT NULL)"
    )
    db.execute(
        "CREATE INDEX quota_leases_slot ON quota_leases (endpoint, model_id, region, expires_at)"
    )
    db.execute("CREATE INDEX quota_leases_holder ON quota_leases (holder)")
    db.execute("CREATE INDEX quota_leases_item ON quota_leases (endpoint, item)")


@migration
def m014_qa_verdict(db: sqlite3.Connection) -> None:
    """The verdict of `novareel qa` on the job's downloaded video, as JSON.

    ``{"verdict": "clean"|"findings", "summary", "checks", "findings": [{"kind",
    "start", "end", "measure", "threshold", "detail"}], ...}`` written after every
    download (unless ``--no-qa``) and by `novareel qa <job>`; `jobs show`, `generate`,
    the batch summary, the gallery and the MCP server show it. NULL: never checked."""
    db.execute("ALTER TABLE jobs ADD COLUMN qa TEXT")


@migration
def m015_reviews(db: sqlite3.Connection) -> None:
    """Reviews of videos by an understanding model (``novareel review``): one row each.

    A review is paid (InvokeModel on Amazon Nova 2 Lite), so it is reserved like a job:
    the row is written ``Submitting`` with its estimate, in the same write transaction
    as the budget check, before the call; it becomes ``Completed`` with the tokens the
    service counted and their price (``cost_usd``), or ``Failed`` (refused: not
    billed). ``spend`` and the standing budgets count reviews beside jobs. ``job_id``
    names the ledger job whose video was reviewed (NULL for a local file);
    ``result`` is the parsed verdict as JSON, ``answer`` the model's text as given."""
    db.execute(
        "CREATE TABLE reviews ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " job_id INTEGER,"
        " video TEXT NOT NULL,"
        " model_id TEXT NOT NULL,"
        " invoke_id TEXT NOT NULL,"
        " endpoint TEXT,"
        " status TEXT NOT NULL,"
        " estimated_cost_usd REAL,"
        " cost_usd REAL,"
        " input_tokens INTEGER,"
        " output_tokens INTEGER,"
        " question TEXT,"
        " answer TEXT,"
        " result TEXT,"
        " error TEXT,"
        " created_at TEXT NOT NULL,"
        " completed_at TEXT)"
    )
    db.execute("CREATE INDEX reviews_job ON reviews (job_id, id)")
    db.execute("CREATE INDEX reviews_created ON reviews (created_at)")


@migration
def m016_session_key(db: sqlite3.Connection) -> None:
    """Which capped session (an MCP server's ``--session``) reserved each job.

    ``--session-max-cost`` caps everything one session submits; several server
    processes (on PostgreSQL, several machines) may serve the same session, so what it
    has spent is read from the rows holding its key, inside the reservation's write
    transaction, not from one process's memory. NULL: no session (the CLI, scripts)."""
    db.execute("ALTER TABLE jobs ADD COLUMN session_key TEXT")
    db.execute("CREATE INDEX jobs_session_key ON jobs (session_key)")


@migration
def m018_endpoint_emulator(db: sqlite3.Connection) -> None:
    """Whether the endpoint a job was sent to answered as novareel's emulator.

    A job on the emulator is free ("$0 here"), and budgets and `spend` leave it out.
    That was read from the address (any loopback endpoint URL), so a local proxy to
    real AWS was shown as free while AWS billed it. The submit now asks the endpoint
    (the emulator's identity header, novareel.client.endpoint_identity) and records the
    answer: 1 the emulator, 0 anything else. NULL for rows recorded before this step,
    for which the address rule still stands (novareel sent nothing but its emulator's
    jobs to a loopback address then, unless told an --endpoint-url)."""
    db.execute("ALTER TABLE jobs ADD COLUMN emulator INTEGER")


@migration
def m019_review_emulator(db: sqlite3.Connection) -> None:
    """Whether the endpoint a review was sent to answered as novareel's emulator, as
    m018 records it for jobs: a review answered by the emulator is synthetic and free,
    one through a loopback proxy to AWS is paid. NULL for older rows (the loopback rule
    stands for them). And which capped session reserved it (as m016 for jobs), so an
    MCP server's ``--session-max-cost`` counts its reviews beside its jobs."""
    db.execute("ALTER TABLE reviews ADD COLUMN emulator INTEGER")
    db.execute("ALTER TABLE reviews ADD COLUMN session_key TEXT")
