"""``novareel models``: the video models novareel knows, and what the account says.

The registry (ids, aliases, regions, prices, task types, published lifecycle) joined
with the endpoint's Bedrock control plane (lifecycle, access), one region per model:
the model's own unless ``--region`` is given. The two lifecycles are printed side by
side (:func:`novareel.preflight.survey_models` keeps them apart); the clients come from
the library's connection factory (:mod:`novareel.running.connection`). ``--offline`` shows
the registry alone and makes no call. ``--json`` prints a JSON array, one object per
model.

``novareel models default [MODEL]`` shows or sets the model used when a command, a
batch item or an MCP call names none (``[defaults]`` in config.toml, read and checked
by :mod:`novareel.settings.defaults`; ``NOVAREEL_MODEL`` overrides it).
"""

from __future__ import annotations

from typing import Any

import typer

from novareel.cli.app import JSON_OUTPUT, command_group, console, emit_json, handle_errors
from novareel.cli.common import CONNECTION, Connection, open_endpoint, with_connection
from novareel.foundation.errors import AwsError


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


models_app = command_group(
    "models", "The video models: lifecycle, access, price; the default model.", runs_alone=True
)


@models_app.callback()
@handle_errors()
@with_connection
def models(
    ctx: typer.Context,
    offline: bool = typer.Option(
        False, "--offline", help="The registry alone (lifecycle as of today); no AWS call."
    ),
    json_output: bool = JSON_OUTPUT,
    conn: Connection = CONNECTION,
) -> None:
    """List the video models: lifecycle, access, regions and price per second.

    Each model is asked about in its own region (the first listed) unless --region is
    given; a model not offered in the asked region shows access `not-in-region`. The
    lifecycle the endpoint answers (the emulator's as configured, or the account's) is
    shown beside the one AWS published (novareel's registry), never merged. --json
    prints an array of objects (model_id, name, provider, aliases, regions, region,
    endpoint, endpoint_lifecycle, published_lifecycle, lifecycle_status, access,
    price_usd_per_second, task_types, marketplace, source, note, ...).
    """
    if ctx.invoked_subcommand is not None:
        return
    from novareel.preflight import is_credential_error, survey_models
    from novareel.settings.defaults import read_defaults

    chosen = read_defaults()
    if offline:
        rows = survey_models(None, region=conn.region)
    else:
        with open_endpoint(conn) as endpoint:
            try:
                rows = survey_models(
                    endpoint.control_client, region=conn.region, endpoint=endpoint.kind
                )
            except AwsError as exc:
                if is_credential_error(exc):
                    raise credentials_hint(
                        exc,
                        "`novareel models --offline` lists the registry without credentials; "
                        "--local asks the local emulator.",
                    ) from None
                raise
    for row in rows:
        row["default"] = row["model_id"] == chosen.model_id
        row["default_source"] = chosen.source if row["default"] else None
    if json_output:
        emit_json(rows)
        return
    _print_table(rows, offline)
    console.print(f"default: {_default_line(chosen)}", highlight=False)
    console.print("[dim]change it once: novareel models default MODEL[/]")


def _default_line(chosen: Any) -> str:
    """``luma.ray-v2:0 (from NOVAREEL_MODEL)``, and the usual options below it."""
    from rich.markup import escape

    where = "built in" if chosen.is_built_in else f"from {chosen.source}"
    line = f"{escape(chosen.model_id)} [dim]({escape(where)})[/]"
    if chosen.options:
        usual = ", ".join(f"{k} = {v!r}" for k, v in chosen.options.items())
        line += f"\n  usual options for {escape(chosen.options_model)}: {escape(usual)}"
    return line


@models_app.command("default")
@handle_errors()
def models_default(
    model: str | None = typer.Argument(
        None, metavar="[MODEL]", help="A model id or alias to use when none is named."
    ),
    clear: bool = typer.Option(
        False, "--clear", help="Remove \\[defaults] (back to the built-in default model)."
    ),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Show or set the model used when none is named (`--model-id` always wins).

    Written to `\\[defaults] model_id` in <NOVAREEL_HOME>/config.toml.
    The table may also hold the model's usual options, spelled as in batch
    files (resolution = "540p", aspect_ratio = "9:16", duration = 5).
    generate, batch items, the MCP server and RequestSpec use the model
    and its options when they name no model. NOVAREEL_MODEL overrides it.

    Examples:

      novareel models default luma-ray2

      novareel models default --clear
    """
    from rich.markup import escape

    from novareel.foundation.errors import InvalidRequestError, Problem
    from novareel.models import get_model
    from novareel.settings.defaults import MODEL_ENV, TABLE, read_defaults, write_default_model

    if model is not None and clear:
        raise InvalidRequestError(
            Problem("clear", "give a MODEL or --clear, not both", value=model)
        )
    if clear:
        chosen = write_default_model(None)
    elif model is not None:
        chosen = write_default_model(model)
    else:
        chosen = read_defaults()
    if json_output:
        emit_json({**chosen.to_dict(), "name": get_model(chosen.model_id).info.name})
        return
    if clear:
        console.print(escape(f"removed [{TABLE}] from {chosen.path}"), highlight=False)
    elif model is not None:
        written = get_model(model).model_id
        said = f"default model set to {written} in {chosen.table_source}"
        console.print(escape(said), highlight=False)
    if chosen.source == MODEL_ENV and (clear or model is not None):
        console.print(
            f"[yellow]note:[/] {MODEL_ENV} is set and overrides the file in this shell",
            highlight=False,
        )
    console.print(f"default: {_default_line(chosen)}", highlight=False)


#: The table's caption: what each side of the lifecycle column is.
_SOURCES = {
    "emulator": "emulator: the state the emulator was configured with (--model-state)",
    "endpoint": "endpoint: what the endpoint answered",
    "aws": "account: what your account's Bedrock control plane answered",
}


def _life(status: str | None, end_of_life: str | None) -> str:
    """``[green]ACTIVE[/]``, or ``[red]EOL[/]`` and ``ended 2026-09-30`` below it."""
    if status is None:
        return "[dim]?[/]"
    text = f"[{_LIFECYCLE_STYLE.get(status, 'white')}]{status}[/]"
    if end_of_life and status in ("LEGACY", "EOL"):
        text += f"\n{'ended' if status == 'EOL' else 'ends'} {end_of_life}"
    return text


def _print_table(rows: list[dict[str, Any]], offline: bool) -> None:
    """One row per model, in 80 columns: the model (id, name, regions, tasks), the
    lifecycle as the endpoint answered it beside what AWS published, access, price."""
    from rich import box
    from rich.markup import escape
    from rich.table import Column, Table

    table = Table(
        Column("model", max_width=24),
        Column("lifecycle", no_wrap=True),
        Column("access", no_wrap=True),
        Column("price", no_wrap=True),
        title="video models" + (" (registry only: --offline)" if offline else ""),
        box=box.SIMPLE_HEAD,
    )
    kinds: set[str] = set()
    for row in rows:
        published = row["published_lifecycle"]
        answered = row.get("endpoint_lifecycle")
        kind = row.get("endpoint")
        lines = []
        if answered is not None and kind is not None:
            kinds.add(kind)
            label = {"aws": "account"}.get(kind, kind)
            lines.append(f"{label}: {_life(answered['status'], answered['end_of_life'])}")
        elif not offline:
            lines.append("[dim]not asked[/]" if row["access"] == "not-in-region" else "[dim]?[/]")
        lines.append(f"AWS: {_life(published['status'], published['end_of_life'])}")
        tasks = ", ".join(_TASK_SHORT.get(t, t) for t in row["task_types"])
        model = (
            f"[bold]{escape(row['model_id'])}[/]\n{escape(row['name'])} ({escape(row['provider'])})"
            f"\n[dim]{escape(', '.join(row['regions']))}[/]\n[dim]{escape(tasks)}[/]"
        )
        if row.get("default"):
            model += "\n[green]default[/]"
        access = row["access"]
        table.add_row(
            model,
            "\n".join(lines),
            f"[{_ACCESS_STYLE.get(access, 'red')}]{escape(access)}[/]",
            escape(_price(row["price_usd_per_second"])),
        )
    console.print(table)
    for kind in sorted(kinds):
        console.print(f"[dim]{_SOURCES[kind]}[/]")
    console.print("[dim]AWS: the lifecycle AWS published (novareel's registry, as of today)[/]")
    for row in rows:
        if row.get("note") and not offline:
            console.print(f"[dim]{escape(row['model_id'])}:[/] {escape(row['note'])}")
    if offline:
        console.print("[dim]access is unknown offline; run without --offline to ask AWS[/]")
