"""Write the gallery: one card per ledger job (:mod:`.cards`, with the media of
:mod:`.media`), the page around them with its filters and Content-Security-Policy,
and the folder (refuse a foreign one, copy the assets, prune unused media).

The page is built from strings, each piece of user or ledger text through
:func:`~novareel.gallery.cards.escape` (``html.escape`` with quotes), so a prompt such as
``"><img src=x onerror=...>`` shows up as those characters and never as markup.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.gallery.cards import CardBuilder
from novareel.gallery.cards import escape as _e
from novareel.gallery.media import MediaLinks, Presigner, joined_storyboards
from novareel.gallery.request import describe_request
from novareel.ledger import BatchRecord, JobRecord
from novareel.ledger.reviews import ReviewRecord
from novareel.models import find_model

#: Written into every page; a folder whose index.html lacks it is not ours to replace.
GENERATOR = "novareel gallery"

_ASSETS = ("gallery.css", "gallery.js", "favicon.svg")
_OWN_MEDIA = re.compile(
    r"^(job-\d+|storyboard-[0-9a-f]{12})(-poster\.jpg|-sheet\.(png|jpe?g)|\.(mp4|m4v|mov|webm))$"
)


@dataclass
class GalleryResult:
    """What was written: the page, the folder, and how many cards of which kind."""

    out_dir: Path
    index: Path
    cards: int
    players: int
    #: of ``cards``, those of joined per-shot storyboards (the rest are jobs)
    storyboards: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "index": str(self.index),
            "cards": self.cards,
            "players": self.players,
            "storyboards": self.storyboards,
            "by_status": dict(self.by_status),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- page


def _select(name: str, label: str, values: Iterable[tuple[str, str]]) -> str:
    options = "".join(f'<option value="{_e(v)}">{_e(text)}</option>' for v, text in values)
    return (
        f'<label>{_e(label)} <select data-filter="{_e(name)}" name="{_e(name)}">'
        f'<option value="">all</option>{options}</select></label>'
    )


def _csp(origins: Sequence[str]) -> str:
    media = " ".join(["'self'", *sorted(origins)])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"media-src {media}; base-uri 'none'; form-action 'none'; object-src 'none'"
    )


def _page(
    cards: list[str],
    records: Sequence[JobRecord],
    batches: dict[int, BatchRecord],
    origins: Sequence[str],
    now: datetime,
) -> str:
    statuses = Counter(r.status for r in records)
    models = sorted({r.model_id for r in records})
    batch_ids = sorted({r.batch_id for r in records if r.batch_id is not None})

    def model_label(model_id: str) -> str:
        model = find_model(model_id)
        return f"{model.info.name} ({model_id})" if model is not None else model_id

    def batch_label(batch_id: int) -> str:
        batch = batches.get(batch_id)
        return f"{batch_id}: {Path(batch.file_path).name}" if batch else str(batch_id)

    filters = (
        '<form id="filters" class="filters" hidden>'
        + _select("status", "Status", ((s, f"{s} ({n})") for s, n in sorted(statuses.items())))
        + _select("model", "Model", ((m, model_label(m)) for m in models))
        + _select("batch", "Batch", ((str(b), batch_label(b)) for b in batch_ids))
        + '<output id="shown" aria-live="polite"></output>'
        + "</form>"
        + '<noscript><p class="notice">Filters need JavaScript; all jobs are shown.</p>'
        + "</noscript>"
    )
    summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "no jobs"
    body = (
        "".join(cards)
        if cards
        else '<p class="empty">The ledger has no jobs yet. Run `novareel generate`.</p>'
    )
    written = now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_e(_csp(origins))}">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="{_e(GENERATOR)}">
<title>novareel gallery</title>
<link rel="icon" href="assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="assets/gallery.css">
<script src="assets/gallery.js" defer></script>
</head>
<body>
<header class="top">
<h1>novareel gallery</h1>
<p class="meta">{_e(len(records))} jobs ({_e(summary)}), written {_e(written)}
from the ledger.</p>
{filters}
</header>
<main id="cards" class="grid">
{body}
</main>
</body>
</html>
"""


def _prepare(out_dir: Path) -> None:
    """Refuse a folder that holds something other than a gallery; create the rest."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidRequestError(
            Problem("out", f"{out_dir} is a file, not a folder", value=str(out_dir))
        )
    index = out_dir / "index.html"
    if out_dir.is_dir() and not index.exists() and any(out_dir.iterdir()):
        raise InvalidRequestError(
            Problem("out", f"{out_dir} is not empty and holds no gallery", value=str(out_dir)),
            hint="Choose a new or empty folder with -o (or one an earlier gallery wrote).",
        )
    if index.exists():
        head = index.read_text(encoding="utf-8", errors="replace")[:4000]
        if f'content="{GENERATOR}"' not in head:
            raise InvalidRequestError(
                Problem(
                    "out",
                    f"{index} exists and was not written by novareel gallery",
                    value=str(out_dir),
                ),
                hint="Choose another folder with -o; novareel never overwrites other pages.",
            )
    (out_dir / "assets").mkdir(parents=True, exist_ok=True)
    (out_dir / "media").mkdir(parents=True, exist_ok=True)


def _copy_assets(out_dir: Path) -> None:
    package = resources.files("novareel.gallery").joinpath("assets")
    for name in _ASSETS:
        data = package.joinpath(name).read_bytes()
        target = out_dir / "assets" / name
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)


def _prune(media_dir: Path, keep: set[str]) -> None:
    """Remove this gallery's own media files that no card uses any more."""
    for path in media_dir.iterdir():
        if _OWN_MEDIA.match(path.name) and path.name not in keep:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def build_gallery(
    records: Sequence[JobRecord],
    out_dir: str | os.PathLike[str],
    *,
    batches: dict[int, BatchRecord] | None = None,
    presigner: Presigner | None = None,
    presign_note: str | None = None,
    contact_sheets: bool = False,
    now: datetime | None = None,
    reviews: Mapping[int, ReviewRecord] | None = None,
) -> GalleryResult:
    """Write ``index.html``, ``assets/`` and ``media/`` for these jobs into ``out_dir``.

    Local videos are linked into ``media/`` (so the page's links stay relative and
    ``--serve`` can reach them) with a JPEG poster beside each. A Completed job whose
    video is only in S3 gets a link from ``presigner``; without one (or when it
    fails, e.g. no credentials), the card says why there is no player, as it does
    for failed and unfinished jobs. ``contact_sheets`` makes a contact sheet for each
    local video that has none beside it (it decodes the whole video, once).
    """
    target = Path(out_dir).expanduser().resolve()
    _prepare(target)
    _copy_assets(target)
    when = now or datetime.now(timezone.utc)
    media = MediaLinks(
        target,
        presigner=presigner,
        presign_note=presign_note,
        contact_sheets=contact_sheets,
    )
    builder = CardBuilder(media, now=when, reviews=reviews)
    batch_map = dict(batches or {})
    cards: list[str] = []
    players = 0
    # A joined per-shot storyboard's card comes just before the card of its first
    # shot on the page.
    by_id = {record.id: record for record in records}
    boards: dict[int, list[Any]] = {}
    for board in joined_storyboards(records):
        lead = next(r.id for r in records if r.id in board.job_ids)
        boards.setdefault(lead, []).append(board)
    for record in records:
        for board in boards.get(record.id, ()):
            card, has_player = builder.storyboard_card(board, by_id)
            cards.append(card)
            players += int(has_player)
        card, has_player = builder.card(record, batch_map)
        cards.append(card)
        players += int(has_player)
    page = _page(cards, records, batch_map, sorted(media.origins), when)
    index = target / "index.html"
    partial = target / ".index.html.part"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, index)
    _prune(target / "media", media.written)
    return GalleryResult(
        out_dir=target,
        index=index,
        cards=len(cards),
        players=players,
        storyboards=sum(len(b) for b in boards.values()),
        by_status=dict(sorted(Counter(r.status for r in records).items())),
        notes=media.notes,
    )


def file_url(path: Path) -> str:
    """``file://`` URL of a local file (for ``--open`` without ``--serve``)."""
    return path.resolve().as_uri()


__all__ = [
    "GENERATOR",
    "GalleryResult",
    "Presigner",
    "build_gallery",
    "describe_request",
    "file_url",
]
