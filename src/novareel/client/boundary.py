"""Every botocore and network exception becomes a :mod:`novareel.foundation.errors` one here, in
:func:`aws_boundary`, with a hint for what to do: nothing botocore-typed leaves the
client. The one place where botocore types are caught, so the mapping stays
consistent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from novareel.foundation.errors import (
    AccessDeniedError,
    AwsError,
    ConflictError,
    EndpointError,
    InvalidRequestError,
    NotFoundError,
    Problem,
    QuotaExceededError,
    ServiceUnavailableError,
    ServiceValidationError,
    ThrottledError,
)

_ERROR_TYPES: dict[str, type[AwsError]] = {
    "AccessDeniedException": AccessDeniedError,
    "AccessDenied": AccessDeniedError,
    "UnrecognizedClientException": AccessDeniedError,
    "InvalidAccessKeyId": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "ExpiredTokenException": AccessDeniedError,
    "ValidationException": ServiceValidationError,
    "ResourceNotFoundException": NotFoundError,
    "NoSuchKey": NotFoundError,
    "NoSuchBucket": NotFoundError,
    "404": NotFoundError,
    "NotFound": NotFoundError,
    "ConflictException": ConflictError,
    "ServiceQuotaExceededException": QuotaExceededError,
    "ThrottlingException": ThrottledError,
    "TooManyRequestsException": ThrottledError,
    "SlowDown": ThrottledError,
    "InternalServerException": ServiceUnavailableError,
    "ServiceUnavailableException": ServiceUnavailableError,
    "InternalError": ServiceUnavailableError,
    "ServiceUnavailable": ServiceUnavailableError,
    "ModelNotReadyException": ServiceUnavailableError,
    "ModelTimeoutException": ServiceUnavailableError,
}

_ACCESS_HINT = (
    "Request access to Amazon Nova Reel in the Bedrock console (Model access, region "
    "us-east-1 for v1:1), and check that IAM allows bedrock:InvokeModel, "
    "bedrock:GetAsyncInvoke, bedrock:ListAsyncInvokes and s3:PutObject on the output "
    "bucket. Nova Reel v1:0/v1:1 are Legacy models: accounts that never used them may "
    "not be granted access."
)


#: How to reach the local emulator, in the caller's words: the Python API's by default;
#: the command line passes ``LOCAL_HINT_CLI`` to its clients (``local_hint``).
LOCAL_HINT_API = "use `with VideoGenerator.local() as reel:` to run against the local emulator"
LOCAL_HINT_CLI = "use --local to run against the local emulator"


def _hint_for(
    code: str, message: str, operation: str, local_hint: str = LOCAL_HINT_API
) -> str | None:
    text = message.lower()
    if code in ("AccessDeniedException", "AccessDenied"):
        return _ACCESS_HINT
    if code in ("UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return f"The credentials were refused; check AWS_PROFILE / your keys (or {local_hint})."
    if code == "ExpiredTokenException":
        return "The session token expired; refresh your credentials (e.g. `aws sso login`)."
    if "content filter" in text:
        return "Rephrase the prompt (or change the image) and submit again; nothing was charged."
    if "does not point to a bucket or a directory" in text:
        return "End the output URI with '/' (s3://bucket/folder/)."
    if code == "ServiceQuotaExceededException":
        return (
            "Too many Nova Reel jobs are running for this account. Wait for one to finish, "
            "or use `novareel batch`, which queues jobs within the quota."
        )
    if code == "ThrottlingException" and operation == "StartAsyncInvoke":
        # Bedrock answers a full concurrency quota with ThrottlingException as well as
        # too many submits per second: say both, and what queues within the quota.
        return (
            "The submit was throttled even after retries: too many submits per second, or "
            "the account's concurrent-job quota for this model and region is full. Wait for "
            "a job to finish and try again, or use `novareel batch`, which queues jobs "
            "within the quota."
        )
    if code in ("ThrottlingException", "TooManyRequestsException", "SlowDown"):
        return "Requests were throttled even after retries; try again in a minute."
    if code in ("ResourceNotFoundException", "NoSuchKey", "404", "NotFound"):
        return "Check the invocation ARN/id and the region it was submitted in."
    if code == "NoSuchBucket":
        return "Create the bucket first, or fix the output URI."
    if operation == "GetAsyncInvoke" and code == "ValidationException":
        return "Check the invocation ARN and the region it was submitted in."
    return None


@contextlib.contextmanager
def aws_boundary(operation: str, local_hint: str = LOCAL_HINT_API) -> Iterator[None]:
    """Translate botocore/network exceptions raised inside into novareel's own.

    The one place where botocore types are caught, so the mapping stays consistent
    and the original exception is kept as ``__cause__`` for debugging. ``local_hint``
    says how to reach the local emulator where a hint suggests it (missing or refused
    credentials): ``VideoGenerator.local()`` for Python callers, ``--local`` for the CLI.
    """
    from botocore import exceptions as bex

    try:
        yield
    except bex.ClientError as exc:
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or exc)
        status = meta.get("HTTPStatusCode")
        cls = _ERROR_TYPES.get(code)
        if cls is None:
            cls = ServiceUnavailableError if isinstance(status, int) and status >= 500 else AwsError
        raise cls(
            f"{operation} failed: {code}: {message}",
            code=code,
            operation=operation,
            status_code=status,
            request_id=meta.get("RequestId"),
            hint=_hint_for(code, message, operation, local_hint),
        ) from exc
    except (bex.EndpointConnectionError, bex.ConnectTimeoutError, bex.ReadTimeoutError) as exc:
        raise EndpointError(
            f"{operation} failed: could not reach the endpoint ({exc})",
            operation=operation,
            hint="Check the network, the region and --endpoint-url (or start the emulator).",
        ) from exc
    except (bex.ConnectionClosedError, bex.ResponseStreamingError) as exc:
        raise EndpointError(
            f"{operation} failed: the connection was closed ({exc})", operation=operation
        ) from exc
    except (bex.NoCredentialsError, bex.PartialCredentialsError) as exc:
        raise AwsError(
            f"{operation} failed: no AWS credentials found",
            code="NoCredentials",
            operation=operation,
            hint=f"Set AWS_PROFILE or run `aws configure` (or `aws sso login`); {local_hint}.",
        ) from exc
    except (bex.SSOError, bex.SSOTokenLoadError, bex.TokenRetrievalError) as exc:
        raise AwsError(
            f"{operation} failed: the SSO session is missing or expired",
            code="SSOTokenError",
            operation=operation,
            hint="Run `aws sso login` for this profile.",
        ) from exc
    except bex.ProfileNotFound as exc:
        raise InvalidRequestError(
            Problem("profile", f"{exc}", limit="a profile in ~/.aws/config or credentials")
        ) from exc
    except bex.ParamValidationError as exc:
        raise InvalidRequestError(Problem(operation, str(exc))) from exc
    except bex.BotoCoreError as exc:
        raise AwsError(f"{operation} failed: {exc}", operation=operation) from exc
