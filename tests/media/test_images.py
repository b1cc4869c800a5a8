"""Starting frames made from real image files written by Pillow in each test."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from novareel.foundation.errors import ImageError, InvalidRequestError
from novareel.media.images import (
    MAX_IMAGE_BYTES,
    check_image_bytes,
    fit_image,
    load_starting_frame,
    prepare_starting_frame,
    sniff_format,
)
from novareel.models.nova_reel import TextVideo

SIZE = (1280, 720)


def gradient(size: tuple[int, int] = SIZE, mode: str = "RGB") -> Image.Image:
    """A non-uniform picture, so crops and rotations are visible in the pixels."""
    image = Image.linear_gradient("L").resize(size)
    red = image
    green = image.transpose(Image.Transpose.ROTATE_90).resize(size)
    blue = Image.new("L", size, 90)
    rgb = Image.merge("RGB", (red, green, blue))
    return rgb.convert(mode) if mode != "RGB" else rgb


def save(image: Image.Image, path: Path, fmt: str, **params: object) -> Path:
    image.save(path, format=fmt, **params)
    return path


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def rgb16_png(width: int, height: int) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one, so build it by hand)."""
    row = b"\x00" + b"\x80\x00\x40\x00\x20\x00" * width
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(row * height))
        + png_chunk(b"IEND", b"")
    )


def assert_frame_ok(data: bytes) -> Image.Image:
    """Bytes that Nova Reel accepts: a 1280x720 8-bit RGB PNG that passes our checks."""
    assert check_image_bytes(data, field="image") == "png"
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == SIZE
    assert image.mode == "RGB"
    return image


# ----------------------------------------------------------------- accepted as is


def test_valid_png_is_sent_untouched(tmp_path: Path) -> None:
    path = save(gradient(), tmp_path / "frame.png", "PNG")
    prepared = prepare_starting_frame(path)
    frame = prepared.frame
    assert frame.format == "png"
    assert frame.data == path.read_bytes()
    assert frame.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert frame.source == str(path)
    assert prepared.notes == []
    assert not prepared.converted
    assert frame.format == "png"
    assert (
        TextVideo("x", image=frame).to_model_input()["textToVideoParams"]["images"][0]["format"]
        == "png"
    )


def test_png_named_jpg_is_accepted_as_png_with_a_notice(tmp_path: Path) -> None:
    path = save(gradient(), tmp_path / "frame.jpg", "PNG")
    prepared = prepare_starting_frame(path)
    assert prepared.frame.format == "png"
    assert any("frame.jpg" in n and "PNG data" in n for n in prepared.notes)


def test_jpeg_named_png_is_accepted_as_jpeg(tmp_path: Path) -> None:
    path = save(gradient(), tmp_path / "frame.png", "JPEG", quality=90)
    prepared = prepare_starting_frame(path)
    assert prepared.frame.format == "jpeg"
    assert prepared.frame.data == path.read_bytes()
    assert any('format "jpeg"' in n for n in prepared.notes)


def test_opaque_rgba_is_accepted_and_says_so(tmp_path: Path) -> None:
    path = save(gradient(mode="RGBA"), tmp_path / "opaque.png", "PNG")
    prepared = prepare_starting_frame(path)
    assert prepared.frame.format == "png"
    # The contract allows alpha when every pixel is opaque: the file goes as is.
    assert prepared.frame.data == path.read_bytes()
    assert any("fully opaque" in n for n in prepared.notes)
    # With --fit there is nothing to fix, so nothing is re-encoded either.
    assert not prepare_starting_frame(path, fit="pad").converted


def test_check_image_bytes_returns_the_real_format() -> None:
    buffer = io.BytesIO()
    gradient().save(buffer, "JPEG")
    assert check_image_bytes(buffer.getvalue(), field="x") == "jpeg"
    assert sniff_format(buffer.getvalue()) == "jpeg"


# ----------------------------------------------------------------- refused by default


def refuse(path: Path, **kwargs: object) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_starting_frame(path, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_transparent_pixel_is_refused_with_count_and_position(tmp_path: Path) -> None:
    image = gradient(mode="RGBA")
    image.putpixel((10, 5), (1, 2, 3, 0))
    image.putpixel((11, 5), (1, 2, 3, 128))
    path = save(image, tmp_path / "alpha.png", "PNG")
    error = refuse(path)
    assert "2 transparent or translucent pixels" in error.message
    assert "x=10, y=5" in error.message
    assert error.hint is not None and "--fit pad" in error.hint
    assert error.field == "image"


def test_fit_flattens_transparent_pixels(tmp_path: Path) -> None:
    image = Image.new("RGBA", SIZE, (255, 255, 255, 0))
    path = save(image, tmp_path / "clear.png", "PNG")
    prepared = prepare_starting_frame(path, fit="pad")
    out = assert_frame_ok(prepared.frame.data or b"")
    assert out.getpixel((640, 360)) == (0, 0, 0)
    assert any("flattened 921600" in n for n in prepared.notes)


def test_16_bit_grayscale_png_is_refused_and_fit_scales_it(tmp_path: Path) -> None:
    image = Image.new("I;16", SIZE, 0x8000)
    path = save(image, tmp_path / "deep.png", "PNG")
    error = refuse(path)
    assert "16 bits per channel" in error.message
    prepared = prepare_starting_frame(path, fit="crop")
    out = assert_frame_ok(prepared.frame.data or b"")
    # Half of 65535 must become half of 255, not clip to white.
    assert out.getpixel((0, 0)) == (128, 128, 128)


def test_16_bit_rgb_png_is_refused_although_pillow_reads_it_as_rgb(tmp_path: Path) -> None:
    path = tmp_path / "deep-rgb.png"
    path.write_bytes(rgb16_png(*SIZE))
    with Image.open(path) as opened:
        assert opened.mode == "RGB"  # why the IHDR must be read directly
    error = refuse(path)
    assert "16 bits per channel" in error.message
    out = assert_frame_ok(prepare_starting_frame(path, fit="stretch").frame.data or b"")
    assert out.getpixel((3, 3)) == (128, 64, 32)


def test_palette_png_is_refused_and_fit_converts_losslessly(tmp_path: Path) -> None:
    source = gradient().quantize(colors=64)
    path = save(source, tmp_path / "palette.png", "PNG")
    error = refuse(path)
    assert "palette" in error.message
    prepared = prepare_starting_frame(path, fit="crop")
    out = assert_frame_ok(prepared.frame.data or b"")
    assert out.tobytes() == source.convert("RGB").tobytes()
    assert any("palette" in n for n in prepared.notes)


def test_cmyk_jpeg_is_refused_and_fit_converts_it(tmp_path: Path) -> None:
    path = save(Image.new("CMYK", SIZE, (0, 255, 255, 0)), tmp_path / "print.jpg", "JPEG")
    error = refuse(path)
    assert "CMYK" in error.message
    prepared = prepare_starting_frame(path, fit="pad")
    red, green, blue = assert_frame_ok(prepared.frame.data or b"").getpixel((640, 360))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60
    assert any("CMYK" in n for n in prepared.notes)


def test_grayscale_jpeg_is_refused(tmp_path: Path) -> None:
    path = save(Image.new("L", SIZE, 100), tmp_path / "gray.jpg", "JPEG")
    assert "grayscale" in refuse(path).message


def exif_rotated(tmp_path: Path, stored: tuple[int, int], orientation: int) -> Path:
    """A photo stored ``stored`` with an EXIF orientation, like a phone writes it."""
    image = Image.new("RGB", stored, (0, 0, 255))
    # Mark the top-left corner of the stored pixels red.
    image.paste((255, 0, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(image, tmp_path / "phone.jpg", "JPEG", exif=exif, quality=95)


def test_exif_rotated_portrait_becomes_landscape_with_fit(tmp_path: Path) -> None:
    path = exif_rotated(tmp_path, (720, 1280), 6)
    error = refuse(path)
    assert "720x1280" in error.message
    assert "viewers show it as 1280x720" in error.message
    prepared = prepare_starting_frame(path, fit="crop")
    out = assert_frame_ok(prepared.frame.data or b"")
    # Orientation 6 turns the stored top-left corner to the top-right.
    red, _green, blue = out.getpixel((1230, 50))  # type: ignore[misc]
    assert red > 200 and blue < 60
    assert any("EXIF orientation 6" in n for n in prepared.notes)


def test_exif_rotated_frame_of_right_size_is_accepted_with_a_warning(tmp_path: Path) -> None:
    path = exif_rotated(tmp_path, SIZE, 3)
    prepared = prepare_starting_frame(path)
    assert prepared.frame.data == path.read_bytes()
    assert any("EXIF orientation 3" in n for n in prepared.notes)
    # With --fit the user asked for the picture they see: the rotation is applied.
    fitted = prepare_starting_frame(path, fit="crop")
    assert fitted.converted
    red, _g, blue = assert_frame_ok(fitted.frame.data or b"").getpixel((1230, 670))  # type: ignore[misc]
    assert red > 200 and blue < 60


@pytest.mark.parametrize(
    ("size", "advice"),
    [
        ((1920, 1080), "already 16:9"),
        ((720, 1280), "portrait"),
        ((1280, 721), "not 16:9"),
    ],
)
def test_wrong_sizes_are_refused_with_advice(
    tmp_path: Path, size: tuple[int, int], advice: str
) -> None:
    path = save(gradient(size), tmp_path / "big.png", "PNG")
    error = refuse(path)
    assert f"is {size[0]}x{size[1]} pixels; Nova Reel needs exactly 1280x720" in error.message
    assert error.hint is not None and advice in error.hint


@pytest.mark.parametrize("size", [(1920, 1080), (720, 1280), (1280, 721), (300, 200)])
@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_every_fit_gives_exactly_1280x720_rgb(
    tmp_path: Path, size: tuple[int, int], fit: str
) -> None:
    path = save(gradient(size), tmp_path / "any.jpg", "JPEG")
    prepared = prepare_starting_frame(path, fit=fit)  # type: ignore[arg-type]
    assert prepared.converted
    assert prepared.frame.format == "png"
    assert prepared.frame.fit == fit  # recorded so a retry can rebuild the same bytes
    assert_frame_ok(prepared.frame.data or b"")
    assert any(fit[:4] in n for n in prepared.notes)


def test_pad_letterboxes_a_portrait_image(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (720, 1280), (255, 255, 255)), tmp_path / "p.png", "PNG")
    prepared = prepare_starting_frame(path, fit="pad")
    out = assert_frame_ok(prepared.frame.data or b"")
    assert out.getpixel((10, 360)) == (0, 0, 0)  # bar
    assert out.getpixel((640, 360)) == (255, 255, 255)  # picture
    assert any("bars left and right" in n for n in prepared.notes)


def test_crop_keeps_the_centre(tmp_path: Path) -> None:
    image = Image.new("RGB", (2560, 720), (255, 0, 0))
    image.paste((0, 255, 0), (640, 0, 1920, 720))
    path = save(image, tmp_path / "wide.png", "PNG")
    out = assert_frame_ok(prepare_starting_frame(path, fit="crop").frame.data or b"")
    assert out.getpixel((5, 360)) == (0, 255, 0)
    assert out.getpixel((1275, 360)) == (0, 255, 0)


def test_file_over_25_mb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = save(gradient(), tmp_path / "huge.png", "PNG")
    data = path.read_bytes()
    # A private ancillary chunk full of noise: still a valid PNG, now 26 MB.
    padding = png_chunk(b"prVt", os.urandom(26_000_000 - len(data)))
    path.write_bytes(data[:-12] + padding + data[-12:])
    assert path.stat().st_size > MAX_IMAGE_BYTES
    error = refuse(path)
    assert "26.0 MB" in error.message and "25 MB" in error.message
    with pytest.raises(ImageError):
        check_image_bytes(path.read_bytes(), field="image")
    # --fit re-encodes, so the source may be big: the result is a small PNG.
    prepared = prepare_starting_frame(path, fit="crop")
    assert len(prepared.frame.data or b"") < MAX_IMAGE_BYTES


def test_several_problems_are_reported_at_once(tmp_path: Path) -> None:
    image = Image.new("LA", (640, 480), (10, 0))
    path = save(image, tmp_path / "many.png", "PNG")
    error = refuse(path)
    assert len(error.problems) == 2
    assert "640x480" in error.message and "grayscale with alpha" in error.message


def test_other_formats_are_refused_and_fit_converts_them(tmp_path: Path) -> None:
    path = save(gradient(), tmp_path / "frame.webp", "WEBP")
    error = refuse(path)
    assert "WEBP" in error.message and "PNG or JPEG" in error.message
    assert_frame_ok(prepare_starting_frame(path, fit="crop").frame.data or b"")


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("hello")
    assert "is not an image: its first bytes are b'hello'" in refuse(path).message


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "file not found" in refuse(tmp_path / "nope.png").message
    assert "folder" in refuse(tmp_path).message


def test_field_names_the_image_in_messages(tmp_path: Path) -> None:
    path = save(gradient((100, 100)), tmp_path / "small.png", "PNG")
    with pytest.raises(ImageError) as info:
        load_starting_frame(path, field="shots[2].image")
    assert info.value.field == "shots[2].image"
    assert str(info.value).startswith("shots[2].image: is 100x100")


def test_unknown_fit_mode(tmp_path: Path) -> None:
    path = save(gradient((100, 100)), tmp_path / "small.png", "PNG")
    with pytest.raises(InvalidRequestError):
        load_starting_frame(path, fit="zoom")  # type: ignore[arg-type]


# ----------------------------------------------------------------- S3 references


@pytest.mark.parametrize(
    ("key", "fmt"), [("a/b.png", "png"), ("c.JPG", "jpeg"), ("d.jpeg", "jpeg")]
)
def test_s3_images_are_passed_by_reference(key: str, fmt: str) -> None:
    uri = f"s3://my-bucket/{key}"
    prepared = prepare_starting_frame(uri, bucket_owner="123456789012")
    frame = prepared.frame
    assert (frame.format, frame.s3_uri, frame.bucket_owner, frame.data) == (
        fmt,
        uri,
        "123456789012",
        None,
    )
    body = TextVideo("x", image=frame).to_model_input()
    assert body["textToVideoParams"]["images"][0]["source"] == {
        "s3Location": {"uri": uri, "bucketOwner": "123456789012"}
    }


def test_s3_image_without_known_extension_is_refused() -> None:
    with pytest.raises(ImageError) as info:
        load_starting_frame("s3://my-bucket/frame.webp")
    assert info.value.hint is not None and "Rename" in info.value.hint


def test_bad_bucket_owner_and_owner_on_local_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as info:
        load_starting_frame("s3://my-bucket/frame.png", bucket_owner="12345")
    assert info.value.field == "image.bucket_owner"
    with pytest.raises(ImageError, match="only applies to images in S3"):
        load_starting_frame(tmp_path / "x.png", bucket_owner="123456789012")


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(min_value=1, max_value=2600),
    height=st.integers(min_value=1, max_value=2600),
    mode=st.sampled_from(["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "1"]),
    fit=st.sampled_from(["crop", "pad", "stretch"]),
)
def test_fit_image_always_gives_1280x720_rgb(width: int, height: int, mode: str, fit: str) -> None:
    """Whatever Pillow can hold, every fit mode makes a frame the service accepts."""
    image = Image.new(mode, (width, height))
    out, notes = fit_image(image, fit)  # type: ignore[arg-type]
    assert (out.size, out.mode) == ((1280, 720), "RGB")
    buffer = io.BytesIO()
    out.save(buffer, "PNG")
    assert check_image_bytes(buffer.getvalue(), field="image") == "png"
    assert ((width, height) == (1280, 720)) == (not any(fit[:4] in n for n in notes))


# ----------------------------------------------------------------- one home per fact


def test_the_limit_and_signatures_are_the_registrys() -> None:
    """images applies models.base's size limit and file signatures; it keeps no copy."""
    from novareel.media.images import reading
    from novareel.models import base

    assert MAX_IMAGE_BYTES is base.MAX_IMAGE_BYTES
    assert base.FrameRules("any", None).max_bytes == MAX_IMAGE_BYTES
    for fmt, magic in base.MAGIC.items():
        assert sniff_format(magic + b"\x00" * 16) == fmt
    assert not any(
        name.endswith("SIGNATURE") or name == "MAX_IMAGE_BYTES" for name in vars(reading)
    )


def test_a_familys_own_size_limit_is_applied_before_reading(tmp_path: Path) -> None:
    """The limit comes from the family's FrameRules, in the message and the check."""
    from novareel.models.base import FrameRules

    path = save(gradient((64, 36)), tmp_path / "small.png", "PNG")
    size = path.stat().st_size
    rules = FrameRules("Tiny", size=None, max_bytes=size - 1)
    with pytest.raises(ImageError) as info:
        prepare_starting_frame(path, rules=rules)
    assert f"<= {size - 1} bytes" == info.value.problems[0].limit
    assert f"Tiny accepts images up to {(size - 1) / 1_000_000:g} MB" in info.value.message
    assert prepare_starting_frame(path, rules=FrameRules("Roomy", size=None)).frame.data


def test_s3_images_are_parsed_by_s3uri() -> None:
    """An S3 image's bucket is held to S3's naming rules (s3uri's), all problems at once."""
    with pytest.raises(ImageError) as info:
        load_starting_frame("s3://My_Bucket/frame.webp", bucket_owner="12345")
    messages = [p.message for p in info.value.problems]
    assert "upper-case letters" in messages[0]
    assert "does not end in .png" in messages[1]
    assert info.value.problems[2].field == "image.bucket_owner"
    with pytest.raises(ImageError, match="not an s3://bucket/key URI of an object"):
        load_starting_frame("s3://my-bucket/")


def test_a_fake_or_cut_image_is_named_in_plain_words_through_the_cli(tmp_path: Path) -> None:
    """A text file named .png, and a real 1280x720 PNG cut after its header: both
    refused before anything is sent, in words a person can act on (no
    "<_io.BytesIO object at 0x...>"; a cut file used to pass, its header being whole)."""
    import json

    from PIL import Image
    from typer.testing import CliRunner

    from novareel.cli import _register, app

    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not a png at all, just text")
    whole = tmp_path / "whole.png"
    Image.effect_noise((1280, 720), 60).convert("RGB").save(whole)
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    _register()
    said = {}
    for image in (fake, cut, whole):
        run = CliRunner().invoke(app, ["generate", "A cat", "--image", str(image), "--dry-run",
                                       "--json", "--output-uri", "s3://my-bucket/v/"])  # fmt: skip
        said[image.name] = (run.exit_code, json.loads(run.stdout))
    code, fake_out = said["fake.png"]
    assert code == 2
    # a dry run shows what it could build and the problems that stop it (exit 2)
    message = fake_out["problems"][0]["message"]
    assert "is not an image" in message and "b'not a png at'" in message
    assert "BytesIO" not in json.dumps(fake_out)
    code, cut_out = said["cut.png"]
    assert code == 2
    assert "cut off or corrupt" in cut_out["problems"][0]["message"]
    assert cut_out["problems"][0]["flag"] == "--image"
    assert said["whole.png"][0] == 0  # the same image, whole, is fine
