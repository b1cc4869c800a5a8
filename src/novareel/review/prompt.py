"""The review's request body (the seed's InvokeModel shape) and the parsing of its answer.

Pure: no I/O. The body is Amazon Nova's native ``messages-v1`` schema, exactly the
shape of the seed page "Submit a single prompt with InvokeModel" and the Nova user
guide: ``schemaVersion``, ``system`` (list of ``{"text"}``), one ``user`` message
whose content is the video (by ``s3Location`` or as base64 ``bytes``) then the text,
and ``inferenceConfig`` with ``maxTokens``. The default question asks for one JSON
object; the answer is parsed into :class:`Verdict` fields whatever wraps it (a code
fence, prose around it), and a parse failure is reported, never raised.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "SYSTEM_PROMPT",
    "Verdict",
    "build_body",
    "parse_verdict",
    "prompt_elements",
    "review_text",
]

#: The answer's cap: a verdict of a dozen elements fits in well under 2,000 tokens,
#: and the cap bounds the price estimate (output tokens are priced at the cap).
DEFAULT_MAX_TOKENS = 2000
#: Low temperature: the same video should get the same verdict.
TEMPERATURE = 0.1

SYSTEM_PROMPT = (
    "You review short generated videos for a person who paid for them. Judge only what "
    "is visible. Answer with one JSON object and nothing else."
)

_SCHEMA = (
    '{"elements": [{"element": string, "shot": integer or null, "score": number from 0 '
    'to 1, "shown": boolean, "note": string}], "defects": [{"kind": string, "start_s": '
    'number, "end_s": number, "description": string}], "text_artifacts": [string], '
    '"summary": string}'
)


def prompt_elements(request: dict[str, Any] | None) -> tuple[str, list[str]]:
    """The prompt and the storyboard's shot texts of a recorded request (any family)."""
    from novareel.foundation.naming import prompt_of, shots_of

    return prompt_of(request) or "", [s for s in shots_of(request) if s]


def review_text(prompt: str, shots: list[str], question: str | None) -> str:
    """The user text: what was asked for, the JSON wanted, and any extra question."""
    lines = []
    if len(shots) > 1:
        lines.append("The video is a storyboard; each shot was asked for as:")
        lines += [f"Shot {i + 1}: {text}" for i, text in enumerate(shots)]
        lines.append("Give one element per shot (its text as `element`, its number as `shot`).")
    elif prompt:
        lines.append(f"The video was generated from this prompt: {prompt}")
        lines.append("Split the prompt into its elements and judge how well each is shown.")
    else:
        lines.append("Describe the video's main elements and judge how well each is shown.")
    lines.append(
        "List visible defects (black, frozen, flickering or flashing segments, distorted "
        "bodies or objects, seams) with their time span in seconds, and any garbled or "
        "unwanted text in the picture as text_artifacts."
    )
    lines.append(f"Answer with one JSON object of this shape: {_SCHEMA}")
    if question:
        lines.append('Also answer this question in a string field "answer".')
        lines.append(f"Question: {question}")
    return "\n".join(lines)


def build_body(
    video: dict[str, Any], text: str, *, max_tokens: int = DEFAULT_MAX_TOKENS
) -> dict[str, Any]:
    """The InvokeModel body: ``video`` is ``{"format", "source": {"s3Location"|"bytes"}}``."""
    return {
        "schemaVersion": "messages-v1",
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": "user", "content": [{"video": video}, {"text": text}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": TEMPERATURE},
    }


@dataclass(frozen=True)
class Verdict:
    """The parsed review: one entry per element (or shot), defects, text artefacts."""

    elements: list[dict[str, Any]] = field(default_factory=list)
    defects: list[dict[str, Any]] = field(default_factory=list)
    text_artifacts: list[str] = field(default_factory=list)
    summary: str = ""
    answer: str | None = None
    #: Why the answer could not be read as a verdict (None: it was).
    parse_error: str | None = None

    @property
    def score(self) -> float | None:
        """The mean element score, or None when no element was scored."""
        scores = [float(e["score"]) for e in self.elements if _is_number(e.get("score"))]
        return round(sum(scores) / len(scores), 3) if scores else None

    def to_dict(self) -> dict[str, Any]:
        """Its fields in declared order, with the computed ``score`` after ``summary``
        (where ``--json`` and the ledger have always shown it)."""
        data = asdict(self)
        head = {key: data.pop(key) for key in ("elements", "defects", "text_artifacts", "summary")}
        return head | {"score": self.score} | data


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)\n?```", re.DOTALL)


def _json_object(text: str) -> dict[str, Any] | None:
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    candidates.append(text)
    for candidate in candidates:
        try:
            value = json.loads(candidate.strip())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def parse_verdict(text: str) -> Verdict:
    """The verdict in the model's answer; ``parse_error`` says why not, if it is not."""
    data = _json_object(text)
    if data is None:
        return Verdict(summary=text.strip()[:500], parse_error="the answer holds no JSON object")
    elements = [e for e in data.get("elements") or [] if isinstance(e, dict)]
    defects = [d for d in data.get("defects") or [] if isinstance(d, dict)]
    raw_artifacts = data.get("text_artifacts") or []
    artifacts = [str(a) for a in raw_artifacts] if isinstance(raw_artifacts, list) else []
    missing = [k for k in ("elements", "summary") if k not in data]
    answer = data.get("answer")
    return Verdict(
        elements=elements,
        defects=defects,
        text_artifacts=artifacts,
        summary=str(data.get("summary") or ""),
        answer=str(answer) if answer is not None else None,
        parse_error=f"the JSON lacks {', '.join(missing)}" if missing else None,
    )
