"""Amazon Nova Reel (v1:0, v1:1): every rule of the contract, checked locally, no I/O.

Both versions reached end of life on 2026-09-30 (Legacy since 2026-03-30): the facts
are here so that novareel says so before a call, and ``novareel doctor`` /
``novareel models`` confirm them with the account's control plane.

One family, three modules: :mod:`.contract` (the facts: ids, lifecycle, prices, the
contract's limits, task types, cost, the generation-time prior), :mod:`.requests`
(the three request types, their validation and ``modelInput``, and
:func:`build_request`) and :mod:`.family` (:class:`NovaReelFamily`, what the
registry asks). Every name is re-exported here, as when this was one module.
"""

from novareel.models.base import MAX_IMAGE_BYTES  # one limit for every family
from novareel.models.nova_reel import contract
from novareel.models.nova_reel.contract import *  # noqa: F403  (contract.__all__: the facts)
from novareel.models.nova_reel.family import FAMILY, NovaReelFamily
from novareel.models.nova_reel.requests import (
    MultiShotAutomated,
    MultiShotManual,
    NovaRequest,
    TextVideo,
    VideoRequest,
    build_request,
)

__all__ = [
    *contract.__all__,
    "FAMILY",
    "MAX_IMAGE_BYTES",
    "MultiShotAutomated",
    "MultiShotManual",
    "NovaReelFamily",
    "NovaRequest",
    "TextVideo",
    "VideoRequest",
    "build_request",
]
