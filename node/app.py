"""HTTP surface of a node: POST /api, GET /pubsub (websocket), GET /health."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import msgspec
from aiohttp import web

from colonies import crypto
from colonies.node import decode
from colonies.node.bodies import read_body
from colonies.node import handlers  # noqa: F401  (registers every RPC handler)
from colonies.node.core import CORE_KEY, NodeCore
from colonies.node.pubsub import handle_pubsub
from colonies.node.ratelimit import RateLimiter
from colonies.node.replay import Freshness, freshness
from colonies.node.domain.errors import DomainError
from colonies.node.rpc import ROUTES, Call, Route, refusal
from colonies.node.store.database import Conflict, StoreClosed
from colonies.wire import (
    UNSIGNED_MSGTYPES,
    Envelope,
    RPCError,
    b64decode,
    decode_envelope,
    encode_json,
    error_reply_bytes,
    reply_bytes,
)

log = logging.getLogger(__name__)

class RateLimits:
    """The node's two request rate limits (node/ratelimit.py)."""

    def __init__(self, core: NodeCore) -> None:
        config = core.config
        self.address = RateLimiter(config.rate_limit_address, config.rate_limit_burst)
        self.identity = RateLimiter(config.rate_limit_identity, config.rate_limit_burst)

    def check(self, limiter: RateLimiter, key: str, what: str) -> None:
        wait = limiter.retry_after(key)
        if wait:
            raise RateLimited(f"Too many requests from this {what}: the limit is {limiter.rate:g} per second", wait)


class RateLimited(RPCError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(429, message)
        self.retry_after = retry_after


LIMITS_KEY = web.AppKey("rate_limits", RateLimits)


def _reply(status: int, body: bytes) -> web.Response:
    return web.Response(body=body, status=status, content_type="text/plain", charset="utf-8")


def error_response(err: RPCError) -> web.Response:
    response = _reply(err.status, error_reply_bytes(err.status, err.message))
    if isinstance(err, RateLimited):
        response.headers["Retry-After"] = str(err.retry_after)
    return response


# bodies larger than this are decoded a slice at a time (node/decode.py), their signature checked
# off the event loop (hashing several MB: hashlib lets go of the GIL meanwhile)
OFFLOOP_BODY_BYTES = 256 * 1024


async def dispatch(core: NodeCore, body: bytes, limits: RateLimits | None = None) -> bytes:
    """One RPC: envelope → signature → message → handler → reply envelope (raises RPCError)."""
    strict = core.config.security_strict
    if len(body) > OFFLOOP_BODY_BYTES:  # a 10,000-node workflow: tens of milliseconds of decoding
        route, caller_id, msg, fresh = await _decode_big(body, strict)
    else:
        route, caller_id, msg, fresh = _decode(body, strict)
    if limits is not None and caller_id:
        limits.check(limits.identity, caller_id, "identity")
    if fresh is not None and caller_id:
        await core.replay.admit(core.db, fresh)
    if caller_id in core.heard_from:
        # an executor known to call in: any signed call shows it is alive (a busy one does not poll)
        core.heard_from[caller_id] = Call.now()
    result = await route.handler(Call(core, caller_id, route.msgtype), msg)
    return reply_bytes(route.reply_payloadtype, bounded_json(result, core.config.max_reply_bytes))


def bounded_json(result: Any, budget: int) -> bytes:
    """The reply's JSON; a list holds whole items and stops before `budget` bytes (a caller pages
    with a smaller count). One item alone over the budget is still sent: it passed the write limits."""
    if not isinstance(result, list):
        return encode_json(result)
    parts: list[bytes] = []
    size = 2
    for item in result:
        part = encode_json(item)
        size += len(part) + 1
        if size > budget and parts:
            break
        parts.append(part)
    return b"[" + b",".join(parts) + b"]"


Decoded = tuple[Route, str, Any, Freshness | None]


def _decode(body: bytes, strict: bool) -> Decoded:
    """The route, the caller's id, the decoded message of a request body and, in strict mode,
    its nonce and timestamp (raises RPCError)."""
    envelope = decode_envelope(body)
    caller_id = _caller(envelope)
    route = _route(envelope.payloadtype)
    payload = b64decode(envelope.payload)
    with _parse_errors(route.msgtype):
        msg = route.decoder.decode(payload)
    return route, caller_id, _checked(route, msg), freshness(payload) if strict else None


async def _decode_big(body: bytes, strict: bool) -> Decoded:
    """_decode for a big body, in the same order, with the same errors."""
    envelope = decode_envelope(body)  # a few ms: the payload stays one string
    caller_id = await asyncio.to_thread(_caller, envelope)
    route = _route(envelope.payloadtype)
    payload = await decode.b64decode(envelope.payload)
    del envelope
    with _parse_errors(route.msgtype):
        if route.sliced is not None:
            msg = await route.sliced.decode(payload)
        else:
            msg = await asyncio.to_thread(route.decoder.decode, payload)
    fresh = await asyncio.to_thread(freshness, payload) if strict else None
    return route, caller_id, _checked(route, msg), fresh


def _caller(envelope: Envelope) -> str:
    if envelope.payloadtype in UNSIGNED_MSGTYPES:
        return ""
    try:
        return crypto.recover_id(envelope.payload, envelope.signature)
    except crypto.SignatureError as err:
        raise RPCError(403, str(err)) from None


def _route(msgtype: str) -> Route:
    route = ROUTES.get(msgtype)
    if route is None:
        raise RPCError(403, f"invalid rpcMsg.PayloadType: {msgtype}")
    return route


@contextlib.contextmanager
def _parse_errors(msgtype: str) -> Iterator[None]:
    try:
        yield
    except msgspec.ValidationError as err:
        raise RPCError(400, f"Failed to parse {msgtype}: {err}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        raise RPCError(400, f"Failed to parse {msgtype}: payload is not valid UTF-8 JSON ({err})") from None
    except RecursionError:
        raise RPCError(400, f"Failed to parse {msgtype}: payload is nested too deeply") from None


def _checked(route: Route, msg: Any) -> Any:
    if msg.msgtype != route.msgtype and route.msgtype not in UNSIGNED_MSGTYPES:
        raise RPCError(400, f"Failed to handle {route.msgtype}, msg.MsgType does not match payloadType")
    return msg


async def handle_api(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    limits = request.app[LIMITS_KEY]
    try:
        limits.check(limits.address, request.remote or "", "address")
        body = await read_body(request, core.config.max_body_bytes)
        return _reply(200, await dispatch(core, body, limits))
    except RPCError as err:
        return error_response(err)
    except (DomainError, Conflict) as err:
        return error_response(refusal(err))
    except StoreClosed:
        return error_response(RPCError(503, "Node is shutting down"))
    except Exception:
        log.exception("internal error handling an RPC")
        return error_response(RPCError(500, "Internal server error"))


async def handle_federation(request: web.Request) -> web.Response:
    """Signed node-to-node messages (docs/federation.md); 404 when this node is not federated."""
    core = request.app[CORE_KEY]
    if core.federation is None:
        return error_response(RPCError(404, "This node is not part of a federation"))
    try:
        body = await read_body(request, core.config.max_body_bytes)
        return web.Response(body=await core.federation.handle(body), content_type="application/json")
    except RPCError as err:
        return error_response(err)
    except (DomainError, Conflict) as err:
        return error_response(refusal(err))
    except StoreClosed:
        return error_response(RPCError(503, "Node is shutting down"))
    except Exception:
        log.exception("internal error handling a federation message")
        return error_response(RPCError(500, "Internal server error"))


async def handle_health(request: web.Request) -> web.Response:
    return web.Response(status=200)


def build_app(core: NodeCore) -> web.Application:
    app = web.Application(client_max_size=core.config.max_body_bytes)
    app[CORE_KEY] = core
    app[LIMITS_KEY] = RateLimits(core)
    app.router.add_post("/api", handle_api)
    app.router.add_get("/pubsub", handle_pubsub)
    app.router.add_get("/health", handle_health)
    app.router.add_post("/federation", handle_federation)
    return app
