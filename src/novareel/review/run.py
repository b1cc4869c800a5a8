"""``review``: ask an understanding model (Amazon Nova 2 Lite) what a finished video shows.

One use case, shared by ``novareel review``, ``generate --review``, ``batch --review``
and the MCP server's ``review_job``:

1. :func:`plan_review` -- what will be sent (the video by its S3 location for a ledger
   job, or as bytes for a local file within the inline limit), the body, and the price
   estimated before any call: the video's tokens (frames sampled x tokens a frame), the
   text's, and the answer's at its cap (``maxTokens``), so the estimate is an upper
   bound.
2. :func:`run_review` -- the estimate checked against ``--max-cost`` and the standing
   budgets and written ``Submitting`` to the ledger in one write transaction (as a
   job's reservation is), then InvokeModel once; the row becomes ``Completed`` with
   the tokens the service counted and their price, or ``Failed`` (not billed).

A review of a video the local emulator rendered is SYNTHETIC (the emulator builds it
from the job it rendered): it checks the plumbing, the money and the parsing, not the
judgement.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import (
    AccessDeniedError,
    InvalidRequestError,
    NotFoundError,
    NovaReelError,
    Problem,
)
from novareel.foundation.s3uri import S3Uri, parse_s3_uri
from novareel.models import video_name, video_uri
from novareel.models.understanding import UnderstandingModel, get_understanding_model
from novareel.review.prompt import (
    DEFAULT_MAX_TOKENS,
    SYSTEM_PROMPT,
    Verdict,
    build_body,
    parse_verdict,
    prompt_elements,
    review_text,
)

if TYPE_CHECKING:
    from novareel.jobs import VideoGenerator
    from novareel.ledger.models import JobRecord

__all__ = [
    "ReviewOutcome",
    "ReviewPlan",
    "plan_review",
    "review_jobs",
    "review_video",
    "run_review",
]

_SUFFIX_FORMATS = {".3gp": "three_gp"}
#: Assumed length of a job whose ledger row has none (the shortest video models make).
_DEFAULT_SECONDS = 6.0


@dataclass(frozen=True)
class ReviewPlan:
    """What a review will send and what it may cost, before anything is sent."""

    model: UnderstandingModel
    invoke_id: str
    video: str  # the S3 URI or the local path reviewed
    job: JobRecord | None
    body: dict[str, Any]
    video_seconds: float
    question: str | None
    max_tokens: int
    input_tokens: int
    estimated_cost_usd: float

    def describe(self) -> dict[str, Any]:
        """What ``--json`` shows of the plan (the body with video bytes left out)."""
        return {
            "model_id": self.model.model_id,
            "invoke_id": self.invoke_id,
            "video": self.video,
            "job_id": self.job.id if self.job else None,
            "video_seconds": round(self.video_seconds, 3),
            "estimated_input_tokens": self.input_tokens,
            "max_output_tokens": self.max_tokens,
            "estimated_cost_usd": round(self.estimated_cost_usd, 6),
        }


@dataclass(frozen=True)
class ReviewOutcome:
    """A finished review: its verdict, the tokens counted and their price."""

    review_id: int | None
    plan: ReviewPlan
    verdict: Verdict
    answer: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    stop_reason: str | None
    ran_locally: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "review_id": self.review_id,
            **self.plan.describe(),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "stop_reason": self.stop_reason,
            "ran_locally": self.ran_locally,
            "synthetic": self.ran_locally,
            "verdict": self.verdict.to_dict(),
            "answer": self.answer,
        }


def _local_video(path: Path, model: UnderstandingModel) -> tuple[dict[str, Any], float]:
    from novareel.media.video import inspect_video

    fmt = _SUFFIX_FORMATS.get(path.suffix.lower(), path.suffix.lower().lstrip("."))
    if fmt not in model.video_formats:
        raise InvalidRequestError(
            Problem(
                "video",
                f"{str(path)!r} is a {path.suffix or 'suffix-less'} file; {model.name} reads "
                f"{', '.join(model.video_formats)}",
                value=str(path),
                limit=", ".join(model.video_formats),
            )
        )
    size = path.stat().st_size
    encoded = 4 * math.ceil(size / 3)  # the request carries it as base64
    if encoded > model.max_inline_video_bytes:
        raise InvalidRequestError(
            Problem(
                "video",
                f"{str(path)!r} is {size} bytes, {encoded} as base64; a request carrying a "
                f"video as bytes may be at most {model.max_inline_video_bytes} (review the "
                "job instead: its video is read from S3, up to 1 GB)",
                value=size,
                limit=f"{model.max_inline_video_bytes} bytes",
            )
        )
    seconds = inspect_video(path).duration_seconds
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"format": fmt, "source": {"bytes": data}}, seconds


def _job_video(api: VideoGenerator, ref: str) -> tuple[JobRecord, str]:
    from novareel.foundation.errors import LedgerError

    _arn, record = api.resolve(ref)
    if record is None:
        raise LedgerError(f"{ref!r} is not in the ledger; review a job the ledger knows")
    if record.status != "Completed" or not record.invocation_id or not record.output_uri:
        raise InvalidRequestError(
            Problem(
                "job",
                f"job {record.id} is {record.status}; only a Completed job has a video to review",
                value=ref,
            )
        )
    return record, str(video_uri(record.model_id, record.output_uri, record.invocation_id))


def _still_in_s3(api: VideoGenerator, uri: str) -> bool:
    """Whether the object is listed in its folder; True when listing is not allowed
    (the review's own call then says what S3 answers)."""
    target = parse_s3_uri(uri)
    folder = S3Uri(target.bucket, target.key.rsplit("/", 1)[0])
    try:
        return any(o.key == target.key for o in api.client.list_objects(folder))
    except AccessDeniedError:
        return True
    except NotFoundError:  # the bucket itself is gone
        return False


def plan_review(
    api: VideoGenerator,
    ref: str,
    *,
    model_id: str | None = None,
    question: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    files: bool = True,
) -> ReviewPlan:
    """What reviewing ``ref`` (a ledger job reference, or a local video file) sends and
    costs at most; every problem raised before anything is sent. ``files=False`` (the
    MCP server, confined to its root) takes ledger jobs only: an agent cannot have a
    file from elsewhere on the machine read and sent."""
    model = get_understanding_model(model_id)
    if not 1 <= max_tokens <= model.max_output_tokens:
        raise InvalidRequestError(
            Problem(
                "--max-tokens",
                f"{max_tokens} is out of range",
                value=max_tokens,
                limit=f"1 to {model.max_output_tokens}",
            )
        )
    if question is not None and not question.strip():
        raise InvalidRequestError(Problem("--question", "is empty", value=question))
    path = Path(ref)
    job: JobRecord | None = None
    shots: list[str]
    if files and path.suffix and path.is_file():
        video, seconds = _local_video(path, model)
        where = str(path)
        prompt, shots = "", []
    else:
        job, where = _job_video(api, ref)
        seconds = float(job.duration_seconds or _DEFAULT_SECONDS)
        video = {"format": "mp4", "source": {"s3Location": {"uri": where}}}
        if not _still_in_s3(api, where):
            # The S3 copy is gone (deleted, expired by a lifecycle rule, or an emulator
            # that restarted): the downloaded copy is the same video, sent as bytes,
            # rather than a call the service can only refuse.
            local = job.downloaded_video(video_name(job.model_id))
            if local is None:
                raise InvalidRequestError(
                    Problem(
                        "job",
                        f"job {job.id}'s video {where} is no longer in S3 and no downloaded "
                        "copy is recorded (`novareel download` fetches one while it exists)",
                        value=ref,
                    )
                )
            video, seconds = _local_video(local, model)
            where = str(local)
        prompt, shots = prompt_elements(job.request)
    text = review_text(prompt, shots, question)
    body = build_body(video, text, max_tokens=max_tokens)
    input_tokens = (
        model.video_tokens(seconds) + model.text_tokens(SYSTEM_PROMPT) + model.text_tokens(text)
    )
    return ReviewPlan(
        model=model,
        invoke_id=model.invoke_id(model_id),
        video=where,
        job=job,
        body=body,
        video_seconds=seconds,
        question=question,
        max_tokens=max_tokens,
        input_tokens=input_tokens,
        estimated_cost_usd=model.cost_usd(input_tokens, max_tokens),
    )


def _answer_text(answer: dict[str, Any]) -> str:
    content = ((answer.get("output") or {}).get("message") or {}).get("content") or []
    return "".join(str(b["text"]) for b in content if isinstance(b, dict) and "text" in b)


def run_review(
    api: VideoGenerator, plan: ReviewPlan, *, max_cost: float | None = None
) -> ReviewOutcome:
    """Check the budgets and reserve (one ledger transaction), call once, record."""
    from novareel.client.endpoint_identity import is_emulator
    from novareel.limits.budget import CostCap, reservation_check

    endpoint = api.client.runtime_endpoint
    on_emulator = is_emulator(endpoint)
    cap = CostCap(max_cost, name="--max-cost") if max_cost is not None else api.cost_cap
    held: list[float] = []

    def check() -> None:
        reservation_check(
            api.ledger,
            plan.estimated_cost_usd,
            endpoint=endpoint,
            cost_cap=cap,
            held=held,
            what="this review",
            session_cap=api.session_cap,
        )

    ledger = api.ledger
    review_id: int | None = None
    if ledger is None:
        check()
    else:
        review_id = ledger.reserve_review(
            job_id=plan.job.id if plan.job else None,
            video=plan.video,
            model_id=plan.model.model_id,
            invoke_id=plan.invoke_id,
            endpoint=endpoint,
            emulator=on_emulator,
            session_key=api.session_cap.key if api.session_cap is not None else None,
            estimated_cost_usd=plan.estimated_cost_usd,
            question=plan.question,
            check=check,
        )
    try:
        answer = api.client.invoke_model(model_id=plan.invoke_id, body=plan.body)
    except NovaReelError as exc:
        if cap is not None and held:
            cap.release(held.pop())
        if ledger is not None and review_id is not None:
            ledger.finish_review(review_id, status="Failed", error=str(exc))
        raise
    usage = answer.get("usage") or {}
    input_tokens = int(usage.get("inputTokens") or 0)
    output_tokens = int(usage.get("outputTokens") or 0)
    cost = plan.model.cost_usd(input_tokens, output_tokens)
    text = _answer_text(answer)
    verdict = parse_verdict(text)
    if ledger is not None and review_id is not None:
        ledger.finish_review(
            review_id,
            status="Completed",
            cost_usd=cost,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            answer=text,
            result=verdict.to_dict(),
        )
    return ReviewOutcome(
        review_id=review_id,
        plan=plan,
        verdict=verdict,
        answer=text,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        stop_reason=answer.get("stopReason"),
        ran_locally=on_emulator,
    )


def review_video(
    api: VideoGenerator,
    ref: str,
    *,
    model_id: str | None = None,
    question: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    max_cost: float | None = None,
) -> ReviewOutcome:
    """:func:`plan_review` then :func:`run_review` (the doors' one call)."""
    plan = plan_review(api, ref, model_id=model_id, question=question, max_tokens=max_tokens)
    return run_review(api, plan, max_cost=max_cost)


def review_jobs(api: VideoGenerator, job_ids: list[int]) -> list[dict[str, Any]]:
    """Review each finished job (``generate --review``, ``batch --review``): one dict
    per job, the outcome's or ``{"job_id", "error"}``; the videos are already paid
    for, so a review that cannot run is reported, not raised. A budget refusal stops
    the rest (each would be refused the same way)."""
    from novareel.foundation.errors import BudgetExceededError

    done: list[dict[str, Any]] = []
    for job_id in job_ids:
        try:
            done.append(review_video(api, str(job_id)).to_dict())
        except NovaReelError as exc:
            done.append({"job_id": job_id, "error": exc.message})
            if isinstance(exc, BudgetExceededError):
                break
    return done
