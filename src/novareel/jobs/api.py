"""The Python API: :class:`VideoGenerator`, the use cases put together (``VideoGenerator`` is
its old name, kept as an alias)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.foundation.results import JobResult
from novareel.foundation.s3uri import OutputLocation, output_location
from novareel.foundation.status import JobStatus
from novareel.foundation.waiting import WaitProgress
from novareel.jobs.dry_run import DryRun, dry_run
from novareel.jobs.fetching import DownloadProgress, Fetching
from novareel.jobs.submitting import NoticeCallback, Submitting, notices_of
from novareel.jobs.tracking import job_failed_error
from novareel.models import (
    VideoRequest,
    submit_option_problems,
)

log = logging.getLogger("novareel")


class VideoGenerator(Submitting, Fetching):
    """Generate videos with any registered model (Nova Reel, Luma Ray 2): submit, wait,
    download, all recorded in the ledger.

    ``ledger=None`` opens the default ledger (``NOVAREEL_HOME``); ``ledger=False``
    records nothing (the caller then owns the client tokens). ``time_scale`` tells the
    waiter how much faster than the real service the endpoint runs (the emulator's
    speed), so its schedule stays proportionate. ``emulator_owned`` says the endpoint is
    an emulator that lives only inside this process (``--local`` with none running):
    its jobs die with it, and the ledger records them so.

    Budgets (``docs/budgets.md``): every submit is refused with
    :class:`~novareel.foundation.errors.BudgetExceededError`, before the ledger row and before
    any network call, when it would cross the standing daily/monthly budget, or
    ``max_cost_usd``: a cap on the estimated AWS price of everything *this object*
    submits in its lifetime (``cost_cap`` holds what is spent and what remains).
    """

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
        on_submitted: Callable[[JobResult], None] | None = None,
        wait_for_slot: float | None = None,
    ) -> JobResult:
        """Submit, wait, and download: the whole job in one call.

        An identical request within :data:`IDENTICAL_JOB_WINDOW` is not paid for
        twice (see :meth:`submit`): this call waits for that job and downloads it to
        ``out_dir`` instead; ``again=True`` pays for a new one.

        With ``wait=False`` it returns right after the submit. With ``out_dir=None``
        it waits but leaves the files in S3. A Failed job raises
        :class:`JobFailedError` (whose ``result`` explains it) unless
        ``raise_on_failure`` is false.

        The hooks are what a front end needs to show the job as it goes, so that it
        calls this one method and only prints (the command line, the MCP server):
        ``on_notice`` hears every notice before the submit (and the download's, after
        it); ``on_submitted`` the accepted job, before the wait (a place to say how
        to resume it); ``on_progress`` each check of the wait; ``on_download`` the
        bytes as they arrive. ``name`` names the download folder. ``wait_for_slot``
        is how long a full concurrency quota is waited for (default: ``timeout``).
        """
        submitted = self.submit(
            request,
            output,
            client_token=client_token,
            tags=tags,
            wait_for_slot=(timeout or 0) if wait_for_slot is None else wait_for_slot,
            name=name,
            out_dir=out_dir,
            on_notice=on_notice,
            again=again,
        )
        if on_submitted is not None:
            on_submitted(submitted)
        if not wait:
            return submitted
        ref = str(submitted.ledger_id) if submitted.ledger_id else submitted.invocation_arn
        assert ref is not None
        finished = self.finish(
            ref,
            out_dir,
            download=out_dir is not None,
            timeout=timeout,
            poll_interval=poll_interval,
            on_progress=on_progress,
            on_download=on_download,
            on_notice=on_notice,
        )
        finished = finished.with_(notices=submitted.notices + finished.notices)
        if finished.status == JobStatus.FAILED and raise_on_failure:
            raise job_failed_error(finished)
        return finished

    def finish(
        self,
        ref: str,
        out_dir: str | os.PathLike[str] | None = None,
        *,
        download: bool | None = None,
        timeout: float | None = 30 * 60,
        poll_interval: float | None = None,
        on_progress: Callable[[WaitProgress], None] | None = None,
        on_download: Callable[[DownloadProgress], None] | None = None,
        on_notice: NoticeCallback | None = None,
        raise_on_failure: bool = False,
    ) -> JobResult:
        """Wait for a submitted job, then fetch its files: what :meth:`generate` does
        after the submit, and all that ``novareel wait`` and ``jobs retry`` do.

        ``download=True`` fetches into ``out_dir`` (None: the folder remembered when
        the job was submitted, else the current one); ``False`` never fetches;
        ``None`` fetches only when there is a folder: ``out_dir`` or the remembered
        one. A Failed job's files (its status file, no video) are fetched too. A wait
        that runs out raises :class:`WaitTimeoutError` (the job keeps running).
        """
        finished = self.wait(
            ref, timeout=timeout, poll_interval=poll_interval, on_progress=on_progress
        )
        _, record = self.resolve(ref)
        if download is None:  # only when there is a folder: given, or remembered
            download = out_dir is not None or (record is not None and record.out_dir is not None)
        if record is not None and record.id in self._answered_from_ledger:
            download = False  # its emulator restarted: its files are where they were put
        if download:
            # The wait's last answer is the job's status: fetched without asking again.
            fetched = self._fetch(finished, record, out_dir, on_progress=on_download)
            if on_notice is not None:
                for notice in fetched.notices[len(finished.notices) :]:
                    on_notice(notice)
            finished = fetched
        if finished.status == JobStatus.FAILED and raise_on_failure:
            raise job_failed_error(finished)
        return finished

    def dry_run(
        self,
        requests: VideoRequest | Sequence[VideoRequest],
        output: OutputLocation | str,
        *,
        client_token: str | None = None,
        tags: dict[str, str] | None = None,
        notices: Sequence[str] = (),
        on_notice: NoticeCallback | None = None,
    ) -> DryRun:
        """What :meth:`submit` would send for these requests, what it would cost and
        how long it should take here; nothing is written and no network call is made
        (:func:`novareel.jobs.dry_run.dry_run`).

        It checks what :meth:`submit` checks, and raises what it would raise (an
        :class:`~novareel.foundation.errors.InvalidRequestError` with every problem: the output
        location, the client token and tags, each request's rules), so a price is
        never quoted for a job a submit would refuse. Its ``notices`` are the ones a
        submit says before sending (the output location, the region, the model's
        lifecycle, the images, the prompt), each once, after ``notices``; each also
        goes to ``on_notice``.
        """
        many = list(requests) if isinstance(requests, Sequence) else [requests]
        said: list[str] = list(notices)
        found: list[Problem] = []
        location = output
        if isinstance(output, str):
            try:
                location = output_location(output, notices=said)
            except InvalidRequestError as exc:
                found.extend(exc.problems)
        found.extend(submit_option_problems(client_token, tags))
        for request in many:
            # Checked when built; asked again for a request of a family that is not.
            found.extend(request.problems())
            try:  # an explicit region that does not offer the model: submit refuses it
                said.extend(self.region_notices(request.model_id))
            except InvalidRequestError as exc:
                found.extend(exc.problems)
            said.extend(notices_of(request))
        if found:
            raise InvalidRequestError(found)
        said = list(dict.fromkeys(said))
        if on_notice is not None:
            for notice in said:
                on_notice(notice)
        return dry_run(
            many,
            location,
            client_token=client_token,
            tags=tags,
            notices=said,
            ledger=self.ledger,
            endpoint=self.client.runtime_endpoint,
        )


#: The old name, from when the class drove Nova Reel only; it drives every registered
#: model now (Luma Ray 2 too). Kept so existing code keeps working: the same class, so
#: ``isinstance`` and subclasses behave as before.
NovaReel = VideoGenerator
