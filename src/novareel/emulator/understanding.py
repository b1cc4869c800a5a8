"""InvokeModel for Amazon Nova 2 Lite: the request checked as documented, a synthetic answer.

Written from AWS's documentation, not from novareel's client (see ``docs/qa.md`` for
the sources):

* Model ids: Nova 2 Lite is served through its cross-Region inference profiles
  ``us.amazon.nova-2-lite-v1:0`` and ``global.amazon.nova-2-lite-v1:0``; the bare
  ``amazon.nova-2-lite-v1:0`` is refused with AWS's on-demand-throughput message (the
  model card lists no in-Region id).
* Body (the Invoke API's native ``messages-v1`` schema): ``schemaVersion`` (optional,
  ``"messages-v1"``), ``system`` (list of ``{"text"}``), ``messages`` (roles alternate,
  the first and the last are ``user``), ``inferenceConfig`` (``maxTokens`` 1..65535,
  ``temperature`` and ``topP`` in [0, 1], ``topK`` >= 1, ``stopSequences``); any other
  top-level key is refused.
* Video: at most one per request, ``format`` one of mkv, mov, mp4, webm, three_gp, flv,
  mpeg, mpg, wmv; ``source`` exactly one of ``bytes`` (base64, at most 25 MB) or
  ``s3Location`` (``uri``, optional ``bucketOwner``; the object must exist and be at
  most 1 GB).
* Usage: text tokens are counted as one per 4 characters (rounded up), video tokens as
  :data:`TOKENS_PER_FRAME` per sampled frame, frames sampled at 1 per second up to
  960 (AWS documents the sampling for Nova video understanding; the per-frame figure
  is the emulator's assumption, documented as such).

The answer is SYNTHETIC: no model looks at the video. For a video the emulator itself
rendered, it is built from what the emulator knows of that job (its prompt, its shots,
the defects it injected: the job's ``injected_defects``), so offline tests check the
plumbing, the money and the parsing, never the judgement. Asked for JSON (the request's
text mentions JSON), it answers one JSON object in a fenced code block, as models often
do; otherwise one line of prose.
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from novareel.emulator.errors import ApiError, validation
from novareel.emulator.models.base import decode_base64
from novareel.emulator.state import Job

BASE_MODEL_ID = "amazon.nova-2-lite-v1:0"
#: The inference profiles InvokeModel accepts for Nova 2 Lite.
PROFILE_IDS = ("us." + BASE_MODEL_ID, "global." + BASE_MODEL_ID)
VIDEO_FORMATS = ("mkv", "mov", "mp4", "webm", "three_gp", "flv", "mpeg", "mpg", "wmv")
MAX_INLINE_BYTES = 25 * 1000 * 1000
MAX_S3_BYTES = 1000 * 1000 * 1000
MAX_OUTPUT_TOKENS = 65535
#: Frames sampled per second of video, and the most frames sampled.
SAMPLE_FPS = 1
MAX_FRAMES = 960
#: The emulator's assumption of the input tokens one sampled frame costs.
TOKENS_PER_FRAME = 288
_TOP_KEYS = ("schemaVersion", "system", "messages", "inferenceConfig", "toolConfig")
_CONFIG_KEYS = ("maxTokens", "temperature", "topP", "topK", "stopSequences", "reasoningConfig")
ON_DEMAND_MESSAGE = (
    "Invocation of model ID {model} with on-demand throughput isn't supported. Retry your "
    "request with the ID or ARN of an inference profile that contains this model."
)


def malformed(detail: str) -> ApiError:
    """AWS's wording for a body that does not match the model's schema."""
    return validation(
        f"Malformed input request: {detail}, please reformat your input and try again."
    )


def is_understanding_model(model_id: str) -> bool:
    """True for every id of Nova 2 Lite, accepted or not (the base id is refused later)."""
    return model_id == BASE_MODEL_ID or model_id in PROFILE_IDS


@dataclass(frozen=True)
class VideoInput:
    """The one video of a request: its bytes' size, where it came from, its length."""

    size: int
    seconds: float
    s3_uri: str | None
    job: Job | None
    key_in_job: str | None


@dataclass(frozen=True)
class Invocation:
    """A checked request: its texts, its video, its output cap."""

    system: str
    user_text: str
    video: VideoInput | None
    max_tokens: int


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def video_tokens(seconds: float) -> int:
    frames = min(MAX_FRAMES, max(1, math.ceil(seconds * SAMPLE_FPS)))
    return frames * TOKENS_PER_FRAME


def _duration_of(data: bytes) -> float | None:
    """The container's duration in seconds, or None if PyAV cannot read it."""
    try:
        import av

        with av.open(io.BytesIO(data), mode="r") as container:
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
    except Exception:
        return None
    return None


class Understanding:
    """Nova 2 Lite's InvokeModel on one emulator: checks, answers and records."""

    def __init__(
        self,
        fetch_object: Callable[[str, str], bytes | None],
        bucket_exists: Callable[[str], bool],
        jobs: Callable[[], list[Job]],
    ) -> None:
        self._fetch = fetch_object
        self._bucket_exists = bucket_exists
        self._jobs = jobs
        self._lock = threading.Lock()
        #: Every request received (valid or not), bytes replaced by their length.
        self.received: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self._lock:
            self.received.clear()

    def invoke(self, model_id: str, raw: bytes, region: str) -> dict[str, Any]:
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError) as exc:
            self._record(model_id, region, None, "ValidationException")
            raise malformed("the body is not valid JSON") from exc
        try:
            if model_id == BASE_MODEL_ID:
                raise validation(ON_DEMAND_MESSAGE.format(model=model_id))
            invocation = self.check(body, len(raw))
        except ApiError as exc:
            self._record(model_id, region, body, exc.code)
            raise
        self._record(model_id, region, body, None)
        return self.answer(invocation)

    def _record(self, model_id: str, region: str, body: Any, error: str | None) -> None:
        with self._lock:
            self.received.append(
                {"modelId": model_id, "region": region, "body": _redact(body), "error": error}
            )

    # -- checks ----------------------------------------------------------------------
    def check(self, body: Any, body_size: int) -> Invocation:
        if not isinstance(body, dict):
            raise malformed("the body must be a JSON object")
        extra = [k for k in body if k not in _TOP_KEYS]
        if extra:
            raise malformed(f"extraneous key [{extra[0]}] is not permitted")
        version = body.get("schemaVersion", "messages-v1")
        if version != "messages-v1":
            raise malformed(f"schemaVersion {version!r} is not supported; use 'messages-v1'")
        system = self._system(body.get("system", []))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise malformed("required key [messages] not found or empty")
        videos: list[VideoInput] = []
        user_text = ""
        for i, message in enumerate(messages):
            texts = self._message(message, i, len(messages), videos)
            if message["role"] == "user":
                user_text = "\n".join(texts)
        if len(videos) > 1:
            raise validation("Only one video is allowed per request.")
        max_tokens = self._config(body.get("inferenceConfig", {}))
        if body_size > MAX_INLINE_BYTES and any(v.s3_uri is None for v in videos):
            raise validation(f"The request payload exceeds {MAX_INLINE_BYTES} bytes.")
        return Invocation(system, user_text, videos[0] if videos else None, max_tokens)

    @staticmethod
    def _system(system: Any) -> str:
        if not isinstance(system, list) or not all(
            isinstance(s, dict) and set(s) == {"text"} and isinstance(s["text"], str)
            for s in system
        ):
            raise malformed('system must be a list of {"text": string} blocks')
        return "\n".join(s["text"] for s in system)

    def _message(self, message: Any, i: int, n: int, videos: list[VideoInput]) -> list[str]:
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise malformed(f"messages[{i}] must have exactly the keys role and content")
        role = message["role"]
        if role not in ("user", "assistant"):
            raise malformed(f"messages[{i}].role {role!r} is not one of [user, assistant]")
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            raise validation(
                "A conversation must start with a user message and alternate between user "
                f"and assistant roles; messages[{i}] is {role!r}."
            )
        if i == n - 1 and role != "user":
            raise validation("The last message of a conversation must be a user message.")
        content = message["content"]
        if not isinstance(content, list) or not content:
            raise malformed(f"messages[{i}].content must be a non-empty list")
        texts: list[str] = []
        for j, block in enumerate(content):
            where = f"messages[{i}].content[{j}]"
            if not isinstance(block, dict) or len(block) != 1:
                raise malformed(f"{where} must have exactly one of text, image, video")
            ((kind, value),) = block.items()
            if kind == "text":
                if not isinstance(value, str) or not value:
                    raise malformed(f"{where}.text must be a non-empty string")
                texts.append(value)
            elif kind == "video":
                if role != "user":
                    raise validation(f"{where}: only user messages may contain a video")
                videos.append(self._video(value, where))
            elif kind == "image":
                continue  # accepted by the model; the synthetic review ignores images
            else:
                raise malformed(f"{where}: content type {kind!r} is not supported")
        return texts

    def _video(self, video: Any, where: str) -> VideoInput:
        if not isinstance(video, dict) or set(video) - {"format", "source"}:
            raise malformed(f"{where}.video must have the keys format and source")
        fmt = video.get("format")
        if fmt not in VIDEO_FORMATS:
            raise malformed(
                f"{where}.video.format {fmt!r} is not one of [{', '.join(VIDEO_FORMATS)}]"
            )
        source = video.get("source")
        if not isinstance(source, dict) or len(source) != 1:
            raise malformed(f"{where}.video.source must have exactly one of bytes, s3Location")
        if "bytes" in source:
            return self._inline(source["bytes"], where)
        if "s3Location" in source:
            return self._s3(source["s3Location"], where)
        raise malformed(f"{where}.video.source must have exactly one of bytes, s3Location")

    def _inline(self, value: Any, where: str) -> VideoInput:
        data = decode_base64(value, f"{where}.video.source.bytes", what="video")
        seconds = _duration_of(data)
        if seconds is None:
            raise validation(f"{where}: the video could not be read; it is not a valid video")
        return VideoInput(len(data), seconds, None, None, None)

    def _s3(self, location: Any, where: str) -> VideoInput:
        if not isinstance(location, dict) or "uri" not in location:
            raise malformed(f"{where}.video.source.s3Location must have the key uri")
        if set(location) - {"uri", "bucketOwner"}:
            raise malformed(f"{where}.video.source.s3Location has keys other than uri, bucketOwner")
        uri = location["uri"]
        m = re.fullmatch(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(.+)", str(uri))
        if m is None:
            raise validation(f"{where}: {uri!r} is not a valid S3 URI (s3://bucket/key)")
        bucket, key = m.group(1), m.group(2)
        if not self._bucket_exists(bucket):
            raise validation(f"{where}: the S3 bucket of {uri} does not exist or is not readable")
        data = self._fetch(bucket, key)
        if data is None:
            raise validation(f"{where}: the S3 object {uri} does not exist or is not readable")
        if len(data) > MAX_S3_BYTES:
            raise validation(
                f"{where}: {uri} is {len(data)} bytes; a video may be at most {MAX_S3_BYTES}"
            )
        job, rel = self._job_of(str(uri))
        seconds = _duration_of(data)
        if seconds is None:
            if job is None:
                raise validation(f"{where}: {uri} could not be read; it is not a valid video")
            seconds = float(job.video_seconds)
        return VideoInput(len(data), seconds, str(uri), job, rel)

    def _job_of(self, uri: str) -> tuple[Job | None, str | None]:
        for job in self._jobs():
            prefix = job.output_uri + "/"
            if uri.startswith(prefix):
                return job, uri[len(prefix) :]
        return None, None

    @staticmethod
    def _config(config: Any) -> int:
        if not isinstance(config, dict):
            raise malformed("inferenceConfig must be an object")
        extra = [k for k in config if k not in _CONFIG_KEYS]
        if extra:
            raise malformed(f"inferenceConfig: extraneous key [{extra[0]}] is not permitted")
        max_tokens = config.get("maxTokens", 10000)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            raise malformed("inferenceConfig.maxTokens must be an integer")
        if not 1 <= max_tokens <= MAX_OUTPUT_TOKENS:
            raise validation(
                f"inferenceConfig.maxTokens {max_tokens} is out of range: 1 to {MAX_OUTPUT_TOKENS}"
            )
        for name in ("temperature", "topP"):
            value = config.get(name, 0.5)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise malformed(f"inferenceConfig.{name} must be a number")
            if not 0 <= value <= 1:
                raise validation(f"inferenceConfig.{name} {value} is out of range: 0 to 1")
        top_k = config.get("topK", 1)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise validation(f"inferenceConfig.topK {top_k!r} must be an integer >= 1")
        return max_tokens

    # -- the synthetic answer --------------------------------------------------------
    def answer(self, inv: Invocation) -> dict[str, Any]:
        if "json" in (inv.user_text + inv.system).lower():
            review = synthetic_review(inv)
            text = "```json\n" + json.dumps(review, indent=2) + "\n```"
        else:
            text = synthetic_prose(inv)
        stop = "end_turn"
        if text_tokens(text) > inv.max_tokens:
            text, stop = text[: inv.max_tokens * 4], "max_tokens"
        input_tokens = text_tokens(inv.system) + text_tokens(inv.user_text)
        if inv.video is not None:
            input_tokens += video_tokens(inv.video.seconds)
        output_tokens = text_tokens(text)
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": stop,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
        }


def _redact(body: Any) -> Any:
    """The body with every ``bytes`` string replaced by ``{"base64Length": n}``."""
    if isinstance(body, dict):
        return {
            k: {"base64Length": len(v)} if k == "bytes" and isinstance(v, str) else _redact(v)
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [_redact(v) for v in body]
    return body


def job_texts(job: Job) -> tuple[str, list[str]]:
    """The prompt and the per-shot texts the emulator rendered for ``job``."""
    mi = job.model_input if isinstance(job.model_input, dict) else {}
    shots: list[str] = []
    prompt = ""
    for params in mi.values():
        if isinstance(params, dict):
            prompt = prompt or str(params.get("text") or "")
            for shot in params.get("shots") or []:
                if isinstance(shot, dict) and isinstance(shot.get("text"), str):
                    shots.append(shot["text"])
    prompt = prompt or str(mi.get("prompt") or "")
    return prompt, shots


def _elements(prompt: str) -> list[str]:
    """A prompt split into its phrases (commas, semicolons, full stops, "and")."""
    parts = re.split(r"[,;.]|\band\b", prompt)
    return [p.strip() for p in parts if p.strip()][:12]


def _defects(job: Job | None) -> list[dict[str, Any]]:
    raw = (getattr(job, "injected_defects", None) or []) if job is not None else []
    found = []
    for d in raw:
        item = d if isinstance(d, dict) else getattr(d, "__dict__", {})
        kind = str(item.get("defect", "defect"))
        at = float(item.get("at", 0.0))
        length = float(item.get("length", 0.0))
        found.append(
            {
                "kind": kind,
                "start_s": round(at, 2),
                "end_s": round(at + length, 2),
                "description": f"{kind} segment from {at:.2f} s for {length:.2f} s",
            }
        )
    return found


def synthetic_review(inv: Invocation) -> dict[str, Any]:
    """The verdict, from what the emulator rendered for the video's job."""
    video = inv.video
    job = video.job if video else None
    prompt, shots = job_texts(job) if job is not None else ("", [])
    rel = video.key_in_job if video else None
    m = re.fullmatch(r"shot_(\d{4})\.mp4", rel or "")
    if m and shots:
        index = int(m.group(1)) - 1
        shots = [shots[index]] if 0 <= index < len(shots) else []
        prompt = shots[0] if shots else prompt
    defects = _defects(job)
    score = 0.5 if defects else 0.9
    if shots and len(shots) > 1:
        elements = [
            {"element": text, "shot": i + 1, "score": score, "shown": not defects}
            for i, text in enumerate(shots)
        ]
    else:
        elements = [
            {"element": text, "score": score, "shown": not defects} for text in _elements(prompt)
        ]
    known = "an emulator render" if job is not None else "a video the emulator did not render"
    summary = (
        f"Synthetic review of {known}: {len(elements)} prompt element(s), "
        f"{len(defects)} visible defect(s)."
    )
    review: dict[str, Any] = {
        "elements": elements,
        "defects": defects,
        "text_artifacts": [],
        "summary": summary,
        "synthetic": True,
    }
    question = re.search(r"^Question:\s*(.+)$", inv.user_text, re.MULTILINE)
    if question:
        review["answer"] = f"(synthetic) The emulator cannot judge: {question.group(1).strip()}"
    return review


def synthetic_prose(inv: Invocation) -> str:
    review = synthetic_review(inv)
    return str(review["summary"])


__all__ = [
    "BASE_MODEL_ID",
    "MAX_INLINE_BYTES",
    "MAX_S3_BYTES",
    "PROFILE_IDS",
    "TOKENS_PER_FRAME",
    "Understanding",
    "is_understanding_model",
    "job_texts",
]
