"""What to tell a person about a job before it is sent."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from novareel.models import (
    Model,
    VideoRequest,
    find_model,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger("novareel")


def request_notices(request: VideoRequest, *, lifecycle: bool = True) -> list[str]:
    """What to tell a person about a request before it is sent: the model's lifecycle
    (Legacy, past end of life; left out with ``lifecycle=False``, as a batch says it
    once per model) and advice on the prompt and shots (negations, camera words).

    Never blocks; the same text is said once however many prompts repeat it.
    """
    from novareel.models import lifecycle_notice
    from novareel.prompting import prompt_warnings

    notices: list[str] = []
    model = find_model(request.model_id)
    if model is not None and lifecycle:
        said = lifecycle_notice(model)
        if said:
            notices.append(said)
    texts = [getattr(request, "prompt", None)]
    texts += [getattr(shot, "text", None) for shot in getattr(request, "shots", None) or ()]
    for text in texts:
        if isinstance(text, str) and text:
            notices.extend(prompt_warnings(text))
    return list(dict.fromkeys(notices))


def model_notices(model: Model, requests: Sequence[VideoRequest]) -> list[str]:
    """What to say about a command's jobs on one model before any money or time is
    spent: the model's lifecycle once, the undocumented image input of a family that
    has one, and each request's prompt advice (:func:`request_notices`)."""
    from novareel.models import lifecycle_notice

    notices: list[str] = []
    lifecycle = lifecycle_notice(model)
    if lifecycle:
        notices.append(lifecycle)
    image_notice = getattr(model.family, "image_notice", None)
    if image_notice and any(getattr(r, "frames", None) for r in requests):
        notices.append(image_notice)
    for request in requests:
        notices.extend(request_notices(request, lifecycle=False))
    return list(dict.fromkeys(notices))
