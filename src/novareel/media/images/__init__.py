"""Starting frames: read, sniff, check and (on request) fit images for Nova Reel.

Nova Reel accepts a starting frame only when it is a PNG or JPEG of exactly 1280x720
pixels, 8 bits per channel RGB, with no transparent or translucent pixel, at most
25 MB, and sent with a ``format`` that matches the real content (``"png"`` or
``"jpeg"``, never ``"jpg"``). Anything else fails at the service *after* the call, so
this package checks every rule locally and says what is wrong and how to fix it. The
limits and file signatures are the model registry's (:mod:`novareel.models.base`:
``MAGIC``, ``MAX_IMAGE_BYTES``, each family's :class:`FrameRules`); this package only
applies them.

Design choices, and why:

* **The bytes decide the format, never the extension.** Phones and chat apps rename
  files freely; a ``.jpg`` holding PNG data is accepted with ``format="png"`` and a
  notice, instead of being sent with the wrong ``format``.
* **Refuse by default, convert only when asked.** Converting changes the picture
  (cropping, bars, distortion), so it must be the user's decision: ``fit="crop"``,
  ``"pad"`` or ``"stretch"`` (``--fit`` on the command line). Every conversion is
  reported in :attr:`PreparedFrame.notes`.
* **Converted frames are PNG.** Re-encoding to JPEG would add a second generation of
  compression artefacts to the first frame of the video; a 1280x720 RGB PNG is at
  most ~2.8 MB, far under the 25 MB limit.
* **Palette PNGs are refused** (and converted losslessly by ``fit``): the contract
  asks for 8-bit-per-channel RGB, a palette image stores 8-bit *indices*, and whether
  the service decodes them is not documented. Refusing costs nothing; a rejected
  paid call costs a round trip and confusion.
* **Sizes are checked from the header before anything is decoded**, and the 25 MB
  limit from the file size before the file is even read, so a huge file or a
  decompression bomb never reaches the decoder unless ``fit`` is asked for.

Images already in S3 are passed by reference (``s3Location``) and never downloaded:
only the key's extension can be checked locally.

One module per responsibility: :mod:`~novareel.media.images.reading` (sniffing and the
facts read from the bytes), :mod:`~novareel.media.images.checking` (the facts against a
model's ``FrameRules``), :mod:`~novareel.media.images.fitting` (converting, on request),
:mod:`~novareel.media.images.s3` (S3 references) and :mod:`~novareel.media.images.frames` (a path
or URI turned into a checked ``StartingFrame``). Pillow is imported inside the
functions that need it, so importing this package (for :data:`FitMode`, say) stays
cheap.
"""

from __future__ import annotations

from novareel.media.images.checking import check_image_bytes
from novareel.media.images.fitting import (
    FIT_MODES,
    MAX_FIT_SOURCE_BYTES,
    FitMode,
    fit_image,
    fit_problem,
)
from novareel.media.images.frames import PreparedFrame, load_starting_frame, prepare_starting_frame
from novareel.media.images.reading import (
    HEIGHT,
    WIDTH,
    ImageFacts,
    inspect_image_bytes,
    sniff_format,
)
from novareel.models.base import MAX_IMAGE_BYTES

__all__ = [
    "FIT_MODES",
    "HEIGHT",
    "MAX_FIT_SOURCE_BYTES",
    "MAX_IMAGE_BYTES",
    "WIDTH",
    "FitMode",
    "ImageFacts",
    "PreparedFrame",
    "check_image_bytes",
    "fit_image",
    "fit_problem",
    "inspect_image_bytes",
    "load_starting_frame",
    "prepare_starting_frame",
    "sniff_format",
]
