"""``--local``: point novareel at the local emulator, starting one if none runs.

A command run with ``--local`` first looks for an emulator at
``NOVAREEL_EMULATOR_URL`` (default ``http://127.0.0.1:5899``). If none answers, it
starts one inside the process for the command's lifetime. Either way the client
gets dummy credentials (real ones are never sent to a local endpoint), the
model's region (us-east-1 for Nova Reel, us-west-2 for Luma Ray 2), and the bucket
``novareel-local`` exists.

The emulator is a sandbox: in local mode (``--local`` and ``VideoGenerator.local()``) an
output bucket that does not exist yet is created just before the submit, with a
notice, so ``--output-uri s3://mybucket --local`` works as typed. The emulator itself
keeps the service's behaviour (a missing bucket is a ValidationException), so plain
boto3 or ``--endpoint-url`` against it still sees what AWS would answer.

An emulator started inside a command dies with it, so a job submitted with
``--no-wait`` from such a command cannot be waited for later: the CLI says so and
suggests ``novareel emulator`` in another terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from novareel.client import AwsClient
from novareel.foundation.errors import EmulatorError, NotFoundError
from novareel.foundation.s3uri import LOCAL_BUCKET, LOCAL_OUTPUT_URI, OutputLocation

log = logging.getLogger("novareel")

EMULATOR_URL_ENV = "NOVAREEL_EMULATOR_URL"
DEFAULT_EMULATOR_URL = "http://127.0.0.1:5899"
# LOCAL_BUCKET and LOCAL_OUTPUT_URI are s3uri's (where resolve_output_uri picks the
# latter), re-exported here where local mode's callers have always found them.
#: Dummy credentials for the emulator: it checks signatures' shape, not secrets.
LOCAL_ACCESS_KEY = "novareel-local"
LOCAL_SECRET_KEY = "novareel-local-secret"


def probe(url: str, timeout: float = 0.5) -> dict[str, Any] | None:
    """The emulator's health document at ``url`` (asked now, for its current speed),
    or None when nothing answers as novareel's emulator: the identity question of
    :mod:`novareel.client.endpoint_identity`, whose kept answer it refreshes."""
    from novareel.client.endpoint_identity import emulator_health

    return emulator_health(url, timeout=timeout, fresh=True)


def notice_to_stderr(text: str) -> None:
    """The default way local mode tells the user what it did: ``notice: ...`` on stderr."""
    print(f"notice: {text}", file=sys.stderr, flush=True)


class LocalClient(AwsClient):
    """A client of the local emulator that creates a missing output bucket at submit.

    Every submit of novareel (``generate``, ``batch``, ``jobs retry``, the Python API)
    goes through :meth:`start_async_invoke`, so this one override makes the sandbox
    behave the same for all of them. Each bucket is checked once per client (a lock
    keeps concurrent batch submits from racing to create it), and ``on_notice`` is
    told when one was created.
    """

    def __init__(self, *, on_notice: Callable[[str], None] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.on_notice = on_notice
        self._known_buckets: set[str] = set()
        self._bucket_lock = threading.Lock()

    def known_buckets(self, buckets: Iterable[str]) -> None:
        """Buckets known to exist (the emulator's health document named them): taken
        as checked, so no HeadBucket is sent for them."""
        with self._bucket_lock:
            self._known_buckets.update(buckets)

    def ensure_output_bucket(
        self, bucket: str, region: str | None = None, *, notify: bool = True
    ) -> bool:
        """Create ``bucket`` (in ``region``, else the client's) unless it exists.

        Returns True when it was created (and, with ``notify``, tells ``on_notice``).
        Only a missing bucket is created: any other answer to HeadBucket (a fault,
        access denied) is raised as it is.
        """
        with self._bucket_lock:
            if bucket in self._known_buckets:
                return False
            created = False
            try:
                self._call("HeadBucket", self.s3.head_bucket, Bucket=bucket)
            except NotFoundError:
                kwargs: dict[str, Any] = {"Bucket": bucket}
                where = region or self.region
                if where != "us-east-1":
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": where}
                self._call("CreateBucket", self.s3.create_bucket, **kwargs)
                created = True
            self._known_buckets.add(bucket)
        if created and notify and self.on_notice is not None:
            self.on_notice(f"created bucket {bucket!r} in the local emulator")
        return created

    def start_async_invoke(
        self, *, output: OutputLocation, region: str | None = None, **kwargs: Any
    ) -> str:
        """StartAsyncInvoke, after making sure the output bucket exists (sandbox only)."""
        self.ensure_output_bucket(output.uri.bucket, region)
        return super().start_async_invoke(output=output, region=region, **kwargs)


@dataclass
class LocalEmulator:
    """A reachable emulator: its URL, speed, and the server if this process owns it."""

    url: str
    speed: float
    server: Any = None
    #: buckets its health document named when it was found: they exist, so a client
    #: checks them without a HeadBucket (or the S3 client, ~55 ms to build, for it)
    buckets: frozenset[str] = frozenset()

    @property
    def owned(self) -> bool:
        """True when the emulator lives inside this process and ends with it."""
        return self.server is not None

    def client(
        self,
        region: str | None = None,
        *,
        default_region: str | None = None,
        on_notice: Callable[[str], None] | None = None,
        local_hint: str | None = None,
        max_attempts: int = 6,
        local_bucket: bool = True,
    ) -> LocalClient:
        """A client for this emulator, with dummy credentials and the local bucket.

        ``region`` is a region the user chose; without one the client uses
        ``default_region`` (the chosen model's, else us-east-1 where Nova Reel runs)
        as a default, so a request for another model still goes to that model's region
        (the emulator hosts each model where AWS does). The caller's AWS settings
        (keys, region, ``AWS_PROFILE``, shared config files) are not used, and
        ``os.environ`` is not changed. ``on_notice`` hears of output buckets created
        for a submit. ``local_bucket`` makes sure ``novareel-local`` exists (clients
        that only ask the control plane skip that call).
        """
        client = LocalClient(
            on_notice=on_notice,
            region=region or default_region or "us-east-1",
            endpoint_url=self.url,
            access_key=LOCAL_ACCESS_KEY,
            secret_key=LOCAL_SECRET_KEY,
            max_attempts=max_attempts,
            local_hint=local_hint,
            isolated=True,
        )
        if region is None:
            # Passed explicitly so the caller's AWS_REGION is not read, yet still a
            # default: VideoGenerator then sends each request to its own model's region.
            client.region_source = "default"
        client.known_buckets(self.buckets)
        if local_bucket:  # documented, so no notice
            client.ensure_output_bucket(LOCAL_BUCKET, notify=False)
        return client

    def close(self) -> None:
        if self.server is not None:
            from novareel.client.endpoint_identity import forget

            self.server.stop()
            self.server = None
            forget(self.url)  # something else may listen there next


@contextlib.contextmanager
def local_client(
    url: str | None = None,
    *,
    region: str | None = None,
    start: bool = True,
    on_notice: Callable[[str], None] | None = notice_to_stderr,
) -> Iterator[tuple[LocalClient, float]]:
    """``(client, speed)`` for a block: the emulator found or started, and stopped after.

    What ``VideoGenerator.local()`` stands on; the command line's ``--local`` does the same
    through :func:`connect_local`.
    """
    emulator = connect_local(url, start=start)
    try:
        yield emulator.client(region=region, on_notice=on_notice), emulator.speed
    finally:
        emulator.close()


def emulator_url(url: str | None = None) -> str:
    """The emulator ``--local`` uses: ``url``, else ``NOVAREEL_EMULATOR_URL``, else
    http://127.0.0.1:5899 (no trailing slash)."""
    return (url or os.environ.get(EMULATOR_URL_ENV) or DEFAULT_EMULATOR_URL).rstrip("/")


def _bucket_names(health: dict[str, Any]) -> frozenset[str]:
    """The bucket names of a health document (none from an emulator too old to send
    them, or anything that is not a list of names)."""
    names = health.get("buckets")
    if not isinstance(names, list):
        return frozenset()
    return frozenset(name for name in names if isinstance(name, str) and name)


def connect_local(url: str | None = None, *, start: bool = True) -> LocalEmulator:
    """Find a running emulator or (with ``start``) start one in this process."""
    url = emulator_url(url)
    health = probe(url)
    if health is not None:
        return LocalEmulator(
            url=url, speed=float(health.get("speed", 1.0)), buckets=_bucket_names(health)
        )
    if not start:
        raise EmulatorError(
            f"no novareel emulator answers at {url}",
            hint="Start one with `novareel emulator` (or set NOVAREEL_EMULATOR_URL).",
        )
    try:
        from novareel.emulator import EmulatorServer
    except ImportError as exc:
        raise EmulatorError(
            f"the local emulator is not installed ({exc.name} is missing)",
            hint="pip install 'novareel[emulator]'",
        ) from exc
    from urllib.parse import urlparse

    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    server = EmulatorServer(host=host, port=parsed.port or 0)
    try:
        server.start()
    except OSError:
        # The default port is taken by something that is not an emulator: any port.
        server = EmulatorServer(host=host, port=0)
        server.start()
    log.info("started an in-process emulator at %s", server.url)
    health = probe(server.url, timeout=5.0) or {}
    return LocalEmulator(
        url=server.url,
        speed=float(health.get("speed", 1.0)),
        server=server,
        buckets=_bucket_names(health),
    )


__all__ = [
    "DEFAULT_EMULATOR_URL",
    "EMULATOR_URL_ENV",
    "LOCAL_BUCKET",
    "LOCAL_OUTPUT_URI",
    "LocalClient",
    "LocalEmulator",
    "connect_local",
    "emulator_url",
    "local_client",
    "notice_to_stderr",
    "probe",
]
