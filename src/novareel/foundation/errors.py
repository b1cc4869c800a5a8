"""The exception tree of novareel.

Every failure a user can meet is one of these, so callers catch novareel types and
never botocore's. botocore and network exceptions are translated in exactly one
place (:mod:`novareel.client`), with the original kept as ``__cause__``.

::

    NovaReelError                      anything novareel raises on purpose
    ├── InvalidRequestError            bad input found locally; nothing was sent   (exit 2)
    │   └── ImageError                 a starting frame that Nova Reel would refuse
    ├── AwsError                       the service or the network said no          (exit 3)
    │   ├── AccessDeniedError          IAM or model access not granted
    │   ├── ServiceValidationError     the service's own ValidationException
    │   ├── NotFoundError              unknown invocation, bucket or key
    │   ├── ConflictError
    │   ├── QuotaExceededError         too many jobs in flight for the account
    │   ├── ThrottledError             too many requests; retry with backoff
    │   ├── ServiceUnavailableError    5xx from the service
    │   └── EndpointError              could not reach the endpoint at all
    ├── JobFailedError                 the job ran and ended Failed               (exit 1)
    ├── WaitTimeoutError               we stopped waiting; the job goes on          (exit 1)
    ├── DownloadError                  an output file could not be fetched safely  (exit 3)
    ├── LedgerError                    the local job ledger could not be used       (exit 2)
    ├── BudgetExceededError            a cost cap or standing budget refused a job (exit 2)
    └── EmulatorError                  the local emulator could not be started/reached (exit 3)

Each class carries ``exit_code``, the number the CLI exits with, so the mapping lives
next to the meaning rather than in a table inside the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AccessDeniedError",
    "AwsError",
    "BudgetExceededError",
    "ConflictError",
    "DownloadError",
    "EmulatorError",
    "EndpointError",
    "ImageError",
    "InvalidRequestError",
    "JobFailedError",
    "LedgerError",
    "NotFoundError",
    "NovaReelError",
    "Problem",
    "QuotaExceededError",
    "ServiceUnavailableError",
    "ServiceValidationError",
    "ThrottledError",
    "WaitTimeoutError",
    "bounded_value",
]


class NovaReelError(Exception):
    """Base of every exception novareel raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class Problem:
    """One thing wrong with an input: which field, what value, which limit.

    Kept as a small value object so that a request with several mistakes reports all
    of them at once instead of one per attempt. ``field`` is the library's name (the
    Python API's keyword, a batch file's key); ``flag`` is set only by the command
    line, to the option the user typed (``--duration`` for ``duration_seconds``), so
    a message speaks the language of whoever made the mistake.
    """

    __slots__ = ("field", "flag", "limit", "message", "value")

    def __init__(
        self,
        field: str,
        message: str,
        *,
        value: Any = None,
        limit: str | None = None,
        flag: str | None = None,
    ):
        self.field = field
        self.message = message
        self.value = value
        self.limit = limit
        self.flag = flag

    def __str__(self) -> str:
        return f"{self.flag or self.field}: {self.message}"

    def __repr__(self) -> str:
        return f"Problem({self.field!r}, {self.message!r})"

    def with_flag(self, flag: str | None) -> Problem:
        """The same problem, named by a command-line flag (None keeps the field)."""
        return Problem(self.field, self.message, value=self.value, limit=self.limit, flag=flag)

    def to_dict(self) -> dict[str, Any]:
        """The problem for JSON (``--json`` errors, the MCP server), bounded in size.

        ``value`` is whatever was given, which may be hostile (a list holding millions
        of items from a YAML alias bomb, a mapping of mappings, megabytes of text), so
        it is cut at every depth by :func:`bounded_value`; ``message`` and ``limit``
        are cut at :data:`MAX_SHOWN_TEXT` characters, since messages quote values too.
        """
        shown: dict[str, Any] = {"flag": self.flag} if self.flag else {}
        return {
            **shown,
            "field": _cut(self.field, MAX_SHOWN_TEXT),
            "message": _cut(self.message, MAX_SHOWN_TEXT),
            "value": bounded_value(self.value),
            "limit": None if self.limit is None else _cut(self.limit, MAX_SHOWN_TEXT),
        }


#: How much of a problem's value is shown: strings of at most 80 characters, at most
#: 10 items per list or mapping, 3 levels deep, 60 values in all.
MAX_VALUE_TEXT = 80
MAX_VALUE_ITEMS = 10
MAX_VALUE_DEPTH = 3
MAX_VALUE_NODES = 60
#: The longest message or limit shown in a JSON problem.
MAX_SHOWN_TEXT = 1000
#: Integers of more digits are shown by their size (Python refuses to print more
#: than 4300 digits, and nobody reads them).
_MAX_INT_DIGITS = 30


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bounded_value(value: Any) -> Any:
    """``value`` made small and JSON-friendly at every depth, for showing a problem.

    Strings are cut to 80 characters, bytes become ``<n bytes>``, lists and tuples
    keep their first 10 items and then say how many more there were, mappings their
    first 10 keys, nesting stops at 3 levels (``<list of n items>``), and the whole
    value holds at most 60 values: so neither a huge nor a self-containing value
    can flood an agent's context or exhaust memory when printed. Plain numbers,
    booleans and None are kept (an integer of thousands of digits by its size);
    anything else is shown as its cut ``str``.
    """
    budget = [MAX_VALUE_NODES]

    def walk(item: Any, depth: int) -> Any:
        budget[0] -= 1
        if item is None or isinstance(item, bool):
            return item
        if isinstance(item, int):
            if item.bit_length() > _MAX_INT_DIGITS * 3.33:
                return f"<integer of about {int(item.bit_length() * 0.30103) + 1} digits>"
            return item
        if isinstance(item, float):
            return item if item == item and item not in (float("inf"), float("-inf")) else str(item)
        if isinstance(item, str):
            return _cut(item, MAX_VALUE_TEXT)
        if isinstance(item, bytes | bytearray | memoryview):
            return f"<{len(item)} bytes>"
        if isinstance(item, Mapping):
            if depth >= MAX_VALUE_DEPTH or budget[0] <= 0:
                return f"<mapping of {len(item)} keys>"
            shown: dict[str, Any] = {}
            for index, (key, child) in enumerate(item.items()):
                if index >= MAX_VALUE_ITEMS or budget[0] <= 0:
                    shown["..."] = f"{len(item) - index} more keys"
                    break
                shown[_cut(str(walk(key, MAX_VALUE_DEPTH)), MAX_VALUE_TEXT)] = walk(
                    child, depth + 1
                )
            return shown
        if isinstance(item, list | tuple | set | frozenset):
            if depth >= MAX_VALUE_DEPTH or budget[0] <= 0:
                return f"<list of {len(item)} items>"
            items: list[Any] = []
            for index, child in enumerate(item):
                if index >= MAX_VALUE_ITEMS or budget[0] <= 0:
                    items.append(f"... {len(item) - index} more items")
                    break
                items.append(walk(child, depth + 1))
            return items
        return _cut(str(item), MAX_VALUE_TEXT)

    return walk(value, 0)


class InvalidRequestError(NovaReelError, ValueError):
    """The request breaks a rule of the Nova Reel contract; it was not sent."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | Problem, *, hint: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        if len(self.problems) == 1:
            message = str(self.problems[0])
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{len(self.problems)} problems in the request:\n{lines}"
        super().__init__(message, hint=hint)

    @property
    def field(self) -> str:
        """The field of the first problem (the one most tests and users look at)."""
        return self.problems[0].field


class ImageError(InvalidRequestError):
    """A starting frame Nova Reel would refuse (size, mode, format, transparency...)."""


class AwsError(NovaReelError):
    """The service, or the network to it, refused or failed the call."""

    exit_code = 3
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        operation: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.operation = operation
        self.status_code = status_code
        self.request_id = request_id


class AccessDeniedError(AwsError):
    """IAM denies the call, or the account has no access to the model."""


class ServiceValidationError(AwsError):
    """The service's ValidationException: input it refused (or blocked by its filters)."""


class NotFoundError(AwsError):
    """The invocation, bucket or object does not exist."""


class ConflictError(AwsError):
    """The service reported a conflicting request."""


class QuotaExceededError(AwsError):
    """Too many jobs in flight for this account and model; a slot must free up."""

    retryable = True


class ThrottledError(AwsError):
    """Too many requests per second; retry later with backoff."""

    retryable = True


class ServiceUnavailableError(AwsError):
    """A 5xx answer: the service failed on its side."""

    retryable = True


class EndpointError(AwsError):
    """The endpoint could not be reached (DNS, refused connection, timeout)."""

    retryable = True


class JobFailedError(NovaReelError):
    """The job ran and ended ``Failed``; ``result`` says which shot, why, what to do."""

    exit_code = 1

    def __init__(self, message: str, *, result: Any, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


class WaitTimeoutError(NovaReelError):
    """We stopped waiting before the job ended; the job itself keeps running."""

    exit_code = 1

    def __init__(self, message: str, *, result: Any, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


class DownloadError(NovaReelError):
    """An output file could not be fetched, or its key would escape the target folder."""

    exit_code = 3


class LedgerError(NovaReelError):
    """The local job ledger could not be opened, migrated or queried."""

    exit_code = 2


class EmulatorError(NovaReelError):
    """The local emulator could not be started or reached."""

    exit_code = 3


class BudgetExceededError(NovaReelError):
    """A job (or a whole command) would cost more than a cap allows; nothing was sent.

    ``limit`` says which cap: ``max_cost`` (the per-command ``--max-cost`` or
    ``VideoGenerator(max_cost_usd=...)``), ``daily`` or ``monthly`` (the standing budget).
    ``asked_usd`` is the estimated AWS price of what was refused, ``limit_usd`` the
    cap, ``spent_usd`` what already counts against it (in ``period``, e.g.
    ``2026-11-27`` or ``2026-11``; the instance's own submits for ``max_cost``) and
    ``remaining_usd`` what is left. ``raise_with`` lists how a person raises the limit
    (a flag, an environment variable, a config key). The message says all of it.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        asked_usd: float,
        limit_usd: float,
        spent_usd: float,
        period: str | None = None,
        raise_with: tuple[str, ...] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit
        self.asked_usd = round(asked_usd, 2)
        self.limit_usd = round(limit_usd, 2)
        self.spent_usd = round(spent_usd, 2)
        self.remaining_usd = round(max(limit_usd - spent_usd, 0.0), 2)
        self.period = period
        self.raise_with = tuple(raise_with)

    #: What :meth:`to_dict` shows, in the order ``--json`` errors and agents see it.
    _JSON_KEYS = ("limit", "asked_usd", "limit_usd", "spent_usd", "remaining_usd", "period")

    def to_dict(self) -> dict[str, Any]:
        """The refusal's numbers, for ``--json`` errors and agents."""
        return {key: getattr(self, key) for key in self._JSON_KEYS} | {
            "raise_with": list(self.raise_with)
        }


def error_payload(exc: NovaReelError) -> dict[str, Any]:
    """The JSON shape of an error (CLI ``--json``, the MCP server): type, message,
    hint, exit code, and the problems, budget or job result when there are any."""
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
