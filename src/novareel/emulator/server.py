"""One port, three services: the WSGI dispatcher and the threaded server object.

Dispatch order: ``/_emulator/*`` goes to the control endpoint; a request signed for
service ``bedrock`` (SigV4 credential scope) goes to the Bedrock handlers (runtime and
control plane, told apart by path), as does an unsigned request to ``/async-invoke``,
``/model/...``, ``/foundation-models...`` or ``/foundation-model-availability/...``;
service ``sts`` goes to STS; a request signed for any other service gets an error
shaped for its protocol; everything else (signed ``s3`` or unsigned) is S3, served by
moto. Deciding by the signing scope rather than the path keeps S3 buckets named
``async-invoke`` working.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

from novareel.emulator import bedrock, control, control_plane, sts
from novareel.emulator.backend import EmulatorBackend
from novareel.emulator.config import DEFAULT_PORT, DEFAULT_SPEED, EmulatorConfig
from novareel.emulator.errors import ApiError
from novareel.emulator.s3 import (
    WRITE_OPERATIONS,
    fault_error,
    read_only_error,
    s3_bucket_and_key,
    s3_operation,
)
from novareel.emulator.unknown_service import SPOKEN, unknown_service_response
from novareel.emulator.wsgi import Request, Response, StartResponse, WSGIEnviron, match

log = logging.getLogger("novareel.emulator")

BEDROCK_ROUTES = [*bedrock.ROUTES, *control_plane.ROUTES]
_UNSIGNED_BEDROCK = ("/async-invoke", "/model/", *control_plane.PATH_PREFIXES)


def _identified(start_response: StartResponse) -> StartResponse:
    """``start_response`` adding the identity header (:data:`control.IDENTITY_HEADER`)
    to every reply, S3's and errors' included.

    A client tells this emulator (free, its answers not AWS's) from anything else on
    a loopback address by this header, never by the address: a local proxy to real
    AWS does not send it, and a proxy that forwards here but drops it is priced as
    what it claims to be.
    """

    def identified(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers = [*headers, (control.IDENTITY_HEADER, control.VERSION)]
        return (
            start_response(status, headers, exc_info)
            if exc_info
            else start_response(status, headers)
        )

    return identified


class EmulatorApp:
    """The WSGI application: routes a request to control, Bedrock or moto's S3."""

    def __init__(self, backend: EmulatorBackend) -> None:
        self.backend = backend

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        return self._route(environ, _identified(start_response))

    def _route(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        if request.path.startswith("/_emulator/"):
            return self._control(request)(environ, start_response)
        _region, service = bedrock.signing_scope(request)
        if service == "bedrock" or (service is None and request.path.startswith(_UNSIGNED_BEDROCK)):
            return self._bedrock(request)(environ, start_response)
        if service == "sts":
            return self._sts(request)(environ, start_response)
        if service is not None and service not in SPOKEN:
            self.backend.stats.request("UnknownService")
            self.backend.stats.rejection("UnknownOperationException")
            return unknown_service_response(service, request)(environ, start_response)
        return self._s3(request, environ, start_response)

    def _control(self, request: Request) -> Response:
        found = match(control.ROUTES, request.method, request.path)
        if found is None:
            return Response.json({"message": f"no control route {request.path}"}, status=404)
        (_, _, _, handler), params = found
        try:
            return handler(self.backend, request, **params)
        except ApiError as exc:
            return Response.json({"message": exc.message}, status=exc.status)

    def _bedrock(self, request: Request) -> Response:
        backend = self.backend
        found = match(BEDROCK_ROUTES, request.method, request.path)
        operation = found[0][2] if found else "UnknownOperation"
        backend.stats.request(operation)
        try:
            if found is None:
                raise ApiError(
                    "ResourceNotFoundException",
                    f"no operation {request.method} {request.path}",
                    404,
                )
            (_, _, _, handler), params = found
            backend.faults.check(operation)
            return handler(backend, request, **params)
        except ApiError as exc:
            backend.stats.rejection(exc.code)
            return bedrock.error_response(exc)

    def _sts(self, request: Request) -> Response:
        backend = self.backend
        action = sts.action(request)
        backend.stats.request(action or "UnknownOperation")
        if action != "GetCallerIdentity":
            backend.stats.rejection("InvalidAction")
            return sts.unknown_action(action)
        try:
            backend.faults.check(action)
        except ApiError as exc:
            backend.stats.rejection(exc.code)
            return sts.sts_error(exc)
        return sts.get_caller_identity()

    def _s3(
        self, request: Request, environ: WSGIEnviron, start_response: StartResponse
    ) -> Iterable[bytes]:
        backend = self.backend
        operation = s3_operation(request.method, request.path, request.query)
        backend.stats.request(operation)
        try:
            backend.faults.check(operation)
        except ApiError as exc:
            backend.stats.rejection(exc.code)
            return fault_error(exc, operation)(environ, start_response)
        if operation in WRITE_OPERATIONS:
            bucket, key = s3_bucket_and_key(request.path)
            if bucket in backend.config.read_only_buckets:
                backend.stats.rejection("AccessDenied")
                denied = read_only_error(operation, bucket, key, sts.USER_ARN)
                return denied(environ, start_response)
        app = backend.storage.wsgi_app()
        if operation == "GetObject" and backend.faults.take_download_cut():
            return _cut_response(app, environ, start_response)
        result: Iterable[bytes] = app(environ, start_response)
        return result


def _cut_response(app: Any, environ: WSGIEnviron, start_response: StartResponse) -> Iterator[bytes]:
    """Send the full Content-Length, half the body, then close the connection."""
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    chunks = app(environ, capture)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    status: str = captured["status"]
    headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(status, headers)
    if not status.startswith(("200", "206")):
        yield body
        return
    yield body[: len(body) // 2]
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _handler_class() -> Any:
    from werkzeug.serving import WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        """Per-request access logs go to DEBUG instead of stderr."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            log.debug("%s %s %s", self.command, self.path, code)

    return QuietHandler


class EmulatorServer:
    """A threaded emulator on ``host:port`` (port 0 picks a free one).

    ``start()`` returns once the socket listens; ``url`` is then ready for boto3's
    ``endpoint_url``. Usable as a context manager.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = DEFAULT_SPEED,
        config: EmulatorConfig | None = None,
    ) -> None:
        cfg = (config or EmulatorConfig()).copy()
        if config is None or speed != DEFAULT_SPEED:
            cfg.speed = speed
        self.host = host
        self.port = port
        self.backend = EmulatorBackend(cfg)
        self.app = EmulatorApp(self.backend)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmulatorServer is not started")
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{self._server.server_port}"

    def start(self) -> EmulatorServer:
        from werkzeug.serving import make_server

        if self._server is not None:
            return self
        self.backend.storage.wsgi_app()  # import moto now, not on the first request
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_handler_class()
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="novareel-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.backend.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    speed: float = DEFAULT_SPEED,
    config: EmulatorConfig | None = None,
) -> None:
    """Run an emulator in the foreground until interrupted (the CLI's entry point)."""
    server = EmulatorServer(host=host, port=port, speed=speed, config=config)
    server.start()
    config = server.backend.config
    # Flushed: a parent reading the pipe learns the URL (a port 0 bind) at once.
    print(f"novareel emulator listening on {server.url} (speed {config.speed}x)", flush=True)
    print(
        f"latency {config.latency} x{config.latency_scale:g}, spread {config.latency_spread:g}, "
        f"seed {config.latency_seed}; full quota: {config.quota_error}",
        flush=True,
    )
    print("this is a preview renderer, not a generative model; Ctrl-C to stop", flush=True)
    try:
        if server._thread is not None:
            while server._thread.is_alive():
                server._thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
