"""Process channels over the wire and through our SDK (spec §2.11, §4.8): who may use them, the
log's order and paging, payload forms and types, limits, /pubsub streaming, and durability."""
from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
import pytest

from colonies import crypto, wire
from colonies.client import AsyncClient, func_spec
from colonies.messages import ChannelAppendMsg, ChannelReadMsg
from colonies.node.channels import ChannelHub
from colonies.node.handlers import channels as channel_handlers
from tests.support.nodes import start_node
from tests.support.rpc import RPCFailure, call, post_raw


@dataclass
class Chat:
    url: str
    processid: str
    initiator: Any  # Member
    executor: Any  # Member


def submit(url: str, colonyname: str, prvkey: str, channels: list[str] | None = None) -> str:
    spec = {"funcname": "chat", "conditions": {"colonyname": colonyname, "executortype": "test"}, "maxexectime": -1}
    if channels is not None:
        spec["channels"] = channels
    return call(url, {"msgtype": "submitfuncspecmsg", "spec": spec}, prvkey)["processid"]


def assign(url: str, colonyname: str, prvkey: str) -> str:
    return call(url, {"msgtype": "assignprocessmsg", "colonyname": colonyname, "timeout": 5}, prvkey)["processid"]


def running_chat(colony, channels: list[str] | None = None) -> Chat:
    """A process declaring `channels` (default ["chat"]), submitted by a user and assigned to an executor."""
    user, executor = colony.add_user(), colony.add_executor()
    processid = submit(colony.url, colony.name, user.prvkey, channels or ["chat"])
    assert assign(colony.url, colony.name, executor.prvkey) == processid
    return Chat(colony.url, processid, user, executor)


def append(chat: Chat, prvkey: str, sequence: int, payload: Any = "", **fields: Any) -> Any:
    if isinstance(payload, bytes):
        payload = base64.b64encode(payload).decode()
    msg = {"msgtype": "channelappendmsg", "processid": chat.processid, "name": "chat", "sequence": sequence, "payload": payload}
    msg.update(fields)
    return call(chat.url, msg, prvkey)


def read(chat: Chat, prvkey: str, afterseq: int = 0, limit: int = 0, name: str = "chat") -> list[dict[str, Any]]:
    msg = {"msgtype": "channelreadmsg", "processid": chat.processid, "name": name, "afterseq": afterseq, "limit": limit}
    return call(chat.url, msg, prvkey)


def payloads(entries: list[dict[str, Any]]) -> list[bytes]:
    return [base64.b64decode(e.get("payload", "")) for e in entries]


def refused(fn: Any, *args: Any, **kwargs: Any) -> RPCFailure:
    with pytest.raises(RPCFailure) as err:
        fn(*args, **kwargs)
    return err.value


# --- who may use a channel -----------------------------------------------------------------
def test_initiator_and_assigned_executor_append_and_both_read_the_same_log(colony):
    chat = running_chat(colony)
    assert append(chat, chat.initiator.prvkey, 1, b"hello") == {}
    assert append(chat, chat.executor.prvkey, 1, b"hi there", inreplyto=1) == {}
    assert append(chat, chat.initiator.prvkey, 2, b"bye") == {}
    for member in (chat.initiator, chat.executor):
        entries = read(chat, member.prvkey)
        assert payloads(entries) == [b"hello", b"hi there", b"bye"]
        assert [e["senderid"] for e in entries] == [chat.initiator.id, chat.executor.id, chat.initiator.id]
        assert [e["sequence"] for e in entries] == [1, 1, 2]
        assert [e.get("inreplyto", 0) for e in entries] == [0, 1, 0]
        assert {e["type"] for e in entries} == {"data"}
        assert all(e["timestamp"].endswith("Z") and not e["timestamp"].startswith("0001") for e in entries)


def test_a_colony_member_who_is_neither_initiator_nor_assigned_executor_is_refused(colony):
    chat = running_chat(colony)
    for other in (colony.add_user(), colony.add_executor()):
        err = refused(append, chat, other.prvkey, 1, b"sneaky")
        assert err.status == 403 and "Not authorized" in err.message
        err = refused(read, chat, other.prvkey)
        assert err.status == 403 and "Not authorized" in err.message
    assert read(chat, chat.initiator.prvkey) == []


def test_a_caller_outside_the_colony_is_refused(colony):
    chat = running_chat(colony)
    stranger = crypto.generate_private_key()
    assert refused(append, chat, stranger, 1, b"x").status == 403
    assert refused(read, chat, stranger).status == 403


def test_before_assignment_only_the_initiator_may_use_the_channel(colony):
    user, executor = colony.add_user(), colony.add_executor()
    chat = Chat(colony.url, submit(colony.url, colony.name, user.prvkey, ["chat"]), user, executor)
    assert append(chat, user.prvkey, 1, b"queued question") == {}
    assert refused(read, chat, executor.prvkey).status == 403
    assert assign(colony.url, colony.name, executor.prvkey) == chat.processid
    assert payloads(read(chat, executor.prvkey)) == [b"queued question"]


def test_an_undeclared_channel_or_unknown_process_is_not_found(colony):
    chat = running_chat(colony)
    err = refused(read, chat, chat.initiator.prvkey, name="other")
    assert (err.status, err.message) == (404, "Channel not found")
    msg = {"msgtype": "channelappendmsg", "processid": chat.processid, "name": "other", "sequence": 1, "payload": ""}
    assert refused(call, chat.url, msg, chat.executor.prvkey).status == 404
    plain = Chat(colony.url, submit(colony.url, colony.name, chat.initiator.prvkey), chat.initiator, chat.executor)
    assert refused(read, plain, chat.initiator.prvkey).status == 404
    missing = Chat(colony.url, "0" * 64, chat.initiator, chat.executor)
    assert refused(read, missing, chat.initiator.prvkey).status == 404


def test_channels_of_one_process_are_separate_logs(colony):
    chat = running_chat(colony, ["chat", "control"])
    append(chat, chat.initiator.prvkey, 1, b"to chat")
    call(chat.url, {"msgtype": "channelappendmsg", "processid": chat.processid, "name": "control", "sequence": 1, "payload": "c3RvcA=="}, chat.initiator.prvkey)
    assert payloads(read(chat, chat.executor.prvkey)) == [b"to chat"]
    assert payloads(read(chat, chat.executor.prvkey, name="control")) == [b"stop"]


# --- the log -----------------------------------------------------------------------------------
def test_afterseq_is_a_log_index_and_limit_caps_the_reply(colony):
    chat = running_chat(colony)
    for i in range(1, 6):
        append(chat, chat.executor.prvkey, 100 + i, f"m{i}".encode())
    key = chat.initiator.prvkey
    assert payloads(read(chat, key, afterseq=0)) == [b"m1", b"m2", b"m3", b"m4", b"m5"]
    assert payloads(read(chat, key, afterseq=2)) == [b"m3", b"m4", b"m5"]
    assert payloads(read(chat, key, afterseq=1, limit=2)) == [b"m2", b"m3"]
    assert payloads(read(chat, key, afterseq=0, limit=1)) == [b"m1"]
    assert read(chat, key, afterseq=5) == []
    assert read(chat, key, afterseq=50) == []
    assert payloads(read(chat, key, afterseq=-3, limit=-1)) == [b"m1", b"m2", b"m3", b"m4", b"m5"]


def test_entries_keep_arrival_order_whatever_their_sequence_numbers(colony):
    chat = running_chat(colony)
    for sequence, text in ((3, b"third sent first"), (1, b"first"), (2, b"second")):
        append(chat, chat.executor.prvkey, sequence, text)
    entries = read(chat, chat.initiator.prvkey)
    assert [e["sequence"] for e in entries] == [3, 1, 2]


def test_a_repeated_sequence_from_the_same_sender_is_stored_once(colony):
    chat = running_chat(colony)
    assert append(chat, chat.executor.prvkey, 7, b"once") == {}
    assert append(chat, chat.executor.prvkey, 7, b"once") == {}  # a retry: accepted, not stored again
    assert append(chat, chat.initiator.prvkey, 7, b"same number, other sender") == {}
    assert payloads(read(chat, chat.initiator.prvkey)) == [b"once", b"same number, other sender"]


def test_payload_may_be_base64_text_or_an_array_of_byte_values(colony):
    chat = running_chat(colony)
    raw = bytes(range(256))
    append(chat, chat.initiator.prvkey, 1, base64.b64encode(raw).decode())
    append(chat, chat.initiator.prvkey, 2, list(raw))
    append(chat, chat.initiator.prvkey, 3, None)
    entries = read(chat, chat.executor.prvkey)
    assert payloads(entries) == [raw, raw, b""]
    assert all(isinstance(e.get("payload", ""), str) for e in entries)


def test_malformed_payloads_are_refused_with_400(colony):
    chat = running_chat(colony)
    assert refused(append, chat, chat.initiator.prvkey, 1, "not base64!").status == 400
    assert refused(append, chat, chat.initiator.prvkey, 2, [1, 256]).status == 400
    assert refused(append, chat, chat.initiator.prvkey, 3, [-1]).status == 400
    assert refused(append, chat, chat.initiator.prvkey, 4, {"a": 1}).status == 400
    assert read(chat, chat.initiator.prvkey) == []


def test_end_and_error_types_are_kept_and_an_empty_type_is_data(colony):
    chat = running_chat(colony)
    append(chat, chat.executor.prvkey, 1, b"token", payloadtype="")
    append(chat, chat.executor.prvkey, 2, b"oops", payloadtype="error")
    append(chat, chat.executor.prvkey, 3, b"", payloadtype="end")
    assert [e["type"] for e in read(chat, chat.initiator.prvkey)] == ["data", "error", "end"]
    err = refused(append, chat, chat.executor.prvkey, 4, b"?", payloadtype="bogus")
    assert err.status == 400 and "payloadtype" in err.message


def test_after_the_process_ends_appends_are_refused_and_the_log_stays_readable(colony):
    chat = running_chat(colony)
    append(chat, chat.executor.prvkey, 1, b"result coming")
    call(chat.url, {"msgtype": "closesuccessfulmsg", "processid": chat.processid, "out": []}, chat.executor.prvkey)
    err = refused(append, chat, chat.initiator.prvkey, 1, b"too late")
    assert err.status == 400
    assert payloads(read(chat, chat.initiator.prvkey)) == [b"result coming"]
    assert payloads(read(chat, chat.executor.prvkey)) == [b"result coming"]


def test_a_full_channel_log_refuses_further_entries(colony, monkeypatch):
    monkeypatch.setattr(channel_handlers, "MAX_ENTRIES", 3)
    chat = running_chat(colony)
    for i in range(3):
        append(chat, chat.initiator.prvkey, i, b"x")
    err = refused(append, chat, chat.initiator.prvkey, 99, b"one too many")
    assert err.status == 400 and "channel log is full" in err.message
    assert append(chat, chat.initiator.prvkey, 1, b"x") == {}  # a retry of a stored entry still succeeds
    assert len(read(chat, chat.initiator.prvkey)) == 3


# --- limits ------------------------------------------------------------------------------------
def test_appends_beyond_the_per_process_rate_are_refused_with_429(colony, node, monkeypatch):
    hub = node.node.core.channels
    monkeypatch.setattr(hub, "rate", 0.01)
    monkeypatch.setattr(hub, "burst", 5.0)
    chat, other = running_chat(colony), running_chat(colony)
    for i in range(5):
        append(chat, chat.initiator.prvkey, i, b"x")
    err = refused(append, chat, chat.executor.prvkey, 99, b"x")
    assert err.status == 429 and "rate limit" in err.message
    assert append(other, other.initiator.prvkey, 1, b"another process has its own bucket") == {}
    assert len(read(chat, chat.initiator.prvkey)) == 5


def test_the_default_bucket_allows_a_burst_of_500_then_100_per_second():
    now = [1000.0]
    hub = ChannelHub(clock=lambda: now[0])
    assert sum(hub.allow_append("p") for _ in range(600)) == 500
    now[0] += 0.5
    assert sum(hub.allow_append("p") for _ in range(100)) == 50
    now[0] += 60
    assert sum(hub.allow_append("p") for _ in range(1000)) == 500
    assert hub.allow_append("q")


def test_a_payload_over_10_mib_is_refused_with_413(tmp_path):
    big = start_node(tmp_path, max_body_bytes=64 * 1024 * 1024)
    try:
        owner = crypto.generate_private_key()
        call(big.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(owner), "name": "big"}}, _server_key())
        user = crypto.generate_private_key()
        call(big.url, {"msgtype": "addusermsg", "user": {"colonyname": "big", "userid": crypto.id_from_private_key(user), "name": "u"}}, owner)
        chat = Chat(big.url, submit(big.url, "big", user, ["chat"]), None, None)
        limit = channel_handlers.MAX_PAYLOAD_BYTES
        err = refused(append, chat, user, 1, b"\0" * (limit + 1))
        assert err.status == 413 and "exceeds maximum size" in err.message
        assert append(chat, user, 2, b"\0" * limit) == {}
        (entry,) = read(chat, user)
        assert len(base64.b64decode(entry["payload"])) == limit
    finally:
        big.stop()


def test_a_request_over_the_node_body_limit_is_refused_with_413(colony):
    chat = running_chat(colony)
    msg = {"msgtype": "channelappendmsg", "processid": chat.processid, "name": "chat", "sequence": 1,
           "payload": base64.b64encode(b"\0" * (13 * 1024 * 1024)).decode()}
    status, envelope = post_raw(chat.url, wire.build_request(msg, chat.initiator.prvkey))
    assert status == 413 and envelope["error"]


def _server_key() -> str:
    from colonies import dev

    return dev.SERVER_PRVKEY


# --- durability --------------------------------------------------------------------------------
def test_channel_entries_survive_a_node_restart(tmp_path):
    from colonies import dev

    first = start_node(tmp_path)
    owner = crypto.generate_private_key()
    call(first.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(owner), "name": "durable"}}, dev.SERVER_PRVKEY)
    user, executor = crypto.generate_private_key(), crypto.generate_private_key()
    call(first.url, {"msgtype": "addusermsg", "user": {"colonyname": "durable", "userid": crypto.id_from_private_key(user), "name": "u"}}, owner)
    executor_doc = {"executorid": crypto.id_from_private_key(executor), "executortype": "test", "executorname": "e", "colonyname": "durable"}
    call(first.url, {"msgtype": "addexecutormsg", "executor": executor_doc}, owner)
    call(first.url, {"msgtype": "approveexecutormsg", "colonyname": "durable", "executorname": "e"}, owner)
    processid = submit(first.url, "durable", user, ["chat"])
    assert assign(first.url, "durable", executor) == processid
    chat = Chat(first.url, processid, None, None)
    append(chat, user, 1, b"before restart")
    append(chat, executor, 1, b"reply", inreplyto=1, payloadtype="end")
    before = read(chat, user)
    first.stop()

    second = start_node(tmp_path)
    try:
        chat.url = second.url
        assert read(chat, user) == before
        assert read(chat, executor, afterseq=1) == before[1:]
        append(chat, user, 2, b"after restart")
        assert payloads(read(chat, executor)) == [b"before restart", b"reply", b"after restart"]
    finally:
        second.stop()


# --- our SDK -----------------------------------------------------------------------------------
async def test_the_sdk_sends_channel_messages_with_rpc(colony):
    user, executor = colony.add_user(), colony.add_executor()
    async with AsyncClient(colony.url, user.prvkey) as us, AsyncClient(colony.url, executor.prvkey) as ex:
        spec = msgspec.structs.replace(func_spec("chat", colony.name, "test"), channels=["chat"])
        process = await us.submit(spec)
        assert process.spec.channels == ["chat"]
        await ex.assign(colony.name, 5)
        append_msg = ChannelAppendMsg(msgtype="channelappendmsg", processid=process.processid, name="chat", sequence=1, payload=list(b"abc"))
        assert await us.rpc(append_msg) == ("channelappendmsg", b"{}")
        payloadtype, body = await ex.rpc(ChannelReadMsg(msgtype="channelreadmsg", processid=process.processid, name="chat"))
        assert payloadtype == "channelreadmsg"
        (entry,) = json.loads(body)
        assert base64.b64decode(entry["payload"]) == b"abc" and entry["senderid"] == user.id


# --- /pubsub subscriptions ---------------------------------------------------------------------
def _subscribe_body(chat: Chat, prvkey: str, afterseq: int = 0, timeout: int = 2) -> bytes:
    msg = {"msgtype": "subscribechannelmsg", "processid": chat.processid, "name": "chat", "afterseq": afterseq, "timeout": timeout}
    return wire.build_request(msg, prvkey)


async def _next(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5) -> tuple[str, Any]:
    message = await ws.receive(timeout=timeout)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    envelope = json.loads(message.data)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    if envelope["error"]:
        raise RPCFailure(payload["status"], payload["message"])
    return envelope["payloadtype"], payload


async def _async_append(chat: Chat, prvkey: str, sequence: int, payload: bytes) -> None:
    await asyncio.to_thread(append, chat, prvkey, sequence, payload)


async def test_subscribe_sends_the_backlog_as_one_message_then_each_new_entry_then_an_empty_array(colony):
    chat = running_chat(colony)
    for i in range(1, 4):
        append(chat, chat.initiator.prvkey, i, f"old{i}".encode())
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(chat.url.replace("http", "ws") + "/pubsub") as ws:
            await ws.send_bytes(_subscribe_body(chat, chat.executor.prvkey, afterseq=1, timeout=2))
            payloadtype, backlog = await _next(ws)
            assert payloadtype == "subscribechannelmsg"
            assert payloads(backlog) == [b"old2", b"old3"]
            await _async_append(chat, chat.initiator.prvkey, 10, b"live1")
            await _async_append(chat, chat.initiator.prvkey, 11, b"live2")
            assert payloads((await _next(ws))[1]) == [b"live1"]
            assert payloads((await _next(ws))[1]) == [b"live2"]
            started = asyncio.get_running_loop().time()
            assert (await _next(ws))[1] == []
            assert asyncio.get_running_loop().time() - started < 3
            closing = await ws.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)


async def test_subscribe_to_an_empty_channel_sends_nothing_until_an_entry_arrives(colony):
    chat = running_chat(colony)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(chat.url.replace("http", "ws") + "/pubsub") as ws:
            await ws.send_bytes(_subscribe_body(chat, chat.initiator.prvkey, timeout=3))
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive(timeout=0.5)
            await _async_append(chat, chat.executor.prvkey, 1, b"first")
            (entry,) = (await _next(ws))[1]
            assert base64.b64decode(entry["payload"]) == b"first" and entry["senderid"] == chat.executor.id


async def test_a_subscriber_gets_every_entry_of_a_burst_once_and_in_order(colony):
    chat = running_chat(colony)
    async with aiohttp.ClientSession() as session, AsyncClient(chat.url, chat.executor.prvkey) as ex:
        async with session.ws_connect(chat.url.replace("http", "ws") + "/pubsub") as ws:
            await ws.send_bytes(_subscribe_body(chat, chat.initiator.prvkey, timeout=10))
            await asyncio.sleep(0.2)
            sends = [
                ex.rpc(ChannelAppendMsg(msgtype="channelappendmsg", processid=chat.processid, name="chat", sequence=i, payload=list(str(i).encode())))
                for i in range(60)
            ]
            await asyncio.gather(*sends)
            got: list[dict[str, Any]] = []
            while len(got) < 60:
                _, entries = await _next(ws)
                assert len(entries) == 1
                got.extend(entries)
    stored = read(chat, chat.initiator.prvkey)
    assert got == stored
    assert sorted(e["sequence"] for e in got) == list(range(60))


async def test_subscribe_by_a_third_party_gets_an_error_reply(colony):
    chat = running_chat(colony)
    other = colony.add_user()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(chat.url.replace("http", "ws") + "/pubsub") as ws:
            await ws.send_bytes(_subscribe_body(chat, other.prvkey))
            with pytest.raises(RPCFailure) as err:
                await _next(ws)
            assert err.value.status == 403
        async with session.ws_connect(chat.url.replace("http", "ws") + "/pubsub") as ws:
            msg = {"msgtype": "subscribechannelmsg", "processid": chat.processid, "name": "nope", "timeout": 1}
            await ws.send_bytes(wire.build_request(msg, chat.initiator.prvkey))
            with pytest.raises(RPCFailure) as err:
                await _next(ws)
            assert (err.value.status, err.value.message) == (404, "Channel not found")


async def test_a_subscriber_that_hangs_up_is_forgotten(colony, node):
    chat = running_chat(colony)
    hub = node.node.core.channels
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(chat.url.replace("http", "ws") + "/pubsub") as ws:
            await ws.send_bytes(_subscribe_body(chat, chat.initiator.prvkey, timeout=30))
            for _ in range(50):
                if hub.watching(chat.processid, "chat") == 1:
                    break
                await asyncio.sleep(0.05)
            assert hub.watching(chat.processid, "chat") == 1
    for _ in range(50):
        if hub.watching(chat.processid, "chat") == 0:
            break
        await asyncio.sleep(0.05)
    assert hub.watching(chat.processid, "chat") == 0
