"""Reading a request body within the body limit, compressed or not (docs/security.md, "Limits").

The node reads bodies as sent (aiohttp's own inflating is off): a gzip or deflate body is inflated
here, and inflating stops as soon as the output passes `max_body_bytes`, so a small body that
would inflate to gigabytes costs at most the limit in memory and milliseconds of CPU. Other
encodings are refused with 415.
"""
from __future__ import annotations

import asyncio
import zlib

from aiohttp import web

from colonies.wire import RPCError

# zlib window bits: gzip framing, zlib framing (HTTP "deflate")
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def too_large(limit: int) -> RPCError:
    return RPCError(413, f"Request body too large: the limit is {limit} bytes (max_body_bytes)")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request's body, inflated if it is compressed (raises RPCError 413, 415 or 400)."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity") and encoding not in _WBITS:
        raise RPCError(415, f"Unsupported Content-Encoding {encoding!r}: send identity, gzip or deflate")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large(limit) from None
    if encoding in ("", "identity"):
        return body
    # off the event loop whatever its size: 64 KiB of gzip can inflate to the whole limit (16 MiB
    # by default: tens of ms of zlib), and zlib lets go of the GIL meanwhile
    return await asyncio.to_thread(inflate, body, encoding, limit)


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """`body` decompressed, refused as soon as it passes `limit` bytes."""
    inflater = zlib.decompressobj(_WBITS[encoding])
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as err:
        raise RPCError(400, f"Invalid {encoding} body: {err}") from None
    if len(data) > limit:
        raise too_large(limit)
    if not inflater.eof or inflater.unused_data:
        raise RPCError(400, f"Invalid {encoding} body: truncated or followed by extra bytes")
    return data
