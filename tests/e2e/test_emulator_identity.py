"""Issue 22, item 5: "$0 here" is the endpoint's own answer, never its address.

A loopback ``--endpoint-url`` used to be priced as the free emulator, so a local proxy
to real AWS would have been too. Here a plain HTTP proxy on 127.0.0.1 forwards every
request to the emulator but drops its identity header, as a proxy to AWS would answer
without it: its jobs are priced as AWS's everywhere (the price line, the ledger row,
``jobs``, ``spend``, the standing budget), while the emulator itself stays "$0 here".
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from novareel.client import endpoint_identity

PROMPT = "A lighthouse at dawn, waves below"


class _Proxy(BaseHTTPRequestHandler):
    """Forwards to ``target`` (the emulator) and strips the identity header."""

    target: tuple[str, int]
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection(*self.target, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        upstream.request(self.command, self.path, body=body, headers=headers)
        reply = upstream.getresponse()
        data = reply.read()
        self.send_response(reply.status, reply.reason)
        for key, value in reply.getheaders():
            low = key.lower()
            if low in (endpoint_identity.IDENTITY_HEADER, "content-length", "connection"):
                continue
            if low in ("transfer-encoding", "date", "server"):
                continue
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _forward

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy(emulator: Any) -> Iterator[str]:
    """A loopback HTTP proxy to the emulator that is not the emulator."""
    where = urlsplit(emulator.url)
    handler = type("Proxy", (_Proxy,), {"target": (where.hostname, where.port)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        endpoint_identity.forget(url)


def _novareel(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "novareel", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NOVAREEL_BUDGET"))}
    return {
        **env,
        "NOVAREEL_HOME": str(tmp_path / "home"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }


def test_the_emulator_says_who_it_is_on_every_reply(emulator: Any, proxy: str) -> None:
    import urllib.error
    import urllib.request

    for path in ("/_emulator/health", "/no-such-bucket", "/async-invoke/nope"):
        try:
            with urllib.request.urlopen(emulator.url + path, timeout=5) as reply:
                header = reply.headers.get("x-novareel-emulator")
        except urllib.error.HTTPError as exc:  # an error reply says it too
            header = exc.headers.get("x-novareel-emulator")
        assert header, path
    endpoint_identity.forget()
    assert endpoint_identity.is_emulator(emulator.url)
    # the same health document, through a proxy that drops the header: not the emulator
    assert not endpoint_identity.is_emulator(proxy)
    # AWS's own endpoints are never asked (an unresolvable host would take the timeout)
    assert not endpoint_identity.is_emulator("https://bedrock-runtime.us-east-1.amazonaws.com")
    assert not endpoint_identity.is_emulator(None)


def test_a_loopback_proxy_that_is_not_the_emulator_is_priced_as_aws(
    emulator: Any, emulator_bucket: str, proxy: str, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    out = f"s3://{emulator_bucket}/v/"
    via_proxy = _novareel("generate", PROMPT, "--endpoint-url", proxy, "--output-uri", out,
                          "--no-wait", cwd=tmp_path, env=env)  # fmt: skip
    assert via_proxy.returncode == 0, via_proxy.stderr
    said = via_proxy.stdout + via_proxy.stderr
    assert "$0 here" not in said
    assert "~$0.48 on AWS" in said  # 6 s at $0.08 a second, before the submit
    direct = _novareel("generate", "A lighthouse at dusk", "--endpoint-url", emulator.url,
                       "--output-uri", out, "--no-wait", cwd=tmp_path, env=env)  # fmt: skip
    assert direct.returncode == 0, direct.stderr
    assert "$0 here (≈ $0.48 on AWS)" in direct.stdout + direct.stderr
    assert "AWS))" not in direct.stderr  # "submitted job 2: <arn>, $0 here (...)"

    listed = _novareel("jobs", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["endpoint"]: row for row in json.loads(listed.stdout)}
    assert rows[proxy]["ran_locally"] is False
    assert rows[emulator.url]["ran_locally"] is True

    spend = _novareel("spend", "--json", cwd=tmp_path, env=env)
    assert spend.returncode == 0, spend.stderr
    report = json.loads(spend.stdout)
    assert (report["aws"]["jobs"], report["aws"]["usd"]) == (1, 0.48)  # the proxy's job
    assert (report["local"]["jobs"], report["local"]["cost_here_usd"]) == (1, 0.0)


def test_a_standing_budget_counts_a_loopback_proxy_but_not_the_emulator(
    emulator: Any, emulator_bucket: str, proxy: str, tmp_path: Path
) -> None:
    env = {**_env(tmp_path), "NOVAREEL_BUDGET_DAILY_USD": "0.30"}
    out = f"s3://{emulator_bucket}/v/"
    refused = _novareel("generate", PROMPT, "--endpoint-url", proxy, "--output-uri", out,
                        "--no-wait", cwd=tmp_path, env=env)  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "daily budget" in refused.stderr
    free = _novareel("generate", PROMPT, "--endpoint-url", emulator.url, "--output-uri", out,
                     "--no-wait", cwd=tmp_path, env=env)  # fmt: skip
    assert free.returncode == 0, free.stderr


def test_batch_on_the_emulator_says_its_cost_is_aws_s_not_a_bill(
    emulator: Any, tmp_path: Path
) -> None:
    """``batch --local`` printed "cost ~$0.96": read as a bill. It says where that
    price is paid, in the one wording of ``results.format_cost``."""
    batch = tmp_path / "b.yaml"
    batch.write_text("items:\n  - prompt: A red kite over hills\n  - prompt: A blue boat\n")
    env = {**_env(tmp_path), "NOVAREEL_EMULATOR_URL": emulator.url}
    done = _novareel("batch", str(batch), "--local", "--no-download", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last == "2 done, 0 failed of 2; cost $0 here (≈ $0.96 on AWS)"


def test_a_review_through_a_loopback_proxy_is_paid_and_not_synthetic(
    emulator: Any, proxy: str, tmp_path: Path
) -> None:
    """Reviews take the same answer as jobs (m019): the emulator's review is synthetic
    and free; the same review through a loopback proxy that is not the emulator is
    what AWS would bill, counted by `spend` as AWS spend."""
    from novareel.emulator.render import render_video

    video = tmp_path / "clip.mp4"
    video.write_bytes(render_video("A lighthouse at dusk", 7, frames=24))
    env = _env(tmp_path)
    answers = {}
    for name, url in (("proxy", proxy), ("emulator", emulator.url)):
        said = _novareel("review", str(video), "--endpoint-url", url, "--json",
                         cwd=tmp_path, env=env)  # fmt: skip
        assert said.returncode == 0, said.stderr
        answers[name] = json.loads(said.stdout)
    assert answers["proxy"]["ran_locally"] is False
    assert answers["emulator"]["ran_locally"] is True
    listed = _novareel("spend", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    report = json.loads(listed.stdout)
    assert report["aws"]["jobs"] == 1  # the proxy's review (a fraction of a cent)
    assert report["local"]["jobs"] == 1
