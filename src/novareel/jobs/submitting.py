"""Sending a job: check, record, send once (the token), refuse before paying."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.client import (
    start_async_invoke_params,
)
from novareel.foundation.errors import (
    AccessDeniedError,
    AwsError,
    ConflictError,
    InvalidRequestError,
    JobFailedError,
    LedgerError,
    NotFoundError,
    Problem,
    QuotaExceededError,
    ServiceValidationError,
    ThrottledError,
)
from novareel.foundation.results import JobResult
from novareel.foundation.s3uri import OutputLocation, output_location
from novareel.foundation.status import FINISHED_STATUSES, JobStatus
from novareel.jobs.session import _utcnow, result_of
from novareel.jobs.tracking import Tracking
from novareel.models import (
    VideoRequest,
    submit_option_problems,
)

if TYPE_CHECKING:
    from novareel.ledger import JobRecord
    from novareel.limits.quota import SharedQuota

log = logging.getLogger("novareel")

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


def kill_point(name: str) -> None:
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


def hold_point() -> None:
    """Test-only: sleep ``NOVAREEL_TEST_HOLD_SUBMIT`` seconds inside the submit window
    (called after the ledger row is written, before StartAsyncInvoke, and again after
    the service accepted the job, before its ARN is recorded).

    Why: the window is a few milliseconds, so a kill aimed at it by a random delay
    almost never lands there; held open, a kill test (tests/reliability/
    test_kill_generate.py) can wait for the ``Submitting`` row and kill inside it
    every time, then assert where it landed. Unset, it does nothing.
    """
    raw = os.environ.get("NOVAREEL_TEST_HOLD_SUBMIT")
    if raw:  # pragma: no cover - exercised by the kill tests' subprocesses
        time.sleep(float(raw))


def identical_job_notice(record: JobRecord, again_hint: str | None = "again=True") -> str:
    """What to say when a command attaches to an earlier identical job; ``again_hint``
    is how the caller's door pays for a new one on purpose (``--again`` on the
    command line, ``again=True`` in Python; None: the door has no way)."""
    doing = (
        "waiting for it instead of paying again"
        if record.status == JobStatus.IN_PROGRESS
        else "using it instead of paying again"
    )
    state = (
        "already running" if record.status == JobStatus.IN_PROGRESS else f"already {record.status}"
    )
    said = f"an identical job {record.id} is {state}; {doing}"
    return f"{said}. To pay for a new one on purpose: {again_hint}" if again_hint else said


def notices_of(request: VideoRequest) -> list[str]:
    """The request builder's notices on ``request`` (prompt, region, images), the
    builder imported on first use: a command that only reads jobs (``status``,
    ``wait``, ``jobs``) builds no request, and the builder with the image readers it
    imports was ~20 ms of each such start (benchmark 4)."""
    from novareel.requests.compose import request_notices

    return request_notices(request)


class Submitting(Tracking):
    """:meth:`submit` and what it needs: fingerprints, budgets, quota waits, refusals
    (on :class:`Tracking`: a submit waiting for a slot looks at the jobs holding them)."""

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
        # Where it goes, decided (an explicit region that does not offer the model is
        # refused here) before anything is written or reserved.
        where = self.region_notices(request.model_id)
        quota = self.quota  # a bad NOVAREEL_QUOTA is refused here, before any row
        described = request.describe()
        held: list[float] = []  # what the owner's cap holds for this submit

        def check() -> None:
            from novareel.limits.budget import reservation_check

            reservation_check(
                self.ledger,
                request.estimated_cost_usd,
                endpoint=self.client.runtime_endpoint,
                cost_cap=self.cost_cap,
                held=held,
                session_cap=self.session_cap,
            )

        record = None
        if self.ledger is None:
            token = client_token or new_client_token()
            check()
        else:
            # One write transaction: the identical-request lookup, the budget check
            # (reserved rows of every process included) and the new row.
            try:
                reserved = self.ledger.reserve(
                    client_token=client_token or new_client_token(),
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
                    emulator=self.on_emulator,
                    fingerprint=fingerprint,
                    identical_since=(
                        None
                        if client_token is not None or again
                        else _utcnow() - IDENTICAL_JOB_WINDOW
                    ),
                    check=check,
                    session_key=self.session_cap.key if self.session_cap is not None else None,
                )
            except BaseException:
                self._release(held)
                raise
            record = reserved.record
            token = record.client_token
            if reserved.identical and record.invocation_arn:
                # Accepted already (InProgress or Completed): attach, send nothing,
                # pay nothing.
                notices.append(identical_job_notice(record, self.again_hint))
                notices.extend(n for n in notices_of(request) if n not in notices)
                if on_notice is not None:
                    for notice in notices:
                        on_notice(notice)
                return self._result_from_record(record, notices=notices)
            if reserved.identical:
                # Recorded but never confirmed (killed mid-submit) or not sent: its own
                # token, so the service starts it at most once.
                notices.append(
                    f"an identical job {record.id} was recorded but never confirmed as sent;"
                    " sending it again with its own token so the service cannot start it"
                    " twice"
                )
            elif not reserved.created and (
                record.request != described or record.model_id != request.model_id
            ):
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
        notices.extend(n for n in where if n not in notices)
        notices.extend(n for n in notices_of(request) if n not in notices)
        if on_notice is not None:
            for notice in notices:
                on_notice(notice)
        if record is not None:
            kill_point("after-intent")
            if record.invocation_arn:
                # This token already produced a job: never send it again.
                log.info("token %s already submitted as %s", token, record.invocation_arn)
                return self._result_from_record(record, notices=notices)
        hold_point()

        started = time.monotonic()
        if quota is not None:
            try:
                self._take_slot(quota, request.model_id, token, wait_for_slot, notices, on_notice)
            except QuotaExceededError:
                self._release(held)  # never sent
                raise
        try:
            arn = self._start_with_quota_wait(
                request,
                model_input,
                output,
                token,
                tags,
                max(wait_for_slot - (time.monotonic() - started), 0.0),
            )
        except (*_REJECTING, InvalidRequestError):
            self._release(held)  # refused or never sent: no job, nothing spent
            self._job_ended(token)
            raise
        except AwsError as exc:
            if exc.code in _UNSENT_CODES:
                self._release(held)
            if exc.code in _UNSENT_CODES or isinstance(exc, (QuotaExceededError, ThrottledError)):
                self._job_ended(token)  # no job was created: its slot is free
            raise
        kill_point("after-submit")
        hold_point()
        submit_time = _utcnow()
        ledger_id = None
        if self.ledger is not None and record is not None:
            record = self.ledger.mark_submitted(
                record.id,
                invocation_arn=arn,
                submit_time=submit_time,
                estimated_cost_usd=request.estimated_cost_usd,
            )
            ledger_id = record.id
        return result_of(
            request,
            JobStatus.IN_PROGRESS,
            invocation_arn=arn,
            output_uri=str(output.uri.child(arn.rsplit("/", 1)[-1])),
            client_token=token,
            submit_time=submit_time,
            ledger_id=ledger_id,
            notices=tuple(notices),
            request=described,
            ran_locally=record.ran_locally if record is not None else self.on_emulator,
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

    def _release(self, held: list[float]) -> None:
        """Give back what the owner's cap held for a submit that created no job (the
        ledger's reservation is released by the row's own status: Rejected)."""
        if self.cost_cap is not None:
            while held:
                self.cost_cap.release(held.pop())

    def _take_slot(
        self,
        quota: SharedQuota,
        model_id: str,
        token: str,
        wait_for_slot: float,
        notices: list[str],
        on_notice: NoticeCallback | None,
    ) -> None:
        """A lease on one slot of the account's quota (shared through the ledger) for
        this job, before it is sent: the same lease a batch takes (keyed by the token,
        so a job a batch already holds a slot for gets that one). While the quota is
        full it waits up to ``wait_for_slot`` seconds, saying so once; then the submit
        is refused as the service would refuse it (:class:`QuotaExceededError`), its
        row marked not sent so nothing stays reserved."""
        region = self.region_for(model_id)

        def on_full(notice: str) -> None:
            if wait_for_slot > 0:
                notice += f"; waiting up to {wait_for_slot:,.0f} s for a slot"
            notices.append(notice)
            if on_notice is not None:
                on_notice(notice)

        interval = max(0.05, min(2.0, 2.0 / max(self.time_scale, 1e-6)))
        lease = quota.wait_for_slot(
            model_id,
            region,
            token,
            timeout=wait_for_slot,
            interval=interval,
            on_full=on_full,
            reap=lambda: self.free_ended_slots(quota, model_id, region, token),
        )
        if lease is not None:
            return
        exc = QuotaExceededError(
            f"{quota.full_notice(model_id, region)}; no slot freed up"
            + (f" in {wait_for_slot:,.0f} s" if wait_for_slot > 0 else "")
            + "; nothing was sent",
            hint="Run it again when a job has ended (`novareel jobs --status InProgress` "
            "lists them), or wait for a slot (generate waits as long as --timeout).",
        )
        self._mark_rejected(token, exc, not_sent=True)
        raise exc

    def free_ended_slots(
        self,
        quota: SharedQuota,
        model_id: str,
        region: str,
        token: str | None = None,
        *,
        unwatched_only: bool = False,
    ) -> bool:
        """Free the slots of jobs that ended without anyone seeing it; whether any was.

        Why: a job nobody waits for (``generate --no-wait``, ``submit`` alone, a run
        stopped at its time limit) keeps its lease until some process sees it end;
        with the quota full, the jobs holding the slots are looked at once (the
        ledger's answer, else one GetAsyncInvoke each), and each one that ended gives
        its slot back (the status is recorded, as ``novareel status`` would). A job
        the service no longer knows (an emulator that restarted) holds no slot there
        either. ``token`` is the asking job's own (skipped); ``unwatched_only`` looks
        only at the leases handed over by processes that have ended (a batch asks
        that way: the leases of live processes are freed by their own polls)."""
        if self.ledger is None:
            return False
        freed = False
        for item in self.ledger.lease_items(
            endpoint=quota.endpoint,
            model_id=model_id,
            region=region,
            unwatched_only=unwatched_only,
        ):
            record = self.ledger.find(item) if item != token else None
            if record is None or not record.invocation_arn:
                continue  # not this ledger's, or still in its submit round trip
            if record.status in FINISHED_STATUSES or record.status == JobStatus.REJECTED:
                self.ledger.release_item_lease(quota.endpoint, item)
                freed = True
                continue
            try:
                ended = self.status(str(record.id)).done  # records the end, frees the slot
            except (NotFoundError, ServiceValidationError, JobFailedError) as exc:
                # Unknown to the service (GetAsyncInvoke answers an unknown ARN either
                # way; a local job's emulator restarted): no slot is taken there.
                if isinstance(exc, ServiceValidationError) and not record.ran_locally:
                    continue
                self.ledger.release_item_lease(quota.endpoint, item)
                ended = True
            except (AwsError, LedgerError):
                continue
            freed = freed or ended
        return freed

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
            except (QuotaExceededError, ThrottledError):
                # AWS answers a full concurrency quota with ThrottlingException too (what
                # users see), so a throttled submit waits for a slot like a quota one.
                if time.monotonic() + delay > deadline:
                    raise
                log.info("quota full or throttled; retrying in %.1f s with the same token", delay)
                time.sleep(delay)
                delay = min(delay * 1.5, 30.0)
            except _REJECTING as exc:
                self._explain_refusal(request.model_id, exc)
                self._mark_rejected(token, exc)  # with the hint just found, for later
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
        if record is not None and record.status == JobStatus.SUBMITTING:
            code = getattr(exc, "code", None)
            self.ledger.mark_rejected(
                record.id,
                message=exc.message,
                not_sent=not_sent,
                # the service's error code names the refusal (AccessDeniedException...)
                failure_type=None if not_sent else code,
                advice=exc.hint if not not_sent else None,
            )
