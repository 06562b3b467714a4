"""The project's own errors. Each carries a stable ``reason`` and the HTTP status it maps to.

Messages are written for the caller and never contain user data (no email, no image
bytes, no object keys): they may be returned in responses and written to logs.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

ImageRole = Literal["capture", "reference"]


class VerificationError(Exception):
    """Base class: an outcome that is reported to the caller as ``{"result": "fail", ...}``."""

    status: ClassVar[int] = 400
    reason: ClassVar[str] = "BadRequest"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        # Extra response fields, e.g. ``image="capture"`` or ``field="face_image"``.
        self.fields = fields


class MalformedRequest(VerificationError):
    status = 400
    reason = "MalformedRequest"


class MissingField(VerificationError):
    status = 400
    reason = "MissingField"


class InvalidField(VerificationError):
    status = 400
    reason = "InvalidField"


class InvalidImage(VerificationError):
    status = 400
    reason = "InvalidImage"


class UnsupportedImageFormat(VerificationError):
    status = 415
    reason = "UnsupportedImageFormat"


class PayloadTooLarge(VerificationError):
    status = 413
    reason = "PayloadTooLarge"


class InvalidImageURL(VerificationError):
    status = 400
    reason = "InvalidImageURL"


class ReferenceNotFound(VerificationError):
    status = 404
    reason = "ReferenceNotFound"


class InvalidReferenceImage(VerificationError):
    """The registered image exists but is not a usable image: our data, not the caller's input."""

    status = 422
    reason = "InvalidReferenceImage"


class ReferenceUnavailable(VerificationError):
    """S3 did not answer in time or refused for a reason that is not the caller's fault."""

    status = 503
    reason = "ReferenceUnavailable"


class FaceNotDetected(VerificationError):
    status = 422
    reason = "FaceNotDetected"


class MultipleFaces(VerificationError):
    status = 422
    reason = "MultipleFaces"


class FaceTooSmall(VerificationError):
    status = 422
    reason = "FaceTooSmall"


class ModelWeightsMissing(RuntimeError):
    """Raised at init, never per request: the image was built without the model weights."""
