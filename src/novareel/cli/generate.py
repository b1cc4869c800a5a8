"""``novareel generate``: every parameter of pwshBedrock's Invoke-AmazonVideoModel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from novareel.cli import max_cost as cost_cap
from novareel.cli.app import JSON_HELP, app, emit_json, err_console, handle_errors
from novareel.cli.common import (
    CONNECTION,
    GENERATE_FLAGS,
    Connection,
    JobProgress,
    ProblemCollector,
    cli_notice,
    open_api,
    print_result,
    with_connection,
)
from novareel.errors import InvalidRequestError, Problem
from novareel.s3uri import OUTPUT_URI_ENV
from novareel.status import JobStatus


def _parse_tags(values: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    bad: list[Problem] = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            bad.append(Problem("tag", f"{item!r} is not KEY=VALUE", value=item, limit="KEY=VALUE"))
            continue
        tags[key] = value
    if bad:
        raise InvalidRequestError(bad)
    return tags


#: The end of ``generate --help``: real command lines to start from (each one runs).
EXAMPLES = """Examples:

A 6 s clip on the local emulator (no AWS account, nothing to pay):
  novareel generate "A lighthouse on a cliff at dawn, waves below" --local

On AWS, into your own bucket (the price is printed before the submit):
  novareel generate "A lighthouse on a cliff at dawn" --output-uri s3://my-bucket/videos/

An 18 s multi-shot video with a fixed seed:
  novareel generate "A city street at night, rain" --duration 18 --seed 7 --local

Start from your own picture, cropped to 1280x720:
  novareel generate "Pan right across the harbour" --image frame.png --fit crop --local

A storyboard (one 6 s shot per entry); check the request and price first:
  novareel generate --storyboard shots.yaml --local --dry-run

Luma Ray 2, portrait:
  novareel generate "A paper boat on a stream" --model-id luma-ray2 --aspect-ratio 9:16 --local
"""


@app.command(epilog=EXAMPLES)
@handle_errors(flags=GENERATE_FLAGS)
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
    out: Path = typer.Option(
        Path("."), "--out", help="Download into OUT/<date>-<name or prompt>-<invocation-id>/."
    ),
    job_name: str | None = typer.Option(
        None, "--name", help="Name the download folder (default: a slug of the prompt)."
    ),
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
    again: bool = typer.Option(
        False,
        "--again",
        help="Pay for a new job even if an identical one (same request and output) ran or"
        " is running within the last 24 h; by default that job is waited for and reused.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the request (images elided) and the cost; send nothing."
    ),
    max_cost: str | None = cost_cap.MAX_COST,
    conn: Connection = CONNECTION,
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Generate a video: check everything, submit, wait with progress, download."""
    from novareel.compose import RequestSpec, compose_requests
    from novareel.models import submit_option_problems
    from novareel.s3uri import output_location, resolve_output_uri

    # Every check runs, whatever failed before it, so one run lists every problem of
    # the command line (each named by the flag the user typed).
    found = ProblemCollector(GENERATE_FLAGS)
    found.flags["shots[]"] = "--storyboard" if storyboard is not None else "--shot"
    cap = None
    with found.check():
        cap = cost_cap.parse(max_cost)
    notices: list[str] = []
    tags: dict[str, str] = {}
    with found.check():
        tags = _parse_tags(tag)
    for problem in submit_option_problems(token, tags):
        found.add(problem)

    output_uri = resolve_output_uri(output_uri, local=conn.local)
    location = None
    if output_uri is None:
        found.add(
            InvalidRequestError(
                Problem(
                    "output_uri", "an output location is required", limit="s3://bucket/folder/"
                ),
                hint=f"Pass --output-uri s3://bucket/folder/ (or set {OUTPUT_URI_ENV}), "
                "or --local.",
            )
        )
    else:
        with found.check():
            location = output_location(
                output_uri, bucket_owner=bucket_owner, kms_key_id=kms_key_id, notices=notices
            )

    # The request itself: the library's one builder (the batch runner and the MCP
    # server use it too), every problem collected, every notice said before paying.
    built = compose_requests(
        RequestSpec(
            prompt=prompt,
            task=task,
            duration=duration,
            image=image,
            end_image=end_image,
            fit=fit,
            bucket_owner=bucket_owner,
            shots=shot or None,
            storyboard=storyboard,
            seed=seed,
            model_id=model_id,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            loop=loop or None,
        )
    )
    built_error = built.error()
    if built_error is not None:
        found.add(built_error)
    model = built.model
    if model is None:
        # Without the model, or the shots of a storyboard that cannot be read, the
        # request itself cannot be checked: report what was found so far.
        raise found.error()
    notices.extend(built.notices)
    requests: list[Any] = list(built.requests)
    per_shot = built.per_shot

    if per_shot and (token or no_wait):
        flag = "--token" if token else "--no-wait"
        found.add(
            Problem(
                flag.lstrip("-").replace("-", "_"),
                f"{flag} does not apply to a storyboard run as one job per shot",
                limit="each shot's token is derived from its content (exactly once)",
            )
        )
    cost = round(sum(r.estimated_cost_usd for r in requests), 2)
    if dry_run and requests:
        # A dry run shows the request and its price even when something around it is
        # wrong: the user sees everything that is wrong and everything that would be sent.
        error = found.error() if found else None
        _print_dry_run(
            conn, requests, location or output_uri, token, tags, notices, json_output, error
        )
        if error is not None:
            raise typer.Exit(error.exit_code)
        return
    found.raise_if_any()
    assert location is not None

    with open_api(conn, waits=not no_wait, region=model.info.default_region) as (api, emulator):
        what = f"this storyboard ({len(requests)} jobs)" if per_shot else "this job"
        # An identical job already accepted costs nothing more: attaching is never refused.
        same = (
            None
            if per_shot or token or again
            else api.identical_job(requests[0], location, tags or None)
        )
        cost_cap.check_command(
            api, cost, cap, what=what, token=token or (same.client_token if same else None)
        )
        owned = emulator is not None and emulator.owned
        if no_wait and owned:
            notices.append(
                "the emulator was started inside this command and stops with it, so this "
                "job cannot be waited for later; run `novareel emulator` in another terminal "
                "first to keep jobs alive"
            )
        printed: set[str] = set()

        def notify(notice: str) -> None:
            """Print a notice the moment it is known (once), always before the submit."""
            if not json_output and notice not in printed:
                printed.add(notice)
                cli_notice(notice)  # neutralised: a notice may quote the prompt

        for notice in notices:
            notify(notice)
        if not json_output:
            what = f"{len(requests)} jobs (one per shot)" if per_shot else "1 job"
            from novareel.ledger.models import is_loopback_url

            price = f"~${cost:.2f} on AWS"
            if is_loopback_url(api.client.runtime_endpoint):
                price = f"$0 here (≈ ${cost:.2f} on AWS)"
            err_console.print(
                f"submitting {what} to {model.model_id} in {api.client.region}: {price}",
                highlight=False,
            )
        shown = () if not json_output else tuple(notices)
        if per_shot:
            _run_per_shot(
                api, requests, location, tags, out, storyboard, timeout, poll_interval,
                no_download, json_output, shown, job_name,
            )  # fmt: skip
            return
        from novareel.results import format_cost

        sent: list[Any] = []  # the accepted job, once the library says so

        def on_submitted(submitted: Any) -> None:
            """The job is accepted: say so, and from here on Ctrl-C says how to resume."""
            sent.append(submitted)
            progress.label = f"job {submitted.invocation_id}"
            if json_output:
                return
            cost_text = format_cost(submitted.estimated_cost_usd, local=submitted.ran_locally)
            attached = same is not None and same.invocation_arn and same.id == submitted.ledger_id
            err_console.print(
                f"{'attached to' if attached else 'submitted'} job {submitted.ledger_id}: "
                f"{submitted.invocation_arn} ({cost_text})",
                highlight=False,
            )

        with JobProgress(not json_output) as progress:
            try:
                result = api.generate(
                    requests[0],
                    location,
                    out_dir=None if no_download else out,
                    wait=not no_wait,
                    timeout=timeout,
                    poll_interval=poll_interval,
                    client_token=token,
                    tags=tags or None,
                    on_progress=progress.on_progress,
                    on_download=progress.on_download,
                    raise_on_failure=False,
                    name=job_name,
                    on_notice=notify,
                    again=again,
                    on_submitted=on_submitted,
                    wait_for_slot=0 if no_wait else timeout,
                )
            except KeyboardInterrupt:
                if not sent:
                    raise
                progress.close()
                ref = str(sent[0].ledger_id or sent[0].invocation_arn)
                _interrupted(api, ref, emulator, _resume(sent[0], no_download, out, conn))
                raise typer.Exit(130) from None
        # Printed already (text) or carried once in the result (--json).
        result = result.with_(
            notices=tuple(n for n in dict.fromkeys(shown + result.notices) if n not in printed)
        )
        if no_wait:
            # No next command for a job whose emulator dies with this command (the
            # notice above says so): it would only fail.
            resume = _resume(result, no_download, out, conn)
            if json_output:
                emit_json({**result.to_dict(), "next_command": None if owned else resume})
            else:
                print_result(result, json_output)
                if not owned:
                    err_console.print(f"next: {resume}", highlight=False)
            return
        if result.status == JobStatus.FAILED:
            from novareel.jobs import job_failed_error

            raise job_failed_error(result)
        print_result(result, json_output)


def _resume(job: Any, no_download: bool, out: Path, conn: Connection) -> str:
    """The command that picks ``job`` up again, with this command's --out and connection."""
    from novareel.cli.track import resume_command

    ref = str(job.ledger_id or job.invocation_arn)
    return resume_command("wait", ref, out=None if no_download else out, conn=conn)


def _interrupted(api: Any, ref: str, emulator: Any, resume: str) -> None:
    """Ctrl-C while waiting: say exactly how to pick the job up again, or, when the
    emulator that holds it was started by this command (and stops with it), that the
    job is lost, recording that in the ledger, and how to avoid it next time."""
    if emulator is not None and emulator.owned:
        error = api.mark_lost(ref)
        err_console.print(
            f"interrupted: {error.message}. {error.hint}",
            highlight=False,
        )
        return
    err_console.print(
        f"interrupted: job {ref} keeps running (and is in the ledger). Resume with:\n  {resume}",
        highlight=False,
    )


def _print_dry_run(
    conn: Connection,
    requests: list[Any],
    output: Any,
    token: str | None,
    tags: dict[str, str],
    notices: list[str],
    json_output: bool,
    error: InvalidRequestError | None = None,
) -> None:
    """What ``--dry-run`` prints: the library's plan (:func:`novareel.jobs.dry_run`):
    each complete StartAsyncInvoke request (images elided), its cost and expected
    time, and (``error``) what is still wrong around it (the command then exits 2).

    No network call: the endpoint is the one the command would use, and the ledger
    that times are learned from is read only if it exists (a dry run creates none).
    """
    import json

    from novareel.client import runtime_endpoint_for
    from novareel.jobs.dry_run import dry_run, existing_ledger

    if conn.local:
        from novareel.local import emulator_url

        endpoint: str | None = emulator_url(conn.endpoint_url)
    else:
        endpoint = runtime_endpoint_for(conn.endpoint_url)
    with existing_ledger() as ledger:
        plan = dry_run(
            requests,
            output,
            client_token=token,
            tags=tags,
            notices=notices,
            ledger=ledger,
            endpoint=endpoint,
        )
    problems = [p.to_dict() for p in error.problems] if error is not None else []
    if error is not None and not json_output:
        for problem in error.problems:
            typer.secho(f"error: {problem}", fg="red", err=True)
        if error.hint:
            typer.secho(f"hint: {error.hint}", fg="yellow", err=True)
    wrong = {"problems": problems} if problems else {}
    if len(plan.results) == 1:
        if json_output:
            emit_json({**plan.job_dicts()[0], **wrong})
            return
        print_result(plan.results[0], False)
        _say_expected(plan.expectations[0])
        err_console.print("nothing was sent (--dry-run); the StartAsyncInvoke request would be:")
        typer.echo(json.dumps(plan.start_async_invoke[0], indent=2))
        return
    if json_output:
        emit_json(
            {
                "status": "DryRun",
                "model_id": requests[0].model_id,
                "jobs": plan.job_dicts(),
                "shots": len(plan.results),
                "duration_seconds": plan.duration_seconds,
                "estimated_cost_usd": plan.estimated_cost_usd,
                "notices": list(plan.notices),
                **wrong,
            }
        )
        return
    for notice in plan.notices:
        cli_notice(notice)  # neutralised: a notice may quote the prompt
    typer.echo(
        f"{len(plan.results)} shots, one {requests[0].model_id} job each, "
        f"{plan.duration_seconds} s in all, ~${plan.estimated_cost_usd:.2f}"
    )
    err_console.print("nothing was sent (--dry-run); the StartAsyncInvoke requests would be:")
    typer.echo(json.dumps(list(plan.start_async_invoke), indent=2))


def _say_expected(expected: Any) -> None:
    """One stderr line: the expected generation time and where it comes from."""
    err_console.print(
        f"expected generation time: ~{expected.seconds:,.0f} s on the real service,"
        f" {expected.source}",
        highlight=False,
    )


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
    name: str | None = None,
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
        "status": JobStatus.COMPLETED if summary.ok else JobStatus.FAILED,
        "model_id": requests[0].model_id,
        "shots": [o.to_dict() for o in summary.items],
        "estimated_cost_usd": round(sum(r.estimated_cost_usd for r in requests), 2),
        "notices": list(notices) + list(summary.notices),
    }
    if summary.ok and not no_download:
        from novareel.naming import storyboard_folder_name

        label = name or (storyboard.stem if storyboard is not None else "storyboard")
        legacy = out / f"storyboard-{batch.identity[:12]}"  # before the naming rule
        when = api.ledger.get_batch(summary.batch_id).created_at
        folder = (
            legacy
            if legacy.is_dir()
            else out / storyboard_folder_name(label, batch.identity, when=when)
        )
        joined = assemble(summary.items, folder)
        result.update(joined.to_dict())
    if json_output:
        emit_json(result)
    else:
        for notice in summary.notices:
            cli_notice(notice)  # neutralised: a notice may quote the prompt
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
