"""The server's connection for its whole life: the emulator found or started once for
``--local`` (so a job submitted without waiting can be waited for by a later call),
and a :class:`~novareel.jobs.NovaReel` for each call, opened as ``cli.common.open_api``
opens one for a command.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from novareel.mcp_server.specs import ServerSettings

if TYPE_CHECKING:
    from novareel.jobs import NovaReel
    from novareel.local import LocalEmulator

__all__ = ["ServerSession"]


class ServerSession:
    """How the tools reach Bedrock (or the emulator), from the server's settings."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self._local: LocalEmulator | None = None
        self._speed: float | None = None

    # -- lifetime --

    def start(self) -> None:
        """Find (or start) the emulator for ``--local`` once, for the server's lifetime.

        An emulator started here lives as long as the server, so a job submitted
        without waiting can be waited for by a later call.
        """
        if self.settings.local and self._local is None:
            from novareel.local import connect_local

            self._local = connect_local(self.settings.endpoint_url)

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None

    @property
    def emulator_url(self) -> str | None:
        return self._local.url if self._local is not None else None

    @contextlib.contextmanager
    def api(self, region: str | None = None) -> Iterator[NovaReel]:
        """A NovaReel for one call (its own ledger connection, closed after).

        ``region`` is the model's own, used when no ``--region`` or boto3 setting
        names one (always with ``--local``), exactly as ``cli.common.open_api`` does.
        """
        from novareel.jobs import NovaReel

        if self.settings.local:
            self.start()
            assert self._local is not None
            local_client = self._local.client(region=self.settings.region, default_region=region)
            # emulator_owned: its jobs die with this server
            api = NovaReel(
                local_client, time_scale=self._local.speed, emulator_owned=self._local.owned
            )
        else:
            from novareel.client import NovaReelClient

            client = NovaReelClient(
                profile=self.settings.profile,
                region=self.settings.region,
                endpoint_url=self.settings.endpoint_url,
                credentials_file=self.settings.credentials_file,
                default_region=region,
            )
            api = NovaReel(client, time_scale=self._endpoint_speed())
        try:
            yield api
        finally:
            api.close()

    def _endpoint_speed(self) -> float:
        """An emulator's speed at a loopback ``--endpoint-url`` (1.0 for AWS), asked once."""
        if self._speed is None:
            from urllib.parse import urlparse

            from novareel.local import probe

            url = self.settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
            health = None
            if url and urlparse(url).hostname in ("127.0.0.1", "localhost", "::1"):
                health = probe(url)
            self._speed = float(health.get("speed", 1.0)) if health else 1.0
        return self._speed
