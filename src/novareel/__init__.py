"""novareel: generate videos on Amazon Bedrock (Amazon Nova Reel, Luma Ray 2).

The public API is what this module exports (pinned by a test)::

    from novareel import TextVideo, VideoGenerator

    with VideoGenerator() as reel:                 # boto3's credentials, region, endpoint
        result = reel.generate(TextVideo("A golden sunset over calm ocean waves"),
                               "s3://my-bucket/videos/", out_dir="videos")
    print(result.video_path, result.estimated_cost_usd)

A request is checked when it is built: ``TextVideo("A man walks", duration=12)``
raises :class:`InvalidRequestError` whose ``problems`` name every field that is wrong,
so nothing is priced or sent that the service would refuse. Images may be paths (or
``s3://`` URIs), read and checked as the command line's ``--image`` is.

To build requests from what a person typed (image paths, a fit mode, shots, a
storyboard file), with every problem and every notice at once (what the command line
uses)::

    built = compose_requests(RequestSpec(prompt="...", image="frame.jpg", fit="crop"))
    built.raise_if_problems()
    result = reel.generate(built.requests[0], "s3://my-bucket/videos/")

``with VideoGenerator.local() as reel:`` runs the same code against the local emulator
(found or started for the block, dummy credentials, missing buckets created): no
account, no cost.

``NovaReel`` and ``NovaReelClient`` are the old names of :class:`VideoGenerator` and
:class:`AwsClient`, from when they drove Nova Reel only; they stay importable as
aliases (the same classes), so code written for them keeps working.

Imports are lazy (PEP 562) so that ``import novareel`` and ``novareel --help`` stay
fast: boto3, Pillow and PyAV load only when the piece that needs them is used.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from novareel.foundation import frame_reader as _frame_reader

__version__ = "0.1.0"


def _read_frame(value: str | os.PathLike[str], field: str, rules: Any) -> Any:
    """How a request class reads an image path: as ``--image`` is read
    (:func:`novareel.media.images.load_starting_frame`, to the model's rules)."""
    from novareel.media.images import load_starting_frame

    return load_starting_frame(value, field=field, rules=rules)


# The request classes (models/, a leaf without I/O) read image paths through this slot;
# filled here, above every layer, so that no layer imports one above it and
# ``import novareel`` still loads neither novareel.models nor Pillow.
_frame_reader.install(_read_frame)

_EXPORTS: dict[str, str] = {
    # requests
    "TextVideo": "novareel.models.nova_reel",
    "MultiShotAutomated": "novareel.models.nova_reel",
    "MultiShotManual": "novareel.models.nova_reel",
    "Shot": "novareel.models.base",
    "StartingFrame": "novareel.models.base",
    "TaskType": "novareel.models.nova_reel",
    "VideoRequest": "novareel.models.base",
    "build_request": "novareel.models.nova_reel",
    "estimate_cost_usd": "novareel.models",
    "DEFAULT_MODEL": "novareel.models.nova_reel",
    "RayVideo": "novareel.models.luma_ray",
    "GenerateOptions": "novareel.models.base",
    "get_model": "novareel.models",
    "all_models": "novareel.models",
    # a person's request in their own terms (paths, fit, shots, storyboard) -> requests
    "RequestSpec": "novareel.requests.compose",
    "ShotSpec": "novareel.requests.compose",
    "compose_requests": "novareel.requests.compose",
    # output location
    "OutputLocation": "novareel.foundation.s3uri",
    "output_location": "novareel.foundation.s3uri",
    # running jobs
    "VideoGenerator": "novareel.jobs",
    "AwsClient": "novareel.client",
    # the old names of VideoGenerator and AwsClient: aliases, the same classes
    "NovaReel": "novareel.jobs",
    "NovaReelClient": "novareel.client",
    "JobResult": "novareel.foundation.results",
    "Failure": "novareel.foundation.results",
    "WaitProgress": "novareel.foundation.waiting",
    "DownloadProgress": "novareel.jobs",
    # batches and replays
    "BatchRunner": "novareel.batch",
    "BatchSummary": "novareel.batch",
    "load_batch": "novareel.batch",
    "run_batch": "novareel.batch",
    "retry_job": "novareel.running.replay",
    "sync_jobs": "novareel.running.replay",
    # media
    "load_starting_frame": "novareel.media.images",
    "prepare_starting_frame": "novareel.media.images",
    "load_storyboard": "novareel.requests.storyboard",
    "inspect_video": "novareel.media.video",
    # ledger
    "Ledger": "novareel.ledger",
    "JobRecord": "novareel.ledger",
    # errors
    "NovaReelError": "novareel.foundation.errors",
    "InvalidRequestError": "novareel.foundation.errors",
    "ImageError": "novareel.foundation.errors",
    "AwsError": "novareel.foundation.errors",
    "AccessDeniedError": "novareel.foundation.errors",
    "ServiceValidationError": "novareel.foundation.errors",
    "NotFoundError": "novareel.foundation.errors",
    "ConflictError": "novareel.foundation.errors",
    "QuotaExceededError": "novareel.foundation.errors",
    "ThrottledError": "novareel.foundation.errors",
    "ServiceUnavailableError": "novareel.foundation.errors",
    "EndpointError": "novareel.foundation.errors",
    "JobFailedError": "novareel.foundation.errors",
    "WaitTimeoutError": "novareel.foundation.errors",
    "DownloadError": "novareel.foundation.errors",
    "LedgerError": "novareel.foundation.errors",
    "EmulatorError": "novareel.foundation.errors",
    "BudgetExceededError": "novareel.foundation.errors",
}

__all__ = [
    "DEFAULT_MODEL",
    "AccessDeniedError",
    "AwsClient",
    "AwsError",
    "BatchRunner",
    "BatchSummary",
    "BudgetExceededError",
    "ConflictError",
    "DownloadError",
    "DownloadProgress",
    "EmulatorError",
    "EndpointError",
    "Failure",
    "GenerateOptions",
    "ImageError",
    "InvalidRequestError",
    "JobFailedError",
    "JobRecord",
    "JobResult",
    "Ledger",
    "LedgerError",
    "MultiShotAutomated",
    "MultiShotManual",
    "NotFoundError",
    "NovaReel",
    "NovaReelClient",
    "NovaReelError",
    "OutputLocation",
    "QuotaExceededError",
    "RayVideo",
    "RequestSpec",
    "ServiceUnavailableError",
    "ServiceValidationError",
    "Shot",
    "ShotSpec",
    "StartingFrame",
    "TaskType",
    "TextVideo",
    "ThrottledError",
    "VideoGenerator",
    "VideoRequest",
    "WaitProgress",
    "WaitTimeoutError",
    "__version__",
    "all_models",
    "build_request",
    "compose_requests",
    "estimate_cost_usd",
    "get_model",
    "inspect_video",
    "load_batch",
    "load_starting_frame",
    "load_storyboard",
    "output_location",
    "prepare_starting_frame",
    "retry_job",
    "run_batch",
    "sync_jobs",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from novareel.batch import BatchRunner, BatchSummary, load_batch, run_batch
    from novareel.client import AwsClient, NovaReelClient
    from novareel.foundation.errors import (
        AccessDeniedError,
        AwsError,
        ConflictError,
        DownloadError,
        EmulatorError,
        EndpointError,
        ImageError,
        InvalidRequestError,
        JobFailedError,
        LedgerError,
        NotFoundError,
        NovaReelError,
        QuotaExceededError,
        ServiceUnavailableError,
        ServiceValidationError,
        ThrottledError,
        WaitTimeoutError,
    )
    from novareel.foundation.results import Failure, JobResult
    from novareel.foundation.s3uri import OutputLocation, output_location
    from novareel.foundation.waiting import WaitProgress
    from novareel.jobs import DownloadProgress, NovaReel, VideoGenerator
    from novareel.ledger import JobRecord, Ledger
    from novareel.media.images import load_starting_frame, prepare_starting_frame
    from novareel.media.video import inspect_video
    from novareel.models import all_models, estimate_cost_usd, get_model
    from novareel.models.base import GenerateOptions, Shot, StartingFrame, VideoRequest
    from novareel.models.luma_ray import RayVideo
    from novareel.models.nova_reel import (
        DEFAULT_MODEL,
        MultiShotAutomated,
        MultiShotManual,
        TaskType,
        TextVideo,
        build_request,
    )
    from novareel.requests.compose import RequestSpec, ShotSpec, compose_requests
    from novareel.requests.storyboard import load_storyboard
    from novareel.running.replay import retry_job, sync_jobs


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'novareel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
