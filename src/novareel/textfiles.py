"""Reading the user's input files (storyboards, batch files) with errors that say so.

A missing file, a folder, unreadable bytes: each becomes an InvalidRequestError
naming the file and the kind of file, the same way wherever a command reads one.
"""

from __future__ import annotations

from pathlib import Path

from novareel.errors import InvalidRequestError, Problem


def read_input_text(path: Path, field: str) -> str:
    """The file's text (UTF-8, a leading BOM dropped), or an error naming ``field``."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidRequestError(Problem(field, "file not found", value=str(path))) from None
    except IsADirectoryError:
        raise InvalidRequestError(
            Problem(field, "is a folder, not a file", value=str(path))
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(
            Problem(field, f"cannot be read ({exc})", value=str(path))
        ) from exc


__all__ = ["read_input_text"]
