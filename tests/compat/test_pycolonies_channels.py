"""Process channels through pycolonies 1.0.25: channel_append, channel_read, subscribe_channel
(spec §2.11, §4.8)."""
from __future__ import annotations

import threading
import time

import pytest
from crypto import Crypto
from pycolonies import Colonies, ColoniesConnectionError, ColoniesError, func_spec


def chat_process(client, colony, executor, channels=("chat",)):
    """(process, user) — a process declaring `channels`, submitted by a user, assigned to `executor`."""
    user = colony.add_user()
    spec = func_spec("chat", [], colony.name, "test")
    spec.channels = list(channels)
    process = client.submit_func_spec(spec, user.prvkey)
    assert process.spec.channels == list(channels)
    assert client.assign(colony.name, 5, executor.prvkey).processid == process.processid
    return process, user


def test_initiator_and_executor_talk_over_a_channel(client, colony, executor):
    process, user = chat_process(client, colony, executor)
    pid = process.processid
    assert client.channel_append(pid, "chat", 1, "What is 2+2?", user.prvkey) == {}
    assert client.channel_append(pid, "chat", 1, b"4", executor.prvkey, in_reply_to=1) == {}
    for key in (user.prvkey, executor.prvkey):
        entries = client.channel_read(pid, "chat", 0, 0, key)
        assert [e["payload"] for e in entries] == [b"What is 2+2?", b"4"]
        assert [e["senderid"] for e in entries] == [user.id, executor.id]
        assert entries[1]["inreplyto"] == 1
        assert [e["type"] for e in entries] == ["data", "data"]


def test_channel_read_pages_by_log_index(client, colony, executor):
    process, user = chat_process(client, colony, executor)
    for i in range(1, 6):
        client.channel_append(process.processid, "chat", i, f"token{i}", executor.prvkey)
    page = client.channel_read(process.processid, "chat", 2, 2, user.prvkey)
    assert [e["payload"] for e in page] == [b"token3", b"token4"]
    assert client.channel_read(process.processid, "chat", 5, 0, user.prvkey) == []


def test_end_and_error_payload_types(client, colony, executor):
    process, user = chat_process(client, colony, executor)
    client.channel_append(process.processid, "chat", 1, "partial", executor.prvkey)
    client.channel_append(process.processid, "chat", 2, "bad input", executor.prvkey, payload_type="error")
    client.channel_append(process.processid, "chat", 3, "", executor.prvkey, payload_type="end")
    entries = client.channel_read(process.processid, "chat", 0, 0, user.prvkey)
    assert [e["type"] for e in entries] == ["data", "error", "end"]


def test_a_third_party_is_refused(client, colony, executor):
    process, _ = chat_process(client, colony, executor)
    other = colony.add_user()
    with pytest.raises(ColoniesConnectionError, match="Not authorized"):
        client.channel_append(process.processid, "chat", 1, "hi", other.prvkey)
    with pytest.raises(ColoniesConnectionError, match="Not authorized"):
        client.channel_read(process.processid, "chat", 0, 0, other.prvkey)
    with pytest.raises(ColoniesConnectionError, match="not a member"):
        client.channel_read(process.processid, "chat", 0, 0, Crypto().prvkey())


def test_an_undeclared_channel_is_not_found(client, colony, executor):
    process, user = chat_process(client, colony, executor)
    with pytest.raises(ColoniesConnectionError, match="Channel not found"):
        client.channel_append(process.processid, "other", 1, "hi", user.prvkey)


def test_subscribe_returns_the_backlog_and_live_entries_until_the_timeout(client, colony, executor):
    process, user = chat_process(client, colony, executor)
    client.channel_append(process.processid, "chat", 1, "already there", executor.prvkey)
    errors: list[BaseException] = []

    def talk() -> None:
        try:
            writer = Colonies("127.0.0.1", client.port)
            time.sleep(0.5)
            writer.channel_append(process.processid, "chat", 2, "live one", executor.prvkey)
            writer.channel_append(process.processid, "chat", 3, "", executor.prvkey, payload_type="end")
        except BaseException as err:  # reported by the test thread
            errors.append(err)

    thread = threading.Thread(target=talk)
    started = time.monotonic()
    thread.start()
    try:
        entries = client.subscribe_channel(process.processid, "chat", user.prvkey, timeout=2)
    finally:
        thread.join(10)
    assert not errors
    assert 1.5 < time.monotonic() - started < 9  # ended by its 2 s timeout, well before a hang
    # an empty payload is sent as "" (pycolonies only decodes a non-empty one and leaves "" as is)
    assert [e["payload"] for e in entries] == [b"already there", b"live one", ""]
    assert [e["type"] for e in entries] == ["data", "data", "end"]


def test_subscribe_with_a_callback_stops_when_the_callback_says_so(client, colony, executor):
    process, user = chat_process(client, colony, executor)
    for i in range(1, 4):
        client.channel_append(process.processid, "chat", i, f"m{i}", executor.prvkey)
    batches: list[list[bytes]] = []

    def on_entries(entries):
        batches.append([e["payload"] for e in entries])
        return False

    started = time.monotonic()
    assert client.subscribe_channel(process.processid, "chat", user.prvkey, after_seq=1, timeout=10, callback=on_entries) is None
    assert time.monotonic() - started < 9  # the callback ended it, not the 10 s timeout
    assert batches == [[b"m2", b"m3"]]


def test_subscribe_by_a_third_party_raises(client, colony, executor):
    process, _ = chat_process(client, colony, executor)
    other = colony.add_executor()
    with pytest.raises(ColoniesError, match="Not authorized"):
        client.subscribe_channel(process.processid, "chat", other.prvkey, timeout=2)


def test_the_log_outlives_the_process(client, colony, executor):
    process, user = chat_process(client, colony, executor)
    client.channel_append(process.processid, "chat", 1, "final answer", executor.prvkey)
    client.close(process.processid, ["done"], executor.prvkey)
    with pytest.raises(ColoniesConnectionError):
        client.channel_append(process.processid, "chat", 2, "after the end", executor.prvkey)
    assert [e["payload"] for e in client.channel_read(process.processid, "chat", 0, 0, user.prvkey)] == [b"final answer"]
