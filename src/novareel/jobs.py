"""The use cases, where the client, the ledger and the media checks meet.

:class:`NovaReel` is the Python API most users want: ``generate`` (submit, wait,
download), and each step on its own. It keeps the two promises that matter when every
second of video costs money:

* **Never pay twice by accident.** The ``clientRequestToken`` is generated here (or
  given by the caller) and written to the ledger *before* the submit call. Any retry
  of that submit (botocore's, a quota wait, a resumed run after a crash) reuses it, so
  the service answers with the job it already started.
* **Nothing done is lost.** Every job is in the ledger from before it is sent until
  its files are on disk; a wait that times out leaves the job running and says how to
  pick it up again; a download never leaves a truncated file under a final name and
  never writes outside the folder it was given.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from novareel.client import (
    InvocationStatus,
    NovaReelClient,
    S3Object,
    job_folder,
    start_async_invoke_params,
)
from novareel.compose import model_notices, request_notices
from novareel.errors import (
    AccessDeniedError,
    AwsError,
    ConflictError,
    DownloadError,
    InvalidRequestError,
    JobFailedError,
    LedgerError,
    NotFoundError,
    Problem,
    QuotaExceededError,
    ServiceValidationError,
    WaitTimeoutError,
)
from novareel.models import (
    VideoRequest,
    VideoShape,
    find_model,
    shape_of,
    submit_option_problems,
)
from novareel.naming import job_folder_name, job_label
from novareel.results import Failure, JobResult, advice_for
from novareel.s3uri import OutputLocation, S3Uri, output_location, parse_s3_uri
from novareel.waiting import PollSchedule, WaitProgress, poll_until

if TYPE_CHECKING:
    from novareel.expectations import Expectation
    from novareel.ledger import JobRecord, Ledger

log = logging.getLogger("novareel")

MAX_NAME_BYTES = 255

#: Errors after which a submit is known not to have created a job (ResourceNotFound is
#: how Bedrock refuses a model past its end of life, or Legacy and unused).
_REJECTING = (ServiceValidationError, AccessDeniedError, ConflictError, NotFoundError)
#: Error codes botocore raises while signing, before any byte is sent: a submit that
#: failed with one of these certainly created no job (and cost nothing).
_UNSENT_CODES = frozenset({"NoCredentials", "SSOTokenError"})

NoticeCallback = Callable[[str], None]

#: How long an earlier identical job (same request, see :func:`request_fingerprint`)
#: stands for a new one: a second identical ``generate`` within this window attaches
#: to it (or resends its token) instead of paying again; ``again=True`` / ``--again``
#: pays for a new job on purpose. 24 h: well past any job's run time, and short enough
#: that yesterday's video is not handed back for today's run by surprise.
IDENTICAL_JOB_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class DownloadProgress:
    """Reported while files arrive: bytes so far and in total."""

    done_bytes: int
    total_bytes: int
    files: int


def new_client_token() -> str:
    """A fresh idempotency token (printable ASCII, well under the 256-character limit)."""
    return f"novareel-{uuid.uuid4()}"


def request_fingerprint(
    *,
    model_id: str,
    model_input: dict[str, Any],
    output: OutputLocation,
    tags: dict[str, str] | None,
    endpoint: str | None,
    region: str | None,
) -> str:
    """What makes two submits "identical": a sha256 of the complete StartAsyncInvoke
    request (from the one builder that also sends it) minus its client token, plus
    the endpoint and region it goes to (the same request to AWS and to an emulator
    are two jobs). Tags are sorted, so their order does not matter; images count by
    their bytes."""
    params = start_async_invoke_params(
        model_id=model_id,
        model_input=model_input,
        output=output,
        client_token="",
        tags=dict(sorted((tags or {}).items())),
    )
    params.pop("clientRequestToken", None)
    canonical = json.dumps(
        {"request": params, "endpoint": endpoint, "region": region},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _kill_point(name: str) -> None:
    """Test-only: SIGKILL this process at a named point when ``NOVAREEL_TEST_KILL_AT``
    names it (``after-intent``: the ledger row is written, nothing sent yet;
    ``after-submit``: the service accepted the job, the ledger does not know yet;
    ``after-download``: the files are on disk, the ledger does not list them yet).

    The kill tests (tests/reliability/test_kill_generate.py) use it to hit the two
    moments a random delay rarely lands on. Unset, it does nothing.
    """
    if os.environ.get("NOVAREEL_TEST_KILL_AT") == name:  # pragma: no cover - kills
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def safe_local_path(target: Path, relative_key: str) -> Path:
    """Where an object's relative key lands under ``target``, or a DownloadError.

    S3 keys are arbitrary strings: ``../x``, ``/etc/x``, ``a/../../x``, backslashes
    and NUL must never steer a write outside ``target``. Components are checked one by
    one (no empty, ``.`` or ``..`` part, nothing over 255 bytes) and the resolved path
    must still lie inside the resolved target, which also defeats symlinks planted in
    the folder.
    """
    problem: str | None = None
    if not relative_key or relative_key.startswith("/") or "\\" in relative_key:
        problem = "is absolute, empty or uses backslashes"
    elif "\x00" in relative_key:
        problem = "contains a NUL byte"
    else:
        parts = PurePosixPath(relative_key).parts
        raw_parts = relative_key.split("/")
        if any(p in ("", ".", "..") for p in raw_parts) or not parts:
            problem = "has an empty, '.' or '..' component"
        elif any(len(p.encode("utf-8")) > MAX_NAME_BYTES for p in raw_parts):
            problem = f"has a component longer than {MAX_NAME_BYTES} bytes"
    if problem is None:
        root = target.resolve()
        dest = (root / relative_key).resolve()
        if dest == root or not dest.is_relative_to(root):
            problem = "resolves outside the download folder"
        else:
            return dest
    raise DownloadError(
        f"refusing to download key {relative_key[:120]!r}: it {problem}",
        hint="The key was skipped so nothing is written outside the target folder.",
    )


def parse_status_file(data: dict[str, Any]) -> Failure | None:
    """The failure described by ``video-generation-status.json``, if any.

    The shot number is the first shot whose status is not SUCCESS (1-based); a failed
    full video with no failed shot reports no shot.
    """
    shots = data.get("shots") or []
    for index, shot in enumerate(shots, start=1):
        if isinstance(shot, dict) and str(shot.get("status", "")).upper() == "FAILURE":
            ftype = shot.get("failureType")
            message = shot.get("failureMessage")
            return Failure(ftype, message, index, advice_for(ftype, message))
    full = data.get("fullVideo") or {}
    if isinstance(full, dict) and str(full.get("status", "")).upper() == "FAILURE":
        ftype = full.get("failureType")
        message = full.get("failureMessage")
        return Failure(ftype, message, None, advice_for(ftype, message))
    return None


class NovaReel:
    """Generate Nova Reel videos: submit, wait, download, all recorded in the ledger.

    ``ledger=None`` opens the default ledger (``NOVAREEL_HOME``); ``ledger=False``
    records nothing (the caller then owns the client tokens). ``time_scale`` tells the
    waiter how much faster than the real service the endpoint runs (the emulator's
    speed), so its schedule stays proportionate.

    Budgets (``docs/budgets.md``): every submit is refused with
    :class:`~novareel.errors.BudgetExceededError`, before the ledger row and before
    any network call, when it would cross the standing daily/monthly budget, or
    ``max_cost_usd``: a cap on the estimated AWS price of everything *this object*
    submits in its lifetime (``cost_cap`` holds what is spent and what remains).
    """

    def __init__(
        self,
        client: NovaReelClient | None = None,
        *,
        ledger: Ledger | Literal[False] | None = None,
        time_scale: float = 1.0,
        max_cost_usd: float | None = None,
        **client_options: Any,
    ) -> None:
        from novareel.budget import CostCap

        self.client = client if client is not None else NovaReelClient(**client_options)
        self._ledger_arg = ledger
        self._ledger: Ledger | None = None
        self.time_scale = time_scale
        self.cost_cap: CostCap | None = None if max_cost_usd is None else CostCap(max_cost_usd)
        #: True when the endpoint is an emulator that lives only inside this process
        #: (``--local`` with none running): its jobs die with it, so the ledger says so.
        self.emulator_owned = False
        #: :meth:`expectation`'s answers by (model, length, width, height).
        self._expectations: dict[tuple[str | None, int, int, int], Expectation] = {}

    # -- ledger --

    @property
    def ledger(self) -> Ledger | None:
        """The ledger in use, opened on first use (None when disabled)."""
        if self._ledger_arg is False:
            return None
        if self._ledger is None:
            if self._ledger_arg is None:
                from novareel.ledger import Ledger

                self._ledger = Ledger.open_default()
            else:
                self._ledger = self._ledger_arg
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None and self._ledger_arg is None:
            self._ledger.close()
        self._ledger = None

    def __enter__(self) -> NovaReel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    @contextlib.contextmanager
    def local(
        cls,
        *,
        url: str | None = None,
        region: str | None = None,
        start: bool = True,
        ledger: Ledger | Literal[False] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> Iterator[NovaReel]:
        """A NovaReel on the local emulator for a ``with`` block: no AWS account, no cost.

        The Python twin of the command line's ``--local``: the emulator at ``url``
        (else ``NOVAREEL_EMULATOR_URL``, else http://127.0.0.1:5899) is used, or one is
        started in this process (``start``) and stopped when the block ends. The client
        gets dummy credentials of its own (``os.environ`` is not touched), each model's
        region unless ``region`` pins one, and the emulator's speed as ``time_scale``.
        Output buckets are created in the emulator as needed; ``on_notice`` (default:
        a ``notice:`` line on stderr) hears of each.
        """
        from novareel.local import local_client, notice_to_stderr

        notify = on_notice or notice_to_stderr
        with (
            local_client(url, region=region, start=start, on_notice=notify) as (client, speed),
            cls(client, ledger=ledger, time_scale=speed) as reel,
        ):
            yield reel

    # -- submit --

    def submit(
        self,
        request: VideoRequest,
        output: OutputLocation | str,
        *,
        client_token: str | None = None,
        tags: dict[str, str] | None = None,
        wait_for_slot: float = 0.0,
        batch_id: int | None = None,
        batch_item: str | None = None,
        attempt: int = 1,
        retry_of: int | None = None,
        name: str | None = None,
        out_dir: str | os.PathLike[str] | None = None,
        on_notice: NoticeCallback | None = None,
        again: bool = False,
    ) -> JobResult:
        """Validate, record, and send one job. Returns as soon as the service accepts it.

        One request pays once: without a ``client_token``, an identical request
        (:func:`request_fingerprint`) recorded within :data:`IDENTICAL_JOB_WINDOW`
        stands for this one. If that job is still Submitting (or was never sent), its
        own token is sent again, so the service answers with the job it may already
        have started; if it is InProgress or Completed, it is returned as it is,
        nothing is sent, and a notice says so. Failed and rejected jobs do not count.
        ``again=True`` skips the lookup and pays for a new job on purpose.

        ``wait_for_slot`` is how many seconds to keep retrying (with the same token)
        while the account's concurrency quota is full, instead of failing at once.
        ``name`` names the job's download folder; ``out_dir`` is remembered so a later
        :meth:`download` without one puts the files there. Every notice (a fixed
        output URI, the model's lifecycle, prompt advice) goes to ``on_notice`` as soon
        as it is known, before anything is sent, and is also in the result's
        ``notices``.
        """
        notices: list[str] = []
        if isinstance(output, str):
            output = output_location(output, notices=notices)
        model_input = request.to_model_input()  # validates; raises before any I/O
        bad_options = submit_option_problems(client_token, tags)
        if bad_options:
            raise InvalidRequestError(bad_options)
        fingerprint = self._fingerprint(request, model_input, output, tags)
        identical = None
        if client_token is None and not again and self.ledger is not None:
            identical = self.ledger.find_identical(
                fingerprint, since=_utcnow() - IDENTICAL_JOB_WINDOW
            )
        if identical is not None and identical.invocation_arn:
            # Accepted already (InProgress or Completed): attach, send nothing, pay nothing.
            notices.append(identical_job_notice(identical))
            notices.extend(n for n in request_notices(request) if n not in notices)
            if on_notice is not None:
                for notice in notices:
                    on_notice(notice)
            return self._result_from_record(identical, notices=notices)
        if identical is not None:
            # Recorded but never confirmed (killed mid-submit) or not sent: its own
            # token, so the service starts it at most once.
            notices.append(
                f"an identical job {identical.id} was recorded but never confirmed as sent;"
                " sending it again with its own token so the service cannot start it twice"
            )
        token = client_token or (
            identical.client_token if identical is not None else new_client_token()
        )
        self._check_budget(request, token)
        described = request.describe()
        notices.extend(n for n in request_notices(request) if n not in notices)
        if on_notice is not None:
            for notice in notices:
                on_notice(notice)

        record = None
        if self.ledger is not None:
            record = self.ledger.add_intent(
                client_token=token,
                model_id=request.model_id,
                task_type=str(request.task_type),
                request=described,
                output_uri=str(output.uri),
                duration_seconds=request.duration_seconds,
                seed=request.seed,
                estimated_cost_usd=request.estimated_cost_usd,
                tags=tags,
                batch_id=batch_id,
                batch_item=batch_item,
                attempt=attempt,
                retry_of=retry_of,
                output_bucket_owner=output.bucket_owner,
                output_kms_key_id=output.kms_key_id,
                endpoint=self.client.runtime_endpoint,
                name=name,
                out_dir=str(Path(out_dir).resolve()) if out_dir is not None else None,
                emulator_owned=self.emulator_owned,
                fingerprint=fingerprint,
            )
            _kill_point("after-intent")
            if record.request != described or record.model_id != request.model_id:
                raise InvalidRequestError(
                    Problem(
                        "client_token",
                        f"token {token!r} was already used for a different request "
                        f"(job {record.id})",
                        value=token,
                        limit="one token per request",
                    ),
                    hint="Omit the token to submit a new job, or use the same request.",
                )
            if record.invocation_arn:
                # This token already produced a job: never send it again.
                log.info("token %s already submitted as %s", token, record.invocation_arn)
                return self._result_from_record(record, notices=notices)

        arn = self._start_with_quota_wait(request, model_input, output, token, tags, wait_for_slot)
        _kill_point("after-submit")
        submit_time = _utcnow()
        if self.cost_cap is not None:
            self.cost_cap.add(request.estimated_cost_usd)
        ledger_id = None
        if self.ledger is not None and record is not None:
            record = self.ledger.mark_submitted(
                record.id,
                invocation_arn=arn,
                submit_time=submit_time,
                estimated_cost_usd=request.estimated_cost_usd,
            )
            ledger_id = record.id
        return JobResult(
            status="InProgress",
            task_type=str(request.task_type),
            model_id=request.model_id,
            duration_seconds=request.duration_seconds,
            seed=request.seed,
            estimated_cost_usd=request.estimated_cost_usd,
            invocation_arn=arn,
            output_uri=str(output.uri.child(arn.rsplit("/", 1)[-1])),
            client_token=token,
            submit_time=submit_time,
            ledger_id=ledger_id,
            notices=tuple(notices),
            request=described,
            ran_locally=record.ran_locally if record is not None else self._local_endpoint,
        )

    def _fingerprint(
        self,
        request: VideoRequest,
        model_input: dict[str, Any],
        output: OutputLocation,
        tags: dict[str, str] | None,
    ) -> str:
        return request_fingerprint(
            model_id=request.model_id,
            model_input=model_input,
            output=output,
            tags=tags,
            endpoint=self.client.runtime_endpoint,
            region=self._region_for(request.model_id) or self.client.region,
        )

    def identical_job(
        self,
        request: VideoRequest,
        output: OutputLocation | str,
        tags: dict[str, str] | None = None,
    ) -> JobRecord | None:
        """The earlier identical job a :meth:`submit` without a token would reuse
        (Submitting/NotSent: resend its token; InProgress/Completed: attach), or None.

        Lets a command skip its up-front budget check for a job that costs nothing
        more; nothing is written or sent.
        """
        if self.ledger is None:
            return None
        if isinstance(output, str):
            output = output_location(output, notices=[])
        fingerprint = self._fingerprint(request, request.to_model_input(), output, tags)
        return self.ledger.find_identical(fingerprint, since=_utcnow() - IDENTICAL_JOB_WINDOW)

    def _check_budget(self, request: VideoRequest, token: str) -> None:
        """Refuse a job over ``max_cost_usd`` or the standing budget, before anything
        is written or sent. A token that already produced a job sends nothing, so it
        is never refused (resuming a paid job must stay possible)."""
        from novareel.budget import check_standing_budget

        if self.ledger is not None and self.ledger.token_accepted(token):
            return
        estimate = request.estimated_cost_usd
        if self.cost_cap is not None:
            self.cost_cap.check(estimate)
        check_standing_budget(self.ledger, estimate, endpoint=self.client.runtime_endpoint)

    @property
    def _local_endpoint(self) -> bool:
        from novareel.ledger.models import is_loopback_url

        return is_loopback_url(self.client.runtime_endpoint)

    def _start_with_quota_wait(
        self,
        request: VideoRequest,
        model_input: dict[str, Any],
        output: OutputLocation,
        token: str,
        tags: dict[str, str] | None,
        wait_for_slot: float,
    ) -> str:
        deadline = time.monotonic() + wait_for_slot
        delay = 2.0 / max(self.time_scale, 1e-6)
        region = self._region_for(request.model_id)
        while True:
            try:
                return self.client.start_async_invoke(
                    model_id=request.model_id,
                    model_input=model_input,
                    output=output,
                    client_token=token,
                    tags=tags,
                    region=region,
                )
            except QuotaExceededError:
                if time.monotonic() + delay > deadline:
                    raise
                log.info("concurrency quota full; retrying in %.1f s with the same token", delay)
                time.sleep(delay)
                delay = min(delay * 1.5, 30.0)
            except _REJECTING as exc:
                self._mark_rejected(token, exc)
                self._explain_refusal(request.model_id, exc)
                raise
            except InvalidRequestError as exc:
                # botocore's own parameter check, a missing profile: nothing was sent.
                self._mark_rejected(token, exc, not_sent=True)
                raise
            except AwsError as exc:
                if exc.code in _UNSENT_CODES:
                    self._mark_rejected(token, exc, not_sent=True)
                    raise
                # Unknown outcome: the service may have started the job. The ledger keeps
                # the token, and only that token can resubmit without paying twice.
                resume = (
                    f"The submit is recorded with token {token}; resubmit with "
                    f"`--token {token}` (or the same client_token) so that a job the "
                    "service did start is not started again."
                )
                exc.hint = f"{exc.hint} {resume}" if exc.hint else resume
                raise

    def _region_for(self, model_id: str) -> str | None:
        """The model's own region when no region was chosen and the client's is not one
        of the model's (a retried Luma Ray 2 job from a client opened for Nova Reel).
        A region the user chose is always kept: the service then says what it says."""
        model = find_model(model_id)
        if (
            model is None
            or self.client.region_source != "default"
            or self.client.region in model.info.regions
        ):
            return None
        return model.info.default_region

    def _explain_refusal(self, model_id: str, exc: AwsError) -> None:
        """Say why a model was refused (lifecycle, access, region) and what to do.

        The model's lifecycle comes from GetFoundationModel when the account lets us
        ask, else from the registry; the hint names the active alternative and its
        price and points to ``novareel doctor``. The model is never switched here.
        """
        from novareel.preflight import explain_refusal

        details: dict[str, Any] | None = None
        if isinstance(exc, (NotFoundError, AccessDeniedError)):
            try:
                details = self.client.get_foundation_model(model_id)
            except AwsError:
                details = None
        hint = explain_refusal(
            model_id, exc.code or "", exc.message, details, region=self.client.region
        )
        if hint:
            exc.hint = hint

    def _mark_rejected(
        self, token: str, exc: AwsError | InvalidRequestError, *, not_sent: bool = False
    ) -> None:
        """Record a refusal; ``not_sent`` when it happened before anything was sent
        (Rejected, failure_type NotSent, cost 0: the row must not look paid)."""
        if self.ledger is None:
            return
        record = self.ledger.find(token)
        if record is not None and record.status == "Submitting":
            self.ledger.mark_rejected(record.id, message=exc.message, not_sent=not_sent)

    # -- look up --

    def resolve(self, ref: str) -> tuple[str, JobRecord | None]:
        """An invocation ARN (and its ledger row) from an ARN, ledger id, id or token."""
        if ref.startswith("arn:"):
            record = self.ledger.find(ref) if self.ledger is not None else None
            return ref, record
        if self.ledger is None:
            raise LedgerError(
                f"{ref!r} is not an invocation ARN, and no ledger is in use to look it up"
            )
        record = self.ledger.get(ref)
        if not record.invocation_arn:
            raise LedgerError(
                f"job {record.id} was recorded but never accepted by the service "
                f"(status {record.status})",
                hint="Resubmit it with `novareel jobs retry` or run its batch again.",
            )
        return record.invocation_arn, record

    def status(self, ref: str) -> JobResult:
        """Ask the service once; update the ledger; explain a failure."""
        arn, record = self.resolve(ref)
        status = self._get(arn, record)
        return self._observe(status, record)

    def _get(self, arn: str, record: JobRecord | None) -> InvocationStatus:
        """GetAsyncInvoke, turning "not found" for a job that ran on a local emulator
        into what it means: the emulator that held it is gone (marked in the ledger)."""
        try:
            return self.client.get_async_invoke(arn)
        except (NotFoundError, ServiceValidationError) as exc:
            # GetAsyncInvoke answers an unknown ARN with ValidationException (or
            # ResourceNotFound): for a job of a local emulator, it means the emulator
            # that held it (in memory) is gone.
            if record is None or not record.ran_locally:
                raise
            if record.emulator_owned:
                raise self._lost(record) from exc
            # A standalone emulator may be reachable again later (another URL, a
            # restored state): say what probably happened, but record nothing.
            exc.hint = (
                f"Job {record.id} ran on the local emulator at {record.endpoint}; emulator "
                "jobs live only in memory, so a restarted emulator no longer knows it. "
                f"Submit it again with `novareel jobs retry {record.id} --local`."
            )
            raise

    def mark_lost(self, ref: str) -> JobFailedError:
        """Record that a local job's emulator is gone (Ctrl-C in a command whose own
        emulator stops with it); returns the error that explains it, to print or raise."""
        _, record = self.resolve(ref)
        if record is None:
            raise LedgerError(f"{ref!r} is not in the ledger")
        return self._lost(record)

    def _lost(self, record: JobRecord) -> JobFailedError:
        """Mark a job whose emulator died with its command as Failed (LocalEmulatorGone)."""
        from novareel.ledger.models import LOCAL_EMULATOR_GONE

        message = (
            f"job {record.id} is gone: it ran on the emulator started inside the command "
            "that submitted it, and that emulator stopped when the command ended"
        )
        advice = (
            "Run `novareel emulator` in another terminal and keep it running: --local "
            "commands then use it, and jobs outlive each command. Submit this one again "
            f"with `novareel jobs retry {record.id} --local`."
        )
        if self.ledger is not None:
            record = self.ledger.record_status(
                record.id,
                "Failed",
                failure_type=LOCAL_EMULATOR_GONE,
                failure_message=message,
            )
        result = self._result_from_record(record, notices=[])
        if result.failure is not None:
            result = result.with_(failure=Failure(LOCAL_EMULATOR_GONE, message, None, advice))
        return JobFailedError(message, result=result, hint=advice)

    def _observe(self, status: InvocationStatus, record: JobRecord | None) -> JobResult:
        failure = None
        if status.status == "Failed":
            failure = self._explain_failure(status)
        if record is not None and self.ledger is not None:
            record = self.ledger.record_status(
                record.id,
                status.status,
                end_time=status.end_time,
                failure_type=failure.type if failure else None,
                failure_message=failure.message if failure else None,
                failure_shot=failure.shot if failure else None,
                submit_time=status.submit_time,
                time_scale=self.time_scale,
            )
            if record.generation_seconds is not None:
                self._expectations.clear()  # a new timed job: learn from it next time
        return self._result(status, record, failure)

    def _result(
        self, status: InvocationStatus, record: JobRecord | None, failure: Failure | None
    ) -> JobResult:
        folder = job_folder(status)
        return JobResult(
            status=status.status,
            task_type=record.task_type if record else "UNKNOWN",
            model_id=(record.model_id if record else None) or status.model_id or "unknown",
            duration_seconds=record.duration_seconds if record else None,
            seed=record.seed if record else None,
            estimated_cost_usd=record.estimated_cost_usd if record else None,
            invocation_arn=status.invocation_arn,
            output_uri=str(folder).rstrip("/") if folder else None,
            client_token=status.client_token or (record.client_token if record else None),
            submit_time=status.submit_time,
            end_time=status.end_time,
            last_modified_time=status.last_modified_time,
            local_files=tuple(record.local_files) if record else (),
            failure=failure,
            ledger_id=record.id if record else None,
            request=record.request if record else None,
            ran_locally=record.ran_locally if record else self._local_endpoint,
        )

    def _result_from_record(self, record: JobRecord, *, notices: list[str]) -> JobResult:
        failure = None
        if record.failure_type or record.failure_message:
            failure = Failure(
                record.failure_type,
                record.failure_message,
                record.failure_shot,
                advice_for(record.failure_type, record.failure_message),
            )
        output_uri = record.output_uri
        if record.invocation_id and output_uri:
            output_uri = str(parse_s3_uri(output_uri).child(record.invocation_id))
        return JobResult(
            status=record.status,
            task_type=record.task_type,
            model_id=record.model_id,
            duration_seconds=record.duration_seconds,
            seed=record.seed,
            estimated_cost_usd=record.estimated_cost_usd,
            invocation_arn=record.invocation_arn,
            output_uri=output_uri,
            client_token=record.client_token,
            submit_time=record.submit_time,
            end_time=record.end_time,
            local_files=tuple(record.local_files),
            failure=failure,
            ledger_id=record.id,
            notices=tuple(notices),
            request=record.request,
            ran_locally=record.ran_locally,
        )

    def _explain_failure(self, status: InvocationStatus) -> Failure:
        """Read the job's status file to say which shot failed, why, and what to do.

        Which status files exist is the model family's knowledge (Nova Reel writes
        ``video-generation-status.json``; Luma Ray 2 is not known to write any, so
        its failure message alone explains it).
        """
        folder = job_folder(status)
        model = find_model(status.model_id)
        status_files = model.family.status_files if model is not None else ()
        if folder is not None:
            for name in status_files:
                try:
                    raw = self.client.read_object(folder.child(name))
                except AwsError:
                    continue
                try:
                    parsed = parse_status_file(json.loads(raw))
                except (ValueError, TypeError):
                    continue
                if parsed is not None:
                    if not parsed.message and status.failure_message:
                        return Failure(
                            parsed.type, status.failure_message, parsed.shot, parsed.advice
                        )
                    return parsed
        message = status.failure_message
        return Failure(None, message, None, advice_for(None, message))

    # -- wait --

    def expectation(self, model_id: str | None, shape: VideoShape) -> Expectation:
        """How long a new job of this model and shape should take on the real service:
        what the latest jobs of that kind took on this endpoint, once a few exist,
        else the model's prior (:mod:`novareel.expectations`). Asked once per kind
        until this object records another finished job (a batch asks every tick)."""
        from novareel.expectations import expect, video_length

        key = (model_id, video_length(shape), shape.width, shape.height)
        known = self._expectations.get(key)
        if known is None:
            endpoint = self.client.runtime_endpoint
            known = expect(self.ledger, model_id, shape, endpoint=endpoint)
            self._expectations[key] = known
        return known

    def expectation_for(self, record: JobRecord | None) -> Expectation:
        """:meth:`expectation` for a recorded job (the slowest prior for none)."""
        if record is None:
            return self.expectation(None, shape_of(None, None, None))
        shape = shape_of(record.model_id, record.request, record.duration_seconds)
        return self.expectation(record.model_id, shape)

    def expected_seconds(self, record: JobRecord | None) -> float:
        """How long a recorded job should take on the real service (see
        :meth:`expectation`)."""
        return self.expectation_for(record).seconds

    def wait(
        self,
        ref: str,
        *,
        timeout: float | None = 30 * 60,
        poll_interval: float | None = None,
        on_progress: Callable[[WaitProgress], None] | None = None,
        raise_on_failure: bool = False,
    ) -> JobResult:
        """Poll until the job ends or ``timeout`` passes (the job keeps running then).

        ``poll_interval`` forces a fixed interval (pwshBedrock's JobCheckInterval);
        otherwise the schedule follows the job's expected generation time.
        """
        arn, record = self.resolve(ref)
        expected = self.expectation_for(record)
        schedule = PollSchedule.for_job(
            expected.seconds,
            time_scale=self.time_scale,
            fixed_interval=poll_interval,
            source=expected.source,
        )
        offset = 0.0
        if record is not None and record.submit_time is not None:
            offset = max(0.0, (_utcnow() - record.submit_time).total_seconds())
        latest: list[InvocationStatus] = []

        def check() -> str:
            latest.append(self._get(arn, record))
            del latest[:-1]
            return latest[-1].status

        _, _, timed_out = poll_until(
            check,
            schedule=schedule,
            timeout=timeout,
            on_progress=on_progress,
            elapsed_offset=offset,
        )
        result = self._observe(latest[-1], record)
        if timed_out:
            ident = result.ledger_id or result.invocation_arn
            raise WaitTimeoutError(
                f"stopped waiting after {timeout:g} s; job {result.invocation_id} is still "
                f"{result.status} and keeps running",
                result=result,
                hint=f"Resume with `novareel wait {ident}` (then `novareel download {ident}`).",
            )
        if raise_on_failure and result.status == "Failed":
            raise job_failed_error(result)
        return result

    # -- download --

    def download(
        self,
        ref: str,
        out_dir: str | os.PathLike[str] | None = None,
        *,
        on_progress: Callable[[DownloadProgress], None] | None = None,
        check_video: bool = True,
    ) -> JobResult:
        """Fetch every file of the job's folder into ``<out_dir>/<date>-<slug>-<id>/``
        (see :mod:`novareel.naming`).

        ``out_dir=None`` means the folder recorded when the job was submitted (its
        ``--out``), else the current folder. Files already present with the right
        size are not fetched again; keys that would land outside the folder are
        refused. A Failed job yields its status file and manifest (there is no video
        to fetch).
        """
        _, record = self.resolve(ref)
        if out_dir is None:
            out_dir = (record.out_dir if record is not None else None) or "."
        result = self.status(ref)
        if result.status == "InProgress":
            raise DownloadError(
                f"job {result.invocation_id} is still InProgress; nothing to download yet",
                hint=f"Run `novareel wait {result.ledger_id or result.invocation_arn}` first.",
            )
        if not result.output_uri or not result.invocation_id:
            raise DownloadError("the service returned no output location for this job")
        folder = parse_s3_uri(result.output_uri).as_folder()
        target = job_download_folder(out_dir, result.invocation_id, record, result.submit_time)
        target.mkdir(parents=True, exist_ok=True)
        objects = self.client.list_objects(folder)
        plan: list[tuple[S3Object, Path]] = []
        skipped: list[str] = []
        for obj in objects:
            relative = obj.key[len(folder.key) :]
            try:
                dest = safe_local_path(target, relative)
            except DownloadError as exc:
                log.warning("%s", exc.message)
                skipped.append(relative)
                continue
            plan.append((obj, dest))
        todo = [
            (obj, dest)
            for obj, dest in plan
            if not (dest.is_file() and dest.stat().st_size == obj.size)
        ]
        total = sum(obj.size for obj, _ in todo)
        done = [0]

        def on_bytes(n: int) -> None:
            done[0] += n
            if on_progress:
                on_progress(DownloadProgress(done[0], total, len(todo)))

        for _, dest in todo:
            dest.parent.mkdir(parents=True, exist_ok=True)
        if todo:
            self.client.download_objects(
                [(S3Uri(folder.bucket, obj.key), dest) for obj, dest in todo], on_bytes=on_bytes
            )
        for obj, dest in plan:
            size = dest.stat().st_size if dest.exists() else -1
            if size != obj.size:
                raise DownloadError(
                    f"{dest} has {size} bytes, expected {obj.size}",
                    hint="Run the download again; complete files are kept.",
                )
        files = sorted(str(dest) for _, dest in plan)
        notices = list(result.notices)
        if skipped:
            notices.append(f"skipped {len(skipped)} unsafe key(s): {', '.join(skipped[:3])}")
        # A job of unknown length (adopted by `jobs sync`) is not checked, as before:
        # a guessed length would flag a correct video.
        if check_video and result.status == "Completed" and result.duration_seconds:
            model = find_model(result.model_id)
            name = model.family.video_name if model is not None else "output.mp4"
            shape = shape_of(result.model_id, result.request, result.duration_seconds)
            notices.extend(_check_output_video(target / name, shape))
        _kill_point("after-download")
        if self.ledger is not None and result.ledger_id is not None:
            self.ledger.record_files(result.ledger_id, files)
        return result.with_(local_dir=str(target), local_files=tuple(files), notices=tuple(notices))

    # -- all together --

    def generate(
        self,
        request: VideoRequest,
        output: OutputLocation | str,
        *,
        out_dir: str | os.PathLike[str] | None = ".",
        wait: bool = True,
        timeout: float | None = 30 * 60,
        poll_interval: float | None = None,
        client_token: str | None = None,
        tags: dict[str, str] | None = None,
        on_progress: Callable[[WaitProgress], None] | None = None,
        on_download: Callable[[DownloadProgress], None] | None = None,
        raise_on_failure: bool = True,
        name: str | None = None,
        on_notice: NoticeCallback | None = None,
        again: bool = False,
    ) -> JobResult:
        """Submit, wait, and download: the whole job in one call.

        An identical request within :data:`IDENTICAL_JOB_WINDOW` is not paid for
        twice (see :meth:`submit`): this call waits for that job and downloads it to
        ``out_dir`` instead; ``again=True`` pays for a new one.

        With ``wait=False`` it returns right after the submit. With ``out_dir=None``
        it waits but leaves the files in S3. A Failed job raises
        :class:`JobFailedError` (whose ``result`` explains it) unless
        ``raise_on_failure`` is false. ``on_notice`` hears every notice before the
        submit (and the download's, after it); ``name`` names the download folder.
        """
        submitted = self.submit(
            request,
            output,
            client_token=client_token,
            tags=tags,
            wait_for_slot=timeout or 0,
            name=name,
            out_dir=out_dir,
            on_notice=on_notice,
            again=again,
        )
        if not wait:
            return submitted
        ref = str(submitted.ledger_id) if submitted.ledger_id else submitted.invocation_arn
        assert ref is not None
        finished = self.wait(
            ref, timeout=timeout, poll_interval=poll_interval, on_progress=on_progress
        )
        finished = finished.with_(notices=submitted.notices + finished.notices)
        if out_dir is not None:
            downloaded = self.download(ref, out_dir, on_progress=on_download)
            if on_notice is not None:
                for notice in downloaded.notices:
                    on_notice(notice)
            finished = finished.with_(
                local_dir=downloaded.local_dir,
                local_files=downloaded.local_files,
                notices=finished.notices + downloaded.notices,
            )
        if finished.status == "Failed" and raise_on_failure:
            raise job_failed_error(finished)
        return finished

    def list(
        self,
        *,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        max_items: int | None = None,
        sort_order: str = "Descending",
    ) -> list[JobResult]:
        """Jobs as the service lists them (ListAsyncInvokes), joined with the ledger."""
        results = []
        for item in self.client.list_async_invokes(
            status=status,
            submitted_after=since,
            submitted_before=until,
            sort_order=sort_order,
            max_items=max_items,
        ):
            record = self.ledger.find(item.invocation_arn) if self.ledger is not None else None
            results.append(self._result(item, record, None))
        return results


def job_download_folder(
    out_dir: str | os.PathLike[str],
    invocation_id: str,
    record: JobRecord | None,
    submit_time: datetime | None = None,
) -> Path:
    """The folder a job's files go to under ``out_dir`` (one rule for every command).

    A job that already has files under ``out_dir`` keeps their folder, and so does an
    old ``<out_dir>/<invocation-id>/`` folder: rows written before the naming rule
    keep working and nothing is fetched twice. Otherwise the name comes from
    :func:`novareel.naming.job_folder_name`.
    """
    root = Path(out_dir).resolve()
    if record is not None:
        for path in record.local_files:
            file = Path(path)
            if file.is_relative_to(root) and file.parent != root:
                first = root / file.relative_to(root).parts[0]
                if first.is_dir():
                    return first
    legacy = root / invocation_id
    if legacy.is_dir():
        return legacy
    label = (
        job_label(name=record.name, batch_item=record.batch_item, request=record.request)
        if record is not None
        else ""
    )
    when = (record.submit_time if record is not None else None) or submit_time
    return root / job_folder_name(invocation_id, label=label, when=when)


def identical_job_notice(record: JobRecord) -> str:
    """What to say when a command attaches to an earlier identical job."""
    doing = (
        "waiting for it instead of paying again"
        if record.status == "InProgress"
        else "using it instead of paying again"
    )
    state = "already running" if record.status == "InProgress" else f"already {record.status}"
    return (
        f"an identical job {record.id} is {state}; {doing} — pass --again "
        "(again=True) to pay for a new one"
    )


def job_failed_error(result: JobResult) -> JobFailedError:
    """The JobFailedError for a Failed result: summary as message, advice as hint."""
    failure = result.failure or Failure(None, None)
    return JobFailedError(failure.summary(), result=result, hint=failure.advice or None)


def _check_output_video(path: Path, shape: VideoShape) -> list[str]:
    """Mismatches between the downloaded video and what was asked (as notices)."""
    if not path.is_file() or not shape.seconds:
        return []
    try:
        from novareel.video import check_video
        from novareel.video_probe import probe_video
    except ImportError:  # pragma: no cover - media module missing
        return []
    try:
        # Metadata, packets and keyframes only: a full decode cost ~300 ms per job.
        info = probe_video(path)
    except Exception as exc:  # a broken file is worth a notice, not a crash
        return [f"{path.name} could not be read as a video: {exc}"]
    found = check_video(
        info,
        expected_duration=shape.seconds,
        width=shape.width,
        height=shape.height,
        fps=shape.fps,
    )
    return [f"{path.name}: {m}" for m in found]


__all__ = [
    "IDENTICAL_JOB_WINDOW",
    "DownloadProgress",
    "NovaReel",
    "identical_job_notice",
    "job_download_folder",
    "job_failed_error",
    "model_notices",
    "new_client_token",
    "parse_status_file",
    "request_fingerprint",
    "request_notices",
    "safe_local_path",
]
