"""A static web gallery of every job in the ledger: look at videos, not ARNs.

:func:`build_gallery` writes ``index.html`` plus ``assets/`` (CSS, a little
JavaScript) and ``media/`` (posters, contact sheets and links to the local videos)
into one folder. The page makes no request to any other host: no CDN, no web fonts,
and a Content-Security-Policy that allows only the folder itself (and, for a video
that exists only in S3, the one S3 origin its presigned link points at). Every piece
of user text (prompts are user input) is HTML-escaped; the filters read ``data-*``
attributes, so no user text is ever handed to JavaScript as code or JSON.

:func:`serve_gallery` (``novareel gallery --serve``) serves the folder on
127.0.0.1 only.
"""

from __future__ import annotations

from novareel.gallery.build import (
    GENERATOR,
    GalleryResult,
    Presigner,
    build_gallery,
)
from novareel.gallery.server import GalleryServer, serve_gallery

__all__ = [
    "GENERATOR",
    "GalleryResult",
    "GalleryServer",
    "Presigner",
    "build_gallery",
    "serve_gallery",
]
