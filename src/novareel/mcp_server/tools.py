"""What each MCP tool does, without the MCP SDK: plain methods that return dicts.

:class:`AgentTools` holds the server's settings (connection, root, caps) and has one
method per tool. Each builds requests with the library's one builder, the one
``novareel generate`` and batch files use (:func:`~novareel.requests.compose.compose_requests`,
every local path confined to the root before it is read), and sends them through
:class:`~novareel.jobs.VideoGenerator`, so the rules, the messages and the ledger are the
CLI's. Bad input raises :class:`~novareel.foundation.errors.InvalidRequestError` (with
``problems``); :mod:`novareel.mcp_server.server` turns every novareel error into a
structured tool error. Methods are synchronous (boto3, SQLite); the server runs each
in a worker thread and turns ``progress`` calls into MCP progress notifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import (
    BudgetExceededError,
    InvalidRequestError,
    Problem,
    WaitTimeoutError,
)
from novareel.foundation.status import JobStatus
from novareel.mcp_server.caps import SpendGuard
from novareel.mcp_server.confine import Root
from novareel.mcp_server.session import ServerSession
from novareel.mcp_server.specs import (
    DEFAULT_WAIT_SECONDS,
    Plan,
    Progress,
    ServerSettings,
    VideoSpec,
)
from novareel.requests.compose import ShotSpec

if TYPE_CHECKING:
    from novareel.foundation.results import JobResult
    from novareel.foundation.s3uri import OutputLocation
    from novareel.jobs import VideoGenerator
    from novareel.jobs.dry_run import DryRun

__all__ = ["AgentTools", "Progress", "ServerSettings", "ShotSpec", "VideoSpec"]


class AgentTools(ServerSession):
    """The MCP tools as plain methods, sharing one root, one spend guard, one emulator
    (the connection is :class:`~novareel.mcp_server.session.ServerSession`'s)."""

    def __init__(self, settings: ServerSettings) -> None:
        super().__init__(settings)
        self.root = Root(settings.root)
        self.guard = SpendGuard(
            settings.max_cost_usd, settings.session_max_cost_usd, settings.session
        )
        self.session_cap = self.guard.session_cap

    # -- paths --

    def _out_dir(self, out: str | None) -> Path:
        target = self.root.confine(out or ".", "out")
        target.mkdir(parents=True, exist_ok=True)
        return target

    # -- planning (the CLI's checks, in the CLI's order) --

    def plan(self, spec: VideoSpec) -> Plan:
        """Check a video request completely and price it; raises with every problem.

        The library's one builder (:func:`novareel.requests.compose.compose_requests`), the one
        ``novareel generate`` and batch files use, with every local path (images, the
        storyboard, the storyboard's images) confined to the root before it is read.
        """
        from novareel.requests.compose import compose_requests

        def locate(value: str, field: str) -> str:
            return str(self.root.confine(value, field))

        built = compose_requests(spec, locate=locate)
        error = built.error()
        if error is not None:
            # Every problem of the call at once, as generate and a batch item list
            # them: an output location given but wrong too (a missing one is
            # generate_video's to refuse; a price quote needs none).
            wrong: list[Problem] = []
            if spec.output_uri or self.settings.output_uri:
                try:
                    self._location(spec, [])
                except InvalidRequestError as exc:
                    wrong = list(exc.problems)
            if wrong:
                raise InvalidRequestError([*error.problems, *wrong], hint=error.hint)
            raise error
        assert built.model is not None  # no problem means a model
        source = str(built.storyboard) if built.storyboard is not None else "generate"
        return Plan(built.model, list(built.requests), built.per_shot, list(built.notices), source)

    def _location(self, spec: VideoSpec, notices: list[str]) -> OutputLocation:
        from novareel.foundation.s3uri import OUTPUT_URI_ENV, output_location, resolve_output_uri

        given = spec.output_uri or self.settings.output_uri or None
        uri = resolve_output_uri(given, local=self.settings.local)
        if uri is None:
            raise InvalidRequestError(
                Problem(
                    "output_uri", "an output location is required", limit="s3://bucket/folder/"
                ),
                hint="Pass output_uri, or a person starts the server with --output-uri "
                f"s3://bucket/folder/ (or sets {OUTPUT_URI_ENV}), or with --local.",
            )
        return output_location(
            uri, bucket_owner=spec.bucket_owner, kms_key_id=spec.kms_key_id, notices=notices
        )

    # -- tools --

    def list_models(self) -> dict[str, Any]:
        """Every model with its prices, task types, regions and lifecycle, and which one
        a call naming no model uses (``default``: the model, where that came from, the
        usual options of ``[defaults]``)."""
        from novareel.models import all_models, describe_model
        from novareel.settings.defaults import read_defaults

        chosen = read_defaults()
        return {
            "models": [
                {**describe_model(m), "default": m.model_id == chosen.model_id}
                for m in all_models()
            ],
            "default": chosen.to_dict(),
        }

    def estimate_cost(self, spec: VideoSpec) -> dict[str, Any]:
        """The price of a request, checked as generate_video would check it; sends nothing.

        With only a model and a duration (no prompt, shots, storyboard or image) it
        quotes the registry's price for that many seconds.
        """
        if not spec.names_video():
            from novareel.models import estimate_cost_usd, get_model, request_options
            from novareel.models.options import as_declared
            from novareel.settings.defaults import read_defaults

            # No model named: the person's default (NOVAREEL_MODEL, [defaults]) and its
            # usual options, as generate_video would use them.
            chosen = read_defaults()
            model = get_model(spec.model_id or chosen.model_id)
            usual = chosen.options_for(model.model_id)
            duration = spec.duration if spec.duration is not None else usual.get("duration")
            resolution = spec.resolution or usual.get("resolution")
            if duration is None:
                raise InvalidRequestError(
                    Problem(
                        "duration",
                        "give a duration (or the prompt, shots or storyboard to price)",
                        limit="seconds",
                    )
                )
            try:
                price = estimate_cost_usd(model.model_id, duration, resolution)
            except InvalidRequestError as exc:  # named by this tool's argument (duration)
                declared = as_declared(exc.problems, request_options())
                raise InvalidRequestError(declared, hint=exc.hint) from None
            return {
                "model_id": model.model_id,
                "duration_seconds": duration,
                "resolution": resolution,
                "estimated_cost_usd": price,
                "checked": False,
                "notices": [
                    "price only: pass the prompt (or shots, storyboard) to check the request"
                ],
                "caps": self._caps_verdict(price or 0.0),
            }
        plan = self.plan(spec)
        preview = self._dry_run(plan, spec)
        # What generate_video would refuse before sending (a --region that does not
        # offer the model, an output location given but wrong) is refused here too, as
        # generate --dry-run refuses it. A quote needs no output location at all.
        given = spec.output_uri or self.settings.output_uri
        wrong = [p for p in preview.problems if given or p.field != "output_uri"]
        if wrong:
            raise InvalidRequestError(wrong, hint=" ".join(preview.hints) or None)
        return {
            **plan.describe(preview),
            "checked": True,
            "caps": self._caps_verdict(plan.cost_usd),
        }

    def _dry_run(self, plan: Plan, spec: VideoSpec) -> DryRun:
        """The library's dry run of a plan (what ``generate --dry-run`` shows): the
        complete request each job would send and how long it should take here. No
        network call; an output location that cannot be resolved is shown as given."""
        from novareel.client import runtime_endpoint_for
        from novareel.jobs.dry_run import dry_run, existing_ledger

        output: OutputLocation | str | None
        try:
            output = self._location(spec, [])
        except InvalidRequestError:
            output = spec.output_uri or self.settings.output_uri
        endpoint = (
            self.emulator_url or _local_url()
            if self.settings.local
            else runtime_endpoint_for(self.settings.endpoint_url)
        )
        with existing_ledger() as ledger:
            return dry_run(
                plan.requests,
                output,
                client_token=spec.client_token,
                tags=spec.tags or None,
                notices=plan.notices,
                ledger=ledger,
                endpoint=endpoint,
                region=self.settings.region,
            )

    def _caps_verdict(self, usd: float) -> dict[str, Any]:
        """The server's caps and the standing budget now, and whether a call of ``usd``
        would pass them (the first refusal, as generate_video would give it)."""
        from novareel.ledger import Ledger
        from novareel.limits.budget import budget_status, check_standing_budget

        endpoint = self._local.url if self._local is not None else self.settings.endpoint_url
        with Ledger.open_default() as ledger:
            verdict: dict[str, Any] = {**self.guard.snapshot(ledger), "within_caps": True}
            verdict["standing_budget"] = [s.to_dict() for s in budget_status(ledger)]
            try:
                self.guard.check(usd, "this request", ledger)
                check_standing_budget(ledger, usd, endpoint=endpoint, what="this request")
            except BudgetExceededError as exc:
                verdict.update(
                    within_caps=False,
                    refusal={**exc.to_dict(), "how_to_raise": exc.hint},
                    message=exc.message,
                )
        return verdict

    def check_storyboard(
        self,
        path: str,
        *,
        model_id: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Every problem of a storyboard file at once, with shot numbers, and its price:
        ``storyboard check``'s report (:func:`novareel.requests.compose.check_storyboard`, the
        builder ``generate_video`` uses), for ``model_id`` (else the file's, else the
        person's default, as every tool chooses) and the options ``generate_video``
        would be given (``duration``, ``resolution``...). Every path the file names is
        confined to the root before any is read; one outside it refuses the call."""
        from novareel.requests.compose import check_storyboard

        outside: list[Problem] = []

        def locate(value: str, field: str) -> str:
            try:
                return str(self.root.confine(value, field))
            except InvalidRequestError as exc:
                outside.extend(exc.problems)
                raise

        source = self.root.confine(path, "storyboard")
        report = check_storyboard(source, model_id=model_id, options=options, locate=locate)
        if outside:
            raise InvalidRequestError(outside, hint=_root_hint())
        payload = report.to_dict()
        payload["path"] = self.root.relative(source)
        return payload

    def generate_video(
        self,
        spec: VideoSpec,
        *,
        wait: bool = False,
        download: bool = True,
        out: str | None = None,
        timeout: float = DEFAULT_WAIT_SECONDS,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Check, cap, submit; with ``wait``, wait with progress and download under the root."""
        plan = self.plan(spec)
        notices = list(plan.notices)
        location = self._location(spec, notices)
        out_dir = self._out_dir(out) if wait and download else None
        if plan.per_shot and (spec.client_token or not wait):
            name = "client_token" if spec.client_token else "wait"
            raise InvalidRequestError(
                Problem(
                    name,
                    f"{name} {'does not apply' if spec.client_token else 'must be true'} for "
                    "a storyboard run as one job per shot",
                    limit="each shot's token is derived from its content (exactly once); "
                    "the shots are joined when all have finished",
                )
            )
        what = (
            f"{len(plan.requests)} {plan.model.model_id} jobs (one per shot)"
            if plan.per_shot
            else f"this {plan.model.model_id} job"
        )
        with self.api(plan.model.info.default_region, detached=not wait) as api:
            # The whole call up front (a storyboard of several jobs is refused before
            # its first shot); each job is reserved, and the session's cap checked
            # again against every process of the session, when it is submitted.
            self._check_caps(api, plan.cost_usd, what, spec.client_token)
            if plan.per_shot:
                return self._run_per_shot(api, plan, location, spec, out_dir, timeout, progress)
            submitted = self._submit(api, plan, location, spec, wait, timeout, notices)
            if not wait:
                return self._job_payload(
                    api,
                    submitted,
                    next_step=f"call wait_job with job={submitted.ledger_id} (then "
                    "download_job), or get_job to look once",
                )
            return self._wait_and_fetch(api, submitted, out_dir, timeout, progress)

    def _submit(
        self,
        api: VideoGenerator,
        plan: Plan,
        location: OutputLocation,
        spec: VideoSpec,
        wait: bool,
        timeout: float,
        notices: list[str],
    ) -> JobResult:
        """Send the one job (its row, holding the session's key, is what the session's
        cap counts: released when refused or never sent, kept when it may exist)."""
        submitted = api.submit(
            plan.requests[0],
            location,
            client_token=spec.client_token,
            tags=spec.tags or None,
            wait_for_slot=timeout if wait else 0,
        )
        # The submit repeats the request's own notices (prompt advice, image notes): once.
        return submitted.with_(notices=tuple(dict.fromkeys(tuple(notices) + submitted.notices)))

    def _check_caps(
        self, api: VideoGenerator, usd: float, what: str, token: str | None = None
    ) -> None:
        """The whole call against the server's caps and the standing daily/monthly
        budget before the first submit (the CLI's ``check_command``): a storyboard of
        several jobs is refused up front, not midway. ``VideoGenerator.submit`` checks each
        job again, in the ledger's reservation transaction."""
        from novareel.limits.budget import check_standing_budget

        if token and api.ledger is not None and api.ledger.token_accepted(token):
            return  # resuming a job that exists sends nothing
        self.guard.check(usd, what, api.ledger)
        check_standing_budget(api.ledger, usd, endpoint=api.client.runtime_endpoint, what=what)

    def _run_per_shot(
        self,
        api: VideoGenerator,
        plan: Plan,
        location: OutputLocation,
        spec: VideoSpec,
        out_dir: Path | None,
        timeout: float,
        progress: Progress | None,
    ) -> dict[str, Any]:
        """A storyboard on a model without multi-shot: the library's one per-shot
        runner (:func:`novareel.running.shotboard.run_storyboard`, as the CLI calls it), its
        folder kept inside the root; this counts the spend and shapes the answer."""
        from novareel.running.shotboard import run_storyboard

        total = len(plan.requests)
        finished: set[str] = set()

        def on_event(event: Any) -> None:
            if event.phase.value in ("done", "failed"):
                finished.add(event.key)
            if progress is not None:
                progress(len(finished), total, f"shot {event.number}: {event.phase.value}")

        run = run_storyboard(
            api,
            plan.requests,
            location,
            tags=spec.tags or {},
            out_dir=out_dir,
            label=None if plan.source == "generate" else Path(plan.source).stem,
            source=plan.source,
            timeout=timeout,
            notices=plan.notices,
            on_event=on_event,
            confine=lambda folder: self.root.confine(folder, "out"),
        )
        result = {**run.to_dict(), "session": self.guard.snapshot(api.ledger)}
        if not run.ok:
            result["next_step"] = (
                "call generate_video again with the same storyboard: finished shots are "
                "kept and none is paid twice"
            )
        return result

    def _wait_and_fetch(
        self,
        api: VideoGenerator,
        job: JobResult,
        out_dir: Path | None,
        timeout: float,
        progress: Progress | None,
    ) -> dict[str, Any]:
        """Wait for a job with progress, then download it under the root."""
        ref = str(job.ledger_id or job.invocation_arn)
        label = f"job {job.ledger_id or job.invocation_id}"

        def on_progress(p: Any) -> None:
            if progress is not None:
                expected = max(p.expected, 1e-9)
                over = p.elapsed - p.expected
                message = f"{label} {p.status}: {p.elapsed:,.0f}s of ~{p.expected:,.0f}s expected"
                if over > 0 and p.status == JobStatus.IN_PROGRESS:
                    message += f" ({over:,.0f}s over)"
                progress(min(p.elapsed, expected), expected, message)

        if out_dir is not None:
            self._check_target(out_dir, job, api)
        try:
            finished = api.finish(
                ref, out_dir, download=out_dir is not None, timeout=timeout, on_progress=on_progress
            )
        except WaitTimeoutError as exc:
            return self._job_payload(
                api,
                exc.result.with_(notices=job.notices + exc.result.notices),
                timed_out=True,
                next_step=f"the job keeps running: call wait_job with job={ref} again",
            )
        finished = finished.with_(notices=job.notices + finished.notices)
        return self._job_payload(api, finished)

    def _check_target(
        self, out_dir: Path, job: JobResult, api: VideoGenerator | None = None
    ) -> None:
        """The folder the download really writes must not lead out of the root.

        That is ``<out>/<date>-<slug>-<invocation-id>`` (or a folder the job already
        has), by the library's own rule (:func:`~novareel.jobs.fetching.job_download_folder`),
        not ``<out>/<invocation-id>``: a link planted under the real name wrote outside
        the root while this checked the other. The download itself also refuses a
        link at write time (every door); this names the root in the refusal.
        """
        if not job.invocation_id:
            return
        from novareel.jobs.fetching import job_download_folder

        record = None
        if api is not None and api.ledger is not None and job.ledger_id is not None:
            record = api.ledger.get(job.ledger_id)
        for folder in (
            out_dir / job.invocation_id,
            job_download_folder(out_dir, job.invocation_id, record, job.submit_time),
        ):
            self.root.confine(folder, "out")

    def _job_payload(
        self,
        api: VideoGenerator,
        job: JobResult,
        *,
        timed_out: bool = False,
        next_step: str | None = None,
    ) -> dict[str, Any]:
        payload = job.to_dict()
        payload.pop("request", None)  # the images inside would flood an agent's context
        payload["video_path"] = job.video_path
        payload["timed_out"] = timed_out
        if job.failure is not None:
            payload["next_step"] = job.failure.advice
        elif next_step:
            payload["next_step"] = next_step
        payload["session"] = self.guard.snapshot(api.ledger)
        return payload

    def get_job(self, job: str) -> dict[str, Any]:
        """A job's status, asked of the service once (ledger id, invocation id or ARN)."""
        with self.api() as api:
            return self._job_payload(api, api.status(job))

    def wait_job(
        self,
        job: str,
        *,
        timeout: float = DEFAULT_WAIT_SECONDS,
        download: bool = True,
        out: str | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Wait for a job (with progress) and, when it completed, download it under the root."""
        out_dir = self._out_dir(out) if download else None
        with self.api() as api:
            current = api.status(job)
            if current.done and out_dir is None:
                return self._job_payload(api, current)
            return self._wait_and_fetch(api, current, out_dir, timeout, progress)

    def review_job(self, job: str, *, question: str | None = None) -> dict[str, Any]:
        """Review a Completed job's video with Amazon Nova 2 Lite (InvokeModel): each
        prompt element or shot, visible defects, text artefacts, a summary. Priced
        before the call and held against the session's caps and the standing budget;
        recorded in the ledger (``spend`` counts it). Synthetic on the local emulator."""
        from novareel.review import plan_review, run_review

        with self.api() as api:
            plan = plan_review(api, job, question=question, files=False)
            # the per-call cap first; the session's cap and the standing budget are
            # checked in the ledger's write transaction that reserves the review
            self.guard.check(plan.estimated_cost_usd, "this review", api.ledger)
            outcome = run_review(api, plan)
            return {**outcome.to_dict(), "session": self.guard.snapshot(api.ledger)}

    def download_job(self, job: str, *, out: str | None = None) -> dict[str, Any]:
        """Fetch a finished job's files into ``<root>/<out>/<date>-<slug>-<invocation-id>/``."""
        out_dir = self._out_dir(out)
        with self.api() as api:
            current = api.status(job)
            self._check_target(out_dir, current, api)
            return self._job_payload(api, api.download(job, out_dir))

    def list_jobs(
        self,
        *,
        status: Sequence[str] | None = None,
        since: str | None = None,
        limit: int = 20,
    ) -> dict[str, Any]:
        """Jobs in the ledger, newest first (no AWS call): every job this server, another
        server or the CLI submitted."""
        from novareel.foundation.when import parse_when
        from novareel.ledger import Ledger

        if limit < 1:
            raise InvalidRequestError(Problem("limit", "must be at least 1", value=limit))
        when = parse_when(since)
        with Ledger.open_default() as ledger:
            records = ledger.list_jobs(
                status=list(status) if status else None, since=when, limit=limit
            )
        jobs = []
        for record in records:
            row = record.to_dict()
            row.pop("request", None)
            jobs.append(row)
        return {"jobs": jobs, "count": len(jobs)}


def _local_url() -> str:
    """The emulator --local would use, before the server has started one."""
    from novareel.client.local import emulator_url

    return emulator_url()


def _root_hint() -> str:
    from novareel.mcp_server.confine import ROOT_HINT

    return ROOT_HINT
