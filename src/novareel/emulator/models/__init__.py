"""The model families the emulator speaks: one module each, registered here.

To add a model: write ``models/<family>.py`` with its :class:`ModelInfo` entries, a
``validate_input(model_input, ctx) -> JobPlan`` and a ``FAMILY``, then add it to
:data:`FAMILIES`. Quotas, lifecycle states, the control plane's catalogue and
StartAsyncInvoke's dispatch all come from this registry.
"""

from __future__ import annotations

from novareel.emulator.models import luma_ray, nova_reel
from novareel.emulator.models.base import InputContext, JobPlan, ModelFamily, ModelInfo

FAMILIES: tuple[ModelFamily, ...] = (nova_reel.FAMILY, luma_ray.FAMILY)

#: Every model the emulator knows, by model id.
MODELS: dict[str, ModelInfo] = {m.model_id: m for f in FAMILIES for m in f.models}
_FAMILY_OF: dict[str, ModelFamily] = {m.model_id: f for f in FAMILIES for m in f.models}


def family_of(model_id: str) -> ModelFamily:
    """The family of a known model id (``KeyError`` otherwise)."""
    return _FAMILY_OF[model_id]


__all__ = ["FAMILIES", "MODELS", "InputContext", "JobPlan", "ModelFamily", "ModelInfo", "family_of"]
