"""``novareel models`` and ``novareel doctor`` end to end, against the emulator over HTTP.

The emulator answers the Bedrock control plane per signing region and per model state
(``model_states``), and refuses writes to ``read_only_buckets``. No video is rendered.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from novareel.client import AwsClient

_register()
runner = CliRunner()

NOVA = "amazon.nova-reel-v1:1"
NOVA0 = "amazon.nova-reel-v1:0"
RAY = "luma.ray-v2:0"
EAST_BUCKET = "doctor-east"
WEST_BUCKET = "doctor-west"


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def run_json(*args: str) -> tuple[int, Any]:
    result = run(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


_CLIENTS: dict[tuple[str, str], AwsClient] = {}


def _client(url: str, region: str = "us-east-1") -> AwsClient:
    """One client per emulator and region for the whole module (boto3 clients are slow)."""
    if (url, region) not in _CLIENTS:
        _CLIENTS[url, region] = AwsClient(
            region=region, endpoint_url=url, access_key="testing", secret_key="testing"
        )
    return _CLIENTS[url, region]


def _bucket(url: str, region: str, bucket: str) -> None:
    _client(url, region).ensure_bucket(bucket)


@pytest.fixture
def env(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Dummy credentials, no configured region, a bucket in us-east-1 and in us-west-2."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _bucket(emulator.url, "us-east-1", EAST_BUCKET)
    _bucket(emulator.url, "us-west-2", WEST_BUCKET)
    return emulator


def states(emulator: Any, **by_model: str) -> None:
    emulator.configure(model_states=by_model)


def doctor(emulator: Any, *args: str) -> tuple[int, dict[str, Any]]:
    return run_json("doctor", "--endpoint-url", emulator.url, *args)


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


# -- novareel models ----------------------------------------------------------------------


def test_models_offline_json_needs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    code, rows = run_json("models", "--offline")
    assert code == 0
    by_id = {r["model_id"]: r for r in rows}
    assert set(by_id) >= {NOVA, NOVA0, RAY}
    for row in rows:
        for key in (
            "model_id", "name", "provider", "regions", "lifecycle_status", "end_of_life",
            "access", "price_usd_per_second", "aliases", "legacy_since", "task_types", "source",
        ):  # fmt: skip
            assert key in row, key
        assert row["access"] == "unknown"
        assert row["source"] == "registry"
    assert by_id[NOVA]["end_of_life"] == "2026-09-30"
    assert by_id[NOVA]["regions"] == ["us-east-1"]
    assert by_id[RAY]["price_usd_per_second"] == {"540p": 0.75, "720p": 1.5}
    assert by_id[RAY]["region"] == "us-west-2"
    assert "luma-ray2" in by_id[RAY]["aliases"]


def test_models_offline_text_table() -> None:
    result = runner.invoke(app, ["models", "--offline"], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    assert "Luma Ray 2 (Luma AI)" in result.stdout
    assert "$0.08/s" in result.stdout and "720p $1.50/s" in result.stdout
    assert "ended 2026-09-30" in result.stdout


def test_models_without_credentials_exits_3_with_a_hint() -> None:
    result = run("models", "--endpoint-url", "http://127.0.0.1:9", "--json")
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert "--offline" in error["hint"] and "--local" in error["hint"]


def test_models_local_json_joins_the_control_plane(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", env.url)
    states(env, **{NOVA: "active", NOVA0: "eol", RAY: "no-agreement"})
    code, rows = run_json("models", "--local")
    assert code == 0, rows
    by_id = {r["model_id"]: r for r in rows}
    nova = by_id[NOVA]
    assert (nova["lifecycle_status"], nova["source"], nova["access"]) == (
        "ACTIVE",
        "control-plane",
        "ok",
    )
    assert nova["region"] == "us-east-1"
    assert by_id[NOVA0]["lifecycle_status"] == "EOL"
    assert by_id[NOVA0]["end_of_life"] == "2026-09-30"
    assert by_id[RAY]["access"] == "no-agreement"
    assert by_id[RAY]["region"] == "us-west-2"


def test_models_legacy_and_no_access(env: Any) -> None:
    states(env, **{NOVA: "legacy", RAY: "no-access"})
    code, rows = run_json("models", "--endpoint-url", env.url)
    assert code == 0
    by_id = {r["model_id"]: r for r in rows}
    assert by_id[NOVA]["lifecycle_status"] == "LEGACY"
    assert by_id[NOVA]["legacy_since"] == "2026-03-30"
    assert by_id[NOVA]["end_of_life"] == "2026-09-30"
    assert by_id[RAY]["access"] == "not-authorized"


def test_models_in_one_region_reports_not_in_region(env: Any) -> None:
    code, rows = run_json("models", "--endpoint-url", env.url, "--region", "us-east-1")
    assert code == 0
    by_id = {r["model_id"]: r for r in rows}
    assert by_id[RAY]["access"] == "not-in-region"
    assert by_id[NOVA]["access"] == "ok"


# -- novareel doctor ----------------------------------------------------------------------


def test_doctor_active_default_model(env: Any) -> None:
    code, report = doctor(env, "--output-uri", f"s3://{EAST_BUCKET}/videos/")
    assert code == 0, report
    assert report["ok"] is True
    assert (report["model_id"], report["region"]) == (NOVA, "us-east-1")
    by_name = checks(report)
    # Every check passes on the emulator; the lifecycle warns because AWS published
    # Nova Reel's end of life (2026-09-30), which the emulator's ACTIVE does not undo.
    assert {n: c["status"] for n, c in by_name.items() if c["status"] != "ok"} == {
        "lifecycle": "warn"
    }
    assert "no region configured" in by_name["region"]["detail"]
    assert by_name["credentials"]["detail"].startswith("account ")
    # The write probe cleaned up after itself.
    from novareel.foundation.s3uri import S3Uri

    assert _client(env.url).list_objects(S3Uri(EAST_BUCKET, "videos/")) == []


def test_doctor_text_output(env: Any) -> None:
    states(env, **{NOVA: "legacy"})
    result = run("doctor", "--endpoint-url", env.url, "--output-uri", f"s3://{EAST_BUCKET}/v/")
    assert result.exit_code == 0, result.output
    assert "✓ credentials" in result.stdout
    assert "! lifecycle" in result.stdout
    assert "fix:" in result.stdout and "ready on this emulator" in result.stdout


def test_doctor_legacy_warns_and_exits_0(env: Any) -> None:
    states(env, **{NOVA: "legacy"})
    code, report = doctor(env, "--model-id", "nova-reel")
    assert code == 0
    life = checks(report)["lifecycle"]
    assert life["status"] == "warn"
    assert "2026-03-30" in life["detail"] and "2026-09-30" in life["detail"]
    assert "Luma Ray 2" in life["fix"]


def test_doctor_eol_fails_and_names_luma_with_its_price(env: Any) -> None:
    states(env, **{NOVA: "eol"})
    code, report = doctor(env, "--output-uri", f"s3://{EAST_BUCKET}/v/")
    assert code == 1
    assert report["ok"] is False
    by_name = checks(report)
    life = by_name["lifecycle"]
    assert life["status"] == "fail"
    assert "end of life" in life["detail"]
    assert "Luma Ray 2" in life["fix"] and "$0.75/s at 540p, $1.50/s at 720p" in life["fix"]
    assert "--model-id luma-ray2" in life["fix"]
    assert by_name["access"]["status"] == "skip"
    assert report["model_id"] == NOVA  # never switched


def test_doctor_eol_v1_0_alias(env: Any) -> None:
    states(env, **{NOVA0: "eol"})
    code, report = doctor(env, "--model-id", "nova-reel-v1:0")
    assert code == 1
    assert report["model_id"] == NOVA0


def test_doctor_not_authorized(env: Any) -> None:
    states(env, **{NOVA: "no-access"})
    code, report = doctor(env)
    assert code == 1
    access = checks(report)["access"]
    assert access["status"] == "fail"
    assert "not authorized" in access["detail"]
    assert "Model access" in access["fix"] and "bedrock:InvokeModel" in access["fix"]


def test_doctor_luma_without_agreement(env: Any) -> None:
    states(env, **{RAY: "no-agreement"})
    code, report = doctor(env, "--model-id", "luma-ray2", "--output-uri", f"s3://{WEST_BUCKET}/v/")
    assert code == 1
    assert report["region"] == "us-west-2"
    by_name = checks(report)
    assert by_name["region"]["status"] == "ok"
    assert by_name["agreement"]["status"] == "fail"
    assert "Marketplace" in by_name["agreement"]["fix"]
    assert by_name["bucket-region"]["status"] == "ok"


def test_doctor_luma_in_the_wrong_region(env: Any) -> None:
    code, report = doctor(env, "--region", "us-east-1", "--model-id", "luma-ray2")
    assert code == 1
    by_name = checks(report)
    assert by_name["region"]["status"] == "fail"
    assert "--region us-west-2" in by_name["region"]["fix"]
    assert by_name["lifecycle"]["status"] == "skip"


def test_doctor_luma_bucket_in_another_region_warns(env: Any) -> None:
    code, report = doctor(env, "--model-id", "luma-ray2", "--output-uri", f"s3://{EAST_BUCKET}/v/")
    assert code == 0, report
    region = checks(report)["bucket-region"]
    assert region["status"] == "warn"
    assert "us-east-1" in region["detail"] and "us-west-2" in region["fix"]


def test_doctor_missing_bucket(env: Any) -> None:
    code, report = doctor(env, "--output-uri", "s3://no-such-doctor-bucket/v/")
    assert code == 1
    by_name = checks(report)
    assert by_name["bucket"]["status"] == "fail"
    assert "aws s3 mb s3://no-such-doctor-bucket --region us-east-1" in by_name["bucket"]["fix"]
    assert by_name["bucket-write"]["status"] == "skip"


def test_doctor_unwritable_bucket(env: Any) -> None:
    env.configure(read_only_buckets=[EAST_BUCKET])
    code, report = doctor(env, "--output-uri", f"s3://{EAST_BUCKET}/videos/")
    assert code == 1
    write = checks(report)["bucket-write"]
    assert write["status"] == "fail"
    assert f"s3:PutObject on arn:aws:s3:::{EAST_BUCKET}/videos/*" in write["fix"]


def test_doctor_writes_with_a_kms_key(env: Any) -> None:
    kms = "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"
    code, report = doctor(env, "--output-uri", f"s3://{EAST_BUCKET}/v/", "--kms-key-id", kms)
    assert code == 0, report
    assert kms in checks(report)["bucket-write"]["detail"]


def test_doctor_local_uses_the_local_bucket(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", env.url)
    code, report = run_json("doctor", "--local")
    assert code == 0, report
    assert checks(report)["bucket-write"]["status"] == "ok"


def test_doctor_unknown_model_exits_2_before_any_call(env: Any) -> None:
    before = env.stats()["totalRequests"]
    code, data = doctor(env, "--model-id", "sora-2")
    assert code == 2
    assert data["error"]["problems"][0]["field"] == "model_id"
    assert env.stats()["totalRequests"] == before


def test_doctor_without_credentials_fails_the_first_check(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, report = doctor(env, "--output-uri", f"s3://{EAST_BUCKET}/v/")
    assert code == 1
    by_name = checks(report)
    assert by_name["credentials"]["status"] == "fail"
    assert "--local" in by_name["credentials"]["fix"]
    assert by_name["lifecycle"]["status"] == "skip"
    assert "credentials" in by_name["lifecycle"]["detail"]


# -- two sources of lifecycle: the endpoint's answer beside what AWS published ---------
# (issue 19: `doctor --local` called Nova Reel 1.1 "ACTIVE … ready: a real run can work"
# while AWS had published its end of life; `models` on the emulator listed Nova Reel
# 1.0 as ACTIVE while `models --offline` said EOL 2026-09-30.)

BOTH_NOVA = "emulator: ACTIVE (as configured) · AWS: end of life since 2026-09-30"


def run_80(monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    """A command in an 80-column terminal (a fresh console: the module's is made once,
    at the width of the first command that printed)."""
    from novareel.cli.app import console

    monkeypatch.setattr(console, "_console", None)
    return runner.invoke(app, list(args), env={"COLUMNS": "80"}, catch_exceptions=False)


def _lines_fit(text: str, width: int = 80) -> None:
    too_wide = [line for line in text.splitlines() if len(line.rstrip()) > width]
    assert not too_wide, too_wide


def _flat(text: str) -> str:
    """The text with its wrapping undone (Rich wraps at the terminal's width)."""
    return " ".join(text.split())


def test_doctor_local_json_keeps_the_emulator_and_aws_apart(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", env.url)
    code, report = run_json("doctor", "--local")
    assert code == 0, report  # a run on this emulator can work
    assert report["endpoint"] == "emulator"
    assert report["endpoint_lifecycle"]["status"] == "ACTIVE"
    published = report["published_lifecycle"]
    assert (published["status"], published["end_of_life"]) == ("EOL", "2026-09-30")
    life = checks(report)["lifecycle"]
    assert life["status"] == "warn"
    assert life["detail"] == BOTH_NOVA
    assert "a real run will be refused" in life["fix"] and "--model-id luma-ray2" in life["fix"]
    verdict = report["verdict"]
    assert verdict.startswith("ready on this emulator (1 warning)")
    assert "on AWS: Nova Reel 1.1 reached its end of life on 2026-09-30" in verdict
    assert "a real run can work" not in verdict


def test_doctor_local_text_never_calls_an_eol_model_ready_on_aws(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", env.url)
    result = run_80(monkeypatch, "doctor", "--local")
    assert result.exit_code == 0, result.output
    _lines_fit(result.stdout)
    text = _flat(result.stdout)
    assert "on the local emulator" in text
    assert "! lifecycle " + BOTH_NOVA in text
    assert "a real run can work" not in text
    assert (
        "ready on this emulator (1 warning); on AWS: Nova Reel 1.1 reached its end of life "
        "on 2026-09-30" in text
    )


def test_doctor_a_model_active_on_both_sides_is_ready_on_the_emulator(env: Any) -> None:
    code, report = doctor(env, "--model-id", "luma-ray2")
    assert code == 0, report
    assert report["endpoint"] == "emulator"  # --endpoint-url at an emulator: probed
    life = checks(report)["lifecycle"]
    assert life["status"] == "ok"
    assert life["detail"].startswith("emulator: ACTIVE (as configured) · AWS: ACTIVE")
    assert report["verdict"] == "ready on this emulator"


def test_doctor_eol_on_the_emulator_shows_both_sides(env: Any) -> None:
    states(env, **{NOVA: "eol"})
    code, report = doctor(env)
    assert code == 1
    assert report["endpoint_lifecycle"]["status"] == "EOL"
    assert report["published_lifecycle"]["status"] == "EOL"
    detail = checks(report)["lifecycle"]["detail"]
    assert "emulator: EOL (as configured) · AWS: end of life since 2026-09-30" in detail
    assert "the emulator says:" in detail
    assert report["verdict"].startswith("not ready: 1 check failed")


def test_models_local_json_has_the_emulator_and_aws_lifecycles(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", env.url)
    code, rows = run_json("models", "--local")
    assert code == 0, rows
    by_id = {r["model_id"]: r for r in rows}
    for model_id in (NOVA, NOVA0):
        row = by_id[model_id]
        assert row["endpoint"] == "emulator"
        assert row["endpoint_lifecycle"]["status"] == "ACTIVE"
        assert row["published_lifecycle"]["status"] == "EOL"
        assert row["published_lifecycle"]["end_of_life"] == "2026-09-30"
        assert row["lifecycle_text"] == BOTH_NOVA
        assert "as configured, not AWS's" in row["lifecycle_source"]
    ray = by_id[RAY]
    assert ray["lifecycle_text"] == "emulator: ACTIVE (as configured) · AWS: ACTIVE"


def test_models_offline_json_has_only_what_aws_published() -> None:
    code, rows = run_json("models", "--offline")
    assert code == 0
    nova0 = next(r for r in rows if r["model_id"] == NOVA0)
    assert nova0["endpoint"] is None and nova0["endpoint_lifecycle"] is None
    assert nova0["published_lifecycle"]["status"] == "EOL"
    assert nova0["lifecycle_text"] == "AWS: end of life since 2026-09-30"


def test_models_local_text_shows_both_lifecycles_in_80_columns(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", env.url)
    states(env, **{NOVA: "legacy"})
    result = run_80(monkeypatch, "models", "--local")
    assert result.exit_code == 0, result.output
    _lines_fit(result.stdout)
    nova0 = next(line for line in result.stdout.splitlines() if NOVA0 in line)
    assert "emulator: ACTIVE" in nova0  # what the emulator answers for Nova Reel 1.0 ...
    lines = result.stdout.splitlines()
    below = lines[lines.index(nova0) + 1 : lines.index(nova0) + 3]
    assert "AWS: EOL" in below[0] and "ended 2026-09-30" in below[1]  # ... beside AWS's
    assert "emulator: LEGACY" in result.stdout  # as configured for Nova Reel 1.1
    assert "the state the emulator was configured with" in result.stdout
