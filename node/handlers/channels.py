"""Process channels: append, read, and follow over /pubsub (spec §2.11, §4.8).

A process declares its channels in `spec.channels`; only those exist. The process's initiator and
the executor currently assigned to it may use them (and must be members of its colony). Unlike
upstream the log is durable: entries are stored, survive a node restart and stay readable after
the process ends (appends are then refused).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from typing import Any

import msgspec
from aiohttp import web

from colonies import models
from colonies.messages import ChannelAppendMsg, ChannelReadMsg, SubscribeChannelMsg
from colonies.node.rpc import EMPTY, Call, bad_request, not_found, rpc
from colonies.node.store import channels as cq
from colonies.wire import RPCError, encode_json, reply_bytes

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
MAX_ENTRIES = 10_000
# Payload bytes in one read reply or one subscription message; a larger log comes in pages
# (at least one entry per page, so any entry can be read).
MAX_REPLY_BYTES = 16 * 1024 * 1024
LIVE_BATCH = 1000
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 24 * 3600
SUBSCRIBE_PAYLOADTYPE = "subscribechannelmsg"
PAYLOAD_TYPES = {"": "data", "data": "data", "end": "end", "error": "error"}


class _DeclaredChannels(msgspec.Struct):
    channels: list[str] | None = None


_declared = msgspec.json.Decoder(_DeclaredChannels)


def declared_channels(spec_json: str) -> list[str]:
    try:
        return _declared.decode(spec_json).channels or []
    except msgspec.DecodeError:
        return []


def decode_payload(payload: str | list[int] | None) -> bytes:
    """Go []byte on the wire: base64 text or an array of byte values (null = empty)."""
    if payload is None:
        return b""
    if isinstance(payload, str):
        if len(payload) > (MAX_PAYLOAD_BYTES + 2) // 3 * 4:
            raise _too_large()
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("Failed to append to channel, payload is not valid base64") from None
    else:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise _too_large()
        try:
            data = bytes(payload)
        except (ValueError, OverflowError):
            raise bad_request("Failed to append to channel, payload bytes must be between 0 and 255") from None
    if len(data) > MAX_PAYLOAD_BYTES:
        raise _too_large()
    return data


def _too_large() -> RPCError:
    return RPCError(413, f"Failed to append to channel, message payload exceeds maximum size of {MAX_PAYLOAD_BYTES} bytes")


async def open_channel(call: Call, processid: str, name: str, verb: str) -> cq.ChannelOwner:
    """The channel's process, once the caller may `verb` the channel; 404/403 otherwise."""
    owner = await call.node.db.read(lambda conn: cq.owner(conn, processid))
    if owner is None:
        raise not_found(f"Process with id {processid} not found")
    call.require_member(owner.colonyname)
    if name not in declared_channels(owner.spec):
        raise not_found("Channel not found")
    if not owner.may_use(call.caller_id):
        raise RPCError(403, f"Not authorized to {verb} channel {name}: only the process initiator and its assigned executor may")
    return owner


@rpc("channelappendmsg", ChannelAppendMsg)
async def append(call: Call, msg: ChannelAppendMsg) -> dict[str, Any]:
    kind = PAYLOAD_TYPES.get(msg.payloadtype)
    if kind is None:
        raise bad_request(f"Failed to append to channel, invalid payloadtype {msg.payloadtype!r}: use \"\", \"data\", \"end\" or \"error\"")
    payload = decode_payload(msg.payload)
    owner = await open_channel(call, msg.processid, msg.name, "write to")
    if owner.state in cq.ENDED:
        raise _ended()
    node = call.node
    if not node.channels.allow_append(msg.processid):
        raise RPCError(429, "Failed to append to channel, rate limit exceeded for this process")
    await _check_quota(call, msg.processid, owner, len(payload))
    now = call.now()
    appended = await node.db.write(
        lambda conn: cq.append(
            conn,
            processid=msg.processid,
            name=msg.name,
            senderid=call.caller_id,
            sequence=msg.sequence,
            inreplyto=msg.inreplyto,
            entry_type=kind,
            payload=payload,
            now=now,
            max_entries=MAX_ENTRIES,
        )
    )
    outcome = appended.outcome
    if outcome is cq.Outcome.STORED:
        node.channels.add_stored(msg.processid, len(payload))
        node.channels.notify(msg.processid, msg.name)
    elif outcome is cq.Outcome.FULL:
        raise bad_request(f"Failed to append to channel {msg.name}, channel log is full ({MAX_ENTRIES} entries)")
    elif outcome is cq.Outcome.ENDED:
        raise _ended()
    elif outcome is cq.Outcome.FORBIDDEN:
        raise RPCError(403, f"Not authorized to write to channel {msg.name}")
    elif outcome is cq.Outcome.GONE:
        raise not_found(f"Process with id {msg.processid} not found")
    return EMPTY


async def _check_quota(call: Call, processid: str, owner: cq.ChannelOwner, size: int) -> None:
    """413 when `size` more bytes would take the process's channels past max_channel_bytes."""
    hub, quota = call.node.channels, call.node.config.max_channel_bytes
    if processid not in hub.stored_bytes:
        stored = await _bytes_in_store(call, processid, declared_channels(owner.spec))
        if processid not in hub.stored_bytes:  # another append may have counted it meanwhile
            hub.add_stored(processid, stored)
    if hub.stored_bytes[processid] + size > quota:
        raise RPCError(413, f"Failed to append to channel, the channels of a process may hold at most {quota} bytes (max_channel_bytes)")


async def _bytes_in_store(call: Call, processid: str, names: list[str]) -> int:
    total = 0
    for name in names:
        after = 0
        while True:
            page = await _read(call, processid, name, after, 0)
            total += sum(_decoded_size(entry.payload) for entry in page.entries)
            if not page.entries:
                break
            after = page.last_position
    return total


def _decoded_size(payload: str | list[int] | None) -> int:
    if not payload:
        return 0
    if isinstance(payload, list):
        return len(payload)
    return len(payload) // 4 * 3 - payload[-2:].count("=")


def _ended() -> RPCError:
    return bad_request("Failed to append to channel, the process has ended (its channels are read-only)")


async def _read(call: Call, processid: str, name: str, after: int, limit: int) -> cq.Page:
    return await call.node.db.read(
        lambda conn: cq.read(conn, processid=processid, name=name, after=after, limit=limit, max_bytes=MAX_REPLY_BYTES)
    )


@rpc("channelreadmsg", ChannelReadMsg)
async def read(call: Call, msg: ChannelReadMsg) -> list[models.ChannelEntry]:
    await open_channel(call, msg.processid, msg.name, "read from")
    page = await _read(call, msg.processid, msg.name, msg.afterseq, msg.limit)
    return page.entries


# --- /pubsub ---------------------------------------------------------------------------------
async def follow(call: Call, msg: SubscribeChannelMsg, ws: web.WebSocketResponse) -> None:
    """Stream a channel: the entries after `afterseq` as one message, then each new entry as a
    message of its own; at the timeout an empty array, then the caller closes the socket."""
    await open_channel(call, msg.processid, msg.name, "subscribe to")
    timeout = float(min(msg.timeout if msg.timeout > 0 else DEFAULT_TIMEOUT, MAX_TIMEOUT))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    closed = asyncio.ensure_future(_until_closed(ws))
    try:
        # watch before the first read, so an append between the read and the wait is not missed
        with call.node.channels.watch(msg.processid, msg.name) as watch:
            after = max(msg.afterseq, 0)
            while True:  # backlog: one message unless it exceeds MAX_REPLY_BYTES
                page = await _read(call, msg.processid, msg.name, after, 0)
                if not page.entries:
                    break
                await _send(ws, page.entries)
                after = page.last_position
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                woken = asyncio.ensure_future(watch.event.wait())
                done, _ = await asyncio.wait({woken, closed}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                if woken not in done:
                    woken.cancel()
                if closed in done:
                    return
                if woken not in done:
                    break
                watch.event.clear()
                while True:
                    page = await _read(call, msg.processid, msg.name, after, LIVE_BATCH)
                    if not page.entries:
                        break
                    for entry in page.entries:
                        await _send(ws, [entry])
                    after = page.last_position
            await _send(ws, [])
    finally:
        closed.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await closed


async def _send(ws: web.WebSocketResponse, entries: list[models.ChannelEntry]) -> None:
    if ws.closed:
        raise ConnectionResetError("subscriber went away")
    await ws.send_str(reply_bytes(SUBSCRIBE_PAYLOADTYPE, encode_json(entries)).decode())


async def _until_closed(ws: web.WebSocketResponse) -> None:
    async for _ in ws:
        pass
