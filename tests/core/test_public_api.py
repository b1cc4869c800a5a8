"""The public API is exactly what ``novareel.__all__`` lists, and all of it imports."""

from __future__ import annotations

import subprocess
import sys

import novareel

EXPECTED = {
    "AccessDeniedError", "AwsError", "ConflictError", "DEFAULT_MODEL", "DownloadError",
    "DownloadProgress", "EmulatorError", "EndpointError", "Failure", "ImageError",
    "InvalidRequestError", "JobFailedError", "JobRecord", "JobResult", "Ledger",
    "LedgerError", "MultiShotAutomated", "MultiShotManual", "NotFoundError", "NovaReel",
    "NovaReelClient", "NovaReelError", "OutputLocation", "QuotaExceededError",
    "ServiceUnavailableError", "ServiceValidationError", "Shot", "StartingFrame",
    "TaskType", "TextVideo", "ThrottledError", "VideoRequest", "WaitProgress",
    "WaitTimeoutError", "__version__", "build_request", "estimate_cost_usd",
    "load_starting_frame", "output_location", "BatchRunner", "BatchSummary", "load_batch",
    "run_batch", "retry_job", "sync_jobs", "prepare_starting_frame", "load_storyboard",
    "inspect_video", "RayVideo", "GenerateOptions", "get_model", "all_models",
    "BudgetExceededError", "RequestSpec", "ShotSpec", "compose_requests",
    "VideoGenerator", "AwsClient",
}  # fmt: skip


def test_all_is_pinned() -> None:
    assert set(novareel.__all__) == EXPECTED


def test_every_export_resolves() -> None:
    for name in novareel.__all__:
        assert getattr(novareel, name) is not None


def test_import_is_light() -> None:
    """``import novareel`` must not drag in boto3, Pillow, PyAV or moto."""
    code = (
        "import sys, novareel; "
        "heavy = [m for m in ('boto3', 'botocore', 'PIL', 'av', 'moto', 'numpy') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_table_matches_all() -> None:
    assert set(novareel._EXPORTS) | {"__version__"} == set(novareel.__all__)


def test_the_old_names_are_aliases_of_the_new() -> None:
    """``NovaReel`` and ``NovaReelClient`` (the names from when they drove Nova Reel only)
    still import, from the package root and from where they lived, as the very same
    classes: code written for them keeps working, ``isinstance`` included."""
    from novareel import AwsClient, NovaReel, NovaReelClient, VideoGenerator
    from novareel.client import AwsClient as client_aws_client
    from novareel.client import NovaReelClient as client_old
    from novareel.client.local import LocalClient
    from novareel.jobs import NovaReel as jobs_old
    from novareel.jobs import VideoGenerator as jobs_new

    assert NovaReel is VideoGenerator is jobs_old is jobs_new
    assert NovaReelClient is AwsClient is client_old is client_aws_client
    assert VideoGenerator.__name__ == "VideoGenerator"
    assert AwsClient.__name__ == "AwsClient"
    assert issubclass(LocalClient, NovaReelClient)
