"""Malformed, mis-signed and out-of-range requests on the raw wire: always a 4xx error envelope, never 500."""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from colonies import crypto, dev
from tests.support.rpc import call, post_raw

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def envelope(payloadtype: str, payload: str, signature: str) -> bytes:
    return json.dumps({"payloadtype": payloadtype, "payload": payload, "signature": signature}).encode()


def signed(payloadtype: str, payload: str, prvkey: str) -> bytes:
    """An envelope whose (possibly nonsensical) payload text is validly signed."""
    return envelope(payloadtype, payload, crypto.sign(payload, prvkey))


def signed_msg(msg: dict[str, Any], prvkey: str, payloadtype: str | None = None) -> bytes:
    payload = b64(json.dumps(msg))
    return signed(payloadtype or msg["msgtype"], payload, prvkey)


def assert_refused(reply: tuple[int, dict[str, Any]], status: int | None = None) -> str:
    """A well-formed error envelope with a 4xx status (the given one if any); returns the message."""
    http_status, env = reply
    assert 400 <= http_status < 500, f"expected a 4xx, got {http_status}: {env}"
    if status is not None:
        assert http_status == status, env
    assert env["error"] is True
    assert env["payloadtype"] == "error"
    assert env["payload"]["status"] == http_status
    message = env["payload"]["message"]
    assert isinstance(message, str) and message.strip()
    return message


def process_spec(colonyname: str, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "funcname": "f",
        "maxexectime": -1,
        "maxwaittime": -1,
        "maxretries": -1,
        "conditions": {"colonyname": colonyname, "executortype": "test"},
    }
    spec.update(overrides)
    return spec


def assert_node_still_serves(node, colony=None) -> None:
    assert call(node.url, {"msgtype": "versionmsg"}, None)["msgtype"] == "versionmsg"
    names = [c["name"] for c in call(node.url, {"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY)]
    if colony is not None:
        assert colony.name in names


# --- the envelope ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'"just a string"',
        b"\xff\xfe\x00garbage",
        b'{"payloadtype": 5, "payload": "", "signature": ""}',
        b'{"payloadtype": "getcolonymsg", "payload": ["x"], "signature": ""}',
    ],
    ids=["truncated", "empty", "array", "string", "binary", "payloadtype-number", "payload-array"],
)
def test_unparseable_envelope_is_a_400(node, body):
    assert_refused(post_raw(node.url, body), 400)


def test_envelope_without_payloadtype_is_a_400(node):
    assert_refused(post_raw(node.url, b'{"payload": "e30=", "signature": ""}'), 400)
    assert_refused(post_raw(node.url, b"{}"), 400)


def test_envelope_without_signature_is_refused_with_403(node, colony):
    payload = b64(json.dumps({"msgtype": "getcolonymsg", "colonyname": colony.name}))
    body = json.dumps({"payloadtype": "getcolonymsg", "payload": payload}).encode()
    assert_refused(post_raw(node.url, body), 403)


def test_envelope_without_payload_is_refused(node):
    body = json.dumps({"payloadtype": "getcoloniesmsg", "signature": crypto.sign("", dev.SERVER_PRVKEY)}).encode()
    assert_refused(post_raw(node.url, body))


def test_payload_that_is_not_base64_is_a_400(node):
    assert_refused(post_raw(node.url, signed("getcoloniesmsg", "%%% not base64 %%%", dev.SERVER_PRVKEY)), 400)


def test_payload_that_is_base64_of_non_json_is_a_400(node):
    assert_refused(post_raw(node.url, signed("getcoloniesmsg", b64("this is not json"), dev.SERVER_PRVKEY)), 400)


def test_payload_that_is_a_json_array_is_a_400(node):
    assert_refused(post_raw(node.url, signed("getcoloniesmsg", b64('["getcoloniesmsg"]'), dev.SERVER_PRVKEY)), 400)


def test_payload_that_is_invalid_utf8_is_a_400(node):
    assert_refused(post_raw(node.url, signed("getcoloniesmsg", b64(b'{"msgtype": "\xff\xfe"}'), dev.SERVER_PRVKEY)), 400)


# --- field types ----------------------------------------------------------------------------
def test_priority_given_as_a_string_is_a_400(node, colony):
    executor = colony.add_executor()
    msg = {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name, priority="high")}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 400)


@pytest.mark.parametrize(
    "msg",
    [
        {"msgtype": "getprocessesmsg", "colonyname": "COLONY", "count": "ten", "state": 0},
        {"msgtype": "getprocessesmsg", "colonyname": ["COLONY"], "count": 1, "state": 0},
        {"msgtype": "assignprocessmsg", "colonyname": "COLONY", "timeout": "soon"},
        {"msgtype": "closesuccessfulmsg", "processid": 12345, "out": []},
        {"msgtype": "submitfuncspecmsg", "spec": "not an object"},
        {"msgtype": "submitfuncspecmsg", "spec": {"conditions": {"colonyname": "COLONY", "executortype": "test"}, "args": "not a list"}},
        {"msgtype": "submitfuncspecmsg", "spec": {"conditions": {"colonyname": "COLONY", "executortype": "test"}, "env": {"k": 1}}},
    ],
    ids=["count-string", "colonyname-list", "timeout-string", "processid-number", "spec-string", "args-string", "env-value-number"],
)
def test_wrong_field_types_are_a_400(node, colony, msg):
    executor = colony.add_executor()
    msg = json.loads(json.dumps(msg).replace('"COLONY"', json.dumps(colony.name)))
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 400)


# --- signatures -----------------------------------------------------------------------------
def valid_signed_parts(colony, prvkey: str) -> tuple[str, str]:
    payload = b64(json.dumps({"msgtype": "getcolonymsg", "colonyname": colony.name}))
    return payload, crypto.sign(payload, prvkey)


def test_signature_that_is_not_hex_is_a_403(node, colony):
    member = colony.add_user()
    payload, _ = valid_signed_parts(colony, member.prvkey)
    assert_refused(post_raw(node.url, envelope("getcolonymsg", payload, "zz" * 65)), 403)


def test_signature_that_is_too_short_is_a_403(node, colony):
    member = colony.add_user()
    payload, signature = valid_signed_parts(colony, member.prvkey)
    assert_refused(post_raw(node.url, envelope("getcolonymsg", payload, signature[:128])), 403)


def test_signature_that_is_too_long_is_a_403(node, colony):
    member = colony.add_user()
    payload, signature = valid_signed_parts(colony, member.prvkey)
    assert_refused(post_raw(node.url, envelope("getcolonymsg", payload, signature + "00")), 403)


def test_high_s_signature_is_refused_with_403(node, colony):
    member = colony.add_user()
    payload, signature = valid_signed_parts(colony, member.prvkey)
    assert call(node.url, {"msgtype": "getcolonymsg", "colonyname": colony.name}, member.prvkey)["name"] == colony.name
    raw = bytes.fromhex(signature)
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    high = r + (N - s).to_bytes(32, "big") + bytes([v ^ 1])
    # mathematically the same signature (it still recovers the member), but not canonical
    assert N - s > N // 2
    message = assert_refused(post_raw(node.url, envelope("getcolonymsg", payload, high.hex())), 403)
    assert "half the order" in message or "signature" in message.lower()


def test_signature_with_a_bad_recovery_id_is_a_403(node, colony):
    member = colony.add_user()
    payload, signature = valid_signed_parts(colony, member.prvkey)
    assert_refused(post_raw(node.url, envelope("getcolonymsg", payload, signature[:128] + "07")), 403)


def test_signature_over_a_different_payload_does_not_authenticate_the_signer(node, colony):
    member = colony.add_user()
    payload, _ = valid_signed_parts(colony, member.prvkey)
    other_signature = crypto.sign(payload + "x", member.prvkey)
    assert_refused(post_raw(node.url, envelope("getcolonymsg", payload, other_signature)), 403)


def test_signature_by_an_unknown_key_is_refused_for_member_calls(node, colony):
    stranger = crypto.generate_private_key()
    msg = {"msgtype": "getcolonymsg", "colonyname": colony.name}
    assert_refused(post_raw(node.url, signed_msg(msg, stranger)), 403)


def test_signature_by_an_unknown_key_is_refused_for_server_owner_calls(node):
    stranger = crypto.generate_private_key()
    assert_refused(post_raw(node.url, signed_msg({"msgtype": "getcoloniesmsg"}, stranger)), 403)


# --- message types --------------------------------------------------------------------------
def test_unknown_msgtype_is_a_403(node):
    msg = {"msgtype": "nosuchthingmsg"}
    message = assert_refused(post_raw(node.url, signed_msg(msg, dev.SERVER_PRVKEY)), 403)
    assert "nosuchthingmsg" in message


def test_subscription_msgtypes_are_not_served_on_api(node, colony):
    executor = colony.add_executor()
    msg = {"msgtype": "subscribeprocessesmsg", "colonyname": colony.name, "executortype": "test", "state": 0, "timeout": 1}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 403)


def test_msgtype_in_payload_different_from_payloadtype_is_a_400(node, colony):
    msg = {"msgtype": "getcoloniesmsg", "colonyname": colony.name}
    message = assert_refused(post_raw(node.url, signed_msg(msg, dev.SERVER_PRVKEY, payloadtype="removecolonymsg")), 400)
    assert "does not match" in message
    # the colony was not removed by the smuggled message
    assert_node_still_serves(node, colony)


def test_payload_without_msgtype_is_a_400(node):
    assert_refused(post_raw(node.url, signed("getcoloniesmsg", b64("{}"), dev.SERVER_PRVKEY)), 400)


# --- authorization --------------------------------------------------------------------------
def test_non_member_listing_processes_is_a_403(node, colony):
    stranger = crypto.generate_private_key()
    msg = {"msgtype": "getprocessesmsg", "colonyname": colony.name, "count": 10, "state": 0}
    assert_refused(post_raw(node.url, signed_msg(msg, stranger)), 403)


def test_colony_owner_listing_processes_is_a_403(node, colony):
    msg = {"msgtype": "getprocessesmsg", "colonyname": colony.name, "count": 10, "state": 0}
    assert_refused(post_raw(node.url, signed_msg(msg, colony.owner_prvkey)), 403)


def test_executor_closing_a_process_assigned_to_another_is_a_403(node, colony):
    owner = colony.add_executor()
    other = colony.add_executor()
    process = call(node.url, {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name)}, owner.prvkey)
    assigned = call(node.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 5}, owner.prvkey)
    assert assigned["processid"] == process["processid"]
    for msg in (
        {"msgtype": "closesuccessfulmsg", "processid": process["processid"], "out": ["stolen"]},
        {"msgtype": "closefailedmsg", "processid": process["processid"], "errors": ["sabotage"]},
    ):
        assert_refused(post_raw(node.url, signed_msg(msg, other.prvkey)), 403)
    got = call(node.url, {"msgtype": "getprocessmsg", "processid": process["processid"]}, owner.prvkey)
    assert got["state"] == 1
    assert got["out"] == []


def test_closing_an_unknown_process_is_a_404(node, colony):
    executor = colony.add_executor()
    msg = {"msgtype": "closesuccessfulmsg", "processid": "ab" * 32, "out": []}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 404)


# --- sizes and ranges -----------------------------------------------------------------------
def test_oversized_body_is_a_413(node):
    body = b'{"payloadtype": "getcoloniesmsg", "payload": "' + b"A" * (16 * 1024 * 1024 + 1024) + b'", "signature": ""}'
    assert_refused(post_raw(node.url, body), 413)
    assert_node_still_serves(node)


@pytest.mark.parametrize("priority", [50_001, -50_001, 2**40])
def test_priority_out_of_range_is_a_400(node, colony, priority):
    executor = colony.add_executor()
    msg = {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name, priority=priority)}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 400)
    listed = call(node.url, {"msgtype": "getprocessesmsg", "colonyname": colony.name, "count": 10, "state": 0}, executor.prvkey)
    assert listed == []


@pytest.mark.parametrize("priority", [50_000, -50_000])
def test_priority_at_the_range_limits_is_accepted(node, colony, priority):
    executor = colony.add_executor()
    process = call(node.url, {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name, priority=priority)}, executor.prvkey)
    assert process["spec"]["priority"] == priority


def test_assign_with_timeout_zero_is_a_400(node, colony):
    executor = colony.add_executor()
    msg = {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 0}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 400)


@pytest.mark.parametrize("count", [101, 1000, -1])
def test_getprocesses_count_outside_0_to_100_is_a_400(node, colony, count):
    executor = colony.add_executor()
    msg = {"msgtype": "getprocessesmsg", "colonyname": colony.name, "count": count, "state": 0}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 400)


@pytest.mark.parametrize("state", [-1, 5, 99])
def test_getprocesses_invalid_state_is_a_400(node, colony, state):
    executor = colony.add_executor()
    msg = {"msgtype": "getprocessesmsg", "colonyname": colony.name, "count": 10, "state": state}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 400)


def test_assign_with_invalid_cpu_quantity_is_a_400(node, colony):
    executor = colony.add_executor()
    msg = {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": -1, "availablecpu": "lots"}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 400)


def test_submit_with_invalid_mem_condition_is_a_400(node, colony):
    executor = colony.add_executor()
    spec = process_spec(colony.name)
    spec["conditions"]["mem"] = "many bytes"
    assert_refused(post_raw(node.url, signed_msg({"msgtype": "submitfuncspecmsg", "spec": spec}, executor.prvkey)), 400)


def test_submit_to_a_colony_that_does_not_exist_is_refused(node, colony):
    executor = colony.add_executor()
    msg = {"msgtype": "submitfuncspecmsg", "spec": process_spec("no-such-colony-" + colony.name)}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)))


def test_add_colony_with_an_empty_name_is_a_400(node):
    colonyid = crypto.id_from_private_key(crypto.generate_private_key())
    msg = {"msgtype": "addcolonymsg", "colony": {"colonyid": colonyid, "name": ""}}
    assert_refused(post_raw(node.url, signed_msg(msg, dev.SERVER_PRVKEY)), 400)


# --- values the JSON parser accepts but the node cannot store -------------------------------
def test_deeply_nested_payload_is_a_400(node, colony):
    executor = colony.add_executor()
    depth = 100_000
    payload = b64(b'{"msgtype":"submitfuncspecmsg","spec":{"args":' + b"[" * depth + b"]" * depth + b"}}")
    assert_refused(post_raw(node.url, signed("submitfuncspecmsg", payload, executor.prvkey)), 400)


@pytest.mark.parametrize("field", ["maxexectime", "maxwaittime", "maxretries", "priority"])
def test_spec_integer_beyond_int64_is_a_400(node, colony, field):
    executor = colony.add_executor()
    msg = {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name, **{field: 2**70})}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 400)


@pytest.mark.parametrize(
    "msg",
    [
        {"msgtype": "getprocesshistmsg", "colonyname": "COLONY", "executorid": "", "seconds": 2**70, "state": 0},
        {"msgtype": "getlogsmsg", "colonyname": "COLONY", "executorname": "EXECUTOR", "count": 10, "since": 2**70},
        {"msgtype": "getlogsmsg", "colonyname": "COLONY", "processid": "ab" * 32, "count": 10, "since": 2**70},
    ],
    ids=["hist-seconds", "executor-logs-since", "process-logs-since"],
)
def test_query_integer_beyond_int64_is_a_400(node, colony, msg):
    executor = colony.add_executor()
    text = json.dumps(msg).replace('"COLONY"', json.dumps(colony.name)).replace('"EXECUTOR"', json.dumps(executor.name))
    assert_refused(post_raw(node.url, signed_msg(json.loads(text), executor.prvkey)), 400)


@pytest.mark.parametrize("seconds", [2**40, 2**62])
def test_huge_maxwaittime_is_refused_or_accepted_but_never_a_server_error(node, colony, seconds):
    executor = colony.add_executor()
    msg = {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name, maxwaittime=seconds)}
    status, env = post_raw(node.url, signed_msg(msg, executor.prvkey))
    if status != 200:
        assert_refused((status, env), 400)
    else:
        assert env["payload"]["spec"]["maxwaittime"] == seconds


@pytest.mark.parametrize("seconds", [2**33, 2**62])
def test_huge_maxexectime_does_not_poison_the_queue(node, colony, seconds):
    """A huge (int64) maxexectime is refused at submit, or the process can be assigned like any other."""
    executor = colony.add_executor()
    msg = {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name, maxexectime=seconds, priority=10)}
    status, env = post_raw(node.url, signed_msg(msg, executor.prvkey))
    if status != 200:
        assert_refused((status, env), 400)
    normal = call(node.url, {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name)}, executor.prvkey)
    assign = {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": -1}
    got = []
    for _ in range(2 if status == 200 else 1):
        assign_status, reply = post_raw(node.url, signed_msg(assign, executor.prvkey))
        assert assign_status == 200, reply
        got.append(reply["payload"]["processid"])
    assert normal["processid"] in got


@pytest.mark.parametrize("quantity", [{"cpu": "inf"}, {"mem": "infGi"}, {"cpu": "nan"}])
def test_submit_with_non_finite_quantity_is_a_400(node, colony, quantity):
    executor = colony.add_executor()
    spec = process_spec(colony.name)
    spec["conditions"].update(quantity)
    assert_refused(post_raw(node.url, signed_msg({"msgtype": "submitfuncspecmsg", "spec": spec}, executor.prvkey)), 400)


@pytest.mark.parametrize("quantity", [{"cpu": "1e30"}, {"mem": "1e30Gi"}, {"cpu": "1e400m"}])
def test_submit_with_enormous_quantity_is_never_a_server_error(node, colony, quantity):
    executor = colony.add_executor()
    spec = process_spec(colony.name)
    spec["conditions"].update(quantity)
    status, env = post_raw(node.url, signed_msg({"msgtype": "submitfuncspecmsg", "spec": spec}, executor.prvkey))
    if status != 200:
        assert_refused((status, env), 400)


@pytest.mark.parametrize("quantity", [{"availablecpu": "inf"}, {"availablemem": "inf"}, {"availablecpu": "1e400"}, {"availablemem": "nanGi"}])
def test_assign_with_non_finite_quantity_is_a_400(node, colony, quantity):
    executor = colony.add_executor()
    msg = {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": -1, **quantity}
    assert_refused(post_raw(node.url, signed_msg(msg, executor.prvkey)), 400)


# --- /pubsub --------------------------------------------------------------------------------
def pubsub_reply(node, text: str) -> dict[str, Any]:
    """Send one envelope on a fresh /pubsub socket; the first reply envelope with its payload decoded."""
    from websocket import create_connection

    ws = create_connection(f"ws://127.0.0.1:{node.port}/pubsub", timeout=10)
    try:
        ws.send(text)
        raw = ws.recv()
    finally:
        ws.close()
    assert raw, "the node closed the subscription without an error reply"
    env = json.loads(raw)
    env["payload"] = json.loads(base64.b64decode(env["payload"]))
    return env


def assert_pubsub_refused(env: dict[str, Any], status: int) -> None:
    assert env["error"] is True
    assert env["payloadtype"] == "error"
    assert env["payload"]["status"] == status
    assert env["payload"]["message"].strip()


def test_pubsub_unparseable_envelope_gets_an_error_reply(node):
    assert_pubsub_refused(pubsub_reply(node, "{not json"), 400)


def test_pubsub_message_type_not_a_subscription_gets_an_error_reply(node):
    payload = b64(json.dumps({"msgtype": "getcoloniesmsg"}))
    assert_pubsub_refused(pubsub_reply(node, envelope("getcoloniesmsg", payload, crypto.sign(payload, dev.SERVER_PRVKEY)).decode()), 400)


def test_pubsub_bad_signature_gets_a_403_reply(node):
    payload = b64(json.dumps({"msgtype": "subscribeprocessmsg", "processid": "ab" * 32, "state": 2, "timeout": 1}))
    assert_pubsub_refused(pubsub_reply(node, envelope("subscribeprocessmsg", payload, "00" * 64).decode()), 403)


def test_pubsub_unknown_process_gets_a_404_reply(node):
    payload = b64(json.dumps({"msgtype": "subscribeprocessmsg", "processid": "ab" * 32, "state": 2, "timeout": 1}))
    key = crypto.generate_private_key()
    assert_pubsub_refused(pubsub_reply(node, envelope("subscribeprocessmsg", payload, crypto.sign(payload, key)).decode()), 404)


def test_pubsub_wrong_field_type_gets_a_400_reply(node):
    payload = b64(json.dumps({"msgtype": "subscribeprocessmsg", "processid": "ab" * 32, "state": "done", "timeout": 1}))
    key = crypto.generate_private_key()
    assert_pubsub_refused(pubsub_reply(node, envelope("subscribeprocessmsg", payload, crypto.sign(payload, key)).decode()), 400)


def test_pubsub_invalid_utf8_payload_gets_a_400_reply(node):
    payload = b64(b'{"msgtype": "subscribeprocessmsg", "processid": "\xff\xfe", "state": 2, "timeout": 1}')
    key = crypto.generate_private_key()
    assert_pubsub_refused(pubsub_reply(node, envelope("subscribeprocessmsg", payload, crypto.sign(payload, key)).decode()), 400)


# --- afterwards -----------------------------------------------------------------------------
def test_node_still_serves_normal_requests_after_bad_input(node, colony):
    for body in (b"{not json", b"\x00" * 100, envelope("getcolonymsg", "!!", "00" * 65)):
        assert_refused(post_raw(node.url, body))
    assert_node_still_serves(node, colony)
    executor = colony.add_executor()
    process = call(node.url, {"msgtype": "submitfuncspecmsg", "spec": process_spec(colony.name)}, executor.prvkey)
    assigned = call(node.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 5}, executor.prvkey)
    assert assigned["processid"] == process["processid"]
