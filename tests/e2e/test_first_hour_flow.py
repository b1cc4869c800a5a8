"""Issue 10, a new user's first hour: notices before the submit (3), Ctrl-C and
``--no-wait`` say how to resume and ``wait``/``download`` remember ``--out`` (4),
submits refused before sending are recorded at $0 and ``jobs`` shows prompt, where and
local cost (5), readable download folders (8), ``--limit``/``--max`` and 80-column
tables (9). Driven through the CLI as a user types it, against the emulator."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from novareel import TextVideo, VideoGenerator
from novareel.cli import _register, app
from novareel.foundation.naming import job_folder_name, slugify
from novareel.ledger import Ledger
from tests.helpers import BUCKET, job_dir, make_client

_register()
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def novareel(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """The CLI as a separate process, stderr merged into stdout in the order written."""
    return subprocess.run(
        [sys.executable, "-m", "novareel", *args],
        cwd=cwd, env=env or dict(os.environ), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout,
    )  # fmt: skip


def ledger_row(ref: str | int) -> Any:
    with Ledger.open_default() as ledger:
        return ledger.get(ref)


def tall_jpeg_as_png(path: Path) -> Path:
    """A 1280x816 JPEG named .png: converted with --fit crop (two notices)."""
    Image.new("RGB", (1280, 816), (30, 90, 160)).save(path, format="JPEG")
    return path


# ------------------------------------------------------------------ 3. notices early


def test_generate_prints_every_notice_before_the_submit(
    cli_env: dict[str, Any], tmp_path: Path
) -> None:
    image = tall_jpeg_as_png(tmp_path / "frame.png")
    proc = novareel(
        "generate", "A dog on the beach, no people", "--image", str(image), "--fit", "crop",
        "--endpoint-url", cli_env["url"], "--output-uri", "s3://cli-bucket/v",
        "--out", "videos", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    submitted = next(i for i, line in enumerate(lines) if line.startswith("submitting 1 job"))
    before = "\n".join(lines[:submitted])
    for expected in ("holds JPEG data", "cut 48 px", "negation", "does not end in '/'"):
        assert expected in before, f"{expected!r} not before the submit:\n{proc.stdout}"
    # Said once, not again with the result.
    assert proc.stdout.count("does not end in '/'") == 1
    assert sum(line.startswith("notice: negation") for line in lines) == 1


def test_python_api_hands_notices_over_before_anything_is_sent(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    heard: list[tuple[str, int]] = []

    def on_notice(notice: str) -> None:
        heard.append((notice, emulator.stats()["acceptedSubmissions"]))

    result = reel.generate(
        TextVideo("A quiet street, no cars"),
        f"s3://{BUCKET}/videos",
        out_dir=tmp_path,
        on_notice=on_notice,
    )
    said = [notice for notice, _ in heard]
    assert any("does not end in '/'" in n for n in said)
    assert any("negation" in n for n in said)
    # Every pre-submit notice was heard while nothing had been accepted yet.
    assert all(accepted == 0 for notice, accepted in heard if notice in result.notices[:2])
    assert set(said) >= set(result.notices)


def test_batch_prints_each_items_notices_before_the_run(
    cli_env: dict[str, Any], tmp_path: Path
) -> None:
    tall_jpeg_as_png(tmp_path / "frame.png")
    (tmp_path / "jobs.yaml").write_text(
        "defaults:\n  output_uri: s3://cli-bucket/b\n"
        "items:\n"
        "  - id: intro\n    prompt: A lighthouse, no boats\n"
        "    image: frame.png\n    fit: crop\n"
        "  - id: outro\n    prompt: A calm harbour at dusk\n",
        encoding="utf-8",
    )
    proc = novareel(
        "batch", "jobs.yaml", "--endpoint-url", cli_env["url"], "--out", "videos", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    summary = next(i for i, line in enumerate(lines) if " done" in line and "of 2" in line)
    before = "\n".join(lines[:summary])
    assert "item 1 (intro): image: frame.png holds JPEG data" in before
    assert "item 1 (intro): image: cropped 1280x816" in before
    assert "item 1 (intro): negation" in before
    assert "does not end in '/'" in before
    # Batch outputs are named by item id.
    with Ledger.open_default() as ledger:
        rows = {r.batch_item: r for r in ledger.list_jobs()}
    for key in ("intro", "outro"):
        folder = job_dir(tmp_path / "videos", rows[key].id)
        assert folder.name.endswith(f"-{key}-{rows[key].invocation_id}")
        assert (folder / "output.mp4").is_file()


# ------------------------------------------------------------ 4. Ctrl-C and resume


def test_ctrl_c_prints_the_command_that_resumes_and_it_works(
    cli_env: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    emulator.configure(speed=1)  # the job would take over a minute: time to press Ctrl-C
    proc = subprocess.Popen(
        [sys.executable, "-m", "novareel", "generate", "A red fox in snow",
         *cli_env["args"], "--out", "videos"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if line.startswith("submitted job"):
            break
    time.sleep(0.5)  # inside the wait now
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    output = "".join(seen) + rest
    assert proc.returncode == 130, output
    command = next(
        line.strip() for line in output.splitlines() if line.strip().startswith("novareel wait")
    )
    assert command == f"novareel wait 1 --out videos --endpoint-url {cli_env['url']}"
    assert "keeps running" in output

    # `wait` itself, interrupted in turn, prints the same command.
    polls = emulator.stats()["requests"].get("GetAsyncInvoke", 0)
    waiting = subprocess.Popen(
        [sys.executable, "-m", "novareel", *shlex.split(command)[1:]],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while emulator.stats()["requests"].get("GetAsyncInvoke", 0) == polls:
        assert time.monotonic() < deadline and waiting.poll() is None
        time.sleep(0.05)
    waiting.send_signal(signal.SIGINT)
    again, _ = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, again
    assert command in again and "keeps running" in again

    row = ledger_row(1)
    emulator.configure(speed=500)
    emulator.finish(row.invocation_id)
    resumed = novareel(*shlex.split(command)[1:], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout
    folder = job_dir(tmp_path / "videos", 1)
    assert folder.name.endswith("-a-red-fox-in-snow-" + str(row.invocation_id))
    assert (folder / "output.mp4").is_file()


def test_no_wait_prints_the_next_command_and_wait_remembers_out(
    cli_env: dict[str, Any], tmp_path: Path
) -> None:
    submitted = run("generate", "A paper boat", *cli_env["args"], "--out", "videos", "--no-wait")
    assert submitted.exit_code == 0, submitted.output
    assert f"next: novareel wait 1 --out videos --endpoint-url {cli_env['url']}" in (
        submitted.stderr
    )
    as_json = run(
        "generate", "A paper plane", *cli_env["args"], "--out", "videos", "--no-wait", "--json"
    )
    assert json.loads(as_json.stdout)["next_command"].startswith("novareel wait 2 --out videos")

    # No --out: the job's own folder is remembered.
    waited = run("wait", "1", *cli_env["conn"], "--json")
    assert waited.exit_code == 0, waited.output
    data = json.loads(waited.stdout)
    assert Path(data["local_dir"]) == job_dir(tmp_path / "videos", 1)
    assert (job_dir(tmp_path / "videos", 1) / "output.mp4").is_file()
    # `download` too, into the same folder (nothing new beside it).
    run("wait", "2", *cli_env["conn"], "--no-download")
    downloaded = run("download", "2", *cli_env["conn"], "--json")
    assert Path(json.loads(downloaded.stdout)["local_dir"]) == job_dir(tmp_path / "videos", 2)
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == sorted(
        [job_dir(tmp_path / "videos", 1).name, job_dir(tmp_path / "videos", 2).name]
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_job_whose_own_emulator_stopped_is_marked_lost(tmp_path: Path) -> None:
    env = {**os.environ, "NOVAREEL_EMULATOR_URL": f"http://127.0.0.1:{_free_port()}"}
    submitted = novareel("generate", "a kite", "--local", "--no-wait", cwd=tmp_path, env=env)
    assert submitted.returncode == 0, submitted.stdout
    assert "stops with it" in submitted.stdout and "next:" not in submitted.stdout

    waited = novareel("wait", "1", "--local", cwd=tmp_path, env=env)
    assert waited.returncode == 1, waited.stdout
    assert "emulator started inside the command" in waited.stdout
    assert "novareel emulator" in waited.stdout
    assert "check the invocation arn" not in waited.stdout.lower()
    row = ledger_row(1)
    assert (row.status, row.failure_type) == ("Failed", "LocalEmulatorGone")
    # `status` says the same, from the ledger's verdict onwards.
    status = novareel("jobs", "show", "1", cwd=tmp_path, env=env)
    assert "LocalEmulatorGone" in status.stdout


def test_an_identical_generate_does_not_attach_to_a_job_its_own_emulator_took_along(
    tmp_path: Path,
) -> None:
    """The README's examples 1 and 2 in a row: `--no-wait` on the command's own
    emulator, then the same request with `--out`. The first job died with its
    emulator, so the second command must run a new one, not wait for a ghost."""
    env = {**os.environ, "NOVAREEL_EMULATOR_URL": f"http://127.0.0.1:{_free_port()}"}
    target = ("--output-uri", "s3://mybucket", "--local")
    first = novareel("generate", "a seashell", *target, "--no-wait", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stdout
    second = novareel("generate", "a seashell", *target, "--out", "videos", cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stdout
    assert "identical job" not in second.stdout
    assert list((tmp_path / "videos").rglob("output.mp4"))
    assert ledger_row(2).status == "Completed"


def test_ctrl_c_on_the_commands_own_emulator_records_the_job_lost(tmp_path: Path) -> None:
    env = {**os.environ, "NOVAREEL_EMULATOR_URL": f"http://127.0.0.1:{_free_port()}"}
    # The in-process emulator runs at 25x: a 6 s job takes a few seconds there.
    proc = subprocess.Popen(
        [sys.executable, "-m", "novareel", "generate", "a slow kite", "--local"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen = [proc.stdout.readline()]
    while seen[-1] and not seen[-1].startswith("submitted job"):
        seen.append(proc.stdout.readline())
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    output = "".join(seen) + rest
    assert proc.returncode == 130, output
    assert "interrupted: job 1 is gone" in output and "novareel emulator" in output
    assert "novareel wait" not in output
    row = ledger_row(1)
    assert (row.status, row.failure_type) == ("Failed", "LocalEmulatorGone")


# ------------------------------------------------------- 5. the ledger tells the truth


def test_a_submit_refused_before_sending_is_recorded_not_sent_at_zero(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    refused = run(
        "generate", "A lighthouse", "--endpoint-url", emulator.url,
        "--output-uri", "s3://cli-bucket/v/", "--region", "us-east-1",
    )  # fmt: skip
    assert refused.exit_code == 3, refused.output
    assert "no AWS credentials" in refused.output
    assert emulator.stats()["acceptedSubmissions"] == 0
    row = json.loads(run("jobs", "--json").stdout)[0]
    assert (row["status"], row["failure_type"], row["not_sent"]) == ("Rejected", "NotSent", True)
    assert row["estimated_cost_usd"] == 0
    listed = run("jobs").stdout
    assert "not sent" in listed and "$0" in listed and "$0.48" not in listed

    # Once credentials are there, the same row is sent with its own token.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    make_client(emulator.url).ensure_bucket("cli-bucket")
    retried = run("jobs", "retry", "1", "--endpoint-url", emulator.url, "--json")
    assert retried.exit_code == 0, retried.output
    again = ledger_row(1)
    assert again.status == "Completed" and again.estimated_cost_usd == pytest.approx(0.48)
    assert again.failure_type is None


def test_a_batch_refused_before_sending_is_sent_later_with_the_same_rows(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.yaml").write_text("- id: one\n  prompt: A kite\n- id: two\n  prompt: A boat\n")
    args = ["batch", "b.yaml", "--endpoint-url", emulator.url]
    args += ["--output-uri", "s3://cli-bucket/v/", "--out", "videos"]
    refused = run(*args)
    assert refused.exit_code == 3, refused.output
    before = json.loads(run("jobs", "--json").stdout)
    assert before and all(r["not_sent"] and r["estimated_cost_usd"] == 0 for r in before)

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    make_client(emulator.url).ensure_bucket("cli-bucket")
    done = run(*args)
    assert done.exit_code == 0, done.output
    after = json.loads(run("jobs", "--json").stdout)
    assert len(after) == 2 and {r["id"] for r in before} <= {r["id"] for r in after}
    assert all(r["status"] == "Completed" and not r["not_sent"] for r in after)
    assert emulator.stats()["acceptedSubmissions"] == 2


def test_jobs_shows_prompt_where_and_local_cost(cli_env: dict[str, Any], tmp_path: Path) -> None:
    done = run("generate", "A golden sunset over calm waves", *cli_env["args"], "--out", "v")
    assert done.exit_code == 0, done.output
    assert "$0 here (≈ $0.48 on AWS)" in done.stdout  # the generate summary
    shots = run(
        "generate", *cli_env["args"], "--shot", "A door opens", "--shot", "A cat walks in",
        "--out", "v",
    )  # fmt: skip
    assert shots.exit_code == 0, shots.output

    proc = novareel("jobs", cwd=tmp_path, env={**os.environ, "COLUMNS": "80"})
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), proc.stdout
    assert "prompt" in lines[0] and "where" in lines[0]
    # the prompt comes last and is cut with an ellipsis to what the one-line cells leave
    assert "A golden sun" in proc.stdout and "A door opens" in proc.stdout
    # the table's compact cost cell: one line, still "$0" here and the AWS price
    assert "local" in proc.stdout and "$0 (AWS ~$0.48)" in proc.stdout

    show = run("jobs", "show", "1").stdout
    assert "A golden sunset over calm waves" in show
    assert "$0 here (≈ $0.48 on AWS)" in show and "locally" in show
    show_shots = run("jobs", "show", "2").stdout
    assert "shot 1" in show_shots and "A door opens" in show_shots
    assert "shot 2" in show_shots and "A cat walks in" in show_shots


# ------------------------------------------------------------- 8. readable folders


def test_folders_are_named_by_date_slug_and_id_and_name_sets_the_slug(
    cli_env: dict[str, Any], tmp_path: Path
) -> None:
    named = run(
        "generate", "A long take", *cli_env["args"], "--out", "videos",
        "--name", "Launch Teaser (v2)!", "--json",
    )  # fmt: skip
    data = json.loads(named.stdout)
    row = ledger_row(data["ledger_id"])
    assert row.submit_time is not None
    expected = job_folder_name(
        data["invocation_id"], label="launch-teaser-v2", when=row.submit_time
    )
    assert Path(data["local_dir"]) == (tmp_path / "videos" / expected).resolve()
    assert expected.startswith(row.submit_time.astimezone().strftime("%Y-%m-%d-launch-teaser-v2-"))


def test_old_rows_keep_their_invocation_id_folder(cli_env: dict[str, Any], tmp_path: Path) -> None:
    data = json.loads(
        run("generate", "A pond", *cli_env["args"], "--no-wait", "--json", "--no-download").stdout
    )
    legacy = tmp_path / "videos" / data["invocation_id"]
    legacy.mkdir(parents=True)  # what an older novareel made
    assert run("wait", "1", *cli_env["conn"]).exit_code == 0
    got = json.loads(run("download", "1", *cli_env["conn"], "--out", "videos", "--json").stdout)
    assert Path(got["local_dir"]) == legacy.resolve()
    assert [p.name for p in (tmp_path / "videos").iterdir()] == [data["invocation_id"]]


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("A golden sunset, over calm waves!", "a-golden-sunset-over-calm-waves"),
        ("Café crème  brûlée", "cafe-creme-brulee"),
        ("x" * 50, "x" * 40),
        ("Slow dolly in: a red fox walks through deep fresh snow at dawn", None),
        ("!!!", ""),
    ],
)
def test_slugs_are_short_lowercase_ascii(text: str, slug: str | None) -> None:
    got = slugify(text)
    assert len(got) <= 40 and got == got.lower() and got.isascii()
    assert "--" not in got and not got.startswith("-") and not got.endswith("-")
    if slug is not None:
        assert got == slug
    else:  # cut on a word boundary
        assert got == "slow-dolly-in-a-red-fox-walks-through"


# ------------------------------------------------------- 9. limits and 80 columns


def test_limit_and_max_are_one_option_on_jobs_and_list(cli_env: dict[str, Any]) -> None:
    for prompt in ("One", "Two"):
        assert run("generate", prompt, *cli_env["args"], "--no-wait").exit_code == 0
    for args in (["jobs", "--limit", "1"], ["jobs", "--max", "1"], ["jobs", "list", "--max", "1"]):
        assert len(json.loads(run(*args, "--json").stdout)) == 1, args
    for flag in ("--limit", "--max"):
        listed = run("list", *cli_env["conn"], flag, "1", "--json")
        assert len(json.loads(listed.stdout)) == 1, flag
    clash = run("jobs", "--limit", "1", "--max", "2")
    assert clash.exit_code == 2
    for command in (["jobs", "--help"], ["list", "--help"]):
        text = run(*command).stdout
        assert "--limit" in text and "--max" not in text


def test_list_and_batch_tables_fit_80_columns(cli_env: dict[str, Any], tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "80"}
    for prompt in ("A lighthouse at night with waves crashing on rocks", "A calm lake"):
        assert run("generate", prompt, *cli_env["args"], "--out", "videos").exit_code == 0
    listed = novareel("list", *cli_env["conn"], cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stdout
    assert all(len(line) <= 80 for line in listed.stdout.splitlines()), listed.stdout
    assert "Completed" in listed.stdout and "nova-reel" in listed.stdout

    (tmp_path / "b.yaml").write_text(
        "- id: a-rather-long-item-identifier\n  prompt: A very long prompt " + "x" * 80 + "\n"
        "  output_uri: s3://cli-bucket/some/deeply/nested/folder/for/outputs/\n",
        encoding="utf-8",
    )
    dry = novareel("batch", "b.yaml", "--dry-run", cwd=tmp_path, env=env)
    assert dry.returncode == 0, dry.stdout
    table = [line for line in dry.stdout.splitlines() if not line.startswith("notice")]
    assert all(len(line) <= 80 for line in table), dry.stdout
    assert "$0.48" in dry.stdout
