"""The slot through which a request class reads an image given as a path or URI.

Why a slot: :mod:`novareel.models` is a leaf without I/O, yet
``TextVideo(prompt, image="seashell.png")`` must read and check the file exactly as
the command line's ``--image`` does, and that is :mod:`novareel.media.images`' job, a layer
above. So the request classes ask this slot (through
:func:`novareel.models.base.read_image`), and the package root
(``novareel/__init__.py``, which Python runs before any submodule) fills it with a
function that imports :mod:`novareel.media.images` only when a path is first given: the
dependency points down, and ``import novareel`` stays as cheap as it was.

This module imports nothing of novareel: it must be cheaper than ``novareel.models``
(which the command line loads only when a command needs it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

#: ``(value as given, its field for messages, the model's FrameRules) -> StartingFrame``;
#: raises :class:`~novareel.foundation.errors.InvalidRequestError` (an ``ImageError`` for a file
#: the model would refuse) naming every problem of the image.
FrameReader = Callable[[str | os.PathLike[str], str, Any], Any]

_reader: FrameReader | None = None


def install(reader: FrameReader | None) -> FrameReader | None:
    """Put ``reader`` in the slot (None empties it); returns the one it replaces."""
    global _reader
    previous, _reader = _reader, reader
    return previous


def installed() -> FrameReader | None:
    """The reader in the slot, or None."""
    return _reader


__all__ = ["FrameReader", "install", "installed"]
