"""Sample face images for local invokes and tests.

Every picture comes from an image that a PyPI package ships (scikit-image's
``data`` module and matplotlib's ``sample_data``): no other photo may be used
in this repository. Output is deterministic for a given Pillow/libjpeg build,
so regenerated events are byte-identical.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

# (left, upper, right, lower) in source pixels, each a square with some margin
# around the face, like the crop a browser face widget sends. Checked visually
# (50 px grid overlay, enlarged crops) and with dlib's HOG face detector.
# The astronaut's face (hair to chin) spans about x 165..285, y 40..170 of
# the 512x512 image.
ASTRONAUT_FACE_BOX = (150, 30, 300, 180)
# Grace Hopper's face (brow to chin) spans about x 180..360, y 140..320 of the
# 512x600 (w x h) JPEG; the box keeps the cap brim and chin.
GRACE_HOPPER_FACE_BOX = (140, 90, 420, 370)

# A browser face crop sent by the webcam widget is about this size.
CAPTURE_SIZE = (160, 160)
# canvas.toBlob("image/jpeg", 0.9)-like quality for captures; the registered
# reference is stored at higher quality.
CAPTURE_QUALITY = 90
REFERENCE_QUALITY = 95


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    # No EXIF/ICC and fixed encoder options keep the bytes reproducible.
    image.convert("RGB").save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def _relight(image: Image.Image, gamma: float, gain: float) -> Image.Image:
    """Simulate different lighting (webcam exposure) with gamma and gain."""
    arr = np.asarray(image, dtype=np.float64) / 255.0
    arr = np.clip(gain * arr**gamma, 0.0, 1.0)
    return Image.fromarray(np.round(arr * 255.0).astype(np.uint8))


def _face_capture(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    return image.crop(box).resize(CAPTURE_SIZE, Image.Resampling.LANCZOS)


def astronaut_image() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def grace_hopper_image() -> Image.Image:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with Image.open(path) as img:
        return img.convert("RGB")


def reference_jpeg() -> bytes:
    """The registered face: the full 512x512 astronaut portrait."""
    return _jpeg(astronaut_image(), REFERENCE_QUALITY)


def match_capture_jpeg() -> bytes:
    """Same person as the reference: tight face crop, brighter, 160x160."""
    face = _face_capture(astronaut_image(), ASTRONAUT_FACE_BOX)
    return _jpeg(_relight(face, gamma=0.8, gain=1.05), CAPTURE_QUALITY)


def mismatch_capture_jpeg() -> bytes:
    """A different person: tight face crop of Grace Hopper, 160x160."""
    face = _face_capture(grace_hopper_image(), GRACE_HOPPER_FACE_BOX)
    return _jpeg(face, CAPTURE_QUALITY)


def no_face_jpeg() -> bytes:
    """No human face: scikit-image's cat (451x300)."""
    from skimage import data

    return _jpeg(Image.fromarray(data.chelsea()), CAPTURE_QUALITY)
