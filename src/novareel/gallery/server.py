"""``novareel gallery --serve``: the gallery folder over HTTP, on 127.0.0.1 only.

Browsers may refuse to play media from ``file://`` pages, so the gallery is best
looked at through a tiny local server. It binds the loopback address (never all
interfaces: the page shows prompts and file paths), lists no folders, and answers
``Range`` requests so that the player can seek in a long video.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger("novareel")

#: The only address the gallery server binds.
HOST = "127.0.0.1"
#: The port ``--serve`` uses when none is given: 0 asks the system for a free one.
DEFAULT_PORT = 0
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Handler(SimpleHTTPRequestHandler):
    """Static files from the gallery folder: no listings, byte ranges, quiet logs."""

    _remaining: int | None = None

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def list_directory(self, path: str | os.PathLike[str]) -> io.BytesIO | None:
        self.send_error(HTTPStatus.NOT_FOUND, "No folder listings here")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("gallery server: " + format, *args)

    def send_head(self) -> Any:
        self._remaining = None
        header = self.headers.get("Range")
        path = self.translate_path(self.path)
        if not header or not os.path.isfile(path):
            return super().send_head()
        match = _RANGE.match(header.strip())
        size = os.path.getsize(path)
        if match is None or (not match.group(1) and not match.group(2)):
            return super().send_head()  # not one simple range: the whole file
        if match.group(1):
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else size - 1
        else:  # the last N bytes
            start = max(0, size - int(match.group(2)))
            end = size - 1
        end = min(end, size - 1)
        if start > end or start >= size:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        handle = open(path, "rb")  # noqa: SIM115 - the base class closes it after copying
        handle.seek(start)
        self._remaining = end - start + 1
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(self._remaining))
        self.end_headers()
        return handle

    def copyfile(self, source: Any, outputfile: Any) -> None:
        if self._remaining is None:
            shutil.copyfileobj(source, outputfile)
            return
        left = self._remaining
        while left > 0:
            chunk = source.read(min(64 * 1024, left))
            if not chunk:
                break
            outputfile.write(chunk)
            left -= len(chunk)


class GalleryServer:
    """A gallery folder served on 127.0.0.1 from a background thread.

    ``with GalleryServer(folder) as server: ... server.url`` (tests, ``--serve``).
    """

    def __init__(self, folder: str | os.PathLike[str], port: int = DEFAULT_PORT) -> None:
        self.folder = Path(folder).resolve()
        if not (self.folder / "index.html").is_file():
            from novareel.foundation.errors import InvalidRequestError, Problem

            raise InvalidRequestError(
                Problem("out", f"{self.folder} has no index.html to serve", value=str(folder))
            )
        handler = partial(_Handler, directory=str(self.folder))
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), handler)
        except OSError as exc:
            from novareel.foundation.errors import InvalidRequestError, Problem

            raise InvalidRequestError(
                Problem("port", f"cannot listen on {HOST}:{port}: {exc}", value=port),
                hint="Choose another --port, or 0 for any free one.",
            ) from exc
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> GalleryServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="novareel-gallery", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> GalleryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_gallery(
    folder: str | os.PathLike[str],
    port: int = DEFAULT_PORT,
    *,
    on_ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve ``folder`` on 127.0.0.1 until interrupted (Ctrl-C) or ``stop`` is set.

    ``on_ready`` gets the URL once the port is bound, so the caller can print it
    or open a browser.
    """
    event = stop or threading.Event()
    with GalleryServer(folder, port) as server:
        if on_ready is not None:
            on_ready(server.url)
        try:
            while not event.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


__all__ = ["DEFAULT_PORT", "HOST", "GalleryServer", "serve_gallery"]
