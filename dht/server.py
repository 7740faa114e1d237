"""kademlia.network.Server subclass wired to the merging storage, protocol and crawls."""
from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass

from kademlia.network import Server
from kademlia.node import Node

from colonies.dht.crawling import NodeCrawl, RecordCrawl
from colonies.dht.health import HealthBook
from colonies.dht.protocol import AddressFilter, FederationProtocol
from colonies.dht.storage import MergingStorage

log = logging.getLogger(__name__)

RECEIVE_BUFFER = 1 << 20  # bytes asked for; the kernel caps it (Linux: net.core.rmem_max)


@dataclass(frozen=True)
class ProtocolSettings:
    rpc_timeout: float
    max_failures: int
    backoff: float
    quarantine: float | None
    refresh_interval: float
    address_allowed: AddressFilter


class KadServer(Server):
    protocol_class = FederationProtocol
    protocol: FederationProtocol | None
    storage: MergingStorage

    def __init__(self, *, ksize: int, alpha: int, node_id: bytes, storage: MergingStorage, settings: ProtocolSettings) -> None:
        super().__init__(ksize=ksize, alpha=alpha, node_id=node_id, storage=storage)
        self.storage = storage  # the library's `storage or ForgetfulStorage()` drops an empty one
        self.settings = settings
        self.health = HealthBook(
            max_failures=settings.max_failures, backoff=settings.backoff, quarantine=settings.quarantine
        )

    def _create_protocol(self) -> FederationProtocol:
        return FederationProtocol(
            self.node,
            self.storage,
            self.ksize,
            rpc_timeout=self.settings.rpc_timeout,
            health=self.health,
            address_allowed=self.settings.address_allowed,
            refresh_interval=self.settings.refresh_interval,
        )

    async def listen(self, port: int, interface: str = "127.0.0.1") -> None:
        await super().listen(port, interface)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            # The replies to a crawl round arrive together; the default buffer (~200 KiB on
            # Linux) holds only a few dozen of them.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)

    def refresh_table(self, interval: int = 3600) -> None:
        # The library reschedules itself with the default interval whatever was passed, crawls
        # before bootstrap and republishes hourly; DHTNode runs its own maintenance loop instead.
        return None

    def _deadline(self, timeout: float) -> float:
        return asyncio.get_running_loop().time() + timeout

    def _proto(self) -> FederationProtocol:
        if self.protocol is None:
            raise RuntimeError("DHT server is not listening")
        return self.protocol

    async def closest_nodes(self, dkey: bytes, timeout: float) -> list[Node]:
        protocol = self._proto()
        target = Node(dkey)
        nearest = protocol.router.find_neighbors(target)
        if not nearest:
            return []
        crawl = NodeCrawl(protocol, target, nearest, self.ksize, self.alpha, deadline=self._deadline(timeout))
        return await crawl.find()

    async def bootstrap(self, addrs: list[tuple[str, int]], timeout: float = 10.0) -> list[Node]:
        protocol = self._proto()
        answers = await asyncio.gather(*(self.bootstrap_node(addr) for addr in addrs))
        nodes = [node for node in answers if node is not None]
        for node in nodes:
            protocol.handle_call_response((True, None), node)
        if not nodes:
            return []
        crawl = NodeCrawl(protocol, self.node, nodes, self.ksize, self.alpha, deadline=self._deadline(timeout))
        return await crawl.find()

    async def bootstrap_node(self, addr: tuple[str, int]) -> Node | None:
        answered, node_id = await self._proto().ping(addr, self.node.id)
        if not answered or not isinstance(node_id, bytes) or len(node_id) != 20 or node_id == self.node.id:
            return None
        return Node(node_id, addr[0], addr[1])

    async def refresh_buckets(self, timeout: float) -> None:
        protocol = self._proto()
        crawls = []
        for node_id in protocol.get_refresh_ids():
            target = Node(node_id)
            nearest = protocol.router.find_neighbors(target, self.alpha)
            crawls.append(NodeCrawl(protocol, target, nearest, self.ksize, self.alpha, deadline=self._deadline(timeout)).find())
        await asyncio.gather(*crawls)

    async def probe_suspects(self) -> None:
        """Ping suspect contacts whose back-off has passed; an answer clears them."""
        protocol = self._proto()
        due = [n for n in protocol.router.contacts() if self.health.probe_due(n.id)]
        await asyncio.gather(*(protocol.call_ping(node) for node in due))

    async def store_at(self, nodes: list[Node], dkey: bytes, value: bytes) -> int:
        """Store `value` at each node; the number of nodes that acknowledged it."""
        protocol = self._proto()
        results = await asyncio.gather(*(protocol.call_store(node, dkey, value) for node in nodes))
        return sum(1 for answered, reply in results if answered and reply is True)

    async def collect(self, dkey: bytes, timeout: float) -> RecordCrawl | None:
        """Crawl the k closest nodes to `dkey` and gather every value they hold."""
        protocol = self._proto()
        target = Node(dkey)
        nearest = protocol.router.find_neighbors(target)
        if not nearest:
            return None
        crawl = RecordCrawl(protocol, target, nearest, self.ksize, self.alpha, deadline=self._deadline(timeout))
        await crawl.find()
        return crawl

    async def more_pages(self, dkey: bytes, holders: list[tuple[Node, int]], ask: int) -> list[bytes]:
        """Pages 1, 2, … of `dkey`, each from up to `ask` storers that have it (those with the
        most pages first, then the closest): storers keep nearly the same set, so asking all k
        for every page would cost k requests per page for little."""
        target = Node(dkey)
        ranked = sorted(holders, key=lambda holder: (-holder[1], holder[0].distance_to(target)))
        protocol = self._proto()
        calls = [
            protocol.call_find_page(node, dkey, number)
            for number in range(1, ranked[0][1] if ranked else 0)
            for node in [node for node, pages in ranked if pages > number][:ask]
        ]
        return [page for page in await asyncio.gather(*calls) if page is not None]

    async def get(self, key: object) -> None:
        raise NotImplementedError("use DHTNode.lookup: values are record sets to merge")

    async def set(self, key: object, value: object) -> None:
        raise NotImplementedError("use DHTNode.advertise: records must be signed")

    def stop(self) -> None:
        if self.protocol is not None:
            self.protocol.close()
        super().stop()
