"""Thin HTTP handlers for the Bedrock-runtime async invoke operations (rest-json)."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

from novareel.emulator.backend import EmulatorBackend
from novareel.emulator.errors import ApiError, validation
from novareel.emulator.understanding import is_understanding_model
from novareel.emulator.wsgi import Request, Response, Route

DEFAULT_REGION = "us-east-1"
_SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


def signing_scope(request: Request) -> tuple[str | None, str | None]:
    """(region, service) from the SigV4 credential scope, header or presigned query."""
    m = _SCOPE_RE.search(request.headers.get("authorization", ""))
    if m is None and "X-Amz-Credential" in request.query:
        cred = unquote(request.params().get("X-Amz-Credential", ""))
        m = _SCOPE_RE.search(f"Credential={cred}")
    return (m.group(1), m.group(2)) if m else (None, None)


def error_response(error: ApiError) -> Response:
    """AWS rest-json error: ``{"message"}`` body plus ``x-amzn-ErrorType``."""
    return Response.json(
        {"message": error.message},
        status=error.status,
        headers=[("x-amzn-ErrorType", error.code), ("x-amzn-RequestId", str(uuid.uuid4()))],
    )


def ok(data: object) -> Response:
    """A 200 rest-json answer with a request id."""
    return Response.json(data, headers=[("x-amzn-RequestId", str(uuid.uuid4()))])


def start_async_invoke(backend: EmulatorBackend, request: Request) -> Response:
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation("The request body is not valid JSON") from exc
    region = signing_scope(request)[0] or DEFAULT_REGION
    return ok({"invocationArn": backend.start_async_invoke(body, region)})


def get_async_invoke(backend: EmulatorBackend, request: Request, arn: str) -> Response:
    region = signing_scope(request)[0] or DEFAULT_REGION
    return ok(backend.get_async_invoke(unquote(arn), region))


def list_async_invokes(backend: EmulatorBackend, request: Request) -> Response:
    region = signing_scope(request)[0] or DEFAULT_REGION
    return ok(backend.list_async_invokes(request.params(), region))


def invoke_model(backend: EmulatorBackend, request: Request, model: str) -> Response:
    """Nova 2 Lite answers (``understanding.py``); the video models refuse InvokeModel."""
    model_id = unquote(model)
    if is_understanding_model(model_id):
        region = signing_scope(request)[0] or DEFAULT_REGION
        return ok(backend.understanding.invoke(model_id, request.read_body(), region))
    raise validation(
        f"modelId {unquote(model)!r}: InvokeModel is not supported by this emulator; "
        "the video models it emulates only support StartAsyncInvoke"
    )


ROUTES: list[Route] = [
    ("POST", re.compile(r"/async-invoke/?"), "StartAsyncInvoke", start_async_invoke),
    ("GET", re.compile(r"/async-invoke/?"), "ListAsyncInvokes", list_async_invokes),
    ("GET", re.compile(r"/async-invoke/(?P<arn>[^/]+)"), "GetAsyncInvoke", get_async_invoke),
    ("POST", re.compile(r"/model/(?P<model>[^/]+)/invoke"), "InvokeModel", invoke_model),
]

__all__ = ["DEFAULT_REGION", "ROUTES", "error_response", "ok", "signing_scope"]
