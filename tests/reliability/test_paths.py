"""Paths: no S3 key of a job's folder can make a download write outside its target."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from novareel import TextVideo
from novareel.foundation.errors import DownloadError
from novareel.jobs import VideoGenerator, safe_local_path
from tests.helpers import BUCKET, OUTPUT, job_dir

LONG_NAME = "n" * 300

UNSAFE_SUFFIXES = [
    "../x",
    "../../escaped.txt",
    "/etc/x",
    "a/../../x",
    "sub/../../y",
    "./dot.txt",
    "a//b.txt",
    "back\\slash.txt",
    LONG_NAME,
    f"sub/{LONG_NAME}.txt",
]


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_unsafe_keys_in_a_job_folder_are_skipped(
    reel: VideoGenerator, s3_client: Any, tmp_path: Path
) -> None:
    done = reel.generate(TextVideo("A red kite over hills"), OUTPUT, out_dir=None)
    assert done.status == "Completed" and done.invocation_id
    folder_key = f"videos/{done.invocation_id}/"
    for suffix in UNSAFE_SUFFIXES:
        s3_client.put_object(Bucket=BUCKET, Key=folder_key + suffix, Body=b"evil")
    s3_client.put_object(Bucket=BUCKET, Key=folder_key + "sub/ok.txt", Body=b"fine")
    listed = {
        o["Key"][len(folder_key) :]
        for o in s3_client.list_objects_v2(Bucket=BUCKET, Prefix=folder_key)["Contents"]
    }
    # The emulator's S3 keeps the keys verbatim (no normalisation hides the attack).
    assert {"../x", "/etc/x", "a/../../x", LONG_NAME} <= listed

    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    sentinel_dirs = [tmp_path, tmp_path / "deep", out]
    before = _tree(tmp_path)
    result = reel.download(str(done.ledger_id), out)

    target = job_dir(out, done.invocation_id)
    new_files = _tree(tmp_path) - before
    assert new_files, "the safe files should have been downloaded"
    for path in new_files:
        assert path.resolve().is_relative_to(target.resolve()), path
    for d in sentinel_dirs:
        assert not (d / "x").exists() and not (d / "escaped.txt").exists()
        assert not (d / "y").exists()
    assert (target / "sub" / "ok.txt").read_bytes() == b"fine"
    assert (target / "output.mp4").stat().st_size > 0
    assert not any(len(p.name) > 255 for p in new_files)
    names = {p.relative_to(target).as_posix() for p in new_files}
    assert names == {
        "manifest.json",
        "output.mp4",
        "video-generation-status.json",
        "sub/ok.txt",
    }
    notice = next(n for n in result.notices if "unsafe key" in n)
    assert f"skipped {len(UNSAFE_SUFFIXES)} unsafe key(s)" in notice
    assert sorted(result.local_files) == sorted(str(p) for p in new_files)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/",
        "/etc/passwd",
        "../x",
        "a/../../x",
        "a/..",
        "..",
        ".",
        "./x",
        "a//b",
        "a/",
        "a\\..\\x",
        "nul\x00byte",
        "n" * 256,
        "ok/" + "n" * 256,
    ],
)
def test_safe_local_path_refuses(tmp_path: Path, key: str) -> None:
    with pytest.raises(DownloadError) as info:
        safe_local_path(tmp_path / "target", key)
    assert "refusing to download key" in info.value.message
    assert info.value.hint


@pytest.mark.parametrize("key", ["output.mp4", "sub/ok.txt", "a..b/c..d", "n" * 255, "é" * 127])
def test_safe_local_path_accepts_ordinary_keys(tmp_path: Path, key: str) -> None:
    target = tmp_path / "target"
    target.mkdir()
    dest = safe_local_path(target, key)
    assert dest.is_relative_to(target.resolve())
    assert dest == (target.resolve() / key)


def test_safe_local_path_defeats_a_planted_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(outside, target / "link")
    os.symlink(outside / "file.txt", target / "filelink")
    with pytest.raises(DownloadError, match="outside the download folder"):
        safe_local_path(target, "link/file.txt")
    with pytest.raises(DownloadError, match="outside the download folder"):
        safe_local_path(target, "filelink")
    # A symlinked *target* itself is fine: the check is relative to the resolved target.
    alias = tmp_path / "alias"
    os.symlink(target, alias)
    assert safe_local_path(alias, "ok.txt") == target.resolve() / "ok.txt"


def test_download_never_follows_a_planted_symlink(
    reel: VideoGenerator, s3_client: Any, tmp_path: Path
) -> None:
    done = reel.generate(TextVideo("A lantern in fog"), OUTPUT, out_dir=None)
    assert done.invocation_id
    s3_client.put_object(
        Bucket=BUCKET, Key=f"videos/{done.invocation_id}/link/payload.txt", Body=b"evil"
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "out" / done.invocation_id
    target.mkdir(parents=True)
    os.symlink(outside, target / "link")
    result = reel.download(str(done.ledger_id), tmp_path / "out")
    assert list(outside.iterdir()) == []
    assert any("link/payload.txt" in n for n in result.notices)
    assert (target / "output.mp4").is_file()
