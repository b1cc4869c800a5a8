"""One card per job: escaped HTML built from strings.

Every piece of user or ledger text goes through :func:`escape` (``html.escape`` with
quotes; ``_e`` for short), so a prompt such as ``"><img src=x onerror=...>`` shows up
as those characters and never as markup, and a bidi override as ``<U+202E>``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from novareel.foundation.display import neutralise
from novareel.foundation.results import advice_for, format_cost
from novareel.foundation.status import JobStatus
from novareel.gallery.media import JoinedStoryboard, MediaLinks, _Media
from novareel.gallery.request import _Described, describe_request
from novareel.ledger import BatchRecord, JobRecord
from novareel.ledger.reviews import ReviewRecord, verdict_items
from novareel.models import find_model


def escape(value: object) -> str:
    """Escape any text for HTML content and attribute values (quotes included), with
    bidi overrides and control characters shown as ``<U+202E>``
    (:func:`novareel.foundation.display.neutralise`): a prompt reads as it was sent."""
    return html.escape(neutralise(str(value)), quote=True)


_e = escape  # short: it stands in nearly every f-string below


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    utc = value.astimezone(timezone.utc)
    return (
        f'<time datetime="{_e(utc.isoformat())}">{_e(utc.strftime("%Y-%m-%d %H:%M:%S"))} UTC</time>'
    )


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _cost(record: JobRecord) -> str:
    """The cost line, in the words of every other door (``format_cost``)."""
    return format_cost(
        record.estimated_cost_usd,
        local=record.ran_locally,
        refused=record.status == JobStatus.REJECTED,
        never_sent=record.not_sent,
    )


def _player_html(media: _Media, label: str) -> str:
    """The card's top half: the player (with its poster), else why there is none."""
    if media.video_src is None:
        return f'<div class="no-player"><p>{_e(media.video_note)}</p></div>'
    poster = f' poster="{_e(media.poster)}"' if media.poster else ""
    return (
        f'<video class="player" controls playsinline preload="metadata"{poster}'
        f' src="{_e(media.video_src)}" aria-label="{_e(label)}"></video>'
    )


def _facts_html(rows: list[tuple[str, str]], media: _Media, sheet_label: str) -> str:
    """The facts list (``rows`` already escaped) and the contact sheet, if any."""
    facts = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    html_text = f'<dl class="facts">{facts}</dl>'
    if media.sheet is not None:
        html_text += (
            '<details class="sheet"><summary>Contact sheet</summary>'
            f'<a href="{_e(media.sheet)}"><img src="{_e(media.sheet)}" loading="lazy"'
            f' alt="{_e(sheet_label)}"></a></details>'
        )
    return html_text


class CardBuilder:
    """Writes the cards of one page; :class:`MediaLinks` decides each card's media."""

    def __init__(
        self,
        media: MediaLinks,
        *,
        now: datetime,
        reviews: Mapping[int, ReviewRecord] | None = None,
    ) -> None:
        self.media = media
        self.now = now
        #: The newest Completed review of each job (``novareel review``), by job id.
        self.reviews = dict(reviews or {})

    def failure_html(self, record: JobRecord) -> str:
        if record.status not in (JobStatus.FAILED, JobStatus.REJECTED):
            return ""
        where = f" at shot {record.failure_shot}" if record.failure_shot else ""
        kind = f" ({record.failure_type})" if record.failure_type else ""
        title = (
            "Refused at submit" if record.status == JobStatus.REJECTED else f"Failed{where}{kind}"
        )
        message = record.failure_message or "no message was recorded"
        if record.status == JobStatus.REJECTED:
            # the hint said when it was refused (accept the agreement...), if recorded
            specific = record.failure_advice or "Fix the request and submit a new job."
            advice = f"Nothing was charged. {specific}"
        else:  # the one failure-from-a-row rule (JobRecord.failure), with its advice
            advice = record.failure.advice if record.failure else advice_for(None, None)
        return (
            '<div class="failure" role="note">'
            f'<p class="failure-title">{_e(title)}</p>'
            f'<p class="failure-message">{_e(message)}</p>'
            f'<p class="failure-advice">{_e(advice)}</p>'
            "</div>"
        )

    @staticmethod
    def qa_badge(record: JobRecord) -> str:
        """The `novareel qa` verdict as a badge ("qa clean" / "qa: 2 findings"), the
        summary as its tooltip; nothing for a video never checked."""
        if not record.qa:
            return ""
        findings = record.qa.get("findings") or []
        kind = "clean" if not findings else "findings"
        text = "qa clean" if not findings else f"qa: {len(findings)} finding(s)"
        return (
            f'<span class="qa-badge qa-{kind}" title="{_e(record.qa.get("summary", ""))}">'
            f"{_e(text)}</span>"
        )

    @staticmethod
    def qa_findings_html(record: JobRecord) -> str:
        """Each finding of the verdict: kind, time span, measure against its threshold."""
        findings = (record.qa or {}).get("findings") or []
        if not findings:
            return ""
        items = "".join(
            f"<li>{_e(f.get('kind'))} {float(f.get('start', 0)):.2f}"
            f"-{float(f.get('end', 0)):.2f} s: {_e(f.get('detail'))} {_e(f.get('measure'))}"
            f" (threshold {_e(f.get('threshold'))})</li>"
            for f in findings
        )
        return (
            '<details class="qa-list" open><summary>qa findings</summary>'
            f"<ul>{items}</ul></details>"
        )

    def card(self, record: JobRecord, batches: dict[int, BatchRecord]) -> tuple[str, bool]:
        media = self.media.media_for(record)
        described = describe_request(record.request)
        model = find_model(record.model_id)
        model_name = model.info.name if model is not None else record.model_id
        status_class = re.sub(r"[^a-z]", "", record.status.lower()) or "unknown"

        parts: list[str] = [
            f'<article class="card status-{status_class}" id="job-{record.id}"'
            f' data-status="{_e(record.status)}" data-model="{_e(record.model_id)}"'
            f' data-batch="{_e(record.batch_id if record.batch_id is not None else "")}">'
        ]
        parts.append(_player_html(media, f"video of job {record.id}"))

        parts.append('<div class="body">')
        parts.append(
            '<header class="card-head">'
            f'<span class="badge">{_e(record.status)}</span>'
            f"<h2>Job {record.id}</h2>"
            f'<span class="model" title="{_e(record.model_id)}">{_e(model_name)}</span>'
            f"{self.qa_badge(record)}"
            "</header>"
        )
        parts.append(self.failure_html(record))
        parts.append(self.qa_findings_html(record))
        parts.append(self._text_html(described))

        rows: list[tuple[str, str]] = [
            ("model", _e(record.model_id)),
            ("task", _e(record.task_type)),
        ]
        if record.duration_seconds is not None:
            rows.append(("duration", _e(f"{record.duration_seconds} s")))
        if record.seed is not None:
            rows.append(("seed", _e(record.seed)))
        rows.extend((_e(name), _e(value)) for name, value in described.settings)
        rows.extend((_e(where), _e(source)) for where, source in described.images)
        rows.append(("cost", _e(_cost(record))))
        rows.extend(self._time_rows(record))
        if record.batch_id is not None:
            batch = batches.get(record.batch_id)
            label = f"{record.batch_id}"
            if batch is not None:
                label += f" ({Path(batch.file_path).name})"
            if record.batch_item:
                label += f", item {record.batch_item}"
            rows.append(("batch", _e(label)))
        if record.attempt > 1:
            rows.append(("attempt", _e(f"{record.attempt} (retry of job {record.retry_of})")))
        for key, value in sorted(record.tags.items()):
            rows.append((f"tag {_e(key)}", _e(value)))
        if record.invocation_arn:
            rows.append(("invocation", _e(record.invocation_arn)))
        if media.video_src is not None:
            rows.append(("video", _e(media.video_note)))
        parts.append(_facts_html(rows, media, f"contact sheet of job {record.id}"))
        parts.append(self.review_html(record))
        parts.append("</div></article>")
        return "".join(parts), media.video_src is not None

    def storyboard_card(
        self, board: JoinedStoryboard, shots: dict[int, JobRecord]
    ) -> tuple[str, bool]:
        """The card of a per-shot storyboard's joined video: its player (hard-linked
        like a job's), the jobs it joins (each linking to its own card) and their
        total cost, in the one wording (``format_cost``)."""
        media = self.media.storyboard_media(board)
        present = [shots[i] for i in board.job_ids if i in shots]
        first = present[0] if present else None
        model_id = first.model_id if first is not None else ""
        model = find_model(model_id) if model_id else None
        model_name = model.info.name if model is not None else model_id
        batch = first.batch_id if first is not None and first.batch_id is not None else ""
        parts: list[str] = [
            f'<article class="card status-completed storyboard" id="storyboard-{board.key}"'
            f' data-status="{_e(JobStatus.COMPLETED)}" data-model="{_e(model_id)}"'
            f' data-batch="{_e(batch)}">'
        ]
        parts.append(_player_html(media, f"joined video of storyboard {board.folder.name}"))
        count = len(board.job_ids)
        parts.append('<div class="body">')
        parts.append(
            '<header class="card-head">'
            '<span class="badge">Joined</span>'
            f"<h2>Storyboard, {count} shot{'s' if count != 1 else ''}</h2>"
            f'<span class="model" title="{_e(model_id)}">{_e(model_name)}</span>'
            "</header>"
        )
        items = []
        for job_id in board.job_ids:
            record = shots.get(job_id)
            text = describe_request(record.request).prompts if record is not None else []
            prompt = f'<p class="prompt">{_e(text[0])}</p>' if text else ""
            items.append(f'<li><a href="#job-{job_id}">Job {job_id}</a>{prompt}</li>')
        parts.append(f'<ol class="shots" aria-label="shots">{"".join(items)}</ol>')
        jobs = ", ".join(str(i) for i in board.job_ids)
        rows: list[tuple[str, str]] = [("joins jobs", _e(jobs))]
        if board.duration_seconds is not None:
            rows.append(("duration", _e(f"{board.duration_seconds:.1f} s")))
        costs = [r.estimated_cost_usd for r in present]
        missing = [str(i) for i in board.job_ids if i not in shots]
        if costs and all(c is not None for c in costs):
            total = sum(c for c in costs if c is not None)
            cost = format_cost(total, local=all(r.ran_locally for r in present))
            if missing:
                cost += f" (jobs {', '.join(missing)} not on this page)"
            rows.append(("cost", _e(f"{cost} for its {len(present)} shots")))
        rows.append(("video", _e(media.video_note)))
        parts.append(_facts_html(rows, media, f"contact sheet of storyboard {board.folder.name}"))
        parts.append("</div></article>")
        return "".join(parts), media.video_src is not None

    def review_html(self, record: JobRecord) -> str:
        """The review section of a card: the newest review's verdict, escaped."""
        review = self.reviews.get(record.id)
        if review is None or review.result is None:
            return ""
        verdict = review.result
        local = review.ran_locally
        synthetic = " (synthetic: the local emulator answered)" if local else ""
        items = [f'<li class="{kind}">{_e(text)}</li>' for kind, text in verdict_items(verdict)]
        score = verdict.get("score")
        head = f"Review by {review.model_id}{synthetic}" + (
            f", score {score:.2f}" if isinstance(score, int | float) else ""
        )
        return (
            f'<details class="review" data-review="{review.id}">'
            f"<summary>{_e(head)}</summary>"
            f'<p class="review-summary">{_e(verdict.get("summary") or "")}</p>'
            f"<ul>{''.join(items)}</ul></details>"
        )

    @staticmethod
    def _text_html(described: _Described) -> str:
        if described.shots:
            items = []
            for text, image in described.shots:
                frame = f'<span class="frame">starting frame: {_e(image)}</span>' if image else ""
                items.append(f'<li><p class="prompt">{_e(text)}</p>{frame}</li>')
            return f'<ol class="shots" aria-label="shots">{"".join(items)}</ol>'
        if described.prompts:
            return "".join(f'<p class="prompt">{_e(p)}</p>' for p in described.prompts)
        return '<p class="prompt empty">(no prompt recorded)</p>'

    def _time_rows(self, record: JobRecord) -> list[tuple[str, str]]:
        rows = [("recorded", _when(record.created_at))]
        if record.submit_time is not None:
            rows.append(("submitted", _when(record.submit_time)))
        if record.end_time is not None:
            rows.append(("ended", _when(record.end_time)))
            if record.submit_time is not None:
                took = (record.end_time - record.submit_time).total_seconds()
                if took >= 0:
                    rows.append(("took", _e(_span(took))))
        elif record.status in (JobStatus.IN_PROGRESS, JobStatus.SUBMITTING):
            start = record.submit_time or record.created_at
            running = (self.now - start).total_seconds()
            if running >= 0:
                rows.append(("running", _e(f"{_span(running)} when this page was written")))
        return rows
