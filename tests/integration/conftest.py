"""The handler, loaded once with the offline pack against a moto S3 server."""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from events import apigw, samples
from tests.conftest import BUCKET, OFFLINE_ENV, PREFIX


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class LambdaContext:
    function_name = "VerifyFaceFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:VerifyFaceFunction"
    memory_limit_in_mb = 3008
    aws_request_id = "lambda-request-id"
    log_group_name = "/aws/lambda/VerifyFaceFunction"
    log_stream_name = "stream"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


@pytest.fixture(scope="session")
def app(offline_home: Path, s3_endpoint: str) -> ModuleType:
    os.environ.update(OFFLINE_ENV)
    os.environ.update(
        {
            "DEEPFACE_HOME": str(offline_home),
            "REFERENCE_BUCKET": BUCKET,
            "REFERENCE_PREFIX": PREFIX,
            "ALLOWED_ORIGIN": "https://app.finday.example",
            "POWERTOOLS_METRICS_NAMESPACE": "Finday",
            "POWERTOOLS_SERVICE_NAME": "verify-face",
        }
    )
    os.environ.pop("VERIFY_THRESHOLD", None)
    sys.modules.pop("app", None)
    return importlib.import_module("app")


def object_url(key: str) -> str:
    return f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{key}"


def upload(s3_client, key: str, data: bytes) -> str:
    s3_client.put_object(Bucket=BUCKET, Key=key, Body=data)
    return object_url(key)


def invoke(app: ModuleType, event: dict[str, Any]) -> Reply:
    response = app.lambda_handler(event, LambdaContext())
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    # REST API responses may carry headers in multiValueHeaders only.
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), ",".join(values))
    return Reply(status=response["statusCode"], body=json.loads(body), headers=headers)


def verify_event(
    capture: bytes,
    url: str,
    *,
    version: int = 1,
    email: str = "someone@example.com",
    filename: str = "capture.jpg",
    request_id: str = "req-123",
) -> dict[str, Any]:
    body, content_type = apigw.multipart_body(
        {"face_img_url": url, "email": email},
        {"face_image": (filename, capture, "image/jpeg")},
    )
    build = apigw.rest_api_event if version == 1 else apigw.http_api_event
    return build(body, content_type, request_id=request_id)


@pytest.fixture(scope="session")
def astronaut_url(s3_client) -> str:
    return upload(s3_client, f"{PREFIX}astronaut.jpg", samples.reference_jpeg())
