"""Media commands: look at videos, prepare frames, check storyboards, camera words.

``inspect``, ``contact-sheet``, ``frame``, ``camera``, ``image check`` and
``storyboard check``. Pillow, PyAV and pydantic are imported inside each command, so
``novareel --help`` never pays for them.
"""

from __future__ import annotations

from pathlib import Path

import typer

from novareel.cli.app import (
    JSON_OUTPUT,
    app,
    command_group,
    console,
    emit_json,
    err_console,
    handle_errors,
)

storyboard_app = command_group(
    "storyboard", "Storyboard files (YAML/JSON shots) for MULTI_SHOT_MANUAL jobs."
)
image_app = typer.Typer(help="Starting frames: check an image, or fit it to 1280x720.")
app.add_typer(image_app, name="image")


def _e(value: object) -> str:
    """Escape text for Rich markup: paths and messages may contain ``[/...]``."""
    from rich.markup import escape

    return escape(str(value))


def _say(text: str, *, err: bool = False) -> None:
    """Print one line of a report (to stderr with ``err``) as written: Rich neither
    highlights the numbers and paths in it nor wraps it, so a long path stays one
    line that can be copied."""
    (err_console if err else console).print(text, highlight=False, soft_wrap=True)


def _seconds(value: float) -> str:
    minutes, rest = divmod(value, 60)
    return f"{int(minutes)}:{rest:05.2f}"


@app.command("inspect")
@handle_errors()
def inspect_command(
    video: Path = typer.Argument(..., help="A local video file (e.g. output.mp4)."),
    expect_duration: float | None = typer.Option(
        None,
        "--expect-duration",
        help="Seconds the video should last; also checks 1280x720 and 24 fps. "
        "Exit code 1 on any mismatch.",
    ),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Print what a video really is: codec, size, fps, duration, frames and shots."""
    from novareel.media.video import check_video, inspect_video

    info = inspect_video(video)
    mismatches = (
        check_video(info, expected_duration=expect_duration) if expect_duration is not None else []
    )
    if json_output:
        payload = info.to_dict()
        if expect_duration is not None:
            payload["expected_duration_seconds"] = expect_duration
            payload["mismatches"] = mismatches
        emit_json(payload)
    else:
        _say(f"[bold]{_e(info.path)}[/]")
        _say(
            f"  {info.codec}, {info.width}x{info.height}, {info.fps:g} fps, "
            f"{info.duration_seconds:g} s ({info.frame_count} frames), "
            f"{info.size_bytes / 1_000_000:.1f} MB"
        )
        starts = ", ".join(_seconds(t) for t in info.shot_starts)
        console.print(f"  {info.shots} shot{'s' if info.shots != 1 else ''}: {starts}")
        for mismatch in mismatches:
            _say(f"[yellow]mismatch:[/] {_e(mismatch)}", err=True)
        if expect_duration is not None and not mismatches:
            console.print("  matches what was asked (duration, 1280x720, 24 fps)")
    if mismatches:
        raise typer.Exit(1)


@app.command("contact-sheet")
@handle_errors()
def contact_sheet_command(
    video: Path = typer.Argument(..., help="A local video file."),
    out: Path = typer.Option(..., "--out", "-o", help="The PNG to write."),
    every: float | None = typer.Option(
        None, "--every", help="One frame every N seconds (default: one per shot, mid-shot)."
    ),
    columns: int | None = typer.Option(None, "--columns", help="Tiles per row (default <= 4)."),
    thumb_width: int = typer.Option(320, "--thumb-width", help="Width of each tile in pixels."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Tile frames of a video, labelled with their timestamps, into one PNG."""
    from novareel.media.video import make_contact_sheet

    sheet = make_contact_sheet(video, out, every=every, columns=columns, thumb_width=thumb_width)
    if json_output:
        emit_json(sheet.to_dict())
    else:
        _say(
            f"wrote {_e(sheet.path)} ({len(sheet.timestamps)} frames at "
            f"{', '.join(_seconds(t) for t in sheet.timestamps)})"
        )


@app.command("frame")
@handle_errors()
def frame_command(
    video: Path = typer.Argument(..., help="A local video file."),
    out: Path = typer.Option(..., "--out", "-o", help="Image to write (.png, or .jpg)."),
    at: float | None = typer.Option(None, "--at", help="Time in seconds."),
    last: bool = typer.Option(False, "--last", help="The final frame (to chain clips)."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Extract one frame at exactly 1280x720, ready to start the next clip."""
    from novareel.media.video import save_frame

    path = save_frame(video, out, at=at, last=last)
    if json_output:
        emit_json({"path": str(path), "at": at, "last": last, "width": 1280, "height": 720})
    else:
        where = "last frame" if last else f"frame at {at:g} s"
        _say(f"wrote {_e(path)} ({where}, 1280x720)")


@app.command("camera")
@handle_errors()
def camera_command(
    json_output: bool = JSON_OUTPUT,
) -> None:
    """List the camera moves Nova Reel understands, with an example prompt each.

    Put camera wording at the start or the end of the prompt.
    """
    from rich.table import Table

    from novareel.requests.prompting import CAMERA_MOVES

    if json_output:
        emit_json(
            [
                {"name": m.name, "keywords": list(m.keywords), "example": m.example}
                for m in CAMERA_MOVES
            ]
        )
        return
    table = Table(title="Camera moves (put them at the start or end of the prompt)")
    table.add_column("move", style="bold")
    table.add_column("also written")
    table.add_column("example prompt")
    for move in CAMERA_MOVES:
        table.add_row(move.name, ", ".join(move.keywords[1:]), move.example)
    console.print(table)


@image_app.command("check")
@handle_errors(flags={"fit": "--fit"})
def image_check_command(
    image: str = typer.Argument(..., help="A local image file or an s3:// URI."),
    fit: str | None = typer.Option(
        None, "--fit", help="Convert to 1280x720 RGB: crop | pad | stretch (default: refuse)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the bytes that would be sent (e.g. the fitted PNG)."
    ),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Check a starting frame against every Nova Reel rule (exit 2 if refused)."""
    from novareel.foundation.errors import InvalidRequestError
    from novareel.media.images import fit_problem, prepare_starting_frame

    bad_fit = fit_problem(fit)
    if bad_fit is not None:
        raise InvalidRequestError(bad_fit)
    prepared = prepare_starting_frame(image, fit=fit)  # type: ignore[arg-type]
    frame = prepared.frame
    written = None
    if out is not None and frame.data is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(frame.data)
        written = str(out)
    if json_output:
        emit_json(
            {
                "source": frame.source,
                "format": frame.format,
                "converted": prepared.converted,
                "sha256": frame.sha256,
                "size_bytes": len(frame.data) if frame.data is not None else None,
                "s3_uri": frame.s3_uri,
                "notes": prepared.notes,
                "written": written,
            }
        )
        return
    _say(f'ok: {_e(frame.source)} is accepted as format "{frame.format}"')
    for note in prepared.notes:
        _say(f"[cyan]note:[/] {_e(note)}", err=True)
    if written:
        _say(f"wrote {_e(written)}")


@storyboard_app.command("check")
@handle_errors()
def storyboard_check_command(
    file: Path = typer.Argument(..., help="A storyboard file (.yaml, .yml or .json)."),
    model_id: str | None = typer.Option(
        None, "--model-id", help="The model `generate` would use (default: the file's, else yours)."
    ),
    duration: int | None = typer.Option(
        None, "--duration", help="Seconds per shot, as `generate --duration` (Luma Ray 2)."
    ),
    resolution: str | None = typer.Option(
        None, "--resolution", help="As `generate --resolution` (Luma Ray 2: 540p or 720p)."
    ),
    aspect_ratio: str | None = typer.Option(
        None, "--aspect-ratio", help="As `generate --aspect-ratio` (Luma Ray 2)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="As `generate --seed` (Nova Reel)."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Check a storyboard: every problem by shot, its length and price (exit 2 if bad).

    Every problem of the file at once, with shot numbers, plus its duration and the
    price `generate` would pay for it with the same options (one job per shot on a
    model without multi-shot). Exit code 2 when there are problems."""
    from dataclasses import replace

    from novareel.cli.app import flag_for
    from novareel.models import request_options
    from novareel.requests.compose import check_storyboard
    from novareel.requests.storyboard import shot_label

    # generate --storyboard FILE's own builder, with the same options: the same problems
    # and price (a file naming no model: the person's default, as generate)
    options = {"duration": duration, "resolution": resolution, "aspect_ratio": aspect_ratio}
    report = check_storyboard(file, model_id=model_id, options={**options, "seed": seed})
    # a problem with an option given here named by its flag, as generate names it
    given = {**options, "seed": seed, "model_id": model_id}
    flags = {o.name: o.cli_flag for o in request_options() if given.get(o.name) is not None}
    flagged = [p.with_flag(flag_for(p.field, flags)) for p in report.problems]
    report = replace(report, problems=flagged)
    if json_output:
        emit_json(report.to_dict())
    else:
        price = (
            "no price known"
            if report.estimated_cost_usd is None
            else f"estimated ${report.estimated_cost_usd:.2f}"
        )
        jobs = f", {report.jobs} jobs (one per shot)" if report.per_shot else ""
        seeded = f", seed {report.seed}" if report.seed is not None else ""
        summary = (
            f"{report.shots} shots, {report.images} with images, {report.duration_seconds} s, "
            f"{price} ({report.model_id}{seeded}{jobs})"
        )
        if report.ok:
            _say(f"[green]ok:[/] {_e(report.path)}: {summary}")
        else:
            n = len(report.problems)
            _say(f"[bold red]{n} problem{'s' if n != 1 else ''}[/] in {_e(report.path)}:", err=True)
            for problem in report.problems:
                _say(f"  - {_e(shot_label(problem))}", err=True)
            for hint in report.hints:
                _say(f"[yellow]hint:[/] {_e(hint)}", err=True)
            if report.readable:
                _say(f"if fixed: {summary}")
            else:
                _say(
                    "fix the file first: its shots, duration and cost can only be counted "
                    "once it can be read"
                )
        for note in report.notes:
            _say(f"[cyan]note:[/] {_e(note)}", err=True)
    if not report.ok:
        raise typer.Exit(2)
