"""The use cases, where the client, the ledger and the media checks meet.

:class:`VideoGenerator` (old name ``NovaReel``, kept as an alias) is the Python API
most users want: ``generate`` (submit, wait,
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

The package, one use case a module (each class adds one step to the one before):
:mod:`.session` (the client, the ledger, results from either), :mod:`.submitting`
(check, record, send once), :mod:`.tracking` (status, wait, failures explained),
:mod:`.fetching` (download), :mod:`.dry_run` (what would be sent) and
:mod:`.api` (:class:`VideoGenerator`: ``generate`` and ``finish`` put the steps together,
with hooks, so that the command line, the batch runner and the MCP server call one
path and only print).
"""

from typing import Any

from novareel.jobs.api import NovaReel, VideoGenerator
from novareel.jobs.fetching import (
    DownloadProgress,
    check_output_video,
    job_download_folder,
    safe_local_path,
)
from novareel.jobs.submitting import (
    IDENTICAL_JOB_WINDOW,
    identical_job_notice,
    new_client_token,
    request_fingerprint,
)
from novareel.jobs.tracking import job_failed_error, parse_status_file

#: The old private name, kept for the media tests that call it directly.
_check_output_video = check_output_video

__all__ = [
    "IDENTICAL_JOB_WINDOW",
    "DownloadProgress",
    "NovaReel",
    "VideoGenerator",
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


def __getattr__(name: str) -> Any:
    """``model_notices`` and ``request_notices`` (the request builder's, re-exported
    here), imported on first use: a command that only reads jobs (``status``, ``jobs``,
    ``wait``) never builds a request, and the builder with the image readers it
    imports cost ~20 ms of every such start (benchmark 4)."""
    if name in ("model_notices", "request_notices"):
        from novareel.requests import compose

        return getattr(compose, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
