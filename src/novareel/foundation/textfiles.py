"""Reading and parsing the user's input files (storyboards, batch files, images).

A missing file, a folder, unreadable bytes: each becomes an InvalidRequestError
naming the file and the kind of file, the same way wherever a command reads one.

Input files are hostile until read, since an agent or a shared folder may hand over
any path. Three bounds hold for every door (the CLI, the Python API, the MCP server,
batch files and ``storyboard check``), checked before anything is built:

- **Only regular files are opened**, and without blocking: a named pipe (FIFO), a
  device or a socket is refused from its ``stat``, and the file is opened with
  ``O_NONBLOCK`` and checked again from the open descriptor, so a pipe swapped in
  between the two cannot hang the reader (one MCP thread per call, before).
- **A byte cap before parsing**: :data:`MAX_INPUT_BYTES` (4 MiB), from ``stat`` and
  again while reading, so a file that grows cannot get past it.
- **YAML is read by a bounded safe loader**: the event stream is checked before any
  node is composed. Nesting deeper than :data:`MAX_DEPTH` is refused, and so is a
  document whose aliases would add more than :data:`MAX_ALIAS_NODES` values when
  expanded ("billion laughs": ~350 bytes of nested ``*a`` aliases stand for ~387
  million strings; validating or printing them took ~24 GB). Aliases themselves
  stay allowed (``&shot`` / ``*shot`` to repeat a shot's settings is legitimate
  YAML, and the budget is far above any real storyboard or batch file); an alias
  inside the value it names (a recursive document) is refused. JSON has no aliases
  and gets the same depth limit.

The errors name the file, the line when known, and the limit.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from novareel.foundation.errors import InvalidRequestError, Problem

#: The largest storyboard or batch file read (4 MiB): far above a 1000-item batch of
#: long prompts (~1 MB), small enough that libyaml parses it in a few seconds.
MAX_INPUT_BYTES = 4 * 1024 * 1024
#: The deepest nesting of lists and mappings accepted; a storyboard or batch file
#: needs about 6 levels (items, an item, its shots, a shot, its image...).
MAX_DEPTH = 64
#: How many values YAML aliases may add to a document when expanded (each alias
#: counted as a full copy of what it names).
MAX_ALIAS_NODES = 10_000


def file_kind(mode: int) -> str:
    """What a ``stat`` mode is, in words, for a refusal: ``a named pipe (FIFO)``."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_input_bytes(
    path: Path,
    field: str,
    *,
    max_bytes: int = MAX_INPUT_BYTES,
    error: type[InvalidRequestError] = InvalidRequestError,
    value: str | None = None,
) -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``), or ``error``.

    Never blocks: anything but a regular file is refused from ``stat`` before it is
    opened, and the open itself is non-blocking and checked again with ``fstat``.
    ``value`` is the path as the user typed it (the default: ``path``).
    """
    shown = value if value is not None else str(path)

    def refuse(message: str, limit: str | None = None) -> InvalidRequestError:
        return error(Problem(field, message, value=shown, limit=limit))

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise refuse(f"file not found: {shown}") from None
    except OSError as exc:
        raise refuse(f"{shown} cannot be read ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(mode):
        raise refuse(f"{shown} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise _not_regular(refuse, shown, mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise refuse(f"{shown} cannot be read ({exc.strerror or exc})") from exc
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):  # swapped after the stat above
            raise _not_regular(refuse, shown, info.st_mode)
        if info.st_size > max_bytes:
            raise _too_big(refuse, shown, info.st_size, max_bytes)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            try:
                chunk = handle.read(min(1 << 20, max_bytes + 1 - total))
            except OSError as exc:
                raise refuse(f"{shown} cannot be read ({exc.strerror or exc})") from exc
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # it grew while being read
            raise _too_big(refuse, shown, total, max_bytes)
    return b"".join(chunks)


def _not_regular(refuse: Any, shown: str, mode: int) -> InvalidRequestError:
    error: InvalidRequestError = refuse(
        f"{shown} is {file_kind(mode)}, not a regular file; refused without reading it "
        "(reading it could block forever)",
        "a regular file",
    )
    return error


def _too_big(refuse: Any, shown: str, size: int, max_bytes: int) -> InvalidRequestError:
    error: InvalidRequestError = refuse(
        f"{shown} is {size} bytes or more, over the limit of {max_bytes} bytes; refused "
        "before parsing",
        f"<= {max_bytes} bytes",
    )
    return error


def read_input_text(path: Path, field: str, *, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The file's text (UTF-8, a leading BOM dropped), or an error naming ``field``.

    Read through :func:`read_input_bytes`: a regular file of at most ``max_bytes``.
    """
    data = read_input_bytes(path, field, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(
            Problem(field, f"{path} cannot be read ({exc})", value=str(path))
        ) from exc


def parse_json_or_yaml(text: str, path: Path, field: str) -> Any:
    """Parse ``text`` as JSON (for ``.json`` files) or YAML (anything else), bounded.

    ``.json`` gets the JSON parser for its clearer messages; YAML also reads JSON. Bad
    syntax raises InvalidRequestError naming ``field`` with the line and column; so do
    nesting deeper than :data:`MAX_DEPTH` and YAML aliases that would expand past
    :data:`MAX_ALIAS_NODES` values (see the module's docstring).
    """
    if path.suffix.lower() == ".json":
        return load_json(text, path, field)
    return _load_yaml(text, path, field)


def load_json(text: str, path: Path, field: str, *, line: int | None = None) -> Any:
    """``json.loads`` with the depth limit; ``line`` numbers a JSONL line in errors."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # a JSONL line is named by the field already ("line 3"): the column is enough
        where = f"line {exc.lineno}, " if line is None else ""
        raise InvalidRequestError(
            Problem(field, f"invalid JSON at {where}column {exc.colno}: {exc.msg}", value=str(path))
        ) from exc
    except RecursionError:  # the C scanner's own guard, far below MAX_INPUT_BYTES
        deep = True
    except ValueError as exc:  # an integer of more than 4300 digits
        raise _unreadable_value(exc, path, field, line) from None
    else:
        deep = _json_depth_exceeds(data, MAX_DEPTH)
    if deep:
        raise _too_deep(path, field, f"line {line}" if line is not None else None)
    return data


def _json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether lists and dicts nest deeper than ``limit`` (iteratively, no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth + 1 > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep(path: Path, field: str, where: str | None) -> InvalidRequestError:
    at = f" at {where}" if where else ""
    return InvalidRequestError(
        Problem(
            field,
            f"{path}{at}: lists and mappings nest deeper than {MAX_DEPTH} levels; refused "
            "before building anything",
            value=str(path),
            limit=f"<= {MAX_DEPTH} levels of nesting",
        )
    )


#: Above this size a YAML syntax error keeps libyaml's wording instead of being
#: parsed again by the (10x slower) pure-Python parser for PyYAML's usual wording.
_REPARSE_BYTES = 1024 * 1024


def _load_yaml(text: str, path: Path, field: str) -> Any:
    """YAML with the bounds of :func:`_check_yaml_events` checked before composing.

    libyaml (when PyYAML has it) does both passes, ~10x faster than pure Python. The
    messages of syntax errors are PyYAML's own (what the hints and docs quote), found
    by parsing a broken file again in pure Python.
    """
    import yaml

    fast = getattr(yaml, "CSafeLoader", None)
    loader: Any = fast or yaml.SafeLoader
    try:
        _check_yaml_events(yaml.parse(text, Loader=loader), path, field)
        return yaml.load(text, Loader=loader)  # a safe loader
    except yaml.YAMLError as exc:
        error = exc
        if fast is not None and len(text) <= _REPARSE_BYTES:
            try:
                _check_yaml_events(yaml.parse(text, Loader=yaml.SafeLoader), path, field)
                yaml.load(text, Loader=yaml.SafeLoader)  # a safe loader
            except yaml.YAMLError as slow:
                error = slow
        raise _yaml_error(error, text, path, field) from exc
    except InvalidRequestError:  # a bound of _check_yaml_events (also a ValueError)
        raise
    except ValueError as exc:  # an integer of more than 4300 digits (int() refuses it)
        raise _unreadable_value(exc, path, field, None) from None


def _unreadable_value(
    exc: ValueError, path: Path, field: str, line: int | None
) -> InvalidRequestError:
    """A value Python itself refuses to build (a number of thousands of digits)."""
    at = f" at line {line}" if line is not None else ""
    return InvalidRequestError(
        Problem(
            field,
            f"{path}{at} holds a value that cannot be read: {str(exc)[:120]}",
            value=str(path),
            limit="numbers of at most 4300 digits",
        )
    )


def _yaml_error(exc: Any, text: str, path: Path, field: str) -> InvalidRequestError:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    reason = getattr(exc, "problem", None) or str(exc)
    hint = _yaml_hint(text, mark.line, reason) if mark else None
    return InvalidRequestError(
        Problem(field, f"invalid YAML{where}: {reason}", value=str(path)), hint=hint
    )


def _check_yaml_events(events: Any, path: Path, field: str) -> None:
    """Refuse a YAML event stream nested too deep or whose aliases expand too far.

    Works on events (a flat stream, no recursion), before any node is composed: each
    collection counts 1 plus its children, an alias counts the whole (expanded) size
    of what its anchor names, and the sizes aliases add are summed. An alias to a
    collection that is still open would make the document contain itself: refused.
    """
    import yaml

    sizes: dict[str, int] = {}  # anchor -> expanded size of its value
    stack: list[tuple[str | None, int]] = []  # open collections: (anchor, size so far)
    open_anchors: set[str] = set()
    added = 0

    def add(size: int) -> None:
        if stack:
            anchor, so_far = stack[-1]
            stack[-1] = (anchor, so_far + size)

    for event in events:
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _too_deep(path, field, f"line {line}")
            stack.append((event.anchor, 1))
            if event.anchor:
                open_anchors.add(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
                open_anchors.discard(anchor)
            add(size)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(1)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                raise InvalidRequestError(
                    Problem(
                        field,
                        f"{path} at line {line}: alias *{event.anchor} is inside the value "
                        "it names (a document that contains itself); refused",
                        value=str(path),
                        limit="aliases to values defined before them",
                    )
                )
            size = sizes.get(event.anchor or "", 1)  # an unknown one: the composer says so
            added += size
            if added > MAX_ALIAS_NODES:
                raise InvalidRequestError(
                    Problem(
                        field,
                        f"{path} at line {line}: YAML aliases (*{event.anchor}) expand to "
                        f"more than {MAX_ALIAS_NODES} values; refused before building "
                        "anything (a YAML alias bomb)",
                        value=str(path),
                        limit=f"aliases may add <= {MAX_ALIAS_NODES} values",
                    ),
                    hint="Write the repeated values out, or use a batch file's defaults.",
                )
            add(size)


#: ``key: value`` on one line (optionally a list item), to suggest quoting the value.
_KEY_VALUE = re.compile(r"^(?P<key>\s*(?:-\s+)?[A-Za-z_][\w.-]*:\s+)(?P<value>.*?)\s*$")


def _yaml_hint(text: str, line: int, reason: str) -> str | None:
    """How to fix the YAML mistakes people make most: an unquoted ``: `` in a value,
    and a tab used for indentation.

    ``text: Shot 1: a cat`` reads as a mapping inside a mapping, and YAML says only
    "mapping values are not allowed here"; the hint shows the line and the same line
    with the value quoted.
    """
    lines = text.splitlines()
    if "'\\t'" in reason or "\t" in reason:
        # YAML never accepts a tab for indentation, and the message does not say so
        where = next(
            (n for n, row in enumerate(lines) if "\t" in row[: len(row) - len(row.lstrip())]), line
        )
        return (
            f"line {where + 1} is indented with a tab; YAML indents with spaces only: "
            "replace each tab at the start of a line with two spaces (most editors: "
            "'convert indentation to spaces')."
        )
    if "mapping values are not allowed" not in reason:
        return None
    if not 0 <= line < len(lines):
        return None
    shown = lines[line]
    match = _KEY_VALUE.match(shown)
    if match is None or match.group("value")[:1] in ("'", '"'):
        return (
            f"line {line + 1} is {shown.strip()!r}: a ': ' inside a value starts a new "
            "mapping in YAML; put the value in double quotes."
        )
    quoted = match.group("key") + json.dumps(match.group("value"), ensure_ascii=False)
    return (
        f"line {line + 1} is {shown.strip()!r}: a ': ' inside a value starts a new mapping "
        f"in YAML; put the value in double quotes: {quoted.strip()}"
    )


__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_INPUT_BYTES",
    "file_kind",
    "load_json",
    "parse_json_or_yaml",
    "read_input_bytes",
    "read_input_text",
]
