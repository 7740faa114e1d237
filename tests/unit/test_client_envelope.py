"""Client envelopes and reply decoding, against a tiny loopback endpoint (no real node)."""
from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from aiohttp import web

from colonies import crypto, models, wire
from colonies.client import AsyncClient, Client, func_spec

KEY = crypto.generate_private_key()
OTHER_KEY = crypto.generate_private_key()

Reply = Callable[[dict[str, Any], str], tuple[int, bytes]]


def ok(payloadtype: str, payload: Any) -> tuple[int, bytes]:
    return 200, wire.reply_bytes(payloadtype, json.dumps(payload).encode())


class FakeNode:
    """Records each request (envelope, inner message, signer id) and answers via `reply`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, Any], dict[str, Any], str]] = []
        self.stamps: list[tuple[Any, Any]] = []  # (nonce, timestamp) of each request
        self.reply: Reply = lambda msg, signer: ok(msg["msgtype"], {})
        self.delay = 0.0
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _record(self, raw: bytes) -> tuple[dict[str, Any], str]:
        envelope = json.loads(raw)
        payload = envelope["payload"]
        msg = json.loads(base64.b64decode(payload))
        signer = crypto.recover_id(payload, envelope["signature"]) if envelope["signature"] else ""
        # strict-mode fields (node/replay.py): kept apart, so tests compare the message itself
        self.stamps.append((msg.pop("nonce", None), msg.pop("timestamp", None)))
        self.requests.append((envelope, msg, signer))
        return msg, signer

    async def _api(self, request: web.Request) -> web.Response:
        msg, signer = self._record(await request.read())
        await asyncio.sleep(self.delay)
        status, body = self.reply(msg, signer)
        return web.Response(status=status, body=body, content_type="text/plain")

    async def _pubsub(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive()
        msg, signer = self._record(first.data.encode())
        if msg["processid"] == "missing":
            await ws.send_str(wire.error_reply_bytes(400, "Invalid process with Id missing").decode())
        elif msg["state"] == models.FAILED:
            process = models.Process(processid=msg["processid"], state=models.FAILED)
            await ws.send_str(wire.reply_bytes("subscribeprocessmsg", msgspec.json.encode(process)).decode())
        else:
            try:  # until the client hangs up or the subscription times out
                await ws.receive(timeout=msg["timeout"])
            except asyncio.TimeoutError:
                pass
        await ws.close()
        return ws

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/api", self._api)
        app.router.add_get("/pubsub", self._pubsub)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def node() -> Iterator[FakeNode]:
    fake = FakeNode()
    fake.start()
    yield fake
    fake.stop()


async def test_request_is_signed_by_client_key(node: FakeNode) -> None:
    node.reply = lambda msg, signer: ok("getcolonymsg", {"colonyid": "c" * 64, "name": msg["colonyname"]})
    async with AsyncClient(node.url, KEY) as client:
        colony = await client.get_colony("dev")
    assert colony == models.Colony(colonyid="c" * 64, name="dev")
    envelope, msg, signer = node.requests[0]
    assert envelope["payloadtype"] == msg["msgtype"] == "getcolonymsg"
    assert msg["colonyname"] == "dev"
    assert signer == crypto.id_from_private_key(KEY)
    assert signer == crypto.recover_id(envelope["payload"], envelope["signature"])


async def test_prvkey_override_signs_with_that_key(node: FakeNode) -> None:
    async with AsyncClient(node.url, KEY) as client:
        await client.approve_executor("dev", "worker", prvkey=OTHER_KEY)
    _, msg, signer = node.requests[0]
    assert msg == {"msgtype": "approveexecutormsg", "colonyname": "dev", "executorname": "worker"}
    assert signer == crypto.id_from_private_key(OTHER_KEY)


async def test_every_request_carries_a_new_nonce_and_its_signing_time(node: FakeNode) -> None:
    before = time.time_ns()
    async with AsyncClient(node.url, KEY) as client:
        for _ in range(3):
            await client.approve_executor("dev", "worker")
    nonces = [nonce for nonce, _ in node.stamps]
    assert len(set(nonces)) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", n) for n in nonces)
    assert all(before <= stamp <= time.time_ns() for _, stamp in node.stamps)


async def test_unsigned_messages_need_no_key_but_others_do(node: FakeNode) -> None:
    node.reply = lambda msg, signer: ok("versionmsg", {"buildversion": "1.2", "buildtime": "t", "msgtype": "versionmsg"})
    async with AsyncClient(node.url) as client:
        version = await client.version()
        with pytest.raises(ValueError):
            await client.list_colonies()
    assert (version.buildversion, version.buildtime) == ("1.2", "t")
    assert node.requests[0][0]["signature"] == ""


async def test_error_reply_raises_rpc_error(node: FakeNode) -> None:
    node.reply = lambda msg, signer: (404, wire.error_reply_bytes(404, "No process available for assignment"))
    async with AsyncClient(node.url, KEY) as client:
        with pytest.raises(wire.RPCError) as info:
            await client.assign("dev", 1)
    assert info.value.status == 404
    assert info.value.message == "No process available for assignment"
    assert node.requests[0][1] == {
        "msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 1, "availablecpu": "", "availablemem": ""
    }


async def test_empty_and_foreign_bodies_raise_rpc_error(node: FakeNode) -> None:
    async with AsyncClient(node.url, KEY) as client:
        node.reply = lambda msg, signer: (200, b"")  # upstream's silent membership failure
        with pytest.raises(wire.RPCError) as info:
            await client.colony_stats("dev")
        assert info.value.status == 403
        node.reply = lambda msg, signer: (502, b"<html>bad gateway</html>")
        with pytest.raises(wire.RPCError) as info:
            await client.get_process("p" * 64)
        assert info.value.status == 502


async def test_null_lists_and_typed_replies(node: FakeNode) -> None:
    process = models.Process(processid="p" * 64, spec=func_spec("echo", "dev", "cli", args=[1, "a"]))
    replies = {
        "getexecutorsmsg": None,
        "getprocessesmsg": [msgspec.to_builtins(process)],
        "submitfuncspecmsg": msgspec.to_builtins(process),
        "getpausestatusmsg": {"msgtype": "getpausestatusmsg", "colonyname": "dev", "ispaused": True},
    }

    def reply(msg: dict[str, Any], signer: str) -> tuple[int, bytes]:
        payloadtype = "pausestatusreplymsg" if msg["msgtype"] == "getpausestatusmsg" else msg["msgtype"]
        return ok(payloadtype, replies[msg["msgtype"]])

    node.reply = reply
    async with AsyncClient(node.url, KEY) as client:
        assert await client.list_executors("dev") == []
        assert await client.list_processes("dev", models.WAITING, 10) == [process]
        submitted = await client.submit(process.spec)
        assert await client.get_pause_status("dev") is True
    assert submitted.spec.args == [1, "a"] and submitted.spec.maxexectime == -1
    sent = node.requests[2][1]["spec"]
    assert sent["funcname"] == "echo" and sent["conditions"]["executortype"] == "cli"


async def test_calls_time_out_by_default(node: FakeNode) -> None:
    node.delay = 2.0
    async with AsyncClient(node.url, KEY, timeout=0.3) as client:
        with pytest.raises(TimeoutError):
            await client.get_colony("dev")


async def test_close_and_fail_accept_a_process(node: FakeNode) -> None:
    process = models.Process(processid="q" * 64)
    async with AsyncClient(node.url, KEY) as client:
        await client.close(process, ["out"])
        await client.fail(process.processid, ["boom"])
    assert node.requests[0][1] == {"msgtype": "closesuccessfulmsg", "processid": "q" * 64, "out": ["out"], "attempt": ""}
    assert node.requests[1][1] == {"msgtype": "closefailedmsg", "processid": "q" * 64, "errors": ["boom"], "attempt": ""}


async def test_a_close_of_a_running_process_names_the_run_it_closes(node: FakeNode) -> None:
    started = "2026-01-02T03:04:05.123456789Z"
    process = models.Process(processid="q" * 64, state=models.RUNNING, starttime=started)
    async with AsyncClient(node.url, KEY) as client:
        await client.set_output(process, [1])
        await client.close(process, ["out"])
    assert [msg["attempt"] for _, msg, _ in node.requests] == [started, started]


async def test_wait_returns_first_terminal_state_and_raises_ws_errors(node: FakeNode) -> None:
    async with AsyncClient(node.url, KEY) as client:
        process = await client.wait("w" * 64, timeout=3)
        with pytest.raises(wire.RPCError) as info:
            await client.wait("missing", timeout=3, stop_states=())
    assert process.state == models.FAILED
    subscribed = sorted(msg["state"] for _, msg, _ in node.requests if msg["processid"] == "w" * 64)
    assert subscribed == [models.SUCCESS, models.FAILED, models.CANCELLED]
    assert all(signer == crypto.id_from_private_key(KEY) for _, _, signer in node.requests)
    assert info.value.status == 400


def test_sync_client_works_inside_a_running_loop(node: FakeNode) -> None:
    node.reply = lambda msg, signer: ok("getcoloniesmsg", [{"colonyid": "c" * 64, "name": "dev"}])

    async def inside_loop() -> list[models.Colony]:
        with Client(node.url, KEY) as client:
            return client.list_colonies()

    assert asyncio.run(inside_loop()) == [models.Colony(colonyid="c" * 64, name="dev")]


def test_decode_reply_error_payload() -> None:
    with pytest.raises(wire.RPCError) as info:
        wire.decode_reply(wire.error_reply_bytes(403, "Access denied"))
    assert (info.value.status, info.value.message) == (403, "Access denied")
    assert wire.decode_reply(wire.reply_bytes("addlogmsg", b"{}")) == ("addlogmsg", b"{}")
