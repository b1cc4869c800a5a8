"""``novareel generate``: every parameter of pwshBedrock's Invoke-AmazonVideoModel."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from novareel.cli.app import JSON_HELP, app, emit_json, err_console, handle_errors
from novareel.cli.common import (
    CONNECTION,
    Connection,
    download_progress,
    open_api,
    print_result,
    wait_progress,
    with_connection,
)
from novareel.errors import InvalidRequestError, Problem

if TYPE_CHECKING:
    from novareel.images import FitMode

OUTPUT_URI_ENV = "NOVAREEL_OUTPUT_URI"


def _parse_tags(values: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidRequestError(
                Problem("tag", f"{item!r} is not KEY=VALUE", value=item, limit="KEY=VALUE")
            )
        tags[key] = value
    return tags


@app.command()
@handle_errors()
@with_connection
def generate(
    prompt: str | None = typer.Argument(None, help="What the video shows (TEXT_VIDEO / auto)."),
    task: str | None = typer.Option(
        None, "--task", help="text | auto | manual (default: from the other options)."
    ),
    duration: int | None = typer.Option(
        None, "--duration", help="Seconds: 6 (text) or a multiple of 6 in 12-120 (auto)."
    ),
    image: str | None = typer.Option(
        None, "--image", help="Starting frame: a PNG/JPEG path or s3:// URI (TEXT_VIDEO)."
    ),
    fit: str | None = typer.Option(
        None, "--fit", help="Convert images to 1280x720: crop | pad | stretch (default: refuse)."
    ),
    shot: list[str] = typer.Option(
        [], "--shot", help="A manual shot's text (repeat for each shot)."
    ),
    storyboard: Path | None = typer.Option(
        None, "--storyboard", help="YAML/JSON storyboard of shots (text + optional image)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="0-2147483646 (default 42)."),
    model_id: str | None = typer.Option(
        None, "--model-id", help="amazon.nova-reel-v1:1 (default) or amazon.nova-reel-v1:0."
    ),
    output_uri: str | None = typer.Option(
        None,
        "--output-uri",
        help=f"s3://bucket/folder/ for the job's files (or ${OUTPUT_URI_ENV}).",
    ),
    bucket_owner: str | None = typer.Option(
        None, "--bucket-owner", help="Account id owning the output bucket (and S3 images)."
    ),
    kms_key_id: str | None = typer.Option(None, "--kms-key-id", help="KMS key ARN for output."),
    out: Path = typer.Option(Path("."), "--out", help="Download into OUT/<invocation-id>/."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Submit and return at once."),
    no_download: bool = typer.Option(False, "--no-download", help="Wait, but leave files in S3."),
    poll_interval: float | None = typer.Option(
        None, "--poll-interval", help="Fixed seconds between checks (default: adaptive)."
    ),
    timeout: float = typer.Option(
        30 * 60, "--timeout", help="Stop waiting after this many seconds (the job goes on)."
    ),
    token: str | None = typer.Option(
        None, "--token", help="clientRequestToken to reuse: the same token never pays twice."
    ),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE tag (repeatable)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the request (images elided) and the cost; send nothing."
    ),
    conn: Connection = CONNECTION,
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Generate a video: check everything, submit, wait with progress, download."""
    from novareel.results import JobResult
    from novareel.s3uri import output_location
    from novareel.spec import DEFAULT_MODEL, DEFAULT_SEED, Shot, build_request

    if fit is not None and fit not in ("crop", "pad", "stretch"):
        raise InvalidRequestError(
            Problem("fit", f"unknown fit mode {fit!r}", value=fit, limit="crop | pad | stretch")
        )
    notices: list[str] = []
    tags = _parse_tags(tag)
    fit_mode = cast("FitMode | None", fit)
    frame = None
    if image:
        from novareel.images import prepare_starting_frame

        prepared = prepare_starting_frame(image, fit=fit_mode, bucket_owner=bucket_owner)
        frame = prepared.frame
        notices.extend(prepared.notes)
    if storyboard is not None:
        if shot:
            raise InvalidRequestError(
                Problem("shot", "give --shot or --storyboard, not both", value=len(shot))
            )
        from novareel.storyboard import load_storyboard

        board = load_storyboard(storyboard).prepare(seed=seed, model_id=model_id, fit=fit_mode)
        notices.extend(board.notes)
        shots: list[Shot] | None = list(board.request.shots)
        seed, model_id = board.request.seed, board.request.model_id
    else:
        shots = [Shot(text) for text in shot] or None
    # One resolver for every combination, so contradictions (a prompt with a
    # storyboard, TEXT_VIDEO with 12 s, an image on an automated job) read the same.
    request = build_request(
        prompt,
        task=task,
        duration=duration,
        image=frame,
        shots=shots,
        seed=DEFAULT_SEED if seed is None else seed,
        model_id=model_id or DEFAULT_MODEL,
    )
    from novareel.prompting import prompt_warnings

    texts = [getattr(request, "prompt", "")] + [s.text for s in getattr(request, "shots", ())]
    for text in filter(None, texts):
        notices.extend(prompt_warnings(text))

    if output_uri is None:
        output_uri = os.environ.get(OUTPUT_URI_ENV)
    if output_uri is None and conn.local:
        from novareel.local import LOCAL_OUTPUT_URI

        output_uri = LOCAL_OUTPUT_URI
    if output_uri is None:
        raise InvalidRequestError(
            Problem("output_uri", "an output location is required", limit="s3://bucket/folder/"),
            hint=f"Pass --output-uri s3://bucket/folder/ (or set {OUTPUT_URI_ENV}), or --local.",
        )
    location = output_location(
        output_uri, bucket_owner=bucket_owner, kms_key_id=kms_key_id, notices=notices
    )

    if dry_run:
        result = JobResult(
            status="DryRun",
            task_type=request.task_type.value,
            model_id=request.model_id,
            duration_seconds=request.duration_seconds,
            seed=request.seed,
            estimated_cost_usd=request.estimated_cost_usd,
            output_uri=str(location.uri),
            client_token=token,
            notices=tuple(notices),
            request=request.describe(),
        )
        if json_output:
            emit_json(result.to_dict())
        else:
            import json

            print_result(result, False)
            err_console.print("nothing was sent (--dry-run); the request would be:")
            typer.echo(json.dumps(result.request, indent=2))
        return

    with open_api(conn, waits=not no_wait) as (api, emulator):
        if no_wait and emulator is not None and emulator.owned:
            notices.append(
                "the emulator was started inside this command and stops with it, so this "
                "job cannot be waited for later; run `novareel emulator` in another terminal "
                "first to keep jobs alive"
            )
        submitted = api.submit(
            request,
            location,
            client_token=token,
            tags=tags or None,
            wait_for_slot=0 if no_wait else timeout,
        )
        submitted = submitted.with_(notices=tuple(notices) + submitted.notices)
        if not json_output:
            err_console.print(
                f"submitted job {submitted.ledger_id}: {submitted.invocation_arn} "
                f"(~${submitted.estimated_cost_usd:.2f})",
                highlight=False,
            )
        if no_wait:
            print_result(submitted, json_output)
            return
        ref = str(submitted.ledger_id or submitted.invocation_arn)
        with wait_progress(not json_output, f"job {submitted.invocation_id}") as on_progress:
            finished = api.wait(
                ref, timeout=timeout, poll_interval=poll_interval, on_progress=on_progress
            )
        finished = finished.with_(notices=submitted.notices + finished.notices)
        if not no_download:
            with download_progress(not json_output) as on_bytes:
                downloaded = api.download(ref, out, on_progress=on_bytes)
            finished = finished.with_(
                local_dir=downloaded.local_dir,
                local_files=downloaded.local_files,
                notices=finished.notices + downloaded.notices,
            )
        if finished.status == "Failed":
            from novareel.jobs import job_failed_error

            raise job_failed_error(finished)
        print_result(finished, json_output)
