"""Render the ledger's schema as Markdown, from a freshly migrated database.

The docs are generated from what the migrations really create (PRAGMA table_info,
index_list, foreign_key_list), so they cannot drift from the code. Column meanings live
here, next to the renderer; a test fails if a migration adds a column without one.
"""

from __future__ import annotations

import sqlite3

from novareel.ledger.db import connect
from novareel.ledger.migrations import JOB_STATUSES, MIGRATIONS, migrate

__all__ = ["COLUMN_DOCS", "TABLE_DOCS", "ledger_schema_markdown", "schema_snapshot"]

TABLE_DOCS: dict[str, str] = {
    "_migrations": "Which migrations have been applied to this file, and when.",
    "jobs": "One row per job: one submit, one client token.",
    "status_events": "Every status change of a job, oldest first.",
    "batches": "One row per batch file; its identity lets a rerun resume.",
    "job_files": "Local files downloaded for a job.",
    "job_tags": "Tags of a job (key → value), for finding and grouping jobs.",
    "quota_leases": "One row per job slot of the account's concurrency quota a process"
    " holds (a job being submitted or in flight); expired rows count for nothing.",
    "reviews": "One row per review of a video by an understanding model (`novareel"
    " review`, Amazon Nova 2 Lite): reserved before the paid call, counted by `spend`.",
}

_STATUSES = " / ".join(JOB_STATUSES)

COLUMN_DOCS: dict[str, dict[str, str]] = {
    "_migrations": {
        "name": "Name of the migration function, e.g. `m001_jobs`.",
        "applied_at": "When it was applied (ISO-8601 UTC).",
    },
    "jobs": {
        "id": "Ledger id: the short number shown by `novareel jobs`.",
        "client_token": "The `clientRequestToken` sent with StartAsyncInvoke; written"
        " before the submit so a crashed submit can be resent without paying twice.",
        "invocation_arn": "The invocation ARN returned by the service (NULL until submitted).",
        "invocation_id": "The 12-character id at the end of the ARN.",
        "model_id": "Model id, e.g. `amazon.nova-reel-v1:1`.",
        "task_type": "TEXT_VIDEO, MULTI_SHOT_AUTOMATED, MULTI_SHOT_MANUAL, or UNKNOWN"
        " for jobs adopted from the service.",
        "request_json": "The model input as JSON, images replaced by path + sha256 +"
        " format (or their S3 location). Never image bytes, never credentials.",
        "output_uri": "The S3 folder the job writes to.",
        "output_bucket_owner": "Account id owning the output bucket, when given (m004).",
        "output_kms_key_id": "KMS key ARN for the output, when given (m004).",
        "endpoint": "The endpoint URL the job was sent to; NULL for AWS's own endpoints"
        " (m005). Whether it was the emulator (free) is the `emulator` column (m018).",
        "name": "The name given with `generate --name` (m006); names the download folder.",
        "out_dir": "The download folder given with `--out` (m006): `wait` and `download`"
        " default to it, so a resumed job lands where the first command would have put it.",
        "emulator_owned": "1 when the job went to an emulator started inside the submitting"
        " command (m006): it stops with that command, so a later `wait` that cannot find the"
        " job marks it Failed with failure_type `LocalEmulatorGone`.",
        "generation_seconds": "How long the job took to generate, in real-service seconds"
        " (m008): end_time minus submit_time as the service reported them, times"
        " `time_scale`. Written once, when novareel records the job Completed; NULL for"
        " adopted and older rows. Learned expectations read it (see below).",
        "time_scale": "How much faster than the real service the endpoint ran when the"
        " job's time was recorded (m008): the emulator's speed, 1 on AWS.",
        "fingerprint": "sha256 of the complete StartAsyncInvoke request minus its client"
        " token, plus endpoint and region (m009): an identical `generate` within the window"
        " resends this job's token or attaches to it instead of paying again.",
        "dedupe_key": "The fingerprint again, on the one row that stands for that request"
        " (m010, UNIQUE): the newest row of each fingerprint holds it, so two identical"
        " commands cannot both record a new job; `--again` moves it to the new row.",
        "failure_advice": "What to do about a refused submit, as said when it happened (m012):"
        " the specific hint (accept the Marketplace agreement, the model's end of life and"
        " its alternative...), shown again by `jobs show`, the batch table and the gallery."
        " NULL: the generic advice for the failure type applies.",
        "qa": "The verdict of `novareel qa` on the downloaded video (m014), JSON: verdict"
        " (clean/findings), summary, checks, findings (kind, start, end, measure, threshold,"
        " detail). Written after every download unless --no-qa. NULL: never checked.",
        "emulator": "1 when the endpoint answered as novareel's emulator at submit (its"
        " identity header), 0 when it did not (m018): a job on the emulator cost nothing"
        " (`$0 here`) and budgets and `spend` leave it out; a loopback proxy to AWS is"
        " priced as AWS. NULL for older rows: a loopback `endpoint` then means the emulator.",
        "origin": "Who recorded the job and where (m011): `user@host:NOVAREEL_HOME`, so a"
        " team sharing one PostgreSQL ledger sees whose job it is. NULL for older rows and"
        " for jobs adopted from the service.",
        "session_key": "The capped session that reserved the job (m016): an MCP server's"
        " `--session` (else one per server process). `--session-max-cost` counts every"
        " Submitting, InProgress, Completed or Failed row of its key, whichever process or"
        " machine wrote it. NULL: no session (the command line, scripts).",
        "status": f"{_STATUSES}. Only moves forward.",
        "duration_seconds": "Length of the video asked for.",
        "seed": "Seed sent to the model.",
        "estimated_cost_usd": "Estimated price at submit time; 0 for a submit refused"
        " before anything was sent (status Rejected, failure_type `NotSent`).",
        "failure_type": "Why it failed or was rejected, e.g."
        " `RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION` or `ValidationException`.",
        "failure_message": "The service's failure message.",
        "failure_shot": "Which shot failed (1-based), when known.",
        "created_at": "When the row was written (before the submit).",
        "submit_time": "The service's submit time.",
        "end_time": "When the job finished (or was rejected).",
        "updated_at": "Last change to the row.",
        "batch_id": "The batch this job belongs to, if any.",
        "batch_item": "The item's stable key within the batch file (its `id` or index).",
        "attempt": "1 for the first submit of an item, +1 for each retry.",
        "retry_of": "The job this one retries.",
    },
    "status_events": {
        "id": "Order of the events.",
        "job_id": "The job.",
        "status": "The status entered.",
        "at": "When (service time when known, else when it was seen).",
        "detail": "Why, when known (e.g. the failure message).",
    },
    "batches": {
        "id": "Batch id.",
        "identity": "Stable identity of the batch, e.g. sha256 of the file's absolute path.",
        "file_path": "The batch file.",
        "created_at": "First run of the batch.",
        "defaults_json": "The batch-wide defaults, as JSON.",
    },
    "job_files": {
        "job_id": "The job.",
        "path": "Local path of a downloaded file.",
        "added_at": "When it was recorded.",
    },
    "job_tags": {
        "job_id": "The job.",
        "key": "Tag key.",
        "value": "Tag value.",
    },
    "quota_leases": {
        "id": "Lease id.",
        "endpoint": "The runtime endpoint the job goes to (empty for AWS): an emulator's"
        " jobs never take an AWS account's slots.",
        "model_id": "The model whose quota the lease counts against.",
        "region": "The region whose quota the lease counts against.",
        "holder": "The process holding it (`user@host:pid:random`); it renews its leases"
        " while it runs. `unwatched`: handed over by a process that ended while the"
        " job ran (freed when any process sees the job end).",
        "item": "The job the slot is for (its client token): one job holds one slot,"
        " whichever process asks.",
        "acquired_at": "When it was taken (ISO-8601 UTC).",
        "expires_at": "When it stops counting unless renewed (ISO-8601 UTC): a process that"
        " died frees its slots by then; a handed-over lease counts two hours at most.",
    },
    "reviews": {
        "id": "Review id.",
        "job_id": "The ledger job whose video was reviewed (NULL: a local file).",
        "video": "The S3 URI (or local path) of the video reviewed.",
        "model_id": "The understanding model (`amazon.nova-2-lite-v1:0`).",
        "invoke_id": "The id InvokeModel was called with (an inference profile).",
        "endpoint": "The runtime endpoint (empty for AWS); a loopback one is the emulator,"
        " whose reviews are synthetic and cost nothing.",
        "status": "Submitting (reserved, call under way) / Completed / Failed (refused,"
        " not billed).",
        "estimated_cost_usd": "The price estimated before the call (the answer priced at"
        " its token cap): what a Submitting review reserves.",
        "cost_usd": "The price of the tokens the service counted (Completed).",
        "input_tokens": "Input tokens the service counted (video and text).",
        "output_tokens": "Output tokens the service counted.",
        "question": "The extra question asked (`--question`), if any.",
        "answer": "The model's text, as given.",
        "result": "The parsed verdict (JSON): elements, defects, text artefacts, summary.",
        "error": "Why the call failed (Failed).",
        "created_at": "When the review was reserved (ISO-8601 UTC).",
        "completed_at": "When it ended (ISO-8601 UTC).",
        "emulator": "1 when the endpoint answered as novareel's emulator at reserve time"
        " (m019; its review is synthetic and free), 0 when it did not; NULL for older rows:"
        " a loopback `endpoint` then means the emulator.",
        "session_key": "The capped session that reserved the review (m019), as `jobs.session_key`:"
        " `--session-max-cost` counts its reviews beside its jobs. NULL: no session.",
    },
}


def _fresh() -> sqlite3.Connection:
    conn = connect(":memory:")
    migrate(conn)
    return conn


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY rowid"
    )
    return [str(r[0]) for r in rows]


def schema_snapshot(conn: sqlite3.Connection) -> dict[str, object]:
    """A comparable description of a database's schema: tables, columns, indexes, FKs.

    Used to check that a ledger upgraded from an old schema ends up identical to a
    fresh one.
    """
    snap: dict[str, object] = {}
    for table in sorted(_tables(conn)):
        columns = [tuple(r) for r in conn.execute(f"PRAGMA table_info('{table}')")]
        indexes = sorted(
            (str(r["name"]), int(r["unique"]), tuple(_index_columns(conn, str(r["name"]))))
            for r in conn.execute(f"PRAGMA index_list('{table}')")
        )
        fks = sorted(tuple(r) for r in conn.execute(f"PRAGMA foreign_key_list('{table}')"))
        snap[table] = {"columns": columns, "indexes": indexes, "foreign_keys": fks}
    return snap


def _index_columns(conn: sqlite3.Connection, index: str) -> list[str]:
    names = [r["name"] for r in conn.execute(f"PRAGMA index_info('{index}')")]
    if all(name is not None for name in names):
        return [str(name) for name in names]
    # An index on an expression (e.g. COALESCE(submit_time, created_at)) names no
    # column for it: show the terms as written in its CREATE INDEX.
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()
    sql = str(row["sql"])
    return [sql[sql.index("(") + 1 : sql.rindex(")")]]


def _partial(conn: sqlite3.Connection, index: str) -> str:
    """`` where ...`` for a partial index (as written in its CREATE INDEX), else ""."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()
    sql = str(row["sql"]) if row is not None and row["sql"] else ""
    at = sql.upper().rfind(" WHERE ")
    return "" if at < 0 else " where " + sql[at + len(" WHERE ") :]


def ledger_schema_markdown() -> str:
    """The schema of a freshly migrated ledger, as Markdown (for docs/ledger.md)."""
    conn = _fresh()
    try:
        return _render(conn)
    finally:
        conn.close()


def _render(conn: sqlite3.Connection) -> str:
    out: list[str] = []
    for table in _tables(conn):
        out.append(f"### `{table}`")
        out.append("")
        if table in TABLE_DOCS:
            out.append(TABLE_DOCS[table])
            out.append("")
        fks = {
            str(r["from"]): f"→ `{r['table']}.{r['to']}`"
            + (f" ({r['on_delete']})" if r["on_delete"] != "NO ACTION" else "")
            for r in conn.execute(f"PRAGMA foreign_key_list('{table}')")
        }
        indexes = [
            (str(r["name"]), bool(r["unique"]), str(r["origin"]))
            for r in conn.execute(f"PRAGMA index_list('{table}')")
        ]
        unique_single = {
            cols[0]
            for name, unique, origin in indexes
            if unique and origin != "pk"
            for cols in [_index_columns(conn, name)]
            if len(cols) == 1
        }
        pk_cols = [
            str(r["name"])
            for r in sorted(conn.execute(f"PRAGMA table_info('{table}')"), key=lambda r: r["pk"])
            if r["pk"]
        ]
        out.append("| column | type | null | default | constraints | meaning |")
        out.append("|---|---|---|---|---|---|")
        docs = COLUMN_DOCS.get(table, {})
        for col in conn.execute(f"PRAGMA table_info('{table}')"):
            name = str(col["name"])
            constraints: list[str] = []
            if col["pk"] and len(pk_cols) == 1:
                constraints.append("PRIMARY KEY")
            if name in unique_single:
                constraints.append("UNIQUE")
            if name in fks:
                constraints.append(fks[name])
            if table == "jobs" and name == "status":
                constraints.append("CHECK in (" + ", ".join(JOB_STATUSES) + ")")
            default = "" if col["dflt_value"] is None else f"`{col['dflt_value']}`"
            nullable = "no" if col["notnull"] or col["pk"] else "yes"
            out.append(
                f"| `{name}` | {col['type'] or ''} | {nullable} | {default} |"
                f" {'; '.join(constraints)} | {docs.get(name, '')} |"
            )
        out.append("")
        extra: list[str] = []
        if len(pk_cols) > 1:
            extra.append(f"- primary key ({', '.join(pk_cols)})")
        for name, unique, origin in sorted(indexes):
            if origin == "pk":
                continue
            cols = _index_columns(conn, name)
            if origin == "u" and len(cols) == 1:
                continue  # already shown as UNIQUE on the column
            kind = "unique index" if unique else "index"
            extra.append(f"- {kind} `{name}` on ({', '.join(cols)}){_partial(conn, name)}")
        if extra:
            out.extend(extra)
            out.append("")
    out.append("### Migrations")
    out.append("")
    out.append("Applied in this order, each once, recorded in `_migrations`:")
    out.append("")
    for step in MIGRATIONS:
        out.append(f"1. `{step.name}`: {step.summary}")
    out.append("")
    return "\n".join(out)
