"""The node's public key for `id`, derived from the repo's `Identity.PrivKey` (libp2p's protobuf
key encoding; RSA keys as PKCS#1 inside, public ones as PKIX), and the peer id it hashes to."""
from __future__ import annotations

import base64
import hashlib

from .blocks import b58encode

_RSA, _ED25519 = 0, 1
_RSA_ALGORITHM = bytes.fromhex("300d06092a864886f70d0101010500")  # SEQUENCE { rsaEncryption, NULL }


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def _read_tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at `pos`."""
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _proto_key(key_type: int, data: bytes) -> bytes:
    return b"\x08" + bytes([key_type]) + b"\x12" + _varint(len(data)) + data


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _parse_proto_key(raw: bytes) -> tuple[int, bytes]:
    key_type, data, pos = -1, b"", 0
    while pos < len(raw):
        tag = raw[pos]
        pos += 1
        if tag == 0x08:
            key_type = raw[pos]
            pos += 1
        elif tag == 0x12:
            length = shift = 0
            while True:
                byte = raw[pos]
                pos += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            data, pos = raw[pos:pos + length], pos + length
        else:
            raise ValueError("unexpected field in a libp2p key")
    return key_type, data


def public_key(priv_key_b64: str) -> bytes:
    """The protobuf-encoded public key of a base64 protobuf private key (RSA or Ed25519)."""
    key_type, data = _parse_proto_key(base64.b64decode(priv_key_b64))
    if key_type == _ED25519:
        return _proto_key(_ED25519, data[32:64])
    if key_type != _RSA:
        raise ValueError(f"unsupported key type {key_type}")
    tag, start, _ = _read_tlv(data, 0)  # RSAPrivateKey ::= SEQUENCE { version, n, e, ... }
    if tag != 0x30:
        raise ValueError("not a PKCS#1 key")
    _, _, end = _read_tlv(data, start)  # version
    _, _, n_end = _read_tlv(data, end)
    _, _, e_end = _read_tlv(data, n_end)
    rsa_public = _tlv(0x30, data[end:e_end])
    spki = _tlv(0x30, _RSA_ALGORITHM + _tlv(0x03, b"\0" + rsa_public))
    return _proto_key(_RSA, spki)


def peer_id(public: bytes) -> str:
    """The base58 peer id of a protobuf public key (identity multihash when short)."""
    if len(public) <= 42:
        return b58encode(b"\x00" + bytes([len(public)]) + public)
    return b58encode(b"\x12\x20" + hashlib.sha256(public).digest())
