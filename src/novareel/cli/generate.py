"""``novareel generate``: every parameter of pwshBedrock's Invoke-AmazonVideoModel.

The options that shape the video (the prompt, ``--duration``, ``--aspect-ratio``...)
are not listed here: each is declared once by its model family and
:func:`~novareel.cli.common.with_request_options` makes them flags, handing the
command one :class:`~novareel.requests.compose.RequestSpec`. Only where the video goes and how
it is sent and waited for are this command's own options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from novareel.cli import max_cost as cost_cap
from novareel.cli.app import JSON_OUTPUT, NO_QA, app, emit_json, err_console, handle_errors
from novareel.cli.common import (
    CONNECTION,
    GENERATE_FLAGS,
    REQUEST,
    Connection,
    JobProgress,
    ProblemCollector,
    cli_notice,
    open_api,
    output_uri_option,
    print_result,
    with_connection,
    with_request_options,
)
from novareel.cli.review_cmd import REVIEW_FLAG, print_reviews
from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.foundation.results import format_cost
from novareel.foundation.s3uri import OUTPUT_URI_ENV
from novareel.foundation.status import JobStatus
from novareel.requests.compose import RequestSpec


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
  novareel generate "A lighthouse at dawn" --output-uri s3://my-bucket/videos/

An 18 s multi-shot video with a fixed seed:
  novareel generate "A city street at night" --duration 18 --seed 7 --local

Start from your own picture, cropped to 1280x720:
  novareel generate "Pan along the quay" --image frame.png --fit crop --local

A storyboard (one 6 s shot per entry); check the request and price first:
  novareel generate --storyboard shots.yaml --local --dry-run

Luma Ray 2, portrait:
  novareel generate "A swan" --model-id luma-ray2 --aspect-ratio 9:16 --local
"""

#: Every example above fits one line of an 80-column terminal: help is read there,
#: and an example wrapped mid-command breaks copy-paste (Rich pads the lines, so a
#: shell backslash continuation would paste as a backslash-space: no way out but
#: short examples). tests/e2e/test_help_examples.py holds every command to it.


@app.command(epilog=EXAMPLES)
@with_request_options
@handle_errors(flags=GENERATE_FLAGS)
@with_connection
def generate(
    spec: RequestSpec = REQUEST,
    output_uri: str | None = output_uri_option("s3://bucket/folder/ for the job's files"),
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
    review: bool = REVIEW_FLAG,
    conn: Connection = CONNECTION,
    no_qa: bool = NO_QA,
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Generate a video: check everything, submit, wait with progress, download."""
    from novareel.foundation.s3uri import output_location, resolve_output_uri
    from novareel.models import submit_option_problems
    from novareel.requests.compose import compose_requests

    # Every check runs, whatever failed before it, so one run lists every problem of
    # the command line (each named by the flag the user typed).
    found = ProblemCollector(GENERATE_FLAGS)
    storyboard = Path(spec.storyboard) if spec.storyboard is not None else None
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
                output_uri, bucket_owner=spec.bucket_owner, kms_key_id=kms_key_id, notices=notices
            )

    # The request itself: the library's one builder (the batch runner and the MCP
    # server use it too), every problem collected, every notice said before paying.
    built = compose_requests(spec)
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
        error = _print_dry_run(
            conn, requests, location or output_uri, token, tags, notices, json_output, found
        )
        if error is not None:
            raise typer.Exit(error.exit_code)
        return
    found.raise_if_any()
    assert location is not None

    with open_api(conn, waits=not no_wait, region=model.info.default_region) as (api, emulator):
        api.run_qa = not no_qa
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

        if review and (no_wait or per_shot):
            notices.append(
                "--review reviews one finished video: not with --no-wait or a per-shot "
                "storyboard (run `novareel review <job>` once a video is done)"
            )
        for notice in notices:
            notify(notice)
        # Where it goes, said before the price line names the region (the submit says
        # it again through on_notice; printed once).
        for notice in api.region_notices(model.model_id):
            notify(notice)
        if not json_output:
            what = f"{len(requests)} jobs (one per shot)" if per_shot else "1 job"
            price = format_cost(cost, local=api.on_emulator, on_aws=True)
            chosen = built.chosen_by
            if chosen is not None and not chosen.is_built_in:
                # A model nobody typed says where it came from: a changed default
                # (NOVAREEL_MODEL, config.toml) is never a surprise at the price line.
                from rich.markup import escape

                said = f"default model {model.model_id} ({chosen.short_source}; "
                err_console.print(escape(said + "--model-id picks another)"), highlight=False)
            err_console.print(
                f"submitting {what} to {model.model_id} "
                f"in {api.region_for(model.model_id)}: {price}",
                highlight=False,
            )
        shown = () if not json_output else tuple(notices)
        if per_shot:
            _run_per_shot(
                api, requests, location, tags, out, storyboard, timeout, poll_interval,
                no_download, json_output, shown, job_name,
            )  # fmt: skip
            return
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
                f"{submitted.invocation_arn}, {cost_text}",  # the cost has its own brackets
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
        if review and result.ledger_id is not None:  # --review: one review section
            from novareel.review import review_jobs

            reviews = review_jobs(api, [result.ledger_id])
            if json_output:
                emit_json({**result.to_dict(), "review": reviews[0]})
            else:
                print_result(result, json_output)
                print_reviews(reviews)
            return
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
    found: ProblemCollector,
) -> InvalidRequestError | None:
    """What ``--dry-run`` prints: the library's plan (:func:`novareel.jobs.dry_run`):
    each complete StartAsyncInvoke request (images elided), its cost and expected
    time, and what is still wrong around it: ``found`` (the command line's problems)
    or, when there are none, the plan's own (an explicit ``--region`` that does not
    offer the model, as the real run refuses it). That error is returned (the command
    then exits 2).

    No network call: the endpoint is the one the command would use, and the ledger
    that times are learned from is read only if it exists (a dry run creates none).
    """
    import json

    from novareel.client import runtime_endpoint_for
    from novareel.jobs.dry_run import dry_run, existing_ledger

    if conn.local:
        from novareel.client.local import emulator_url

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
            region=conn.region,
            local=conn.local,
        )
    if plan.problems and not found:
        # Asked once the request itself is sound, as the run asks it (and every other
        # door): a region refusal comes with the request's problems fixed.
        found.add(InvalidRequestError(list(plan.problems), hint=" ".join(plan.hints) or None))
    error = found.error() if found else None
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
            return error
        print_result(plan.results[0], False)
        _say_expected(plan.expectations[0])
        err_console.print("nothing was sent (--dry-run); the StartAsyncInvoke request would be:")
        typer.echo(json.dumps(plan.start_async_invoke[0], indent=2))
        return error
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
        return error
    for notice in plan.notices:
        cli_notice(notice)  # neutralised: a notice may quote the prompt
    typer.echo(
        f"{len(plan.results)} shots, one {requests[0].model_id} job each, "
        f"{plan.duration_seconds} s in all, "
        + format_cost(plan.estimated_cost_usd, local=conn.local, on_aws=True)
    )
    err_console.print("nothing was sent (--dry-run); the StartAsyncInvoke requests would be:")
    typer.echo(json.dumps(list(plan.start_async_invoke), indent=2))
    return error


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
    """A storyboard on a model without multi-shot: the library's one per-shot runner
    (:func:`novareel.running.shotboard.run_storyboard`); this only prints."""
    from novareel.running.shotboard import run_storyboard

    def on_event(event: Any) -> None:
        if not json_output and event.message:
            err_console.print(f"shot {event.number}: {event.message}", highlight=False)

    run = run_storyboard(
        api,
        requests,
        location,
        tags=tags,
        out_dir=None if no_download else out,
        label=name or (storyboard.stem if storyboard is not None else None),
        source=str(storyboard or "generate"),
        timeout=timeout,
        poll_interval=poll_interval,
        notices=notices,
        on_event=on_event,
    )
    error = run.error()
    if error is not None:
        raise error  # printed once, with the run as its result (--json: one document)
    if json_output:
        emit_json(run.to_dict())
        return
    for notice in run.notices:
        if notice not in notices:
            cli_notice(notice)  # neutralised: a notice may quote the prompt
    typer.echo(f"status      {run.status}")
    typer.echo(f"shots       {len(requests)} x {run.model_id}")
    if run.joined is not None:
        typer.echo(f"video file  {run.joined.video_path}")
        typer.echo(f"shot files  {run.joined.local_dir}/shot_*.mp4")
