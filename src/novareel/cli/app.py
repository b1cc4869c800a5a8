"""The Typer application object and the pieces every command shares.

Commands live in sibling modules (one module per group) and register themselves on
``app``; :mod:`novareel.cli` imports them all. Keeping the shared bits here lets those
modules stay small and independent of each other.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import typer
from typer.core import TyperGroup

from novareel.foundation.errors import InvalidRequestError, NovaReelError, error_payload

#: The order commands appear in ``--help``: the job's life first, then media, then tools.
COMMAND_ORDER = (
    "generate", "status", "wait", "download", "qa", "list", "jobs", "review", "batch", "spend",
    "inspect", "contact-sheet", "frame", "image", "storyboard", "camera", "gallery",
    "models", "doctor", "emulator", "mcp",
)  # fmt: skip


def command_sort_key(name: str) -> tuple[int, str]:
    """Position of a command in ``--help`` (unknown names last, alphabetically)."""
    return (COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(COMMAND_ORDER), name)


class _OrderedGroup(TyperGroup):
    """Lists commands in :data:`COMMAND_ORDER`, whatever order their modules loaded in,
    and accepts ``-v``/``--verbose`` after the subcommand as well as before it."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(super().list_commands(ctx), key=command_sort_key)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_verbose(args, _valued_options(self)))


_VERBOSE = re.compile(r"^(-v+|--verbose)$")


def hoist_verbose(args: list[str], valued: set[str]) -> list[str]:
    """Move ``-v``/``-vv``/``--verbose`` found after the subcommand to before it.

    People add ``-v`` at the end of a command they just ran (``novareel generate ...
    -v``); the option belongs to the root group, so click would refuse it there. A
    token that is the value of an option (``--tag -v``) or follows ``--`` is left
    where it is, and so is everything before the subcommand.
    """
    start = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
    moved: list[str] = []
    kept: list[str] = args[:start]
    after_value_option = False
    for index, token in enumerate(args[start:], start=start):
        if token == "--":
            kept.extend(args[index:])
            break
        if not after_value_option and _VERBOSE.match(token):
            moved.append(token)
        else:
            kept.append(token)
        after_value_option = not after_value_option and token in valued
    return moved + kept


def _valued_options(group: Any) -> set[str]:
    """Every option name, in any command, that takes a value (so ``-v`` after it is
    that value, not a verbosity flag)."""
    names: set[str] = set()
    pending = [group]
    while pending:
        command = pending.pop()
        pending.extend(getattr(command, "commands", {}).values())
        for param in getattr(command, "params", []):
            if getattr(param, "param_type_name", "") != "option":
                continue
            if param.is_flag or param.count:
                continue
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


app = typer.Typer(
    cls=_OrderedGroup,
    name="novareel",
    help="Generate videos with Amazon Bedrock's video models (Nova Reel, Luma Ray 2): "
    "validated requests, safe retries, a job ledger, and a local emulator.",
    no_args_is_help=True,
    # -h as well as --help, on every command (click hands the names down to subcommands)
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=False,
)


def command_group(name: str, help: str, *, runs_alone: bool = False) -> typer.Typer:
    """A group of subcommands under ``novareel <name>``, added to the app.

    ``runs_alone``: the group does something itself when called without a subcommand
    (``novareel jobs`` lists, ``novareel models`` surveys); otherwise it shows its help.
    """
    group = typer.Typer(
        name=name, help=help, no_args_is_help=not runs_alone, invoke_without_command=runs_alone
    )
    app.add_typer(group, name=name)
    return group


class LazyConsole:
    """A Rich console made on first use: importing Rich costs ~20 ms that commands
    printing JSON or plain lines never need to pay."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Any = None

    @property
    def real(self) -> Any:
        """The ``rich.console.Console`` itself (for Progress and Live)."""
        if self._console is None:
            from rich.console import Console

            console = Console(stderr=True, soft_wrap=True) if self._stderr else Console()
            # Rich exits 1 when the reader of a pipe goes away (``novareel jobs | head``);
            # 1 means "a job failed" here, and nothing did: the reader had enough.
            console.on_broken_pipe = reader_went_away  # type: ignore[method-assign]
            self._console = console
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


#: Human output goes to stdout; notices and warnings to stderr so ``--json`` stays clean.
console = LazyConsole(stderr=False)
err_console = LazyConsole(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

JSON_HELP = "Print one JSON object (or array) with snake_case keys instead of text."
#: ``--json`` of every command that prints a result (one wording, one default).
JSON_OUTPUT = typer.Option(False, "--json", help=JSON_HELP)
#: ``--no-qa`` of every command that downloads (generate, wait, download, batch).
NO_QA = typer.Option(
    False,
    "--no-qa",
    help="Do not run `novareel qa` on the downloaded video (its verdict is not stored).",
)


def reader_went_away() -> None:
    """End quietly with exit 0 once the reader of stdout has closed its end.

    ``novareel jobs | head`` closes the pipe after ten lines; the rest of the output
    has nowhere to go, and that is the reader's choice, not an error (exit 1 would
    say a job failed). Further writes, including the interpreter's own flush at exit,
    go to /dev/null so no "Exception ignored ... BrokenPipeError" follows.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(0)


def package_version() -> str:
    """The installed package's version (what pip installed), else the source's own."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("novareel")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from novareel import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"novareel {package_version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        # a count takes no value: no "<int>" and no "[default: 0]" in the help
        metavar="",
        show_default=False,
        help="More logging (-v info, -vv debug); also accepted after the command.",
    ),
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print novareel's version and exit.",
    ),
) -> None:
    """Generate videos with Amazon Bedrock's video models (Nova Reel, Luma Ray 2)."""
    configure_logging(verbose)


def configure_logging(verbose: int) -> None:
    """Log to stderr at the level asked by ``-v`` or ``NOVAREEL_LOG_LEVEL``.

    Only novareel's own logger is raised; botocore's stays at WARNING because its debug
    output includes signed headers. novareel's log lines never carry secrets.
    """
    level_name = os.environ.get("NOVAREEL_LOG_LEVEL", "").upper()
    if verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    elif isinstance(logging.getLevelName(level_name), int):  # a known level name
        level = logging.getLevelName(level_name)
    else:
        level = logging.WARNING
    logger = logging.getLogger("novareel")
    logger.setLevel(level)
    if not any(getattr(h, "_novareel", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._novareel = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def emit_json(payload: Any) -> None:
    """Write one JSON document to stdout (the only thing ``--json`` prints there)."""
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


_SHOT_FIELD = re.compile(r"^shots\[(\d+)\]\.?(.*)$")
_ROOT_FIELD = re.compile(r"^[^.\[]+")


def flag_for(field: str, flags: Mapping[str, str]) -> str | None:
    """The command-line flag a library field was given by, per one command's table.

    ``flags`` maps field names (``duration_seconds``) to flags (``--duration``); a
    nested field falls back to its root (``image.format`` -> ``--image``), and a
    shot's field (``shots[2].text``) to the ``"shots[]"`` entry with the shot number.
    None when the command has no flag for it (the field name is kept).
    """
    if field in flags:
        return flags[field]
    shot = _SHOT_FIELD.match(field)
    if shot and "shots[]" in flags:
        rest = f", {shot.group(2)}" if shot.group(2) else ""
        return f"{flags['shots[]']} (shot {shot.group(1)}{rest})"
    root = _ROOT_FIELD.match(field)
    if root and root.group(0) in flags:
        return flags[root.group(0)]
    return None


def with_flags(exc: InvalidRequestError, flags: Mapping[str, str]) -> InvalidRequestError:
    """The same error, each problem named by the flag the user typed.

    The library keeps its field names (the Python API and batch files use them); only
    the command line re-raises in its own words. Problems already flagged are kept.
    """
    problems = [p if p.flag else p.with_flag(flag_for(p.field, flags)) for p in exc.problems]
    flagged = type(exc)(problems, hint=exc.hint)
    flagged.__cause__ = exc.__cause__
    return flagged


def handle_errors(
    json_param: str = "json_output", *, flags: Mapping[str, str] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn novareel exceptions into a message (or JSON) and the class's exit code.

    Every command is wrapped, so exit codes mean the same everywhere: 0 success, 1 job
    failed or timed out, 2 bad input (nothing sent), 3 AWS / network error. ``flags``
    is the command's field -> flag table (see :func:`flag_for`): bad input is then
    reported with the flags the user typed.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except NovaReelError as exc:
                if flags and isinstance(exc, InvalidRequestError):
                    exc = with_flags(exc, flags)
                if kwargs.get(json_param):
                    emit_json({"error": error_payload(exc)})
                else:
                    from rich.markup import escape

                    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
                    if exc.hint:
                        err_console.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                err_console.print("interrupted")
                raise typer.Exit(130) from None

        return wrapper

    return decorate
