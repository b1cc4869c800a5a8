"""The default model, chosen once: ``NOVAREEL_MODEL``, else ``[defaults]`` in config.toml.

Why: Nova Reel v1:1, the built-in default, reached end of life; a person who moves to
Luma Ray 2 should not have to type ``--model-id luma-ray2 --resolution 540p`` on every
command, in every batch item and every MCP call. Like llm's ``llm models default`` or
AWS's ``AWS_REGION``, the choice is made once::

    # <NOVAREEL_HOME>/config.toml (written by `novareel models default luma-ray2`)
    [defaults]
    model_id = "luma-ray2"
    resolution = "540p"      # the model's usual options, as batch files spell them
    aspect_ratio = "9:16"

Who wins, in order: a model named in the request (``--model-id``, ``model_id`` in a
batch item, an MCP call or a ``RequestSpec``; a storyboard file's ``model_id``), then
``NOVAREEL_MODEL``, then ``[defaults] model_id``, then :data:`novareel.models.DEFAULT_MODEL`.
The usual options in ``[defaults]`` belong to the table's model (its ``model_id``, or
the built-in default when it names none): they fill the options a request on *that*
model leaves out, never an option given, and never a request on another model (Ray 2's
``resolution`` means nothing to Nova Reel).

This module is where that choice is read, for every door:
:func:`novareel.requests.compose.compose_requests` (so the command line, batch files,
the MCP server and ``RequestSpec`` in the Python API honour it), ``storyboard check``,
``models`` and ``doctor``. ``novareel.models`` stays a leaf without I/O:
``get_model(None)`` is still the built-in default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.models import (
    DEFAULT_MODEL,
    Model,
    Option,
    get_model,
    known_names,
    request_options,
)
from novareel.models.base import FIT
from novareel.settings.config import config_path, read_table, write_table

__all__ = [
    "DOCS",
    "MODEL_ENV",
    "TABLE",
    "ModelDefault",
    "check_table",
    "read_defaults",
    "write_default_model",
]

#: The environment variable that overrides the file's model (for one shell or one CI job).
MODEL_ENV = "NOVAREEL_MODEL"
#: The config.toml table holding the default model and its usual options.
TABLE = "defaults"
#: Where a person reads about it (named in errors).
DOCS = "docs/models.md#a-default-model"
#: What ``source`` says of the built-in default.
BUILT_IN = "built-in"

#: The kinds of option a ``[defaults]`` table may hold: settings, not content (a
#: prompt, an image or a storyboard is never a default).
_SETTING_KINDS = ("choice", "integer", "flag")


@dataclass(frozen=True)
class ModelDefault:
    """Which model a request naming none is for, where that came from, and the usual
    options of the ``[defaults]`` table's model."""

    #: the full model id used when a request names none
    model_id: str
    #: ``NOVAREEL_MODEL``, ``<path> [defaults]`` or ``built-in``
    source: str
    #: the config file read (whether or not it exists)
    path: Path
    #: the model the table's options belong to (its ``model_id``, else the built-in)
    options_model: str = DEFAULT_MODEL
    #: the table's usual options, by option name (``resolution``: ``540p``)
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def table_source(self) -> str:
        """How problems name the table: ``/home/me/.novareel/config.toml [defaults]``."""
        return f"{self.path} [{TABLE}]"

    @property
    def short_source(self) -> str:
        """The source in a few words, for a line that must fit 80 columns (the price
        line before a submit): ``NOVAREEL_MODEL``, ``config.toml [defaults]``."""
        if self.source in (MODEL_ENV, BUILT_IN):
            return self.source
        return f"{self.path.name} [{TABLE}]"

    @property
    def is_built_in(self) -> bool:
        return self.source == BUILT_IN

    def options_for(self, model_id: str) -> dict[str, Any]:
        """The usual options to fill in for a request on ``model_id`` (only the
        table's model has any)."""
        return dict(self.options) if model_id == self.options_model else {}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``models default --json``, ``doctor --json``)."""
        return {
            "model_id": self.model_id,
            "source": self.source,
            "config_file": str(self.path),
            "options_model_id": self.options_model if self.options else None,
            "options": dict(self.options),
        }


def setting_options() -> dict[str, Option]:
    """Every option a ``[defaults]`` table may name, by its file key: the registered
    families' settings (choices, numbers, flags) and the shared ``fit``."""
    found = {o.file_key: o for o in request_options() if o.kind in _SETTING_KINDS}
    found[FIT.file_key] = FIT
    return found


def _family_keys(model: Model) -> dict[str, Option]:
    """The settings ``model``'s family takes, by file key (``fit`` for every family)."""
    own = getattr(model.family, "options", ())
    keys = {o.file_key: o for o in own if o.kind in _SETTING_KINDS}
    keys[FIT.file_key] = FIT
    return keys


def check_table(table: Mapping[str, Any], where: str) -> tuple[Model, dict[str, Any]]:
    """The table's model and its options by option name, or InvalidRequestError
    naming ``where`` (the file and table), the key, the value and what is allowed:
    an unknown model, an option the model's family does not take, a value of the
    wrong kind or not among the declared choices."""
    problems: list[Problem] = []
    raw_model = table.get("model_id")
    model = get_model(DEFAULT_MODEL)
    if raw_model is not None:
        if not isinstance(raw_model, str) or not raw_model.strip():
            problems.append(
                Problem(
                    f"{where} model_id",
                    f"{raw_model!r} is not a model id or alias (known: {known_names()})",
                    value=raw_model,
                    limit=known_names(),
                )
            )
        else:
            try:
                model = get_model(raw_model, field=f"{where} model_id")
            except InvalidRequestError as exc:
                raise InvalidRequestError(
                    list(exc.problems), hint=f"`novareel models default --clear` or fix {where}."
                ) from None
    takes = _family_keys(model)
    options: dict[str, Any] = {}
    for key, value in table.items():
        if key == "model_id":
            continue
        named = f"{where} {key}"
        option = takes.get(key)
        if option is None:
            allowed = " | ".join(["model_id", *takes])
            problems.append(
                Problem(
                    named,
                    f"{model.info.name} ({model.model_id}) takes no {key} ({value!r}); "
                    f"allowed keys: {allowed}",
                    value=value,
                    limit=allowed,
                )
            )
            continue
        wrong = option.type_problem(named, value)
        if wrong is not None:
            problems.append(
                Problem(named, f"{wrong.message} (got {value!r})", value=value, limit=option.kind)
            )
            continue
        if option.choices and value not in option.choices:
            problems.append(
                Problem(
                    named,
                    f"{value!r} is not a {model.info.name} {key}; allowed: "
                    + " | ".join(option.choices),
                    value=value,
                    limit=" | ".join(option.choices),
                )
            )
            continue
        options[option.name] = value
    if problems:
        raise InvalidRequestError(problems, hint=f"See {DOCS}.")
    return model, options


def read_defaults(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> ModelDefault:
    """The default model and the table's usual options, checked.

    ``NOVAREEL_MODEL`` (an id or alias; empty counts as unset) overrides the file's
    ``model_id``; a value that names no model is refused, naming the variable. The
    file's table is checked by :func:`check_table` even when the variable overrides
    it, so a mistake in it is found the day it is made.
    """
    # Read without creating NOVAREEL_HOME: composing a request leaves no trace.
    where = path if path is not None else config_path(create_home=False)
    env = os.environ if environ is None else environ
    table = read_table(where, TABLE, ["model_id", *setting_options()], docs=DOCS)
    source = f"{where} [{TABLE}]"
    model, options = check_table(table, source)
    chosen = model.model_id
    origin = source if "model_id" in table else BUILT_IN
    from_env = (env.get(MODEL_ENV) or "").strip()
    if from_env:
        try:
            chosen = get_model(from_env, field=MODEL_ENV).model_id
        except InvalidRequestError as exc:
            raise InvalidRequestError(
                list(exc.problems), hint=f"Unset {MODEL_ENV} or give it a model id or alias."
            ) from None
        origin = MODEL_ENV
    return ModelDefault(
        model_id=chosen, source=origin, path=where, options_model=model.model_id, options=options
    )


def write_default_model(value: str | None, path: Path | None = None) -> ModelDefault:
    """Set ``[defaults] model_id`` (an id or alias, stored as the full id) keeping the
    table's other keys, or, with None, remove the ``[defaults]`` table (the usual
    options belong to the model). The new table is checked before anything is
    written: an option the new model's family does not take is refused, naming it."""
    where = path if path is not None else config_path()
    table = read_table(where, TABLE, ["model_id", *setting_options()], docs=DOCS)
    if value is None:
        write_table(where, TABLE, None, docs=DOCS)
        return read_defaults(where)
    model = get_model(value, field="MODEL")
    new = {"model_id": model.model_id, **{k: v for k, v in table.items() if k != "model_id"}}
    try:
        check_table(new, f"{where} [{TABLE}]")
    except InvalidRequestError as exc:
        raise InvalidRequestError(
            list(exc.problems),
            hint=f"Nothing was written: remove those keys from {where} first, or "
            "`novareel models default --clear` to start over.",
        ) from None
    write_table(where, TABLE, new, docs=DOCS)
    return read_defaults(where)
