"""``novareel generate``: every parameter of pwshBedrock's Invoke-AmazonVideoModel."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from novareel.cli import max_cost as cost_cap
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
        None, "--task", help="Nova Reel: text | auto | manual (default: from the other options)."
    ),
    duration: int | None = typer.Option(
        None,
        "--duration",
        help="Seconds: Nova Reel 6 (text) or a multiple of 6 in 12-120 (auto); "
        "Luma Ray 2 5 or 9 (per shot).",
    ),
    image: str | None = typer.Option(
        None, "--image", help="Starting frame: a PNG/JPEG path (or s3:// URI on Nova Reel)."
    ),
    end_image: str | None = typer.Option(
        None, "--end-image", help="Luma Ray 2: the last frame (PNG/JPEG path)."
    ),
    fit: str | None = typer.Option(
        None,
        "--fit",
        help="Convert images to the model's size: crop | pad | stretch (default: refuse).",
    ),
    shot: list[str] = typer.Option(
        [], "--shot", help="A storyboard shot's text (repeat for each shot)."
    ),
    storyboard: Path | None = typer.Option(
        None, "--storyboard", help="YAML/JSON storyboard of shots (text + optional image)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Nova Reel: 0-2147483646 (default 42)."),
    model_id: str | None = typer.Option(
        None,
        "--model-id",
        help="Model id or alias: nova-reel (v1:1, default), nova-reel-v1:0, luma-ray2.",
    ),
    aspect_ratio: str | None = typer.Option(
        None,
        "--aspect-ratio",
        help="Luma Ray 2: 16:9 (default) | 9:16 | 1:1 | 4:3 | 3:4 | 21:9 | 9:21.",
    ),
    resolution: str | None = typer.Option(
        None, "--resolution", help="Luma Ray 2: 540p | 720p (default)."
    ),
    loop: bool = typer.Option(False, "--loop", help="Luma Ray 2: the end blends into the start."),
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
    max_cost: str | None = cost_cap.MAX_COST,
    conn: Connection = CONNECTION,
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Generate a video: check everything, submit, wait with progress, download."""
    from novareel.models import GenerateOptions, Shot, build_request, build_shot_requests, get_model
    from novareel.s3uri import output_location

    cap = cost_cap.parse(max_cost)
    if fit is not None and fit not in ("crop", "pad", "stretch"):
        raise InvalidRequestError(
            Problem("fit", f"unknown fit mode {fit!r}", value=fit, limit="crop | pad | stretch")
        )
    notices: list[str] = []
    tags = _parse_tags(tag)
    fit_mode = cast("FitMode | None", fit)
    board = None
    if storyboard is not None:
        if shot:
            raise InvalidRequestError(
                Problem("shot", "give --shot or --storyboard, not both", value=len(shot))
            )
        from novareel.storyboard import load_storyboard

        board = load_storyboard(storyboard)
    model = get_model(model_id or (board.file.model_id if board else None))
    looks = GenerateOptions(aspect_ratio=aspect_ratio, resolution=resolution)
    rules = model.family.frame_rules_for(looks)
    frames = {}
    for name, source in (("image", image), ("end_image", end_image)):
        if source:
            from novareel.images import prepare_starting_frame

            prepared = prepare_starting_frame(
                source,
                fit=fit_mode,
                bucket_owner=bucket_owner if name == "image" else None,
                field=name,
                rules=rules,
            )
            frames[name] = prepared.frame
            notices.extend(prepared.notes)
    shots: list[Shot] | None
    if board is not None:
        prepared_board = board.prepare(
            seed=seed, model_id=model.model_id, fit=fit_mode, rules=rules
        )
        notices.extend(prepared_board.notes)
        shots = prepared_board.shots
        seed = prepared_board.seed
    else:
        shots = [Shot(text) for text in shot] or None
    options = GenerateOptions(
        prompt=prompt,
        model_id=model.model_id,
        task=task,
        duration=duration,
        image=frames.get("image"),
        end_image=frames.get("end_image"),
        shots=shots,
        seed=seed,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        loop=loop or None,
    )
    # One resolver per model for every combination, so contradictions (a prompt with a
    # storyboard, TEXT_VIDEO with 12 s, --seed on Luma Ray 2) read the same.
    per_shot = bool(shots) and not model.family.multi_shot
    requests = build_shot_requests(options) if per_shot else [build_request(options)]
    notices.extend(model_notices(model, requests))

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
    cost = round(sum(r.estimated_cost_usd for r in requests), 2)
    try:
        location = output_location(
            output_uri, bucket_owner=bucket_owner, kms_key_id=kms_key_id, notices=notices
        )
    except InvalidRequestError as exc:
        if not dry_run:
            raise
        # A dry run still shows the request and its price, then fails on the location:
        # the user sees everything that is wrong and everything that would be sent.
        _print_dry_run(requests, output_uri, token, notices, cost, json_output, exc)
        raise typer.Exit(exc.exit_code) from None

    if dry_run:
        _print_dry_run(requests, str(location.uri), token, notices, cost, json_output)
        return
    if per_shot and (token or no_wait):
        flag = "--token" if token else "--no-wait"
        raise InvalidRequestError(
            Problem(
                flag.lstrip("-").replace("-", "_"),
                f"{flag} does not apply to a storyboard run as one job per shot",
                limit="each shot's token is derived from its content (exactly once)",
            )
        )

    with open_api(conn, waits=not no_wait, region=model.info.default_region) as (api, emulator):
        what = f"this storyboard ({len(requests)} jobs)" if per_shot else "this job"
        cost_cap.check_command(api, cost, cap, what=what, token=token)
        client = api.client
        if not conn.local and client.region_source == "default":
            notices.append(
                f"no AWS region configured: using {client.region}, where {model.info.name} runs"
            )
        if client.region not in model.info.regions:
            notices.append(
                f"{model.info.name} is offered in {', '.join(model.info.regions)}, not "
                f"{client.region}: the service will likely refuse it (pass --region "
                f"{model.info.default_region}, or check with `novareel doctor`)"
            )
        if no_wait and emulator is not None and emulator.owned:
            notices.append(
                "the emulator was started inside this command and stops with it, so this "
                "job cannot be waited for later; run `novareel emulator` in another terminal "
                "first to keep jobs alive"
            )
        if not json_output:
            for notice in notices:
                typer.secho(f"notice: {notice}", fg="yellow", err=True)
            what = f"{len(requests)} jobs (one per shot)" if per_shot else "1 job"
            err_console.print(
                f"submitting {what} to {model.model_id} in {client.region}: ~${cost:.2f} on AWS",
                highlight=False,
            )
        shown = () if not json_output else tuple(notices)
        if per_shot:
            _run_per_shot(
                api, requests, location, tags, out, storyboard, timeout, poll_interval,
                no_download, json_output, shown,
            )  # fmt: skip
            return
        submitted = api.submit(
            requests[0],
            location,
            client_token=token,
            tags=tags or None,
            wait_for_slot=0 if no_wait else timeout,
        )
        submitted = submitted.with_(notices=shown + submitted.notices)
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


def model_notices(model: Any, requests: list[Any]) -> list[str]:
    """What to say about the chosen model before any money or time is spent.

    Its lifecycle (from the registry's dates; `novareel doctor` asks the account),
    the undocumented image input of a family that has one, and the prompt warnings.
    """
    from novareel.models import lifecycle_notice
    from novareel.prompting import prompt_warnings

    notices: list[str] = []
    lifecycle = lifecycle_notice(model)
    if lifecycle:
        notices.append(lifecycle)
    image_notice = getattr(model.family, "image_notice", None)
    if image_notice and any(r.frames for r in requests):
        notices.append(image_notice)
    for request in requests:
        texts = [getattr(request, "prompt", "")] + [s.text for s in getattr(request, "shots", ())]
        for text in filter(None, texts):
            notices.extend(prompt_warnings(text))
    return list(dict.fromkeys(notices))


def _print_dry_run(
    requests: list[Any],
    output_uri: str,
    token: str | None,
    notices: list[str],
    cost: float,
    json_output: bool,
    error: InvalidRequestError | None = None,
) -> None:
    """What ``--dry-run`` prints: each request, its cost, and (``error``) what is still
    wrong with the options around it (then the command exits 2)."""
    import json

    from novareel.results import JobResult

    problems = [p.to_dict() for p in error.problems] if error is not None else []
    if error is not None and not json_output:
        for problem in error.problems:
            typer.secho(f"error: {problem}", fg="red", err=True)

    results = [
        JobResult(
            status="DryRun",
            task_type=str(r.task_type),
            model_id=r.model_id,
            duration_seconds=r.duration_seconds,
            seed=r.seed,
            estimated_cost_usd=r.estimated_cost_usd,
            output_uri=output_uri,
            client_token=token,
            notices=tuple(notices),
            request=r.describe(),
        )
        for r in requests
    ]
    if len(results) == 1:
        if json_output:
            emit_json({**results[0].to_dict(), **({"problems": problems} if problems else {})})
        else:
            print_result(results[0], False)
            err_console.print("nothing was sent (--dry-run); the request would be:")
            typer.echo(json.dumps(results[0].request, indent=2))
        return
    if json_output:
        emit_json(
            {
                "status": "DryRun",
                "model_id": requests[0].model_id,
                "jobs": [r.to_dict() for r in results],
                "shots": len(results),
                "duration_seconds": sum(r.duration_seconds for r in requests),
                "estimated_cost_usd": cost,
                "notices": notices,
                **({"problems": problems} if problems else {}),
            }
        )
        return
    for notice in notices:
        typer.secho(f"notice: {notice}", fg="yellow", err=True)
    typer.echo(
        f"{len(results)} shots, one {requests[0].model_id} job each, "
        f"{sum(r.duration_seconds for r in requests)} s in all, ~${cost:.2f}"
    )
    err_console.print("nothing was sent (--dry-run); the requests would be:")
    typer.echo(json.dumps([r.request for r in results], indent=2))


def _run_per_shot(
    api: Any,
    requests: list[Any],
    location: Any,
    tags: dict[str, str],
    out: Path,
    storyboard: Path | None,
    timeout: float,
    poll_interval: float | None,
    no_download: bool,
    json_output: bool,
    notices: tuple[str, ...],
) -> None:
    """A storyboard on a model without multi-shot: one job per shot, then joined."""
    from novareel.batch import BatchRunner
    from novareel.errors import JobFailedError
    from novareel.models import get_model
    from novareel.shotboard import assemble, shot_batch

    batch = shot_batch(requests, location, tags=tags, source=str(storyboard or "generate"))

    def on_event(event: Any) -> None:
        if not json_output and event.message:
            err_console.print(f"shot {event.number}: {event.message}", highlight=False)

    runner = BatchRunner(
        api,
        batch,
        out_dir=None if no_download else out,
        max_concurrent=get_model(requests[0].model_id).info.concurrency,
        timeout=timeout,
        poll_interval=poll_interval,
        on_event=on_event,
    )
    summary = runner.run()
    result: dict[str, Any] = {
        "status": "Completed" if summary.ok else "Failed",
        "model_id": requests[0].model_id,
        "shots": [o.to_dict() for o in summary.items],
        "estimated_cost_usd": round(sum(r.estimated_cost_usd for r in requests), 2),
        "notices": list(notices) + list(summary.notices),
    }
    if summary.ok and not no_download:
        joined = assemble(summary.items, out / f"storyboard-{batch.identity[:12]}")
        result.update(joined.to_dict())
    if json_output:
        emit_json(result)
    else:
        for notice in summary.notices:
            typer.secho(f"notice: {notice}", fg="yellow", err=True)
        typer.echo(f"status      {result['status']}")
        typer.echo(f"shots       {len(requests)} x {requests[0].model_id}")
        if "video_path" in result:
            typer.echo(f"video file  {result['video_path']}")
            typer.echo(f"shot files  {result['local_dir']}/shot_*.mp4")
    if not summary.ok:
        bad = [o for o in summary.items if o.phase.value != "done"]
        raise JobFailedError(
            f"{len(bad)} of {len(requests)} shots did not finish: "
            + "; ".join(f"{o.key} {o.phase.value} {o.message}".strip() for o in bad),
            result=result,
            hint="Run the same command again: finished shots are kept and none is paid twice.",
        )
