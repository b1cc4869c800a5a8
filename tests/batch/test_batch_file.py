"""Batch files: YAML / JSONL forms, precedence of defaults, every problem at once."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

from novareel.batch import (
    ConcurrencyLimit,
    batch_identity,
    client_token_for,
    content_hash,
    load_batch,
)
from novareel.foundation.errors import InvalidRequestError
from novareel.models.nova_reel import MultiShotAutomated, MultiShotManual, TextVideo
from tests.helpers import OUTPUT, write_png


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_list_of_every_task_type(tmp_path: Path, frame_png: Path) -> None:
    board = write(
        tmp_path / "board.yaml",
        "- text: A lighthouse at dawn, drone shot\n- text: The keeper climbs the stairs\n",
    )
    path = write(
        tmp_path / "batch.yaml",
        f"""
- prompt: A red kite over green hills, static shot
  output_uri: {OUTPUT}
- id: auto-one
  prompt: A day in a busy harbour
  duration: 18
  output_uri: {OUTPUT}
- task: manual
  shots:
    - A cat wakes up
    - text: The cat stretches
      image: frame.png
  output_uri: {OUTPUT}
- storyboard: {board.name}
  seed: 9
  output_uri: {OUTPUT}
- prompt: From a picture
  image: frame.png
  tags: {{project: demo}}
  output_uri: {OUTPUT}
""",
    )
    batch = load_batch(path)
    kinds = [type(i.request) for i in batch.items]
    assert kinds == [TextVideo, MultiShotAutomated, MultiShotManual, MultiShotManual, TextVideo]
    assert [i.key for i in batch.items] == ["1", "auto-one", "3", "4", "5"]
    manual = batch.items[2].request
    assert isinstance(manual, MultiShotManual)
    # relative image paths are read from the batch file's folder, not the cwd
    assert manual.shots[1].image is not None and manual.shots[1].image.source == str(frame_png)
    assert batch.items[3].request.seed == 9
    assert batch.items[4].tags == {"project": "demo"}
    # 6 + 18 + 12 + 12 + 6 seconds at $0.08
    assert batch.estimated_cost_usd == pytest.approx(0.08 * 54)
    assert batch.path == path.resolve()


def test_mapping_with_defaults_and_cli_precedence(tmp_path: Path) -> None:
    path = write(
        tmp_path / "batch.yml",
        """
defaults:
  output_uri: s3://from-file/videos/
  seed: 5
items:
  - prompt: one
  - prompt: two
    seed: 6
    output_uri: s3://from-item/x/
""",
    )
    batch = load_batch(path, defaults={"output_uri": "s3://from-cli/v/"})
    first, second = batch.items
    # the command line beats the file's defaults; the item beats both
    assert first.output_uri == "s3://from-cli/v/" and first.request.seed == 5
    assert second.output_uri == "s3://from-item/x/" and second.request.seed == 6
    # a fallback (environment, --local bucket) only fills what nobody gave
    only_fallback = load_batch(path, fallback={"output_uri": "s3://fallback/v/"})
    assert only_fallback.items[0].output_uri == "s3://from-file/videos/"


def test_jsonl_with_defaults_line_and_comments(tmp_path: Path) -> None:
    lines = [
        json.dumps({"defaults": {"output_uri": OUTPUT}}),
        "# a comment",
        "",
        json.dumps({"id": "a", "prompt": "first"}),
        json.dumps({"id": "b", "prompt": "second", "duration": 12}),
    ]
    batch = load_batch(write(tmp_path / "batch.jsonl", "\n".join(lines)))
    assert [i.key for i in batch.items] == ["a", "b"]
    assert isinstance(batch.items[1].request, MultiShotAutomated)


def test_every_problem_reported_at_once_with_item_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "batch.yaml",
        f"""
defaults:
  output_uri: {OUTPUT}
items:
  - prompt: fine
  - promt: typo in the key
  - prompt: too long for text
    duration: 7
  - id: dup
    prompt: a
  - id: dup
    prompt: b
  - prompt: a picture
    image: missing.png
  - prompt: ""
""",
    )
    with pytest.raises(InvalidRequestError) as caught:
        load_batch(path)
    fields = [p.field for p in caught.value.problems]
    messages = " | ".join(str(p) for p in caught.value.problems)
    assert "items[2].promt" in fields
    assert "did you mean 'prompt'" in messages
    assert any(f.startswith("items[3].") and "duration" in f for f in fields)
    assert "items[5].id" in fields
    assert "items[6].image" in fields
    assert any(f.startswith("items[7].") for f in fields)
    assert not any(f.startswith("items[1].") for f in fields)
    assert "nothing was sent" in (caught.value.hint or "")


def test_missing_output_uri_is_a_problem_of_the_item(tmp_path: Path) -> None:
    path = write(tmp_path / "batch.yaml", "- prompt: one\n- prompt: two\n")
    with pytest.raises(InvalidRequestError) as caught:
        load_batch(path)
    assert [p.field for p in caught.value.problems] == [
        "items[1].output_uri",
        "items[2].output_uri",
    ]


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("bad.yaml", "- prompt: [unclosed\n", "invalid YAML at line"),
        ("bad.json", "[{", "invalid JSON at line"),
        ("bad.yaml", "just a string\n", "must be a list of items"),
        ("bad.yaml", "items: []\n", "no items"),
        ("bad.jsonl", '{"prompt": "ok", "output_uri": "s3://b-1/x/"}\n{oops\n', "line 2"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, text: str, needle: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        load_batch(write(tmp_path / name, text))
    assert needle in str(caught.value)


def test_batch_identity_is_the_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "b.yaml", "")
    monkeypatch.chdir(tmp_path)
    assert batch_identity("b.yaml") == batch_identity(path)
    assert batch_identity(path) != batch_identity(tmp_path / "other.yaml")


def test_client_tokens_are_deterministic_and_distinct() -> None:
    token = client_token_for("id", "item", 1, "hash")
    assert token == client_token_for("id", "item", 1, "hash")
    variants = {
        client_token_for("id2", "item", 1, "hash"),
        client_token_for("id", "item2", 1, "hash"),
        client_token_for("id", "item", 2, "hash"),
        client_token_for("id", "item", 1, "hash2"),
    }
    assert token not in variants and len(variants) == 4
    printable = set(string.printable) - set(string.whitespace)
    assert 1 <= len(token) <= 256 and set(token) <= printable


def test_content_hash_follows_image_bytes_not_paths(tmp_path: Path) -> None:
    from novareel.media.images import load_starting_frame

    one = write_png(tmp_path / "one.png")
    moved = write_png(tmp_path / "moved.png")
    other = write_png(tmp_path / "other.png", (0, 200, 0))

    def described(path: Path) -> dict[str, object]:
        return TextVideo("p", image=load_starting_frame(path)).describe()

    assert content_hash(described(one), OUTPUT, {}) == content_hash(described(moved), OUTPUT, {})
    assert content_hash(described(one), OUTPUT, {}) != content_hash(described(other), OUTPUT, {})
    assert content_hash(described(one), OUTPUT, {}) != content_hash(
        described(one), OUTPUT, {"a": "b"}
    )
    assert content_hash(described(one), OUTPUT, {}) != content_hash(
        described(one), "s3://elsewhere/x/", {}
    )


def test_concurrency_limit_is_aimd() -> None:
    limit = ConcurrencyLimit(8)
    assert limit.limit == 8
    limit.on_pushback()
    assert limit.limit == 4
    for _ in range(3):
        limit.on_success()
    assert limit.limit == 4  # +1 only after `limit` successes in a row
    limit.on_success()
    assert limit.limit == 5
    for _ in range(10):
        limit.on_pushback()
    assert limit.limit == 1  # never below one
    for _ in range(200):
        limit.on_success()
    assert limit.limit == 8  # never above the configured maximum
    with pytest.raises(ValueError):
        ConcurrencyLimit(0)
