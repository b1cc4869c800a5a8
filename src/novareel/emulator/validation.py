"""The emulator's own validation of StartAsyncInvoke and Nova Reel ``modelInput``.

Written from the contract (``nova-reel-contract.md`` sections 1-2) and deliberately
independent of ``novareel.spec``: if the client's validation has a bug, the emulator
should catch the bad request the way the real service would, not share the bug.

Choices where the real service is uncertain (also in ``docs/emulator.md``):

* MULTI_SHOT_MANUAL ``durationSeconds`` must be absent or equal ``6 x shots``.
* TEXT_VIDEO ``durationSeconds`` may be omitted (treated as 6); MULTI_SHOT_AUTOMATED
  requires it. ``fps``/``dimension``/``seed`` may be omitted (24, 1280x720, 42).
* Shots: 2-20 for MULTI_SHOT_MANUAL.
* Image size limit: 25,000,000 decoded bytes.
* Unknown or region-unavailable model: ValidationException naming ``modelId``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from novareel.emulator.errors import ApiError, validation

#: Models, the task types they accept and the regions that host them.
MODELS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "amazon.nova-reel-v1:0": (
        frozenset({"TEXT_VIDEO"}),
        frozenset({"us-east-1", "eu-west-1", "ap-northeast-1"}),
    ),
    "amazon.nova-reel-v1:1": (
        frozenset({"TEXT_VIDEO", "MULTI_SHOT_AUTOMATED", "MULTI_SHOT_MANUAL"}),
        frozenset({"us-east-1"}),
    ),
}
TASK_TYPES = ("TEXT_VIDEO", "MULTI_SHOT_AUTOMATED", "MULTI_SHOT_MANUAL")
SHOT_SECONDS = 6
MAX_IMAGE_BYTES = 25_000_000
MAX_SEED = 2_147_483_646
BLOCKED_INPUT_MESSAGE = (
    "This request has been blocked by our content filters. "
    "Please adjust your text prompt to submit a new request."
)
BAD_S3_DIR_MESSAGE = "The provided S3 URI does not point to a bucket or a directory"

_MODEL_ID_RE = re.compile(r"[a-zA-Z_.\-/0-9:]+")
_TOKEN_RE = re.compile(r"[!-~]+")
_S3_URI_RE = re.compile(r"s3://([a-z0-9][.\-a-z0-9]{1,61}[a-z0-9])(/.*)?", re.DOTALL)
_TAG_RE = re.compile(r"[a-zA-Z0-9\s._:/=+@-]*")
_KMS_RE = re.compile(
    r"arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+))"
)
_OWNER_RE = re.compile(r"[0-9]{12}")

ObjectFetcher = Callable[[str, str], "bytes | None"]
BucketChecker = Callable[[str], bool]


@dataclass(frozen=True)
class ShotSpec:
    """One 6-second shot to render: its prompt and optional starting frame bytes."""

    text: str
    image: bytes | None = None


@dataclass(frozen=True)
class ValidRequest:
    """A StartAsyncInvoke request that passed validation, ready for the backend."""

    model_id: str
    task_type: str
    shots: tuple[ShotSpec, ...]
    seed: int
    bucket: str
    prefix: str  # "" or "folder/" (always ends with "/")
    client_request_token: str | None
    tags: tuple[tuple[str, str], ...] = field(default=())
    kms_key_id: str | None = None
    bucket_owner: str | None = None

    @property
    def video_seconds(self) -> int:
        return SHOT_SECONDS * len(self.shots)

    @property
    def prompt(self) -> str:
        """All prompt text, for content-filter matching."""
        return "\n".join(s.text for s in self.shots)


def parse_s3_uri(uri: Any, field_name: str) -> tuple[str, str]:
    """Split an output/input ``s3://`` URI into (bucket, key-or-prefix)."""
    if not isinstance(uri, str) or not 1 <= len(uri) <= 1024:
        raise validation(f"{field_name} must be a string of 1-1024 characters")
    m = _S3_URI_RE.fullmatch(uri)
    if not m:
        raise validation(f"{field_name} {uri!r} does not match s3://bucket[/prefix]")
    return m.group(1), (m.group(2) or "/")[1:]


def validate_start_request(
    body: Any,
    *,
    region: str,
    bucket_exists: BucketChecker,
    fetch_object: ObjectFetcher,
    blocked_input_words: list[str],
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
    if model_id not in MODELS:
        raise validation(f"modelId {model_id!r}: the provided model identifier is invalid")
    tasks, regions = MODELS[model_id]
    if region not in regions:
        raise validation(f"modelId {model_id!r} is not available in region {region}")

    tags = _validate_tags(body.get("tags"))
    bucket, prefix, kms_key_id, bucket_owner = _validate_output(
        body.get("outputDataConfig"), bucket_exists
    )

    model_input = body.get("modelInput")
    if not isinstance(model_input, dict):
        raise validation("modelInput is required and must be a JSON object")
    task_type = model_input.get("taskType")
    if task_type not in TASK_TYPES:
        raise validation(f"modelInput.taskType must be one of {', '.join(TASK_TYPES)}")
    if task_type not in tasks:
        raise validation(f"modelInput.taskType {task_type} is not supported by {model_id}")

    loader = _ImageLoader(fetch_object)
    seed, duration = _validate_generation_config(model_input.get("videoGenerationConfig"))
    shots: list[ShotSpec]
    if task_type == "TEXT_VIDEO":
        shots = [_text_video(model_input, loader)]
        if duration is not None and duration != SHOT_SECONDS:
            raise validation("videoGenerationConfig.durationSeconds must be 6 for TEXT_VIDEO")
    elif task_type == "MULTI_SHOT_AUTOMATED":
        text = _automated_text(model_input)
        if duration is None:
            raise validation(
                "videoGenerationConfig.durationSeconds is required for MULTI_SHOT_AUTOMATED"
            )
        if not (12 <= duration <= 120 and duration % SHOT_SECONDS == 0):
            raise validation(
                "videoGenerationConfig.durationSeconds must be a multiple of 6 "
                "between 12 and 120 for MULTI_SHOT_AUTOMATED"
            )
        shots = [ShotSpec(t) for t in split_automated_prompt(text, duration // SHOT_SECONDS)]
    else:
        shots = _manual_shots(model_input, loader)
        if duration is not None and duration != SHOT_SECONDS * len(shots):
            raise validation(
                "videoGenerationConfig.durationSeconds must be omitted or equal "
                f"6 x shots ({SHOT_SECONDS * len(shots)}) for MULTI_SHOT_MANUAL"
            )

    lowered = "\n".join(s.text for s in shots).lower()
    if any(w and w.lower() in lowered for w in blocked_input_words):
        raise validation(BLOCKED_INPUT_MESSAGE)

    return ValidRequest(
        model_id=model_id,
        task_type=task_type,
        shots=tuple(shots),
        seed=seed,
        bucket=bucket,
        prefix=prefix,
        kms_key_id=kms_key_id,
        bucket_owner=bucket_owner,
        client_request_token=token,
        tags=tags,
    )


def split_automated_prompt(text: str, n_shots: int) -> list[str]:
    """Cut one MULTI_SHOT_AUTOMATED prompt into ``n_shots`` shot prompts.

    The real model decides its own cuts; the emulator splits by sentences and cycles
    through them so every shot gets a (usually) different prompt.
    """
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]
    if not sentences:
        sentences = [text.strip() or text]
    return [sentences[i % len(sentences)] for i in range(n_shots)]


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
    if owner is not None and (not isinstance(owner, str) or not _OWNER_RE.fullmatch(owner)):
        raise validation("outputDataConfig.s3OutputDataConfig.bucketOwner must be 12 digits")
    if prefix and not prefix.endswith("/"):
        raise validation(BAD_S3_DIR_MESSAGE)
    if not bucket_exists(bucket):
        raise validation(f"{field_name}: the S3 bucket {bucket!r} does not exist")
    return bucket, prefix, kms, owner


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_generation_config(config: Any) -> tuple[int, int | None]:
    """Return (seed, durationSeconds or None)."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise validation("modelInput.videoGenerationConfig must be an object")
    prefix = "videoGenerationConfig"
    fps = config.get("fps", 24)
    if not _is_int(fps) or fps != 24:
        raise validation(f"{prefix}.fps must be 24")
    if config.get("dimension", "1280x720") != "1280x720":
        raise validation(f"{prefix}.dimension must be 1280x720")
    seed = config.get("seed", 42)
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise validation(f"{prefix}.seed must be an integer between 0 and {MAX_SEED}")
    duration = config.get("durationSeconds")
    if duration is not None and not _is_int(duration):
        raise validation(f"{prefix}.durationSeconds must be an integer")
    return seed, duration


def _check_text(value: Any, field_name: str, max_len: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise validation(f"{field_name} must be a string of 1-{max_len} characters")
    return value


def _text_video(model_input: dict[str, Any], loader: _ImageLoader) -> ShotSpec:
    params = model_input.get("textToVideoParams")
    if not isinstance(params, dict):
        raise validation("modelInput.textToVideoParams is required for TEXT_VIDEO")
    text = _check_text(params.get("text"), "textToVideoParams.text", 512)
    images = params.get("images")
    image = None
    if images is not None:
        if not isinstance(images, list) or len(images) > 1:
            raise validation("textToVideoParams.images accepts at most 1 image")
        if images:
            image = loader.load(images[0], "textToVideoParams.images[0]")
    return ShotSpec(text, image)


def _automated_text(model_input: dict[str, Any]) -> str:
    params = model_input.get("multiShotAutomatedParams")
    if not isinstance(params, dict):
        raise validation("modelInput.multiShotAutomatedParams is required for MULTI_SHOT_AUTOMATED")
    if "images" in params or "image" in params:
        raise validation("multiShotAutomatedParams does not accept images")
    return _check_text(params.get("text"), "multiShotAutomatedParams.text", 4000)


def _manual_shots(model_input: dict[str, Any], loader: _ImageLoader) -> list[ShotSpec]:
    params = model_input.get("multiShotManualParams")
    if not isinstance(params, dict):
        raise validation("modelInput.multiShotManualParams is required for MULTI_SHOT_MANUAL")
    shots = params.get("shots")
    if not isinstance(shots, list) or not 2 <= len(shots) <= 20:
        raise validation("multiShotManualParams.shots must hold 2-20 shots")
    out = []
    for i, shot in enumerate(shots):
        name = f"multiShotManualParams.shots[{i}]"
        if not isinstance(shot, dict):
            raise validation(f"{name} must be an object")
        text = _check_text(shot.get("text"), f"{name}.text", 512)
        image = shot.get("image")
        out.append(ShotSpec(text, loader.load(image, f"{name}.image") if image else None))
    return out


class _ImageLoader:
    """Decode and check starting frames (bytes or s3Location sources)."""

    def __init__(self, fetch_object: ObjectFetcher) -> None:
        self._fetch = fetch_object

    def load(self, image: Any, name: str) -> bytes:
        if not isinstance(image, dict):
            raise validation(f"{name} must be an object with format and source")
        fmt = image.get("format")
        if fmt not in ("png", "jpeg"):
            raise validation(f"{name}.format must be 'png' or 'jpeg'")
        source = image.get("source")
        if not isinstance(source, dict):
            raise validation(f"{name}.source is required")
        if "bytes" in source:
            data = self._decode_base64(source["bytes"], f"{name}.source.bytes")
        elif "s3Location" in source:
            data = self._from_s3(source["s3Location"], f"{name}.source.s3Location")
        else:
            raise validation(f"{name}.source needs bytes or s3Location")
        check_image(data, fmt, name)
        return data

    @staticmethod
    def _decode_base64(value: Any, name: str) -> bytes:
        if not isinstance(value, str) or not value:
            raise validation(f"{name} must be a base64 string")
        if len(value) > (MAX_IMAGE_BYTES * 4) // 3 + 4:
            raise validation(f"{name}: the image is larger than 25 MB")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise validation(f"{name} is not valid base64") from exc

    def _from_s3(self, location: Any, name: str) -> bytes:
        if not isinstance(location, dict):
            raise validation(f"{name} must be an object with uri")
        owner = location.get("bucketOwner")
        if owner is not None and (not isinstance(owner, str) or not _OWNER_RE.fullmatch(owner)):
            raise validation(f"{name}.bucketOwner must be 12 digits")
        bucket, key = parse_s3_uri(location.get("uri"), f"{name}.uri")
        data = self._fetch(bucket, key) if key else None
        if data is None:
            raise validation(f"{name}.uri: no S3 object at s3://{bucket}/{key}")
        return data


def check_image(data: bytes, fmt: str, name: str) -> None:
    """PNG/JPEG sniffed from bytes, matching ``fmt``, 1280x720, 8-bit RGB, opaque."""
    if len(data) > MAX_IMAGE_BYTES:
        raise validation(f"{name}: the image is larger than 25 MB")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        actual = "png"
    elif data.startswith(b"\xff\xd8\xff"):
        actual = "jpeg"
    else:
        raise validation(f"{name}: the image is neither PNG nor JPEG")
    if actual != fmt:
        raise validation(f"{name}.format is {fmt!r} but the image is {actual}")
    if actual == "png":
        # IHDR: width(4) height(4) bit depth(1) colour type(1) right after the header.
        if len(data) < 33 or data[12:16] != b"IHDR":
            raise validation(f"{name}: the PNG has no IHDR chunk")
        depth, colour = data[24], data[25]
        if depth != 8 or colour not in (2, 6):
            raise validation(f"{name}: the PNG must be 8-bit RGB or RGBA")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            size, mode = im.size, im.mode
            alpha = im.getchannel("A").getextrema() if mode == "RGBA" else None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise validation(f"{name}: the image cannot be decoded") from exc
    if size != (1280, 720):
        raise validation(f"{name}: the image must be 1280x720, got {size[0]}x{size[1]}")
    if mode not in ("RGB", "RGBA") or (actual == "jpeg" and mode != "RGB"):
        raise validation(f"{name}: the image must be 8-bit RGB, got mode {mode}")
    if alpha is not None and alpha != (255, 255):
        raise validation(f"{name}: transparent or translucent pixels are not allowed")


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
