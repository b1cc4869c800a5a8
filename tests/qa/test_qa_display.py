"""The qa verdict where people look: the gallery's badge per card, the MCP results."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from novareel.gallery import build_gallery
from novareel.ledger import Ledger

FINDING = {
    "kind": "frozen",
    "start": 2.0,
    "end": 3.0,
    "measure": 0.0,
    "threshold": 0.25,
    "detail": "24 frames without motion <held>",
}


def _job(ledger: Ledger, name: str, qa: dict[str, Any] | None) -> int:
    job = ledger.add_intent(
        client_token=f"token-{name}",
        model_id="amazon.nova-reel-v1:1",
        task_type="TEXT_VIDEO",
        request={"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": name}},
        output_uri="s3://bucket/videos/",
        duration_seconds=6,
        seed=1,
        estimated_cost_usd=0.48,
    )
    ledger.mark_submitted(job.id, invocation_arn=f"arn:aws:bedrock:x/{name}", submit_time=None)
    ledger.record_status(job.id, "Completed")
    if qa is not None:
        ledger.record_qa(job.id, qa)
    return job.id


def test_gallery_cards_carry_a_qa_badge_and_list_findings(tmp_path: Path, backend: str) -> None:
    """On both ledger backends: the verdict (m014) round-trips as JSON and shows."""
    with Ledger.open_default() as ledger:
        clean = _job(ledger, "clean", {"verdict": "clean", "summary": "clean", "findings": []})
        bad = _job(
            ledger,
            "bad",
            {"verdict": "findings", "summary": "1 finding(s)", "findings": [FINDING]},
        )
        unchecked = _job(ledger, "unchecked", None)
        records = ledger.list_jobs()
        assert ledger.get(bad).qa == {
            "verdict": "findings",
            "summary": "1 finding(s)",
            "findings": [FINDING],
        }
    page = Path(
        build_gallery(records, tmp_path / "site", now=datetime.now(timezone.utc)).index
    ).read_text()
    cards = {
        n: page.split(f'id="job-{n}"', 1)[1].split("</article>", 1)[0]
        for n in (clean, bad, unchecked)
    }
    assert 'class="qa-badge qa-clean"' in cards[clean] and "qa clean" in cards[clean]
    assert "qa: 1 finding(s)" in cards[bad]
    assert "frozen 2.00-3.00 s" in cards[bad] and "&lt;held&gt;" in cards[bad]
    assert "<held>" not in page  # escaped like every recorded text
    assert "qa-badge" not in cards[unchecked]


def test_mcp_job_status_and_list_carry_the_stored_verdict(
    reel: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """get_job (a status asked of the service) and list_jobs (the ledger) both show the
    verdict the download stored: an agent sees it without decoding anything."""
    from novareel import TextVideo
    from novareel.mcp_server.tools import AgentTools, ServerSettings
    from tests.helpers import OUTPUT

    for name, value in [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")]:
        monkeypatch.setenv(name, value)

    done = reel.generate(TextVideo("A quiet harbour, camera pans right"), OUTPUT, out_dir=tmp_path)
    assert done.qa is not None and done.qa["verdict"] == "clean"
    tools = AgentTools(
        ServerSettings(root=tmp_path, endpoint_url=reel.client.endpoint_url, region="us-east-1")
    )
    status = tools.get_job(str(done.ledger_id))
    assert status["qa"] == done.qa
    listed = tools.list_jobs()["jobs"]
    assert [j["qa"]["verdict"] for j in listed if j["id"] == done.ledger_id] == ["clean"]
