"""The MCP wiring: :class:`AgentTools` methods as tools of an ``mcp`` SDK server.

Built with the official SDK's high-level server (``MCPServer``, called ``FastMCP``
before mcp 2). Each tool runs its method in a worker thread (boto3 and SQLite
block), sends MCP progress notifications while it waits, and answers with
structured content: the method's dict on success; on a novareel error a result
marked ``isError`` whose ``error`` holds the type, message, hint, ``problems``
(field, message, value, limit) and, for a spending refusal (``BudgetExceededError``:
the server's caps or the standing budget), ``budget`` (which limit, what was asked,
the limit, what is spent and what remains, how a person raises it).

No ``from __future__ import annotations`` here: the SDK reads the tools' annotations
at registration, so they must be real objects.
"""

import asyncio
import functools
import inspect
import json
import logging
import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from novareel import __version__
from novareel.foundation.errors import BudgetExceededError, InvalidRequestError, NovaReelError
from novareel.mcp_server.specs import DEFAULT_WAIT_SECONDS, SENDING_FIELDS, VideoSpec
from novareel.mcp_server.tools import AgentTools, ShotSpec
from novareel.models import Option, request_options

__all__ = ["build_server", "error_result", "ok_result", "request_parameters"]

log = logging.getLogger("novareel")

INSTRUCTIONS = """\
novareel makes videos with Amazon Bedrock's video models (Amazon Nova Reel, Luma Ray 2).
Every second of video costs money: call estimate_cost first when unsure, and read the
caps in its answer. generate_video checks the whole request before sending anything;
bad input comes back as an error with problems[] naming each field. A job takes
minutes: generate_video returns its id at once unless wait=true; then wait_job (which
downloads the video under the server's root) and get_job. Jobs are kept in a ledger,
so their ids stay valid across server restarts (list_jobs shows them). Local file
paths (images, storyboards, download folders) must lie inside the server's root;
relative paths are taken from it. Spending caps are set by the person who started the
server; a refusal says what remains and cannot be overridden by a tool argument.
"""


class ShotInput(BaseModel):
    """One storyboard shot given inline."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="What the shot shows (English).")
    image: str | None = Field(
        default=None,
        description="Starting frame: a PNG/JPEG path inside the server's root, or s3:// "
        "(Nova Reel).",
    )
    fit: Literal["crop", "pad", "stretch"] | None = Field(
        default=None, description="Convert this shot's image to the model's size."
    )
    bucket_owner: str | None = Field(
        default=None, description="Account id owning the bucket of an s3:// image."
    )


Fit = Literal["crop", "pad", "stretch"]
#: novareel.foundation.status.JobStatus's values, spelled out because the SDK needs a Literal to
#: write the tool's JSON schema (tests/core/test_status.py keeps the two equal).
StatusName = Literal["Submitting", "InProgress", "Completed", "Failed", "Rejected"]

#: What the schema adds to a declared option's help, by kind (the server's own terms).
_SCHEMA_NOTES = {
    "image": " Local paths must lie inside the server's root.",
    "file": " Inside the server's root; check it first with check_storyboard.",
    "shots": " Each entry is a text or {text, image, fit, bucket_owner}; a model without "
    "multi-shot jobs (Luma Ray 2) runs one job per shot, joined (needs wait=true).",
}


def _schema_type(option: Option) -> Any:
    """The JSON-schema type of one declared option (None: not given)."""
    if option.kind == "shots":
        return list[ShotInput | str] | None
    if option.enum_in_schema and option.choices:
        return Literal[option.choices] | None
    return option.value_type | None


def request_parameters() -> list[inspect.Parameter]:
    """One tool parameter per declared option (:func:`novareel.models.request_options`),
    keyed as batch files spell it, typed by its kind and described by its family's help:
    ``generate_video``'s and ``estimate_cost``'s request arguments, derived when the
    server is built, so a registered family's option is in the schema with no edit."""
    return [
        inspect.Parameter(
            option.file_key,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                _schema_type(option),
                Field(description=option.help + _SCHEMA_NOTES.get(option.kind, "")),
            ],
        )
        for option in request_options()
    ]


#: The options check_storyboard takes besides the file: those ``storyboard check`` takes
#: (the model, and what shapes each shot's job and price), each as its family declared it.
STORYBOARD_CHECK_OPTIONS = ("model_id", "duration", "resolution", "aspect_ratio", "seed")


OutputUri = Annotated[
    str | None,
    Field(description="s3://bucket/folder/ for the job's files (default: the server's "
          "--output-uri, NOVAREEL_OUTPUT_URI, or the emulator's bucket with --local)."),
]  # fmt: skip
KmsKeyId = Annotated[str | None, Field(description="KMS key ARN for the output.")]
Tags = Annotated[dict[str, str] | None, Field(description="Tags for the job (key: value).")]
ClientToken = Annotated[
    str | None,
    Field(description="Idempotency token to reuse: the same token never pays twice "
          "(default: a new one, recorded in the ledger before the submit)."),
]  # fmt: skip
JobRef = Annotated[
    str, Field(description="The job: ledger id (as returned in ledger_id), invocation id or ARN.")
]
Out = Annotated[
    str | None,
    Field(description="Download folder inside the server's root (default: the root); "
          "files land in <out>/<invocation-id>/."),
]  # fmt: skip
Timeout = Annotated[
    float,
    Field(description="Stop waiting after this many seconds; the job keeps running and "
          "wait_job picks it up again."),
]  # fmt: skip


def ok_result(payload: dict[str, Any]) -> CallToolResult:
    """A tool's answer: the dict as structured content and as JSON text."""
    text = json.dumps(payload, indent=1, default=str)
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=json.loads(text),
    )


def error_result(exc: NovaReelError) -> CallToolResult:
    """A novareel error as a structured tool error (nothing raised into the SDK)."""
    from novareel.foundation.errors import error_payload

    payload = error_payload(exc)
    if isinstance(exc, BudgetExceededError):
        # One shape for every spending refusal (the server's caps, the standing budget):
        # what was asked, the limit, what is spent and left, and how a person raises it.
        payload["budget"] = {**exc.to_dict(), "how_to_raise": exc.hint}
    lines = [f"error ({type(exc).__name__}): {exc.message}"]
    if isinstance(exc, InvalidRequestError) and len(exc.problems) == 1:
        limit = exc.problems[0].limit
        if limit:
            lines.append(f"allowed: {limit}")
    if exc.hint:
        lines.append(f"hint: {exc.hint}")
    text = json.dumps({"error": payload}, indent=1, default=str)
    return CallToolResult(
        content=[TextContent(type="text", text="\n".join(lines) + "\n" + text)],
        structured_content=json.loads(text),
        is_error=True,
    )


class CallAbandoned(Exception):
    """Raised inside a worker thread whose tool call was cancelled (or whose client
    went away), at its next progress report, so a long wait stops instead of keeping
    the server alive. The job itself goes on and stays in the ledger."""


def _progress(
    ctx: Context, abandoned: threading.Event, loop: asyncio.AbstractEventLoop
) -> Callable[[float, float | None, str], None]:
    """A progress callback, safe from any thread (the worker, or a batch's download
    threads), that sends MCP progress notifications on the server's event loop
    (nothing is sent when the client asked for none) and stops an abandoned call."""

    def report(done: float, total: float | None, message: str) -> None:
        if abandoned.is_set():
            raise CallAbandoned("the tool call was cancelled")
        try:
            sent = asyncio.run_coroutine_threadsafe(ctx.report_progress(done, total, message), loop)
            sent.result(timeout=10)
        except Exception as exc:  # progress is a courtesy; never fail the job for it
            log.debug("progress notification not sent: %s", exc)

    return report


async def _run(
    func: Callable[..., dict[str, Any]], *args: Any, ctx: Context | None = None, **kwargs: Any
) -> CallToolResult:
    """Run a tool's method in a worker thread; a novareel error becomes a tool error.

    A cancelled call returns at once; its thread stops at its next progress report.
    """
    abandoned = threading.Event()
    if ctx is not None:
        kwargs["progress"] = _progress(ctx, abandoned, asyncio.get_running_loop())
    try:
        payload = await anyio.to_thread.run_sync(
            functools.partial(func, *args, **kwargs), abandon_on_cancel=True
        )
    except NovaReelError as exc:
        return error_result(exc)
    finally:
        abandoned.set()
    return ok_result(payload)


def _spec(values: dict[str, Any], **sending: Any) -> VideoSpec:
    """The one spec type from a tool's arguments (shots as the library's ShotSpec)."""
    shots = values.get("shots")
    if shots is not None:
        values = {
            **values,
            "shots": [
                s if isinstance(s, str) else ShotSpec(**s.model_dump(exclude_none=True))
                for s in shots
            ],
        }
    return VideoSpec.from_keys(values, **sending)


def _with_parameters(
    func: Callable[..., Any], before: list[inspect.Parameter], after: list[inspect.Parameter]
) -> Callable[..., Any]:
    """``func`` (taking ``**values``) with the signature the SDK reads to build the
    tool's schema: ``before``, every declared request option, then ``after``."""
    func.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*before, *request_parameters(), *after], return_annotation=CallToolResult
    )
    return func


def _keyword(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def build_server(tools: AgentTools) -> MCPServer[Any]:
    """The MCP server with every novareel tool registered on ``tools``."""
    server: MCPServer[Any] = MCPServer(
        "novareel", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    async def list_models() -> CallToolResult:
        """Every video model novareel can drive: id, aliases, task types, regions,
        price per second (by resolution), lifecycle status and notes; and the default
        model (used when a call names no model_id) with where it was chosen."""
        return await _run(tools.list_models)

    async def estimate_cost(**values: Any) -> CallToolResult:
        """Check a request exactly as generate_video would and price it; sends nothing.
        Returns each job's estimated AWS price, the notices, and whether the server's
        caps allow it. With only model_id and duration (and resolution) it quotes the
        price of that much video."""
        return await _run(tools.estimate_cost, _spec(values))

    server.tool(annotations=read_only)(_with_parameters(estimate_cost, [], []))

    async def check_storyboard(path: str, **values: Any) -> CallToolResult:
        """Every problem of a storyboard file at once (schema, each shot's text and image,
        the request rules), with shot numbers, plus its duration and the estimated cost
        generate_video would pay with the same model_id (default: the file's, else the
        default model) and options."""
        model_id = values.pop("model_id", None)
        names = {o.file_key: o.name for o in request_options()}
        given = {names[k]: v for k, v in values.items() if v is not None}
        return await _run(tools.check_storyboard, path, model_id=model_id, options=given)

    board = _keyword(
        "path",
        Annotated[str, Field(description="A storyboard file (YAML/JSON) inside the root.")],
        inspect.Parameter.empty,
    )
    check_storyboard.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [board, *(p for p in request_parameters() if p.name in STORYBOARD_CHECK_OPTIONS)],
        return_annotation=CallToolResult,
    )
    server.tool(annotations=read_only)(check_storyboard)

    async def generate_video(ctx: Context, **values: Any) -> CallToolResult:
        """Generate a video (this costs money on AWS): checks everything, refuses what
        is over the server's caps, submits, and records the job in the ledger. Every
        model and task: Nova Reel TEXT_VIDEO (prompt, 6 s, optional image),
        MULTI_SHOT_AUTOMATED (prompt, duration 12-120), MULTI_SHOT_MANUAL (shots or
        storyboard); Luma Ray 2 (prompt, duration 5|9, aspect_ratio, resolution, loop,
        image/end_image keyframes). Returns ledger_id, invocation_arn, status, estimated
        cost, files (with wait), notices, and the session's spend."""
        sending = {name: values.pop(name) for name in SENDING_FIELDS}
        run = {name: values.pop(name) for name in ("wait", "download", "out", "timeout")}
        spec = _spec(values, **sending)
        return await _run(tools.generate_video, spec, **run, ctx=ctx)

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Context)
    wait = Annotated[
        bool,
        Field(
            description="Wait for the video (with progress) and download it under the "
            "root. Default false: return the job id at once, then call wait_job."
        ),
    ]
    download = Annotated[bool, Field(description="With wait: download the files (default true).")]
    server.tool(annotations=ToolAnnotations(destructive_hint=False, open_world_hint=True))(
        _with_parameters(
            generate_video,
            [context],
            [
                _keyword("output_uri", OutputUri, None),
                _keyword("kms_key_id", KmsKeyId, None),
                _keyword("tags", Tags, None),
                _keyword("client_token", ClientToken, None),
                _keyword("wait", wait, False),
                _keyword("download", download, True),
                _keyword("out", Out, None),
                _keyword("timeout", Timeout, DEFAULT_WAIT_SECONDS),
            ],
        )
    )

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    async def get_job(job: JobRef) -> CallToolResult:
        """A job's status, asked of the service once; a Failed job is explained (which
        shot, why, what to do)."""
        return await _run(tools.get_job, job)

    @server.tool(annotations=ToolAnnotations(destructive_hint=False, open_world_hint=True))
    async def wait_job(
        ctx: Context,
        job: JobRef,
        timeout: Timeout = DEFAULT_WAIT_SECONDS,
        download: Annotated[
            bool, Field(description="Download the files when it completed (default true).")
        ] = True,
        out: Out = None,
    ) -> CallToolResult:
        """Wait for a job with progress notifications and, when it completed, download its
        files under the root. timed_out=true means it is still running: call again."""
        return await _run(tools.wait_job, job, timeout=timeout, download=download, out=out, ctx=ctx)

    @server.tool(annotations=ToolAnnotations(destructive_hint=False, open_world_hint=True))
    async def download_job(job: JobRef, out: Out = None) -> CallToolResult:
        """Download every file of a finished job into <root>/<out>/<invocation-id>/
        (complete files are not fetched again)."""
        return await _run(tools.download_job, job, out=out)

    @server.tool(annotations=ToolAnnotations(destructive_hint=False, open_world_hint=True))
    async def review_job(
        job: JobRef,
        question: Annotated[
            str | None,
            Field(description="Also ask this; answered in the verdict's `answer` field."),
        ] = None,
    ) -> CallToolResult:
        """Review a Completed job's video with Amazon Nova 2 Lite (costs cents, priced
        first and held against the caps): how well each prompt element or shot is shown,
        visible defects with their time spans, text artefacts, a one-line summary.
        On the local emulator the review is synthetic (built from what it rendered)."""
        return await _run(tools.review_job, job, question=question)

    @server.tool(annotations=read_only)
    async def list_jobs(
        status: Annotated[
            list[StatusName] | None,
            Field(description="Only jobs in these statuses."),
        ] = None,
        since: Annotated[
            str | None,
            Field(description="Submitted at/after: ISO date/time or an age (30m, 12h, 7d)."),
        ] = None,
        limit: Annotated[int, Field(description="At most this many jobs, newest first.")] = 20,
    ) -> CallToolResult:
        """Jobs in the ledger, newest first (no AWS call): every job this server, an
        earlier one or the command line submitted, with status, cost and local files."""
        return await _run(tools.list_jobs, status=status, since=since, limit=limit)

    return server
