"""Minimal request/response objects shared by the Bedrock and control handlers.

Handlers are plain functions ``(backend, request, **path_params) -> Response`` listed in
route tables (routes as data), so the dispatcher stays a few lines and handlers stay
thin: parse, call the backend, serialise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

StartResponse = Callable[..., Any]
WSGIEnviron = dict[str, Any]


@dataclass
class Request:
    method: str
    path: str  # raw, still percent-encoded
    query: str
    headers: dict[str, str]
    body: bytes
    environ: WSGIEnviron

    @classmethod
    def from_environ(cls, environ: WSGIEnviron) -> Request:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        path, _, query = str(raw).partition("?")
        if not query:
            query = str(environ.get("QUERY_STRING", ""))
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        return cls(str(environ.get("REQUEST_METHOD", "GET")), path, query, headers, b"", environ)

    def read_body(self) -> bytes:
        if not self.body:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
            self.body = self.environ["wsgi.input"].read(length) if length > 0 else b""
        return self.body

    def json(self) -> Any:
        data = self.read_body()
        return json.loads(data) if data else {}

    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()
    ) -> Response:
        body = json.dumps(data, separators=(",", ":")).encode()
        return cls(status, body, [("Content-Type", "application/json"), *headers])

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> list[bytes]:
        reason = _REASONS.get(self.status, "Unknown")
        headers = [*self.headers, ("Content-Length", str(len(self.body)))]
        start_response(f"{self.status} {reason}", headers)
        return [self.body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]


Handler = Callable[..., Response]
Route = tuple[str, "re.Pattern[str]", str, Handler]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """First route whose method and path regex match; its named groups are the params."""
    for route in routes:
        if route[0] == method:
            m = route[1].fullmatch(path)
            if m:
                return route, m.groupdict()
    return None
