"""Provider records: signing, verification, keys, wire encoding and the size bound."""
from __future__ import annotations

import hashlib
import time

import msgspec
import pytest

from colonies import crypto
from colonies.federation import membership
from colonies.dht.records import (
    MAX_RECORD_BYTES,
    MAX_RECORDS_PER_KEY,
    MAX_VALUE_BYTES,
    MIN_RECORDS_PER_PAGE,
    RPCUDP_MAX_REQUEST,
    ProviderRecord,
    bounded,
    decode_records,
    encode_record,
    encode_records,
    key_for,
    key_name,
    paged,
    sign_record,
    signature_ok,
    signing_payload,
)

KEY = crypto.generate_private_key()
NODE_ID = crypto.id_from_private_key(KEY)


def record(**fields: object) -> ProviderRecord:
    values: dict[str, object] = {
        "node_id": NODE_ID,
        "api_url": "https://node-a.example.org:50080",
        "dht_address": "127.0.0.1:4000",
        "colony": "dev",
        "executortype": "gpu",
        "live": 2,
        "waiting": 5,
        "issued_ms": int(time.time() * 1000),
        "expires": time.time() + 60,
        "cert": {"node_id": NODE_ID, "expires": time.time() + 3600, "signature": "ab" * 65},
    }
    values.update(fields)
    return ProviderRecord(**values)  # type: ignore[arg-type]


def test_keys_are_sha1_of_the_colony_and_executortype_names():
    assert key_name("dev") == "colony/dev"
    assert key_name("dev", "gpu") == "colony/dev/executortype/gpu"
    assert key_for("dev") == hashlib.sha1(b"colony/dev").digest()
    assert key_for("dev", "gpu") == hashlib.sha1(b"colony/dev/executortype/gpu").digest()
    assert len(key_for("dev")) == 20
    assert key_for("dev", "") == key_for("dev") != key_for("dev", "gpu")


def test_signed_record_verifies_and_names_its_signer():
    other = crypto.generate_private_key()
    signed = sign_record(record(node_id="00" * 32), other)
    assert signed.node_id == crypto.id_from_private_key(other)
    assert signature_ok(signed)
    assert crypto.recover_id(signing_payload(signed), signed.signature) == signed.node_id


@pytest.mark.parametrize(
    "change",
    [
        {"live": 99},
        {"waiting": 0},
        {"running": 4},
        {"api_url": "https://evil.example.org"},
        {"expires": time.time() + 10_000},
        {"withdrawn": True},
        {"cert": {"node_id": NODE_ID}},
        {"colony": "other"},
    ],
    ids=["live", "waiting", "running", "api_url", "expires", "withdrawn", "cert", "colony"],
)
def test_any_changed_field_breaks_the_signature(change: dict[str, object]):
    signed = sign_record(record(), KEY)
    assert not signature_ok(msgspec.structs.replace(signed, **change))


def test_a_record_claiming_another_node_id_fails():
    signed = sign_record(record(), crypto.generate_private_key())
    assert not signature_ok(msgspec.structs.replace(signed, node_id=NODE_ID))
    assert not signature_ok(msgspec.structs.replace(signed, signature=""))
    assert not signature_ok(msgspec.structs.replace(signed, signature="00" * 65))


def test_signing_payload_is_canonical_whatever_the_cert_key_order():
    one = record(cert={"a": 1, "b": 2})
    two = record(cert={"b": 2, "a": 1}, issued_ms=one.issued_ms, expires=one.expires)
    assert signing_payload(one) == signing_payload(two)
    assert b"signature" not in signing_payload(one).replace(b'"signature":"' + b"ab" * 65 + b'"', b"")


def test_encoding_roundtrip_keeps_the_signature_valid():
    signed = [sign_record(record(executortype=f"t{i}"), KEY) for i in range(3)]
    decoded = decode_records(encode_records(signed))
    assert decoded == signed
    assert all(signature_ok(r) for r in decoded)


def test_malformed_entries_are_skipped_one_by_one():
    good = sign_record(record(), KEY)
    value = b"[" + encode_record(good) + b',{"node_id":"xyz"},42,' + encode_record(good) + b"]"
    assert decode_records(value) == [good, good]
    assert decode_records(b"not json") == []
    assert decode_records("[]") == []  # values must be bytes
    assert decode_records(b"[" + b" " * RPCUDP_MAX_REQUEST + b"]") == []


def test_oversized_records_are_refused_when_signed_and_when_received():
    fat = record(cert={"blob": "x" * MAX_RECORD_BYTES})
    with pytest.raises(ValueError, match="cap"):
        sign_record(fat, KEY)
    unsigned_fat = encode_record(fat)
    assert decode_records(b"[" + unsigned_fat + b"]") == []


def test_field_constraints_are_enforced_on_decode():
    signed = sign_record(record(), KEY)
    for bad in ({"live": -1}, {"node_id": "NOTHEX"}, {"colony": ""}, {"signature": "zz"}):
        raw = msgspec.json.encode({**msgspec.structs.asdict(signed), **bad})
        assert decode_records(b"[" + raw + b"]") == []


def test_value_bound_fits_one_datagram():
    assert MAX_VALUE_BYTES + 64 <= RPCUDP_MAX_REQUEST - 1024
    assert 2 + MIN_RECORDS_PER_PAGE * (MAX_RECORD_BYTES + 1) <= MAX_VALUE_BYTES


def test_a_record_with_a_real_federation_certificate_fits_several_times():
    cert = membership.issue(
        crypto.generate_private_key(),
        federation="example",
        node_id=NODE_ID,
        api_url="https://node-a.example.org:50080",
        dht_address="203.0.113.10:4000",
        ttl_seconds=30 * 86400,
    )
    typical = sign_record(record(cert=msgspec.to_builtins(cert), executortype="gpu-a100", live=12, waiting=340), KEY)
    size = len(encode_record(typical))
    assert size < 0.7 * MAX_RECORD_BYTES
    assert len(paged([typical] * MAX_RECORDS_PER_KEY)[0]) >= 6  # six or more such providers per value
    assert MAX_RECORDS_PER_KEY >= 32  # and a key keeps at least 32, in pages
    with pytest.raises(ValueError):
        encode_records([typical] * (MAX_VALUE_BYTES // size + 1))


def test_bounded_keeps_the_most_preferred_and_pages_keep_the_order_within_the_byte_budget():
    small = [sign_record(record(executortype=f"t{i}", cert={}), KEY) for i in range(MAX_RECORDS_PER_KEY + 2)]
    assert bounded(small) == small[:MAX_RECORDS_PER_KEY]
    fat = sign_record(record(cert={"pad": "x" * 860}), KEY)
    assert 1250 < len(encode_record(fat)) <= MAX_RECORD_BYTES
    mixed = [fat] * 5 + [small[0]] + [fat] * 4
    pages = paged(mixed)
    assert [r for page in pages for r in page] == mixed  # nothing skipped, nothing reordered
    assert pages == [[fat] * 4, [fat, small[0], fat, fat, fat], [fat]]  # a page is cut only when full
    assert all(len(encode_records(page)) <= MAX_VALUE_BYTES for page in pages)
    assert paged([]) == []


def test_running_is_signed_and_a_record_without_it_still_decodes_and_verifies():
    busy = sign_record(record(running=3), KEY)
    assert decode_records(encode_records([busy])) == [busy] and signature_ok(busy)
    assert b'"running":3' in signing_payload(busy)
    # A node that predates the field signs and sends records without it.
    old = sign_record(record(), KEY)
    fields = msgspec.structs.asdict(old)
    del fields["running"]
    [decoded] = decode_records(b"[" + msgspec.json.encode(fields) + b"]")
    assert decoded.running == 0 and signature_ok(decoded)
    assert b"running" not in signing_payload(decoded) and b"running" not in encode_record(decoded)


def test_defaults_are_left_out_of_the_wire_encoding():
    colony_level = sign_record(record(executortype="", live=0, waiting=0), KEY)
    wire = encode_record(colony_level)
    for field in (b"executortype", b"live", b"waiting", b"running", b"withdrawn"):
        assert field not in wire
    assert decode_records(b"[" + wire + b"]") == [colony_level]
