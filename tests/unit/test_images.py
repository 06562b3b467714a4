"""decode_image: untrusted bytes become a uint8 (H, W, 3) BGR array or a clear VerificationError.

Every image here is drawn by the test itself (numpy/Pillow), except the astronaut that
scikit-image ships.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from face_verification.config import ImageLimits
from face_verification.errors import (
    InvalidImage,
    InvalidReferenceImage,
    PayloadTooLarge,
    UnsupportedImageFormat,
    VerificationError,
)
from face_verification.images import MIN_IMAGE_SIDE, decode_image

LIMITS = ImageLimits(
    max_image_bytes=5_000_000,
    max_image_pixels=25_000_000,
    max_body_bytes=6_000_000,
    max_image_side=1280,
)
ORIENTATION = 0x0112
RED_RGB = (255, 0, 0)
# Pure-colour JPEGs come back within a few levels of the source.
JPEG_TOLERANCE = 3


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def solid(color: tuple[int, ...], size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, color)


def assert_bgr(array: np.ndarray, height: int, width: int) -> None:
    assert array.dtype == np.uint8
    assert array.shape == (height, width, 3)
    assert array.flags["C_CONTIGUOUS"]


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and an IHDR chunk (8-bit RGB) with a correct CRC, then an empty IDAT and IEND."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    empty_idat = chunk(b"IDAT", zlib.compress(b""))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + empty_idat + chunk(b"IEND", b"")


def exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = value
    return exif.tobytes()


def noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def marked(size: tuple[int, int], block: int = 16) -> Image.Image:
    """A white image with a red block in its top-left corner."""
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste(RED_RGB, (0, 0, block, block))
    return image


def red_block_corner(array: np.ndarray, block: int = 16) -> str:
    """Which corner of a BGR array holds the (red) marker block."""
    height, width = array.shape[:2]
    corners = {
        "top-left": array[: block // 2, : block // 2],
        "top-right": array[: block // 2, width - block // 2 :],
        "bottom-left": array[height - block // 2 :, : block // 2],
        "bottom-right": array[height - block // 2 :, width - block // 2 :],
    }
    red = [name for name, area in corners.items() if area[..., 2].mean() > 200 and area[..., 0].mean() < 60]
    assert len(red) == 1, red
    return red[0]


# -- formats and channel order -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options", "tolerance"),
    [
        ("JPEG", {"quality": 95}, JPEG_TOLERANCE),
        ("PNG", {}, 0),
        ("WEBP", {"lossless": True}, 0),
        ("WEBP", {"quality": 90}, 8),
    ],
)
def test_pure_red_decodes_to_bgr_0_0_255(fmt, options, tolerance):
    array = decode_image(encode(solid(RED_RGB), fmt, **options), LIMITS)
    assert_bgr(array, 48, 64)
    b, g, r = (array[..., channel].astype(int) for channel in range(3))
    assert np.abs(b - 0).max() <= tolerance
    assert np.abs(g - 0).max() <= tolerance
    assert np.abs(r - 255).max() <= tolerance


def test_three_colour_png_keeps_every_channel_in_bgr_order():
    image = Image.new("RGB", (96, 32))
    image.paste((255, 0, 0), (0, 0, 32, 32))
    image.paste((0, 255, 0), (32, 0, 64, 32))
    image.paste((10, 20, 30), (64, 0, 96, 32))
    array = decode_image(encode(image, "PNG"), LIMITS)
    assert_bgr(array, 32, 96)
    assert tuple(array[16, 16]) == (0, 0, 255)
    assert tuple(array[16, 48]) == (0, 255, 0)
    assert tuple(array[16, 80]) == (30, 20, 10)


def test_package_shipped_photo_round_trips_through_jpeg():
    from skimage import data

    rgb = data.astronaut()
    array = decode_image(encode(Image.fromarray(rgb), "JPEG", quality=95), LIMITS)
    assert_bgr(array, 512, 512)
    # Mean error of a quality-95 JPEG against its source, in the right channel order.
    assert np.abs(array[..., ::-1].astype(int) - rgb.astype(int)).mean() < 4
    # The same photo with channels swapped would be far off.
    assert np.abs(array.astype(int) - rgb.astype(int)).mean() > 20


# -- modes: alpha, palette, grey, 16-bit, 1-bit -------------------------------------------------


def test_rgba_png_transparent_area_is_white_and_half_alpha_is_blended():
    image = Image.new("RGBA", (96, 32), (0, 0, 255, 255))  # opaque blue
    image.paste((0, 0, 0, 0), (32, 0, 64, 32))  # fully transparent black
    image.paste((255, 0, 0, 128), (64, 0, 96, 32))  # half-transparent red
    array = decode_image(encode(image, "PNG"), LIMITS)
    assert_bgr(array, 32, 96)
    assert tuple(array[16, 16]) == (255, 0, 0)
    assert tuple(array[16, 48]) == (255, 255, 255)
    b, g, r = (int(v) for v in array[16, 80])
    assert r == 255
    assert abs(g - 127) <= 1 and abs(b - 127) <= 1


def test_la_png_composites_over_white():
    image = Image.new("LA", (64, 32), (0, 255))
    image.paste((0, 0), (32, 0, 64, 32))
    array = decode_image(encode(image, "PNG"), LIMITS)
    assert_bgr(array, 32, 64)
    assert tuple(array[16, 10]) == (0, 0, 0)
    assert tuple(array[16, 50]) == (255, 255, 255)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_grayscale_l_becomes_three_equal_channels(fmt):
    array = decode_image(encode(solid((100,), mode="L"), fmt), LIMITS)
    assert_bgr(array, 48, 64)
    assert np.abs(array.astype(int) - 100).max() <= (0 if fmt == "PNG" else 1)


def test_palette_png_without_transparency_keeps_its_colours():
    image = Image.new("P", (64, 32), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    image.paste(1, (32, 0, 64, 32))
    array = decode_image(encode(image, "PNG"), LIMITS)
    assert_bgr(array, 32, 64)
    assert tuple(array[16, 10]) == (0, 0, 255)
    assert tuple(array[16, 50]) == (255, 0, 0)


def test_palette_png_with_transparent_index_shows_white_there():
    image = Image.new("P", (64, 32), 0)
    image.putpalette([255, 0, 0, 0, 0, 0] + [0] * (254 * 3))
    image.paste(1, (32, 0, 64, 32))
    array = decode_image(encode(image, "PNG", transparency=1), LIMITS)
    assert_bgr(array, 32, 64)
    assert tuple(array[16, 10]) == (0, 0, 255)
    assert tuple(array[16, 50]) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_png_with_a_transparent_colour_key_shows_white_there(mode):
    # tRNS on a grey or RGB PNG marks one colour as transparent, like an alpha of 0.
    dark = (0,) if mode == "L" else (0, 0, 0)
    image = Image.new(mode, (64, 32), (200,) if mode == "L" else (200, 200, 200))
    image.paste(dark, (32, 0, 64, 32))
    array = decode_image(encode(image, "PNG", transparency=dark[0] if mode == "L" else dark), LIMITS)
    assert tuple(array[16, 10]) == (200, 200, 200)
    assert tuple(array[16, 50]) == (255, 255, 255)


def test_16_bit_grayscale_png_scales_by_the_full_16_bit_range():
    values = np.zeros((40, 60), dtype=np.uint16)
    values[:, :20] = 65535
    values[:, 20:40] = 32768
    source = Image.fromarray(values)
    assert source.mode == "I;16"
    data = encode(source, "PNG")
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.mode == "I;16"
    array = decode_image(data, LIMITS)
    assert_bgr(array, 40, 60)
    assert tuple(array[5, 5]) == (255, 255, 255)
    assert tuple(array[5, 25]) == (128, 128, 128)
    assert tuple(array[5, 45]) == (0, 0, 0)


def test_1_bit_png_is_black_and_white():
    image = Image.new("1", (64, 32), 0)
    image.paste(1, (32, 0, 64, 32))
    array = decode_image(encode(image, "PNG"), LIMITS)
    assert_bgr(array, 32, 64)
    assert tuple(array[16, 10]) == (0, 0, 0)
    assert tuple(array[16, 50]) == (255, 255, 255)


# -- EXIF orientation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "shape", "corner"),
    [
        (1, (60, 120), "top-left"),
        (3, (60, 120), "bottom-right"),  # rotated 180
        (6, (120, 60), "top-right"),  # rotate 90 clockwise to display
        (8, (120, 60), "bottom-left"),  # rotate 90 counter-clockwise to display
    ],
)
def test_exif_orientation_is_applied_exactly_once(orientation, shape, corner):
    data = encode(marked((120, 60)), "JPEG", quality=95, exif=exif_orientation(orientation))
    array = decode_image(data, LIMITS)
    assert_bgr(array, *shape)
    assert red_block_corner(array) == corner


def test_corrupt_exif_tag_next_to_the_orientation_still_decodes_upright():
    # Tag 0x0129 (PageNumber, SHORT in the TIFF spec) stored as ASCII: Pillow reads it, but
    # ImageOps.exif_transpose re-packs it and raised struct.error, a 500 for the caller.
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "Maker"
    raw = exif.tobytes()
    assert raw.count(b"\x01\x0f\x00\x02") == 1  # the Make entry: tag id, type ASCII
    raw = raw.replace(b"\x01\x0f\x00\x02", b"\x01\x29\x00\x02")
    array = decode_image(encode(marked((120, 60)), "JPEG", quality=95, exif=raw), LIMITS)
    assert_bgr(array, 120, 60)
    assert red_block_corner(array) == "top-right"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_exif_orientation_of_png_and_webp_is_applied(fmt):
    options = {"lossless": True} if fmt == "WEBP" else {}
    array = decode_image(encode(marked((120, 60)), fmt, exif=exif_orientation(8), **options), LIMITS)
    assert_bgr(array, 120, 60)
    assert red_block_corner(array) == "bottom-left"


def test_exif_orientation_and_jpeg_draft_scaling_work_together():
    data = encode(marked((6000, 4000), block=600), "JPEG", quality=80, exif=exif_orientation(6))
    array = decode_image(data, LIMITS)
    assert_bgr(array, 1280, 853)
    assert red_block_corner(array, block=128) == "top-right"


# -- unsupported, empty, corrupt, tiny ---------------------------------------------------------


def _gif() -> bytes:
    return encode(solid(RED_RGB), "GIF")


def _bmp() -> bytes:
    return encode(solid(RED_RGB), "BMP")


def _tiff() -> bytes:
    return encode(solid(RED_RGB), "TIFF")


UNSUPPORTED = {
    "gif": _gif,
    "bmp": _bmp,
    "tiff": _tiff,
    "svg": lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" '
    b'height="64" fill="red"/></svg>',
    "svg-with-xml-prolog": lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
    "html": lambda: b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
    "random-bytes-named-jpg": lambda: noise((4096,), seed=7).tobytes(),
    "pdf": lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "riff-but-not-webp": lambda: b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64,
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_format_is_415_naming_the_capture(name):
    with pytest.raises(UnsupportedImageFormat) as caught:
        decode_image(UNSUPPORTED[name](), LIMITS)
    assert caught.value.status == 415
    assert caught.value.reason == "UnsupportedImageFormat"
    assert caught.value.fields == {"image": "capture"}


def test_empty_bytes_are_invalid_image():
    with pytest.raises(InvalidImage) as caught:
        decode_image(b"", LIMITS)
    assert (caught.value.status, caught.value.reason) == (400, "InvalidImage")
    assert caught.value.fields == {"image": "capture"}


def _jpeg_bytes() -> bytes:
    return encode(marked((120, 90)), "JPEG", quality=90)


def _png_bytes() -> bytes:
    return encode(Image.fromarray(noise((90, 120, 3), seed=3)), "PNG")


@pytest.mark.parametrize("make", [_jpeg_bytes, _png_bytes], ids=["jpeg", "png"])
@pytest.mark.parametrize("keep", [0.02, 0.1, 0.5, 0.9, 0.99])
def test_truncated_image_is_400_invalid_image(make, keep):
    data = make()
    cut = data[: max(int(len(data) * keep), 12)]
    with pytest.raises(InvalidImage) as caught:
        decode_image(cut, LIMITS)
    assert (caught.value.status, caught.value.reason) == (400, "InvalidImage")
    assert caught.value.fields == {"image": "capture"}
    # The message is ours; nothing of the data (or of Pillow's text about it) is echoed.
    assert caught.value.message in ("the JPEG data could not be decoded", "the PNG data could not be decoded")


@pytest.mark.parametrize("size", [(1, 1), (20, 20), (MIN_IMAGE_SIDE - 1, 400), (400, MIN_IMAGE_SIDE - 1)])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_too_small_image_is_invalid_image(size, fmt):
    with pytest.raises(InvalidImage) as caught:
        decode_image(encode(solid(RED_RGB, size), fmt), LIMITS)
    assert (caught.value.status, caught.value.reason) == (400, "InvalidImage")
    assert caught.value.fields == {"image": "capture"}


def test_smallest_accepted_image_is_min_side_square():
    array = decode_image(encode(solid(RED_RGB, (MIN_IMAGE_SIDE, MIN_IMAGE_SIDE)), "PNG"), LIMITS)
    assert_bgr(array, MIN_IMAGE_SIDE, MIN_IMAGE_SIDE)


def test_image_too_thin_once_scaled_is_invalid_image():
    # 40 px tall passes the first check, but scaled to a 1280 px longer side it is 8 px tall.
    with pytest.raises(InvalidImage):
        decode_image(encode(solid(RED_RGB, (6400, 40)), "PNG"), LIMITS)


# -- size limits -----------------------------------------------------------------------------


def test_too_many_bytes_is_413():
    limits = ImageLimits(max_image_bytes=1_000, max_image_pixels=25_000_000, max_body_bytes=6_000_000,
                         max_image_side=1280)
    data = _png_bytes()
    assert len(data) > 1_000
    with pytest.raises(PayloadTooLarge) as caught:
        decode_image(data, limits)
    assert (caught.value.status, caught.value.reason) == (413, "PayloadTooLarge")
    assert caught.value.fields == {"image": "capture"}


def test_byte_limit_is_inclusive():
    data = _jpeg_bytes()
    limits = ImageLimits(max_image_bytes=len(data), max_image_pixels=25_000_000, max_body_bytes=6_000_000,
                         max_image_side=1280)
    assert_bgr(decode_image(data, limits), 90, 120)


@pytest.mark.parametrize(
    "size",
    [(50_000, 50_000), (6_000, 5_000), (2**31 - 1, 2**31 - 1)],
    ids=["past-pillow-bomb-cap", "past-our-pixel-cap-only", "largest-png-dimensions"],
)
def test_png_header_declaring_huge_size_is_413_without_allocating(size):
    data = png_header(*size)
    assert len(data) < 300
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge) as caught:
            decode_image(data, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (caught.value.status, caught.value.reason) == (413, "PayloadTooLarge")
    assert caught.value.fields == {"image": "capture"}
    assert peak < 50_000_000


def test_pixel_limit_is_checked_against_width_times_height():
    limits = ImageLimits(max_image_bytes=5_000_000, max_image_pixels=10_000, max_body_bytes=6_000_000,
                         max_image_side=1280)
    assert_bgr(decode_image(encode(solid(RED_RGB, (100, 100)), "PNG"), limits), 100, 100)
    with pytest.raises(PayloadTooLarge):
        decode_image(encode(solid(RED_RGB, (101, 100)), "PNG"), limits)


@pytest.mark.parametrize(("fmt", "size", "shape"), [
    ("JPEG", (6000, 4000), (853, 1280)),
    ("JPEG", (4000, 6000), (1280, 853)),
    ("PNG", (3000, 2000), (853, 1280)),
    ("JPEG", (2000, 1280), (819, 1280)),  # below twice the side: no JPEG draft, resize only
])
def test_large_image_is_scaled_to_max_side(fmt, size, shape):
    data = encode(marked(size, block=size[0] // 10), fmt, quality=80) if fmt == "JPEG" else encode(
        marked(size, block=size[0] // 10), fmt)
    array = decode_image(data, LIMITS)
    assert_bgr(array, *shape)
    assert max(array.shape[:2]) == LIMITS.max_image_side
    assert red_block_corner(array, block=max(array.shape[:2]) // 10) == "top-left"


def test_image_at_max_side_is_not_resized():
    array = decode_image(encode(marked((1280, 100)), "PNG"), LIMITS)
    assert_bgr(array, 100, 1280)


# -- the registered image: our data, not the caller's input ------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        _jpeg_bytes()[:200],
        b"GIF89a" + b"\x00" * 64,
        b"<svg/>",
        encode(solid(RED_RGB, (20, 20)), "PNG"),
    ],
    ids=["empty", "truncated-jpeg", "gif", "svg", "tiny"],
)
def test_reference_decode_failure_is_invalid_reference_image(data):
    with pytest.raises(InvalidReferenceImage) as caught:
        decode_image(data, LIMITS, role="reference")
    assert (caught.value.status, caught.value.reason) == (422, "InvalidReferenceImage")
    assert caught.value.fields == {"image": "reference"}


def test_reference_with_too_many_pixels_is_invalid_reference_image_not_413():
    # A 413 would tell the caller their upload was too large; the stored photo is ours.
    with pytest.raises(InvalidReferenceImage) as caught:
        decode_image(png_header(50_000, 50_000), LIMITS, role="reference")
    assert caught.value.status == 422
    assert caught.value.fields == {"image": "reference"}


def test_reference_with_too_many_bytes_is_invalid_reference_image_not_413():
    limits = ImageLimits(max_image_bytes=1_000, max_image_pixels=25_000_000, max_body_bytes=6_000_000,
                         max_image_side=1280)
    with pytest.raises(InvalidReferenceImage) as caught:
        decode_image(_png_bytes(), limits, role="reference")
    assert caught.value.status == 422


def test_valid_reference_decodes_like_a_capture():
    data = _jpeg_bytes()
    assert np.array_equal(decode_image(data, LIMITS, role="reference"), decode_image(data, LIMITS))


# -- properties: any bytes give an array or one of our errors, nothing else --------------------------


def decode_outcome(data: bytes) -> str:
    try:
        array = decode_image(data, LIMITS)
    except VerificationError as error:
        assert 400 <= error.status < 500
        assert error.fields.get("image") == "capture"
        return error.reason
    assert array.dtype == np.uint8
    assert array.ndim == 3 and array.shape[2] == 3
    assert min(array.shape[:2]) >= MIN_IMAGE_SIDE
    assert max(array.shape[:2]) <= LIMITS.max_image_side
    return "decoded"


SEED_JPEG = encode(marked((64, 48)), "JPEG", quality=85)
SEED_PNG = encode(Image.fromarray(noise((40, 48, 4), seed=5)), "PNG")
SEED_WEBP = encode(marked((64, 48)), "WEBP", quality=80)
SEED_EXIF_JPEG = encode(marked((64, 48)), "JPEG", quality=85, exif=exif_orientation(6))
SEED_EXIF_PNG = encode(marked((64, 48)), "PNG", exif=exif_orientation(8))
HEADERS = [
    b"\xff\xd8\xff",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"RIFF\xff\xff\xff\x7fWEBPVP8 ",
]

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_escape_as_anything_but_a_verification_error(data):
    decode_outcome(data)


@PROPERTY
@given(st.sampled_from(HEADERS), st.binary(max_size=4096))
def test_valid_header_then_garbage_never_escapes(header, tail):
    decode_outcome(header + tail)


@PROPERTY
@given(
    st.sampled_from([SEED_JPEG, SEED_PNG, SEED_WEBP, SEED_EXIF_JPEG, SEED_EXIF_PNG]),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=12),
    st.one_of(st.none(), st.floats(0, 1)),
)
def test_valid_image_with_flipped_bytes_or_truncated_never_escapes(seed, flips, keep):
    data = bytearray(seed)
    for where, value in flips:
        data[int(where * len(data))] = value
    if keep is not None:
        data = data[: int(keep * len(data))]
    decode_outcome(bytes(data))


def test_corrupt_seed_outcomes_are_the_expected_reasons():
    # The property tests above cannot fail by always raising: the seeds themselves decode.
    for seed in (SEED_JPEG, SEED_PNG, SEED_WEBP, SEED_EXIF_JPEG, SEED_EXIF_PNG):
        assert decode_outcome(seed) == "decoded"
    assert decode_outcome(SEED_JPEG[:100]) == "InvalidImage"
    assert decode_outcome(b"GIF89a") == "UnsupportedImageFormat"
