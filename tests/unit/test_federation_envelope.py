"""Signed node-to-node messages: building, opening, membership and signer checks, replay protection."""
from __future__ import annotations

import base64
import json

import msgspec
import pytest

from colonies import crypto, dev
from colonies.federation import envelope, membership
from colonies.federation.envelope import EnvelopeError, ReplayGuard
from colonies.federation.membership import Certificate, MembershipError

AUTHORITY_ID = dev.FEDERATION_AUTHORITY_ID
NODE_PRVKEY = "5" * 64
NODE_ID = crypto.id_from_private_key(NODE_PRVKEY)
OTHER_PRVKEY = "6" * 64
OTHER_ID = crypto.id_from_private_key(OTHER_PRVKEY)
NOW = 1_800_000_000.0
NOW_MS = int(NOW * 1000)


def cert_for(node_id: str = NODE_ID, *, authority_prvkey: str = dev.FEDERATION_AUTHORITY_PRVKEY, ttl: int = 3600) -> Certificate:
    return membership.issue(
        authority_prvkey, federation="dev", node_id=node_id, api_url="http://127.0.0.1:50080",
        dht_address="127.0.0.1:4000", ttl_seconds=ttl, now=NOW - 60,
    )


CERT = cert_for()


def send(payload: object = None, *, now: float = NOW, to: str = "") -> bytes:
    body = {"processid": "p1", "n": 1} if payload is None else payload
    return envelope.build("forward", body, NODE_PRVKEY, CERT, to=to, now=now)


def receive(body: bytes, *, now: float = NOW, guard: ReplayGuard | None = None, **kwargs: object):
    return envelope.open_envelope(
        body, authority_id=AUTHORITY_ID, now=now, replay=guard if guard is not None else ReplayGuard(), **kwargs
    )


def resign(body: bytes, mutate, prvkey: str = NODE_PRVKEY) -> bytes:
    """Re-encode a message after changing its signed payload, signed again with `prvkey`."""
    outer = json.loads(body)
    inner = json.loads(base64.b64decode(outer["payload"]))
    mutate(inner)
    outer["payload"] = base64.b64encode(json.dumps(inner).encode()).decode()
    outer["signature"] = crypto.sign(outer["payload"], prvkey)
    return json.dumps(outer).encode()


# --- round trip ----------------------------------------------------------------------------------

def test_round_trip_returns_certificate_payloadtype_and_payload_json() -> None:
    cert, payloadtype, payload = receive(send({"processid": "p1", "in": [1, "x"]}))
    assert cert == CERT
    assert payloadtype == "forward"
    assert json.loads(payload) == {"processid": "p1", "in": [1, "x"]}


def test_wire_form_has_cert_payloadtype_base64_payload_and_node_signature() -> None:
    outer = json.loads(send())
    assert list(outer) == ["cert", "payloadtype", "payload", "signature"]
    assert outer["cert"] == json.loads(membership.to_bytes(CERT))
    assert crypto.recover_id(outer["payload"], outer["signature"]) == NODE_ID
    inner = json.loads(base64.b64decode(outer["payload"], validate=True))
    assert set(inner) == {"payloadtype", "to", "sent", "nonce", "certid", "body"}
    assert inner["sent"] == int(NOW * 1000)
    assert inner["certid"] == membership.cert_id(CERT)


def test_structs_and_raw_json_are_accepted_as_payload() -> None:
    class Forward(msgspec.Struct):
        processid: str

    assert json.loads(receive(send(Forward(processid="p9")))[2]) == {"processid": "p9"}
    assert receive(send(msgspec.Raw(b'{"pre":"encoded"}')))[2] == b'{"pre":"encoded"}'


def test_build_refuses_a_key_that_is_not_the_certificates_node() -> None:
    with pytest.raises(ValueError, match="does not belong"):
        envelope.build("forward", {}, OTHER_PRVKEY, CERT)


def test_each_message_gets_a_fresh_nonce() -> None:
    nonces = {json.loads(base64.b64decode(json.loads(send())["payload"]))["nonce"] for _ in range(20)}
    assert len(nonces) == 20


# --- membership and signer -----------------------------------------------------------------------

def test_message_signed_by_a_key_that_is_not_the_certificates_node_is_refused() -> None:
    forged = resign(send(), lambda inner: None, prvkey=OTHER_PRVKEY)
    with pytest.raises(MembershipError) as info:
        receive(forged)
    assert info.value.status == 403 and info.value.reason == "signer"


def test_other_members_certificate_with_own_signature_is_refused() -> None:
    outer = json.loads(send())
    outer["cert"] = json.loads(membership.to_bytes(cert_for(OTHER_ID)))
    with pytest.raises(MembershipError) as info:
        receive(json.dumps(outer).encode())
    assert info.value.reason == "signer"


def test_message_from_a_node_certified_by_another_authority_is_refused() -> None:
    foreign = cert_for(authority_prvkey=crypto.generate_private_key())
    body = envelope.build("forward", {}, NODE_PRVKEY, foreign, now=NOW)
    with pytest.raises(MembershipError) as info:
        receive(body)
    assert info.value.status == 403 and info.value.reason == "authority"


def test_message_with_an_expired_certificate_is_refused() -> None:
    short = cert_for(ttl=120)
    body = envelope.build("forward", {}, NODE_PRVKEY, short, now=NOW + 60)
    with pytest.raises(MembershipError) as info:
        receive(body, now=NOW + 60)
    assert info.value.reason == "expired"


def test_tampered_payload_is_refused_as_not_signed_by_the_node() -> None:
    outer = json.loads(send())
    inner = json.loads(base64.b64decode(outer["payload"]))
    inner["body"]["n"] = 2
    outer["payload"] = base64.b64encode(json.dumps(inner).encode()).decode()
    with pytest.raises(MembershipError):
        receive(json.dumps(outer).encode())


def test_swapped_certificate_of_the_same_node_is_refused() -> None:
    outer = json.loads(send())
    newer = membership.issue(
        dev.FEDERATION_AUTHORITY_PRVKEY, federation="dev", node_id=NODE_ID, api_url="http://127.0.0.1:1",
        dht_address="127.0.0.1:4000", ttl_seconds=3600, now=NOW - 60,
    )
    outer["cert"] = json.loads(membership.to_bytes(newer))
    with pytest.raises(MembershipError, match="another certificate"):
        receive(json.dumps(outer).encode())


# --- malformed -----------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"", b"{}", b"[1]", b'{"cert":{},"payloadtype":"x","payload":"","signature":""}'])
def test_garbage_is_refused_as_malformed(body: bytes) -> None:
    with pytest.raises(EnvelopeError) as info:
        receive(body)
    assert info.value.status == 400 and info.value.reason == "malformed"


def test_payloadtype_differing_from_the_signed_one_is_refused() -> None:
    outer = json.loads(send())
    outer["payloadtype"] = "report"
    with pytest.raises(EnvelopeError) as info:
        receive(json.dumps(outer).encode())
    assert info.value.status == 400


def test_signed_payload_that_is_not_base64_json_is_refused_as_malformed() -> None:
    outer = json.loads(send())
    outer["payload"] = "%%%"
    outer["signature"] = crypto.sign(outer["payload"], NODE_PRVKEY)
    with pytest.raises(EnvelopeError) as info:
        receive(json.dumps(outer).encode())
    assert info.value.status == 400


def test_bad_nonce_is_refused_as_malformed() -> None:
    body = resign(send(), lambda inner: inner.update(nonce="short"))
    with pytest.raises(EnvelopeError) as info:
        receive(body)
    assert info.value.reason == "malformed"


# --- addressing ----------------------------------------------------------------------------------

def test_message_addressed_to_another_node_is_refused_when_recipient_checks() -> None:
    body = send(to=OTHER_ID)
    receive(body, recipient=OTHER_ID)
    with pytest.raises(EnvelopeError) as info:
        receive(send(to=OTHER_ID), recipient=crypto.id_from_private_key("7" * 64))
    assert info.value.status == 403 and info.value.reason == "misaddressed"


def test_unaddressed_message_is_refused_when_recipient_checks() -> None:
    with pytest.raises(EnvelopeError, match="no node"):
        receive(send(), recipient=OTHER_ID)


# --- replay protection ---------------------------------------------------------------------------

def test_replayed_message_is_refused() -> None:
    guard = ReplayGuard()
    body = send()
    receive(body, guard=guard)
    with pytest.raises(EnvelopeError) as info:
        receive(body, now=NOW + 1, guard=guard)
    assert info.value.status == 403 and info.value.reason == "replayed"


def test_same_message_twice_is_refused_by_the_default_guard() -> None:
    body = send()
    envelope.open_envelope(body, authority_id=AUTHORITY_ID, now=NOW)
    with pytest.raises(EnvelopeError, match="already received"):
        envelope.open_envelope(body, authority_id=AUTHORITY_ID, now=NOW)


def test_stale_message_is_refused() -> None:
    body = send(now=NOW - envelope.WINDOW_SECONDS - 1)
    with pytest.raises(EnvelopeError) as info:
        receive(body)
    assert info.value.reason == "stale" and "too old" in info.value.message


def test_message_from_the_future_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="future"):
        receive(send(now=NOW + envelope.WINDOW_SECONDS + 1))


def test_messages_inside_the_window_are_accepted() -> None:
    guard = ReplayGuard()
    receive(send(now=NOW - envelope.WINDOW_SECONDS + 1), guard=guard)
    receive(send(now=NOW + envelope.WINDOW_SECONDS - 1), guard=guard)


def test_refused_signature_does_not_consume_the_nonce() -> None:
    guard = ReplayGuard()
    body = send()
    with pytest.raises(MembershipError):
        receive(resign(body, lambda inner: None, prvkey=OTHER_PRVKEY), guard=guard)
    receive(body, guard=guard)


def test_guard_forgets_nonces_once_their_messages_left_the_window() -> None:
    guard = ReplayGuard(window_seconds=1)
    for step in range(100):
        guard.check(NODE_ID, f"{step:032x}", NOW_MS + step * 1000, NOW_MS + step * 1000)
    assert len(guard._nodes[NODE_ID].seen) <= 2


def test_full_guard_refuses_messages_older_than_the_forgotten_ones() -> None:
    guard = ReplayGuard(nonces_per_node=3)
    for step in range(4):
        guard.check(NODE_ID, f"{step:032x}", NOW_MS + step, NOW_MS + 10)
    # nonce 0 was forgotten: replaying it is still refused (at or below the node's floor)
    with pytest.raises(EnvelopeError, match="already received"):
        guard.check(NODE_ID, f"{0:032x}", NOW_MS, NOW_MS + 10)
    guard.check(NODE_ID, f"{9:032x}", NOW_MS + 5, NOW_MS + 10)


def test_guard_tracks_nodes_separately_and_bounds_their_number() -> None:
    guard = ReplayGuard(max_nodes=2)
    guard.check(NODE_ID, "a" * 32, NOW_MS, NOW_MS)
    guard.check(OTHER_ID, "a" * 32, NOW_MS, NOW_MS)  # same nonce from another node is fine
    guard.check("c" * 64, "a" * 32, NOW_MS, NOW_MS)
    assert list(guard._nodes) == [OTHER_ID, "c" * 64]

