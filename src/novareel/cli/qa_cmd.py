"""``novareel qa``: the technical check of what a video shows, offline.

``novareel qa <job|file>`` decodes the video once and reports black, frozen and
flashing segments, a loop's seam, the first/last frame against the start/end images
and the size, frame rate and length against the request (docs/qa.md). For a ledger job
the expectations come from its recorded request and the verdict is stored (m014); for
a file, only what the options say. Exit codes: 0 clean, 1 findings, 2 bad input.

:func:`qa_rows` is the one "qa" section `jobs show` adds to its table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from novareel.cli.app import JSON_OUTPUT, app, console, emit_json, handle_errors
from novareel.foundation.errors import InvalidRequestError, Problem

#: Items with findings listed in the batch summary (the rest: `jobs show`).
REPORT_ROWS = 20


def qa_rows(verdict: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The "qa" rows of a job's table: the verdict, then one row per finding."""
    if not verdict:
        return []
    from rich.markup import escape

    colour = "green" if verdict.get("verdict") == "clean" else "yellow"
    rows = [("qa", f"[{colour}]{escape(str(verdict.get('verdict')))}[/]")]
    for finding in verdict.get("findings") or []:
        rows.append(("qa finding", escape(finding_line(finding))))
    return rows


def print_batch_qa(items: Sequence[Any]) -> None:
    """The batch summary's qa section: how many videos are clean, and a row per
    finding of the others (item, job, finding)."""
    from rich.markup import escape
    from rich.table import Table

    checked = [i for i in items if i.qa]
    if not checked:
        return
    flagged = [i for i in checked if i.qa.get("findings")]
    console.print(
        f"qa: {len(checked) - len(flagged)} clean, {len(flagged)} with findings"
        f" of {len(checked)} checked",
        highlight=False,
    )
    if not flagged:
        return
    table = Table("#", "item", "job", "qa finding", title="qa findings")
    for item in flagged[:REPORT_ROWS]:
        for finding in item.qa["findings"]:
            table.add_row(
                str(item.number), escape(item.key), str(item.job_id), escape(finding_line(finding))
            )
    console.print(table)
    if len(flagged) > REPORT_ROWS:
        console.print(f"(first {REPORT_ROWS}; every verdict: novareel jobs show <job> --json)")


def finding_line(finding: dict[str, Any]) -> str:
    """``frozen 2.00-3.00 s: 24 frames without motion ... 0.0 (limit 0.25)``."""
    return (
        f"{finding['kind']} {finding['start']:.2f}-{finding['end']:.2f} s: "
        f"{finding['detail']} {finding['measure']:g} (threshold {finding['threshold']:g})"
    )


def _read_image(path: Path | None, flag: str) -> bytes | None:
    if path is None:
        return None
    if not path.is_file():
        raise InvalidRequestError(Problem("image", f"{flag} {path}: no such file", flag=flag))
    return path.read_bytes()


@app.command("qa")
@handle_errors()
def qa_command(
    target: str = typer.Argument(
        ...,
        help="A ledger job (id, invocation id, ARN, client token) or a local video file.",
        show_default=False,
    ),
    start_image: Path | None = typer.Option(
        None, "--start-image", help="File only: the image the first frame should show."
    ),
    end_image: Path | None = typer.Option(
        None, "--end-image", help="File only: the image the last frame should show."
    ),
    loop: bool = typer.Option(
        False, "--loop", help="File only: the video should loop (last frame = first)."
    ),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Check what a video shows: black, frozen, flashes, loop seam, keyframes, size.

    Exit code 0 when clean, 1 with findings, 2 for bad input (no such job or file,
    no downloaded video, not a video).
    """
    from novareel.media.qa import QaExpectations, check_file

    path = Path(target)
    job_id: int | None = None
    if path.is_file():
        want = QaExpectations(
            loop=loop,
            start_image=_read_image(start_image, "--start-image"),
            end_image=_read_image(end_image, "--end-image"),
        )
    else:
        from novareel.jobs.quality import expectations_for
        from novareel.ledger import Ledger
        from novareel.models import video_name

        if start_image or end_image or loop:
            raise InvalidRequestError(
                Problem(
                    "target",
                    "--start-image, --end-image and --loop are for a file; a job's "
                    "come from its recorded request",
                    value=target,
                )
            )
        with Ledger.open_default() as ledger:
            record = ledger.find(target)
        if record is None:
            raise InvalidRequestError(
                Problem(
                    "target",
                    f"{target!r} is neither a file nor a job in the ledger",
                    value=target,
                )
            )
        video = record.downloaded_video(video_name(record.model_id))
        if video is None:
            raise InvalidRequestError(
                Problem(
                    "target",
                    f"job {record.id} has no downloaded video here; run "
                    f"`novareel download {record.id}` first",
                    value=target,
                )
            )
        path, job_id = video, record.id
        want = expectations_for(record.model_id, record.request, record.duration_seconds)
    report = check_file(path, want)
    verdict = report.to_dict()
    if job_id is not None:
        from novareel.ledger import Ledger

        with Ledger.open_default() as ledger:
            ledger.record_qa(job_id, verdict)
        verdict["job"] = job_id
    if json_output:
        emit_json(verdict)
    else:
        from rich.markup import escape

        colour = "green" if report.verdict == "clean" else "yellow"
        console.print(
            f"[bold]{escape(str(path))}[/]: [{colour}]{report.verdict}[/]  "
            f"({report.width}x{report.height}, {report.fps:g} fps, {report.duration:.2f} s; "
            f"checked {', '.join(report.checks)} in {report.cpu_seconds:.2f} s CPU)",
            highlight=False,
            soft_wrap=True,
        )
        for finding in report.findings:
            console.print(f"  {escape(finding_line(finding.to_dict()))}", highlight=False)
    if report.findings:
        raise typer.Exit(1)
