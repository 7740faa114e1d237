"""Reply shapes upstream clients (the Go CLI, pycolonies) read, checked on the raw wire (spec §1.3, §2.1)."""
from __future__ import annotations

import json
import urllib.request

from colonies import dev, wire
from tests.support.rpc import call


def raw_reply(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(url + "/api", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def test_server_info_needs_no_signature_and_lists_the_http_backend(node):
    reply = call(node.url, {"msgtype": "getserverinfomsg"}, None)
    assert set(reply) >= {"buildversion", "buildtime", "backends"}
    (backend,) = reply["backends"]
    assert backend["type"] == "http"
    assert backend["port"] == node.port


def test_version_reply_is_unsigned_and_carries_build_fields(node):
    reply = call(node.url, {"msgtype": "versionmsg"}, None)
    assert reply["msgtype"] == "versionmsg"
    assert isinstance(reply["buildversion"], str) and reply["buildversion"]
    assert "buildtime" in reply


def test_success_reply_envelope_fields_are_in_go_order(node):
    raw = raw_reply(node.url, wire.build_request({"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY))
    assert [k for k, _ in json.loads(raw, object_pairs_hook=lambda pairs: pairs)] == ["payloadtype", "payload", "error"]


def test_health_endpoint_answers_200(node):
    with urllib.request.urlopen(node.url + "/health", timeout=10) as response:
        assert response.status == 200
