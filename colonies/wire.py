"""The RPC envelope (spec §1.2–1.3): base64 JSON payloads, signatures, error replies."""
from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Iterator
from typing import Any

import msgspec

from colonies import crypto

UNSIGNED_MSGTYPES = frozenset({"versionmsg", "getserverinfomsg"})
ERROR_PAYLOADTYPE = "error"

_encoder = msgspec.json.Encoder()


class Envelope(msgspec.Struct):
    payloadtype: str = ""
    payload: str = ""
    signature: str = ""


class ReplyEnvelope(msgspec.Struct):
    payloadtype: str
    payload: str
    error: bool


class ErrorPayload(msgspec.Struct):
    status: int
    message: str


class RPCError(Exception):
    """An error the node replies with: HTTP status and a message for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class WireError(RPCError):
    """A malformed envelope or payload (always 400 unless a signature problem: 403)."""


_envelope_decoder = msgspec.json.Decoder(Envelope)
_reply_decoder = msgspec.json.Decoder(ReplyEnvelope)


def encode_json(value: Any) -> bytes:
    return _encoder.encode(value)


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str | bytes | memoryview) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WireError(400, "Invalid payload: not valid base64") from None


# characters per piece of b64decode_pieces (a multiple of 4): about 1 ms of decoding
B64_PIECE = 512 * 1024


def b64decode_pieces(text: str, piece: int = B64_PIECE) -> Iterator[bytes]:
    """b64decode(text) in consecutive pieces: joined, the same bytes, or the same WireError
    (possibly after some pieces). Cuts fall on whole quads before the first "=", each followed
    by a character that is not one, so each piece decodes alone as it does inside the text."""
    if piece <= 0 or piece % 4:
        raise ValueError("piece must be a positive multiple of 4")
    try:
        data = memoryview(text.encode("ascii"))
    except UnicodeEncodeError:
        raise WireError(400, "Invalid payload: not valid base64") from None
    padding = text.find("=")
    data_end = len(text) if padding < 0 else padding
    final = max(data_end - 1, 0) // piece * piece
    for start in range(0, final, piece):
        yield b64decode(data[start : start + piece])
    yield b64decode(data[final:])


# a signed payload's timestamp may be this far from a strict node's clock (node/replay.py)
FRESHNESS_WINDOW_NS = 120 * 1_000_000_000


def fresh_payload(payload_json: bytes) -> bytes:
    """The JSON object with a `nonce` and the signing `timestamp` (unix ns) added, for nodes in
    strict mode; others, upstream's included, ignore both."""
    if not payload_json.endswith(b"}") or payload_json == b"{}":
        return payload_json
    stamp = encode_json({"nonce": secrets.token_hex(16), "timestamp": time.time_ns()})
    return payload_json[:-1] + b"," + stamp[1:]


def build_request(msg: dict[str, Any] | msgspec.Struct, prvkey: str | None) -> bytes:
    """A signed request envelope; `msg` must carry its `msgtype`. Each call makes a new nonce:
    a retried request is built again."""
    payload_json = fresh_payload(encode_json(msg))
    msgtype = msg["msgtype"] if isinstance(msg, dict) else getattr(msg, "msgtype")
    payload = b64encode(payload_json)
    signature = crypto.sign(payload, prvkey) if prvkey else ""
    return encode_json(Envelope(payloadtype=msgtype, payload=payload, signature=signature))


def decode_envelope(body: bytes) -> Envelope:
    try:
        envelope = _envelope_decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        raise WireError(400, f"Failed to parse RPC message: {err}") from None
    if not envelope.payloadtype:
        raise WireError(400, "Failed to parse RPC message: payloadtype is empty")
    return envelope


def reply_bytes(payloadtype: str, payload_json: bytes) -> bytes:
    return encode_json(ReplyEnvelope(payloadtype=payloadtype, payload=b64encode(payload_json), error=False))


def error_reply_bytes(status: int, message: str) -> bytes:
    payload = encode_json(ErrorPayload(status=status, message=message))
    return encode_json(ReplyEnvelope(payloadtype=ERROR_PAYLOADTYPE, payload=b64encode(payload), error=True))


def decode_reply(body: bytes) -> tuple[str, bytes]:
    """Client side: (payloadtype, payload JSON bytes); raises RPCError for an error reply."""
    try:
        reply = _reply_decoder.decode(body)
    except msgspec.DecodeError as err:
        raise WireError(502, f"Malformed reply from server: {err}") from None
    payload = b64decode(reply.payload) if reply.payload else b"{}"
    if reply.error:
        try:
            err = msgspec.json.decode(payload, type=ErrorPayload)
        except msgspec.DecodeError:
            raise RPCError(502, payload.decode(errors="replace")) from None
        raise RPCError(err.status, err.message)
    return reply.payloadtype, payload
