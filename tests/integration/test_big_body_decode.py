"""Bodies above OFFLOOP_BODY_BYTES are decoded a slice at a time: the same outcome, the same
400/403 messages, as a small body that fails the same way."""
from __future__ import annotations

import json
from typing import Any

import msgspec

from colonies import dev
from colonies.messages import SubmitWorkflowSpecMsg
from colonies.node.app import OFFLOOP_BODY_BYTES
from tests.integration.test_bad_input import assert_refused, b64, envelope, signed, signed_msg
from tests.support.rpc import call, post_raw


def _specs(colonyname: str, n: int, **overrides: Any) -> list[dict[str, Any]]:
    specs = [
        {"nodename": f"n{i}", "funcname": "f", "args": ["x" * 40, i], "conditions": {"colonyname": colonyname, "executortype": "big-body"}}
        for i in range(n)
    ]
    for index, fields in overrides.items():
        specs[int(index[1:])].update(fields)
    return specs


def _workflow_msg(colonyname: str, n: int, **overrides: Any) -> dict[str, Any]:
    return {"msgtype": "submitworkflowspecmsg", "spec": {"colonyname": colonyname, "functionspecs": _specs(colonyname, n, **overrides)}}


BIG = 3000  # nodes: a body of about 600 KB


def _whole_decode_error(text: str) -> str:
    """What one msgspec decode of the whole payload says (the small-body path)."""
    try:
        msgspec.json.decode(text.encode(), type=SubmitWorkflowSpecMsg)
    except msgspec.ValidationError as err:
        return f"Failed to parse submitworkflowspecmsg: {err}"
    except msgspec.DecodeError as err:
        return f"Failed to parse submitworkflowspecmsg: payload is not valid UTF-8 JSON ({err})"
    raise AssertionError("the payload decodes")


def test_a_big_workflow_is_submitted(node, colony):
    user = colony.add_executor("big-body")
    msg = _workflow_msg(colony.name, BIG)
    assert len(json.dumps(msg)) * 4 // 3 > OFFLOOP_BODY_BYTES
    graph = call(node.url, msg, user.prvkey)
    assert len(graph["rootprocessids"]) == BIG


def test_a_wrong_type_deep_in_a_big_workflow_is_the_400_of_a_whole_decode(node, colony):
    text = json.dumps(_workflow_msg(colony.name, BIG, i2500={"priority": "high"}))
    message = assert_refused(post_raw(node.url, signed("submitworkflowspecmsg", b64(text), dev.SERVER_PRVKEY)), 400)
    assert message == _whole_decode_error(text)
    assert "$.spec.functionspecs[2500].priority" in message


def test_malformed_json_in_a_big_body_is_the_400_of_a_whole_decode(node, colony):
    text = json.dumps(_workflow_msg(colony.name, BIG))
    text = text.replace('"nodename": "n1500"', '"nodename": "n1500",,')
    message = assert_refused(post_raw(node.url, signed("submitworkflowspecmsg", b64(text), dev.SERVER_PRVKEY)), 400)
    assert message == _whole_decode_error(text)


def test_bad_base64_in_a_big_body_is_a_400(node):
    payload = b64(json.dumps(_workflow_msg("c", BIG)))
    at = len(payload) // 2
    for damaged in (payload[:at] + "%" + payload[at + 1 :], payload[:at] + "=" + payload[at + 1 :], payload + "A"):
        message = assert_refused(post_raw(node.url, signed("submitworkflowspecmsg", damaged, dev.SERVER_PRVKEY)), 400)
        assert message == "Invalid payload: not valid base64"


def test_a_big_body_with_a_bad_signature_is_a_403(node):
    payload = b64(json.dumps(_workflow_msg("c", BIG)))
    message = assert_refused(post_raw(node.url, envelope("submitworkflowspecmsg", payload, "zz" * 65)), 403)
    assert message == "Invalid signature: not hexadecimal"


def test_a_big_body_whose_msgtype_differs_from_its_payloadtype_is_a_400(node):
    msg = _workflow_msg("c", BIG)
    msg["msgtype"] = "submitfuncspecmsg"
    message = assert_refused(post_raw(node.url, signed_msg(msg, dev.SERVER_PRVKEY, "submitworkflowspecmsg")), 400)
    assert message == "Failed to handle submitworkflowspecmsg, msg.MsgType does not match payloadType"
