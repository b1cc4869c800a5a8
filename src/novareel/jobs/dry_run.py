"""What a submit would send, what it would cost and how long it should take: asked
of the library, so that ``generate --dry-run``, :meth:`VideoGenerator.dry_run
<novareel.jobs.VideoGenerator.dry_run>` and the MCP server's estimate answer alike.

Nothing is written and no network call is made. The StartAsyncInvoke request comes
from the client's own builder (:func:`novareel.client.start_async_invoke_params`),
the one a real submit uses, so a dry run cannot drift from what is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from novareel.client import start_async_invoke_params
from novareel.foundation.errors import InvalidRequestError, LedgerError, Problem
from novareel.foundation.results import JobResult
from novareel.foundation.s3uri import OutputLocation, S3Uri, output_location
from novareel.jobs.session import result_of
from novareel.models import VideoRequest

if TYPE_CHECKING:
    from novareel.ledger import Ledger
    from novareel.limits.expectations import Expectation

#: What a dry run shows as the clientRequestToken when no token is fixed.
TOKEN_PLACEHOLDER = "<generated at submit>"
#: The bucket shown when no output location was given at all.
NO_OUTPUT = "<no --output-uri>"


@dataclass(frozen=True)
class DryRun:
    """One planned submit per request (a storyboard on a model without multi-shot is
    several), nothing sent.

    ``results`` are :class:`~novareel.foundation.results.JobResult` with status ``DryRun``;
    ``start_async_invoke`` the complete request each would send (images as path and
    sha256, not bytes); ``problems`` what a submit would refuse around the requests
    (the output location, shown as typed then so the rest can still be seen; an
    explicit region that does not offer the model), with ``hints`` on fixing them.
    """

    results: tuple[JobResult, ...]
    start_async_invoke: tuple[dict[str, Any], ...]
    expectations: tuple[Expectation, ...]
    notices: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = field(default=())
    hints: tuple[str, ...] = ()

    @property
    def estimated_cost_usd(self) -> float:
        """The price of every job together, on AWS."""
        return round(sum(r.estimated_cost_usd or 0.0 for r in self.results), 2)

    @property
    def duration_seconds(self) -> int:
        return sum(r.duration_seconds or 0 for r in self.results)

    def job_dicts(self) -> list[dict[str, Any]]:
        """Each planned job as JSON: its result, expected time and full request."""
        return [
            {**r.to_dict(), **e.to_dict(), "start_async_invoke": s}
            for r, e, s in zip(
                self.results, self.expectations, self.start_async_invoke, strict=True
            )
        ]


def dry_run(
    requests: Sequence[VideoRequest],
    output: OutputLocation | str | None,
    *,
    client_token: str | None = None,
    tags: dict[str, str] | None = None,
    notices: Sequence[str] = (),
    ledger: Ledger | None = None,
    endpoint: str | None = None,
    region: str | None = None,
    local: bool = False,
) -> DryRun:
    """Plan ``requests`` to ``output`` without sending anything.

    ``ledger`` and ``endpoint`` (None: AWS) say where the expected generation times
    are learned from (:mod:`novareel.limits.expectations`). A token fixed for several jobs
    is not shown for each (each shot of a per-shot storyboard derives its own).
    ``region`` is a region chosen explicitly (``--region``): when the registry says
    it does not offer a request's model, that is one of the plan's ``problems``, as
    the submit refuses it (:func:`novareel.jobs.session.region_refusal`), so a dry
    run never says OK to a job the real run refuses before sending. ``local`` says
    the endpoint is novareel's emulator by construction (``--local``): its results
    are priced "$0 here" like the real run's (a dry run asks no endpoint who it is).
    """
    problems: list[Problem] = []
    hints: list[str] = []
    if region:
        from novareel.jobs.session import region_refusal

        for model_id in dict.fromkeys(r.model_id for r in requests):
            refusal = region_refusal(model_id, region)
            if refusal is not None:
                problems.extend(refusal.problems)
                if refusal.hint and refusal.hint not in hints:
                    hints.append(refusal.hint)
    shown_uri: str | None
    if isinstance(output, OutputLocation):
        location, shown_uri = output, str(output.uri)
    else:
        shown_uri = output
        try:
            location = output_location(output or "", notices=[])
            shown_uri = str(location.uri)
        except InvalidRequestError as exc:
            problems.extend(exc.problems)
            # Shown as typed: the bucket/key split is only for the output config's shape.
            bucket, _, key = (output or "").removeprefix("s3://").partition("/")
            location = OutputLocation(S3Uri(bucket or NO_OUTPUT, key))
    shown_token = (
        client_token if client_token is not None and len(requests) == 1 else TOKEN_PLACEHOLDER
    )
    sent = tuple(
        start_async_invoke_params(
            model_id=r.model_id,
            model_input=_as_sent(r.describe()),
            output=location,
            client_token=shown_token,
            tags=tags or None,
        )
        for r in requests
    )
    results = tuple(
        result_of(
            r,
            "DryRun",
            output_uri=shown_uri,
            client_token=client_token,
            notices=tuple(notices),
            request=r.describe(),
            ran_locally=local,
        )
        for r in requests
    )
    from novareel.limits.expectations import expect

    expected = tuple(expect(ledger, r.model_id, r.shape, endpoint=endpoint) for r in requests)
    return DryRun(results, sent, expected, tuple(notices), tuple(problems), tuple(hints))


def _as_sent(described: Any) -> Any:
    """A request's ``describe()`` form as the StartAsyncInvoke ``modelInput`` it stands
    for: each local image as path + sha256 (its bytes elided), without the ``fit`` a
    record keeps so that a retry rebuilds the same bytes. That is not sent, and a
    batch records it even for an image that needed no conversion (its content hashes
    always have), so showing it made one request look different by door."""
    if isinstance(described, dict):
        image = "sha256" in described and "path" in described
        return {k: _as_sent(v) for k, v in described.items() if not (image and k == "fit")}
    if isinstance(described, list):
        return [_as_sent(v) for v in described]
    return described


@contextlib.contextmanager
def existing_ledger() -> Iterator[Ledger | None]:
    """The default ledger if there is one, else None: a dry run reads what was
    learned but never creates a ledger (or its folder)."""
    from novareel.ledger import Ledger
    from novareel.ledger.db import default_path

    ledger = None
    try:
        if default_path().is_file():
            ledger = Ledger(default_path())
    except LedgerError:
        ledger = None
    try:
        yield ledger
    finally:
        if ledger is not None:
            ledger.close()


__all__ = ["NO_OUTPUT", "TOKEN_PLACEHOLDER", "DryRun", "dry_run", "existing_ledger"]
