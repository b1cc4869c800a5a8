"""One factory from connection options to clients, for every door.

The command line (``cli.common.open_api``), the MCP server (``mcp_server.session``)
and ``novareel models`` / ``novareel doctor`` used to turn ``--local``,
``--endpoint-url``, ``--profile``, ``--region`` and ``--credentials-file`` into clients
each in its own way, so they drifted (a different retry budget, a region read from
the environment by one and not the other, a different idea of whether the endpoint
was an emulator). They now all call :func:`connect` and only print:

* :class:`Connection` is the options as given (what a person typed);
* :class:`Endpoint` is one opened connection: the local emulator found or started
  once (and stopped by :meth:`Endpoint.close` when this process started it), a
  :class:`~novareel.jobs.VideoGenerator` per use case (:meth:`Endpoint.api`), the
  control-plane clients ``models`` and ``doctor`` ask (:meth:`Endpoint.control_client`),
  and what kind of endpoint answers (:attr:`Endpoint.kind`: the novareel emulator,
  another endpoint, or AWS), so that what an emulator says is never shown as AWS's.

Imports stay lazy: opening a connection loads boto3 only when a client is made.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from novareel.client import AwsClient
    from novareel.client.local import LocalEmulator
    from novareel.jobs import VideoGenerator
    from novareel.preflight import EndpointKind

__all__ = ["CONTROL_MAX_ATTEMPTS", "Connection", "Endpoint", "connect"]

#: Attempts per control-plane call (``models``, ``doctor``): these answer quickly or
#: say why not, rather than retrying for a minute.
CONTROL_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Connection:
    """How to reach Bedrock and S3, as given: the command line's connection options,
    the MCP server's settings, or a Python caller's arguments.

    ``local`` uses the novareel emulator (at ``endpoint_url``, else
    ``NOVAREEL_EMULATOR_URL``, else started in this process); otherwise boto3's usual
    resolution applies, with ``profile``, ``region``, ``endpoint_url`` and
    ``credentials_file`` when given. Secrets are never options.
    """

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    credentials_file: str | None = None
    local: bool = False


class Endpoint:
    """An opened :class:`Connection`: the one place clients are made from options.

    With ``local`` the emulator is found or started on first need (or by
    :meth:`start`) and kept for this object's life, so a job submitted without
    waiting can be waited for by a later call of the same server. ``on_notice`` hears
    the local sandbox's notices (an output bucket created); ``local_hint`` is how
    error hints name the emulator (the CLI's ``--local`` or the API's).
    """

    def __init__(
        self,
        conn: Connection,
        *,
        on_notice: Callable[[str], None] | None = None,
        local_hint: str | None = None,
    ) -> None:
        self.conn = conn
        self.on_notice = on_notice
        self.local_hint = local_hint
        self._emulator: LocalEmulator | None = None
        self._health: dict[str, Any] | None = None
        self._probed = False
        self._control: dict[tuple[str | None, str | None], AwsClient] = {}
        #: the MCP server's tool calls run in threads: one emulator, one probe
        self._lock = threading.Lock()

    # -- lifetime --

    def start(self) -> LocalEmulator | None:
        """Find (or start) the emulator for ``local``, once; None otherwise."""
        with self._lock:
            if self.conn.local and self._emulator is None:
                from novareel.client.local import connect_local

                self._emulator = connect_local(self.conn.endpoint_url)
            return self._emulator

    def close(self) -> None:
        """Stop an emulator this process started (one found running is left alone)."""
        with self._lock:
            if self._emulator is not None:
                self._emulator.close()
                self._emulator = None
            self._control.clear()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what answers --

    @property
    def emulator(self) -> LocalEmulator | None:
        """The local emulator in use (``local`` only, once started)."""
        return self._emulator

    @property
    def url(self) -> str | None:
        """Where the calls go: the emulator's URL (found or started now, for
        ``local``), the endpoint given (or ``AWS_ENDPOINT_URL``), or None for AWS's
        own endpoints."""
        if self.conn.local:
            emulator = self.start()
            return emulator.url if emulator is not None else None
        return self.conn.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def _probe(self) -> dict[str, Any] | None:
        """The emulator's health document when the endpoint is novareel's emulator.

        Asked through :mod:`novareel.client.endpoint_identity` (once per endpoint and
        process, the identity header required), the same answer that prices a job as
        free; AWS's own endpoints are never asked.
        """
        url = self.url
        with self._lock:
            if not self._probed:
                from novareel.client.endpoint_identity import emulator_health

                self._health = emulator_health(url)
                self._probed = True
            return self._health

    @property
    def kind(self) -> EndpointKind:
        """``emulator`` (``local``, or an endpoint that answers as the novareel
        emulator), ``endpoint`` (any other endpoint URL) or ``aws``."""
        if self.conn.local or self._probe() is not None:
            return "emulator"
        return "endpoint" if self.url else "aws"

    @property
    def speed(self) -> float:
        """How much faster than AWS the endpoint runs jobs (an emulator's speed, else
        1.0): the wait schedule follows the expected time, 25x shorter at 25x."""
        if self.conn.local:
            emulator = self.start()
            return emulator.speed if emulator is not None else 1.0
        health = self._probe()
        return float(health.get("speed", 1.0)) if health else 1.0

    # -- clients --

    def client(
        self,
        region: str | None = None,
        *,
        default_region: str | None = None,
        max_attempts: int | None = None,
        control_only: bool = False,
    ) -> AwsClient:
        """A new client for these options.

        ``region`` overrides the connection's ``--region``; ``default_region`` (the
        chosen model's own) is used when neither it nor boto3's configuration names
        one (always with ``local``, whose emulator hosts each model where AWS does).
        The emulator's client gets dummy credentials and none of the machine's AWS
        configuration. ``control_only`` clients (``models``, ``doctor``) skip making
        the emulator's ``novareel-local`` bucket.
        """
        region = region or self.conn.region
        retries: dict[str, Any] = {} if max_attempts is None else {"max_attempts": max_attempts}
        if self.conn.local:
            emulator = self.start()
            assert emulator is not None
            return emulator.client(
                region=region,
                default_region=default_region,
                on_notice=self.on_notice,
                local_hint=self.local_hint,
                local_bucket=not control_only,
                **retries,
            )
        from novareel.client import AwsClient

        return AwsClient(
            profile=self.conn.profile,
            region=region,
            endpoint_url=self.conn.endpoint_url,
            credentials_file=self.conn.credentials_file,
            default_region=default_region,
            local_hint=self.local_hint,
            **retries,
        )

    def control_client(
        self, region: str | None = None, default_region: str | None = None
    ) -> AwsClient:
        """The client ``models`` and ``doctor`` ask, one per (region, default region)
        for this endpoint's life, with few retries (:data:`CONTROL_MAX_ATTEMPTS`)."""
        key = (region, default_region)
        if key not in self._control:
            self._control[key] = self.client(
                region,
                default_region=default_region,
                max_attempts=CONTROL_MAX_ATTEMPTS,
                control_only=True,
            )
        return self._control[key]

    @contextlib.contextmanager
    def api(self, *, region: str | None = None, waits: bool = False) -> Iterator[VideoGenerator]:
        """A :class:`~novareel.jobs.VideoGenerator` for one command or tool call (its own
        ledger connection, closed after).

        ``region`` is the chosen model's own, used when no region is configured.
        ``waits`` says the caller will wait for jobs, so a loopback endpoint is asked
        for its speed (callers that do not wait skip that request and start faster).
        Against an emulator this process started, the jobs are recorded as dying
        with it (``emulator_owned``).
        """
        from novareel.jobs import VideoGenerator

        client = self.client(default_region=region)
        emulator = self._emulator
        if emulator is not None:
            api = VideoGenerator(client, time_scale=emulator.speed, emulator_owned=emulator.owned)
        else:
            api = VideoGenerator(client, time_scale=self.speed if waits else 1.0)
        try:
            yield api
        finally:
            api.close()


@contextlib.contextmanager
def connect(
    conn: Connection | None = None,
    *,
    on_notice: Callable[[str], None] | None = None,
    local_hint: str | None = None,
) -> Iterator[Endpoint]:
    """An :class:`Endpoint` for a block: with ``local`` the emulator is found or
    started now, and stopped when the block ends if this process started it."""
    endpoint = Endpoint(conn or Connection(), on_notice=on_notice, local_hint=local_hint)
    try:
        endpoint.start()
        yield endpoint
    finally:
        endpoint.close()
