"""Benchmark the emulator: preview render throughput and GetAsyncInvoke calls per second.

Run: ``.venv/bin/python bench/bench_emulator.py``. Prints a table; asserts nothing.
Targets from the design: a 6 s shot renders in <= 3 s wall (>= 2x real time) on a
2-core machine, and the server answers >= 300 GetAsyncInvoke calls per second.
"""

from __future__ import annotations

import http.client
import os
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlparse

import boto3
from botocore.config import Config

from novareel.emulator import EmulatorConfig, EmulatorServer
from novareel.emulator.faults import JobFault
from novareel.emulator.render import render_shot

PROMPTS = [
    "static shot of a harbour at dawn",
    "camera zooms in while orbiting a lighthouse",
    "pan left across a desert, time-lapse",
]


def bench_render() -> list[tuple[str, str]]:
    rows = []
    for prompt in PROMPTS:
        t0, c0 = time.perf_counter(), time.process_time()
        render_shot(prompt, 42)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append(
            (
                f"render 1 shot: {prompt[:34]}",
                f"{6 / cpu:6.2f} video-s/CPU-s  {6 / wall:6.2f} video-s/wall-s  ({wall:.2f} s)",
            )
        )
    workers = os.cpu_count() or 2
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda i: render_shot(PROMPTS[i % 3], i), range(2 * workers)))
    wall = time.perf_counter() - t0
    rows.append(
        (
            f"render {2 * workers} shots on {workers} threads",
            f"{12 * workers / wall:6.2f} video-s/wall-s",
        )
    )
    return rows


def bench_get(n: int = 600) -> list[tuple[str, str]]:
    config = EmulatorConfig(speed=1.0, submit_rate=0)
    with EmulatorServer(config=config) as server:
        kw = {
            "endpoint_url": server.url,
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "config": Config(retries={"total_max_attempts": 1}),
        }
        s3 = boto3.client("s3", **kw)
        br = boto3.client("bedrock-runtime", **kw)
        s3.create_bucket(Bucket="bench")
        server.backend.faults.add_job_fault(JobFault(count=None))  # no render: Get only
        arn = br.start_async_invoke(
            modelId="amazon.nova-reel-v1:1",
            modelInput={"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "bench"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bench/"}},
        )["invocationArn"]
        t0 = time.perf_counter()
        for _ in range(n):
            br.get_async_invoke(invocationArn=arn)
        boto_rate = n / (time.perf_counter() - t0)

        url = urlparse(server.url)
        path = f"/async-invoke/{quote(arn, safe='')}"
        t0 = time.perf_counter()
        for _ in range(n):
            conn = http.client.HTTPConnection(url.hostname or "", url.port)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
        raw_rate = n / (time.perf_counter() - t0)
    return [
        ("GetAsyncInvoke, boto3 loop", f"{boto_rate:7.0f} calls/s"),
        ("GetAsyncInvoke, raw http.client loop", f"{raw_rate:7.0f} calls/s"),
    ]


def main() -> None:
    rows = bench_render() + bench_get()
    width = max(len(name) for name, _ in rows)
    print(f"{'benchmark':<{width}}  result")
    print(f"{'-' * width}  {'-' * 50}")
    for name, result in rows:
        print(f"{name:<{width}}  {result}")


if __name__ == "__main__":
    main()
