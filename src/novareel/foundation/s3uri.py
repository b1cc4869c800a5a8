"""Parse and check ``s3://`` URIs locally, before they reach the service. No I/O.

Nova Reel writes into ``<s3Uri>/<invocation-id>/``. The service refuses a URI that
names neither a bucket nor a folder (``s3://bucket/prefix`` without the trailing
slash fails with "The provided S3 URI does not point to a bucket or a directory"),
so :func:`output_location` adds the slash and says so, instead of letting the user
discover it after a round trip.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from novareel.foundation.errors import InvalidRequestError, Problem

#: The environment variable that gives commands a default output location.
OUTPUT_URI_ENV = "NOVAREEL_OUTPUT_URI"
#: The bucket the local emulator always has (``novareel.client.local`` makes sure of it), and
#: the folder local mode writes to when no output location is given. Defined here, not
#: in ``local``, so that choosing an output location never imports the emulator's side.
LOCAL_BUCKET = "novareel-local"
LOCAL_OUTPUT_URI = f"s3://{LOCAL_BUCKET}/videos/"


def resolve_output_uri(
    given: str | None, *, local: bool, environ: Mapping[str, str] | None = None
) -> str | None:
    """The output location a job goes to: the one ``given`` (``--output-uri``, a tool's
    ``output_uri``), else ``$NOVAREEL_OUTPUT_URI``, else in local mode the emulator's
    own folder; None when there is none (the caller says how to give one).

    The one place this order is decided, so the CLI, batch files, ``doctor`` and the
    MCP server cannot drift apart. The value is returned unchecked:
    :func:`output_location` parses it, with the caller's bucket owner and KMS key.
    """
    if given is not None:
        return given
    from_env = (os.environ if environ is None else environ).get(OUTPUT_URI_ENV)
    if from_env is not None:
        return from_env
    return LOCAL_OUTPUT_URI if local else None


_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_OWNER_RE = re.compile(r"^[0-9]{12}$")
_KMS_RE = re.compile(
    r"^arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:"
    r"((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+))$"
)
MAX_URI_LENGTH = 1024


@dataclass(frozen=True)
class S3Uri:
    """A bucket and a key (the key may be empty, or a folder ending in ``/``)."""

    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"

    @property
    def is_folder(self) -> bool:
        """True for a bucket root or a key ending in ``/``: what Nova Reel accepts."""
        return self.key == "" or self.key.endswith("/")

    def child(self, name: str) -> S3Uri:
        """The object ``name`` inside this folder."""
        prefix = self.key if (self.key == "" or self.key.endswith("/")) else self.key + "/"
        return S3Uri(self.bucket, prefix + name)

    def as_folder(self) -> S3Uri:
        """The same location with a trailing slash on a non-empty key."""
        if self.is_folder:
            return self
        return S3Uri(self.bucket, self.key + "/")


def bucket_problems(bucket: str, field: str) -> list[Problem]:
    """S3's general-purpose bucket naming rules; each message names the rule broken
    and restates the whole rule, so one reading is enough to pick a valid name."""
    limit = "3-63 characters: a-z 0-9 . -, starting and ending with a letter or digit"
    rule = (
        "bucket names are 3-63 characters of lowercase letters, digits, dots and "
        "hyphens, starting and ending with a letter or digit"
    )
    if not _BUCKET_RE.match(bucket):
        if bucket != bucket.lower():
            message = f"bucket {bucket!r} has upper-case letters; {rule}"
        elif not 3 <= len(bucket) <= 63:
            message = f"bucket {bucket!r} is {len(bucket)} characters; {rule}"
        else:
            bad = sorted({c for c in bucket if not (c.isascii() and (c.isalnum() or c in ".-"))})
            what = f" (it has {' '.join(repr(c) for c in bad)})" if bad else ""
            message = f"bucket {bucket!r} is not a valid bucket name{what}; {rule}"
        return [Problem(field, message, value=bucket, limit=limit)]
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        return [
            Problem(
                field,
                f"bucket {bucket!r} has adjacent '.'/'-' characters; a dot may not touch "
                "another dot or a hyphen",
                value=bucket,
                limit=limit,
            )
        ]
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        pass
    else:
        return [
            Problem(
                field,
                f"bucket {bucket!r} is formatted as an IP address, which S3 does not allow",
                value=bucket,
                limit="not an IP address",
            )
        ]
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if bucket.startswith(prefix):
            return [
                Problem(
                    field,
                    f"bucket {bucket!r}: bucket names may not start with {prefix!r}",
                    value=bucket,
                    limit="not starting with xn-- | sthree- | amzn-s3-demo-",
                )
            ]
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3"):
        if bucket.endswith(suffix):
            return [
                Problem(
                    field,
                    f"bucket {bucket!r}: bucket names may not end with {suffix!r}",
                    value=bucket,
                    limit="not ending with -s3alias | --ol-s3 | .mrap | --x-s3",
                )
            ]
    return []


def is_account_id(value: str) -> bool:
    """True for a 12-digit AWS account id (a bucket owner, for output or input images)."""
    return bool(_OWNER_RE.match(value))


def parse_s3_uri(uri: str, *, field: str = "output_uri") -> S3Uri:
    """Parse ``s3://bucket[/key]``; raise :class:`InvalidRequestError` naming ``field``."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise InvalidRequestError(
            Problem(field, f"{uri!r} is not an s3:// URI", value=uri, limit="s3://bucket/folder/")
        )
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidRequestError(
            Problem(
                field,
                f"URI is {len(uri)} characters; the limit is {MAX_URI_LENGTH}",
                value=uri,
                limit=f"<= {MAX_URI_LENGTH} characters",
            )
        )
    bucket, _, key = uri[len("s3://") :].partition("/")
    problems = bucket_problems(bucket, field)
    if problems:
        raise InvalidRequestError(problems)
    return S3Uri(bucket, key)


@dataclass(frozen=True)
class OutputLocation:
    """Where Nova Reel writes a job's folder, plus the pass-through S3 options."""

    uri: S3Uri
    bucket_owner: str | None = None
    kms_key_id: str | None = None

    def to_output_data_config(self) -> dict[str, Any]:
        """The ``outputDataConfig`` argument of StartAsyncInvoke."""
        config: dict[str, Any] = {"s3Uri": str(self.uri)}
        if self.kms_key_id:
            config["kmsKeyId"] = self.kms_key_id
        if self.bucket_owner:
            config["bucketOwner"] = self.bucket_owner
        return {"s3OutputDataConfig": config}


def output_location(
    uri: str,
    *,
    bucket_owner: str | None = None,
    kms_key_id: str | None = None,
    notices: list[str] | None = None,
) -> OutputLocation:
    """Check an output URI and its options; fix the trailing slash and say so.

    ``notices`` (when given) receives one line per silent-looking change, so the CLI
    can print it and the library caller can log or ignore it.
    """
    parsed = parse_s3_uri(uri, field="output_uri")
    problems: list[Problem] = []
    if bucket_owner is not None and not is_account_id(bucket_owner):
        problems.append(
            Problem(
                "bucket_owner",
                f"{bucket_owner!r} is not a 12-digit AWS account id",
                value=bucket_owner,
                limit="12 digits",
            )
        )
    if kms_key_id is not None and not (1 <= len(kms_key_id) <= 2048 and _KMS_RE.match(kms_key_id)):
        problems.append(
            Problem(
                "kms_key_id",
                f"{kms_key_id!r} is not a KMS key ARN or alias ARN",
                value=kms_key_id,
                limit="arn:aws:kms:<region>:<account>:key/<id> or .../alias/<name>",
            )
        )
    if problems:
        raise InvalidRequestError(problems)
    if not parsed.is_folder:
        fixed = parsed.as_folder()
        if len(str(fixed)) > MAX_URI_LENGTH:
            raise InvalidRequestError(
                Problem(
                    "output_uri",
                    f"URI is too long once '/' is added ({len(str(fixed))} characters; "
                    f"the limit is {MAX_URI_LENGTH})",
                    value=uri,
                    limit=f"<= {MAX_URI_LENGTH} characters",
                )
            )
        if notices is not None:
            notices.append(
                f"output URI {uri} does not end in '/'; using {fixed} "
                "(Nova Reel only writes into a bucket or a folder)"
            )
        parsed = fixed
    return OutputLocation(parsed, bucket_owner=bucket_owner, kms_key_id=kms_key_id)


__all__ = [
    "LOCAL_BUCKET",
    "LOCAL_OUTPUT_URI",
    "OUTPUT_URI_ENV",
    "OutputLocation",
    "S3Uri",
    "bucket_problems",
    "is_account_id",
    "output_location",
    "parse_s3_uri",
    "resolve_output_uri",
]
