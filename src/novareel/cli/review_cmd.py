"""``novareel review``: what Amazon Nova 2 Lite sees in a finished video, as fields.

The price is estimated and shown before the call (the video's tokens, the text's and
the answer's at its cap), checked against ``--max-cost`` and the standing budgets,
and the review is recorded in the ledger (``spend`` counts it). On ``--local`` the
emulator answers with a SYNTHETIC review built from what it rendered.
"""

from __future__ import annotations

from typing import Any

import typer

from novareel.cli import max_cost as max_cost_flag
from novareel.cli.app import JSON_OUTPUT, app, console, emit_json, err_console
from novareel.cli.common import CONNECTION, Connection, connected_command, open_api


def review_lines(data: dict[str, Any]) -> list[str]:
    """A review as text lines (``review``, ``jobs show``, ``generate --review``)."""
    verdict = data.get("verdict") or {}
    lines = [
        f"review {data.get('review_id') or ''} by {data.get('model_id')}"
        + (" (synthetic: the local emulator answered)" if data.get("synthetic") else ""),
        f"  summary: {verdict.get('summary') or '(none)'}",
    ]
    if verdict.get("score") is not None:
        lines.append(f"  score: {verdict['score']:.2f}")
    from novareel.ledger.reviews import verdict_items

    marks = {"element": "  - ", "defect": "  ! ", "text-artifact": "  "}
    lines += [marks[kind] + text for kind, text in verdict_items(verdict)]
    if verdict.get("answer"):
        lines.append(f"  answer: {verdict['answer']}")
    if verdict.get("parse_error"):
        lines.append(f"  the answer could not be read as a verdict: {verdict['parse_error']}")
    cost = data.get("cost_usd")
    if cost is not None:
        lines.append(
            f"  {data.get('input_tokens')} input + {data.get('output_tokens')} output tokens, "
            f"${cost:.4f}" + (" on AWS (nothing here)" if data.get("ran_locally") else "")
        )
    return lines


REVIEW_FLAG = typer.Option(
    False,
    "--review",
    help="Review each finished video with Amazon Nova 2 Lite (cents each; counted by "
    "--max-cost, the budgets and spend). Synthetic on --local.",
)


def print_reviews(reviews: list[dict[str, Any]]) -> None:
    """The reviews ``generate --review`` / ``batch --review`` made, as text."""
    for data in reviews:
        if "error" in data:
            err_console.print(
                f"review of job {data['job_id']} not done: {data['error']}",
                markup=False,
                highlight=False,
            )
            continue
        console.print(f"job {data.get('job_id')}:", markup=False, highlight=False)
        for line in review_lines(data):
            console.print(line, markup=False, highlight=False)


@connected_command(app, "review")
def review(
    job: str = typer.Argument(..., help="Ledger id, invocation id or ARN, or a local video file."),
    model_id: str | None = typer.Option(
        None,
        "--model-id",
        help="nova-2-lite (default), or an inference profile id "
        "(us.amazon.nova-2-lite-v1:0, global.amazon.nova-2-lite-v1:0).",
    ),
    question: str | None = typer.Option(
        None, "--question", help="Also ask this; the answer is the verdict's `answer` field."
    ),
    max_tokens: int = typer.Option(2000, "--max-tokens", help="Cap on the answer's tokens."),
    max_cost: str | None = max_cost_flag.MAX_COST,
    conn: Connection = CONNECTION,
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Review a finished video with Amazon Nova 2 Lite: each prompt element, defects, a summary."""
    from novareel.review import plan_review, run_review

    cap = max_cost_flag.parse(max_cost)
    with open_api(conn) as (api, _):
        plan = plan_review(api, job, model_id=model_id, question=question, max_tokens=max_tokens)
        if not json_output:
            err_console.print(
                f"reviewing {plan.video} with {plan.invoke_id}: at most "
                f"~${plan.estimated_cost_usd:.4f} ({plan.input_tokens} input tokens, "
                f"answer capped at {plan.max_tokens})",
                markup=False,
                highlight=False,
            )
        outcome = run_review(api, plan, max_cost=cap)
    data = outcome.to_dict()
    if json_output:
        emit_json(data)
        return
    for line in review_lines(data):
        console.print(line, markup=False, highlight=False)
