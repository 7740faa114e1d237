"""Federation membership certificates (issue, verify, encoding) and a node's federation identity."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import msgspec
import pytest

from colonies import crypto, dev
from colonies.federation import identity, membership
from colonies.federation.membership import Certificate, MembershipError

AUTHORITY_PRVKEY = dev.FEDERATION_AUTHORITY_PRVKEY
AUTHORITY_ID = dev.FEDERATION_AUTHORITY_ID
NODE_PRVKEY = "2" * 64
NODE_ID = crypto.id_from_private_key(NODE_PRVKEY)
NOW = 1_800_000_000


def make_cert(**overrides: object) -> Certificate:
    fields: dict[str, object] = {
        "federation": "dev",
        "node_id": NODE_ID,
        "api_url": "http://127.0.0.1:50080",
        "dht_address": "127.0.0.1:4000",
        "ttl_seconds": 3600,
        "now": NOW,
    }
    fields.update(overrides)
    return membership.issue(AUTHORITY_PRVKEY, **fields)  # type: ignore[arg-type]


def refusal(cert: Certificate, *, authority_id: str = AUTHORITY_ID, now: float = NOW + 10) -> MembershipError:
    with pytest.raises(MembershipError) as info:
        membership.verify(cert, authority_id=authority_id, now=now)
    assert info.value.status == 403
    return info.value


# --- issue / verify ----------------------------------------------------------------------------

def test_issued_certificate_verifies_against_its_authority() -> None:
    cert = make_cert()
    membership.verify(cert, authority_id=AUTHORITY_ID, now=NOW + 10)
    assert cert.authority_id == AUTHORITY_ID
    assert (cert.issued, cert.expires) == (NOW, NOW + 3600)


def test_signature_is_the_authority_key_over_the_signed_text() -> None:
    cert = make_cert()
    assert crypto.recover_id(membership.signed_text(cert), cert.signature) == AUTHORITY_ID
    assert cert.signature not in membership.signed_text(cert)


@pytest.mark.parametrize(
    "field, value",
    [
        ("federation", "other"),
        ("node_id", crypto.id_from_private_key("3" * 64)),
        ("api_url", "http://10.0.0.66:50080"),
        ("dht_address", "10.0.0.66:4000"),
        ("issued", NOW - 1),
        ("expires", NOW + 10 * 3600),
    ],
)
def test_tampered_field_is_refused_as_bad_signature(field: str, value: object) -> None:
    tampered = msgspec.structs.replace(make_cert(), **{field: value})
    assert refusal(tampered).reason == "signature"


def test_certificate_from_another_authority_is_refused() -> None:
    other_authority = crypto.generate_private_key()
    cert = membership.issue(
        other_authority, federation="dev", node_id=NODE_ID, api_url="http://127.0.0.1:1",
        dht_address="127.0.0.1:2", ttl_seconds=60, now=NOW,
    )
    error = refusal(cert)
    assert error.reason == "authority"
    assert "not " + AUTHORITY_ID in error.message


def test_certificate_claiming_the_trusted_authority_but_signed_by_another_key_is_refused() -> None:
    forged = make_cert()
    resigned = msgspec.structs.replace(
        forged, signature=crypto.sign(membership.signed_text(forged), crypto.generate_private_key())
    )
    assert refusal(resigned).reason == "signature"


def test_undecodable_signature_is_refused() -> None:
    cert = msgspec.structs.replace(make_cert(), signature="f" * 130)
    assert refusal(cert).reason == "signature"


def test_expired_certificate_is_refused() -> None:
    cert = make_cert(ttl_seconds=60)
    membership.verify(cert, authority_id=AUTHORITY_ID, now=NOW + 59)
    error = refusal(cert, now=NOW + 60)
    assert error.reason == "expired"
    assert "expired" in error.message


def test_certificate_issued_in_the_future_is_refused_beyond_clock_skew() -> None:
    cert = make_cert()
    membership.verify(cert, authority_id=AUTHORITY_ID, now=NOW - membership.CLOCK_SKEW_SECONDS)
    assert refusal(cert, now=NOW - membership.CLOCK_SKEW_SECONDS - 1).reason == "not_yet_valid"


@pytest.mark.parametrize(
    "field, value",
    [
        ("federation", ""),
        ("federation", "has space"),
        ("federation", "x" * 33),
        ("node_id", "ABC"),
        ("node_id", NODE_ID.upper()),
        ("authority_id", "0" * 63),
        ("api_url", "ftp://127.0.0.1:1"),
        ("api_url", "http://"),
        ("api_url", "http://user:pw@127.0.0.1:1"),
        ("api_url", "http://127.0.0.1:99999"),
        ("api_url", "http://127.0.0.1:1/?q=1"),
        ("api_url", "http://127.0.0.1:1/a b"),
        ("api_url", "http://" + "a" * 100),
        ("dht_address", "127.0.0.1"),
        ("dht_address", "127.0.0.1:0"),
        ("dht_address", "127.0.0.1:65536"),
        ("dht_address", "bad host:4000"),
        ("dht_address", "[::zz]:4000"),
        ("dht_address", "a" * 60 + ":4000"),
        ("signature", "00"),
        ("expires", NOW),
        ("expires", membership.MAX_TIME + 1),
        ("issued", -1),
    ],
)
def test_malformed_field_is_refused_with_a_reason(field: str, value: object) -> None:
    cert = msgspec.structs.replace(make_cert(), **{field: value})
    error = refusal(cert)
    assert error.reason == "malformed"
    assert error.message.startswith("malformed membership certificate: ")


def test_issue_rejects_malformed_input() -> None:
    with pytest.raises(ValueError, match="dht_address|DHT address"):
        make_cert(dht_address="nowhere")
    with pytest.raises(ValueError, match="ttl_seconds"):
        make_cert(ttl_seconds=0)
    with pytest.raises(ValueError, match="private key"):
        membership.issue("zz", federation="dev", node_id=NODE_ID, api_url="http://h:1", dht_address="h:1", ttl_seconds=1)


@pytest.mark.parametrize("address", ["127.0.0.1:4000", "[::1]:4000", "dht.example.org:65535"])
def test_ipv4_ipv6_and_hostname_dht_addresses_are_accepted(address: str) -> None:
    membership.verify(make_cert(dht_address=address), authority_id=AUTHORITY_ID, now=NOW)


def test_parse_dht_address_splits_host_and_port() -> None:
    assert membership.parse_dht_address("10.1.2.3:4000") == ("10.1.2.3", 4000)
    assert membership.parse_dht_address("[::1]:9") == ("::1", 9)


# --- encoding ----------------------------------------------------------------------------------

def test_bytes_round_trip_keeps_the_certificate_valid() -> None:
    cert = make_cert()
    decoded = membership.from_bytes(membership.to_bytes(cert))
    assert decoded == cert
    membership.verify(decoded, authority_id=AUTHORITY_ID, now=NOW)


def test_encoding_is_compact_json_with_the_named_fields() -> None:
    raw = membership.to_bytes(make_cert())
    assert b" " not in raw
    assert list(json.loads(raw)) == [
        "federation", "authority_id", "node_id", "api_url", "dht_address", "issued", "expires", "signature",
    ]


def test_largest_allowed_certificate_stays_under_the_size_bound() -> None:
    cert = make_cert(
        federation="f" * membership.MAX_FEDERATION_CHARS,
        api_url="https://" + "a" * (membership.MAX_API_URL_CHARS - len("https://:65535")) + ":65535",
        dht_address="d" * (membership.MAX_DHT_ADDRESS_CHARS - len(":65535")) + ":65535",
        now=membership.MAX_TIME - 10,
        ttl_seconds=10,
    )
    assert len(membership.to_bytes(cert)) < membership.MAX_CERT_BYTES == 600


def test_typical_certificate_is_small() -> None:
    assert len(membership.to_bytes(make_cert())) < 450


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[]", b'{"federation":"dev"}', b"x" * 601],
)
def test_from_bytes_refuses_garbage_as_malformed(data: bytes) -> None:
    with pytest.raises(MembershipError) as info:
        membership.from_bytes(data)
    assert info.value.reason == "malformed"


def test_from_bytes_refuses_unknown_fields() -> None:
    document = json.loads(membership.to_bytes(make_cert()))
    document["extra"] = 1
    with pytest.raises(MembershipError):
        membership.from_bytes(json.dumps(document).encode())


def test_cert_id_is_sha3_of_the_encoding_and_differs_per_certificate() -> None:
    import hashlib

    cert = make_cert()
    assert membership.cert_id(cert) == hashlib.sha3_256(membership.to_bytes(cert)).hexdigest()
    assert membership.cert_id(cert) != membership.cert_id(make_cert(api_url="http://127.0.0.1:50081"))


# --- identity ----------------------------------------------------------------------------------

def test_node_key_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = identity.load_or_create_key(data_dir)
    path = data_dir / identity.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key
    assert identity.load_or_create_key(data_dir) == key
    assert not [p for p in data_dir.iterdir() if p.name != identity.KEY_FILE]  # no temporary leftovers


def test_corrupt_node_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / identity.KEY_FILE).write_text("not a key\n")
    with pytest.raises(identity.IdentityError, match="64 hex"):
        identity.load_or_create_key(tmp_path)


def test_cert_save_and_load_round_trip(tmp_path: Path) -> None:
    cert = make_cert()
    path = tmp_path / identity.CERT_FILE
    identity.save_cert(path, cert)
    assert identity.load_cert(path) == cert
    assert path.read_bytes() == membership.to_bytes(cert) + b"\n"


def test_load_cert_reports_a_missing_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(identity.IdentityError, match="cannot read"):
        identity.load_cert(tmp_path / "absent.cert")
    (tmp_path / "bad.cert").write_text("{}")
    with pytest.raises(identity.IdentityError, match="malformed"):
        identity.load_cert(tmp_path / "bad.cert")


def test_load_identity_uses_the_data_dir_key_and_certificate(tmp_path: Path) -> None:
    key = identity.load_or_create_key(tmp_path)
    node_id = crypto.id_from_private_key(key)
    identity.save_cert(tmp_path / identity.CERT_FILE, make_cert(node_id=node_id))
    loaded = identity.load_identity(tmp_path, authority_id=AUTHORITY_ID, now=NOW)
    assert (loaded.prvkey, loaded.node_id, loaded.cert.node_id) == (key, node_id, node_id)
    assert loaded.authority_id == AUTHORITY_ID
    assert key not in repr(loaded)


def test_load_identity_without_certificate_says_which_node_id_to_certify(tmp_path: Path) -> None:
    with pytest.raises(identity.IdentityError, match=NODE_ID):
        identity.load_identity(tmp_path, authority_id=AUTHORITY_ID, prvkey=NODE_PRVKEY, now=NOW)


def test_load_identity_refuses_a_certificate_of_another_node(tmp_path: Path) -> None:
    identity.save_cert(tmp_path / "other.cert", make_cert(node_id=crypto.id_from_private_key("4" * 64)))
    with pytest.raises(identity.IdentityError, match="certificate of node"):
        identity.load_identity(
            tmp_path, authority_id=AUTHORITY_ID, prvkey=NODE_PRVKEY, cert_file=tmp_path / "other.cert", now=NOW
        )


def test_load_identity_refuses_an_expired_certificate(tmp_path: Path) -> None:
    identity.save_cert(tmp_path / identity.CERT_FILE, make_cert(ttl_seconds=60))
    with pytest.raises(identity.IdentityError, match="expired"):
        identity.load_identity(tmp_path, authority_id=AUTHORITY_ID, prvkey=NODE_PRVKEY, now=NOW + 60)


def test_dev_identity_issues_a_dev_authority_certificate_for_the_data_dir_key(tmp_path: Path) -> None:
    made = identity.dev_identity(tmp_path, api_url="http://127.0.0.1:50080", dht_address="127.0.0.1:4000")
    assert made.node_id == crypto.id_from_private_key(identity.load_or_create_key(tmp_path))
    assert made.cert.federation == dev.FEDERATION_NAME
    assert made.authority_id == dev.FEDERATION_AUTHORITY_ID
    membership.verify(made.cert, authority_id=dev.FEDERATION_AUTHORITY_ID)
    reloaded = identity.load_identity(tmp_path, authority_id=dev.FEDERATION_AUTHORITY_ID)
    assert reloaded.cert == made.cert


def test_dev_authority_id_belongs_to_the_dev_authority_key() -> None:
    assert crypto.id_from_private_key(dev.FEDERATION_AUTHORITY_PRVKEY) == dev.FEDERATION_AUTHORITY_ID
