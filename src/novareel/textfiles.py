"""Reading and parsing the user's input files (storyboards, batch files).

A missing file, a folder, unreadable bytes: each becomes an InvalidRequestError
naming the file and the kind of file, the same way wherever a command reads one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from novareel.errors import InvalidRequestError, Problem


def read_input_text(path: Path, field: str) -> str:
    """The file's text (UTF-8, a leading BOM dropped), or an error naming ``field``."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidRequestError(
            Problem(field, f"file not found: {path}", value=str(path))
        ) from None
    except IsADirectoryError:
        raise InvalidRequestError(
            Problem(field, f"{path} is a folder, not a file", value=str(path))
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(
            Problem(field, f"{path} cannot be read ({exc})", value=str(path))
        ) from exc


def parse_json_or_yaml(text: str, path: Path, field: str) -> Any:
    """Parse ``text`` as JSON (for ``.json`` files) or YAML (anything else).

    ``.json`` gets the JSON parser for its clearer messages; YAML also reads JSON. Bad
    syntax raises InvalidRequestError naming ``field`` with the line and column.
    """
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRequestError(
                Problem(
                    field,
                    f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                    value=str(path),
                )
            ) from exc
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        hint = _yaml_hint(text, mark.line, reason) if mark else None
        raise InvalidRequestError(
            Problem(field, f"invalid YAML{where}: {reason}", value=str(path)), hint=hint
        ) from exc


#: ``key: value`` on one line (optionally a list item), to suggest quoting the value.
_KEY_VALUE = re.compile(r"^(?P<key>\s*(?:-\s+)?[A-Za-z_][\w.-]*:\s+)(?P<value>.*?)\s*$")


def _yaml_hint(text: str, line: int, reason: str) -> str | None:
    """How to fix the YAML mistake people make most: an unquoted ``: `` in a value.

    ``text: Shot 1: a cat`` reads as a mapping inside a mapping, and YAML says only
    "mapping values are not allowed here"; the hint shows the line and the same line
    with the value quoted.
    """
    if "mapping values are not allowed" not in reason:
        return None
    lines = text.splitlines()
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


__all__ = ["parse_json_or_yaml", "read_input_text"]
