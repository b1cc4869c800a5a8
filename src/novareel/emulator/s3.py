"""S3, served by moto's S3 backend (real multipart uploads, ranged GETs, listings).

moto keeps its backends in a process-global registry, so one Python process hosts one
emulator's S3 state: two ``EmulatorServer`` objects in the same process share buckets.
The emulator writes job outputs straight into moto's backend object (no HTTP round
trip, so ``read_only_buckets`` never blocks them) and serves client requests through
moto's own WSGI app. Errors the emulator itself answers on S3 (injected faults, a
read-only bucket) are S3's XML error documents with S3's own codes and texts.

Objects above ``EmulatorConfig.s3_key_buffer_size`` live on disk: moto backs every key
with a ``SpooledTemporaryFile`` whose size limit is moto's own setting
``MOTO_S3_DEFAULT_KEY_BUFFER_SIZE`` (read each time a key is created), which
:meth:`S3Storage.configure` sets. A spilled object is an unnamed file in the temporary
directory (``TMPDIR``) and holds one open file descriptor for as long as it exists, so
the emulator also raises its soft open-files limit to the hard one, and when fewer than
:data:`FD_RESERVE` descriptors are left it keeps new job outputs in RAM (moto's setting
raised for the time being) rather than fail jobs and refuse connections.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from novareel.emulator.config import ACCOUNT_ID
from novareel.emulator.errors import ApiError
from novareel.emulator.wsgi import Response

log = logging.getLogger("novareel.emulator")

#: moto's setting: bytes a key keeps in memory before its buffer rolls over to a file.
KEY_BUFFER_ENV = "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"
#: Descriptors kept free for sockets and renders: below this, new objects stay in RAM.
FD_RESERVE = 256
#: The emulator counts its open descriptors once per this many large writes.
FD_CHECK_EVERY = 32
#: The buffer size that keeps any object in memory (moto's ~5 MB default would not).
_IN_RAM = 1 << 62

#: Operations a read-only bucket refuses (AccessDenied), with the IAM action named.
WRITE_OPERATIONS: dict[str, str] = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject",
}
_BUCKET_OPERATIONS = ("HeadBucket", "CreateBucket", "DeleteBucket", "ListObjects", "ListObjectsV2")

#: Bedrock-style codes of injected faults -> (S3 code, HTTP status, S3's stock message).
_S3_ERRORS: dict[str, tuple[str, int, str]] = {
    "ThrottlingException": ("SlowDown", 503, "Please reduce your request rate."),
    "ServiceUnavailableException": (
        "ServiceUnavailable",
        503,
        "Service is unable to handle request.",
    ),
    "InternalServerException": (
        "InternalError",
        500,
        "We encountered an internal error. Please try again.",
    ),
    "AccessDeniedException": ("AccessDenied", 403, "Access Denied"),
    "ResourceNotFoundException": ("NoSuchKey", 404, "The specified key does not exist."),
    "ValidationException": ("InvalidArgument", 400, "Invalid Argument"),
    "ConflictException": (
        "OperationAborted",
        409,
        "A conflicting conditional operation is currently in progress against this "
        "resource. Please try again.",
    ),
    "ServiceQuotaExceededException": ("SlowDown", 503, "Please reduce your request rate."),
}


class S3Storage:
    """In-process access to moto's S3 backend for one account."""

    def __init__(self, account_id: str = ACCOUNT_ID) -> None:
        self.account_id = account_id
        self._app: Any = None
        self._lock = threading.Lock()
        self._buffer_size: int | None = None
        self._large_writes = 0
        #: True while objects are kept in RAM because descriptors are running out.
        self.in_ram = False

    @property
    def backend(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    def wsgi_app(self) -> Any:
        """moto's S3 Flask app (built once, on first use: importing moto is slow)."""
        with self._lock:
            if self._app is None:
                from moto.moto_server.werkzeug_app import create_backend_app

                self._app = create_backend_app("s3")
            return self._app

    def configure(self, key_buffer_size: int) -> None:
        """Make moto keep objects above ``key_buffer_size`` bytes on disk (process-wide).

        Applies to keys created from now on; existing objects keep their buffer.
        """
        with self._lock:
            self._buffer_size = key_buffer_size
            self._large_writes = FD_CHECK_EVERY  # check on the first large write
            self.in_ram = False
            os.environ[KEY_BUFFER_ENV] = str(key_buffer_size)
        raise_open_files_limit()

    def _watch_descriptors(self) -> None:
        """Every :data:`FD_CHECK_EVERY` large writes, switch spilling off/on by headroom."""
        with self._lock:
            if self._buffer_size is None:
                return
            self._large_writes += 1
            if self._large_writes < FD_CHECK_EVERY:
                return
            self._large_writes = 0
            free = descriptors_free()
            if free is None:
                return
            in_ram = free < FD_RESERVE
            if in_ram == self.in_ram:
                return
            self.in_ram = in_ram
            os.environ[KEY_BUFFER_ENV] = str(_IN_RAM if in_ram else self._buffer_size)
        if in_ram:
            log.warning(
                "only %d file descriptors left (ulimit -n): new S3 objects stay in RAM "
                "until some are deleted",
                free,
            )
        else:
            log.info("file descriptors available again: S3 objects spill to disk")

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self.backend.buckets

    def bucket_names(self) -> list[str]:
        """Every bucket's name, sorted."""
        return sorted(self.backend.buckets)

    def put_object(self, bucket: str, key: str, data: bytes) -> None:
        if self._buffer_size is not None and len(data) > self._buffer_size:
            self._watch_descriptors()
        self.backend.put_object(bucket, key, data)

    def get_object(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or ``None`` if bucket or key does not exist."""
        if not self.bucket_exists(bucket):
            return None
        try:
            obj = self.backend.get_object(bucket, key)
        except Exception:  # moto raises its own "missing key" types in some versions
            return None
        if obj is None:
            return None
        value: bytes = obj.value
        return value

    def reset(self) -> None:
        """Drop every bucket and object of this account."""
        from moto.s3.models import s3_backends

        if self.account_id in s3_backends and "aws" in s3_backends[self.account_id]:
            self.backend.reset()


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the (soft, hard) now in force.

    Each object on disk holds a descriptor, so the soft limit (often 1,024) would cap
    the jobs an emulator can hold long before memory does. The hard limit is the
    ceiling (only a privileged process could raise it).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return (-1, -1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:  # pragma: no cover - platform specific
            log.warning("could not raise the open-files limit to %s: %s", hard, exc)
    return soft, hard


def descriptors_free() -> int | None:
    """Open-files soft limit minus descriptors in use (``None`` where unknown)."""
    try:
        import resource

        in_use = len(os.listdir("/proc/self/fd"))
    except (ImportError, OSError):  # pragma: no cover - not Linux
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft - in_use


def s3_operation(method: str, path: str, query: str) -> str:
    """Name the S3 operation of a path-style request (for stats and fault injection)."""
    parts = path.lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    q = parse_qs(query, keep_blank_values=True)
    if not bucket:
        return "ListBuckets"
    if not key:
        if method == "GET":
            if "list-type" in q:
                return "ListObjectsV2"
            if "uploads" in q:
                return "ListMultipartUploads"
            if "location" in q:
                return "GetBucketLocation"
            return "ListObjects"
        if method == "HEAD":
            return "HeadBucket"
        if method == "PUT":
            return "CreateBucket"
        if method == "DELETE":
            return "DeleteBucket"
        if method == "POST" and "delete" in q:
            return "DeleteObjects"
        return f"S3:{method}Bucket"
    if method == "GET":
        return "ListParts" if "uploadId" in q else "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "PUT":
        if "partNumber" in q:
            return "UploadPart"
        return "PutObject"
    if method == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload"
        if "uploadId" in q:
            return "CompleteMultipartUpload"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    return f"S3:{method}Object"


def s3_bucket_and_key(path: str) -> tuple[str, str]:
    """(bucket, key) of a path-style request (both percent-decoded; "" when absent)."""
    parts = path.lstrip("/").split("/", 1)
    return unquote(parts[0]), unquote(parts[1]) if len(parts) > 1 else ""


def s3_error(code: str, message: str, status: int, resource: str = "") -> Response:
    """S3's XML error document."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        + (f"<Resource>{escape(resource)}</Resource>" if resource else "")
        + f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId>"
        "<HostId>novareel-emulator</HostId></Error>"
    ).encode()
    return Response(status, body, [("Content-Type", "application/xml")])


def fault_error(error: ApiError, operation: str) -> Response:
    """An injected fault as S3 says it: S3's code, status and (unless given) message."""
    code, status, stock = _S3_ERRORS.get(error.code, (error.code, error.status, error.message))
    if code == "NoSuchKey" and operation in _BUCKET_OPERATIONS:
        code, stock = "NoSuchBucket", "The specified bucket does not exist"
    return s3_error(code, stock if error.default_message else error.message, status)


def read_only_error(operation: str, bucket: str, key: str, user_arn: str) -> Response:
    """AccessDenied for a write into a read-only bucket (as a bucket-policy deny says it)."""
    resource = f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
    message = (
        f"User: {user_arn} is not authorized to perform: {WRITE_OPERATIONS[operation]} "
        f'on resource: "{resource}" with an explicit deny in a resource-based policy'
    )
    return s3_error("AccessDenied", message, 403)
