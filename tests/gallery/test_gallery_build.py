"""The gallery without a browser: what the page says, what it links, what it refuses.

Jobs are recorded in a real ledger (the isolated NOVAREEL_HOME) and their videos are
real MP4 files written with PyAV, so posters and links are made from real media.
"""

from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from novareel.foundation.errors import AwsError, InvalidRequestError
from novareel.foundation.s3uri import S3Uri
from novareel.gallery import GalleryServer, build_gallery
from novareel.gallery.build import describe_request
from novareel.ledger import JobRecord, Ledger
from tests.media.conftest import write_video

_register()
runner = CliRunner()

HOSTILE = "<script>alert(1)</script>\"><img src=x onerror=alert(2)> </script> 'q' & ü"
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/"


def _nova_text(prompt: str) -> dict[str, Any]:
    return {
        "taskType": "TEXT_VIDEO",
        "textToVideoParams": {"text": prompt},
        "videoGenerationConfig": {"dimension": "1280x720", "durationSeconds": 6, "seed": 7},
    }


def _record(
    ledger: Ledger,
    name: str,
    request: dict[str, Any],
    *,
    status: str = "Completed",
    files: list[str] | None = None,
    endpoint: str | None = None,
    model_id: str = "amazon.nova-reel-v1:1",
    **failure: Any,
) -> JobRecord:
    job = ledger.add_intent(
        client_token=f"token-{name}",
        model_id=model_id,
        task_type=str(request.get("taskType", "TEXT_VIDEO")),
        request=request,
        output_uri="s3://bucket/videos/",
        duration_seconds=6,
        seed=7,
        estimated_cost_usd=0.48,
        endpoint=endpoint,
    )
    if status == "Submitting":
        return job
    if status == "Rejected":
        return ledger.mark_rejected(job.id, message=failure.get("failure_message", "refused"))
    job = ledger.mark_submitted(job.id, invocation_arn=ARN + name, submit_time=None)
    if status != "InProgress":
        job = ledger.record_status(job.id, status, **failure)
    if files:
        job = ledger.record_files(job.id, files)
    return job


@pytest.fixture
def small_video(tmp_path: Path) -> Path:
    folder = tmp_path / "videos" / "abc123"
    folder.mkdir(parents=True)
    return write_video(
        folder / "output.mp4", [(200, 40, 40)], seconds_per_shot=1.0, size=(320, 180), fps=12
    )


def _html(result: Any) -> str:
    return Path(result.index).read_text(encoding="utf-8")


def test_describe_request_reads_any_model_without_knowing_its_fields() -> None:
    nova = describe_request(_nova_text("a fox"))
    assert nova.prompts == ["a fox"]
    assert ("dimension", "1280x720") in nova.settings
    assert all(name not in ("seed", "duration seconds") for name, _ in nova.settings)

    manual = describe_request(
        {
            "taskType": "MULTI_SHOT_MANUAL",
            "multiShotManualParams": {
                "shots": [
                    {"text": "one", "image": {"format": "png", "path": "a.png", "sha256": "x"}},
                    {"text": "two"},
                ]
            },
        }
    )
    assert manual.shots == [("one", "a.png"), ("two", None)]
    assert manual.prompts == []

    ray = describe_request(
        {
            "prompt": "a wave",
            "aspect_ratio": "9:16",
            "resolution": "720p",
            "duration": "9s",
            "loop": True,
            "keyframes": {"frame0": {"format": "jpeg", "s3_uri": "s3://b/k.jpg"}},
        }
    )
    assert ray.prompts == ["a wave"]
    assert {("aspect ratio", "9:16"), ("resolution", "720p"), ("loop", "true")} <= set(ray.settings)
    assert ray.images == [("frame0", "s3://b/k.jpg")]


def test_every_kind_of_card_is_written_and_user_text_is_escaped(
    tmp_path: Path, small_video: Path
) -> None:
    with Ledger.open_default() as ledger:
        done = _record(
            ledger,
            "done",
            _nova_text(HOSTILE),
            files=[str(small_video), str(small_video.parent / "manifest.json")],
            endpoint="http://127.0.0.1:5899",
        )
        failed = _record(
            ledger,
            "failed",
            _nova_text("a blocked scene"),
            status="Failed",
            failure_type="RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION",
            failure_message='blocked <b>"by"</b> the filter',
            failure_shot=2,
        )
        running = _record(ledger, "running", _nova_text("still going"), status="InProgress")
        rejected = _record(
            ledger, "rejected", _nova_text("bad"), status="Rejected", failure_message="no <way>"
        )
        records = ledger.list_jobs()
    result = build_gallery(records, tmp_path / "site", now=datetime.now(timezone.utc))
    page = _html(result)

    assert (result.cards, result.players) == (4, 1)
    assert result.by_status == {"Completed": 1, "Failed": 1, "InProgress": 1, "Rejected": 1}
    # user text is escaped everywhere: no tag from a prompt or a message survives
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>" not in page
    assert html_text(HOSTILE) in page
    assert "no &lt;way&gt;" in page
    assert page.count("<script") == 1  # only the gallery's own file
    # the card for a local video has a relative player, a real poster and the cost line
    assert f'src="media/job-{done.id}.mp4"' in page
    poster = result.out_dir / "media" / f"job-{done.id}-poster.jpg"
    assert poster.is_file() and poster.read_bytes()[:2] == b"\xff\xd8"
    assert (result.out_dir / "media" / f"job-{done.id}.mp4").samefile(small_video)
    assert "$0 here (≈ $0.48 on AWS)" in page
    # the failure is explained with the shared advice, and the others say why no player
    assert "Failed at shot 2 (RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION)" in page
    assert "Rephrase the prompt" in page
    assert f"novareel wait {running.id}" in page
    assert "Refused at submit" in page and "$0 (refused at submit, nothing charged)" in page
    assert f'id="job-{failed.id}"' in page and f'id="job-{rejected.id}"' in page
    # nothing is loaded from another host: every src/href is relative
    for url in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert not re.match(r"^[a-z]+:", url) and not url.startswith("//"), url
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = html.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "media-src 'self';" in policy
    assert '<meta name="viewport"' in page
    assert {p.name for p in (result.out_dir / "assets").iterdir()} == {
        "gallery.css",
        "gallery.js",
        "favicon.svg",
    }


def html_text(text: str) -> str:
    return html.escape(text, quote=True)


def test_a_video_only_in_s3_gets_a_presigned_player_or_says_why_not(tmp_path: Path) -> None:
    with Ledger.open_default() as ledger:
        job = _record(ledger, "s3only", _nova_text("in the bucket"))
        records = ledger.list_jobs()
    asked: list[tuple[S3Uri, str | None]] = []

    def presign(record: JobRecord, uri: S3Uri, region: str | None) -> str:
        asked.append((uri, region))
        return f"https://bucket.s3.us-east-1.amazonaws.com/{uri.key}?X-Amz-Signature=abc&a=1"

    result = build_gallery(records, tmp_path / "site", presigner=presign)
    page = _html(result)
    assert asked == [(S3Uri("bucket", "videos/s3only/output.mp4"), "us-east-1")]
    assert result.players == 1
    assert 'src="https://bucket.s3.us-east-1.amazonaws.com/videos/s3only/output.mp4?' in page
    assert "&amp;a=1" in page  # the URL is attribute-escaped too
    # the CSP lets the player reach exactly that origin, and nothing else
    assert "media-src 'self' https://bucket.s3.us-east-1.amazonaws.com;" in html.unescape(page)

    def no_credentials(record: JobRecord, uri: S3Uri, region: str | None) -> str:
        raise AwsError("PresignGetObject failed: no AWS credentials found", code="NoCredentials")

    page = _html(build_gallery(records, tmp_path / "site", presigner=no_credentials))
    assert "<video" not in page
    assert "no AWS credentials found" in page and f"novareel download {job.id}" in page
    page = _html(build_gallery(records, tmp_path / "site", presign_note="--no-presign was given"))
    assert "--no-presign was given" in page and "<video" not in page


def test_contact_sheets_existing_or_made(tmp_path: Path, small_video: Path) -> None:
    from PIL import Image

    with Ledger.open_default() as ledger:
        job = _record(ledger, "sheet", _nova_text("x"), files=[str(small_video)])
        records = ledger.list_jobs()
    site = tmp_path / "site"
    assert "Contact sheet" not in _html(build_gallery(records, site))
    page = _html(build_gallery(records, site, contact_sheets=True))
    made = site / "media" / f"job-{job.id}-sheet.png"
    assert f'src="media/job-{job.id}-sheet.png"' in page
    with Image.open(made) as sheet:
        assert sheet.size[0] > 320  # several tiles side by side
    # one made by `novareel contact-sheet` beside the video is used as it is
    Image.new("RGB", (40, 20), (1, 2, 3)).save(small_video.parent / "contact-sheet.png")
    page = _html(build_gallery(records, site))
    assert f'src="media/job-{job.id}-sheet.png"' in page
    assert made.samefile(small_video.parent / "contact-sheet.png")  # linked, not redrawn


def test_the_page_survives_being_copied_and_shows_no_absolute_path(
    tmp_path: Path, small_video: Path
) -> None:
    """Copied as ``cp -r`` copies (symlinks kept as links) or tarred, then the downloads
    removed: every player still has its file, and the page names no local path (it is
    shared)."""
    import shutil

    original = small_video.read_bytes()
    with Ledger.open_default() as ledger:
        job = _record(ledger, "copy", _nova_text("x"), files=[str(small_video)])
        records = ledger.list_jobs()
    site = tmp_path / "site"
    page = _html(build_gallery(records, site))
    assert str(tmp_path) not in page and str(small_video) not in page
    assert "abc123/output.mp4" in page  # where it was downloaded, relatively
    media = sorted((site / "media").iterdir())
    assert media and not [p for p in media if p.is_symlink()]
    elsewhere = tmp_path / "shared" / "site"
    shutil.copytree(site, elsewhere, symlinks=True)
    shutil.rmtree(small_video.parent)
    assert (elsewhere / "media" / f"job-{job.id}.mp4").read_bytes() == original
    assert f'src="media/job-{job.id}.mp4"' in (elsewhere / "index.html").read_text()


def test_refuses_a_folder_it_did_not_write_and_prunes_its_own_media(
    tmp_path: Path, small_video: Path
) -> None:
    foreign = tmp_path / "somebody"
    foreign.mkdir()
    (foreign / "index.html").write_text("<html>my homepage</html>")
    with pytest.raises(InvalidRequestError, match="not written by novareel gallery"):
        build_gallery([], foreign)
    assert (foreign / "index.html").read_text() == "<html>my homepage</html>"
    (foreign / "index.html").unlink()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InvalidRequestError, match="not empty"):
        build_gallery([], foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]

    with Ledger.open_default() as ledger:
        job = _record(ledger, "p", _nova_text("x"), files=[str(small_video)])
        records = ledger.list_jobs()
    site = tmp_path / "site"
    build_gallery(records, site)
    (site / "media" / "notes.txt").write_text("mine")
    assert (site / "media" / f"job-{job.id}.mp4").exists()
    result = build_gallery([], site)  # rebuilding our own folder is fine
    assert result.cards == 0 and "no jobs yet" in _html(result)
    assert sorted(p.name for p in (site / "media").iterdir()) == ["notes.txt"]


def test_server_binds_loopback_lists_nothing_and_answers_ranges(
    tmp_path: Path, small_video: Path
) -> None:
    with Ledger.open_default() as ledger:
        job = _record(ledger, "srv", _nova_text("x"), files=[str(small_video)])
        records = ledger.list_jobs()
    site = tmp_path / "site"
    build_gallery(records, site)
    data = small_video.read_bytes()
    with GalleryServer(site) as server:
        assert server.httpd.server_address[0] == "127.0.0.1"
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url) as response:
            assert b'content="novareel gallery"' in response.read()
        request = urllib.request.Request(
            f"{server.url}media/job-{job.id}.mp4", headers={"Range": "bytes=10-29"}
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 10-29/{len(data)}"
            assert response.read() == data[10:30]
        with urllib.request.urlopen(f"{server.url}media/job-{job.id}.mp4") as response:
            assert response.read() == data
        # no folder listings, and nothing outside the folder (but the linked videos)
        for path in ("media/", "assets/", "../../../../etc/hostname", "%2e%2e/%2e%2e/etc/hostname"):
            with pytest.raises(urllib.error.HTTPError) as exc:
                urllib.request.urlopen(server.url + path)
            assert exc.value.code == 404
            exc.value.close()


def test_presign_get_signs_locally_and_fails_clearly_without_credentials(emulator: Any) -> None:
    from novareel.client import AwsClient
    from tests.helpers import make_client

    client = make_client(emulator.url)
    client.ensure_bucket("presign-bucket")
    client.s3.put_object(Bucket="presign-bucket", Key="v/output.mp4", Body=b"video bytes")
    url = client.presign_get(S3Uri("presign-bucket", "v/output.mp4"), 60)
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"video bytes"
    with pytest.raises(AwsError) as exc:
        AwsClient(region="us-east-1").presign_get(S3Uri("b", "k"))
    assert exc.value.code == "NoCredentials"
    with pytest.raises(InvalidRequestError):
        client.presign_get(S3Uri("b", "k"), 8 * 24 * 3600)


def test_cli_json_and_bad_options(tmp_path: Path, small_video: Path) -> None:
    with Ledger.open_default() as ledger:
        _record(ledger, "cli", _nova_text("x"), files=[str(small_video)])
        _record(ledger, "left-in-s3", _nova_text("y"))
    out = tmp_path / "site"
    result = runner.invoke(app, ["gallery", "-o", str(out), "--no-presign", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cards"] == 2 and data["players"] == 1 and data["url"] is None
    assert Path(data["index"]) == out.resolve() / "index.html"
    assert "--no-presign was given" in (out / "index.html").read_text()

    result = runner.invoke(app, ["gallery", "-o", str(out), "--link-hours", "0", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "InvalidRequestError"
    result = runner.invoke(app, ["gallery", "-o", str(out)])
    assert result.exit_code == 0 and "2 cards, 1 with a player" in result.stdout


def test_cli_open_opens_the_written_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    out = tmp_path / "site"
    result = runner.invoke(app, ["gallery", "-o", str(out), "--open"])
    assert result.exit_code == 0, result.output
    assert opened == [(out.resolve() / "index.html").as_uri()]
