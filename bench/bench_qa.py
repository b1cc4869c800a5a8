"""`novareel qa` against a download: CPU per video, and the share it adds.

Run: ``.venv/bin/python bench/bench_qa.py [--runs N]``

Four videos are rendered once with the emulator's renderer, the shapes jobs return
(Nova Reel 6 s and 12 s at 1280x720, Luma Ray 2 5 s at 540p and 9 s at 720p 9:16), and
put in the S3 of an emulator running in a subprocess (its CPU is not this process's).
For each video, after one warm-up:

* **download** = what fetching that one video costs this process today:
  ``NovaReelClient.download_objects`` (s3transfer, every byte over HTTP from the
  emulator) plus the download's existing video check (``check_output_video``: the MP4
  index and keyframes);
* **qa** = ``novareel.media.qa.check_file`` with the job's expectations (decode every frame's
  luma, per-frame measures, SSIM of the first/last frames), what a download now adds;
* **decode only** = PyAV decoding every frame and touching nothing: the floor of any
  check that looks at every frame, so "qa - decode" is what the checks themselves cost;
* **demux only** = reading every packet's size and keyframe flag, no decode: what a
  packet-size screen would cost (docs/qa.md "Cost" says why qa does not rely on one).

Run the same script against another checkout's code with
``PYTHONPATH=<checkout>/src .venv/bin/python bench/bench_qa.py`` (same measure both sides).

CPU is ``time.process_time()`` (all threads of this process), wall ``perf_counter()``.
The goal of issue 21 is qa under 10 % of a download's CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EmulatorProcess, boto_kwargs, header, table

Shape = tuple[int, int, int, int]


def render_videos(folder: Path) -> list[tuple[str, Path, Shape]]:
    from novareel.emulator.render import concat_mp4, render_shot, render_video

    nova6 = folder / "nova-6s.mp4"
    nova6.write_bytes(render_shot("A red fox in fresh snow. Zoom in.", 7))
    nova12 = folder / "nova-12s.mp4"
    nova12.write_bytes(
        concat_mp4(
            [
                render_shot("A night market, camera pans right.", 7, 0, 2),
                render_shot("A cat on a sofa. Dolly forward.", 7, 1, 2),
            ]
        )
    )
    ray5 = folder / "ray-5s-540p.mp4"
    ray5.write_bytes(
        render_video("Waves on a beach, pan left.", 0, width=960, height=540, frames=120)
    )
    ray9 = folder / "ray-9s.mp4"
    ray9.write_bytes(
        render_video("Drone shot over a canyon.", 0, width=720, height=1280, frames=9 * 24)
    )
    return [
        ("Nova 6 s 1280x720", nova6, (1280, 720, 24, 6)),
        ("Nova 12 s 1280x720, 2 shots", nova12, (1280, 720, 24, 12)),
        ("Ray 2 5 s 960x540", ray5, (960, 540, 24, 5)),
        ("Ray 2 9 s 720x1280", ray9, (720, 1280, 24, 9)),
    ]


def timed(call: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    call()  # warm-up: imports, page cache, connection pool
    cpu, wall = [], []
    for _ in range(runs):
        c, w = time.process_time(), time.perf_counter()
        call()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from novareel.client import NovaReelClient
    from novareel.foundation.s3uri import S3Uri
    from novareel.jobs.fetching import check_output_video
    from novareel.media.qa import QaExpectations, check_file
    from novareel.models.base import VideoShape

    rows = []
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emulator:
        folder = Path(tmp)
        videos = render_videos(folder)
        client = NovaReelClient(
            region="us-east-1",
            endpoint_url=emulator.url,
            access_key="testing",
            secret_key="testing",
        )
        client.ensure_bucket("bench-qa")
        import boto3

        s3 = boto3.client("s3", **boto_kwargs(emulator.url))
        for name, path, shape in videos:
            key = f"jobs/{path.name}"
            s3.upload_file(str(path), "bench-qa", key)
            dest = folder / "down" / path.name
            dest.parent.mkdir(exist_ok=True)

            def download(key: str = key, dest: Path = dest, shape: Shape = shape) -> object:
                dest.unlink(missing_ok=True)
                client.download_objects([(S3Uri("bench-qa", key), dest)])
                return check_output_video(dest, VideoShape(*shape))

            width, height, fps, seconds = shape
            want = QaExpectations(width=width, height=height, fps=fps, seconds=seconds)

            def qa(path: Path = path, want: QaExpectations = want) -> object:
                return check_file(path, want)

            def decode(path: Path = path) -> object:
                import av

                with av.open(str(path)) as container:
                    return sum(1 for _ in container.decode(video=0))

            def demux(path: Path = path) -> object:
                import av

                with av.open(str(path)) as container:
                    return [(p.size, p.is_keyframe) for p in container.demux(video=0)]

            d_cpu, d_wall = timed(download, args.runs)
            m_cpu, _ = timed(demux, args.runs)
            x_cpu, _ = timed(decode, args.runs)
            q_cpu, q_wall = timed(qa, args.runs)
            size = path.stat().st_size / 1e6
            share = statistics.median(q_cpu) / statistics.median(d_cpu)
            rows.append(
                [
                    name,
                    f"{size:.1f} MB",
                    f"{statistics.median(d_cpu):.0f}",
                    f"{statistics.median(d_wall):.0f}",
                    f"{statistics.median(q_cpu):.0f}",
                    f"{statistics.median(q_wall):.0f}",
                    f"{statistics.median(x_cpu):.0f}",
                    f"{statistics.median(m_cpu):.1f}",
                    f"{share * 100:.0f} %",
                    check_file(path, want).verdict,
                ]
            )
    print(header("novareel qa against a download"))
    print(f"- {args.runs} runs per video after one warm-up; emulator in a subprocess\n")
    print(
        table(
            [
                "video",
                "file",
                "download CPU ms p50",
                "download wall ms p50",
                "qa CPU ms p50",
                "qa wall ms p50",
                "decode only CPU ms p50",
                "demux only CPU ms p50",
                "qa / download CPU",
                "verdict",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
