"""``novareel models``: the video models novareel knows, and what the account says.

The registry (ids, aliases, regions, prices, task types, published lifecycle) joined
with the account's Bedrock control plane (lifecycle, access), one region per model:
the model's own unless ``--region`` is given. ``--offline`` shows the registry alone
and makes no call. ``--json`` prints a JSON array, one object per model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import typer

from novareel.cli.app import JSON_HELP, app, console, emit_json, handle_errors
from novareel.cli.common import CONNECTION, Connection, with_connection
from novareel.errors import AwsError

#: Attempts per control-plane call: these commands answer quickly or say why not.
MAX_ATTEMPTS = 3

ClientFactory = Callable[..., Any]


@contextlib.contextmanager
def control_clients(conn: Connection) -> Iterator[ClientFactory]:
    """``make(region, default_region=None)``: a client per region for these options.

    With ``--local`` the emulator is found (or started for this command) and every
    client gets its dummy credentials; otherwise boto3's usual resolution applies.
    Clients are made once per (region, default region) and the emulator started here
    is stopped when the block ends.
    """
    from novareel.client import LOCAL_HINT_CLI, NovaReelClient

    local = None
    cache: dict[tuple[str | None, str | None], NovaReelClient] = {}
    if conn.local:
        from novareel.local import connect_local

        local = connect_local(conn.endpoint_url)

    def make(region: str | None, default_region: str | None = None) -> NovaReelClient:
        key = (region, default_region)
        if key not in cache:
            if local is not None:
                from novareel.cli.common import cli_notice
                from novareel.local import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, LocalClient

                cache[key] = LocalClient(
                    on_notice=cli_notice,
                    region=region,
                    default_region=default_region,
                    endpoint_url=local.url,
                    access_key=LOCAL_ACCESS_KEY,
                    secret_key=LOCAL_SECRET_KEY,
                    max_attempts=MAX_ATTEMPTS,
                    local_hint=LOCAL_HINT_CLI,
                    isolated=True,
                )
            else:
                cache[key] = NovaReelClient(
                    region=region,
                    default_region=default_region,
                    profile=conn.profile,
                    endpoint_url=conn.endpoint_url,
                    credentials_file=conn.credentials_file,
                    max_attempts=MAX_ATTEMPTS,
                    local_hint=LOCAL_HINT_CLI,
                )
        return cache[key]

    try:
        yield make
    finally:
        if local is not None:
            local.close()


def credentials_hint(exc: AwsError, extra: str) -> AwsError:
    """The same error with ``extra`` added to its hint (for missing credentials)."""
    hint = f"{exc.hint} {extra}" if exc.hint else extra
    return type(exc)(
        exc.message,
        code=exc.code,
        operation=exc.operation,
        status_code=exc.status_code,
        request_id=exc.request_id,
        hint=hint,
    )


_LIFECYCLE_STYLE = {"ACTIVE": "green", "LEGACY": "yellow", "EOL": "red"}
_ACCESS_STYLE = {"ok": "green", "unknown": "dim"}
_TASK_SHORT = {
    "TEXT_VIDEO": "text",
    "IMAGE_VIDEO": "image",
    "MULTI_SHOT_AUTOMATED": "auto",
    "MULTI_SHOT_MANUAL": "manual",
}


def _price(prices: dict[str, float]) -> str:
    """``$0.08/s``, or one line per resolution (``540p $0.75/s``)."""
    if list(prices) == ["*"]:
        return f"${prices['*']:.2f}/s"
    return "\n".join(f"{res} ${p:.2f}/s" for res, p in prices.items())


@app.command("models")
@handle_errors()
@with_connection
def models(
    offline: bool = typer.Option(
        False, "--offline", help="The registry alone (lifecycle as of today); no AWS call."
    ),
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
    conn: Connection = CONNECTION,
) -> None:
    """List the video models: lifecycle, access, regions and price per second.

    Each model is asked about in its own region (the first listed) unless --region is
    given; a model not offered in the asked region shows access `not-in-region`. The
    account's control plane wins over novareel's registry when it answers. --json
    prints an array of objects (model_id, name, provider, aliases, regions, region,
    lifecycle_status, launched, legacy_since, end_of_life, access, price_usd_per_second,
    task_types, marketplace, source, note, ...).
    """
    from novareel.preflight import is_credential_error, survey_models

    if offline:
        rows = survey_models(None, region=conn.region)
    else:
        with control_clients(conn) as make:
            try:
                rows = survey_models(lambda region: make(region), region=conn.region)
            except AwsError as exc:
                if is_credential_error(exc):
                    raise credentials_hint(
                        exc,
                        "`novareel models --offline` lists the registry without credentials; "
                        "--local asks the local emulator.",
                    ) from None
                raise
    if json_output:
        emit_json(rows)
        return
    _print_table(rows, offline)


def _print_table(rows: list[dict[str, Any]], offline: bool) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Column, Table

    table = Table(
        Column("model", no_wrap=True),
        "regions",
        "lifecycle",
        Column("access", no_wrap=True),
        "price",
        "tasks",
        title="video models" + (" (registry only: --offline)" if offline else ""),
        box=box.SIMPLE_HEAD,
    )
    for row in rows:
        status = row["lifecycle_status"]
        life = f"[{_LIFECYCLE_STYLE.get(status, 'white')}]{status}[/]"
        if row.get("end_of_life"):
            life += f"\n{'ended' if status == 'EOL' else 'ends'} {row['end_of_life']}"
        access = row["access"]
        name = f"{row['name']} ({row['provider']})"
        tasks = [_TASK_SHORT.get(t, t) for t in row["task_types"]]
        table.add_row(
            f"[bold]{escape(row['model_id'])}[/]\n{escape(name)}",
            escape("\n".join(row["regions"])),
            life,
            f"[{_ACCESS_STYLE.get(access, 'red')}]{escape(access)}[/]",
            escape(_price(row["price_usd_per_second"])),
            escape(", ".join(tasks)),
        )
    console.print(table)
    for row in rows:
        if row.get("note") and not offline:
            console.print(f"[dim]{escape(row['model_id'])}:[/] {escape(row['note'])}")
    if offline:
        console.print("[dim]access is unknown offline; run without --offline to ask AWS[/]")
