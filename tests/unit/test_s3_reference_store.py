"""S3 reads: moto over HTTP for the real protocol, a dead port for timeouts."""

from __future__ import annotations

import socket
import time

import pytest
from botocore.exceptions import ClientError

from face_verification.config import S3Settings
from face_verification.errors import InvalidReferenceImage, ReferenceNotFound, ReferenceUnavailable
from face_verification.reference_url import S3Location
from s3_reference_store import S3ReferenceStore
from tests.conftest import BUCKET

FAST = S3Settings(connect_timeout=0.5, read_timeout=0.5, max_attempts=2)


@pytest.fixture
def store(s3_endpoint: str) -> S3ReferenceStore:
    return S3ReferenceStore(FAST, max_bytes=1000)


def test_fetch_returns_bytes_and_etag_then_not_modified_for_that_etag(store, s3_client):
    s3_client.put_object(Bucket=BUCKET, Key="unit/a.jpg", Body=b"jpeg-bytes")
    first = store.fetch(S3Location(BUCKET, "unit/a.jpg"))
    assert first is not None
    assert first.data == b"jpeg-bytes"
    assert first.etag.strip('"')
    assert store.fetch(S3Location(BUCKET, "unit/a.jpg"), if_none_match=first.etag) is None


def test_replaced_object_is_fetched_again_despite_the_old_etag(store, s3_client):
    s3_client.put_object(Bucket=BUCKET, Key="unit/b.jpg", Body=b"old")
    old = store.fetch(S3Location(BUCKET, "unit/b.jpg"))
    s3_client.put_object(Bucket=BUCKET, Key="unit/b.jpg", Body=b"new")
    new = store.fetch(S3Location(BUCKET, "unit/b.jpg"), if_none_match=old.etag)
    assert new is not None and new.data == b"new" and new.etag != old.etag


def test_missing_key_is_reference_not_found(store):
    with pytest.raises(ReferenceNotFound):
        store.fetch(S3Location(BUCKET, "unit/nobody.jpg"))


def test_object_over_the_size_cap_is_refused_without_reading_it(store, s3_client):
    s3_client.put_object(Bucket=BUCKET, Key="unit/big.jpg", Body=b"x" * 1001)
    with pytest.raises(InvalidReferenceImage) as caught:
        store.fetch(S3Location(BUCKET, "unit/big.jpg"))
    assert caught.value.fields == {"image": "reference"}


class _DeniedClient:
    def get_object(self, **_request):
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
             "ResponseMetadata": {"HTTPStatusCode": 403}},
            "GetObject",
        )


def test_access_denied_reads_as_not_found_because_the_role_has_no_list_bucket():
    store = S3ReferenceStore(FAST, max_bytes=1000, client=_DeniedClient())
    with pytest.raises(ReferenceNotFound):
        store.fetch(S3Location(BUCKET, "unit/a.jpg"))


def test_unreachable_s3_is_503_reference_unavailable_within_the_timeouts(monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
    store = S3ReferenceStore(FAST, max_bytes=1000)  # its own client: our timeouts and retries
    started = time.perf_counter()
    with pytest.raises(ReferenceUnavailable) as caught:
        store.fetch(S3Location(BUCKET, "unit/a.jpg"))
    assert caught.value.status == 503
    # Two attempts with short timeouts, not botocore's default of five.
    assert time.perf_counter() - started < 6
