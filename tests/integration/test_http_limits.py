"""Limits that bound what one client can cost the node (docs/security.md, "Limits", "Rate
limiting"): compressed bodies, half-sent headers, idle connections, reply size, rates."""
from __future__ import annotations

import gzip
import http.client
import json
import socket
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator

import pytest

from colonies import crypto, dev, wire
from tests.integration.test_bad_input import assert_refused, process_spec
from tests.support.nodes import RunningNode, start_node
from tests.support.rpc import call, post_raw

LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(
        tmp_path_factory.mktemp("limited"),
        max_body_bytes=LIMIT,
        header_timeout=0.5,
        keepalive_timeout=0.5,
        max_reply_bytes=64 * 1024,
    )
    yield running
    running.stop()


def send(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict, str | None]:
    """(HTTP status, reply envelope with its payload decoded, Retry-After header)."""
    request = urllib.request.Request(url + "/api", data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw, retry_after = response.status, response.read(), response.headers.get("Retry-After")
    except urllib.error.HTTPError as err:
        status, raw, retry_after = err.code, err.read(), err.headers.get("Retry-After")
    envelope = json.loads(raw)
    envelope["payload"] = json.loads(wire.b64decode(envelope["payload"])) if envelope.get("payload") else None
    return status, envelope, retry_after


def post(url: str, body: bytes, encoding: str) -> tuple[int, dict]:
    status, envelope, _ = send(url, body, {"Content-Encoding": encoding})
    return status, envelope


def version_request() -> bytes:
    return wire.build_request({"msgtype": "versionmsg"}, None)


def zeros_gzip(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + compressor.flush()


# --- compressed bodies ------------------------------------------------------------------------
def test_a_gzip_body_within_the_limit_is_served(limited):
    status, envelope = post(limited.url, gzip.compress(version_request()), "gzip")
    assert status == 200 and not envelope["error"]


def test_a_deflate_body_within_the_limit_is_served(limited):
    status, envelope = post(limited.url, zlib.compress(version_request()), "deflate")
    assert status == 200 and not envelope["error"]


def test_a_gzip_bomb_is_refused_at_the_limit_naming_it(limited):
    bomb = zeros_gzip(256 * 1024 * 1024)  # 256 MiB inflated, about 250 KB sent
    assert len(bomb) < LIMIT
    message = assert_refused(post(limited.url, bomb, "gzip"), 413)
    assert "max_body_bytes" in message and str(LIMIT) in message
    assert post_raw(limited.url, version_request())[0] == 200


def test_an_unsupported_encoding_is_refused_with_415(limited):
    message = assert_refused(post(limited.url, b"anything", "br"), 415)
    assert "Content-Encoding" in message


def test_a_corrupt_gzip_body_is_a_400(limited):
    assert_refused(post(limited.url, gzip.compress(version_request())[:-6], "gzip"), 400)
    assert_refused(post(limited.url, b"not gzip at all", "gzip"), 400)


# --- connections ------------------------------------------------------------------------------
def _closed_by_node(sock: socket.socket) -> bool:
    sock.settimeout(30)  # far beyond the node's 0.5 s: only a node that never closes fails
    try:
        while sock.recv(4096):
            pass
        return True
    except (TimeoutError, socket.timeout):
        return False
    except ConnectionResetError:
        return True


def test_half_sent_headers_time_out_and_do_not_stop_real_clients(limited):
    sockets = []
    try:
        for _ in range(100):
            sock = socket.create_connection(("127.0.0.1", limited.port))
            sock.sendall(b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            sockets.append(sock)
        assert post_raw(limited.url, version_request())[0] == 200
        assert all(_closed_by_node(sock) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_a_connection_that_sends_nothing_times_out(limited):
    with socket.create_connection(("127.0.0.1", limited.port)) as sock:
        assert _closed_by_node(sock)


def test_an_idle_keep_alive_connection_times_out(limited):
    connection = http.client.HTTPConnection("127.0.0.1", limited.port, timeout=30)
    connection.request("GET", "/health")
    response = connection.getresponse()
    response.read()
    assert response.status == 200 and not response.will_close
    assert connection.sock is not None
    assert _closed_by_node(connection.sock)
    connection.close()


# --- reply size ---------------------------------------------------------------------------------
def test_a_list_reply_stops_before_the_reply_budget(limited):
    owner = crypto.generate_private_key()
    name = "reply-budget"
    call(limited.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(owner), "name": name}}, dev.SERVER_PRVKEY)
    user = crypto.generate_private_key()
    user_msg = {"colonyname": name, "userid": crypto.id_from_private_key(user), "name": "u", "email": "", "phone": ""}
    call(limited.url, {"msgtype": "addusermsg", "user": user_msg}, owner)
    for _ in range(5):
        spec = process_spec(name, args=["x" * 30_000])
        call(limited.url, {"msgtype": "submitfuncspecmsg", "spec": spec}, user)
    listed = call(limited.url, {"msgtype": "getprocessesmsg", "colonyname": name, "count": 100, "state": 0}, user)
    assert len(listed) == 2  # whole processes of about 30 KB each within 64 KiB
    assert all(p["spec"]["args"] == ["x" * 30_000] for p in listed)
    assert len(call(limited.url, {"msgtype": "getprocessesmsg", "colonyname": name, "count": 1, "state": 0}, user)) == 1


# --- rate limits ----------------------------------------------------------------------------------
def _retry_after(url: str, body: bytes) -> tuple[int, str | None, dict]:
    status, envelope, retry_after = send(url, body)
    return status, retry_after, envelope["payload"] or {}


def test_rate_limit_per_address_answers_429_with_retry_after(tmp_path):
    running = start_node(tmp_path, rate_limit_address=0.01, rate_limit_burst=1)  # one request, then one per 100 s
    try:
        assert _retry_after(running.url, version_request())[0] == 200
        status, retry_after, payload = _retry_after(running.url, version_request())
        assert status == 429 and retry_after is not None and int(retry_after) >= 1
        assert "address" in payload["message"]
    finally:
        running.stop()


def test_rate_limit_per_identity_counts_each_key_apart(tmp_path):
    running = start_node(tmp_path, rate_limit_identity=0.01, rate_limit_burst=1)
    try:
        first, second = crypto.generate_private_key(), crypto.generate_private_key()
        colonies = {"msgtype": "getcoloniesmsg"}
        assert _retry_after(running.url, wire.build_request(colonies, first))[0] == 403  # a stranger, but admitted
        status, retry_after, payload = _retry_after(running.url, wire.build_request(colonies, first))
        assert status == 429 and int(retry_after or 0) >= 1 and "identity" in payload["message"]
        assert _retry_after(running.url, wire.build_request(colonies, second))[0] == 403
        assert _retry_after(running.url, version_request())[0] == 200  # unsigned: no identity to count
    finally:
        running.stop()


def test_rate_limits_are_off_by_default(limited):
    for _ in range(50):
        assert post_raw(limited.url, version_request())[0] == 200
