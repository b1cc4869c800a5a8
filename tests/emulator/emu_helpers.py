"""Request builders and waiting helpers shared by the emulator tests."""

from __future__ import annotations

import base64
import io
import time
from typing import Any

V1 = "amazon.nova-reel-v1:1"
V0 = "amazon.nova-reel-v1:0"


def text_video(
    text: str = "A red kite over green hills, static shot", **config: Any
) -> dict[str, Any]:
    gen = {"durationSeconds": 6, "fps": 24, "dimension": "1280x720", "seed": 42, **config}
    return {
        "taskType": "TEXT_VIDEO",
        "textToVideoParams": {"text": text},
        "videoGenerationConfig": gen,
    }


def automated(text: str, duration: int = 12, **config: Any) -> dict[str, Any]:
    gen = {"durationSeconds": duration, "fps": 24, "dimension": "1280x720", "seed": 7, **config}
    return {
        "taskType": "MULTI_SHOT_AUTOMATED",
        "multiShotAutomatedParams": {"text": text},
        "videoGenerationConfig": gen,
    }


def manual(shots: list[dict[str, Any]], **config: Any) -> dict[str, Any]:
    gen = {"fps": 24, "dimension": "1280x720", "seed": 7, **config}
    return {
        "taskType": "MULTI_SHOT_MANUAL",
        "multiShotManualParams": {"shots": shots},
        "videoGenerationConfig": gen,
    }


def output(bucket: str, prefix: str = "out/") -> dict[str, Any]:
    return {"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/{prefix}"}}


def start(client: Any, bucket: str, model_input: dict[str, Any], **kwargs: Any) -> str:
    kwargs.setdefault("modelId", V1)
    kwargs.setdefault("outputDataConfig", output(bucket))
    arn: str = client.start_async_invoke(modelInput=model_input, **kwargs)["invocationArn"]
    return arn


def wait(client: Any, arn: str, timeout: float = 40.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get_async_invoke(invocationArn=arn)
        if job["status"] != "InProgress":
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"{arn} still InProgress after {timeout} s")
        time.sleep(0.05)


def make_image(
    size: tuple[int, int] = (1280, 720), fmt: str = "PNG", mode: str = "RGB", alpha: int = 255
) -> bytes:
    """A recognisable picture (gradient plus shapes) made with Pillow."""
    from PIL import Image, ImageDraw

    img = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle((w // 8, h // 6, w // 2, h // 2), fill=(220, 40, 40))
    draw.ellipse((w // 2, h // 3, w - w // 8, h - h // 8), fill=(30, 90, 220))
    if mode == "RGBA":
        img = img.convert("RGBA")
        img.putalpha(alpha)
    elif mode != "RGB":
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image_ref(data: bytes, fmt: str = "png") -> dict[str, Any]:
    return {"format": fmt, "source": {"bytes": b64(data)}}


def decode_video(data: bytes) -> tuple[Any, list[Any]]:
    """(stream info, decoded frames as RGB numpy arrays)."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        info = {
            "codec": stream.codec_context.name,
            "width": stream.width,
            "height": stream.height,
            "fps": stream.average_rate,
            "duration": container.duration / 1_000_000 if container.duration else None,
        }
    return info, frames


# --- Luma Ray 2 and other regions / services -------------------------------------------

RAY = "luma.ray-v2:0"
RAY_REGION = "us-west-2"


def aws_client(service: str, url: str, region: str = "us-east-1") -> Any:
    """A plain boto3 client of the emulator, one HTTP attempt per call."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def ray_input(
    prompt: str = "A paper boat on a river, static shot", **fields: Any
) -> dict[str, Any]:
    return {"prompt": prompt, **fields}


def keyframe(data: bytes | str, media_type: str = "image/png") -> dict[str, Any]:
    encoded = data if isinstance(data, str) else b64(data)
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": encoded},
    }


def start_ray(client: Any, bucket: str, model_input: dict[str, Any], **kwargs: Any) -> str:
    return start(client, bucket, model_input, modelId=RAY, **kwargs)


def error_of(exc: Any) -> tuple[str, int, str]:
    """(code, HTTP status, message) of a botocore ClientError."""
    r = exc.response
    return (
        r["Error"]["Code"],
        r["ResponseMetadata"]["HTTPStatusCode"],
        r["Error"].get("Message", ""),
    )
