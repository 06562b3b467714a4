"""Turn untrusted image bytes into an 8-bit, 3-channel BGR array, or refuse them clearly.

Pillow is used rather than ``cv2.imdecode`` because it reads the header without
decoding pixels (so a decompression bomb is refused before it costs memory), applies
EXIF orientation explicitly, and exposes the source mode (alpha, palette, 16-bit) so
each is converted on purpose.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from face_verification.config import ImageLimits
from face_verification.errors import (
    ImageRole,
    InvalidImage,
    InvalidReferenceImage,
    PayloadTooLarge,
    UnsupportedImageFormat,
)

BGRImage = NDArray[np.uint8]

# What a browser's canvas.toBlob / a phone upload produces. Judged by magic bytes,
# never by the file name or the part's declared content type.
_SIGNATURES: tuple[tuple[str, bytes, int], ...] = (
    ("JPEG", b"\xff\xd8\xff", 0),
    ("PNG", b"\x89PNG\r\n\x1a\n", 0),
    ("WEBP", b"WEBP", 8),  # RIFF....WEBP
)
SUPPORTED_FORMATS = tuple(name for name, _, _ in _SIGNATURES)

# Below this no detector can find a face; refuse early with a clear reason.
MIN_IMAGE_SIDE = 32

# Transparent pixels are composited over white, like a browser shows them.
_BACKGROUND = (255, 255, 255)

# EXIF Orientation value -> the transpose that shows the image the right way up.
_ORIENTATION_TAG = 0x0112
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def sniff_format(data: bytes) -> str | None:
    for name, magic, offset in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic and (name != "WEBP" or data[:4] == b"RIFF"):
            return name
    return None


def decode_image(data: bytes, limits: ImageLimits, role: ImageRole = "capture") -> BGRImage:
    """Decode, orient, convert to BGR uint8 and bound the size of an uploaded or stored image."""
    invalid = InvalidImage if role == "capture" else InvalidReferenceImage
    # A stored reference that is too large is our data's fault, not a 413 for the caller.
    too_large = PayloadTooLarge if role == "capture" else InvalidReferenceImage
    if not data:
        raise invalid("the image is empty", image=role)
    if len(data) > limits.max_image_bytes:
        raise too_large(f"the image is larger than {limits.max_image_bytes} bytes", image=role)
    image_format = sniff_format(data)
    if image_format is None:
        if role == "reference":
            raise InvalidReferenceImage("the registered image is not JPEG, PNG or WebP", image=role)
        raise UnsupportedImageFormat("the image must be JPEG, PNG or WebP", image=role)

    try:
        with warnings.catch_warnings():
            # Our own pixel cap below is stricter than Pillow's bomb warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[image_format]) as image:
                width, height = image.size
                if width * height > limits.max_image_pixels:
                    raise too_large(f"the image has more than {limits.max_image_pixels} pixels", image=role)
                if min(width, height) < MIN_IMAGE_SIDE:
                    raise invalid(
                        f"the image is {width}x{height}; at least "
                        f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} pixels are needed",
                        image=role,
                    )
                _draft_towards(image, limits.max_image_side)
                image.load()
                rgb = _to_rgb(_upright(image))
    except (PayloadTooLarge, InvalidImage, InvalidReferenceImage):
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses headers past twice its own cap before we see the size.
        raise too_large(f"the image has more than {limits.max_image_pixels} pixels", image=role) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        # Truncated or corrupt data; the exception text may quote bytes, so it is dropped.
        raise invalid(f"the {image_format} data could not be decoded", image=role) from exc

    rgb = _bound_size(rgb, limits.max_image_side)
    if min(rgb.size) < MIN_IMAGE_SIDE:
        raise invalid("the image is too small once oriented and scaled", image=role)
    array = np.asarray(rgb, dtype=np.uint8)
    return np.ascontiguousarray(array[:, :, ::-1])


def _draft_towards(image: Image.Image, max_side: int) -> None:
    # JPEG can decode at 1/2, 1/4 or 1/8 scale: a 12 MP photo then never exists in memory
    # at full size. draft() keeps the result at least max_side on its longer side.
    if image.format == "JPEG" and max(image.size) > 2 * max_side:
        scale = max_side / max(image.size)
        image.draft("RGB", (int(image.size[0] * scale) + 1, int(image.size[1] * scale) + 1))


def _upright(image: Image.Image) -> Image.Image:
    # Only the tag is read: ImageOps.exif_transpose also re-serialises the EXIF block for
    # its output, and a corrupt tag we never use then escapes as struct.error.
    orientation = image.getexif().get(_ORIENTATION_TAG)
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image if method is None else image.transpose(method)


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit int) grayscale: scale to 8 bits by the real range of the type.
        values = np.asarray(image, dtype=np.uint32 if mode == "I" else np.uint16)
        top = 65535 if mode != "I" else max(int(values.max()), 1)
        gray = (values.astype(np.float64) * (255.0 / top)).round().astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        span = float(values.max() - values.min()) or 1.0
        gray = ((values - values.min()) * (255.0 / span)).round().astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode in ("P", "L", "RGB") and "transparency" in image.info:
        # A PNG tRNS chunk: a palette index or one grey/RGB colour that is see-through.
        image = image.convert("RGBA")
    elif mode == "P":
        image = image.convert("RGB")
    elif mode in ("LA", "La", "RGBa", "PA"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, _BACKGROUND)
        background.paste(image, mask=image.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")  # L, 1, CMYK, YCbCr
    return image


def _bound_size(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
