"""Signed node-to-node messages (`POST /federation`).

Wire form (JSON): {"cert": <membership certificate>, "payloadtype": str, "payload": base64,
"signature": hex}. `payload` is the base64 of the signed JSON
{"payloadtype", "to", "sent", "nonce", "certid", "body"} and `signature` is the sending node's
key over that base64 text, the recipe of client RPCs (colonies.wire / colonies.crypto).

`open_envelope` accepts a message only if the certificate verifies against the trusted authority,
the signer is the certificate's node, the signed payload names the same payloadtype and certificate,
`sent` (unix ms) is within `WINDOW_SECONDS` of now and the `nonce` was not seen from that node
before (`ReplayGuard`). A retried send must therefore be built again (new nonce and time).
"""
from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from typing import Any

import msgspec

from colonies import crypto
from colonies.wire import RPCError, b64decode, b64encode

from .membership import Certificate, MembershipError, cert_id, verify

WINDOW_SECONDS = 120.0
NONCES_PER_NODE = 16_384
MAX_NODES = 4_096

_NONCE_RE = re.compile(r"[0-9a-f]{32}")


class EnvelopeError(RPCError):
    """A message refused for its form (400) or as stale / replayed / misaddressed (403).

    `reason` is a short code: malformed, stale, replayed, misaddressed.
    """

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(status, message)
        self.reason = reason


class SignedEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    cert: Certificate
    payloadtype: str
    payload: str
    signature: str


class SignedPayload(msgspec.Struct, forbid_unknown_fields=True):
    payloadtype: str
    to: str  # recipient node id, "" when the sender did not name one
    sent: int  # unix ms
    nonce: str  # 32 hex
    certid: str  # cert_id of the certificate the message travels with
    body: msgspec.Raw


_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(SignedEnvelope)
_payload_decoder = msgspec.json.Decoder(SignedPayload)


class ReplayGuard:
    """Remembers recent nonces per sending node (bounded) and refuses repeats and stale messages.

    A nonce is kept until its message leaves the time window. When a node's set is full, the oldest
    entry is forgotten and its send time becomes that node's floor: anything sent at or before the
    floor is refused, so forgetting never lets a replay through (it may refuse a very late message).
    """

    def __init__(
        self,
        *,
        window_seconds: float = WINDOW_SECONDS,
        nonces_per_node: int = NONCES_PER_NODE,
        max_nodes: int = MAX_NODES,
    ) -> None:
        self.window_ms = int(window_seconds * 1000)
        self.nonces_per_node = nonces_per_node
        self.max_nodes = max_nodes
        self._nodes: OrderedDict[str, _NodeNonces] = OrderedDict()

    def check(self, node_id: str, nonce: str, sent_ms: int, now_ms: int) -> None:
        """Record `nonce` from `node_id` or raise EnvelopeError (stale or replayed)."""
        if sent_ms < now_ms - self.window_ms:
            raise EnvelopeError("stale", f"message from node {node_id} is too old ({now_ms - sent_ms} ms)", 403)
        if sent_ms > now_ms + self.window_ms:
            raise EnvelopeError(
                "stale", f"message from node {node_id} is from the future ({sent_ms - now_ms} ms ahead)", 403
            )
        nonces = self._nodes.get(node_id)
        if nonces is None:
            nonces = self._nodes[node_id] = _NodeNonces()
            if len(self._nodes) > self.max_nodes:
                self._nodes.popitem(last=False)
        else:
            self._nodes.move_to_end(node_id)
        nonces.forget_before(now_ms - self.window_ms)
        if nonce in nonces.seen or sent_ms <= nonces.floor:
            raise EnvelopeError("replayed", f"message from node {node_id} was already received", 403)
        nonces.seen[nonce] = sent_ms
        if len(nonces.seen) > self.nonces_per_node:
            _, forgotten = nonces.seen.popitem(last=False)
            nonces.floor = max(nonces.floor, forgotten)


class _NodeNonces:
    __slots__ = ("seen", "floor")

    def __init__(self) -> None:
        self.seen: OrderedDict[str, int] = OrderedDict()  # nonce → sent ms, in arrival order
        self.floor = -1

    def forget_before(self, oldest_ms: int) -> None:
        # Arrival order is nearly send order; stop at the first entry still inside the window.
        while self.seen:
            nonce, sent = next(iter(self.seen.items()))
            if sent >= oldest_ms:
                return
            del self.seen[nonce]


_default_guard = ReplayGuard()


def build(
    payloadtype: str,
    payload_obj: Any,
    node_prvkey: str,
    cert: Certificate,
    *,
    to: str = "",
    now: float | None = None,
) -> bytes:
    """A signed message carrying `payload_obj` (anything msgspec encodes; msgspec.Raw for JSON
    already encoded) from the node of `cert`, optionally addressed to node id `to`."""
    if not payloadtype:
        raise ValueError("payloadtype must not be empty")
    if crypto.id_from_private_key(node_prvkey) != cert.node_id:
        raise ValueError(f"the node key does not belong to the certificate's node {cert.node_id}")
    sent_ms = int((time.time() if now is None else now) * 1000)
    signed = SignedPayload(
        payloadtype=payloadtype,
        to=to,
        sent=sent_ms,
        nonce=secrets.token_hex(16),
        certid=cert_id(cert),
        body=msgspec.Raw(_encoder.encode(payload_obj)),
    )
    payload = b64encode(_encoder.encode(signed))
    return _encoder.encode(
        SignedEnvelope(cert=cert, payloadtype=payloadtype, payload=payload, signature=crypto.sign(payload, node_prvkey))
    )


def open_envelope(
    body: bytes,
    *,
    authority_id: str,
    now: float | None = None,
    recipient: str | None = None,
    unaddressed: frozenset[str] = frozenset(),
    replay: ReplayGuard | None = None,
) -> tuple[Certificate, str, bytes]:
    """(certificate, payloadtype, payload JSON bytes) of a message from a member node.

    Raises MembershipError (403) when the sender is not a valid member or did not sign it,
    EnvelopeError (400 malformed; 403 stale, replayed or, when `recipient` is given, addressed to
    another node: only the payloadtypes in `unaddressed` may name no node). `replay` defaults to a
    process-wide guard; give each node its own.
    """
    try:
        envelope = _envelope_decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        raise EnvelopeError("malformed", f"malformed federation message: {err}") from None
    cert = envelope.cert
    verify(cert, authority_id=authority_id, now=now)
    try:
        signer = crypto.recover_id(envelope.payload, envelope.signature)
    except crypto.SignatureError as err:
        raise MembershipError("signer", f"federation message from node {cert.node_id}: {err}") from None
    if signer != cert.node_id:
        raise MembershipError("signer", f"federation message is not signed by the certificate's node {cert.node_id}")
    try:
        signed = _payload_decoder.decode(b64decode(envelope.payload))
    except RPCError as err:
        raise EnvelopeError("malformed", f"malformed federation message: {err.message}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        raise EnvelopeError("malformed", f"malformed federation message payload: {err}") from None
    if signed.payloadtype != envelope.payloadtype:
        raise EnvelopeError("malformed", "federation message payloadtype does not match its signed payload")
    if not _NONCE_RE.fullmatch(signed.nonce):
        raise EnvelopeError("malformed", "federation message nonce must be 32 lowercase hex characters")
    if signed.certid != cert_id(cert):
        raise MembershipError("signer", f"federation message from node {cert.node_id} was signed for another certificate")
    if recipient is not None and signed.to != recipient and not (signed.to == "" and signed.payloadtype in unaddressed):
        raise EnvelopeError("misaddressed", f"federation message is addressed to {signed.to or 'no node'}", 403)
    now_ms = int((time.time() if now is None else now) * 1000)
    (replay if replay is not None else _default_guard).check(cert.node_id, signed.nonce, signed.sent, now_ms)
    return cert, envelope.payloadtype, bytes(signed.body)
