"""Benchmark 3: downloading a job's files: novareel against a plain boto3 loop.

Run: ``.venv/bin/python bench/bench_download.py [--quick] [--repeat N]``

A TEXT_VIDEO job runs on an emulator subprocess; then its folder is filled with an
``output.mp4`` of 45 MB (then 5 MB, then 200 MB: does memory follow the size?) of
random bytes plus 20
``shot_00NN.mp4`` of 2 MB each (the size of a 6 s shot). Each variant downloads the
folder in a **fresh subprocess**, so peak RSS is that variant's own (``VmHWM``, reset
through ``/proc/self/clear_refs`` just before the download; ``ru_maxrss`` elsewhere):

* **novareel**: ``VideoGenerator(ledger=False).download(arn, dir, check_video=False)``: one
  GetAsyncInvoke, one listing, then ``AwsClient.download_objects`` (s3transfer,
  files in parallel, 8 MB ranged parts above 16 MB, temp file + rename);
* **download_objects**: ``AwsClient.download_objects`` alone, given the same keys
  as the boto3 loop (no status call, no listing);
* **boto3 loop**: ``s3.download_file(bucket, key, path)`` for every key of the same
  listing, one after another (boto3's defaults: 8 MB parts, 10 threads per file).

MB/s = total bytes / wall time of the download step (the listing included for novareel,
excluded for boto3: it is given the keys). RSS growth = peak RSS minus RSS after imports
and client creation, before the first byte.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, EmulatorProcess, boto_kwargs, header, median, table

BUCKET = "bench-download"
#: Environment of the measuring subprocesses (``--fixed-mmap-threshold`` changes it).
CHILD_ENV = dict(os.environ)
MB = 1024 * 1024
SHOTS = 20
SHOT_BYTES = 2 * MB
NAMES = {
    "novareel": "novareel `VideoGenerator.download`",
    "objects": "novareel `download_objects` (same keys)",
    "boto3": "boto3 `download_file` loop",
}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_now_kb() -> int:
    """Current RSS; also resets the peak (VmHWM) so the peak seen later is the download's."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status_kb("VmRSS")


def peak_kb() -> int:
    """Peak RSS since :func:`rss_now_kb` (VmHWM), else the process's ru_maxrss."""
    return _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(variant: str, url: str, arn: str, keys: list[str], out: str) -> None:
    """Runs in a fresh interpreter: download once, print one JSON line."""
    import boto3

    if variant == "novareel":
        from novareel import VideoGenerator
        from novareel.client import AwsClient

        client = AwsClient(
            region="us-east-1", endpoint_url=url, access_key="testing", secret_key="testing"
        )
        client.s3  # noqa: B018
        client.bedrock  # noqa: B018
        reel = VideoGenerator(client, ledger=False)
        base = rss_now_kb()
        t0 = time.perf_counter()
        result = reel.download(arn, out, check_video=False)
        wall = time.perf_counter() - t0
        files = [Path(f) for f in result.local_files]
    elif variant == "objects":
        from novareel.client import AwsClient
        from novareel.foundation.s3uri import S3Uri

        client = AwsClient(
            region="us-east-1", endpoint_url=url, access_key="testing", secret_key="testing"
        )
        client.s3  # noqa: B018
        target = Path(out) / "objects"
        target.mkdir(parents=True)
        items = [(S3Uri(BUCKET, key), target / key.rsplit("/", 1)[-1]) for key in keys]
        base = rss_now_kb()
        t0 = time.perf_counter()
        client.download_objects(items)
        wall = time.perf_counter() - t0
        files = [dest for _, dest in items]
    else:
        s3 = boto3.client("s3", **boto_kwargs(url))
        target = Path(out) / "boto3"
        target.mkdir(parents=True)
        base = rss_now_kb()
        t0 = time.perf_counter()
        files = []
        for key in keys:
            dest = target / key.rsplit("/", 1)[-1]
            s3.download_file(BUCKET, key, str(dest))
            files.append(dest)
        wall = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in files if f.name.endswith(".mp4"))
    peak = peak_kb()
    print(json.dumps({"wall": wall, "bytes": size, "peak_kb": peak, "base_kb": base}))


def fill_job(url: str, big_bytes: int) -> tuple[str, list[str]]:
    """A completed job whose folder holds a big output.mp4 and 20 shot files."""
    import boto3

    from novareel.emulator import EmulatorControl

    kw = boto_kwargs(url)
    s3 = boto3.client("s3", **kw)
    br = boto3.client("bedrock-runtime", **kw)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET)
    arn = br.start_async_invoke(
        modelId="amazon.nova-reel-v1:1",
        modelInput={"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "bench download"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/jobs/"}},
    )["invocationArn"]
    EmulatorControl(url).finish(arn)
    while br.get_async_invoke(invocationArn=arn)["status"] == "InProgress":
        time.sleep(0.1)
    folder = f"jobs/{arn.rsplit('/', 1)[-1]}/"
    s3.put_object(Bucket=BUCKET, Key=folder + "output.mp4", Body=os.urandom(big_bytes))
    for i in range(1, SHOTS + 1):
        s3.put_object(Bucket=BUCKET, Key=f"{folder}shot_{i:04d}.mp4", Body=os.urandom(SHOT_BYTES))
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=folder)
    return arn, [o["Key"] for o in listing["Contents"]]


def run_child(variant: str, url: str, arn: str, keys: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        code = (
            "import sys, json; sys.path.insert(0, 'bench'); import bench_download as b; "
            "b.child(*json.loads(sys.argv[1]))"
        )
        args = json.dumps([variant, url, arn, keys, out])
        proc = subprocess.run(
            [PYTHON, "-c", code, args],
            env=CHILD_ENV,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run per variant")
    parser.add_argument("--repeat", type=int, default=None, help="runs per variant (default 5)")
    parser.add_argument(
        "--fixed-mmap-threshold",
        action="store_true",
        help="run the children with MALLOC_MMAP_THRESHOLD_=131072 (glibc keeps no freed "
        "256 KB buffers in its per-thread arenas): shows what RSS growth is allocator retention",
    )
    args = parser.parse_args()
    if args.fixed_mmap_threshold:
        CHILD_ENV["MALLOC_MMAP_THRESHOLD_"] = "131072"
    repeat = args.repeat or (1 if args.quick else 5)
    sizes = (45, 5) if args.quick else (45, 5, 200)

    print(header("Benchmark 3: download"))
    print(
        f"- emulator subprocess (moto S3 in memory); {SHOTS} shot files of "
        f"{SHOT_BYTES // MB} MB + output.mp4 of {' / '.join(map(str, sizes))} MB; random bytes; "
        + ("children with MALLOC_MMAP_THRESHOLD_=131072; " if args.fixed_mmap_threshold else "")
        + "each run in a "
        f"fresh subprocess; median of {repeat} run(s), variants alternated\n"
    )
    rows = []
    with EmulatorProcess(speed=500) as emu:
        for big_mb in sizes:
            arn, keys = fill_job(emu.url, big_mb * MB)
            results: dict[str, list[dict[str, Any]]] = {name: [] for name in NAMES}
            for _ in range(repeat):
                for variant in results:
                    results[variant].append(run_child(variant, emu.url, arn, keys))
            for variant, runs in results.items():
                total = runs[0]["bytes"]
                mbps = median([r["bytes"] / MB / r["wall"] for r in runs])
                peak = median([r["peak_kb"] / 1024 for r in runs])
                growth = median([(r["peak_kb"] - r["base_kb"]) / 1024 for r in runs])
                rows.append(
                    (
                        f"{big_mb} MB + {SHOTS} x {SHOT_BYTES // MB} MB",
                        NAMES[variant],
                        f"{total / MB:.0f} MB",
                        f"{median([r['wall'] for r in runs]):.2f} s",
                        f"{mbps:.0f} MB/s",
                        f"{peak:.0f} MB",
                        f"{growth:.0f} MB",
                    )
                )
    print(
        table(
            ["files", "variant", "bytes", "time", "throughput", "peak RSS", "RSS growth"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
