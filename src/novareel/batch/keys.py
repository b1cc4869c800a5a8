"""What a batch item may say: its keys, and the check that names an unknown one.

Shared by the loader (:mod:`novareel.batch.file`) and the item builder
(:mod:`novareel.batch.items`), in a module of their own so that neither of those two
imports the other's module in a circle.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from novareel.foundation.errors import Problem
from novareel.models import Option, request_options
from novareel.requests.compose import ShotSpec

__all__ = ["default_keys", "item_keys", "request_keys"]

#: The keys of an item that are not the request's: its id, where it goes, its tags.
_OWN_KEYS = ("id", "output_uri", "tags")


def request_keys() -> dict[str, Option]:
    """The request's keys, by batch-file key: each registered option's declaration
    (``generate``'s options, the MCP schema's and ``RequestSpec``'s, from one list)."""
    return {o.file_key: o for o in request_options()}


def item_keys() -> tuple[str, ...]:
    """Keys an item may use: its id, every declared request option (they mirror
    ``generate``), its output location and tags. Derived when asked, so a family
    registered later brings its options' keys."""
    return ("id", *request_keys(), *_OWN_KEYS[1:])


def default_keys() -> tuple[str, ...]:
    """Keys the ``defaults`` section may use (every item key but ``id``)."""
    return tuple(k for k in item_keys() if k != "id")


def __getattr__(name: str) -> tuple[str, ...]:
    """``ITEM_KEYS`` / ``_DEFAULT_KEYS`` as the registry declares them now."""
    if name == "ITEM_KEYS":
        return item_keys()
    if name == "_DEFAULT_KEYS":
        return default_keys()
    raise AttributeError(name)


#: Keys a shot given inline may use: the library's ShotSpec fields (text, image, fit,
#: bucket_owner), the same the MCP server's shots take.
_SHOT_KEYS = tuple(f.name for f in fields(ShotSpec))
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
