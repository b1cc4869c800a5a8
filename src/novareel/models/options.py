"""Options, declared once: what a person may ask of a video, and how each door spells it.

Every option of ``novareel generate`` that shapes a video (``--duration``,
``--aspect-ratio``, ``--loop``...) is one :class:`Option`, declared by the family that
takes it (Nova Reel's ``task`` and ``seed`` in :mod:`novareel.models.nova_reel.family`,
Luma Ray 2's ``aspect_ratio`` and ``loop`` in :mod:`novareel.models.luma_ray`) or, for
the options every family shares (the prompt, the starting image, ``fit``, shots, a
storyboard, the model), in :mod:`novareel.models.base`. Like llm's per-model
``Options`` or botocore's shapes, the declaration is the one truth the doors are derived
from:

* the command line: ``generate``'s flags, their help and types (:mod:`novareel.cli.common`);
* the MCP server: the ``generate_video`` / ``estimate_cost`` input schema;
* batch files: the keys an item may use and the type each must have;
* the Python API: the keywords :class:`novareel.requests.compose.RequestSpec` takes.

So a new option is one declaration in its family's module (and the family reading it
from :attr:`~novareel.models.base.GenerateOptions.extra`), nothing else. Values are
still *checked* by the family's request (the contract lives there); a declaration
only says the value's kind, which is what a door needs to parse it, and names it in
each door's words so that a problem reads ``--aspect-ratio`` on the command line and
``items[3].aspect_ratio`` in a batch file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from novareel.foundation.errors import Problem


def is_whole_number(value: object) -> TypeGuard[int]:
    """Whether ``value`` is an int and not a bool: ``True`` is an ``int`` to Python,
    never a length, seed or count to a request (the one test of every such field)."""
    return isinstance(value, int) and not isinstance(value, bool)


__all__ = ["Option", "OptionKind", "as_declared", "merge_options"]

#: What a value is, as a door must parse it:
#: ``text`` a string, ``choice`` a string among ``choices``, ``integer``, ``flag`` a
#: boolean (a bare ``--loop``), ``image`` a PNG/JPEG path or an ``s3://`` URI (read and
#: checked by the builder into a frame), ``file`` a local file path (a storyboard),
#: ``model`` a model id or alias, ``shots`` the inline storyboard (texts, or text + image).
OptionKind = Literal["text", "choice", "integer", "flag", "image", "file", "model", "shots"]

#: Python type a door hands over for each kind (the CLI's and the MCP schema's type).
_TYPES: dict[str, Any] = {
    "text": str,
    "choice": str,
    "integer": int,
    "flag": bool,
    "image": str,
    "file": str,
    "model": str,
}


@dataclass(frozen=True)
class Option:
    """One option a person may give, declared once by the family that takes it.

    ``name`` is the field everywhere inside novareel (``GenerateOptions``, a request's
    problems) and, unless ``key`` says otherwise, the batch-file and MCP key. ``flag``
    is the command-line spelling (default ``--`` + the name with dashes); ``argument``
    makes it the positional argument instead (the prompt). The request classes name a
    problem by ``name`` (the keyword a Python caller typed: ``TextVideo(duration=12)``
    -> ``duration``); ``fields`` are other names a lower library function uses for the
    same thing (``estimate_cost_usd(duration_seconds=...)``, an image reader's
    ``image.bucket_owner``), which :func:`as_declared` turns back into ``name`` so that
    every door says the option by its own spelling of it: :attr:`cli_flag` on the
    command line, :attr:`file_key` in a batch or storyboard file, ``name`` in Python and
    the MCP server. ``choices`` and
    ``default`` are what the help and the MCP schema show; the family's request
    checks them (and says what is allowed) wherever the value came from.
    ``enum_in_schema`` publishes the choices as a JSON-schema enum (an agent cannot
    send anything else); otherwise the family's own check answers, naming the field.
    """

    name: str
    kind: OptionKind
    help: str
    choices: tuple[str, ...] = ()
    default: object = None
    flag: str = ""
    key: str = ""
    fields: tuple[str, ...] = ()
    argument: bool = False
    metavar: str | None = None
    enum_in_schema: bool = False

    @property
    def cli_flag(self) -> str:
        """How the command line spells it (``--aspect-ratio``, or ``PROMPT``)."""
        if self.argument:
            return self.metavar or self.name.upper()
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def file_key(self) -> str:
        """How a batch file and the MCP server spell it."""
        return self.key or self.name

    @property
    def value_type(self) -> Any:
        """The Python type of one value (``list[str]`` for shots on the command line)."""
        return _TYPES.get(self.kind, Any)

    def type_problem(self, where: str, value: object) -> Problem | None:
        """A value of the wrong kind (from a batch file or a JSON caller), named by
        ``where`` (``items[3].duration``); None when the kind is right. Whether the
        value is *allowed* is the family's answer, not this one."""
        if value is None or self.kind == "shots":
            return None
        if self.kind == "flag":
            if not isinstance(value, bool):
                return Problem(where, "must be true or false", value=value)
            return None
        if self.kind == "integer":
            if not is_whole_number(value):
                return Problem(where, "must be an integer", value=value)
            return None
        if self.kind in ("image", "file"):
            if not isinstance(value, str) or not value:
                what = "a path" if self.kind == "file" else "a path or an s3:// URI"
                return Problem(where, f"must be {what}", value=value)
            return None
        if not isinstance(value, str):
            return Problem(where, "must be a string", value=value)
        return None

    def given(self, value: object) -> bool:
        """Whether ``value`` counts as asked for (an unset flag is False, not given)."""
        if self.kind == "flag":
            return value is True
        if self.kind == "shots":
            return bool(value)
        return value is not None


def merge_options(declared: Iterable[Option]) -> list[Option]:
    """One option per name, in first-declared order: the same name declared by two
    families (``duration``) is one flag and one key, its help the families' helps
    joined. Two declarations of one name must agree on the kind and spelling: a
    ``--duration`` that is a number for one model and a word for another could not be
    parsed before the model is known."""
    merged: dict[str, Option] = {}
    for option in declared:
        seen = merged.get(option.name)
        if seen is None:
            merged[option.name] = option
            continue
        if (seen.kind, seen.cli_flag, seen.file_key) != (
            option.kind,
            option.cli_flag,
            option.file_key,
        ):
            raise TypeError(
                f"option {option.name!r} is declared twice with different kinds or "
                f"spellings: {seen.kind} {seen.cli_flag} vs {option.kind} {option.cli_flag}"
            )
        if option.help in seen.help:
            continue
        merged[option.name] = Option(
            name=seen.name,
            kind=seen.kind,
            help=f"{seen.help.rstrip('.')}; {option.help}",
            choices=tuple(dict.fromkeys(seen.choices + option.choices)),
            default=seen.default,
            flag=seen.flag,
            key=seen.key,
            fields=tuple(dict.fromkeys(seen.fields + option.fields)),
            argument=seen.argument,
            metavar=seen.metavar,
            enum_in_schema=seen.enum_in_schema and option.enum_in_schema,
        )
    return list(merged.values())


def as_declared(problems: Iterable[Problem], declared: Iterable[Option]) -> list[Problem]:
    """Problems named by the option they are about: a field another library function
    used for it (one of its ``fields``: ``duration_seconds``) read as the option's
    ``name`` (``duration``), the name the Python API and the MCP server take, from which
    the command line's flag and a file's key are derived in turn. Other problems are
    kept as they are."""
    names = {other: o.name for o in declared for other in o.fields}
    return [
        p
        if p.field not in names
        else Problem(names[p.field], p.message, value=p.value, limit=p.limit, flag=p.flag)
        for p in problems
    ]
