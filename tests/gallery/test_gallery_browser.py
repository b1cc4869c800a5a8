"""The gallery in a real browser: Debian's headless Chromium, driven by Playwright.

One ledger holds every kind of card (a storyboard completed and downloaded, a video
completed but only in S3, failed, in progress, in a batch) with hostile prompts. ``novareel gallery
--serve`` (a subprocess, the real command) writes and serves it on 127.0.0.1; one
Chromium launch then checks from the DOM and a screenshot that the videos load, the
failure is explained, no prompt became markup, and no request left 127.0.0.1.

Set ``NOVAREEL_UPDATE_SCREENSHOT=1`` to also copy the screenshot to docs/gallery.png.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from novareel.jobs import VideoGenerator
from novareel.models.base import Shot
from novareel.models.nova_reel import MultiShotManual, TextVideo
from tests.helpers import OUTPUT

CHROMIUM = Path(os.environ.get("NOVAREEL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "gallery.png"

HOSTILE_TEXT = "<script>alert(1)</script> \"double\" 'single' & ü 日本語 🎬 a lighthouse"
HOSTILE_SHOTS = (
    '"><img src=x onerror="window.__pwned=1"> a harbour at dawn',
    '</script><b id="injected">bold</b> waves',
)
BLOCKED = 'a blocked-output scene <i id="injected2">x</i><svg onload="window.__pwned=2"></svg>'
RUNNING = "still rendering </textarea><style>body{display:none}</style>"


@pytest.fixture
def sync_playwright() -> Any:
    """Playwright's sync API, or skip (never in CI: there a missing browser fails).

    Asked for first by the test, so a skip costs nothing (no jobs rendered)."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright as api
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        reason = "the gallery browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI is set, so this is a failure, not a skip")
        pytest.skip(reason)
    return api


@pytest.fixture
def ledger_with_every_card(reel: VideoGenerator, emulator: Any, tmp_path: Path) -> dict[str, int]:
    """Completed (downloaded), completed (S3 only), failed, in progress; ids by role.

    Two renders only (the emulator's video rendering is the slow part of this test).
    """
    videos = tmp_path / "videos"
    ledger = reel.ledger
    assert ledger is not None
    batch = ledger.get_or_create_batch(
        identity="gallery-test", file_path=str(tmp_path / "evening.yaml"), defaults={}
    )
    jobs = {
        "text": reel.submit(TextVideo(HOSTILE_TEXT), OUTPUT),
        "shots": reel.submit(
            MultiShotManual(shots=[Shot(text=t) for t in HOSTILE_SHOTS]),
            OUTPUT,
            batch_id=batch.id,
            batch_item="harbour",
        ),
    }
    for role in ("text", "shots"):
        assert reel.wait(str(jobs[role].ledger_id)).status == "Completed"
    jobs["failed"] = reel.submit(TextVideo(BLOCKED), OUTPUT)
    assert reel.wait(str(jobs["failed"].ledger_id)).status == "Failed"
    reel.download(str(jobs["shots"].ledger_id), videos)  # "text" stays in S3 only
    # The emulator would finish this one at once; slow it so the ledger keeps it running.
    emulator.configure(speed=1.0)
    jobs["running"] = reel.submit(TextVideo(RUNNING), OUTPUT, batch_id=batch.id, batch_item="b")
    ids = {role: int(result.ledger_id or 0) for role, result in jobs.items()}
    assert ledger.get(ids["failed"]).status == "Failed"
    assert ledger.get(ids["running"]).status == "InProgress"
    return ids


@pytest.fixture
def served_gallery(ledger_with_every_card: dict[str, int], tmp_path: Path) -> Iterator[str]:
    """``novareel gallery --serve --json`` in a subprocess; yields the URL it printed."""
    out = tmp_path / "gallery"
    command = ["gallery", "-o", str(out), "--serve", "--contact-sheets", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "novareel", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.rstrip() == "}":
                break
        else:
            pytest.fail(f"gallery --serve printed no JSON; stderr: {proc.stderr.read()}")
        data = json.loads("".join(lines))
        assert data["cards"] == 4
        assert data["players"] == 2  # a local file and a presigned S3 link
        assert data["by_status"] == {"Completed": 2, "Failed": 1, "InProgress": 1}
        assert urlsplit(data["url"]).hostname == "127.0.0.1"
        yield data["url"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes the pipes


def _pixel_spread(path: Path, box: tuple[int, int, int, int] | None = None) -> float:
    """Mean standard deviation of the RGB channels: about 0 for a blank image."""
    from PIL import Image, ImageStat

    with Image.open(path) as image:
        region = image.convert("RGB") if box is None else image.convert("RGB").crop(box)
        return sum(ImageStat.Stat(region).stddev) / 3


def test_gallery_in_chromium(
    sync_playwright: Any,
    served_gallery: str,
    ledger_with_every_card: dict[str, int],
    tmp_path: Path,
) -> None:
    ids = ledger_with_every_card
    requested: list[str] = []
    dialogs: list[str] = []
    console: list[str] = []
    shot = tmp_path / "gallery.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requested.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            # A CSP violation, a failed asset or a script error shows up here.
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(str(e)))
            page.goto(served_gallery)

            # Every player loads its video (metadata at least, then a frame to paint).
            # (Predicates are functions: the page's CSP forbids evaluating strings.)
            page.wait_for_function(
                "() => [...document.querySelectorAll('video')]"
                ".every(v => v.readyState >= 2 || v.error)",
                timeout=30_000,
            )
            videos = page.evaluate(
                "[...document.querySelectorAll('video')].map(v => ({"
                "card: v.closest('article').id, ready: v.readyState,"
                " error: v.error && v.error.code, width: v.videoWidth, src: v.currentSrc}))"
            )
            assert sorted(v["card"] for v in videos) == sorted(
                f"job-{ids[r]}" for r in ("text", "shots")
            )
            for video in videos:
                assert video["error"] is None and video["ready"] >= 2, video
                assert video["width"] == 1280, video
            s3_src = next(v["src"] for v in videos if v["card"] == f"job-{ids['text']}")
            assert "Signature=" in s3_src and "/media/" not in s3_src  # presigned, from S3
            local_src = next(v["src"] for v in videos if v["card"] == f"job-{ids['shots']}")
            assert local_src.startswith(served_gallery + "media/")  # linked, relative

            # The failure is shown and explained; the running job says why it has no player.
            failure = page.inner_text(f"#job-{ids['failed']} .failure")
            assert "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION" in failure
            assert "Rephrase" in failure
            assert "still rendering" in page.inner_text(f"#job-{ids['running']} .no-player")
            assert "$0 here (≈ $0.48 on AWS)" in page.inner_text(f"#job-{ids['text']} .facts")

            # No prompt became markup: no injected element, script ran or dialog opened,
            # and every prompt reads back exactly as written.
            for selector in ("#injected", "#injected2", "img[src='x']", "main svg", "main b"):
                assert page.query_selector(selector) is None, selector
            scripts = page.evaluate(
                "[...document.scripts].map(s => s.getAttribute('src') || s.textContent)"
            )
            assert scripts == ["assets/gallery.js"]
            assert page.evaluate("window.__pwned === undefined")
            assert dialogs == []
            assert page.evaluate("document.body.style.display") == ""
            prompts = page.eval_on_selector_all(".prompt", "els => els.map(e => e.textContent)")
            assert sorted(prompts) == sorted([HOSTILE_TEXT, *HOSTILE_SHOTS, BLOCKED, RUNNING])

            # The filters read data-* attributes: Failed leaves one card, batch two.
            page.select_option("select[data-filter=status]", "Failed")
            visible = page.eval_on_selector_all(
                "article.card", "els => els.filter(e => !e.hidden).map(e => e.id)"
            )
            assert visible == [f"job-{ids['failed']}"]
            page.select_option("select[data-filter=status]", "")
            batch_value = page.eval_on_selector_all(
                "select[data-filter=batch] option", "os => os.map(o => o.value)"
            )[1]
            page.select_option("select[data-filter=batch]", batch_value)
            visible = page.eval_on_selector_all(
                "article.card", "els => els.filter(e => !e.hidden).map(e => e.id)"
            )
            assert sorted(visible) == sorted(f"job-{ids[r]}" for r in ("shots", "running"))
            page.select_option("select[data-filter=batch]", "")

            # The contact sheet of the two-shot job is there and loads.
            page.click(f"#job-{ids['shots']} .sheet summary")
            page.wait_for_function(
                f"() => document.querySelector('#job-{ids['shots']} .sheet img').naturalWidth > 0",
                timeout=10_000,
            )
            page.click(f"#job-{ids['shots']} .sheet summary")

            # A screenshot that is not blank, with a painted frame where a player is.
            page.screenshot(path=str(shot), full_page=True)
            box = page.eval_on_selector(
                f"#job-{ids['shots']} video",
                "v => { const r = v.getBoundingClientRect(), x = scrollX, y = scrollY;"
                " return [r.left + x, r.top + y, r.right + x, r.bottom + y].map(Math.round); }",
            )
        finally:
            browser.close()

    assert console == []
    assert _pixel_spread(shot) > 20
    assert _pixel_spread(shot, tuple(box)) > 20
    # No request went anywhere but this machine (the page, the assets, the emulator's S3).
    assert requested
    assert {urlsplit(u).hostname for u in requested} == {"127.0.0.1"}
    if os.environ.get("NOVAREEL_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, DOCS_SCREENSHOT)
