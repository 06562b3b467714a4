"""Parse the registered image's URL into an S3 bucket and key, and refuse anything else.

The URL comes from the client, so it is treated as hostile: only the configured bucket
(and prefix) may be named, and nothing here ever opens a connection. Anything that is
not an S3 object URL of that bucket is ``InvalidImageURL`` before any network call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

from face_verification.errors import InvalidImageURL

MAX_URL_LENGTH = 2048
MAX_KEY_BYTES = 1024  # S3's own limit

# Region-ish label: us-east-1, eu-central-2, us-gov-west-1, ...
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"
# Virtual-hosted style: BUCKET.s3.REGION.amazonaws.com, BUCKET.s3-REGION.amazonaws.com,
# BUCKET.s3.dualstack.REGION.amazonaws.com and the legacy global BUCKET.s3.amazonaws.com.
# The bucket part may contain dots (the lazy match stops at the last ".s3" label).
_VIRTUAL_HOSTED = re.compile(
    rf"^(?P<bucket>[a-z0-9][a-z0-9.\-]*?)\.s3(?:[.-](?:dualstack\.)?(?P<region>{_REGION}))?"
    r"\.amazonaws\.com(?:\.cn)?$"
)
# Path style: s3.REGION.amazonaws.com/BUCKET/KEY, s3-REGION..., s3.amazonaws.com/...
_PATH_STYLE = re.compile(
    rf"^s3(?:[.-](?:dualstack\.)?(?P<region>{_REGION}))?\.amazonaws\.com(?:\.cn)?$"
)
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# C0, DEL and C1 (U+0080..U+009F, e.g. NEL): no registered key holds one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str


def parse_reference_url(url: object, allowed_bucket: str, allowed_prefix: str = "") -> S3Location:
    """Return the S3 location ``url`` names, if it is an object of ``allowed_bucket``/``allowed_prefix``."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidImageURL("face_img_url must be an S3 object URL")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidImageURL(f"face_img_url is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(url):
        raise InvalidImageURL("face_img_url contains control characters")
    if not _is_utf8(url):
        # A lone surrogate: no S3 key can hold it, and encoding it later would raise.
        raise InvalidImageURL("face_img_url is not valid Unicode text")

    location = _split(url)
    _check_key(location.key)
    if location.bucket != allowed_bucket:
        raise InvalidImageURL("face_img_url must point at the registered-faces bucket")
    if not location.key.startswith(allowed_prefix):
        raise InvalidImageURL("face_img_url must point under the registered-faces prefix")
    return location


def _split(url: str) -> S3Location:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a non-numeric port
    except ValueError:
        raise InvalidImageURL("face_img_url is not a valid URL") from None
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise InvalidImageURL("face_img_url must not have a query string or fragment")
    if parts.username is not None or parts.password is not None or port is not None:
        raise InvalidImageURL("face_img_url must not carry credentials or a port")

    if scheme == "s3":
        # s3://BUCKET/KEY as the AWS CLI writes it: the key is taken literally.
        bucket, key = parts.netloc, parts.path[1:]
        return S3Location(bucket=_checked_bucket(bucket), key=key)
    if scheme != "https":
        raise InvalidImageURL("face_img_url must be an https:// or s3:// URL")

    if not parts.netloc.isascii():
        # str.lower() maps some non-ASCII letters to ASCII (KELVIN SIGN -> "k"): S3 hosts are ASCII.
        raise InvalidImageURL("face_img_url must be an Amazon S3 URL")
    host = (parts.hostname or "").lower()
    match = _VIRTUAL_HOSTED.match(host)
    if match:
        return S3Location(bucket=_checked_bucket(match["bucket"]), key=_decode_key(parts.path[1:]))
    if _PATH_STYLE.match(host):
        bucket, _, raw_key = parts.path[1:].partition("/")
        return S3Location(bucket=_checked_bucket(bucket), key=_decode_key(raw_key))
    raise InvalidImageURL("face_img_url must be an Amazon S3 URL")


def _decode_key(raw_key: str) -> str:
    # S3 object URLs are percent-encoded, and S3 reads "+" in the path as a space
    # (the console's "Object URL" writes spaces that way); a literal "+" arrives as %2B.
    try:
        return unquote_plus(raw_key, errors="strict")
    except UnicodeDecodeError:
        raise InvalidImageURL("face_img_url has an invalid percent-encoding") from None


def _checked_bucket(bucket: str) -> str:
    if not _BUCKET_NAME.match(bucket) or ".." in bucket:
        raise InvalidImageURL("face_img_url does not name a valid S3 bucket")
    return bucket


def _check_key(key: str) -> None:
    if not key or key.endswith("/"):
        raise InvalidImageURL("face_img_url must name an object, not a bucket or folder")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidImageURL("face_img_url names a key longer than S3 allows")
    if _CONTROL.search(key):
        raise InvalidImageURL("face_img_url names a key with control characters")
    # A "." or ".." segment means nothing to S3 but can escape the prefix check
    # wherever the key is later joined as a path; no registered face needs one.
    if any(segment in (".", "..") for segment in key.split("/")):
        raise InvalidImageURL("face_img_url must not contain '.' or '..' segments")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
