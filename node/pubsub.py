"""GET /pubsub: websocket subscriptions to process state changes (spec §4.7) and to process
channels (spec §4.8, streamed by node/handlers/channels.py).

Unlike upstream, a subscriber only hears about processes of colonies it is a member of.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec
from aiohttp import WSMsgType, web

from colonies import crypto
from colonies.messages import SubscribeChannelMsg, SubscribeProcessesMsg, SubscribeProcessMsg
from colonies.models import CANCELLED, FAILED, PROCESS_STATES, SUCCESS
from colonies.node.core import CORE_KEY, NodeCore
from colonies.node.events import Subscription
from colonies.node.handlers import channels as channel_handlers
from colonies.node.replay import freshness
from colonies.node.rpc import Call
from colonies.node.store import processes as pq
from colonies.wire import Envelope, RPCError, b64decode, decode_envelope, encode_json, error_reply_bytes, reply_bytes

log = logging.getLogger(__name__)

FIRST_MESSAGE_TIMEOUT = 30.0
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 24 * 3600
TERMINAL = (SUCCESS, FAILED, CANCELLED)
EVENT_PAYLOADTYPE = "subscribeprocessmsg"

_process_msg = msgspec.json.Decoder(SubscribeProcessMsg)
_processes_msg = msgspec.json.Decoder(SubscribeProcessesMsg)
_channel_msg = msgspec.json.Decoder(SubscribeChannelMsg)


async def handle_pubsub(request: web.Request) -> web.WebSocketResponse:
    core = request.app[CORE_KEY]
    ws = web.WebSocketResponse(max_msg_size=1024 * 1024, heartbeat=30.0)
    await ws.prepare(request)
    try:
        first = await ws.receive(timeout=FIRST_MESSAGE_TIMEOUT)
        if first.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return ws
        envelope = decode_envelope(first.data if isinstance(first.data, bytes) else first.data.encode())
        if envelope.payloadtype == channel_handlers.SUBSCRIBE_PAYLOADTYPE:
            await _follow_channel(core, envelope, ws)
            return ws
        sub, timeout, immediate = await _subscribe(core, envelope)
        try:
            await _stream(ws, sub, timeout, immediate)
        finally:
            core.events.unsubscribe(sub)
    except RPCError as err:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(error_reply_bytes(err.status, err.message).decode())
    except (TimeoutError, ConnectionError):
        pass
    finally:
        await ws.close()
    return ws


async def _signer(core: NodeCore, envelope: Envelope) -> str:
    """The subscriber's id; in strict mode only for a fresh payload not seen before (a replayed
    subscription would hand someone else the member's events)."""
    try:
        caller_id = crypto.recover_id(envelope.payload, envelope.signature)
    except crypto.SignatureError as err:
        raise RPCError(403, str(err)) from None
    if core.config.security_strict:
        with contextlib.suppress(msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # the decode below says why
            await core.replay.admit(core.db, freshness(b64decode(envelope.payload)))
    return caller_id


async def _follow_channel(core: NodeCore, envelope: Envelope, ws: web.WebSocketResponse) -> None:
    caller_id = await _signer(core, envelope)
    try:
        msg = _channel_msg.decode(b64decode(envelope.payload))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as err:
        raise RPCError(400, f"Failed to parse {envelope.payloadtype}: {err or 'nested too deeply'}") from None
    if msg.msgtype != envelope.payloadtype:
        raise RPCError(400, "Failed to subscribe to channel, msg.MsgType does not match payloadType")
    await channel_handlers.follow(Call(core, caller_id, envelope.payloadtype), msg, ws)


async def _subscribe(core: NodeCore, envelope: Envelope) -> tuple[Subscription, float, pq.ProcessRecord | None]:
    caller_id = await _signer(core, envelope)
    payload = b64decode(envelope.payload)
    try:
        if envelope.payloadtype == "subscribeprocessmsg":
            msg: SubscribeProcessMsg | SubscribeProcessesMsg = _process_msg.decode(payload)
        elif envelope.payloadtype == "subscribeprocessesmsg":
            msg = _processes_msg.decode(payload)
        else:
            raise RPCError(400, f"invalid payloadtype on /pubsub: {envelope.payloadtype}")
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as err:
        raise RPCError(400, f"Failed to parse {envelope.payloadtype}: {err or 'nested too deeply'}") from None
    if msg.msgtype != envelope.payloadtype:
        raise RPCError(400, "msg.MsgType does not match payloadType")
    if msg.state not in PROCESS_STATES:
        raise RPCError(400, f"Invalid state {msg.state}")
    timeout = float(min(msg.timeout if msg.timeout > 0 else DEFAULT_TIMEOUT, MAX_TIMEOUT))

    if isinstance(msg, SubscribeProcessMsg):
        # subscribe before reading, so a change between the read and the subscription is not lost
        sub = core.events.subscribe(Subscription(state=msg.state, executortype=msg.executortype, processid=msg.processid))
        record = await core.db.read(lambda conn: pq.get_record(conn, msg.processid))
        if record is None:
            core.events.unsubscribe(sub)
            raise RPCError(404, f"Invalid process with Id {msg.processid}")
        if core.directory.member_name(record.colonyname, caller_id, approved=True) is None:
            core.events.unsubscribe(sub)
            raise RPCError(403, f"Access denied, not a member of Colony with name {record.colonyname}")
        return sub, timeout, record if record.state == msg.state else None

    server_id = core.directory.server_id
    if core.directory.colony(msg.colonyname) is None and server_id and caller_id == server_id:
        # only the server owner learns that a colony does not exist (rpc.Call.colony)
        raise RPCError(404, f"Colony with name {msg.colonyname} does not exists")
    if core.directory.member_name(msg.colonyname, caller_id, approved=True) is None:
        raise RPCError(403, f"Access denied, not a member of Colony with name {msg.colonyname}")
    sub = Subscription(state=msg.state, executortype=msg.executortype, colonies=frozenset({msg.colonyname}))
    return core.events.subscribe(sub), timeout, None


async def _stream(ws: web.WebSocketResponse, sub: Subscription, timeout: float, immediate: pq.ProcessRecord | None) -> None:
    """Send matching events until the timeout, the client leaves, or the process reaches an end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    closed = asyncio.ensure_future(_until_closed(ws))
    getter: asyncio.Future[pq.ProcessRecord] | None = None
    try:
        if immediate is not None:
            await ws.send_str(reply_bytes(EVENT_PAYLOADTYPE, encode_json(immediate.process)).decode())
            if sub.processid and immediate.state in TERMINAL:
                return
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            getter = asyncio.ensure_future(sub.queue.get())
            done, _ = await asyncio.wait({getter, closed}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                return
            record = getter.result()
            await ws.send_str(reply_bytes(EVENT_PAYLOADTYPE, encode_json(record.process)).decode())
            if sub.processid and record.state in TERMINAL:
                return
    finally:
        for task in (closed, getter):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(*(t for t in (closed, getter) if t is not None), return_exceptions=True)


async def _until_closed(ws: web.WebSocketResponse) -> None:
    async for _ in ws:
        pass
