"""The RPC envelope (spec §1.2–1.3): building requests, encoding replies and errors, decoding."""
from __future__ import annotations

import base64
import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colonies import crypto, dev, models, wire


def ordered_keys(raw: bytes) -> list[str]:
    return [key for key, _ in json.loads(raw, object_pairs_hook=lambda pairs: pairs)]


# --- requests -------------------------------------------------------------------------------
def test_request_envelope_has_payloadtype_payload_and_signature():
    raw = wire.build_request({"msgtype": "getcolonymsg", "colonyname": "dev"}, dev.PRVKEY)
    envelope = json.loads(raw)
    assert set(envelope) == {"payloadtype", "payload", "signature"}
    assert envelope["payloadtype"] == "getcolonymsg"


def payload_of(raw: bytes) -> dict:
    """The message a request carries, without the strict-mode nonce and timestamp."""
    payload = json.loads(base64.b64decode(json.loads(raw)["payload"], validate=True))
    assert set(payload) >= {"nonce", "timestamp"}
    return {k: v for k, v in payload.items() if k not in ("nonce", "timestamp")}


def test_request_payload_is_standard_base64_of_the_message_json():
    msg = {"msgtype": "getcolonymsg", "colonyname": "dev ünïcödé"}
    assert payload_of(wire.build_request(msg, dev.PRVKEY)) == msg


def test_each_request_carries_a_new_nonce_and_the_time_it_was_signed():
    import time

    before = time.time_ns()
    raws = [wire.build_request({"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY) for _ in range(2)]
    stamps = [json.loads(base64.b64decode(json.loads(raw)["payload"])) for raw in raws]
    assert stamps[0]["nonce"] != stamps[1]["nonce"]
    assert all(before <= s["timestamp"] <= time.time_ns() for s in stamps)


def test_request_signature_is_over_the_base64_text_and_recovers_the_signer():
    envelope = json.loads(wire.build_request({"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY))
    assert crypto.recover_id(envelope["payload"], envelope["signature"]) == dev.SERVER_ID


def test_request_without_key_is_unsigned():
    envelope = json.loads(wire.build_request({"msgtype": "versionmsg"}, None))
    assert envelope["signature"] == ""


def test_request_from_a_struct_uses_its_msgtype():
    from colonies.messages import ColonyNameMsg

    envelope = json.loads(wire.build_request(ColonyNameMsg(msgtype="getcolonymsg", colonyname="dev"), dev.PRVKEY))
    assert envelope["payloadtype"] == "getcolonymsg"
    assert payload_of(wire.build_request(ColonyNameMsg(msgtype="getcolonymsg", colonyname="dev"), dev.PRVKEY)) == {
        "msgtype": "getcolonymsg",
        "colonyname": "dev",
    }


def test_pycolonies_style_envelope_decodes():
    payload = base64.b64encode(json.dumps({"msgtype": "getcolonymsg", "colonyname": "dev"}).encode()).decode()
    body = json.dumps({"payloadtype": "getcolonymsg", "payload": payload, "signature": crypto.sign(payload, dev.PRVKEY)}).encode()
    envelope = wire.decode_envelope(body)
    assert envelope.payloadtype == "getcolonymsg"
    assert envelope.payload == payload
    assert crypto.recover_id(envelope.payload, envelope.signature) == dev.ID


def test_envelope_with_unknown_fields_decodes():
    envelope = wire.decode_envelope(b'{"payloadtype": "versionmsg", "payload": "", "signature": "", "extra": 1}')
    assert envelope.payloadtype == "versionmsg"


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b'{"payloadtype": 1}', b'{"payload": "e30="}', b'{"payloadtype": ""}'])
def test_malformed_envelopes_are_wire_errors_with_status_400(body):
    with pytest.raises(wire.WireError) as err:
        wire.decode_envelope(body)
    assert err.value.status == 400
    assert err.value.message


@pytest.mark.parametrize("text", ["%%%", "abc", "e30", "e30=x", "e3 0="])
def test_invalid_base64_is_a_wire_error_with_status_400(text):
    with pytest.raises(wire.WireError) as err:
        wire.b64decode(text)
    assert err.value.status == 400


@settings(max_examples=100)
@given(st.binary(max_size=512))
def test_base64_round_trips_any_bytes(data):
    assert wire.b64decode(wire.b64encode(data)) == data
    assert wire.b64encode(data) == base64.b64encode(data).decode()


# --- replies --------------------------------------------------------------------------------
def test_reply_fields_are_in_upstream_order_payloadtype_payload_error():
    raw = wire.reply_bytes("getcolonymsg", b'{"colonyid": "x", "name": "dev"}')
    assert ordered_keys(raw) == ["payloadtype", "payload", "error"]


def test_reply_carries_the_payloadtype_base64_payload_and_false_error():
    raw = wire.reply_bytes("getcolonymsg", b'{"name":"dev"}')
    reply = json.loads(raw)
    assert reply["payloadtype"] == "getcolonymsg"
    assert reply["error"] is False
    assert json.loads(base64.b64decode(reply["payload"])) == {"name": "dev"}


def test_empty_reply_is_base64_of_an_empty_object():
    reply = json.loads(wire.reply_bytes("removecolonymsg", wire.encode_json({})))
    assert base64.b64decode(reply["payload"]) == b"{}"


def test_error_reply_fields_are_in_upstream_order():
    assert ordered_keys(wire.error_reply_bytes(403, "Access denied")) == ["payloadtype", "payload", "error"]


def test_error_reply_has_payloadtype_error_and_integer_status():
    reply = json.loads(wire.error_reply_bytes(404, "Process not found"))
    assert reply["payloadtype"] == "error"
    assert reply["error"] is True
    payload_raw = base64.b64decode(reply["payload"])
    assert ordered_keys(payload_raw) == ["status", "message"]
    assert json.loads(payload_raw) == {"status": 404, "message": "Process not found"}


def test_error_reply_is_what_pycolonies_reads():
    # pycolonies: json.loads(content); reply["error"]; b64decode(reply["payload"]); payload["message"]
    reply = json.loads(wire.error_reply_bytes(400, "bad"))
    assert json.loads(base64.b64decode(reply["payload"]))["message"] == "bad"


def test_decode_reply_returns_payloadtype_and_payload_bytes():
    payloadtype, payload = wire.decode_reply(wire.reply_bytes("pausestatusreplymsg", b'{"ispaused":true}'))
    assert payloadtype == "pausestatusreplymsg"
    assert json.loads(payload) == {"ispaused": True}


def test_decode_reply_of_an_error_raises_rpc_error_with_status_and_message():
    with pytest.raises(wire.RPCError) as err:
        wire.decode_reply(wire.error_reply_bytes(409, "conflict"))
    assert (err.value.status, err.value.message) == (409, "conflict")


def test_decode_reply_with_missing_payload_gives_an_empty_object():
    _, payload = wire.decode_reply(b'{"payloadtype": "x", "payload": "", "error": false}')
    assert payload == b"{}"


@pytest.mark.parametrize("body", [b"", b"not json", b'{"payloadtype": "x"}'])
def test_decode_reply_of_garbage_is_a_502(body):
    with pytest.raises(wire.RPCError) as err:
        wire.decode_reply(body)
    assert err.value.status == 502


def test_error_reply_with_non_json_payload_is_a_502_carrying_the_text():
    body = json.dumps({"payloadtype": "error", "payload": base64.b64encode(b"boom").decode(), "error": True}).encode()
    with pytest.raises(wire.RPCError) as err:
        wire.decode_reply(body)
    assert err.value.status == 502
    assert "boom" in err.value.message


@settings(max_examples=100)
@given(st.integers(min_value=400, max_value=599), st.text())
def test_error_reply_round_trips_any_status_and_message(status, message):
    with pytest.raises(wire.RPCError) as err:
        wire.decode_reply(wire.error_reply_bytes(status, message))
    assert (err.value.status, err.value.message) == (status, message)


# --- models on the wire ---------------------------------------------------------------------
def test_process_input_and_output_travel_as_in_and_out():
    encoded = json.loads(wire.encode_json(models.Process(input=[1], output=["x"])))
    assert encoded["in"] == [1]
    assert encoded["out"] == ["x"]
    assert "input" not in encoded and "output" not in encoded


def test_process_zero_times_are_the_go_zero_time():
    encoded = json.loads(wire.encode_json(models.Process()))
    for field in ("submissiontime", "starttime", "endtime", "waitdeadline", "execdeadline"):
        assert encoded[field] == "0001-01-01T00:00:00Z"


def test_backend_always_carries_its_type_and_omits_unset_optional_fields():
    # upstream: type and port always present; host, tls and insecure are omitempty (spec §1.3)
    assert json.loads(wire.encode_json(models.Backend(type="http", port=50080))) == {"type": "http", "port": 50080}
    encoded = json.loads(wire.encode_json(models.Backend(type="http", port=50080, host="0.0.0.0", tls=True)))
    assert encoded == {"type": "http", "port": 50080, "host": "0.0.0.0", "tls": True}


def test_unknown_inbound_fields_are_ignored_like_go():
    colony = msgspec.json.decode(b'{"colonyid": "a", "name": "b", "surprise": [1, 2]}', type=models.Colony)
    assert colony == models.Colony(colonyid="a", name="b")
