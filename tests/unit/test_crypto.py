"""Identities and signatures (spec §1.4): secp256k1 recoverable ECDSA over SHA3-256."""
from __future__ import annotations

import hashlib

import crypto as pycolonies_crypto  # the upstream SDK's pure-Python implementation
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colonies import crypto, dev

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

private_keys = st.integers(min_value=1, max_value=N - 1).map(lambda k: k.to_bytes(32, "big").hex())


def test_spec_vector_private_key_gives_the_known_id():
    prvkey = "6d2fb6f546bacfd98c68769e61e0b44a697a30596c018a50e28200aa59b01c0a"
    assert crypto.id_from_private_key(prvkey) == "4fef2b5a82d134d058c1883c72d6d9caf77cd59ca82d73105017590dea3dcb87"


@pytest.mark.parametrize(
    "prvkey, expected_id",
    [
        (dev.SERVER_PRVKEY, dev.SERVER_ID),
        (dev.COLONY_PRVKEY, dev.COLONY_ID),
        (dev.PRVKEY, dev.ID),
        (dev.SHELL_EXECUTOR_PRVKEY, dev.SHELL_EXECUTOR_ID),
    ],
    ids=["server-owner", "colony-owner", "executor-user", "dev-shell-executor"],
)
def test_dev_keys_give_their_published_ids(prvkey, expected_id):
    assert crypto.id_from_private_key(prvkey) == expected_id


def test_id_is_sha3_of_the_hex_text_of_the_uncompressed_public_key():
    import coincurve

    prvkey = dev.PRVKEY
    public = coincurve.PrivateKey(bytes.fromhex(prvkey)).public_key.format(compressed=False)
    assert public[0] == 4 and len(public) == 65
    assert crypto.id_from_private_key(prvkey) == hashlib.sha3_256(public.hex().encode("ascii")).hexdigest()


def test_generated_private_keys_are_64_hex_chars_and_distinct():
    keys = {crypto.generate_private_key() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert len(key) == 64
        assert 0 < int(key, 16) < N


def test_signature_is_130_lowercase_hex_chars_with_low_s_and_recovery_id():
    signature = crypto.sign("eyJtc2d0eXBlIjoiZ2V0Y29sb25pZXNtc2cifQ==", dev.SERVER_PRVKEY)
    assert len(signature) == 130
    assert signature == signature.lower()
    raw = bytes.fromhex(signature)
    assert int.from_bytes(raw[32:64], "big") <= N // 2
    assert raw[64] in (0, 1)


def test_sign_then_recover_gives_the_signers_id():
    payload = "eyJtc2d0eXBlIjoiZ2V0Y29sb25pZXNtc2cifQ=="
    assert crypto.recover_id(payload, crypto.sign(payload, dev.SERVER_PRVKEY)) == dev.SERVER_ID


def test_recover_accepts_bytes_and_text_alike():
    payload = "aGVsbG8="
    signature = crypto.sign(payload, dev.PRVKEY)
    assert crypto.recover_id(payload.encode(), signature) == crypto.recover_id(payload, signature) == dev.ID


def test_signature_over_other_data_recovers_another_id():
    signature = crypto.sign("payload-one", dev.PRVKEY)
    assert crypto.recover_id("payload-two", signature) != dev.ID


@settings(max_examples=60, deadline=None)
@given(prvkey=private_keys, data=st.text(max_size=300))
def test_sign_recover_round_trip_for_any_key_and_text(prvkey, data):
    assert crypto.recover_id(data, crypto.sign(data, prvkey)) == crypto.id_from_private_key(prvkey)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prvkey=private_keys, data=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=200))
def test_pycolonies_signatures_recover_to_the_pycolonies_id(prvkey, data):
    signature = pycolonies_crypto.sign(data, prvkey)
    assert crypto.recover_id(data, signature) == pycolonies_crypto.get_id(prvkey) == crypto.id_from_private_key(prvkey)


def test_pycolonies_crypto_object_signature_of_dev_key_recovers_dev_id():
    payload = "eyJtc2d0eXBlIjogImdldGNvbG9ueW1zZyJ9"
    signature = pycolonies_crypto.Crypto().sign(payload, dev.PRVKEY)
    assert crypto.recover_id(payload, signature) == dev.ID
    assert pycolonies_crypto.Crypto().id(dev.PRVKEY) == dev.ID


def test_pycolonies_recognises_our_ids():
    prvkey = crypto.generate_private_key()
    assert pycolonies_crypto.get_id(prvkey) == crypto.id_from_private_key(prvkey)


# --- invalid signatures ---------------------------------------------------------------------
PAYLOAD = "eyJtc2d0eXBlIjoiZ2V0Y29sb25pZXNtc2cifQ=="


def valid_signature() -> str:
    return crypto.sign(PAYLOAD, dev.PRVKEY)


def test_short_signature_is_rejected():
    with pytest.raises(crypto.SignatureError, match="length"):
        crypto.recover_id(PAYLOAD, valid_signature()[:128])


def test_long_signature_is_rejected():
    with pytest.raises(crypto.SignatureError, match="length"):
        crypto.recover_id(PAYLOAD, valid_signature() + "00")


def test_empty_signature_is_rejected():
    with pytest.raises(crypto.SignatureError):
        crypto.recover_id(PAYLOAD, "")


@pytest.mark.parametrize("garbage", ["zz" * 65, "0x" + "00" * 64, "g" * 130, "00" * 64 + "0", "é" * 130])
def test_non_hex_signature_is_rejected(garbage):
    with pytest.raises(crypto.SignatureError):
        crypto.recover_id(PAYLOAD, garbage)


def test_high_s_signature_is_rejected_although_it_would_recover_the_same_key():
    import coincurve

    raw = bytes.fromhex(valid_signature())
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    high = r + (N - s).to_bytes(32, "big") + bytes([v ^ 1])
    # (r, n - s, v ^ 1) is the malleated twin: a lax verifier would recover the same key from it
    digest = hashlib.sha3_256(PAYLOAD.encode()).digest()
    twin = coincurve.PublicKey.from_signature_and_message(high, digest, hasher=None)
    assert crypto.id_from_public_key(twin) == dev.ID
    with pytest.raises(crypto.SignatureError, match="half the order"):
        crypto.recover_id(PAYLOAD, high.hex())


@pytest.mark.parametrize("recovery_id", [4, 27, 28, 255])
def test_out_of_range_recovery_id_is_rejected(recovery_id):
    raw = bytes.fromhex(valid_signature())
    with pytest.raises(crypto.SignatureError):
        crypto.recover_id(PAYLOAD, (raw[:64] + bytes([recovery_id])).hex())


def test_all_zero_signature_is_rejected():
    with pytest.raises(crypto.SignatureError):
        crypto.recover_id(PAYLOAD, "00" * 65)


def test_r_equal_to_the_curve_order_is_rejected():
    raw = bytes.fromhex(valid_signature())
    with pytest.raises(crypto.SignatureError):
        crypto.recover_id(PAYLOAD, (N.to_bytes(32, "big") + raw[32:]).hex())


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=65, max_size=65))
def test_random_65_byte_signatures_never_raise_anything_but_signature_error(raw):
    try:
        recovered = crypto.recover_id(PAYLOAD, raw.hex())
    except crypto.SignatureError:
        return
    assert len(recovered) == 64


# --- private keys ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["", "00" * 31, "00" * 33, "xyz" * 21 + "x", "00" * 32, format(N, "064x")])
def test_invalid_private_keys_are_rejected(bad):
    with pytest.raises(ValueError):
        crypto.id_from_private_key(bad)


def test_random_ids_are_64_hex_chars_and_distinct():
    ids = {crypto.random_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 64 and set(i) <= set("0123456789abcdef") for i in ids)
