"""Options and helpers shared by the commands that talk to AWS (or the emulator).

Every such command takes the same connection options, builds its :class:`VideoGenerator`
through :func:`open_api`, and draws waits and downloads with the same Rich bars.
Secrets are never options: credentials come from boto3's usual sources.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import typer

from novareel.cli.app import emit_json, err_console, handle_errors, with_flags
from novareel.foundation.display import neutralise
from novareel.foundation.errors import ImageError, InvalidRequestError, Problem
from novareel.foundation.s3uri import OUTPUT_URI_ENV
from novareel.foundation.status import JobStatus
from novareel.running.connection import Connection as Connection  # the options, re-exported

if TYPE_CHECKING:
    from novareel.models import Option
    from novareel.running.connection import Endpoint

PROFILE = typer.Option(None, "--profile", help="AWS profile (as AWS_PROFILE).")
REGION = typer.Option(None, "--region", help="AWS region (default: boto3's, else us-east-1).")
ENDPOINT_URL = typer.Option(
    None, "--endpoint-url", help="Endpoint for Bedrock and S3 (as AWS_ENDPOINT_URL)."
)
CREDENTIALS_FILE = typer.Option(
    None, "--credentials-file", help="Shared credentials file to read (pwsh -ProfileLocation)."
)
LOCAL = typer.Option(
    False,
    "--local",
    help="Use the local emulator (NOVAREEL_EMULATOR_URL, else start one for this command).",
)


#: How ``generate`` spells the fields that are not the request's (where the video goes,
#: how it is sent); the request's come from the declared options (:func:`generate_flags`).
_SEND_FLAGS: dict[str, str] = {
    "output_uri": "--output-uri",
    "kms_key_id": "--kms-key-id",
    "client_token": "--token",
    "token": "--token",
    "no_wait": "--no-wait",
    "tag": "--tag",
    "tags": "--tag",
    "region": "--region",
}


def generate_flags() -> dict[str, str]:
    """How ``generate`` spells each library field on its command line (see
    :func:`novareel.cli.app.flag_for`): every declared option by its flag (and by the
    other names requests use for it, ``duration_seconds``), then the sending options.
    ``shots[]`` is set per run (--shot or --storyboard)."""
    from novareel.models import request_options

    flags: dict[str, str] = {}
    for option in request_options():
        flags[option.name] = option.cli_flag
        for other in option.fields:
            flags.setdefault(other, option.cli_flag)
    return {**flags, **_SEND_FLAGS}


class _LiveFlags(Mapping[str, str]):
    """:func:`generate_flags` read when used, so a family registered after import
    (a test's fake one) has its flags named too."""

    def __getitem__(self, field: str) -> str:
        return generate_flags()[field]

    def __iter__(self) -> Iterator[str]:
        return iter(generate_flags())

    def __len__(self) -> int:
        return len(generate_flags())


#: ``generate``'s field -> flag table (live: derived from the declared options).
GENERATE_FLAGS: Mapping[str, str] = _LiveFlags()


def _cli_param(option: Option) -> tuple[Any, Any]:
    """(Typer parameter, Python type) of one declared option on the command line."""
    if option.argument:
        return typer.Argument(None, help=option.help), option.value_type | None
    if option.kind == "shots":
        return typer.Option([], option.cli_flag, help=option.help), list[str]
    if option.kind == "flag":
        return typer.Option(False, option.cli_flag, help=option.help), bool
    kind = Path if option.kind == "file" else option.value_type
    return typer.Option(None, option.cli_flag, help=option.help), kind | None


class with_request_options:
    """Give ``generate`` every declared request option as a flag, gathered into ``spec``.

    The command declares ``spec: RequestSpec = REQUEST``; Typer sees, in its place, one
    parameter per option of :func:`novareel.models.request_options` (the prompt
    argument, ``--duration``, ``--aspect-ratio``...; each family's own help text),
    built from the declarations every time Typer asks (``__signature__`` is computed),
    so an option a family declares, even one registered after import, is a flag with
    no edit here. Its value reaches the family's request through ``RequestSpec``.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        functools.update_wrapper(self, func)
        self.__dict__.pop("__signature__", None)  # the computed one below wins
        self._func = func

    @property
    def __signature__(self) -> inspect.Signature:
        from novareel.models import request_options

        inner = inspect.signature(self._func)
        own = [p for p in inner.parameters.values() if p.name != "spec"]
        taken = {p.name for p in own}
        added = []
        for option in request_options():
            if option.name in taken:
                raise TypeError(f"option {option.name!r} is also one of the command's own")
            param, hint = _cli_param(option)
            added.append(
                inspect.Parameter(
                    option.name,
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    default=param,
                    annotation=hint,
                )
            )
        keyword = [p for p in own if p.kind == inspect.Parameter.KEYWORD_ONLY]
        positional = [p for p in own if p.kind != inspect.Parameter.KEYWORD_ONLY]
        return inner.replace(parameters=[*added, *positional, *keyword])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from novareel.models import request_options
        from novareel.requests.compose import RequestSpec

        shared: dict[str, Any] = {}
        family: dict[str, Any] = {}
        for option in request_options():
            if option.name not in kwargs:
                continue
            value = kwargs.pop(option.name)
            if option.kind == "shots":
                value = list(value) or None
            elif option.kind == "flag":
                value = value or None  # an unset flag is "not given"
            target = shared if option.name in RequestSpec.__slots__ else family
            target[option.name] = value
        spec = RequestSpec(**shared, options=family)
        return self._func(*args, spec=spec, **kwargs)


class ProblemCollector:
    """Every problem of one command line, gathered before any of them is reported.

    Each check runs in :meth:`check`; an :class:`InvalidRequestError` it raises is
    kept (problems and hint) instead of stopping the command, so ``--duration 7
    --seed -1 --image nope.png`` reports all three. :meth:`raise_if_any` then raises
    one error naming the flags the user typed.
    """

    def __init__(self, flags: Mapping[str, str]) -> None:
        self.flags = dict(flags)
        self.problems: list[Problem] = []
        self.hints: list[str] = []
        self._image_only = True

    def __bool__(self) -> bool:
        return bool(self.problems)

    def add(self, error: InvalidRequestError | Problem) -> None:
        """Keep a problem, or every problem (and the hint) of an error."""
        if isinstance(error, Problem):
            self._image_only = False
            self._keep([error])
            return
        self._image_only = self._image_only and isinstance(error, ImageError)
        self._keep(error.problems)
        if error.hint and error.hint not in self.hints:
            self.hints.append(error.hint)

    def _keep(self, problems: list[Problem]) -> None:
        seen = {(p.field, p.message) for p in self.problems}
        self.problems.extend(p for p in problems if (p.field, p.message) not in seen)

    @contextlib.contextmanager
    def check(self) -> Iterator[None]:
        """Run a check; its InvalidRequestError is collected, not raised."""
        try:
            yield
        except InvalidRequestError as exc:
            self.add(exc)

    def error(self) -> InvalidRequestError:
        """One error with every problem collected, named by flags (an ImageError when
        every problem is about an image, as before)."""
        kind = ImageError if self._image_only else InvalidRequestError
        collected = kind(self.problems, hint=" ".join(self.hints) or None)
        return with_flags(collected, self.flags)

    def raise_if_any(self) -> None:
        if self.problems:
            raise self.error()


#: Placeholder default of a command's ``conn`` parameter; :func:`with_connection`
#: always passes the real one.
CONNECTION = Connection()

#: Placeholder default of ``generate``'s ``spec`` parameter; :class:`with_request_options`
#: always passes the real one.
REQUEST: Any = None

# Real types, not strings: Typer reads them to tell a flag from a valued option.
_CONNECTION_PARAMS: tuple[tuple[str, Any, Any], ...] = (
    ("profile", PROFILE, str | None),
    ("region", REGION, str | None),
    ("endpoint_url", ENDPOINT_URL, str | None),
    ("credentials_file", CREDENTIALS_FILE, str | None),
    ("local", LOCAL, bool),
)

F = TypeVar("F", bound=Callable[..., Any])


def with_connection(func: F) -> F:
    """Give a command the shared connection options, gathered into ``conn``.

    The command declares ``conn: Connection = CONNECTION``; Typer sees, in its place,
    ``--profile``, ``--region``, ``--endpoint-url``, ``--credentials-file`` and
    ``--local``, so every command that talks to AWS takes exactly the same options
    without repeating them.
    """
    signature = inspect.signature(func)
    params = [p for p in signature.parameters.values() if p.name != "conn"]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=hint)
        for name, option, hint in _CONNECTION_PARAMS
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        conn = Connection(**{name: kwargs.pop(name) for name, _, _ in _CONNECTION_PARAMS})
        return func(*args, conn=conn, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return cast(F, wrapper)


def output_uri_option(purpose: str) -> Any:
    """``--output-uri`` of a command whose jobs write to S3 (generate, batch, doctor,
    mcp): ``purpose`` says what the folder is for; the fallbacks, in the order
    :func:`~novareel.foundation.s3uri.resolve_output_uri` takes them for every door
    (``$NOVAREEL_OUTPUT_URI``, then with ``--local`` the emulator's bucket), are
    worded once here."""
    return typer.Option(
        None,
        "--output-uri",
        help=f"{purpose} (else ${OUTPUT_URI_ENV}; --local: the emulator's bucket).",
    )


def connected_command(group: typer.Typer, name: str | None = None) -> Callable[[F], F]:
    """Register a command that talks to AWS or the emulator on ``group``, wrapped the
    one way every such command is: novareel errors become a message and the class's
    exit code (:func:`~novareel.cli.app.handle_errors`, outermost, so a bad connection
    flag is reported like any other), and ``conn`` becomes the shared connection
    options (:func:`with_connection`)."""

    def decorate(func: F) -> F:
        wrapped = cast(F, handle_errors()(with_connection(func)))
        group.command(name)(wrapped)
        return wrapped

    return decorate


@contextlib.contextmanager
def open_endpoint(conn: Connection) -> Iterator[Endpoint]:
    """The library's connection (:func:`novareel.running.connection.connect`) as commands open
    it: the local sandbox's notices on stderr, hints naming ``--local``. An emulator
    started here is stopped when the block ends."""
    from novareel.client import LOCAL_HINT_CLI
    from novareel.running.connection import connect

    with connect(conn, on_notice=cli_notice, local_hint=LOCAL_HINT_CLI) as endpoint:
        yield endpoint


@contextlib.contextmanager
def open_api(
    conn: Connection, *, waits: bool = False, region: str | None = None
) -> Iterator[tuple[Any, Any]]:
    """A :class:`VideoGenerator` for these options, and the local emulator when ``--local``.

    Yields ``(api, local)``; ``local`` is None unless ``--local``. An emulator started
    here is stopped when the block ends. ``waits`` says the command will wait for jobs,
    so a loopback endpoint is asked for its speed (commands that do not wait skip that
    request and start faster). ``region`` is the chosen model's own region, used when
    neither ``--region`` nor boto3's configuration names one (always with ``--local``,
    whose emulator hosts each model where AWS does). With ``--local`` an output bucket
    missing from the emulator is created at the submit, with a notice on stderr.
    Everything but the printing is :class:`novareel.running.connection.Endpoint`'s.
    """
    with open_endpoint(conn) as endpoint, endpoint.api(region=region, waits=waits) as api:
        api.again_hint = "--again"  # a notice names the flag, not the Python keyword
        yield api, endpoint.emulator


def cli_notice(text: str) -> None:
    """A notice on stderr, as the commands print theirs (results stay on stdout)."""
    typer.secho(f"notice: {neutralise(text)}", fg="yellow", err=True)  # may quote a prompt


class JobProgress:
    """The bars of one job, fed by the library's hooks (``on_progress``,
    ``on_download``), each started when its phase begins: the wait bar (kept on the
    screen when done) and then the download bar (gone when done).

    One object serves every command that follows a job (``generate``, ``wait``,
    ``download``, ``jobs retry``), so they show a job alike and each makes one
    library call. Disabled (``--json``), its hooks are None and nothing is drawn.
    """

    def __init__(self, enabled: bool, label: str = "job") -> None:
        self.enabled = enabled
        self.label = label
        self._wait: Any = None
        self._wait_task: Any = None
        self._download: Any = None
        self._download_task: Any = None
        if enabled:
            # Imported now, before anything is sent or polled, not at the first check
            # (when people press Ctrl-C): a KeyboardInterrupt raised inside an exec'd
            # string (rich builds its dataclasses so) makes CPython 3.11 end
            # `python -m novareel` by SIGINT, even though the command handled it.
            import rich.progress  # noqa: F401

    def __enter__(self) -> JobProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def on_progress(self) -> Callable[[Any], None] | None:
        return self._waited if self.enabled else None

    @property
    def on_download(self) -> Callable[[Any], None] | None:
        return self._downloaded if self.enabled else None

    def _waited(self, p: Any) -> None:
        """A :class:`~novareel.foundation.waiting.WaitProgress`: the bar runs from submit to the
        *expected* end; past it, it stays full and says how far over the job is."""
        if self._wait is None:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

            if getattr(p, "source", None):
                # Once, above the bar: the bar's own line stays short enough for 80
                # columns (the status and the timing are never cut).
                err_console.print(
                    f"expected ~{p.expected:,.0f}s ({p.source})", style="dim", highlight=False
                )
            self._wait = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=20),  # the rest of 80 columns for status and timing
                TextColumn("{task.fields[timing]}"),
                console=err_console.real,
                transient=False,
            )
            self._wait_task = self._wait.add_task(self.label, total=1.0, timing="")
            self._wait.start()
        expected = max(p.expected, 1e-9)
        over = p.elapsed - p.expected
        timing = f"{p.elapsed:,.0f}s/~{p.expected:,.0f}s, {p.polls} checks"
        if over > 0 and p.status == JobStatus.IN_PROGRESS:
            timing += f", {over:,.0f}s over"
        self._wait.update(
            self._wait_task,
            completed=min(p.elapsed / expected, 1.0) if p.status == JobStatus.IN_PROGRESS else 1.0,
            description=f"{self.label} [{p.status}]",
            timing=timing,
        )

    def _downloaded(self, p: Any) -> None:
        """A :class:`~novareel.jobs.DownloadProgress`: bytes so far of the total."""
        if self._download is None:
            self._stop_wait()
            from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

            self._download = Progress(
                "download",
                DownloadColumn(),
                TransferSpeedColumn(),
                console=err_console.real,
                transient=True,
            )
            self._download_task = self._download.add_task("download", total=None)
            self._download.start()
        self._download.update(self._download_task, completed=p.done_bytes, total=p.total_bytes)

    def _stop_wait(self) -> None:
        if self._wait is not None:
            self._wait.stop()
            self._wait = None

    def close(self) -> None:
        """Stop whatever bar is drawn (also on Ctrl-C and errors)."""
        self._stop_wait()
        if self._download is not None:
            self._download.stop()
            self._download = None


#: How each status is coloured wherever a job is shown (click and Rich both know
#: these names): green done, red failed or refused, cyan running, yellow unconfirmed.
STATUS_COLOURS: dict[str, str] = {
    JobStatus.COMPLETED: "green",
    JobStatus.FAILED: "red",
    JobStatus.REJECTED: "red",
    JobStatus.IN_PROGRESS: "cyan",
    JobStatus.SUBMITTING: "yellow",
}


def print_result(result: Any, as_json: bool) -> None:
    """One job, as JSON or as a short human summary.

    Plain aligned lines (click's styling, not Rich) so that quick commands such as
    ``status`` do not pay for importing Rich.
    """
    if as_json:
        emit_json(result.to_dict())
        return
    for notice in result.notices:
        cli_notice(notice)
    colour = STATUS_COLOURS.get(result.status)
    rows: list[tuple[str, str]] = [
        ("status", typer.style(result.status, fg=colour, bold=True) if colour else result.status),
        ("job", f"{result.ledger_id or '-'}  {result.invocation_arn or ''}"),
        ("task", f"{result.task_type}  {result.model_id}"),
    ]
    if result.duration_seconds:
        from novareel.foundation.results import format_cost

        cost = format_cost(
            result.estimated_cost_usd,
            local=result.ran_locally,
            refused=result.status == JobStatus.REJECTED,
        )
        rows.append(
            (
                "video",
                f"{result.duration_seconds} s"
                + (f", seed {result.seed}" if result.seed is not None else "")
                + (f", {cost}" if cost else ""),
            )
        )
    if result.output_uri:
        rows.append(("s3", result.output_uri))
    if result.video_path:
        rows.append(("video file", result.video_path))
    elif result.local_dir:
        rows.append(("files", result.local_dir))
    if result.qa:  # the `novareel qa` verdict of the downloaded video
        rows.append(("qa", str(result.qa.get("summary"))))
    if result.failure:
        rows.append(("failure", result.failure.summary()))
        rows.append(("what to do", result.failure.advice))
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        typer.echo(f"{typer.style(key.ljust(width), bold=True)}  {value}")
