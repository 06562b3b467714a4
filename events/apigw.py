"""Build API Gateway proxy events carrying a multipart/form-data body.

Stdlib only. The shapes follow ``sam local generate-event apigateway
aws-proxy`` (REST API, payload 1.0) and ``... http-api-proxy`` (HTTP API,
payload 2.0). Defaults are fixed values so generated events are reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from datetime import datetime, timezone

API_ID = "a1b2c3d4e5"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
SOURCE_IP = "203.0.113.10"  # TEST-NET-3, never a real client
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
ORIGIN = "https://app.finday.example"
# 2024-06-01T12:00:00Z: a fixed request time keeps the events deterministic.
DEFAULT_EPOCH_MS = 1_717_243_200_000

_BOUNDARY_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _quote(value: str) -> str:
    # Browsers (WHATWG HTML "multipart/form-data encoding") percent-encode
    # these in name/filename instead of backslash-escaping them.
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def multipart_body(
    fields: dict[str, str],
    files: dict[str, tuple[str, bytes, str]],
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """Encode a form the way a browser's FormData does.

    ``files`` maps field name to ``(filename, content, content_type)``.
    Text fields come first, then files, each in dict order. Returns the body
    and the matching ``Content-Type`` header value.
    """
    if boundary is None:
        # Same shape as Chrome's boundary, random so it can't occur in data.
        boundary = "----WebKitFormBoundary" + "".join(
            secrets.choice(_BOUNDARY_CHARS) for _ in range(16)
        )
    if not 1 <= len(boundary) <= 70:
        raise ValueError("a multipart boundary is 1 to 70 characters (RFC 2046)")

    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
            + value.encode("utf-8")
        )
    for name, (filename, content, content_type) in files.items():
        parts.append(
            (
                f'Content-Disposition: form-data; name="{_quote(name)}"; '
                f'filename="{_quote(filename)}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            + content
        )

    delimiter = b"--" + boundary.encode("ascii")
    if any(delimiter in part for part in parts):
        raise ValueError("boundary occurs inside the form data; pick another")
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts)
    body += delimiter + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


def _encode_body(body: bytes | str, base64_encoded: bool) -> str:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if base64_encoded:
        return base64.b64encode(raw).decode("ascii")
    # Without a matching BinaryMediaTypes entry API Gateway passes the body
    # as text and mangles non-UTF-8 bytes; "replace" mimics that loss.
    return raw.decode("utf-8", errors="replace")


def _content_length(body: bytes | str) -> str:
    return str(len(body.encode("utf-8") if isinstance(body, str) else body))


def _request_id(body: bytes | str) -> str:
    # Stable per body, like a real id is unique per request.
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return str(uuid.uuid5(uuid.NAMESPACE_URL, hashlib.sha256(raw).hexdigest()))


def _clf_time(epoch_ms: int) -> str:
    # API Gateway's requestTime is in Common Log Format.
    when = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return when.strftime("%d/%b/%Y:%H:%M:%S +0000")


def rest_api_event(
    body: bytes | str,
    content_type: str,
    *,
    base64_encoded: bool = True,
    path: str = "/verify-face",
    headers: dict[str, str] | None = None,
    stage: str = "prod",
    request_id: str | None = None,
    epoch_ms: int = DEFAULT_EPOCH_MS,
) -> dict:
    """A REST API (v1, payload format 1.0) Lambda proxy event for POST ``path``.

    ``headers`` are added to (and override) the browser-like defaults.
    """
    host = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    all_headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate, br",
        "Accept-Language": "en-US,en;q=0.9",
        "Content-Length": _content_length(body),
        "Content-Type": content_type,
        "Host": host,
        "Origin": ORIGIN,
        "Referer": f"{ORIGIN}/",
        "User-Agent": USER_AGENT,
        "X-Amzn-Trace-Id": "Root=1-665b0d40-0123456789abcdef01234567",
        "X-Forwarded-For": SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    all_headers.update(headers or {})
    request_id = request_id or _request_id(body)
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": API_ID,
            "extendedRequestId": request_id[:8] + "=",
            "httpMethod": "POST",
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": SOURCE_IP,
                "user": None,
                "userAgent": USER_AGENT,
                "userArn": None,
            },
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": _clf_time(epoch_ms),
            "requestTimeEpoch": epoch_ms,
            "resourceId": "abc123",
            "resourcePath": path,
            "stage": stage,
        },
        "body": _encode_body(body, base64_encoded),
        "isBase64Encoded": base64_encoded,
    }


def http_api_event(
    body: bytes | str,
    content_type: str,
    *,
    base64_encoded: bool = True,
    path: str = "/verify-face",
    headers: dict[str, str] | None = None,
    stage: str = "$default",
    request_id: str | None = None,
    epoch_ms: int = DEFAULT_EPOCH_MS,
) -> dict:
    """An HTTP API (v2, payload format 2.0) Lambda proxy event for POST ``path``.

    HTTP APIs lowercase header names, so ``headers`` keys are lowercased too.
    """
    host = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    all_headers = {
        "accept": "application/json",
        "accept-encoding": "gzip, deflate, br",
        "accept-language": "en-US,en;q=0.9",
        "content-length": _content_length(body),
        "content-type": content_type,
        "host": host,
        "origin": ORIGIN,
        "referer": f"{ORIGIN}/",
        "user-agent": USER_AGENT,
        "x-amzn-trace-id": "Root=1-665b0d40-0123456789abcdef01234567",
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    request_id = request_id or _request_id(body)
    # Named stages appear in the raw path; "$default" does not.
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": API_ID,
            "http": {
                "method": "POST",
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": USER_AGENT,
            },
            "requestId": request_id,
            "routeKey": f"POST {path}",
            "stage": stage,
            "time": _clf_time(epoch_ms),
            "timeEpoch": epoch_ms,
        },
        "body": _encode_body(body, base64_encoded),
        "isBase64Encoded": base64_encoded,
    }
