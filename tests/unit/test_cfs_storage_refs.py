"""ObjectRef ↔ the wire `ref.s3object` (spec cfs.md §1.1, §1.5, §1.6)."""
from __future__ import annotations

import pytest

from colonies.cfs.storage import EMPTY_SHA256, ObjectRef, new_object_key, split_endpoint

WIRE_KEYS = {"server", "port", "tls", "accesskey", "secretkey", "region", "encryptionkey", "encryptionalg", "object", "bucket"}


def test_to_s3object_is_pycolonies_form_without_secrets() -> None:
    ref = ObjectRef(bucket="b", object="k" * 64, endpoint="127.0.0.1:9000", tls=False, region="eu", size=3, sha256="ab")
    wire = ref.to_s3object()
    assert set(wire) == WIRE_KEYS
    assert wire["server"] == "127.0.0.1" and wire["port"] == 9000
    # pycolonies builds its endpoint as server + ":" + port
    assert wire["server"] + ":" + str(wire["port"]) == "127.0.0.1:9000"
    assert wire["accesskey"] == "" and wire["secretkey"] == ""
    assert wire["encryptionkey"] == "" and wire["encryptionalg"] == ""
    assert (wire["object"], wire["bucket"], wire["region"], wire["tls"]) == ("k" * 64, "b", "eu", False)
    assert ref.to_reference() == {"protocol": "s3", "s3object": wire}


def test_pycolonies_form_round_trips() -> None:
    ref = ObjectRef(bucket="b", object="o", endpoint="s3.local:9443", tls=True, region="r")
    assert ObjectRef.from_s3object(ref.to_s3object()) == ref


def test_go_form_is_accepted() -> None:
    go = {"server": "minio:9000", "port": -1, "tls": False, "accesskey": "AK", "secretkey": "SECRET",
          "region": "", "encryptionkey": "", "encryptionalg": "", "object": "o", "bucket": "b"}
    ref = ObjectRef.from_s3object(go)
    assert ref.endpoint == "minio:9000" and ref.object == "o" and ref.bucket == "b"
    # credentials a Go client wrote are dropped, never carried on
    assert "SECRET" not in repr(ref) and "AK" not in repr(ref)
    assert ref.to_s3object()["secretkey"] == "" and ref.to_s3object()["port"] == 9000


def test_nulls_read_as_empty() -> None:
    ref = ObjectRef.from_s3object({"server": None, "port": None, "tls": None, "object": None, "bucket": None, "region": None})
    assert ref == ObjectRef()
    assert ObjectRef.from_s3object(None) == ObjectRef()
    assert ObjectRef().to_s3object()["server"] == "" and ObjectRef().to_s3object()["port"] == 0


def test_numeric_string_port_and_server_with_port() -> None:
    assert ObjectRef.from_s3object({"server": "h", "port": "9000"}).endpoint == "h:9000"
    assert ObjectRef.from_s3object({"server": "h:9000", "port": 9000}).endpoint == "h:9000"


@pytest.mark.parametrize(
    ("endpoint", "tls", "expected"),
    [
        ("h:1", False, ("h", 1)),
        ("h", False, ("h", 80)),
        ("h", True, ("h", 443)),
        ("[::1]:9000", False, ("[::1]", 9000)),
        ("[::1]", True, ("[::1]", 443)),
    ],
)
def test_split_endpoint(endpoint: str, tls: bool, expected: tuple[str, int]) -> None:
    assert split_endpoint(endpoint, tls) == expected
    host, port = expected
    assert ObjectRef.from_s3object({"server": host, "port": port}).endpoint == f"{host}:{port}"


def test_from_file_reads_size_checksum_and_protocol() -> None:
    file = {"size": 5, "checksum": "ABCDEF", "checksumalg": "SHA256",
            "ref": {"protocol": "s3", "s3object": {"server": "h", "port": 1, "object": "o", "bucket": "b"}}}
    ref = ObjectRef.from_file(file)
    assert (ref.size, ref.sha256, ref.protocol, ref.endpoint) == (5, "abcdef", "s3", "h:1")
    assert ObjectRef.from_file({"ref": {"protocol": None}}).protocol == "s3"
    assert ObjectRef.from_file({"checksum": "x", "checksumalg": "MD5"}).sha256 is None


def test_zero_byte_rule() -> None:
    assert ObjectRef(size=0, object="k").is_empty
    assert ObjectRef(object="").is_empty
    assert not ObjectRef(size=None, object="k").is_empty
    assert EMPTY_SHA256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_new_object_key_is_64_hex() -> None:
    key = new_object_key()
    assert len(key) == 64 and int(key, 16) >= 0 and key != new_object_key()
