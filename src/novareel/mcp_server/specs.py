"""What the MCP tools take and plan: the server's settings (set by a person), a
video as an agent asks for it, and the checked plan for one call.

Plain values, apart from :mod:`.tools` (which acts on them) so that each room holds
one thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.requests.compose import RequestSpec
from novareel.running.connection import Connection

if TYPE_CHECKING:
    from novareel.jobs.dry_run import DryRun
    from novareel.models import Model, VideoRequest

__all__ = [
    "DEFAULT_WAIT_SECONDS",
    "SENDING_FIELDS",
    "Plan",
    "Progress",
    "ServerSettings",
    "VideoSpec",
]

#: ``progress(done, total, message)``: how a long tool call reports how far it is.
Progress = Callable[[float, "float | None", str], None]

#: How long a tool call waits by default: MCP clients often give up on a call long
#: before a video is ready, so waits are bounded and resumable with ``wait_job``.
DEFAULT_WAIT_SECONDS = 600.0


@dataclass(frozen=True, kw_only=True)
class ServerSettings(Connection):
    """How ``novareel mcp`` was started (only a person sets these): the connection
    options every door takes (a :class:`~novareel.running.connection.Connection`:
    ``local``, ``profile``, ``region``, ``endpoint_url``, ``credentials_file``), and
    the server's own."""

    root: Path
    max_cost_usd: float | str | None = None
    session_max_cost_usd: float | str | None = None
    output_uri: str | None = None
    #: the session whose --session-max-cost every job counts against (None:
    #: NOVAREEL_MCP_SESSION, else one fresh session for this process)
    session: str | None = None


class VideoSpec(RequestSpec):
    """Everything ``generate_video`` and ``estimate_cost`` take: the library's one
    :class:`~novareel.requests.compose.RequestSpec` (every declared option, so the tools' schema
    and this type follow the families' declarations), plus where the video goes and
    how it is sent, which only the server's tools take."""

    __slots__ = ("client_token", "kms_key_id", "output_uri", "tags")

    output_uri: str | None
    kms_key_id: str | None
    tags: dict[str, str] | None
    client_token: str | None

    def __init__(
        self,
        prompt: str | None = None,
        *,
        output_uri: str | None = None,
        kms_key_id: str | None = None,
        tags: dict[str, str] | None = None,
        client_token: str | None = None,
        **request: Any,
    ) -> None:
        super().__init__(prompt, **request)
        setter = object.__setattr__
        setter(self, "output_uri", output_uri)
        setter(self, "kms_key_id", kms_key_id)
        setter(self, "tags", tags)
        setter(self, "client_token", client_token)

    def _fields(self) -> dict[str, Any]:
        sending = {name: getattr(self, name) for name in SENDING_FIELDS}
        return {**super()._fields(), **sending}

    def names_video(self) -> bool:
        """Whether anything to generate was given (else estimate_cost quotes a price)."""
        return any(v is not None for v in (self.prompt, self.shots, self.storyboard, self.image))


#: VideoSpec's own fields (where the video goes, how it is sent), beside the request's.
SENDING_FIELDS = ("output_uri", "kms_key_id", "tags", "client_token")


@dataclass
class Plan:
    """Checked requests for one call, with their model, price and notices."""

    model: Model
    requests: list[VideoRequest]
    per_shot: bool
    notices: list[str] = field(default_factory=list)
    source: str = "generate"

    @property
    def cost_usd(self) -> float:
        return round(sum(r.estimated_cost_usd for r in self.requests), 2)

    def describe(self, preview: DryRun) -> dict[str, Any]:
        """The plan as ``estimate_cost`` answers it: each job as the library's dry run
        shows it (the complete StartAsyncInvoke request, the expected time), the
        total and the notices."""
        jobs = preview.job_dicts()
        for job in jobs:  # the same fields as a submitted job's, minus the run's
            for key in (
                "ledger_id",
                "invocation_arn",
                "invocation_id",
                "submit_time",
                "end_time",
                "local_dir",
                "local_files",
                "failure",
                "notices",
            ):
                job.pop(key, None)
        return {
            "model_id": self.model.model_id,
            "per_shot": self.per_shot,
            "jobs": jobs,
            "duration_seconds": preview.duration_seconds,
            "estimated_cost_usd": preview.estimated_cost_usd,
            "notices": self.notices,
        }
