"""S3, served by moto's S3 backend (real multipart uploads, ranged GETs, listings).

moto keeps its backends in a process-global registry, so one Python process hosts one
emulator's S3 state: two ``EmulatorServer`` objects in the same process share buckets.
The emulator writes job outputs straight into moto's backend object (no HTTP round
trip) and serves client requests through moto's own WSGI app.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs

from novareel.emulator.config import ACCOUNT_ID


class S3Storage:
    """In-process access to moto's S3 backend for one account."""

    def __init__(self, account_id: str = ACCOUNT_ID) -> None:
        self.account_id = account_id
        self._app: Any = None
        self._lock = threading.Lock()

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

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self.backend.buckets

    def put_object(self, bucket: str, key: str, data: bytes) -> None:
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
