"""Everything that turns an outcome into an HTTP response, in one place.

Contract kept from the original Flask service:
  200 {"result": "success", "distance", "threshold"}
  401 {"result": "fail", "reason": "NotMatched", "distance", "threshold"}
  4xx/5xx {"result": "fail", "reason": <stable code>}
Every body also carries ``request_id``; decisions carry ``model`` and ``detector``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import ApiGatewayResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    _extract_multipart_boundary,
    _parse_multipart_body,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from face_verification.errors import (
    InvalidField,
    MalformedRequest,
    MissingField,
    PayloadTooLarge,
    VerificationError,
)
from face_verification.verifier import Decision

# Named explicitly: a child logger takes its name from POWERTOOLS_SERVICE_NAME at import.
logger = Logger(service="verify-face", child=True)

MULTIPART = "multipart/form-data"
VERIFY_PATH = "/verify-face"

# The API Gateway request id of the request being handled; set by the Lambda handler.
# (One Router serves both the REST and the HTTP resolver, so no resolver's context is shared.)
request_id: ContextVar[str] = ContextVar("request_id", default="")


class UnsupportedContentType(VerificationError):
    status = 415
    reason = "UnsupportedContentType"


class RouteNotFound(VerificationError):
    status = 404
    reason = "NotFound"


class UnexpectedError(Exception):
    """Wraps any failure inside the route that is not one of the project's own errors."""


def decision_response(decision: Decision) -> Response:
    body: dict[str, Any] = {
        "result": "success" if decision.matched else "fail",
        # Clamped: float rounding can give -0.0 for identical embeddings.
        "distance": max(0.0, round(decision.distance, 6)),
        "threshold": decision.threshold,
        "model": decision.model,
        "detector": decision.detector,
        "request_id": request_id.get(),
    }
    if not decision.matched:
        body = {"result": "fail", "reason": "NotMatched", **{k: v for k, v in body.items() if k != "result"}}
    return _json(200 if decision.matched else 401, body)


def error_body(error: VerificationError) -> dict[str, Any]:
    return {
        "result": "fail",
        "reason": error.reason,
        "message": error.message,
        **error.fields,
        "request_id": request_id.get(),
    }


def error_response(error: VerificationError) -> Response:
    logger.info("request refused", extra={"reason": error.reason, "status": error.status})
    return _json(error.status, error_body(error))


def internal_error_response() -> Response:
    # The exception goes to the log with its traceback; the caller gets no text from it.
    logger.exception("unexpected error")
    return _json(500, {"result": "fail", "reason": "InternalError", "request_id": request_id.get()})


def envelope_error(event: dict[str, Any], max_body_bytes: int) -> VerificationError | None:
    """Refuse what can be judged before the resolver runs: content type, size, encoding, repeated fields.

    Also rewrites the Content-Type header to lower-case media type and parameter names
    (RFC 9110 makes both case-insensitive; the framework's parser does not).
    """
    if not _is_proxy_event(event):
        return MalformedRequest("the event is not an API Gateway proxy event (REST v1 or HTTP v2)")
    if not _is_verify_request(event):
        return None  # routing (404, CORS preflight) is the resolver's job
    content_type = _normalize_content_type(event)
    if content_type.split(";", 1)[0].strip() != MULTIPART:
        return UnsupportedContentType("the body must be multipart/form-data")
    if "boundary=" not in content_type:
        return MalformedRequest("the multipart/form-data content type has no boundary")
    body = event.get("body") or ""  # a str or None: checked by _is_proxy_event
    if not body:
        return MissingField("the body is empty", field="face_image")
    encoded = bool(event.get("isBase64Encoded"))
    # Base64 inflates by 4/3: judge the size before decoding anything.
    size = len(body) * 3 // 4 if encoded else len(body)
    if size > max_body_bytes:
        return PayloadTooLarge(f"the body is larger than {max_body_bytes} bytes")
    if encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return MalformedRequest("the body is not valid base64")
    else:
        try:
            raw = body.encode("latin-1")  # how the framework reads a body API Gateway left as text
        except UnicodeEncodeError:
            return None  # the resolver refuses it as MalformedRequest
    return _repeated_field(raw, content_type)


def _is_proxy_event(event: Any) -> bool:
    # What API Gateway always sends; direct invokes may send anything.
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        return False
    if not all(isinstance(event.get(key), (dict, type(None))) for key in ("headers", "multiValueHeaders")):
        return False
    if not isinstance(event.get("body"), (str, type(None))):
        return False
    if event.get("version") == "2.0":
        return isinstance(event["requestContext"].get("http"), dict)
    return isinstance(event.get("httpMethod"), str)


def _is_verify_request(event: Mapping[str, Any]) -> bool:
    http = (event.get("requestContext") or {}).get("http") or {}
    method = str(event.get("httpMethod") or http.get("method") or "").upper()
    path = str(event.get("resource") or event.get("rawPath") or event.get("path") or "")
    return method == "POST" and path.rstrip("/").endswith(VERIFY_PATH)


def _normalize_content_type(event: dict[str, Any]) -> str:
    """The request's Content-Type with media type and parameter names lower-cased, written back."""
    value = ""
    for headers_key in ("headers", "multiValueHeaders"):
        headers = event.get(headers_key) or {}
        for name in [name for name in headers if str(name).lower() == "content-type"]:
            found = headers.pop(name)
            value = value or (found[0] if isinstance(found, list) and found else str(found or ""))
    media_type, *params = value.split(";")
    normalized = "; ".join(
        [media_type.strip().lower()]
        + [f"{key.strip().lower()}={val.strip()}" for key, _, val in (p.partition("=") for p in params) if key.strip()]
    )
    if value:
        if event.get("headers") is None:
            event["headers"] = {}
        event["headers"]["content-type"] = normalized
        if isinstance(event.get("multiValueHeaders"), dict):
            event["multiValueHeaders"]["content-type"] = [normalized]
    return normalized


def _repeated_field(raw: bytes, content_type: str) -> VerificationError | None:
    # The framework keeps the first of a repeated form field and silently drops the others:
    # a capture or URL sent twice is ambiguous, so it is refused. The framework's own parser
    # (private, aws-lambda-powertools is pinned) is used so both agree on what a field is.
    boundary = _extract_multipart_boundary(content_type)
    if not boundary:
        return None
    try:
        fields = _parse_multipart_body(raw, boundary)
    except ValueError:
        return None  # e.g. non-UTF-8 text: the resolver refuses it as MalformedRequest
    for name, value in fields.items():
        if isinstance(value, list):
            shown = name[:64]  # the caller's own field name, bounded
            return InvalidField(f"the field {shown!r} is sent more than once", field=shown)
    return None


def proxy_response(error: VerificationError | None, allowed_origin: str) -> dict[str, Any]:
    """An API Gateway proxy response for outcomes decided outside the resolver
    (``None``: an unexpected error, logged with its traceback)."""
    if error is None:
        logger.exception("unexpected error outside the resolver")
        status, body = 500, {"result": "fail", "reason": "InternalError", "request_id": request_id.get()}
    else:
        logger.info("request refused", extra={"reason": error.reason, "status": error.status})
        status, body = error.status, error_body(error)
    headers = {"Content-Type": content_types.APPLICATION_JSON}
    if allowed_origin:
        headers["Access-Control-Allow-Origin"] = allowed_origin
    return {"statusCode": status, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}


def register_error_handlers(resolver: ApiGatewayResolver) -> None:
    @resolver.exception_handler(VerificationError)
    def _known(error: VerificationError) -> Response:
        return error_response(error)

    @resolver.exception_handler(RequestValidationError)
    def _invalid_fields(error: RequestValidationError) -> Response:
        return error_response(_field_error(error.errors()))

    @resolver.exception_handler(RequestUnsupportedContentType)
    def _content_type(_: RequestUnsupportedContentType) -> Response:
        return error_response(UnsupportedContentType("the body must be multipart/form-data"))

    @resolver.exception_handler(ValueError)
    def _unparseable(_: ValueError) -> Response:
        # Route code wraps its own failures in UnexpectedError, so a ValueError that gets
        # here was raised while the framework parsed the body (bad boundary, bad UTF-8).
        return error_response(MalformedRequest("the multipart body could not be parsed"))

    @resolver.exception_handler(NotFoundError)
    def _not_found(_: NotFoundError) -> Response:
        return error_response(RouteNotFound("no such route; use POST /verify-face"))

    @resolver.exception_handler(Exception)
    def _unexpected(_: Exception) -> Response:
        return internal_error_response()


def _field_error(errors: list[dict[str, Any]]) -> VerificationError:
    # Only the field name and error type are used: pydantic's messages quote the input.
    first = errors[0] if errors else {}
    location = first.get("loc") or ()
    field = str(location[-1]) if location and location[0] == "body" and len(location) > 1 else "body"
    if first.get("type") == "missing":
        return MissingField(f"the field {field!r} is required", field=field)
    return InvalidField(f"the field {field!r} has the wrong type or is repeated", field=field)


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)
