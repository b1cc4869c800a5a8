"""The server's connection for its whole life: one :class:`~novareel.connection.Endpoint`
(the library's connection factory, the same the command line opens), so the emulator
is found or started once for ``--local`` (a job submitted without waiting can be
waited for by a later call), and a :class:`~novareel.jobs.NovaReel` for each call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from novareel.connection import Connection, Endpoint
from novareel.mcp_server.specs import ServerSettings

if TYPE_CHECKING:
    from novareel.budget import SessionCap
    from novareel.jobs import NovaReel
    from novareel.local import LocalEmulator

__all__ = ["ServerSession"]


class ServerSession:
    """How the tools reach Bedrock (or the emulator), from the server's settings."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        #: the session's cap, set on every call's NovaReel so each submit checks it in
        #: the ledger's reservation transaction (set by the tools)
        self.session_cap: SessionCap | None = None
        self.endpoint = Endpoint(
            Connection(
                profile=settings.profile,
                region=settings.region,
                endpoint_url=settings.endpoint_url,
                credentials_file=settings.credentials_file,
                local=settings.local,
            )
        )

    # -- lifetime --

    def start(self) -> None:
        """Find (or start) the emulator for ``--local`` once, for the server's lifetime.

        An emulator started here lives as long as the server, so a job submitted
        without waiting can be waited for by a later call.
        """
        self.endpoint.start()

    def close(self) -> None:
        self.endpoint.close()

    @property
    def _local(self) -> LocalEmulator | None:
        """The emulator in use (``--local``, once started)."""
        return self.endpoint.emulator

    @property
    def emulator_url(self) -> str | None:
        emulator = self.endpoint.emulator
        return emulator.url if emulator is not None else None

    @contextlib.contextmanager
    def api(self, region: str | None = None) -> Iterator[NovaReel]:
        """A NovaReel for one call (its own ledger connection, closed after).

        ``region`` is the model's own, used when no ``--region`` or boto3 setting
        names one (always with ``--local``), as the command line's ``open_api`` does:
        both are :meth:`novareel.connection.Endpoint.api`.
        """
        with self.endpoint.api(region=region, waits=True) as api:
            api.session_cap = self.session_cap
            yield api
