"""Bidirectional overrides in a prompt are shown neutralised, and sent as typed.

``"Invoice \u202egnp.exe"`` displays, in a terminal or a browser, as text that reads
differently from what it is (the "Trojan Source" trick): the right-to-left override
flips what follows it. The ledger and the request keep the prompt exactly as typed
(right-to-left writers use these characters legitimately, and the model reads the
text, not its display); every place that *shows* it writes ``<U+202E>`` instead.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel import TextVideo
from novareel.cli import _register, app
from novareel.foundation.display import BIDI_CONTROLS, neutralise
from novareel.jobs import VideoGenerator
from tests.helpers import OUTPUT

_register()

TRICK = "a red kite \u202eelif kcab\u202c over \u2067hills\u2069 and \x1b[2Jcleared"
SHOWN = "a red kite <U+202E>elif kcab<U+202C> over <U+2067>hills<U+2069> and <U+001B>[2Jcleared"


def test_neutralise_makes_every_override_and_control_visible() -> None:
    assert neutralise(TRICK) == SHOWN
    for char in BIDI_CONTROLS:
        assert neutralise(char) == f"<U+{ord(char):04X}>"
    assert neutralise("\x9b31m \x07\r\b") == "<U+009B>31m <U+0007><U+000D><U+0008>"
    ordinary = "Ein Fuchs im Schnee\tüber 山 — שלום عربي 🦊\nline two"
    assert neutralise(ordinary) == ordinary  # letters of any script, tab and newline kept


@pytest.fixture
def submitted(reel: VideoGenerator, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A job with the tricky prompt, sent to the emulator; what boto3 was handed."""
    from novareel.client import AwsClient

    received: list[dict[str, Any]] = []
    real_call = AwsClient._call

    def spy(self: AwsClient, operation: str, func: Any, **kwargs: Any) -> Any:
        if operation == "StartAsyncInvoke":
            received.append(kwargs)
        return real_call(self, operation, func, **kwargs)

    monkeypatch.setattr(AwsClient, "_call", spy)
    job = reel.submit(TextVideo(TRICK), OUTPUT)
    (sent,) = received
    return {"job": job, "sent": sent}


def _no_raw_controls(text: str) -> None:
    assert not any(c in text for c in BIDI_CONTROLS) and "\x1b[2J" not in text


def test_the_request_keeps_the_prompt_as_typed(submitted: dict[str, Any]) -> None:
    model_input = submitted["sent"]["modelInput"]
    assert model_input["textToVideoParams"]["text"] == TRICK


def test_jobs_and_jobs_show_print_it_neutralised(submitted: dict[str, Any]) -> None:
    ledger_id = str(submitted["job"].ledger_id)
    for args in (["jobs"], ["jobs", "show", ledger_id]):
        result = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
        assert result.exit_code == 0, result.output
        _no_raw_controls(result.stdout)
        assert "<U+202E>elif kcab<U+202C>" in result.stdout, result.stdout
    shown = CliRunner().invoke(app, ["jobs", "show", ledger_id, "--json"])
    assert json.loads(shown.stdout)["job"]["request"]["textToVideoParams"]["text"] == TRICK


def test_a_notice_quoting_the_prompt_is_neutralised() -> None:
    """Prompt advice quotes the prompt (a negation here) on stderr."""
    result = CliRunner().invoke(
        app,
        ["generate", "no \u202ecats\u202c in the garden", "--dry-run",
         "--output-uri", "s3://my-bucket/v/"],
    )  # fmt: skip
    assert "negation" in result.stderr, result.stderr
    _no_raw_controls(result.stderr)
    assert "<U+202E>cats<U+202C>" in result.stderr


def test_the_gallery_shows_it_neutralised(submitted: dict[str, Any], tmp_path: Path) -> None:
    from novareel.gallery import build_gallery
    from novareel.ledger import Ledger

    with Ledger.open_default() as ledger:
        records = ledger.list_jobs()
    result = build_gallery(records, tmp_path / "site", now=datetime.now(timezone.utc))
    page = Path(result.index).read_text(encoding="utf-8")
    _no_raw_controls(page)
    assert "&lt;U+202E&gt;elif kcab&lt;U+202C&gt;" in page


NEGATION = "no \u202ecats\u202c in the garden"


def test_a_batch_items_notice_is_neutralised(tmp_path: Path) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(json.dumps([{"id": "kite", "prompt": NEGATION}]))
    result = CliRunner().invoke(
        app, ["batch", str(batch), "--dry-run", "--output-uri", "s3://my-bucket/v/"]
    )
    assert result.exit_code == 0, result.output
    assert "negation" in result.stderr, result.stderr
    _no_raw_controls(result.stderr)
    assert "<U+202E>cats<U+202C>" in result.stderr


def test_generate_says_its_notices_neutralised_when_it_submits(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import make_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    make_client(emulator.url).ensure_bucket("bidi-bucket")
    result = CliRunner().invoke(
        app,
        ["generate", NEGATION, "--endpoint-url", emulator.url,
         "--output-uri", "s3://bidi-bucket/v/", "--no-wait"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "negation" in result.stderr, result.stderr
    _no_raw_controls(result.stderr)
    assert "<U+202E>cats<U+202C>" in result.stderr
