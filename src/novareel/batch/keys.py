"""What a batch item may say: its keys, and the check that names an unknown one.

Shared by the loader (:mod:`novareel.batch.file`) and the item builder
(:mod:`novareel.batch.items`), in a module of their own so that neither of those two
imports the other's module in a circle.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from novareel.errors import Problem

__all__ = ["ITEM_KEYS"]

#: Keys an item (and the ``defaults`` section) may use; they mirror ``generate``.
ITEM_KEYS: tuple[str, ...] = (
    "id",
    "prompt",
    "task",
    "duration",
    "image",
    "fit",
    "bucket_owner",
    "shots",
    "storyboard",
    "seed",
    "model_id",
    "output_uri",
    "tags",
    "aspect_ratio",
    "resolution",
    "loop",
    "end_image",
)
_DEFAULT_KEYS = tuple(k for k in ITEM_KEYS if k != "id")
_SHOT_KEYS = ("text", "image", "fit", "bucket_owner")
_MAX_ID = 128


def _unknown_key_problems(
    where: str, mapping: Mapping[str, Any], allowed: Sequence[str]
) -> list[Problem]:
    found = []
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            found.append(
                Problem(f"{where}.{key}", f"unknown key{hint}", value=key, limit=", ".join(allowed))
            )
    return found
