"""``novareel doctor``: every check that makes a first real run fail, with its fix.

The checks live in :mod:`novareel.preflight` (``run_checks``) and the client comes from
the library's connection factory (:mod:`novareel.running.connection`, the model's own region
when none is configured); this module resolves the options and prints one line per
check and the report's verdict. Exit 0 when a run on this endpoint can work (warnings
allowed), 1 when a check fails, 2 for bad input (nothing is sent), 3 when AWS cannot be
set up at all.
"""

from __future__ import annotations

import typer

from novareel.cli.app import JSON_OUTPUT, app, console, emit_json
from novareel.cli.common import (
    CONNECTION,
    Connection,
    connected_command,
    open_endpoint,
    output_uri_option,
)

_MARKS = {
    "ok": "[green]✓[/]",
    "warn": "[yellow]![/]",
    "fail": "[bold red]✗[/]",
    "skip": "[dim]-[/]",
}


@connected_command(app, "doctor")
def doctor(
    model_id: str | None = typer.Option(
        None, "--model-id", help="Model id or alias (default: `novareel models default`)."
    ),
    output_uri: str | None = output_uri_option("s3://bucket/folder/ the jobs will write to"),
    kms_key_id: str | None = typer.Option(
        None, "--kms-key-id", help="KMS key ARN the output will be encrypted with."
    ),
    json_output: bool = JSON_OUTPUT,
    conn: Connection = CONNECTION,
) -> None:
    """Check credentials, region, model lifecycle and access, and the output bucket.

    Nothing is generated and nothing is charged: the bucket check writes one tiny
    object under the output folder and deletes it. Never switches model: when the
    model cannot run, the fix names the alternatives with their price. The lifecycle
    the endpoint answers (an emulator's, as configured) is shown beside the one AWS
    published; against an emulator, "ready" means ready on that emulator.
    """
    from novareel.client.local import LocalClient
    from novareel.foundation.s3uri import LOCAL_OUTPUT_URI, output_location, resolve_output_uri
    from novareel.models import get_model
    from novareel.preflight import run_checks
    from novareel.settings.defaults import read_defaults

    # The model a command naming none would use (NOVAREEL_MODEL, [defaults]), checked
    # here too: a mistake in config.toml shows up before a first run.
    chosen = read_defaults()
    model = get_model(model_id or chosen.model_id)
    output_uri = resolve_output_uri(output_uri, local=conn.local)
    if output_uri is not None:
        location = output_location(output_uri, kms_key_id=kms_key_id)
    else:
        location = None
        if kms_key_id is not None:  # still refuse a malformed ARN before any call
            output_location("s3://kms-key-check/", kms_key_id=kms_key_id)

    with open_endpoint(conn) as endpoint:
        client = endpoint.control_client(conn.region, model.info.default_region)
        if conn.local and location is not None and isinstance(client, LocalClient):
            # The emulator is a sandbox: the output bucket is made as `generate --local`
            # makes it (with a notice, unless it is --local's own bucket).
            client.ensure_output_bucket(location.uri.bucket, notify=output_uri != LOCAL_OUTPUT_URI)
        report = run_checks(client, model, output=location, endpoint=endpoint.kind)

    if json_output:
        emit_json({**report.to_dict(), "default_model": chosen.to_dict()})
    else:
        from rich.markup import escape

        where = _WHERE[report.endpoint]
        console.print(
            f"[bold]novareel doctor[/]: {escape(model.info.name)} "
            f"({escape(model.model_id)}) in {escape(report.region)}{where}",
            highlight=False,
        )
        where = "built in" if chosen.is_built_in else f"from {chosen.source}"
        console.print(
            f"default model: {escape(chosen.model_id)} [dim]({escape(where)})[/]",
            highlight=False,
        )
        from rich.table import Table

        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column()
        for check in report.checks:
            grid.add_row(_MARKS[check.status], check.name, escape(check.detail))
            if check.fix and check.status in ("warn", "fail"):
                grid.add_row("", "", f"[bold]fix:[/] {escape(check.fix)}")
        console.print(grid)
        warned = any(c.status == "warn" for c in report.checks)
        colour = "bold red" if not report.ok else "yellow" if warned else "green"
        verdict = report.verdict + ("" if report.ok else "; see the fixes above")
        console.print(f"[{colour}]{escape(verdict)}[/]", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


#: What the header says of the endpoint, so an emulator's answers are not read as AWS's.
_WHERE = {"emulator": ", on the local emulator", "endpoint": ", at the endpoint given", "aws": ""}
