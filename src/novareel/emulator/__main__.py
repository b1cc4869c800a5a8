"""``python -m novareel.emulator --host 127.0.0.1 --port 5899 --speed 25``."""

from __future__ import annotations

import argparse
import logging

from novareel.emulator.catalog import MODEL_STATES, parse_model_state
from novareel.emulator.config import (
    DEFAULT_PORT,
    DEFAULT_QUOTA_ERROR,
    DEFAULT_S3_KEY_BUFFER_SIZE,
    DEFAULT_SPEED,
    QUOTA_ERROR_ALIASES,
    QUOTA_ERRORS,
    RENDER_MODES,
    EmulatorConfig,
)
from novareel.emulator.latency import (
    DEFAULT_PRESET,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    DEFAULT_SPREAD,
    PRESETS,
)

#: Flags whose value is the config key of the same name, checked by ``EmulatorConfig.update``.
_CONFIG_FLAGS = (
    "render",
    "s3_key_buffer_size",
    "latency",
    "latency_scale",
    "latency_spread",
    "latency_seed",
    "quota_error",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m novareel.emulator",
        description="Local Bedrock async-invoke + S3 emulator with a preview renderer.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"time compression vs the real service (default {DEFAULT_SPEED})",
    )
    parser.add_argument("--submit-rate", type=float, default=None, help="submits/s, 0 = off")
    parser.add_argument(
        "--model-state",
        action="append",
        default=[],
        metavar="MODEL=STATE",
        help="a model's (full id or alias) lifecycle/access state, repeatable "
        f"({', '.join(MODEL_STATES)})",
    )
    parser.add_argument(
        "--read-only-bucket",
        action="append",
        default=[],
        metavar="BUCKET",
        help="refuse client writes and deletes in this bucket (repeatable)",
    )
    parser.add_argument(
        "--render",
        choices=RENDER_MODES,
        default="full",
        help="fast = load-test mode: one cached video per size (default full)",
    )
    parser.add_argument(
        "--s3-key-buffer-size",
        type=int,
        default=DEFAULT_S3_KEY_BUFFER_SIZE,
        metavar="BYTES",
        help=f"S3 objects above this size live on disk (default {DEFAULT_S3_KEY_BUFFER_SIZE})",
    )
    parser.add_argument(
        "--latency",
        choices=PRESETS,
        default=DEFAULT_PRESET,
        help=f"whose timings jobs' medians follow (default {DEFAULT_PRESET})",
    )
    parser.add_argument(
        "--latency-scale",
        type=float,
        default=DEFAULT_SCALE,
        metavar="F",
        help="multiply every job's median real-service time (default 1)",
    )
    parser.add_argument(
        "--latency-spread",
        type=float,
        default=DEFAULT_SPREAD,
        metavar="S",
        help=f"log-normal sigma of each job's time around the median (default {DEFAULT_SPREAD})",
    )
    parser.add_argument(
        "--latency-seed",
        type=int,
        default=DEFAULT_SEED,
        metavar="N",
        help="seed of the per-job latency draws (default 0)",
    )
    parser.add_argument(
        "--quota-error",
        default=DEFAULT_QUOTA_ERROR,
        metavar="CODE",
        help="error for a submit beyond the concurrent-job quota: "
        f"{', '.join([*QUOTA_ERRORS, *QUOTA_ERROR_ALIASES])} (default {DEFAULT_QUOTA_ERROR})",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    states: dict[str, str] = {}
    for text in args.model_state:
        try:
            model_id, state = parse_model_state(text)
        except ValueError as exc:
            parser.error(str(exc))
        states[model_id] = state
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    if args.s3_key_buffer_size < 1:
        parser.error("--s3-key-buffer-size must be at least 1")
    try:
        config = EmulatorConfig(
            speed=args.speed, model_states=states, read_only_buckets=args.read_only_bucket
        )
        config.update({key: getattr(args, key) for key in _CONFIG_FLAGS})
    except ValueError as exc:
        parser.error(str(exc))
    if args.submit_rate is not None:
        config.submit_rate = args.submit_rate
    from novareel.emulator.server import serve

    serve(host=args.host, port=args.port, speed=args.speed, config=config)


if __name__ == "__main__":
    main()
