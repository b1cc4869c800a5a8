"""A new user's first hour with the local emulator (issue 10, items 1, 2 and 7).

* ``--local`` is a sandbox: an output bucket the emulator lacks is created, with a
  notice, for ``generate``, ``batch`` and ``jobs retry``; the raw emulator (plain boto3,
  ``--endpoint-url``) still answers a missing bucket as the service does.
* ``VideoGenerator.local()`` gives the Python API the same one step, and every Python block
  of the README runs, verbatim, against the emulator.
* The ``emulator`` extra asks for what the emulator imports and not moto's server extra.

Commands run as a user types them (``python -m novareel …`` in a subprocess) against
the session's emulator, found through ``NOVAREEL_EMULATOR_URL`` as ``--local`` finds it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from novareel.foundation.errors import AwsError, ServiceValidationError
from tests.helpers import write_png

ROOT = Path(__file__).resolve().parents[2]
NOTICE = "created bucket 'mybucket' in the local emulator"


@pytest.fixture
def local_env(emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """``--local`` and ``VideoGenerator.local()`` find the session's emulator; cwd is a temp dir."""
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    monkeypatch.chdir(tmp_path)
    return emulator


def novareel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command line exactly as typed, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "novareel", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def bucket_exists(s3_client: Any, bucket: str) -> bool:
    names = {b["Name"] for b in s3_client.list_buckets().get("Buckets", [])}
    return bucket in names


def free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


# --- item 1: --local creates the output bucket ------------------------------------------


def test_generate_local_creates_the_readme_bucket_with_a_notice(
    local_env: Any, s3_client: Any, tmp_path: Path
) -> None:
    assert not bucket_exists(s3_client, "mybucket")
    proc = novareel("generate", "A golden sunset", "--output-uri", "s3://mybucket", "--local",
                    cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"notice: {NOTICE}" in proc.stderr
    assert "Completed" in proc.stdout
    assert bucket_exists(s3_client, "mybucket")
    assert list(tmp_path.glob("*/output.mp4")), "the video was not downloaded"

    # The bucket is there now: no second notice.
    again = novareel("generate", "A kite", "--output-uri", "s3://mybucket/v/", "--local",
                     "--json", cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "created bucket" not in again.stderr
    assert json.loads(again.stdout)["output_uri"].startswith("s3://mybucket/v/")


def test_luma_local_creates_the_bucket_in_the_models_region(
    local_env: Any, s3_client: Any, tmp_path: Path
) -> None:
    proc = novareel("generate", "A red kite", "--model-id", "luma-ray2", "--duration", "5",
                    "--output-uri", "s3://ray-out/v/", "--local", "--no-wait", "--json",
                    cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "created bucket 'ray-out' in the local emulator" in proc.stderr
    assert ":us-west-2:" in json.loads(proc.stdout)["invocation_arn"]
    location = s3_client.get_bucket_location(Bucket="ray-out")["LocationConstraint"]
    assert location == "us-west-2"


def test_batch_local_creates_the_bucket(local_env: Any, s3_client: Any, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("- prompt: A quiet pond, static shot\n- prompt: A busy harbour\n")
    proc = novareel("batch", str(plan), "--output-uri", "s3://mybucket/batch/", "--local",
                    "--out", "out", "--json", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(NOTICE) == 1  # two submits, one bucket, one notice
    assert json.loads(proc.stdout)["done"] == 2
    assert bucket_exists(s3_client, "mybucket")


def test_jobs_retry_local_recreates_a_bucket_the_emulator_forgot(
    local_env: Any, s3_client: Any, tmp_path: Path
) -> None:
    local_env.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=1, count=1)
    first = novareel("generate", "A lighthouse", "--output-uri", "s3://mybucket/v/", "--local",
                     "--json", cwd=tmp_path)  # fmt: skip
    assert first.returncode == 1, first.stderr
    job_id = json.loads(first.stdout)["error"]["result"]["ledger_id"]
    local_env.reset()  # a restarted emulator: every bucket is gone
    assert not bucket_exists(s3_client, "mybucket")
    proc = novareel("jobs", "retry", str(job_id), "--local", "--out", "out", "--json",
                    cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert NOTICE in proc.stderr
    assert json.loads(proc.stdout)["status"] == "Completed"


def test_doctor_local_makes_the_bucket_generate_would_make(
    local_env: Any, s3_client: Any, tmp_path: Path
) -> None:
    """`doctor --local` agrees with `generate --local`: no "create it with the AWS CLI"."""
    proc = novareel("doctor", "--local", "--output-uri", "s3://mybucket/v/", "--json",
                    cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert NOTICE in proc.stderr
    checks = {c["name"]: c["status"] for c in json.loads(proc.stdout)["checks"]}
    assert checks["bucket"] == "ok" and checks["bucket-write"] == "ok"
    assert bucket_exists(s3_client, "mybucket")


def test_raw_emulator_keeps_the_services_answer_for_a_missing_bucket(
    emulator: Any, bedrock_client: Any, s3_client: Any, tmp_path: Path
) -> None:
    """Plain boto3, and novareel without --local, see what AWS would answer."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        bedrock_client.start_async_invoke(
            modelId="amazon.nova-reel-v1:1",
            modelInput={"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "x"},
                        "videoGenerationConfig": {"durationSeconds": 6, "fps": 24,
                                                  "dimension": "1280x720"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://mybucket/"}},
        )  # fmt: skip
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException" and "does not exist" in error["Message"]

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = subprocess.run(
        [sys.executable, "-m", "novareel", "generate", "x", "--output-uri", "s3://mybucket",
         "--endpoint-url", emulator.url, "--region", "us-east-1", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "does not exist" in json.loads(proc.stdout)["error"]["message"]
    assert "created bucket" not in proc.stderr
    assert not bucket_exists(s3_client, "mybucket")


# --- item 2: VideoGenerator.local() ------------------------------------------------------------


def test_novareel_local_runs_the_issue_example_without_touching_the_environment(
    local_env: Any, s3_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from novareel import RayVideo, TextVideo, VideoGenerator

    environ = dict(os.environ)
    with VideoGenerator.local() as reel:
        assert dict(os.environ) == environ  # dummy credentials live in the client only
        assert reel.client.endpoint_url == local_env.url
        assert reel.time_scale == float(local_env.health()["speed"])
        result = reel.generate(
            TextVideo("A golden sunset over calm ocean waves"), "s3://my-bucket/videos/"
        )
        # Each model goes to its own region, as the emulator (and AWS) host it.
        ray = reel.submit(RayVideo("A red kite", duration=5), "s3://my-bucket/ray/")
    assert dict(os.environ) == environ
    assert "AWS_ACCESS_KEY_ID" not in os.environ
    assert result.status == "Completed"
    assert result.video_path is not None and Path(result.video_path).stat().st_size > 10_000
    assert Path(result.video_path).is_relative_to(tmp_path)
    assert ray.invocation_arn is not None and ":us-west-2:" in ray.invocation_arn
    assert "notice: created bucket 'my-bucket' in the local emulator" in capsys.readouterr().err
    assert bucket_exists(s3_client, "my-bucket")


def test_local_mode_says_nothing_about_an_aws_region(local_env: Any, tmp_path: Path) -> None:
    """The emulator's client ignores the machine's AWS configuration, so "no AWS region
    configured" would be noise there (it stays for a real or --endpoint-url client)."""
    done = novareel("generate", "A kite over a beach", "--local", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notices = json.loads(done.stdout)["notices"]
    assert not any("region" in n for n in notices), notices
    assert "no AWS region configured" not in done.stderr


def test_local_mode_ignores_the_machines_aws_profile_and_region(
    local_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A newcomer's shell often names a profile (maybe absent here) and a region."""
    from novareel import TextVideo, VideoGenerator

    monkeypatch.setenv("AWS_PROFILE", "work-account-not-on-this-machine")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with VideoGenerator.local(on_notice=lambda _: None) as reel:
        job = reel.submit(TextVideo("A golden sunset"), "s3://my-bucket/videos/")
    assert job.invocation_arn is not None and ":us-east-1:" in job.invocation_arn
    proc = novareel("generate", "A kite", "--output-uri", "s3://mybucket/v/", "--local",
                    "--no-wait", "--json", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ":us-east-1:" in json.loads(proc.stdout)["invocation_arn"]


def test_novareel_local_starts_an_emulator_for_the_block_when_none_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from novareel import TextVideo, VideoGenerator
    from novareel.client.local import probe

    url = free_url()
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", url)
    notices: list[str] = []
    with VideoGenerator.local(on_notice=notices.append) as reel:
        assert probe(url) is not None, "no emulator started at NOVAREEL_EMULATOR_URL"
        result = reel.generate(TextVideo("A paper boat"), "s3://block-bucket/v/", out_dir=tmp_path)
    assert result.status == "Completed" and result.video_path
    assert notices == ["created bucket 'block-bucket' in the local emulator"]
    assert probe(url) is None, "the emulator outlived the block"


def test_no_credentials_hint_names_novareel_local_in_python_and_local_on_the_cli(
    emulator: Any, tmp_path: Path
) -> None:
    from novareel import TextVideo, VideoGenerator

    # The conftest leaves no credentials anywhere: as on a fresh machine.
    with (
        VideoGenerator(region="us-east-1", endpoint_url=emulator.url, ledger=False) as reel,
        pytest.raises(AwsError) as caught,
    ):
        reel.submit(TextVideo("A golden sunset"), "s3://my-bucket/videos/")
    assert caught.value.code == "NoCredentials"
    hint = caught.value.hint or ""
    assert "VideoGenerator.local()" in hint and "--local" not in hint

    proc = novareel("generate", "A golden sunset", "--output-uri", "s3://my-bucket/videos/",
                    "--endpoint-url", emulator.url, "--json", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "NoCredentials"
    assert "--local" in error["hint"] and "VideoGenerator.local()" not in error["hint"]


def test_novareel_local_without_start_refuses_when_nothing_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from novareel import VideoGenerator
    from novareel.foundation.errors import EmulatorError

    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", free_url())
    with pytest.raises(EmulatorError), VideoGenerator.local(start=False):
        pass


def readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_has_the_local_snippet() -> None:
    blocks = readme_python_blocks()
    assert any("with VideoGenerator.local() as reel:" in block for block in blocks)
    on_aws = [b for b in blocks if re.search(r"^\s*with VideoGenerator\(region=", b, flags=re.M)]
    assert not on_aws, (
        "a README Python block opens VideoGenerator on AWS: a newcomer without credentials "
        "gets 'no AWS credentials'"
    )


@pytest.mark.parametrize(
    "index",
    [
        # The five examples render 14 shots: a long run, still part of CI.
        pytest.param(i, marks=pytest.mark.slow) if "MultiShotManual(" in block else i
        for i, block in enumerate(readme_python_blocks())
    ],
)
def test_readme_python_block_runs_verbatim(local_env: Any, tmp_path: Path, index: int) -> None:
    """Each ```python block of the README, exactly as written, on the emulator.

    Run in this process (cwd is a temporary folder holding the two starting frames the
    examples name), so ``VideoGenerator.local()`` finds the session's emulator at speed 500.
    """
    write_png(tmp_path / "seashell.png", (230, 200, 170))
    write_png(tmp_path / "summer_forest.png", (40, 140, 60))
    code = readme_python_blocks()[index]
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "__readme__"})
    assert list(tmp_path.rglob("output.mp4")), "the README's example downloaded no video"


# --- item 7: the emulator extra ------------------------------------------------------------

#: moto[server]'s packages for other AWS services that the emulator never imports.
NOT_NEEDED = {"sympy", "cfn-lint", "networkx", "docker", "aws-xray-sdk", "graphql-core"}

EMULATOR_RUN = r"""
import sys
at_start = set(sys.modules)  # the interpreter's own (site, .pth hooks such as setuptools')
import importlib.metadata as md, json, time, boto3
from novareel.emulator import EmulatorServer
with EmulatorServer(speed=500) as server:
    kw = dict(endpoint_url=server.url, region_name="us-east-1",
              aws_access_key_id="x", aws_secret_access_key="y")
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket="deps")
    s3.put_object(Bucket="deps", Key="k", Body=b"x" * 10)
    s3.get_object(Bucket="deps", Key="k", Range="bytes=0-3")["Body"].read()
    s3.list_objects_v2(Bucket="deps")
    br = boto3.client("bedrock-runtime", **kw)
    arn = br.start_async_invoke(
        modelId="amazon.nova-reel-v1:1",
        modelInput={"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "x"},
                    "videoGenerationConfig": {"durationSeconds": 6, "fps": 24,
                                              "dimension": "1280x720"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://deps/v/"}},
    )["invocationArn"]
    while br.get_async_invoke(invocationArn=arn)["status"] == "InProgress":
        time.sleep(0.05)
tops = {m.split(".")[0] for m in set(sys.modules) - at_start}
dists = md.packages_distributions()
print(json.dumps(sorted({d for t in tops for d in dists.get(t, [])})))
"""


def _closure(requirements: Iterable[str]) -> set[str]:
    """Every distribution these requirement strings pull in (from installed metadata)."""
    import importlib.metadata as md

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = [(Requirement(r), frozenset({""})) for r in requirements]
    while todo:
        req, parent_extras = todo.pop()
        if req.marker is not None and not any(
            req.marker.evaluate({"extra": e}) for e in parent_extras
        ):
            continue
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = md.requires(req.name) or []
        except md.PackageNotFoundError:
            continue
        extras = frozenset({"", *req.extras})
        todo.extend((Requirement(r), extras) for r in requires)
    return {key.split("[")[0] for key in seen}


def test_emulator_extra_is_what_the_emulator_imports_and_no_more() -> None:
    tomllib = pytest.importorskip("tomllib")
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["emulator"]
    installed = _closure([*project["dependencies"], *extra])
    pulled_by_extra = _closure(extra)
    assert not pulled_by_extra & NOT_NEEDED, sorted(pulled_by_extra & NOT_NEEDED)

    proc = subprocess.run(
        [sys.executable, "-c", EMULATOR_RUN], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    imported = {canonicalize_name(d) for d in json.loads(proc.stdout.splitlines()[-1])}
    assert "flask" in imported and "moto" in imported  # the probe did run the emulator
    missing = imported - installed - {"novareel"}
    assert not missing, f"the emulator imports {sorted(missing)}, which no dependency brings"


def test_service_validation_error_is_what_a_missing_bucket_raises_without_local(
    emulator: Any,
) -> None:
    """The library without local mode: a missing bucket is the service's ValidationException."""
    from novareel import TextVideo, VideoGenerator
    from tests.helpers import make_client

    with (
        VideoGenerator(make_client(emulator.url), ledger=False) as reel,
        pytest.raises(ServiceValidationError, match="does not exist"),
    ):
        reel.submit(TextVideo("x"), "s3://mybucket/v/")
