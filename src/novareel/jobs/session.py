"""What every part of :class:`~novareel.jobs.VideoGenerator` shares: the client, the ledger
(opened on first use), the time scale, learned expectations, and turning what the
service or the ledger says into a :class:`~novareel.foundation.results.JobResult`.

The use cases sit on top of it, one module each: :mod:`.submitting`,
:mod:`.tracking`, :mod:`.fetching`; :mod:`.api` puts them together.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, Self

from novareel.client import (
    AwsClient,
    InvocationStatus,
    job_folder,
)
from novareel.foundation.errors import (
    InvalidRequestError,
    LedgerError,
    Problem,
)
from novareel.foundation.results import Failure, JobResult
from novareel.foundation.s3uri import parse_s3_uri
from novareel.models import (
    VideoRequest,
    VideoShape,
    find_model,
    shape_of,
)

if TYPE_CHECKING:
    from novareel.ledger import JobRecord, Ledger
    from novareel.limits.budget import CostCap, SessionCap
    from novareel.limits.expectations import Expectation
    from novareel.limits.quota import SharedQuota

log = logging.getLogger("novareel")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def result_of(asked: VideoRequest | JobRecord, status: str, **known: Any) -> JobResult:
    """The result of a job that asked for ``asked`` (a request, or its ledger row):
    its task, model, length, seed and price, with ``status`` and what else is
    ``known``. The one place a result is built from what was asked, so a dry run, a
    submit and a ledger lookup cannot describe the same job differently."""
    return JobResult(
        status=status,
        task_type=str(asked.task_type),
        model_id=asked.model_id,
        duration_seconds=asked.duration_seconds,
        seed=asked.seed,
        estimated_cost_usd=asked.estimated_cost_usd,
        **known,
    )


def _recorded(record: JobRecord) -> dict[str, Any]:
    """What a job's ledger row adds to its result, whoever answers for its status (the
    service or the row itself): its id, downloaded files, recorded request, whether it
    ran on the emulator and its ``qa`` verdict."""
    return {
        "ledger_id": record.id,
        "local_files": tuple(record.local_files),
        "request": record.request,
        "ran_locally": record.ran_locally,
        "qa": record.qa,
    }


def region_refusal(model_id: str, region: str) -> InvalidRequestError | None:
    """The error for a region chosen explicitly (``--region``, ``region=``) that the
    registry says does not offer ``model_id``, or None (offered, or a model unknown to
    the registry: the service then decides). Raised before anything is sent, by
    :meth:`Session.region_for` and by a batch's ``--dry-run``."""
    model = find_model(model_id)
    if model is None or region in model.info.regions:
        return None
    return InvalidRequestError(
        Problem(
            "region",
            f"{model.info.name} ({model.model_id}) is not offered in region {region!r}",
            value=region,
            limit=f"one of: {', '.join(model.info.regions)}",
        ),
        hint=(
            f"Pass --region {model.info.default_region} (region="
            f"{model.info.default_region!r} in Python), or leave the region out: "
            "each model then runs in its own region."
        ),
    )


class Session:
    """The state of one :class:`~novareel.jobs.VideoGenerator` (see its docstring)."""

    def __init__(
        self,
        client: AwsClient | None = None,
        *,
        ledger: Ledger | Literal[False] | None = None,
        time_scale: float = 1.0,
        max_cost_usd: float | None = None,
        emulator_owned: bool = False,
        **client_options: Any,
    ) -> None:
        self.client = client if client is not None else AwsClient(**client_options)
        self._ledger_arg = ledger
        self._ledger: Ledger | None = None
        self.time_scale = time_scale
        self.cost_cap: CostCap | None = None
        if max_cost_usd is not None:
            # Imported only with a cap: a command that submits nothing (status, wait)
            # need not load the budget rules (benchmark 4: start-up).
            from novareel.limits.budget import CostCap

            self.cost_cap = CostCap(max_cost_usd)
        #: A cap shared by every process of one session (an MCP server's
        #: ``--session-max-cost``), checked in the ledger's reservation transaction.
        self.session_cap: SessionCap | None = None
        # The account's quota shared through the ledger (see :attr:`quota`).
        self._quota: SharedQuota | None = None
        self._quota_decided = False
        self._quota_owned = False
        #: True when the endpoint is an emulator that lives only inside this process
        #: (``--local`` with none running): its jobs die with it, so the ledger says so.
        self.emulator_owned = emulator_owned
        #: How this door's user pays for an identical job again on purpose, named in
        #: the notice when a submit attaches to an earlier one: the CLI sets
        #: ``--again``; None (the MCP server, which has no such option) says nothing.
        self.again_hint: str | None = "again=True"
        #: :meth:`expectation`'s answers by (model, length, width, height).
        self._expectations: dict[tuple[str | None, int, int, int], Expectation] = {}
        #: Ledger ids of finished local jobs answered from the ledger because their
        #: (restarted) emulator no longer knows them: nothing left there to download.
        self._answered_from_ledger: set[int] = set()
        #: Run `novareel qa` on every downloaded video and store its verdict (the
        #: CLI's ``--no-qa`` sets it False).
        self.run_qa = True

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

    # -- the account's quota --

    @property
    def quota(self) -> SharedQuota | None:
        """This object's share of the account's concurrency quota (leases in the
        ledger, :mod:`novareel.limits.quota`), made on first use; None when the quota is not
        shared (``NOVAREEL_QUOTA=off``) or there is no ledger. Every submit takes a
        lease on a slot before it sends (waiting for one while the quota is full) and
        gives it back when the job ends, fails or is refused. A batch or the MCP
        server sets its own holder here, so one job holds one slot."""
        if not self._quota_decided:
            from novareel.limits.quota import SharedQuota, quota_settings

            settings = quota_settings()  # a bad NOVAREEL_QUOTA is refused, nothing sent
            ledger = self.ledger
            if settings.shared and ledger is not None:
                endpoint = self.client.runtime_endpoint
                self._quota = SharedQuota(ledger, endpoint=endpoint, settings=settings)
                self._quota_owned = True
            self._quota_decided = True
        return self._quota

    @quota.setter
    def quota(self, holder: SharedQuota | None) -> None:
        """Use ``holder`` (owned and closed by the caller; None: take no leases)."""
        if self._quota_owned and self._quota is not None and self._quota is not holder:
            self._quota.close()
        self._quota = holder
        self._quota_decided = True
        self._quota_owned = False

    def _job_ended(self, token: str | None, *, seen_end: bool = False) -> None:
        """A job was never sent, or (``seen_end``) its end was just seen: free its
        quota slot. Never sent: only this holder can have taken it. An end seen: the
        lease is given back whichever process took it (``generate --no-wait``, then
        ``novareel wait`` elsewhere), once per job (the caller sees the end once)."""
        if token is None:
            return
        if self._quota is not None and token in self._quota.items:
            self._quota.release_item(token)  # ours: one statement, as a batch does
            return
        if seen_end and self.ledger is not None:
            from novareel.limits.quota import quota_settings

            if self._quota is not None if self._quota_decided else quota_settings().shared:
                endpoint = self.client.runtime_endpoint or ""
                try:
                    self.ledger.release_item_lease(endpoint, token)
                except LedgerError as exc:  # it expires on its own
                    log.warning("could not give back the quota slot of %s: %s", token, exc)

    def close(self) -> None:
        if self._quota_owned and self._quota is not None:
            # Leases of jobs still running are left to expire: they hold their slots.
            self._quota.close()
        if self._ledger is not None and self._ledger_arg is None:
            self._ledger.close()
        self._ledger = None

    def __enter__(self) -> Self:
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
    ) -> Iterator[Self]:
        """A VideoGenerator on the local emulator for a ``with`` block: no AWS account, no cost.

        The Python twin of the command line's ``--local``: the emulator at ``url``
        (else ``NOVAREEL_EMULATOR_URL``, else http://127.0.0.1:5899) is used, or one is
        started in this process (``start``) and stopped when the block ends. The client
        gets dummy credentials of its own (``os.environ`` is not touched), each model's
        region unless ``region`` pins one, and the emulator's speed as ``time_scale``.
        Output buckets are created in the emulator as needed; ``on_notice`` (default:
        a ``notice:`` line on stderr) hears of each.
        """
        from novareel.client.local import local_client, notice_to_stderr

        notify = on_notice or notice_to_stderr
        with (
            local_client(url, region=region, start=start, on_notice=notify) as (client, speed),
            cls(client, ledger=ledger, time_scale=speed) as reel,
        ):
            yield reel

    @property
    def on_emulator(self) -> bool:
        """True when this client's endpoint answers as novareel's emulator (its jobs
        are free): asked once per endpoint and process, never decided by the address
        (a loopback proxy to AWS is AWS) -- :mod:`novareel.client.endpoint_identity`."""
        from novareel.client.endpoint_identity import is_emulator

        return is_emulator(self.client.runtime_endpoint)

    def _region_for(self, model_id: str) -> str | None:
        """The region a job of ``model_id`` goes to when it is not the client's own,
        else None (see :meth:`region_for`)."""
        region = self.region_for(model_id)
        return None if region == self.client.region else region

    def region_for(self, model_id: str) -> str:
        """The region a job of ``model_id`` is sent to, by one rule for every door.

        A region passed as an argument (``--region``, ``region=``) is the user's choice
        and wins; when the registry says the model is not offered there, the job is
        refused here, before anything is written or sent (:class:`InvalidRequestError`
        naming ``region``, the value and the model's regions). A region from the
        environment or a profile (``AWS_DEFAULT_REGION``, ``region =`` in ~/.aws/config) is
        a default for every AWS service, not a choice of where this model runs: it is
        used where it offers the model, otherwise the model's own region is
        (:meth:`region_notices` says so). A model unknown to the registry goes to the
        client's region.
        """
        model = find_model(model_id)
        region = self.client.region
        if model is None or region in model.info.regions:
            return region
        if self.client.region_source == "argument":
            refusal = region_refusal(model_id, region)
            assert refusal is not None
            raise refusal
        return model.info.default_region

    def check_regions(self, model_ids: Iterable[str]) -> None:
        """:meth:`region_for` for several models at once (a batch, before its first
        submit): one :class:`InvalidRequestError` naming every model the chosen region
        does not offer, so nothing of the batch is sent to a region that refuses part
        of it."""
        problems: list[Problem] = []
        hint: str | None = None
        for model_id in dict.fromkeys(model_ids):
            try:
                self.region_for(model_id)
            except InvalidRequestError as exc:
                problems.extend(p for p in exc.problems if p not in problems)
                hint = exc.hint
        if problems:
            raise InvalidRequestError(problems, hint=hint)

    def region_notices(self, model_id: str) -> list[str]:
        """Where the job goes, said before it is sent, when novareel chose the region:
        none was configured (the model's own), or the configured one does not offer
        the model (then the model's own is used instead of it). The local emulator's
        isolated client reads no AWS configuration, so nothing is said there."""
        model = find_model(model_id)
        if model is None or self.client.isolated:
            return []
        region = self.region_for(model_id)
        name = model.info.name
        if self.client.region_source == "default":
            return [f"no AWS region configured: using {region}, where {name} runs"]
        if self.client.region_source == "configuration" and region != self.client.region:
            return [
                f"{name} is not offered in {self.client.region} (the region configured "
                f"for AWS, by the environment or a profile): using {region}, where it "
                f"runs (pass --region to choose one of {', '.join(model.info.regions)})"
            ]
        return []

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

    def _result(
        self, status: InvocationStatus, record: JobRecord | None, failure: Failure | None
    ) -> JobResult:
        """The service's answer about a job, with what its ledger row adds (a job this
        ledger never recorded has only the service's side)."""
        folder = job_folder(status)
        answered: dict[str, Any] = {
            "invocation_arn": status.invocation_arn,
            "output_uri": str(folder).rstrip("/") if folder else None,
            "submit_time": status.submit_time,
            "end_time": status.end_time,
            "last_modified_time": status.last_modified_time,
            "failure": failure,
        }
        if record is None:
            return JobResult(
                status=status.status,
                task_type="UNKNOWN",
                model_id=status.model_id or "unknown",
                duration_seconds=None,
                seed=None,
                estimated_cost_usd=None,
                client_token=status.client_token,
                ran_locally=self.on_emulator,
                **answered,
            )
        return result_of(
            record,
            status.status,
            client_token=status.client_token or record.client_token,
            **answered,
            **_recorded(record),
        )

    def _result_from_record(self, record: JobRecord, *, notices: list[str]) -> JobResult:
        output_uri = record.output_uri
        if record.invocation_id and output_uri:
            output_uri = str(parse_s3_uri(output_uri).child(record.invocation_id))
        return result_of(
            record,
            record.status,
            invocation_arn=record.invocation_arn,
            output_uri=output_uri,
            client_token=record.client_token,
            submit_time=record.submit_time,
            end_time=record.end_time,
            failure=record.failure,
            notices=tuple(notices),
            **_recorded(record),
        )

    # -- wait --

    def expectation(self, model_id: str | None, shape: VideoShape) -> Expectation:
        """How long a new job of this model and shape should take on the real service:
        what the latest jobs of that kind took on this endpoint, once a few exist,
        else the model's prior (:mod:`novareel.limits.expectations`). Asked once per kind
        until this object records another finished job (a batch asks every tick)."""
        from novareel.limits.expectations import expect, video_length

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
