"""Output locations are checked locally; the trailing slash is fixed and announced."""

from __future__ import annotations

import pytest

from novareel.foundation.errors import InvalidRequestError
from novareel.foundation.s3uri import S3Uri, output_location, parse_s3_uri


@pytest.mark.parametrize(
    "uri,bucket,key",
    [
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://my-bucket/", "my-bucket", ""),
        ("s3://my.bucket.1/videos/", "my.bucket.1", "videos/"),
        ("s3://abc/a/b/c/", "abc", "a/b/c/"),
    ],
)
def test_parse(uri: str, bucket: str, key: str) -> None:
    assert parse_s3_uri(uri) == S3Uri(bucket, key)


@pytest.mark.parametrize(
    "uri,fragment",
    [
        ("https://bucket/x", "not an s3:// URI"),
        ("s3://My-Bucket/", "upper-case"),
        ("s3://ab/", "2 characters"),
        ("s3://" + "a" * 64 + "/", "64 characters"),
        ("s3://-bucket/", "not a valid bucket name"),
        ("s3://bucket-/", "not a valid bucket name"),
        ("s3://my..bucket/", "adjacent"),
        ("s3://192.168.1.1/", "IP address"),
        ("s3://xn--bucket/", "xn--"),
        ("s3://bucket-s3alias/", "-s3alias"),
        ("s3://under_score/", "not a valid bucket name"),
    ],
)
def test_bad_uris_name_the_rule(uri: str, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        parse_s3_uri(uri)
    assert exc.value.field == "output_uri"
    assert fragment in str(exc.value)


def test_63_character_bucket_is_fine() -> None:
    assert parse_s3_uri("s3://" + "a" * 63).bucket == "a" * 63


def test_trailing_slash_added_with_notice() -> None:
    notices: list[str] = []
    location = output_location("s3://bucket/prefix", notices=notices)
    assert str(location.uri) == "s3://bucket/prefix/"
    assert len(notices) == 1 and "does not end in '/'" in notices[0]


def test_folder_uri_untouched_without_notice() -> None:
    notices: list[str] = []
    assert str(output_location("s3://bucket/prefix/", notices=notices).uri) == "s3://bucket/prefix/"
    assert notices == []


def test_owner_and_kms_pass_through() -> None:
    kms = "arn:aws:kms:us-east-1:123456789012:key/" + "1" * 8 + "-2222-3333-4444-" + "5" * 12
    config = output_location(
        "s3://bkt/v/", bucket_owner="123456789012", kms_key_id=kms
    ).to_output_data_config()
    assert config == {
        "s3OutputDataConfig": {
            "s3Uri": "s3://bkt/v/",
            "kmsKeyId": kms,
            "bucketOwner": "123456789012",
        }
    }


def test_bad_owner_and_kms_both_reported() -> None:
    with pytest.raises(InvalidRequestError) as exc:
        output_location("s3://bkt/", bucket_owner="12345", kms_key_id="my-key")
    assert [p.field for p in exc.value.problems] == ["bucket_owner", "kms_key_id"]


def test_uri_length_limit() -> None:
    with pytest.raises(InvalidRequestError, match="limit is 1024"):
        parse_s3_uri("s3://bucket/" + "k" * 1020)


def test_output_uri_fallback_order() -> None:
    """Given, else $NOVAREEL_OUTPUT_URI, else (local mode only) the emulator's folder."""
    from novareel.foundation.s3uri import LOCAL_OUTPUT_URI, OUTPUT_URI_ENV, resolve_output_uri

    env = {OUTPUT_URI_ENV: "s3://from-env/videos/"}
    given = "s3://given/out/"
    assert resolve_output_uri(given, local=True, environ=env) == given
    assert resolve_output_uri(given, local=False, environ={}) == given
    assert resolve_output_uri(None, local=True, environ=env) == "s3://from-env/videos/"
    assert resolve_output_uri(None, local=False, environ=env) == "s3://from-env/videos/"
    assert resolve_output_uri(None, local=True, environ={}) == LOCAL_OUTPUT_URI
    assert resolve_output_uri(None, local=False, environ={}) is None
    assert LOCAL_OUTPUT_URI == "s3://novareel-local/videos/"


def test_output_uri_fallback_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from novareel.client import local
    from novareel.foundation.s3uri import LOCAL_OUTPUT_URI, OUTPUT_URI_ENV, resolve_output_uri

    monkeypatch.setenv(OUTPUT_URI_ENV, "s3://env-bucket/x/")
    assert resolve_output_uri(None, local=True) == "s3://env-bucket/x/"
    monkeypatch.delenv(OUTPUT_URI_ENV)
    assert resolve_output_uri(None, local=True) == LOCAL_OUTPUT_URI
    # local mode's callers still find the constant where they always did
    assert local.LOCAL_OUTPUT_URI is LOCAL_OUTPUT_URI
