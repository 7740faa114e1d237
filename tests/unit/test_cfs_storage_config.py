"""S3Config from the upstream AWS_S3_* variables and from explicit values."""
from __future__ import annotations

import pytest

from colonies.cfs.storage import S3Config

ENV = {
    "AWS_S3_ENDPOINT": "127.0.0.1:9000",
    "AWS_S3_ACCESSKEY": "access",
    "AWS_S3_SECRETKEY": "very-secret",
    "AWS_S3_REGION": "eu-north-1",
    "AWS_S3_TLS": "true",
    "AWS_S3_BUCKET": "cfs",
    "AWS_S3_SKIPVERIFY": "TRUE",
}


def test_from_env() -> None:
    cfg = S3Config.from_env(ENV)
    assert (cfg.endpoint, cfg.access_key, cfg.secret_key, cfg.region, cfg.bucket) == (
        "127.0.0.1:9000", "access", "very-secret", "eu-north-1", "cfs")
    assert cfg.tls and cfg.skip_verify
    assert cfg.endpoint_url == "https://127.0.0.1:9000"
    assert cfg.to_env() == {**ENV, "AWS_S3_SKIPVERIFY": "true"}


def test_flags_default_false_and_unset_values_empty() -> None:
    cfg = S3Config.from_env({"AWS_S3_ENDPOINT": "h:1", "AWS_S3_TLS": "false"})
    assert not cfg.tls and not cfg.skip_verify
    assert (cfg.access_key, cfg.secret_key, cfg.region, cfg.bucket) == ("", "", "", "")
    assert cfg.endpoint_url == "http://h:1"


def test_secret_not_in_repr() -> None:
    assert "very-secret" not in repr(S3Config.from_env(ENV))


def test_explicit_constructor() -> None:
    cfg = S3Config(endpoint="h:9", bucket="b", max_concurrency=4)
    assert cfg.max_concurrency == 4 and cfg.bucket == "b"


@pytest.mark.parametrize("endpoint", ["", "http://h:9000", "h:9000/path"])
def test_bad_endpoints_rejected_with_one_line(endpoint: str) -> None:
    with pytest.raises(ValueError) as info:
        S3Config.from_env({"AWS_S3_ENDPOINT": endpoint})
    assert "\n" not in str(info.value)


def test_bad_tuning_rejected() -> None:
    with pytest.raises(ValueError):
        S3Config(endpoint="h:1", max_concurrency=0)
    with pytest.raises(ValueError):
        S3Config(endpoint="h:1", multipart_chunksize=1024)
