"""The pure parts of case materials (cases/materials.py): content sniffing, PDF checks,
image re-encoding, streaming reception with a size limit, framing guides."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cloudwindow.cases.materials import (
    Limits,
    MaterialEmpty,
    MaterialImageCorrupt,
    MaterialImageTooLarge,
    MaterialPdfInvalid,
    MaterialTooLarge,
    MaterialTypeUnsupported,
    check_pdf,
    framing_guide,
    process_file,
    receive_to_file,
    reencode_image,
    sniff,
)

LIMITS = Limits(max_bytes=1 << 20, max_pixels=4_000_000, max_side=1000)


def image_bytes(
    fmt: str, size: tuple[int, int] = (320, 240), mode: str = "RGB", **kw: object
) -> bytes:
    img = Image.new(mode, size, (10, 20, 30) if mode == "RGB" else None)
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"%PDF-1.7\n", "pdf"),
        (b"MZ\x90\x00", None),  # a Windows executable, whatever its name
        (b"GIF89a", None),
        (b"<html>", None),
        (b"", None),
    ],
)
def test_sniff_by_magic_bytes(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


@pytest.mark.parametrize(
    ("head", "tail", "ok"),
    [
        (b"%PDF-1.4\n%\xe2\xe3", b"startxref\n123\n%%EOF\n", True),
        (b"%PDF-2.0\n", b"%%EOF", True),
        (b"%PDF-1.4\n", b"startxref\n123\n", False),  # cut off
        (b"%PDF-x.y\n", b"%%EOF", False),
        (b"%PDF-", b"%%EOF", False),
    ],
)
def test_pdf_needs_a_header_and_an_end(head: bytes, tail: bytes, ok: bool) -> None:
    if ok:
        assert check_pdf(head, tail) == head[5:8].decode()
    else:
        with pytest.raises(MaterialPdfInvalid):
            check_pdf(head, tail)


def test_reencode_strips_metadata_and_applies_orientation() -> None:
    img = Image.new("RGB", (200, 100), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90° counter-clockwise to view
    exif[0x010F] = "SecretCam"
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), icc_profile=b"\x00" * 128, comment=b"hello")
    out = reencode_image(io.BytesIO(buf.getvalue()), LIMITS)
    assert out.content_type == "image/jpeg" and out.extension == "jpg"
    assert (out.meta["width"], out.meta["height"]) == (100, 200)
    assert out.meta["original_size"] == [200, 100]
    with Image.open(io.BytesIO(out.data)) as again:
        assert len(again.getexif()) == 0
        assert not {"exif", "icc_profile", "comment"} & set(again.info)
    assert b"SecretCam" not in out.data and b"hello" not in out.data


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
def test_every_accepted_image_format_becomes_jpeg(fmt: str) -> None:
    out = reencode_image(io.BytesIO(image_bytes(fmt)), LIMITS)
    assert out.data[:3] == b"\xff\xd8\xff" and out.meta["original_format"] == fmt.lower()


def test_transparency_goes_on_white_and_palettes_expand() -> None:
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    out = reencode_image(io.BytesIO(buf.getvalue()), LIMITS)
    with Image.open(io.BytesIO(out.data)) as img:
        assert img.mode == "RGB" and img.getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=2)
    pal = reencode_image(io.BytesIO(image_bytes("PNG", mode="P")), LIMITS)
    assert pal.content_type == "image/jpeg"


def test_large_images_are_scaled_down_and_huge_ones_refused() -> None:
    out = reencode_image(io.BytesIO(image_bytes("PNG", (2400, 1200))), LIMITS)
    assert (out.meta["width"], out.meta["height"]) == (1000, 500)
    with pytest.raises(MaterialImageTooLarge) as err:
        reencode_image(io.BytesIO(image_bytes("PNG", (2500, 2000))), LIMITS)
    assert err.value.details["width"] == 2500


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_images_are_corrupt(fmt: str) -> None:
    data = (
        image_bytes(fmt, (640, 480), quality=95) if fmt == "JPEG" else image_bytes(fmt, (640, 480))
    )
    with pytest.raises(MaterialImageCorrupt):
        reencode_image(io.BytesIO(data[: len(data) // 2]), LIMITS)
    with pytest.raises(MaterialImageCorrupt):
        reencode_image(io.BytesIO(data[:20] + b"\x00" * 50), LIMITS)


def test_an_image_format_we_do_not_take_is_refused() -> None:
    with pytest.raises(MaterialTypeUnsupported):
        reencode_image(io.BytesIO(image_bytes("GIF")), LIMITS)


def test_process_file_checks_by_content(tmp_path: Path) -> None:
    def run(data: bytes) -> str:
        path = tmp_path / "upload.jpg"  # the name never matters
        path.write_bytes(data)
        return process_file(path, LIMITS).content_type

    assert run(image_bytes("PNG")) == "image/jpeg"
    assert run(b"%PDF-1.5\n...\n%%EOF\n") == "application/pdf"
    for bad, error in [
        (b"", MaterialEmpty),
        (b"just text", MaterialTypeUnsupported),
        (b"%PDF-1.5\n... no end", MaterialPdfInvalid),
        (image_bytes("JPEG")[:100], MaterialImageCorrupt),
    ]:
        with pytest.raises(error):
            run(bad)


def test_receive_stops_at_the_limit_without_reading_the_rest(tmp_path: Path) -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"x" * 1000

    with pytest.raises(MaterialTooLarge) as err:
        asyncio.run(receive_to_file(endless(), None, 10_000, tmp_path))
    assert pulled == 11  # the chunk that passed the limit was the last one read
    assert err.value.details == {"limit_bytes": 10_000}
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


def test_receive_refuses_a_declared_size_over_the_limit_before_reading(tmp_path: Path) -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("read")
        yield b""

    with pytest.raises(MaterialTooLarge):
        asyncio.run(receive_to_file(never(), "10001", 10_000, tmp_path))


def test_receive_writes_the_body_and_refuses_an_empty_one(tmp_path: Path) -> None:
    async def parts(*chunks: bytes) -> AsyncIterator[bytes]:
        for c in chunks:
            yield c

    path = asyncio.run(receive_to_file(parts(b"ab", b"cd"), "4", 10, tmp_path))
    assert path.read_bytes() == b"abcd"
    path.unlink()
    with pytest.raises(MaterialEmpty):
        asyncio.run(receive_to_file(parts(), None, 10, tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_framing_guides() -> None:
    card = framing_guide("居民身份证")
    assert card["aspect_ratio"] == pytest.approx(1.585, abs=0.001)
    assert framing_guide("受托人居民身份证")["aspect_ratio"] == card["aspect_ratio"]
    page = framing_guide("社会保障卡补换申请表")
    assert page["aspect_ratio"] == pytest.approx(0.707, abs=0.001)
    assert "社会保障卡补换申请表" in page["hint_zh"]


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 1600),
    st.integers(1, 1600),
    st.sampled_from(["RGB", "RGBA", "L", "LA", "P", "1", "CMYK", "I;16"]),
    st.sampled_from(["PNG", "JPEG", "WEBP"]),
    st.sampled_from([None, 1, 3, 6, 8]),
)
def test_any_image_comes_out_as_a_bare_jpeg_within_the_limits(
    width: int, height: int, mode: str, fmt: str, orientation: int | None
) -> None:
    img = Image.new(mode, (width, height))
    if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    if fmt == "WEBP" and img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA")
    if fmt == "PNG" and img.mode == "CMYK":
        img = img.convert("RGB")
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, fmt, exif=exif.tobytes())
    out = reencode_image(io.BytesIO(buf.getvalue()), LIMITS)
    turned = orientation in (6, 8)
    expect = (height, width) if turned else (width, height)
    scale = min(1.0, LIMITS.max_side / max(expect))
    with Image.open(io.BytesIO(out.data)) as again:
        assert again.format == "JPEG" and again.mode in ("RGB", "L")
        assert len(again.getexif()) == 0 and "icc_profile" not in again.info
        assert max(again.size) <= LIMITS.max_side
        assert abs(again.size[0] - expect[0] * scale) <= 1
        assert abs(again.size[1] - expect[1] * scale) <= 1
