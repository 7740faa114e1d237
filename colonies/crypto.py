"""Colonies identities and signatures: secp256k1 recoverable ECDSA over SHA3-256.

A signature is r(32) || s(32) || v(1), hex encoded; an id is the SHA3-256 of the lowercase hex
text of the uncompressed public key (the hex *text*, not the raw bytes), as upstream does.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache

import coincurve

_CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_ORDER = _CURVE_ORDER // 2


class SignatureError(ValueError):
    """A signature that cannot be decoded, is not canonical or does not recover a key."""


def generate_private_key() -> str:
    """A new random private key as 64 lowercase hex characters."""
    while True:
        raw = os.urandom(32)
        value = int.from_bytes(raw, "big")
        if 0 < value < _CURVE_ORDER:
            return raw.hex()


@lru_cache(maxsize=1024)  # parsing a key costs more than signing with it
def _private_key(prvkey: str) -> coincurve.PrivateKey:
    try:
        raw = bytes.fromhex(prvkey)
    except ValueError as err:
        raise ValueError(f"Invalid private key: {err}") from None
    if len(raw) != 32:
        raise ValueError("Invalid private key: must be 32 bytes (64 hex characters)")
    return coincurve.PrivateKey(raw)


def id_from_public_key(public_key: coincurve.PublicKey) -> str:
    return hashlib.sha3_256(public_key.format(compressed=False).hex().encode()).hexdigest()


def id_from_private_key(prvkey: str) -> str:
    """The colonies id of a private key (what the server recovers from its signatures)."""
    return id_from_public_key(_private_key(prvkey).public_key)


def sign(data: str, prvkey: str) -> str:
    """Sign the UTF-8 text `data` (the base64 payload of an envelope); returns 130 hex chars."""
    digest = hashlib.sha3_256(data.encode()).digest()
    # coincurve emits r || s || recid with low-s, exactly the upstream layout.
    return _private_key(prvkey).sign_recoverable(digest, hasher=None).hex()


def recover_id(data: str | bytes, signature_hex: str) -> str:
    """The id of the key that signed `data`; raises SignatureError for anything invalid."""
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        raise SignatureError("Invalid signature: not hexadecimal") from None
    if len(signature) != 65:
        raise SignatureError("Invalid signature length")
    if int.from_bytes(signature[32:64], "big") > _HALF_ORDER:
        raise SignatureError("Signature s value is over half the order")
    if signature[64] > 3:
        raise SignatureError("Invalid signature: bad recovery id")
    if isinstance(data, str):
        data = data.encode()
    digest = hashlib.sha3_256(data).digest()
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except Exception:
        raise SignatureError("Invalid signature") from None
    return id_from_public_key(public_key)


def random_id() -> str:
    """A fresh random 64-hex id for server-generated objects (processes, functions, ...)."""
    return hashlib.sha3_256(os.urandom(32)).hexdigest()
