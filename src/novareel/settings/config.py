"""``<NOVAREEL_HOME>/config.toml``: novareel's small settings file, read in one place.

Why one reader: the budget (``[budget]``) and the ledger (``[ledger] url``) both
live in this file, and a typo, a missing table or a file that is not TOML must be
reported the same way whoever reads it: an :class:`InvalidRequestError` naming the
file, the table and the key, the value found and what is allowed, before anything
is sent. Each caller names its table and the keys it knows; the values are checked
by the caller, which knows what they mean.

Writing (``novareel models default``) goes through :func:`write_table` only, with
tomlkit, which keeps the rest of the file as the person wrote it: other tables, their
comments, the order of keys. A file that is not valid TOML is never overwritten.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from novareel.foundation.errors import InvalidRequestError, Problem

__all__ = ["CONFIG_NAME", "config_path", "read_table", "true_or_false", "write_table"]

CONFIG_NAME = "config.toml"


def config_path(*, create_home: bool = True) -> Path:
    """``<NOVAREEL_HOME>/config.toml``: novareel's small settings file
    (``create_home=False``: the folder is named, not created)."""
    from novareel.settings.paths import novareel_home

    return novareel_home(create=create_home) / CONFIG_NAME


def read_table(path: Path, table: str, keys: Iterable[str], *, docs: str) -> dict[str, Any]:
    """The ``[table]`` of the config file at ``path`` ({} when the file or table is
    absent), refusing a key not in ``keys`` (with a did-you-mean) and naming ``docs``
    (where the keys are described) when the file is not valid TOML."""
    known = list(keys)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InvalidRequestError(
            Problem(str(path), f"cannot be read: {exc.strerror or exc}", value=str(path))
        ) from exc
    # imported only for a file that exists (most machines have none)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10 (supported): the same parser, from PyPI
        import tomli as tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(
            Problem(str(path), f"is not valid TOML: {exc}", value=str(path), limit="TOML"),
            hint=f"Fix the file or remove it; see {docs} for its keys.",
        ) from exc
    found = data.get(table, {})
    if not isinstance(found, dict):
        raise InvalidRequestError(
            Problem(
                f"{path} {table}", f"must be a table: [{table}]", value=found, limit=f"[{table}]"
            )
        )
    unknown = sorted(set(found) - set(known))
    if unknown:
        import difflib

        guess = difflib.get_close_matches(unknown[0], known, n=1)
        raise InvalidRequestError(
            Problem(
                f"{path} [{table}] {unknown[0]}",
                f"is not a {table} setting" + (f" (did you mean {guess[0]}?)" if guess else ""),
                value=found[unknown[0]],
                limit=" | ".join(known),
            )
        )
    return dict(found)


def true_or_false(value: object, *, field: str) -> bool:
    """A true/false setting read from the file, or a refusal naming ``field``.

    TOML's ``true``/``false`` only: the string ``"false"`` is truthy in Python, so
    accepting it would switch a setting on that the person meant to switch off.
    """
    if not isinstance(value, bool):
        raise InvalidRequestError(
            Problem(field, f"{value!r} is not true or false", value=value, limit="true | false")
        )
    return value


def write_table(path: Path, table: str, values: dict[str, Any] | None, *, docs: str) -> None:
    """Set the ``[table]`` of the config file at ``path`` to ``values`` (None removes
    the table), leaving every other table, comment and key order as it was.

    Keys of the table that are kept keep their comments; the file is replaced
    atomically (a reader never sees half a file) with its permissions kept. A file
    that is not valid TOML is refused rather than overwritten: it may hold the
    person's ``[budget]`` or ``[ledger] url``.
    """
    import os
    import tempfile

    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raw = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(
            Problem(str(path), f"cannot be read: {exc}", value=str(path))
        ) from exc
    try:
        document = tomlkit.parse(raw)
    except TOMLKitError as exc:
        raise InvalidRequestError(
            Problem(str(path), f"is not valid TOML: {exc}", value=str(path), limit="TOML"),
            hint=f"Fix the file first (nothing was written); see {docs} for its keys.",
        ) from exc
    if values is None:
        document.pop(table, None)
    else:
        current = document.get(table)
        if not isinstance(current, dict):
            current = tomlkit.table()
            document[table] = current
        for key in [k for k in current if k not in values]:
            del current[key]
        for key, value in values.items():
            if current.get(key) != value:
                current[key] = value
    text = tomlkit.dumps(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
