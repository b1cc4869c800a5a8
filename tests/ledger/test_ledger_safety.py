"""What the ledger must never hold: image bytes and credentials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.pg import SQLITE_ONLY

from novareel.foundation.errors import LedgerError
from novareel.ledger import JobRecord, Ledger

AddJob = Callable[..., JobRecord]
FAKE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_inline_image_bytes_are_refused_not_stored(add: AddJob, ledger: Ledger) -> None:
    request = {
        "taskType": "TEXT_VIDEO",
        "textToVideoParams": {
            "text": "a fox",
            "images": [{"format": "png", "source": {"bytes": "iVBORw0KGgo" * 100}}],
        },
    }
    with pytest.raises(LedgerError, match=r"image bytes at request\.textToVideoParams"):
        add("tok-1", request=request)
    assert ledger.list_jobs() == []


def test_raw_python_bytes_are_refused(add: AddJob) -> None:
    with pytest.raises(LedgerError, match="raw bytes"):
        add("tok-1", request={"image": b"\x89PNG"})


@pytest.mark.parametrize(
    "request_body",
    [
        {"aws_secret_access_key": FAKE_SECRET},
        {"credentials": {"AccessKeyId": "x"}},
        {"nested": [{"SessionToken": "x"}]},
        {"note": f"key {FAKE_KEY_ID} leaked into a prompt"},
    ],
)
def test_credential_like_content_is_refused(add: AddJob, request_body: dict[str, object]) -> None:
    with pytest.raises(LedgerError, match=r"credential|access key"):
        add("tok-1", request=request_body)


def test_tags_and_batch_defaults_are_checked_too(add: AddJob, ledger: Ledger) -> None:
    with pytest.raises(LedgerError):
        add("tok-1", tags={"owner": FAKE_KEY_ID})
    with pytest.raises(LedgerError):
        ledger.get_or_create_batch(identity="b", file_path="/b", defaults={"password": "x"})


def test_oversized_request_is_refused(add: AddJob) -> None:
    with pytest.raises(LedgerError, match="not media"):
        add("tok-1", request={"text": "x" * 300_000})


@SQLITE_ONLY  # reads the SQLite file's bytes
def test_file_on_disk_holds_no_bytes_or_secrets(add: AddJob, ledger: Ledger) -> None:
    for bad in ({"source": {"bytes": "SECRETIMAGEDATA"}}, {"secret": FAKE_SECRET}):
        with pytest.raises(LedgerError):
            add("tok-bad", request=bad)
    add("tok-good")
    ledger.close()
    raw = b"".join(
        p.read_bytes() for p in Path(ledger.path).parent.glob("ledger.db*") if p.is_file()
    )
    assert b"tok-good" in raw
    for needle in (b"SECRETIMAGEDATA", FAKE_SECRET.encode(), FAKE_KEY_ID.encode()):
        assert needle not in raw
