"""What real browsers and phones send, on real photos from ../shared/faces/deepface-unit.

Tight face crops like the frontend's, two-face captures, small faces, EXIF-rotated
phone photos and colour-mode conversions, all through lambda_handler with the offline pack.
"""

from __future__ import annotations

import io
from dataclasses import replace

import cv2
import numpy as np
import pytest
from PIL import Image

from face_verification.images import decode_image
from tests.conftest import PREFIX, require_shared_faces, shared_face
from tests.integration.conftest import invoke, upload, verify_event

# Same person (master.csv "Yes" pairs); img1 is the registered reference.
REFERENCE, SAME_PERSON, OTHER_PERSON = "img1.jpg", "img2.jpg", "img3.jpg"


@pytest.fixture(scope="module")
def reference_url(s3_client) -> str:
    require_shared_faces()
    return upload(s3_client, f"{PREFIX}real/{REFERENCE}", shared_face(REFERENCE).read_bytes())


def _bgr(name: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(shared_face(name).read_bytes(), np.uint8), cv2.IMREAD_COLOR)


def _jpeg(bgr: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _face_box(app, bgr: np.ndarray):
    """The main face's box as the service's detector sees it on the full photo."""
    analyzer = app.verifier._analyzer
    image = decode_image(_jpeg(bgr, 95), app.settings.images)
    faces = analyzer.detect(analyzer.prepare(image))
    assert faces, "the full photo must show a face"
    scale = bgr.shape[1] / image.shape[1]
    face = faces[0]
    return face.x * scale, face.y * scale, face.w * scale, face.h * scale


def tight_crop(app, name: str, size: int, fill: float) -> np.ndarray:
    """A square crop centred on the face, the face box filling ``fill`` of its side, as the
    browser cuts face-api.js's box from the webcam frame, resized to ``size`` px."""
    bgr = _bgr(name)
    x, y, w, h = _face_box(app, bgr)
    side = max(w, h) / fill
    cx, cy = x + w / 2, y + h / 2
    border = int(side)
    framed = cv2.copyMakeBorder(bgr, border, border, border, border, cv2.BORDER_REPLICATE)
    x0, y0 = int(cx - side / 2) + border, int(cy - side / 2) + border
    crop = framed[y0 : y0 + int(side), x0 : x0 + int(side)]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("size", [112, 160, 200])
def test_tight_crops_of_the_same_person_match(app, reference_url, size):
    for fill in (0.9, 1.1):
        reply = invoke(app, verify_event(_jpeg(tight_crop(app, SAME_PERSON, size, fill)), reference_url))
        assert reply.status == 200, (size, fill, reply.body)


@pytest.mark.parametrize("size", [112, 200])
def test_tight_crops_of_another_person_do_not_match(app, reference_url, size):
    reply = invoke(app, verify_event(_jpeg(tight_crop(app, OTHER_PERSON, size, 0.9)), reference_url))
    assert reply.status == 401
    assert reply.body["reason"] == "NotMatched"


def test_padding_is_what_finds_the_tightest_crops(app):
    """Faces filling more than the frame (the box cut into by the crop) are found with the
    border the service adds; without it the detector misses some of the same crops."""
    require_shared_faces()
    analyzer = app.verifier._analyzer
    names = [f"img{i}.jpg" for i in range(1, 26)]
    crops = [tight_crop(app, name, 112, 1.2) for name in names]
    found_with = sum(bool(analyzer.detect(analyzer.prepare(crop))) for crop in crops)
    unpadded = replace(analyzer.settings, padding_ratio=0.0)
    original, analyzer.settings = analyzer.settings, unpadded
    try:
        found_without = sum(bool(analyzer.detect(analyzer.prepare(crop))) for crop in crops)
    finally:
        analyzer.settings = original
    print(f"\n112x112 crops, face box 120% of the frame: detected {found_with}/25 with padding, "
          f"{found_without}/25 without")
    assert found_with == 25
    assert found_without < found_with


def test_registered_photos_need_the_border_only_when_their_face_reaches_the_edge(app):
    """A registered photo is searched without the border first (2.25x fewer pixels); only
    when no face clear of the edges is found is it searched again with the border."""
    require_shared_faces()
    analyzer = app.verifier._analyzer
    real_run = analyzer._run_detector

    def searches(image: np.ndarray) -> int:
        calls = 0

        def counted(img):
            nonlocal calls
            calls += 1
            return real_run(img)

        analyzer._run_detector = counted
        try:
            face = analyzer.find_largest_face(analyzer.prepare(decode_image(_jpeg(image, 95), app.settings.images)))
        finally:
            analyzer._run_detector = real_run
        assert face is not None
        return calls

    names = [f"img{i}.jpg" for i in range(1, 26)]
    photos = [searches(_bgr(name)) for name in names]
    crops = [searches(tight_crop(app, name, 112, 1.2)) for name in names]
    print(f"\nsearches with the border: {photos.count(2)}/25 whole photos, "
          f"{crops.count(2)}/25 crops whose face box is 120% of the frame")
    assert photos == [1] * 25  # every face is found in one pass, without the border
    assert crops.count(2) >= 5  # the crops that need the border get it (and are all found)


def test_tight_crop_registered_as_the_reference_still_matches(app, s3_client):
    require_shared_faces()
    url = upload(s3_client, f"{PREFIX}real/tight-reference.jpg", _jpeg(tight_crop(app, REFERENCE, 160, 1.2)))
    same = invoke(app, verify_event(_jpeg(tight_crop(app, SAME_PERSON, 160, 0.9)), url))
    other = invoke(app, verify_event(_jpeg(tight_crop(app, OTHER_PERSON, 160, 0.9)), url))
    assert same.status == 200, same.body
    assert other.status == 401 and other.body["reason"] == "NotMatched"


def test_two_faces_in_the_capture_are_refused(app, reference_url):
    for name in ("couple.jpg", "selfie-many-people.jpg"):
        reply = invoke(app, verify_event(shared_face(name).read_bytes(), reference_url))
        assert reply.status == 422, (name, reply.body)
        assert reply.body["reason"] == "MultipleFaces"
        assert reply.body["image"] == "capture"
        assert reply.body["faces"] >= 2


def test_photo_of_the_owner_held_next_to_an_impostor_is_refused(app, reference_url):
    """The attack DeepFace.verify lets through: it keeps the closest of all face pairs."""
    impostor = cv2.resize(tight_crop(app, OTHER_PERSON, 200, 0.6), (240, 240))
    owner_photo = cv2.resize(tight_crop(app, SAME_PERSON, 200, 0.6), (120, 120))
    frame = np.full((300, 420, 3), 90, np.uint8)
    frame[30:270, 10:250] = impostor
    frame[90:210, 280:400] = owner_photo
    reply = invoke(app, verify_event(_jpeg(frame), reference_url))
    assert reply.status == 422
    assert reply.body["reason"] == "MultipleFaces"


def test_reference_with_several_faces_uses_its_largest(app, s3_client):
    require_shared_faces()
    reference = _bgr(REFERENCE).copy()
    stranger = cv2.resize(tight_crop(app, OTHER_PERSON, 200, 0.6), (90, 90))
    reference[20:110, 20:110] = stranger  # a small second face in a corner
    url = upload(s3_client, f"{PREFIX}real/two-faces-reference.jpg", _jpeg(reference, 95))
    reply = invoke(app, verify_event(shared_face(SAME_PERSON).read_bytes(), url))
    assert reply.status == 200, reply.body


def test_face_too_small_is_422_naming_the_capture(app, reference_url):
    face = tight_crop(app, SAME_PERSON, 200, 0.6)
    small = cv2.resize(face, (60, 60), interpolation=cv2.INTER_AREA)  # face ~36 px < 40
    frame = np.full((240, 320, 3), 120, np.uint8)
    frame[90:150, 130:190] = small
    reply = invoke(app, verify_event(_jpeg(frame, 95), reference_url))
    assert reply.status == 422
    assert reply.body["reason"] == "FaceTooSmall"
    assert reply.body["image"] == "capture"
    assert reply.body["message"].endswith("at least 40 px are needed")


@pytest.mark.parametrize(("orientation", "rotate"), [
    (3, Image.Transpose.ROTATE_180),
    (6, Image.Transpose.ROTATE_90),  # stored rotated 90° counter-clockwise, shown upright
    (8, Image.Transpose.ROTATE_270),
])
def test_phone_photo_with_exif_orientation_is_turned_upright_once(app, reference_url, orientation, rotate):
    upright = Image.open(shared_face(SAME_PERSON)).convert("RGB")
    stored = upright.transpose(rotate)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=92, exif=exif.tobytes())
    reply = invoke(app, verify_event(buffer.getvalue(), reference_url))
    assert reply.status == 200, reply.body
    baseline = invoke(app, verify_event(shared_face(SAME_PERSON).read_bytes(), reference_url))
    assert reply.body["distance"] == pytest.approx(baseline.body["distance"], abs=0.01)


@pytest.mark.parametrize("mode", ["RGBA", "L", "I;16", "P", "WEBP"])
def test_colour_modes_and_formats_of_a_real_photo_still_match(app, reference_url, mode):
    photo = Image.open(shared_face(SAME_PERSON)).convert("RGB")
    if mode == "RGBA":
        image = photo.convert("RGBA")
        image.putalpha(Image.new("L", photo.size, 255))
        data = _png(image)
    elif mode == "L":
        data = _png(photo.convert("L"))
    elif mode == "I;16":
        gray = np.asarray(photo.convert("L"), dtype=np.uint16) * 257  # full 16-bit range
        sixteen_bit = Image.fromarray(gray)
        assert sixteen_bit.mode == "I;16"
        data = _png(sixteen_bit)
    elif mode == "P":
        data = _png(photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=256))
    else:
        buffer = io.BytesIO()
        photo.save(buffer, format="WEBP", quality=90)
        data = buffer.getvalue()
    reply = invoke(app, verify_event(data, reference_url, filename="capture.bin"))
    assert reply.status == 200, (mode, reply.body)


def test_large_photo_is_scaled_down_and_gives_the_same_decision(app, reference_url):
    big = cv2.resize(_bgr(SAME_PERSON), None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
    assert max(big.shape[:2]) > 3000
    reply = invoke(app, verify_event(_jpeg(big, 90), reference_url))
    assert reply.status == 200, reply.body
