"""``novareel emulator``: run the local Bedrock + S3 emulator in the foreground."""

from __future__ import annotations

import typer

from novareel.cli.app import app, err_console, handle_errors


@app.command()
@handle_errors()
def emulator(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (keep it local)."),
    port: int = typer.Option(5899, "--port", help="Port for Bedrock, S3 and /_emulator/."),
    speed: float | None = typer.Option(
        None, "--speed", help="How much faster than the real service jobs finish (1 = real time)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the URL as JSON when ready."),
) -> None:
    """Run the local emulator of Bedrock async invoke + S3 (renders real MP4 previews)."""
    try:
        from novareel.emulator import DEFAULT_SPEED, serve
    except ImportError as exc:
        from novareel.errors import EmulatorError

        raise EmulatorError(
            f"the emulator is not installed ({exc.name} is missing)",
            hint="pip install 'novareel[emulator]'",
        ) from exc
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning:[/] binding {host}: anyone who can reach it can use the emulator"
        )
    serve(host=host, port=port, speed=DEFAULT_SPEED if speed is None else speed)
