"""Keeping an agent's file paths inside one folder, the server's root.

An agent is told what to read and where to write by text it was given (a prompt, a
web page, a file), so a path it passes is not trusted: ``../../.ssh/id_rsa`` as a
"starting frame" would otherwise be read and sent to a paid service. Every local path
a tool takes (images, storyboards and the images they name, download folders) goes
through :meth:`Root.confine`, which resolves ``..`` and symlinks before comparing, so
neither a relative climb, an absolute path nor a link planted inside the root leads
out of it.
"""

from __future__ import annotations

import os
from pathlib import Path

from novareel.foundation.errors import InvalidRequestError, Problem

__all__ = ["ROOT_HINT", "Root", "is_s3_uri"]

#: How a person (not the agent) allows another folder.
ROOT_HINT = (
    "Paths are relative to the server's root. To allow another folder, a person "
    "restarts the server with `novareel mcp --root DIR` (in the MCP client's config)."
)


def is_s3_uri(value: str) -> bool:
    """An ``s3://`` image reference, which is not a local path and is not confined."""
    return value.startswith("s3://")


class Root:
    """The one folder whose files the server may read and write."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        resolved = Path(path).expanduser().resolve()
        if not resolved.is_dir():
            raise InvalidRequestError(
                Problem("root", "is not an existing folder", value=str(path)),
                hint="Pass --root with a folder that exists (default: the current folder).",
            )
        self.path = resolved

    def __repr__(self) -> str:
        return f"Root({str(self.path)!r})"

    def contains(self, path: Path) -> bool:
        """True when ``path`` (already resolved) is the root or inside it."""
        return path == self.path or path.is_relative_to(self.path)

    def confine(self, value: str | os.PathLike[str], field: str) -> Path:
        """``value`` as a resolved path inside the root, or InvalidRequestError on ``field``.

        A relative path is taken from the root (not from the server's working folder);
        ``~`` is not expanded (a home folder is outside the root anyway).
        """
        text = os.fspath(value)
        if not text or "\x00" in text:
            raise InvalidRequestError(
                Problem(field, "must be a non-empty path without NUL bytes", value=text)
            )
        candidate = Path(text)
        if not candidate.is_absolute():
            candidate = self.path / candidate
        resolved = candidate.resolve()  # follows every symlink that exists, folds ".."
        if not self.contains(resolved):
            raise InvalidRequestError(
                Problem(
                    field,
                    f"{text!r} is outside the server's root {self.path}; refused",
                    value=text,
                    limit=f"a path inside {self.path}",
                ),
                hint=ROOT_HINT,
            )
        return resolved

    def relative(self, path: str | os.PathLike[str]) -> str:
        """A path inside the root as the agent would write it (``.`` for the root)."""
        resolved = Path(path).resolve()
        return str(resolved.relative_to(self.path)) if self.contains(resolved) else str(path)
