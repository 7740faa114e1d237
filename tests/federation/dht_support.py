"""DHT test helpers: a test federation authority, clusters of real nodes on loopback, a rogue storer."""
from __future__ import annotations

import os
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from kademlia.storage import IStorage

from colonies import crypto
from colonies.dht import DHTNode, ProviderRecord, sign_record
from colonies.dht.addresses import LOOPBACK, address_filter
from colonies.dht.server import KadServer, ProtocolSettings

HOST = "127.0.0.1"
_KEYS = random.Random(7)  # node ids order records and peers: the same every run


def seeded_prvkey(rng: random.Random = _KEYS) -> str:
    # 32 random bytes are a valid secp256k1 key but with probability ~2^-128.
    return rng.randbytes(32).hex()


AUTHORITY = seeded_prvkey()
AUTHORITY_ID = crypto.id_from_private_key(AUTHORITY)
FAST = {"rpc_timeout": 0.3, "failure_backoff": 0.2, "lookup_timeout": 3.0, "republish_interval": 30.0}


def issue_cert(node_id: str, authority: str = AUTHORITY, ttl: float = 3600) -> dict[str, Any]:
    """A stand-in membership certificate (the federation package defines the real one)."""
    body = {"node_id": node_id, "expires": time.time() + ttl}
    return {**body, "signature": crypto.sign(msgspec.json.encode(body, order="sorted").decode(), authority)}


def is_member(record: ProviderRecord) -> bool:
    cert = record.cert
    body = {"node_id": cert.get("node_id"), "expires": cert.get("expires")}
    if body["node_id"] != record.node_id or not isinstance(body["expires"], float) or body["expires"] < time.time():
        return False
    try:
        return crypto.recover_id(msgspec.json.encode(body, order="sorted"), str(cert.get("signature", ""))) == AUTHORITY_ID
    except crypto.SignatureError:
        return False


def member_record(prvkey: str, **fields: Any) -> ProviderRecord:
    """A signed dev/gpu record of a federation member that runs no DHT node."""
    node_id = crypto.id_from_private_key(prvkey)
    now = time.time()
    values: dict[str, Any] = {
        "node_id": node_id, "api_url": "http://127.0.0.1:9", "dht_address": "127.0.0.1:9", "colony": "dev",
        "executortype": "gpu", "live": 9, "issued_ms": int(now * 1000), "expires": now + 60, "cert": issue_cert(node_id),
    }
    return sign_record(ProviderRecord(**{**values, **fields}), prvkey)


def make_node(prvkey: str | None = None, **options: Any) -> DHTNode:
    prvkey = prvkey or seeded_prvkey()
    node_id = crypto.id_from_private_key(prvkey)
    settings = {**FAST, **options}
    settings.setdefault("cert", issue_cert(node_id))
    settings.setdefault("api_url", f"http://{HOST}:{50000 + int(node_id[:4], 16) % 10000}")
    return DHTNode(prvkey, is_member, **settings)


@asynccontextmanager
async def cluster(count: int, *, hosts: list[str] | None = None, **options: Any) -> AsyncIterator[list[DHTNode]]:
    """`count` nodes on free ports, each joining through the first; all stopped on exit."""
    nodes: list[DHTNode] = []
    try:
        for index in range(count):
            node = make_node(**options)
            host = hosts[index % len(hosts)] if hosts else HOST
            await node.start(0, host, [(nodes[0].dht_address.rsplit(":", 1)[0], nodes[0].port)] if nodes else [])
            nodes.append(node)
        yield nodes
    finally:
        for node in nodes:
            await node.stop()


class VerbatimStorage(IStorage):
    """What a malicious or buggy storer does: keep and serve whatever it is sent."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data[key] = value

    def __getitem__(self, key: bytes) -> bytes:
        return self.data[key]

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:
        return self.data.get(key, default)

    def pages(self, key: bytes) -> list[bytes]:
        return [self.data[key]] if key in self.data else []

    def page(self, key: bytes, number: int) -> bytes | None:
        return self.data.get(key) if number == 0 else None

    def iter_older_than(self, seconds_old: float) -> list[tuple[bytes, bytes]]:
        return []

    def __iter__(self) -> Any:
        return iter(list(self.data.items()))


@asynccontextmanager
async def rogue_storer(bootstrap_port: int) -> AsyncIterator[KadServer]:
    settings = ProtocolSettings(
        rpc_timeout=0.3, max_failures=3, backoff=0.2, quarantine=None, refresh_interval=900, address_allowed=address_filter(LOOPBACK)
    )
    server = KadServer(ksize=20, alpha=3, node_id=os.urandom(20), storage=VerbatimStorage(), settings=settings)  # type: ignore[arg-type]
    await server.listen(0, HOST)
    try:
        await server.bootstrap([(HOST, bootstrap_port)])
        yield server
    finally:
        server.stop()
