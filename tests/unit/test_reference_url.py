"""parse_reference_url: the client's face_img_url names an object of our bucket and prefix, or is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from face_verification.errors import InvalidImageURL
from face_verification.reference_url import MAX_URL_LENGTH, S3Location, parse_reference_url

BUCKET = "finday-faces-test"
DOTTED = "faces.finday.prod"
PREFIX = "references/"
KEY = "references/user-42/face.jpg"
OTHER_BUCKET = "face_img_url must point at the registered-faces bucket"
OUTSIDE_PREFIX = "face_img_url must point under the registered-faces prefix"


def parse(url: object, bucket: str = BUCKET, prefix: str = PREFIX) -> S3Location:
    return parse_reference_url(url, bucket, prefix)


def refused(url: object, bucket: str = BUCKET, prefix: str = PREFIX) -> str:
    with pytest.raises(InvalidImageURL) as caught:
        parse_reference_url(url, bucket, prefix)
    error = caught.value
    assert (error.status, error.reason) == (400, "InvalidImageURL")
    assert error.fields == {}
    return error.message


# -- accepted forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.eu-central-1.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.us-gov-west-1.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3-us-west-2.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.dualstack.eu-west-1.amazonaws.com/{KEY}",
        f"https://s3.us-east-1.amazonaws.com/{BUCKET}/{KEY}",
        f"https://s3-us-east-1.amazonaws.com/{BUCKET}/{KEY}",
        f"https://s3.amazonaws.com/{BUCKET}/{KEY}",
        f"https://s3.dualstack.ap-southeast-2.amazonaws.com/{BUCKET}/{KEY}",
        f"s3://{BUCKET}/{KEY}",
        f"HTTPS://{BUCKET.upper()}.S3.US-EAST-1.AMAZONAWS.COM/{KEY}",  # scheme and host are case-insensitive
        f"  https://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}\n",  # a form field's stray whitespace
    ],
)
def test_accepted_forms_name_the_bucket_and_key(url):
    assert parse(url) == S3Location(bucket=BUCKET, key=KEY)


@pytest.mark.parametrize(
    "url",
    [
        f"https://{DOTTED}.s3.us-east-1.amazonaws.com/{KEY}",
        f"https://{DOTTED}.s3.amazonaws.com/{KEY}",
        f"https://{DOTTED}.s3-eu-west-1.amazonaws.com/{KEY}",
        f"https://s3.us-east-1.amazonaws.com/{DOTTED}/{KEY}",
        f"s3://{DOTTED}/{KEY}",
    ],
)
def test_dotted_bucket_names_are_split_at_the_s3_label(url):
    assert parse(url, bucket=DOTTED) == S3Location(bucket=DOTTED, key=KEY)


def test_bucket_whose_name_contains_s3_labels_is_split_correctly():
    bucket = "my.s3.photos"
    assert parse(f"https://{bucket}.s3.us-east-1.amazonaws.com/{KEY}", bucket=bucket).bucket == bucket


def test_empty_prefix_allows_any_key_of_the_bucket():
    assert parse(f"s3://{BUCKET}/anywhere/face.jpg", prefix="").key == "anywhere/face.jpg"


# -- key decoding, as S3 reads an object URL -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("references/a%20b.jpg", "references/a b.jpg"),
        ("references/a+b.jpg", "references/a b.jpg"),
        ("references/a%2Bb.jpg", "references/a+b.jpg"),
        ("references/caf%C3%A9/%E9%A1%94.jpg", "references/café/顔.jpg"),
        ("references%2Fuser%2Fface.jpg", "references/user/face.jpg"),
        ("references/100%25.jpg", "references/100%.jpg"),
        ("references/a.jpg%3F", "references/a.jpg?"),  # an encoded "?" is part of the key
    ],
)
@pytest.mark.parametrize("style", ["virtual", "path"])
def test_https_keys_are_percent_decoded_like_s3_object_urls(raw, key, style):
    url = (
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{raw}"
        if style == "virtual"
        else f"https://s3.us-east-1.amazonaws.com/{BUCKET}/{raw}"
    )
    assert parse(url) == S3Location(bucket=BUCKET, key=key)


def test_s3_uri_key_is_taken_literally():
    # The AWS CLI writes s3:// URIs unencoded: "+" and "%20" are the key's own characters.
    assert parse(f"s3://{BUCKET}/references/a+b%20c.jpg").key == "references/a+b%20c.jpg"


# -- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"https://other-bucket.s3.us-east-1.amazonaws.com/{KEY}", OTHER_BUCKET),
        (f"https://s3.us-east-1.amazonaws.com/other-bucket/{KEY}", OTHER_BUCKET),
        (f"s3://other-bucket/{KEY}", OTHER_BUCKET),
        (f"https://{BUCKET}-evil.s3.amazonaws.com/{KEY}", OTHER_BUCKET),
        (f"https://{BUCKET}.s3.us-east-1.amazonaws.com/users/face.jpg", OUTSIDE_PREFIX),
        (f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references-evil/x.jpg", OUTSIDE_PREFIX),
        (f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references", OUTSIDE_PREFIX),
        (f"https://{BUCKET}.s3.us-east-1.amazonaws.com//{KEY}", OUTSIDE_PREFIX),
    ],
)
def test_other_bucket_or_key_outside_the_prefix_is_refused(url, message):
    assert refused(url) == message


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/latest/meta-data/",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://localhost/references/x.jpg",
        "https://127.0.0.1/references/x.jpg",
        "file:///etc/passwd",
        f"http://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}",
        f"ftp://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}",
        f"//{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}",
        f"{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}",
        f"https:{BUCKET}.s3.amazonaws.com/{KEY}",
        f"https:/{BUCKET}.s3.amazonaws.com/{KEY}",
        "not a url",
        "references/user-42/face.jpg",
        "javascript:alert(1)",
        f"data:image/jpeg;base64,{'A' * 40}",
    ],
)
def test_non_s3_urls_are_refused(url):
    refused(url)


@pytest.mark.parametrize(
    "url",
    [
        f"https://{BUCKET}.s3.amazonaws.com.evil.com/{KEY}",
        f"https://evil.com/{BUCKET}.s3.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com@evil.com/{KEY}",
        f"https://evil.com\\@{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com\\@evil.com/{KEY}",
        f"https://evil.com\\.{BUCKET}.s3.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com./{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.co/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com.evil.com/{KEY}",
        f"https://{BUCKET}.s3-website-us-east-1.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com%2Eevil.com/{KEY}",
        f"https://{BUCKET}s3.amazonaws.com/{KEY}",
        f"https://s3.amazonaws.com.evil.com/{BUCKET}/{KEY}",
        # KELVIN SIGN lowercases to "k": the host must not be a Unicode look-alike.
        f"https://faces.finday.\u212ayc.s3.us-east-1.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com\uff0f{KEY}",  # FULLWIDTH SOLIDUS
        f"https://[{BUCKET}.s3.us-east-1.amazonaws.com]/{KEY}",
    ],
)
def test_look_alike_hosts_are_refused(url):
    refused(url, bucket="faces.finday.kyc" if "\u212a" in url else BUCKET)


def test_kelvin_sign_check_is_not_vacuous():
    url = f"https://faces.finday.kyc.s3.us-east-1.amazonaws.com/{KEY}"
    assert parse(url, bucket="faces.finday.kyc").key == KEY


@pytest.mark.parametrize(
    "url",
    [
        f"https://user:pw@{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}",
        f"https://user@{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}",
        f"https://:@{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com:443/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com:8443/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com:99999/{KEY}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com:http/{KEY}",
        f"s3://user@{BUCKET}/{KEY}",
        f"s3://{BUCKET}:443/{KEY}",
    ],
)
def test_userinfo_and_ports_are_refused(url):
    refused(url)


@pytest.mark.parametrize(
    "url",
    [
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}?versionId=1",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}?",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}#frag",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}#",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}?X-Amz-Signature=abc&X-Amz-Credential=x",
        f"s3://{BUCKET}/{KEY}?versionId=1",
    ],
)
def test_query_string_and_fragment_are_refused(url):
    assert "query string or fragment" in refused(url)


@pytest.mark.parametrize(
    "key",
    [
        "references/../secrets/x.jpg",
        "references/./x.jpg",
        "references/..",
        "references/x/../../y.jpg",
        "references/%2E%2E/x.jpg",
        "references/%2e%2e/x.jpg",
        "references/.%2E/x.jpg",
        "references/%2E/x.jpg",
        "references/..%2Fx.jpg",
        "references%2F..%2F..%2Fx.jpg",
    ],
)
def test_dot_segments_are_refused_even_percent_encoded(key):
    assert "'.' or '..' segments" in refused(f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{key}")


@pytest.mark.parametrize("key", ["references/../x.jpg", "references/./x.jpg"])
def test_dot_segments_are_refused_in_s3_uris(key):
    assert "'.' or '..' segments" in refused(f"s3://{BUCKET}/{key}")


def test_dots_inside_a_segment_are_fine():
    assert parse(f"s3://{BUCKET}/references/a..b/.hidden.jpg").key == "references/a..b/.hidden.jpg"


@pytest.mark.parametrize(
    "url",
    [
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/",
        f"https://s3.us-east-1.amazonaws.com/{BUCKET}",
        f"https://s3.us-east-1.amazonaws.com/{BUCKET}/",
        f"s3://{BUCKET}",
        f"s3://{BUCKET}/",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/user-42/",
        f"s3://{BUCKET}/references/user-42/",
    ],
)
def test_bucket_or_folder_without_an_object_key_is_refused(url):
    assert "must name an object" in refused(url)


@pytest.mark.parametrize(
    "url",
    [
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/a\x00.jpg",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/a\r\nX-Injected: 1.jpg",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/a\x7f.jpg",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/a\x9b.jpg",  # C1 CSI
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/a\tb.jpg",
        f"s3://{BUCKET}/references/a\x1b[31m.jpg",
    ],
)
def test_control_characters_are_refused(url):
    assert "control characters" in refused(url)


@pytest.mark.parametrize("encoded", ["%00", "%0A", "%0D%0A", "%1B", "%7F", "%C2%85", "%C2%9B"])
def test_percent_encoded_control_characters_are_refused(encoded):
    url = f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/a{encoded}.jpg"
    assert refused(url) == "face_img_url names a key with control characters"


@pytest.mark.parametrize("encoded", ["%ff", "%FF", "%C3", "%C3%28", "%E9%A1", "%ED%A0%80"])
def test_invalid_utf8_percent_encoding_is_refused(encoded):
    assert "invalid percent-encoding" in refused(
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/a{encoded}.jpg"
    )


@pytest.mark.parametrize("url", [f"s3://{BUCKET}/references/\ud800.jpg",
                                 f"https://{BUCKET}.s3.us-east-1.amazonaws.com/references/\udcff.jpg"])
def test_lone_surrogate_is_refused(url):
    refused(url)


def test_url_longer_than_the_limit_is_refused():
    head = f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{PREFIX}"
    at_limit = head + "a" * (MAX_URL_LENGTH - len(head) - 4) + ".jpg"
    assert len(at_limit) == MAX_URL_LENGTH
    # At the limit the URL length is fine; its key is then past S3's own 1024-byte cap.
    assert refused(at_limit) == "face_img_url names a key longer than S3 allows"
    over = head + "a" * (MAX_URL_LENGTH - len(head)) + ".jpg"
    assert "longer than 2048" in refused(over)


def test_key_longer_than_s3_allows_is_refused():
    key = PREFIX + "é" * 510 + ".jpg"  # 1035 UTF-8 bytes, 525 characters
    assert "longer than S3 allows" in refused(f"s3://{BUCKET}/{key}")
    assert parse(f"s3://{BUCKET}/{PREFIX}{'é' * 500}.jpg").bucket == BUCKET


@pytest.mark.parametrize("url", ["", "   ", "\n", None, 42, 3.5, b"s3://finday-faces-test/references/x.jpg",
                                 [f"s3://{BUCKET}/{KEY}"], {"url": KEY}])
def test_empty_and_non_string_values_are_refused(url):
    assert refused(url) == "face_img_url must be an S3 object URL"


@pytest.mark.parametrize(
    "bucket", ["ab", "-bucket", "bucket-", "Bucket", "bu..cket", "b" * 64, "bucket_name"]
)
def test_s3_uri_with_an_invalid_bucket_name_is_refused(bucket):
    assert "valid S3 bucket" in refused(f"s3://{bucket}/{KEY}", bucket=bucket)


# -- properties -------------------------------------------------------------------------------------

URL_PIECES = st.sampled_from([
    "https://", "s3://", "http://", BUCKET, DOTTED, ".s3", ".s3.us-east-1", "-us-east-1", ".amazonaws.com",
    ".amazonaws.com.cn", "s3.amazonaws.com", "/", "//", PREFIX, "references-evil/", "..", ".", "%2E", "%2F",
    "%2e%2E", "%", "%ff", "%C3%A9", "+", "%2B", "?", "#", "@", ":", ":443", "\\", "face.jpg", " ", "\x00",
    "\u212a", "169.254.169.254", "[", "]", "evil.com",
])


def check_outcome(url: object, bucket: str = BUCKET, prefix: str = PREFIX) -> None:
    try:
        location = parse_reference_url(url, bucket, prefix)
    except InvalidImageURL as error:
        assert error.status == 400
        return
    assert location.bucket == bucket
    assert location.key.startswith(prefix)
    assert ".." not in location.key.split("/")
    assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in location.key)
    assert "." not in location.key.split("/")
    assert location.key and not location.key.endswith("/")
    assert len(location.key.encode("utf-8")) <= 1024


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_either_refused_or_names_the_allowed_bucket_and_prefix(url):
    check_outcome(url)


# Every code point, lone surrogates included, plus a few that once slipped through.
ANY_CHARACTER = st.characters(exclude_categories=()) | st.sampled_from("\ud800\udfff\x85\u2028\u212a/.%")


@settings(max_examples=500, deadline=None)
@given(st.text(ANY_CHARACTER, max_size=120))
def test_text_with_surrogates_and_controls_never_escapes(url):
    check_outcome(f"s3://{BUCKET}/{PREFIX}{url}")
    check_outcome(f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{PREFIX}{url}")


@settings(max_examples=1500, deadline=None)
@given(st.lists(URL_PIECES, max_size=14).map("".join))
def test_url_shaped_text_is_either_refused_or_names_the_allowed_bucket_and_prefix(url):
    check_outcome(url)
    check_outcome(url, bucket=DOTTED)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", ".", "..", "%2E", "%2e%2E", "%2F", "/", "+", "%20"]), max_size=10))
def test_accepted_https_keys_never_hold_dot_segments(segments):
    url = f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{PREFIX}{''.join(segments)}"
    check_outcome(url)


def test_property_helpers_accept_a_good_url():
    # The properties above would pass vacuously if everything were refused.
    location = parse(f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}")
    check_outcome(f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{KEY}")
    assert location == S3Location(BUCKET, KEY)
