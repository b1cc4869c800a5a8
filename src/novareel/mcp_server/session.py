"""The server's connection for its whole life: one :class:`~novareel.running.connection.Endpoint`
(the library's connection factory, the same the command line opens), so the emulator
is found or started once for ``--local`` (a job submitted without waiting can be
waited for by a later call), and a :class:`~novareel.jobs.VideoGenerator` for each call.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from novareel.mcp_server.specs import ServerSettings
from novareel.running.connection import Endpoint

if TYPE_CHECKING:
    from novareel.client.local import LocalEmulator
    from novareel.jobs import VideoGenerator
    from novareel.ledger import Ledger
    from novareel.limits.budget import SessionCap
    from novareel.limits.quota import SharedQuota

__all__ = ["ServerSession"]


class ServerSession:
    """How the tools reach Bedrock (or the emulator), from the server's settings."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        #: the session's cap, set on every call's VideoGenerator so each submit checks it in
        #: the ledger's reservation transaction (set by the tools)
        self.session_cap: SessionCap | None = None
        # The account's quota, one holder for the server's lifetime (its own ledger
        # connection), so a job submitted by one call keeps its slot until a later
        # call sees it end (see _shared_quota).
        self._quota: SharedQuota | None = None
        self._quota_ledger: Ledger | None = None
        self._quota_decided = False
        self._quota_lock = threading.Lock()
        self.endpoint = Endpoint(settings)  # its connection options

    # -- lifetime --

    def start(self) -> None:
        """Find (or start) the emulator for ``--local`` once, for the server's lifetime.

        An emulator started here lives as long as the server, so a job submitted
        without waiting can be waited for by a later call.
        """
        self.endpoint.start()

    def close(self) -> None:
        if self._quota is not None:
            self._quota.close()  # leases of jobs still running expire on their own
        if self._quota_ledger is not None:
            self._quota_ledger.close()
        self.endpoint.close()

    def _shared_quota(self, api: VideoGenerator) -> SharedQuota | None:
        """The server's holder of quota leases (None: ``NOVAREEL_QUOTA=off``, or no
        ledger), made with the first call. Every call's VideoGenerator uses it, so the
        lease a ``generate_video`` takes is given back by whichever later call
        (``wait_job``, ``get_job``) sees the job end."""
        with self._quota_lock:
            if not self._quota_decided:
                from novareel.ledger import Ledger
                from novareel.limits.quota import SharedQuota, quota_settings

                settings = quota_settings()
                if settings.shared and api.ledger is not None:
                    self._quota_ledger = Ledger.open_default()
                    self._quota = SharedQuota(
                        self._quota_ledger,
                        endpoint=api.client.runtime_endpoint,
                        settings=settings,
                    )
                self._quota_decided = True
            return self._quota

    @property
    def _local(self) -> LocalEmulator | None:
        """The emulator in use (``--local``, once started)."""
        return self.endpoint.emulator

    @property
    def emulator_url(self) -> str | None:
        emulator = self.endpoint.emulator
        return emulator.url if emulator is not None else None

    @contextlib.contextmanager
    def api(self, region: str | None = None, *, detached: bool = False) -> Iterator[VideoGenerator]:
        """A VideoGenerator for one call (its own ledger connection, closed after).

        ``region`` is the model's own, used when no ``--region`` or boto3 setting
        names one (always with ``--local``), as the command line's ``open_api`` does:
        both are :meth:`novareel.running.connection.Endpoint.api`.

        ``detached``: the call submits a job it does not wait for. Its quota lease
        is then the call's own, not renewed after the call, so it expires a minute
        later (as a ``generate --no-wait``'s does) unless a later call sees the job
        end first, instead of being held for the server's lifetime.
        """
        with self.endpoint.api(region=region, waits=True) as api:
            api.session_cap = self.session_cap
            if not detached:
                api.quota = self._shared_quota(api)
            yield api
