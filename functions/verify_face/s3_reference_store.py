"""Reads registered face images from S3 with the function's IAM role.

The only module that imports boto3. The endpoint comes from boto3's own
``AWS_ENDPOINT_URL_S3`` support, so tests and the local demo point it at a moto server.
"""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from face_verification.config import S3Settings
from face_verification.errors import InvalidReferenceImage, ReferenceNotFound, ReferenceUnavailable
from face_verification.reference_url import S3Location
from face_verification.verifier import ReferenceObject

_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchBucket"}
_NOT_MODIFIED = {"304", "NotModified"}


class S3ReferenceStore:
    def __init__(self, settings: S3Settings, max_bytes: int, client: object | None = None) -> None:
        self._max_bytes = max_bytes
        self._client = client or boto3.client(
            "s3",
            config=Config(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                retries={"max_attempts": settings.max_attempts, "mode": "standard"},
            ),
        )

    def fetch(self, location: S3Location, if_none_match: str | None = None) -> ReferenceObject | None:
        """The object's bytes and ETag, or None when its ETag still equals ``if_none_match``."""
        request = {"Bucket": location.bucket, "Key": location.key}
        if if_none_match:
            request["IfNoneMatch"] = if_none_match
        try:
            response = self._client.get_object(**request)
            size = int(response.get("ContentLength") or 0)
            if size > self._max_bytes:
                response["Body"].close()
                raise InvalidReferenceImage(
                    f"the registered image is larger than {self._max_bytes} bytes", image="reference"
                )
            data = response["Body"].read(self._max_bytes + 1)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code in _NOT_MODIFIED or status == "304":
                return None
            if code in _NOT_FOUND or status == "404":
                raise ReferenceNotFound("no registered image at face_img_url") from exc
            if code == "AccessDenied" or status == "403":
                # The role has s3:GetObject only (no ListBucket), so S3 answers 403 for a
                # key that does not exist; the caller sees the same as a missing object.
                raise ReferenceNotFound("no registered image at face_img_url") from exc
            raise ReferenceUnavailable("the registered image could not be read") from exc
        except BotoCoreError as exc:  # timeouts, connection errors, retries exhausted
            raise ReferenceUnavailable("the registered image could not be read") from exc
        if len(data) > self._max_bytes:
            raise InvalidReferenceImage(
                f"the registered image is larger than {self._max_bytes} bytes", image="reference"
            )
        return ReferenceObject(data=data, etag=str(response.get("ETag") or ""))
