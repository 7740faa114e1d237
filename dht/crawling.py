"""Bounded iterative crawls. The record crawl collects *every* value among the k closest nodes.

kademlia 2.2.3's ValueSpiderCrawl stops at the first round that returns a value, keeps the most
common value and stores it at the nearest node without one. For record sets that is wrong: two
storers may each hold part of the set. Here the crawl goes on until the k closest nodes have all
been asked (or the round/deadline bound is hit) and returns all values for the caller to merge,
with the storers that said their set has more pages.
Both crawls loop instead of recursing and stop at a deadline; each round lasts at most one RPC
timeout.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from kademlia.crawling import SpiderCrawl
from kademlia.node import Node, NodeHeap

from colonies.dht.protocol import FederationProtocol, RPCResult

MAX_ROUNDS = 32


class _BoundedCrawl(SpiderCrawl):
    def __init__(
        self, protocol: FederationProtocol, node: Node, peers: list[Node], ksize: int, alpha: int, *, deadline: float
    ) -> None:
        super().__init__(protocol, node, peers, ksize, alpha)
        self.deadline = deadline  # event-loop time

    async def _crawl(self, rpcmethod: Callable[[Node, Node], Awaitable[RPCResult]]) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(MAX_ROUNDS):
            if self.nearest.have_contacted_all() or loop.time() >= self.deadline:
                return
            await self._find(rpcmethod)

    def _push(self, nodes: list[tuple[bytes, str, int]]) -> None:
        self.nearest.push([Node(*node) for node in nodes])


class NodeCrawl(_BoundedCrawl):
    """The k closest live nodes to a key."""

    async def find(self) -> list[Node]:
        await self._crawl(self.protocol.call_find_node)
        return list(self.nearest)

    async def _nodes_found(self, responses: dict[bytes, RPCResult]) -> None:
        silent = []
        for peer_id, (answered, reply) in responses.items():
            if not answered:
                silent.append(peer_id)
            else:
                self._push(reply)
        self.nearest.remove(silent)


class RecordCrawl(_BoundedCrawl):
    """Every value (page 0) held by the k closest nodes to a key, how many pages each storer
    has, and the closest node that had none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.values: list[bytes] = []
        self.holders: list[tuple[Node, int]] = []  # storers and their page counts
        self.nearest_without_value = NodeHeap(self.node, 1)

    async def find(self) -> list[bytes]:
        await self._crawl(self.protocol.call_find_value)
        return self.values

    async def _nodes_found(self, responses: dict[bytes, RPCResult]) -> None:
        silent = []
        for peer_id, (answered, reply) in responses.items():
            if not answered:
                silent.append(peer_id)
            elif isinstance(reply, dict):
                self.values.append(reply["value"])
                peer = self.nearest.get_node(peer_id)
                if peer is not None:
                    self.holders.append((peer, reply["pages"]))
                self._push(reply["nodes"])
            else:
                peer = self.nearest.get_node(peer_id)
                if peer is not None:
                    self.nearest_without_value.push(peer)
                self._push(reply)
        self.nearest.remove(silent)
