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
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from typer.core import TyperGroup

from novareel.errors import BudgetExceededError, InvalidRequestError, NovaReelError

#: The order commands appear in ``--help``: the job's life first, then media, then tools.
COMMAND_ORDER = (
    "generate", "status", "wait", "download", "list", "jobs", "batch", "spend",
    "inspect", "contact-sheet", "frame", "image", "storyboard", "camera", "models",
    "doctor", "emulator", "mcp",
)  # fmt: skip


def command_sort_key(name: str) -> tuple[int, str]:
    """Position of a command in ``--help`` (unknown names last, alphabetically)."""
    return (COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(COMMAND_ORDER), name)


class _OrderedGroup(TyperGroup):
    """Lists commands in :data:`COMMAND_ORDER`, whatever order their modules loaded in."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(super().list_commands(ctx), key=command_sort_key)


app = typer.Typer(
    cls=_OrderedGroup,
    name="novareel",
    help="Generate videos with Amazon Nova Reel: validated requests, safe retries, "
    "a job ledger, and a local emulator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


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

            self._console = Console(stderr=True, soft_wrap=True) if self._stderr else Console()
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


#: Human output goes to stdout; notices and warnings to stderr so ``--json`` stays clean.
console = LazyConsole(stderr=False)
err_console = LazyConsole(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

JSON_HELP = "Print one JSON object (or array) with snake_case keys instead of text."


@app.callback()
def _root(
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="More logging (-v info, -vv debug)."
    ),
) -> None:
    """Generate videos with Amazon Nova Reel on Amazon Bedrock."""
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


def error_payload(exc: NovaReelError) -> dict[str, Any]:
    """The JSON shape of an error: type, message, hint, and problems when there are any."""
    payload: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": exc.message,
        "hint": exc.hint,
        "exit_code": exc.exit_code,
    }
    if isinstance(exc, InvalidRequestError):
        payload["problems"] = [p.to_dict() for p in exc.problems]
    if isinstance(exc, BudgetExceededError):
        payload["budget"] = exc.to_dict()
    code = getattr(exc, "code", None)
    if code:
        payload["code"] = code
    result = getattr(exc, "result", None)
    if result is not None and hasattr(result, "to_dict"):
        payload["result"] = result.to_dict()
    return payload


def handle_errors(json_param: str = "json_output") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn novareel exceptions into a message (or JSON) and the class's exit code.

    Every command is wrapped, so exit codes mean the same everywhere: 0 success, 1 job
    failed or timed out, 2 bad input (nothing sent), 3 AWS / network error.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except NovaReelError as exc:
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
