"""The only package that talks to AWS: Bedrock async invoke and S3, through boto3.

Credentials, profiles, SSO, regions and endpoints (``AWS_ENDPOINT_URL`` included)
resolve exactly as boto3 resolves them; the explicit keys of the Python API are
passed to ``boto3.Session`` and never logged. Throttling and 5xx answers are retried
by botocore in adaptive mode. StartAsyncInvoke is retried safely because the caller
always supplies the ``clientRequestToken``: a retry of the same call carries the same
token, so the service returns the job it already started instead of a second one.

Three modules, and only the first two import boto3/botocore/s3transfer
(``tests/core/test_layers.py`` holds them to it): :mod:`.aws` (:class:`AwsClient`, old
name ``NovaReelClient``: the calls), :mod:`.boundary` (:func:`aws_boundary`: every
botocore and network exception translated into :mod:`novareel.foundation.errors`, so nothing
botocore-typed leaves the package) and :mod:`.records` (the plain values the client
hands out). Every name is re-exported here.
"""

from novareel.client.aws import DEFAULT_REGION, AwsClient, NovaReelClient, runtime_endpoint_for
from novareel.client.boundary import LOCAL_HINT_API, LOCAL_HINT_CLI, aws_boundary
from novareel.client.records import (
    InvocationStatus,
    S3Object,
    job_folder,
    start_async_invoke_params,
)

__all__ = [
    "DEFAULT_REGION",
    "LOCAL_HINT_API",
    "LOCAL_HINT_CLI",
    "AwsClient",
    "InvocationStatus",
    "NovaReelClient",
    "S3Object",
    "aws_boundary",
    "job_folder",
    "runtime_endpoint_for",
    "start_async_invoke_params",
]
