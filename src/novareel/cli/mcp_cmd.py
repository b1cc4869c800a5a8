"""``novareel mcp``: serve novareel's tools to an AI agent over MCP (stdio).

The server needs the optional ``mcp`` package; without it the command says how to
install it and exits 2. Only a person sets what this command takes (the root folder,
the spending caps, the connection): an agent can change none of it.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from novareel.cli.app import JSON_HELP, app, emit_json, err_console
from novareel.cli.common import CONNECTION, Connection, connected_command, output_uri_option

INSTALL_HINT = "pip install 'novareel[mcp]'"


@connected_command(app, "mcp")
def mcp_command(
    root: Path = typer.Option(
        Path("."),
        "--root",
        help="The only folder whose files the agent may name (images, storyboards, "
        "downloads); default: the current folder.",
    ),
    max_cost: str | None = typer.Option(
        None,
        "--max-cost",
        metavar="USD",
        help="Refuse any call whose estimated AWS price is over USD; also caps the "
        "session's total unless --session-max-cost is given.",
    ),
    session_max_cost: str | None = typer.Option(
        None,
        "--session-max-cost",
        metavar="USD",
        help="Cap on everything the session submits, in USD (default: --max-cost); "
        "counted in the ledger over every server process of the session.",
    ),
    session: str | None = typer.Option(
        None,
        "--session",
        metavar="NAME",
        help="The session --session-max-cost caps: every server started with the same "
        "NAME on one ledger (other processes, other machines on a PostgreSQL ledger, "
        "later restarts) shares one cap (else $NOVAREEL_MCP_SESSION, else this process "
        "alone).",
    ),
    output_uri: str | None = output_uri_option("s3://bucket/folder/ for jobs' files"),
    conn: Connection = CONNECTION,
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP + " (startup errors only)"),
) -> None:
    """Serve novareel to an AI agent: an MCP server on stdin/stdout (stops at EOF)."""
    try:
        from novareel.mcp_server.server import build_server
    except ImportError as exc:
        # Any third-party module missing here is the extra's (the SDK imports anyio,
        # pydantic-settings, starlette...): only novareel's own must surface as a bug.
        if exc.name is None or exc.name.split(".")[0] == "novareel":
            raise
        message = f"the MCP server needs the optional 'mcp' package ({exc.name} is missing)"
        if json_output:
            emit_json({"error": {"type": "MissingExtra", "message": message,
                                 "hint": INSTALL_HINT, "exit_code": 2}})  # fmt: skip
        else:
            from rich.markup import escape

            err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
            err_console.print(f"[yellow]hint:[/] {escape(INSTALL_HINT)}", highlight=False)
        raise typer.Exit(2) from None
    from novareel.mcp_server.tools import AgentTools, ServerSettings

    settings = ServerSettings(
        root=root,
        max_cost_usd=max_cost,
        session_max_cost_usd=session_max_cost,
        output_uri=output_uri,
        session=session,
        **asdict(conn),
    )
    tools = AgentTools(settings)
    tools.start()
    try:
        caps = tools.guard.snapshot()
        where = f"emulator {tools.emulator_url}" if tools.emulator_url else "AWS"
        limit = "no cap (pass --max-cost)"
        if caps["session_max_cost_usd"] is not None:
            used = caps["session_spent_usd"] + caps["session_pending_usd"]
            limit = (
                f"${caps['session_max_cost_usd']:.2f} per session {caps['session']!r} "
                f"(${used:.2f} used)"
            )
            if caps["max_cost_per_call_usd"] is not None:
                limit = f"${caps['max_cost_per_call_usd']:.2f} per call, {limit}"
        err_console.print(
            f"novareel MCP server on stdio: {where}, root {tools.root.path}, {limit}",
            highlight=False,
        )
        if tools.root.path in (Path(tools.root.path.anchor), Path.home().resolve()):
            # MCP clients often start servers in / or the home folder.
            err_console.print(
                f"notice: the root is {tools.root.path}, so the agent may name almost any "
                "file; pass --root with the folder of your videos",
                highlight=False,
            )
        build_server(tools).run("stdio")
    finally:
        tools.close()
    _exit_without_abandoned_waits()


def _exit_without_abandoned_waits() -> None:
    """End the process even if a cancelled call's wait is still polling in a worker
    thread (it stops at its next check, which on AWS can be a minute away). The jobs
    are in the ledger and go on; a ledger write is an atomic SQLite transaction."""
    import os
    import sys
    import threading

    busy = [t for t in threading.enumerate() if t.is_alive() and not t.daemon]
    if len(busy) > 1:  # more than the main thread
        err_console.print(
            "novareel MCP server stopped; jobs still running go on (list_jobs, novareel jobs)",
            highlight=False,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
