"""lambda_handler end to end: real API Gateway events, moto S3 over HTTP, the offline pack.

These run on package-shipped images only, so they pass without ../shared.
"""

from __future__ import annotations

import base64
import logging

import pytest

from events import apigw, samples
from tests.conftest import BUCKET, PREFIX
from tests.integration.conftest import invoke, object_url, upload, verify_event

THRESHOLD = 0.06  # the offline pack's shipped threshold (Dlib, cosine)


def test_match_returns_the_original_success_contract(app, astronaut_url):
    reply = invoke(app, verify_event(samples.match_capture_jpeg(), astronaut_url))
    assert reply.status == 200
    assert set(reply.body) == {"result", "distance", "threshold", "model", "detector", "request_id"}
    assert reply.body["result"] == "success"
    assert 0.0 <= reply.body["distance"] < 0.05
    assert reply.body["threshold"] == THRESHOLD
    assert (reply.body["model"], reply.body["detector"]) == ("Dlib", "dlib")
    assert reply.body["request_id"] == "req-123"
    assert reply.headers["content-type"] == "application/json"


def test_mismatch_is_401_not_matched(app, astronaut_url):
    reply = invoke(app, verify_event(samples.mismatch_capture_jpeg(), astronaut_url))
    assert reply.status == 401
    distance = reply.body.pop("distance")
    assert distance > THRESHOLD + 0.02
    assert reply.body == {
        "result": "fail",
        "reason": "NotMatched",
        "threshold": THRESHOLD,
        "model": "Dlib",
        "detector": "dlib",
        "request_id": "req-123",
    }


def test_same_pair_gives_the_same_distance_every_time(app, astronaut_url):
    distances = {
        invoke(app, verify_event(samples.match_capture_jpeg(), astronaut_url)).body["distance"]
        for _ in range(3)
    }
    assert len(distances) == 1


def test_no_face_in_capture_is_422(app, astronaut_url):
    reply = invoke(app, verify_event(samples.no_face_jpeg(), astronaut_url))
    assert reply.status == 422
    assert reply.body == {
        "result": "fail",
        "reason": "FaceNotDetected",
        "message": "no face was found in the capture",
        "image": "capture",
        "request_id": "req-123",
    }


def test_no_face_in_reference_is_422_naming_the_reference(app, s3_client):
    url = upload(s3_client, f"{PREFIX}cat.jpg", samples.no_face_jpeg())
    reply = invoke(app, verify_event(samples.match_capture_jpeg(), url))
    assert reply.status == 422
    assert reply.body["reason"] == "FaceNotDetected"
    assert reply.body["image"] == "reference"


def test_url_of_another_bucket_is_400_before_any_s3_call(app, monkeypatch):
    def no_s3(*_args, **_kwargs):
        raise AssertionError("S3 was called for a URL outside the bucket")

    monkeypatch.setattr(app.verifier._store, "fetch", no_s3)
    url = "https://not-the-bucket.s3.us-east-1.amazonaws.com/references/astronaut.jpg"
    reply = invoke(app, verify_event(samples.match_capture_jpeg(), url))
    assert reply.status == 400
    assert reply.body == {
        "result": "fail",
        "reason": "InvalidImageURL",
        "message": "face_img_url must point at the registered-faces bucket",
        "request_id": "req-123",
    }


def test_missing_reference_is_404(app):
    reply = invoke(app, verify_event(samples.match_capture_jpeg(), object_url(f"{PREFIX}nobody.jpg")))
    assert reply.status == 404
    assert reply.body == {
        "result": "fail",
        "reason": "ReferenceNotFound",
        "message": "no registered image at face_img_url",
        "request_id": "req-123",
    }


def test_capture_that_does_not_decode_is_400_invalid_image(app, astronaut_url):
    truncated = samples.match_capture_jpeg()[:300]
    reply = invoke(app, verify_event(truncated, astronaut_url))
    assert reply.status == 400
    assert reply.body["reason"] == "InvalidImage"
    assert reply.body["image"] == "capture"


@pytest.mark.parametrize("missing", ["face_image", "face_img_url"])
def test_missing_field_is_400_naming_it(app, astronaut_url, missing):
    fields = {"face_img_url": astronaut_url, "email": "someone@example.com"}
    files = {"face_image": ("capture.jpg", samples.match_capture_jpeg(), "image/jpeg")}
    fields.pop(missing, None)
    files.pop(missing, None)
    body, content_type = apigw.multipart_body(fields, files)
    reply = invoke(app, apigw.rest_api_event(body, content_type, request_id="req-123"))
    assert reply.status == 400
    assert reply.body == {
        "result": "fail",
        "reason": "MissingField",
        "message": f"the field {missing!r} is required",
        "field": missing,
        "request_id": "req-123",
    }


def test_http_api_v2_event_is_served_the_same(app, astronaut_url):
    reply = invoke(app, verify_event(samples.match_capture_jpeg(), astronaut_url, version=2))
    assert reply.status == 200
    assert reply.body["result"] == "success"
    assert reply.body["request_id"] == "req-123"


def test_header_names_in_any_case_and_quoted_boundary(app, astronaut_url):
    body, _ = apigw.multipart_body(
        {"face_img_url": astronaut_url},
        {"face_image": ("capture.jpg", samples.match_capture_jpeg(), "image/jpeg")},
        boundary="quoted-boundary-123",
    )
    event = apigw.rest_api_event(body, 'multipart/form-data; boundary="quoted-boundary-123"')
    event["headers"] = {"CONTENT-TYPE": event["headers"].pop("Content-Type"), **event["headers"]}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    reply = invoke(app, event)
    assert reply.status == 200, reply.body


def test_body_not_base64_encoded_is_accepted(app, astronaut_url):
    body, content_type = apigw.multipart_body(
        {"face_img_url": astronaut_url},
        {"face_image": ("capture.jpg", samples.match_capture_jpeg(), "image/jpeg")},
    )
    event = apigw.rest_api_event(body, content_type)
    # What a REST API without binary media types sends: the raw bytes as a string.
    event["isBase64Encoded"] = False
    event["body"] = body.decode("latin-1")
    reply = invoke(app, event)
    assert reply.status == 200, reply.body


def test_s3_uri_and_path_style_urls_name_the_same_reference(app, astronaut_url):
    for url in (f"s3://{BUCKET}/{PREFIX}astronaut.jpg",
                f"https://s3.us-east-1.amazonaws.com/{BUCKET}/{PREFIX}astronaut.jpg"):
        reply = invoke(app, verify_event(samples.match_capture_jpeg(), url))
        assert reply.status == 200, (url, reply.body)


def test_replaced_reference_is_never_compared_stale(app, s3_client):
    key = f"{PREFIX}replaced.jpg"
    url = upload(s3_client, key, samples.reference_jpeg())
    assert invoke(app, verify_event(samples.match_capture_jpeg(), url)).status == 200
    # Same key, another person: the cached embedding must not be used.
    from events.samples import grace_hopper_image, _jpeg

    upload(s3_client, key, _jpeg(grace_hopper_image(), 95))
    assert invoke(app, verify_event(samples.match_capture_jpeg(), url)).status == 401


def test_unexpected_failure_is_500_with_request_id_and_no_exception_text(app, astronaut_url, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("secret internals /var/task/app.py")

    monkeypatch.setattr(app.verifier, "verify", explode)
    reply = invoke(app, verify_event(samples.match_capture_jpeg(), astronaut_url))
    assert reply.status == 500
    assert reply.body == {"result": "fail", "reason": "InternalError", "request_id": "req-123"}


def test_email_url_and_image_bytes_never_reach_the_logs_even_at_debug(app, astronaut_url, caplog):
    capture = samples.match_capture_jpeg()
    with caplog.at_level(logging.DEBUG):  # every logger, down to DEBUG, as POWERTOOLS_DEBUG would
        invoke(app, verify_event(capture, astronaut_url, email="owner.secret@example.com"))
        invoke(app, verify_event(samples.no_face_jpeg(), astronaut_url, email="owner.secret@example.com"))
    messages = {r.getMessage() for r in caplog.records}
    assert {"decision", "request refused"} <= messages
    # Everything a record carries (message and structured extras) as the log would show it.
    text = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records if r.name != "werkzeug")
    assert "owner.secret@example.com" not in text
    assert "astronaut.jpg" not in text and PREFIX not in text
    assert base64.b64encode(capture[:48]).decode()[:40] not in text
