"""The committed `sam local invoke` events: valid REST API events with the right form data."""

from __future__ import annotations

import base64
import email.message
import email.parser
import email.policy
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from events import apigw, samples

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
MAKE_EVENTS = EVENTS / "make_events.py"

GOOD_URL = "https://finday-faces-demo.s3.us-east-1.amazonaws.com/references/astronaut.jpg"
BAD_URL = "https://not-the-bucket.s3.us-east-1.amazonaws.com/references/astronaut.jpg"
EMAIL = "demo.user@example.com"

# event name -> (face_img_url, expected capture bytes, expected image size)
EXPECTED = {
    "match": (GOOD_URL, samples.match_capture_jpeg, (160, 160)),
    "mismatch": (GOOD_URL, samples.mismatch_capture_jpeg, (160, 160)),
    "no_face": (GOOD_URL, samples.no_face_jpeg, (451, 300)),
    "bad_url": (BAD_URL, samples.match_capture_jpeg, (160, 160)),
}
GENERATED = [f"{name}.json" for name in EXPECTED] + ["env.json", "reference/astronaut.jpg"]


def load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def parse_form(body: bytes, content_type: str) -> dict[str, email.message.EmailMessage]:
    """Parse multipart/form-data with the stdlib MIME parser (independent of apigw.py)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("ascii") + b"\r\n\r\n" + body
    )
    assert message.is_multipart()
    assert not message.defects, message.defects
    parts: dict[str, email.message.EmailMessage] = {}
    for part in message.iter_parts():
        assert part.get_content_disposition() == "form-data"
        name = part.get_param("name", header="content-disposition")
        assert name not in parts, f"duplicate field {name}"
        parts[name] = part
    return parts


def text(part: email.message.EmailMessage) -> str:
    # Exact bytes of the field (no charset on browser text parts: UTF-8).
    return part.get_payload(decode=True).decode("utf-8")


@pytest.mark.parametrize("name", EXPECTED)
def test_event_is_a_rest_api_proxy_event(name: str) -> None:
    event = load_event(name)
    assert event["httpMethod"] == "POST"
    assert event["resource"] == event["path"] == "/verify-face"
    assert event["isBase64Encoded"] is True
    assert "version" not in event  # payload 1.0 has none; 2.0 has "2.0"
    context = event["requestContext"]
    assert context["httpMethod"] == "POST"
    assert context["resourcePath"] == "/verify-face"
    assert context["path"] == f"/{context['stage']}/verify-face"
    assert context["requestId"]
    assert context["identity"]["sourceIp"]
    assert event["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert event["multiValueHeaders"] == {k: [v] for k, v in event["headers"].items()}


@pytest.mark.parametrize("name", EXPECTED)
def test_event_body_holds_exactly_the_form_fields(name: str) -> None:
    event = load_event(name)
    url, capture, size = EXPECTED[name]
    body = base64.b64decode(event["body"], validate=True)
    assert int(event["headers"]["Content-Length"]) == len(body)

    fields = parse_form(body, event["headers"]["Content-Type"])
    assert set(fields) == {"face_image", "face_img_url", "email"}
    assert text(fields["face_img_url"]) == url
    assert text(fields["email"]) == EMAIL
    assert fields["face_img_url"].get_filename() is None

    image_part = fields["face_image"]
    assert image_part.get_filename() == "capture.jpg"
    assert image_part.get_content_type() == "image/jpeg"
    data = image_part.get_payload(decode=True)
    assert data == capture()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == size


@pytest.mark.parametrize("name", EXPECTED)
def test_event_size_is_small(name: str) -> None:
    assert (EVENTS / f"{name}.json").stat().st_size < 200_000


def test_reference_image_is_the_astronaut() -> None:
    data = (EVENTS / "reference" / "astronaut.jpg").read_bytes()
    assert data == samples.reference_jpeg()
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("JPEG", (512, 512))


def test_env_file_matches_the_event_urls() -> None:
    env = json.loads((EVENTS / "env.json").read_text())["VerifyFaceFunction"]
    assert env["REFERENCE_BUCKET"] == "finday-faces-demo"
    assert env["REFERENCE_PREFIX"] == "references/"
    assert GOOD_URL.endswith(f"/{env['REFERENCE_PREFIX']}astronaut.jpg")


def test_make_events_is_deterministic(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(MAKE_EVENTS), "--out-dir", str(tmp_path)], check=True, capture_output=True
    )
    for rel in GENERATED:
        assert (tmp_path / rel).read_bytes() == (EVENTS / rel).read_bytes(), f"{rel} differs"


def test_make_events_options_change_the_url(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(MAKE_EVENTS),
            "--out-dir",
            str(tmp_path),
            "--bucket",
            "other-bucket",
            "--region",
            "eu-west-1",
            "--prefix",
            "faces/",
        ],
        check=True,
        capture_output=True,
    )
    event = json.loads((tmp_path / "match.json").read_text())
    fields = parse_form(base64.b64decode(event["body"]), event["headers"]["Content-Type"])
    assert text(fields["face_img_url"]) == (
        "https://other-bucket.s3.eu-west-1.amazonaws.com/faces/astronaut.jpg"
    )
    env = json.loads((tmp_path / "env.json").read_text())["VerifyFaceFunction"]
    assert (env["REFERENCE_BUCKET"], env["REFERENCE_PREFIX"]) == ("other-bucket", "faces/")


def test_http_api_event_shape() -> None:
    body, content_type = apigw.multipart_body({"email": EMAIL}, {})
    event = apigw.http_api_event(body, content_type, headers={"X-Custom": "1"})
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /verify-face"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/verify-face"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["requestId"]
    assert all(key == key.lower() for key in event["headers"])
    assert event["headers"]["x-custom"] == "1"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_unencoded_body_is_passed_as_text() -> None:
    body, content_type = apigw.multipart_body({"email": EMAIL}, {})
    event = apigw.rest_api_event(body, content_type, base64_encoded=False)
    assert event["isBase64Encoded"] is False
    assert event["body"] == body.decode()


def test_multipart_body_rejects_a_boundary_found_in_the_data() -> None:
    with pytest.raises(ValueError):
        apigw.multipart_body({"note": "--xyz"}, {}, boundary="xyz")
