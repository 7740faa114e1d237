"""KademliaProtocol subclass: tolerant peer eviction, validated input, tracked tasks.

Fixes over kademlia 2.2.3 / rpcudp 5.0.1:
- a missed reply suspends the peer instead of evicting it (see `health`);
- `welcome_if_new` hashed the already hashed storage keys again, so values were handed to the
  wrong new nodes; here the stored key is the DHT key, and a newcomer to a DHT of fewer than k
  nodes always gets them;
- `find_value` answers with the value *and* the closest nodes, so a lookup can go on crawling
  past storers and merge every reply; the value is page 0 of the key's set, the reply says how
  many pages there are, and `find_page` fetches the others;
- node lists and values from peers are checked before use (a bad tuple crashed the crawler) and
  peers outside the allowed networks are never dialed;
- a caller that gives up on an RPC (cancelled future) no longer breaks rpcudp's timeout and
  response callbacks; `close()` resolves what is outstanding and cancels what it started;
- at most `max_in_flight` requests are outstanding at once (the library sends all of a crawl
  round's requests together): replies arriving together can overflow the socket's receive
  buffer and be dropped, which makes healthy peers look dead.
"""
from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeGuard

from kademlia.node import Node
from kademlia.protocol import KademliaProtocol
from rpcudp.protocol import RPCProtocol

from colonies.dht.health import HealthBook
from colonies.dht.records import MAX_PAGES
from colonies.dht.routing import HealthAwareRoutingTable
from colonies.dht.storage import MergingStorage

log = logging.getLogger(__name__)

AddressFilter = Callable[[str], bool]
RPCResult = tuple[bool, Any]
MAX_IN_FLIGHT = 16  # replies of up to ~7 KB each; a default Linux receive buffer holds ~200 KB


def _is_id(value: object) -> TypeGuard[bytes]:
    return isinstance(value, bytes) and len(value) == 20


class FederationProtocol(KademliaProtocol):
    def __init__(
        self,
        source_node: Node,
        storage: MergingStorage,
        ksize: int,
        *,
        rpc_timeout: float,
        health: HealthBook,
        address_allowed: AddressFilter,
        refresh_interval: float,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        super().__init__(source_node, storage, ksize)
        self._wait_timeout = rpc_timeout
        self.health = health
        self.address_allowed = address_allowed
        self.refresh_interval = refresh_interval
        self.router = HealthAwareRoutingTable(self, ksize, source_node, health.suspended)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._window = asyncio.Semaphore(max_in_flight)

    # -- datagrams ---------------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._closed or not self.address_allowed(addr[0]):
            return
        self.spawn(self._solve_datagram(data, addr))

    async def _solve_datagram(self, datagram: bytes, address: tuple[str, int]) -> None:
        try:
            await super()._solve_datagram(datagram, address)
        except Exception as err:  # garbage from the network must not surface as task errors
            log.debug("dropped malformed datagram from %s: %s", address, err)

    async def _accept_request(self, msg_id: bytes, data: Any, address: tuple[str, int]) -> None:
        try:
            await super()._accept_request(msg_id, data, address)
        except Exception as err:
            log.debug("dropped bad request from %s: %s", address, err)

    def _accept_response(self, msg_id: bytes, data: Any, address: tuple[str, int]) -> None:
        pending = self._outstanding.pop(msg_id, None)
        if pending is None:
            return
        future, timeout = pending
        timeout.cancel()
        if not future.done():
            future.set_result((True, data))

    def _timeout(self, msg_id: bytes) -> None:
        pending = self._outstanding.pop(msg_id, None)
        if pending is not None and not pending[0].done():
            pending[0].set_result((False, None))

    # -- tasks -------------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        if self._closed:
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Fail every outstanding RPC and cancel the tasks this protocol started."""
        self._closed = True
        for future, timeout in list(self._outstanding.values()):
            timeout.cancel()
            if not future.done():
                future.set_result((False, None))
        self._outstanding.clear()
        for task in list(self._tasks):
            task.cancel()

    # -- incoming RPCs -----------------------------------------------------------------------

    def _heard_from(self, sender: tuple[str, int], nodeid: bytes) -> Node:
        source = Node(nodeid, sender[0], sender[1])
        self.health.alive(nodeid)
        self.welcome_if_new(source)
        return source

    def rpc_ping(self, sender: tuple[str, int], nodeid: object) -> bytes | None:
        if not _is_id(nodeid):
            return None
        self._heard_from(sender, nodeid)
        own_id: bytes = self.source_node.id
        return own_id

    def rpc_store(self, sender: tuple[str, int], nodeid: object, key: object, value: object) -> bool:
        if not (_is_id(nodeid) and _is_id(key) and isinstance(value, bytes)):
            return False
        self._heard_from(sender, nodeid)
        # False tells the publisher its record was refused or did not make the bounded set.
        return self.storage.store(key, value)

    def rpc_find_node(self, sender: tuple[str, int], nodeid: object, key: object) -> list[tuple[Any, ...]] | None:
        if not (_is_id(nodeid) and _is_id(key)):
            return None
        source = self._heard_from(sender, nodeid)
        neighbors = self.router.find_neighbors(Node(key), exclude=source)
        return [tuple(n) for n in neighbors]

    def rpc_find_value(self, sender: tuple[str, int], nodeid: object, key: object) -> Any:
        nodes = self.rpc_find_node(sender, nodeid, key)
        if nodes is None or not _is_id(key):
            return None
        pages = self.storage.pages(key)
        if not pages:
            return nodes
        return {"value": pages[0], "pages": len(pages), "nodes": nodes}

    def rpc_find_page(self, sender: tuple[str, int], nodeid: object, key: object, number: object) -> bytes | None:
        if not (_is_id(nodeid) and _is_id(key) and isinstance(number, int)):
            return None
        self._heard_from(sender, nodeid)
        return self.storage.page(key, number)

    # -- outgoing RPCs -----------------------------------------------------------------------

    async def _request(self, name: str, address: tuple[str, int], *args: Any) -> RPCResult:
        async with self._window:
            if self._closed:
                return False, None
            send = RPCProtocol.__getattr__(self, name)  # rpcudp's sender for remote `rpc_<name>`
            result: RPCResult = await send(address, *args)
            return result

    async def ping(self, address: tuple[str, int], *args: Any) -> RPCResult:
        return await self._request("ping", address, *args)

    async def store(self, address: tuple[str, int], *args: Any) -> RPCResult:
        return await self._request("store", address, *args)

    async def find_node(self, address: tuple[str, int], *args: Any) -> RPCResult:
        return await self._request("find_node", address, *args)

    async def find_value(self, address: tuple[str, int], *args: Any) -> RPCResult:
        return await self._request("find_value", address, *args)

    def _node_list(self, raw: object) -> list[tuple[bytes, str, int]]:
        """Node tuples from a peer, keeping only well-formed, dialable, non-suspended ones."""
        if not isinstance(raw, list):
            return []
        nodes = []
        for item in raw[: 2 * self.router.ksize]:
            if not (isinstance(item, (list, tuple)) and len(item) == 3):
                continue
            node_id, ip, port = item
            if not (_is_id(node_id) and isinstance(ip, str) and isinstance(port, int) and 0 < port < 65536):
                continue
            if node_id == self.source_node.id or self.health.suspended(node_id):
                continue
            if self.address_allowed(ip):
                nodes.append((node_id, ip, port))
        return nodes

    async def call_find_node(self, node_to_ask: Node, node_to_find: Node) -> RPCResult:
        address = (node_to_ask.ip, node_to_ask.port)
        result = await self.find_node(address, self.source_node.id, node_to_find.id)
        if result[0]:
            result = (True, self._node_list(result[1]))
        return self.handle_call_response(result, node_to_ask)

    async def call_find_value(self, node_to_ask: Node, node_to_find: Node) -> RPCResult:
        address = (node_to_ask.ip, node_to_ask.port)
        result = await self.find_value(address, self.source_node.id, node_to_find.id)
        if result[0]:
            reply = result[1]
            if isinstance(reply, dict) and isinstance(reply.get("value"), bytes):
                pages = reply.get("pages")
                pages = min(pages, MAX_PAGES) if isinstance(pages, int) and pages > 0 else 1
                result = (True, {"value": reply["value"], "pages": pages, "nodes": self._node_list(reply.get("nodes"))})
            else:
                result = (True, self._node_list(reply))
        return self.handle_call_response(result, node_to_ask)

    async def call_find_page(self, node_to_ask: Node, key: bytes, number: int) -> bytes | None:
        """Page `number` of the node's set for `key`, or None."""
        result = await self._request("find_page", (node_to_ask.ip, node_to_ask.port), self.source_node.id, key, number)
        answered, reply = self.handle_call_response(result, node_to_ask)
        return reply if answered and isinstance(reply, bytes) else None

    def handle_call_response(self, result: RPCResult, node: Node) -> RPCResult:
        if not result[0]:
            if self.health.missed(node.id):
                log.info("no reply from %s %d times in a row, evicting", node, self.health.max_failures)
                self.router.remove_contact(node)
            return result
        self.health.alive(node.id)
        self.welcome_if_new(node)
        return result

    # -- routing maintenance -----------------------------------------------------------------

    def welcome_if_new(self, node: Node) -> None:
        """Add a new contact and hand it the values it is now among the closest holders of."""
        if self._closed or not self.address_allowed(str(node.ip)) or not self.router.is_new_node(node):
            return
        # Distances as ints over the contacts listed once: a node storing thousands of keys (CIDs)
        # paid ~80 µs per key for a find_neighbors each, on every new contact.
        contacts = [c.long_id for c in self.router.contacts() if not self.health.suspended(c.id)]
        handed: dict[bytes, bool] = {}
        for key, value in self.storage:
            hand = handed.get(key)
            if hand is None:
                hand = handed[key] = self._hands_over(int.from_bytes(key, "big"), contacts, node.long_id)
            if hand:
                self.spawn(self.call_store(node, key, value))
        self.router.add_contact(node)

    def _hands_over(self, key: int, contacts: list[int], newcomer: int) -> bool:
        """Whether this node hands a key's values to a newcomer: it is closer to the key than any
        contact, and the newcomer is among the k closest (always, with fewer than k contacts:
        the library required it to be closer than the farthest contact)."""
        distances = [key ^ contact for contact in contacts if contact != key]
        if not distances:
            return True
        if self.source_node.long_id ^ key >= min(distances):
            return False
        ksize = self.router.ksize
        return len(distances) < ksize or newcomer ^ key < heapq.nsmallest(ksize, distances)[-1]

    def get_refresh_ids(self) -> list[bytes]:
        """Random ids in buckets without a lookup for `refresh_interval` (the library fixes 1 h)."""
        stale = time.monotonic() - self.refresh_interval
        return [
            min(random.randint(*bucket.range), 2**160 - 1).to_bytes(20, byteorder="big")
            for bucket in self.router.buckets
            if bucket.last_updated < stale
        ]
