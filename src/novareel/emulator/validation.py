"""The emulator's own validation of StartAsyncInvoke: the envelope, then the model's input.

The envelope (``clientRequestToken``, ``modelId``, region, model state, ``tags``,
``outputDataConfig``) is checked here; ``modelInput`` is handed to the model's family
module (``models/nova_reel.py``, ``models/luma_ray.py``). Written from the contract and
deliberately independent of ``novareel``'s client code: if the client's validation
has a bug, the emulator should catch the bad request the way the real service would,
not share the bug.

Choices where the real service is uncertain (also in ``docs/emulator.md``):

* Unknown or region-unavailable model: ValidationException naming ``modelId``.
* The model's lifecycle/access state is checked right after the region, before the
  rest of the request (see ``catalog.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from novareel.emulator.catalog import ACTIVE, check_invoke
from novareel.emulator.errors import ApiError, validation
from novareel.emulator.models import MODELS, InputContext, JobPlan, family_of
from novareel.emulator.models.base import (
    BLOCKED_INPUT_MESSAGE,
    OWNER_RE,
    ObjectFetcher,
    check_blocked_input,
    parse_s3_uri,
)
from novareel.emulator.models.nova_reel import ShotSpec, check_image, split_automated_prompt

BAD_S3_DIR_MESSAGE = "The provided S3 URI does not point to a bucket or a directory"

_MODEL_ID_RE = re.compile(r"[a-zA-Z_.\-/0-9:]+")
_TOKEN_RE = re.compile(r"[!-~]+")
_TAG_RE = re.compile(r"[a-zA-Z0-9\s._:/=+@-]*")
_KMS_RE = re.compile(
    r"arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+))"
)

BucketChecker = Callable[[str], bool]


@dataclass(frozen=True)
class ValidRequest:
    """A StartAsyncInvoke request that passed validation, ready for the backend."""

    model_id: str
    plan: JobPlan
    bucket: str
    prefix: str  # "" or "folder/" (always ends with "/")
    client_request_token: str | None
    tags: tuple[tuple[str, str], ...] = field(default=())
    kms_key_id: str | None = None
    bucket_owner: str | None = None
    #: The ``modelInput`` as received (kept on the job for the control endpoint).
    model_input: dict[str, Any] = field(default_factory=dict)

    @property
    def task_type(self) -> str:
        return self.plan.task_type

    @property
    def video_seconds(self) -> int:
        return self.plan.video_seconds

    @property
    def prompt(self) -> str:
        """All prompt text, for content-filter matching."""
        return self.plan.prompt


def validate_start_request(
    body: Any,
    *,
    region: str,
    bucket_exists: BucketChecker,
    fetch_object: ObjectFetcher,
    blocked_input_words: list[str],
    model_states: Mapping[str, str] | None = None,
) -> ValidRequest:
    """Validate a decoded StartAsyncInvoke JSON body; raise :class:`ApiError` if bad."""
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object")

    token = body.get("clientRequestToken")
    if token is not None and (
        not isinstance(token, str) or len(token) > 256 or not _TOKEN_RE.fullmatch(token)
    ):
        raise validation("clientRequestToken must be 1-256 printable ASCII characters")

    model_id = body.get("modelId")
    if not isinstance(model_id, str) or not 1 <= len(model_id) <= 256:
        raise validation("modelId is required and must be 1-256 characters")
    if not _MODEL_ID_RE.fullmatch(model_id):
        raise validation(f"modelId {model_id!r} does not match [a-zA-Z_.\\-/0-9:]+")
    info = MODELS.get(model_id)
    if info is None:
        raise validation(f"modelId {model_id!r}: the provided model identifier is invalid")
    if region not in info.regions:
        raise validation(f"modelId {model_id!r} is not available in region {region}")
    check_invoke(model_id, (model_states or {}).get(model_id, ACTIVE))

    tags = _validate_tags(body.get("tags"))
    bucket, prefix, kms_key_id, bucket_owner = _validate_output(
        body.get("outputDataConfig"), bucket_exists
    )

    model_input = body.get("modelInput")
    if not isinstance(model_input, dict):
        raise validation("modelInput is required and must be a JSON object")
    plan = family_of(model_id).validate_input(model_input, InputContext(model_id, fetch_object))
    check_blocked_input(plan.texts, blocked_input_words)

    return ValidRequest(
        model_id=model_id,
        plan=plan,
        bucket=bucket,
        prefix=prefix,
        kms_key_id=kms_key_id,
        bucket_owner=bucket_owner,
        client_request_token=token,
        tags=tags,
        model_input=model_input,
    )


def _validate_tags(tags: Any) -> tuple[tuple[str, str], ...]:
    if tags is None:
        return ()
    if not isinstance(tags, list) or len(tags) > 200:
        raise validation("tags must be a list of at most 200 tags")
    out = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, dict):
            raise validation(f"tags[{i}] must be an object with key and value")
        key, value = tag.get("key"), tag.get("value")
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not _TAG_RE.fullmatch(key):
            raise validation(f"tags[{i}].key must be 1-128 characters of [a-zA-Z0-9 ._:/=+@-]")
        if not isinstance(value, str) or len(value) > 256 or not _TAG_RE.fullmatch(value):
            raise validation(f"tags[{i}].value must be 0-256 characters of [a-zA-Z0-9 ._:/=+@-]")
        out.append((key, value))
    return tuple(out)


def _validate_output(
    config: Any, bucket_exists: BucketChecker
) -> tuple[str, str, str | None, str | None]:
    s3 = config.get("s3OutputDataConfig") if isinstance(config, dict) else None
    if not isinstance(s3, dict):
        raise validation("outputDataConfig.s3OutputDataConfig is required")
    field_name = "outputDataConfig.s3OutputDataConfig.s3Uri"
    bucket, prefix = parse_s3_uri(s3.get("s3Uri"), field_name)
    kms = s3.get("kmsKeyId")
    if kms is not None and (
        not isinstance(kms, str) or len(kms) > 2048 or not _KMS_RE.fullmatch(kms)
    ):
        raise validation("outputDataConfig.s3OutputDataConfig.kmsKeyId is not a KMS key ARN")
    owner = s3.get("bucketOwner")
    if owner is not None and (not isinstance(owner, str) or not OWNER_RE.fullmatch(owner)):
        raise validation("outputDataConfig.s3OutputDataConfig.bucketOwner must be 12 digits")
    if prefix and not prefix.endswith("/"):
        raise validation(BAD_S3_DIR_MESSAGE)
    if not bucket_exists(bucket):
        raise validation(f"{field_name}: the S3 bucket {bucket!r} does not exist")
    return bucket, prefix, kms, owner


__all__ = [
    "BAD_S3_DIR_MESSAGE",
    "BLOCKED_INPUT_MESSAGE",
    "MODELS",
    "ApiError",
    "ShotSpec",
    "ValidRequest",
    "check_image",
    "parse_s3_uri",
    "split_automated_prompt",
    "validate_start_request",
]
