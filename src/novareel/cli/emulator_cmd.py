"""``novareel emulator``: run the local Bedrock + S3 emulator in the foreground."""

from __future__ import annotations

import time

import typer

from novareel.cli.app import app, console, emit_json, err_console, handle_errors


@app.command()
@handle_errors()
def emulator(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (keep it local)."),
    port: int = typer.Option(
        5899, "--port", help="Port for Bedrock, S3 and /_emulator/ (0 = any free port)."
    ),
    speed: float | None = typer.Option(
        None, "--speed", help="How much faster than the real service jobs finish (1 = real time)."
    ),
    submit_rate: float | None = typer.Option(
        None, "--submit-rate", help="StartAsyncInvoke calls per second before throttling (0 = off)."
    ),
    model_state: list[str] = typer.Option(
        [],
        "--model-state",
        metavar="MODEL=STATE",
        help="Start a model (full id or alias: nova-reel, nova-reel-v1:0, luma-ray2) in a "
        "lifecycle/access state (repeatable): active, legacy, legacy-unused, eol, no-access, "
        "no-agreement.",
    ),
    read_only_bucket: list[str] = typer.Option(
        [],
        "--read-only-bucket",
        metavar="BUCKET",
        help="Refuse client writes and deletes in this S3 bucket with AccessDenied (repeatable).",
    ),
    render: str = typer.Option(
        "full",
        "--render",
        metavar="full|fast",
        help="full: preview-render every job (~1 CPU-second a shot). fast: load-test mode, "
        "every video of a size is one cached encode (see docs/emulator.md).",
    ),
    s3_key_buffer_size: int | None = typer.Option(
        None,
        "--s3-key-buffer-size",
        metavar="BYTES",
        help="S3 objects larger than this live in temporary files, not RAM (default 65536).",
    ),
    latency: str = typer.Option(
        "aws-guide-2026",
        "--latency",
        metavar="PRESET",
        help="Whose timings a job's median follows: lab-2025 (the seed lab's measurements) "
        "or aws-guide-2026 (AWS's Nova guide); see docs/emulator.md.",
    ),
    latency_scale: float = typer.Option(
        1.0, "--latency-scale", metavar="F", help="Multiply every job's median time by F."
    ),
    latency_spread: float = typer.Option(
        0.25,
        "--latency-spread",
        metavar="S",
        help="Per-job random spread: log-normal sigma around the median (0 = exact median).",
    ),
    latency_seed: int = typer.Option(
        0, "--latency-seed", metavar="N", help="Seed of the per-job latency draws."
    ),
    quota_error: str = typer.Option(
        "ThrottlingException",
        "--quota-error",
        metavar="CODE",
        help="Error a submit beyond the concurrent-job quota gets: ThrottlingException "
        "(what AWS users see; also 'throttling') or ServiceQuotaExceededException "
        "('service-quota-exceeded').",
    ),
    json_output: bool = typer.Option(
        False,
        "--json",
        help="Print {url, host, port, speed, render, latency...} as JSON once listening.",
    ),
) -> None:
    """Run the local emulator of Bedrock async invoke + S3 (renders real MP4 previews).

    Other commands reach it with --local (it is found at NOVAREEL_EMULATOR_URL, default
    http://127.0.0.1:5899). It is a preview renderer, not a generative model.
    """
    try:
        from novareel.emulator import DEFAULT_SPEED, EmulatorConfig, EmulatorServer
        from novareel.emulator.catalog import parse_model_state
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        from novareel.foundation.errors import EmulatorError

        raise EmulatorError(
            f"the emulator is not installed ({exc.name} is missing)",
            hint="pip install 'novareel[emulator]'",
        ) from exc
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning:[/] binding {host}: anyone who can reach it can use the emulator"
        )
    states: dict[str, str] = {}
    for text in model_state:
        try:
            model_id, state = parse_model_state(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--model-state") from None
        states[model_id] = state
    if render not in ("full", "fast"):
        raise typer.BadParameter("must be full or fast", param_hint="--render")
    if s3_key_buffer_size is not None and s3_key_buffer_size < 1:
        raise typer.BadParameter("must be at least 1 byte", param_hint="--s3-key-buffer-size")
    latency_options: dict[str, tuple[str, object]] = {
        "latency": ("--latency", latency),
        "latency_scale": ("--latency-scale", latency_scale),
        "latency_spread": ("--latency-spread", latency_spread),
        "latency_seed": ("--latency-seed", latency_seed),
        "quota_error": ("--quota-error", quota_error),
    }
    config = EmulatorConfig(
        speed=DEFAULT_SPEED if speed is None else speed,
        model_states=states,
        read_only_buckets=list(read_only_bucket),
        render=render,
    )
    for key, (flag, value) in latency_options.items():
        try:
            config.update({key: value})  # the emulator's own checks, named by flag
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=flag) from None
    if s3_key_buffer_size is not None:
        config.s3_key_buffer_size = s3_key_buffer_size
    if submit_rate is not None:
        config.submit_rate = submit_rate
    server = EmulatorServer(host=host, port=port, config=config)
    try:
        server.start()
    except OSError as exc:
        from novareel.foundation.errors import EmulatorError

        raise EmulatorError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="Pick another --port, or stop what is using it.",
        ) from exc
    from urllib.parse import urlparse

    bound = urlparse(server.url).port
    if json_output:
        emit_json(
            {
                "url": server.url,
                "host": host,
                "port": bound,
                "speed": config.speed,
                "render": config.render,
                "latency": config.latency,
                "latency_scale": config.latency_scale,
                "latency_spread": config.latency_spread,
                "latency_seed": config.latency_seed,
                "quota_error": config.quota_error,
            }
        )
    else:
        mode = ", fast render: all videos alike" if config.render == "fast" else ""
        console.print(
            f"novareel emulator listening on {server.url} (speed {config.speed:g}x{mode})"
        )
        console.print(
            f"latency {config.latency} x{config.latency_scale:g}, "
            f"spread {config.latency_spread:g}, seed {config.latency_seed}; "
            f"full quota: {config.quota_error}"
        )
        console.print("a preview renderer, not a generative model; Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
