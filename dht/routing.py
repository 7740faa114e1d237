"""Routing table that does not offer suspended (recently silent) peers as neighbours."""
from __future__ import annotations

import heapq
from collections.abc import Callable

from kademlia.node import Node
from kademlia.routing import RoutingTable, TableTraverser


class HealthAwareRoutingTable(RoutingTable):
    def __init__(self, protocol: object, ksize: int, node: Node, suspended: Callable[[bytes], bool]) -> None:
        self._suspended = suspended
        super().__init__(protocol, ksize, node)

    def find_neighbors(self, node: Node, k: int | None = None, exclude: Node | None = None) -> list[Node]:
        k = k or self.ksize
        found: list[tuple[int, bytes, Node]] = []
        for neighbor in TableTraverser(self, node):
            if neighbor.id == node.id or self._suspended(neighbor.id):
                continue
            if exclude is not None and neighbor.same_home_as(exclude):
                continue
            found.append((node.distance_to(neighbor), neighbor.id, neighbor))
        return [entry[2] for entry in heapq.nsmallest(k, found)]

    def contacts(self) -> list[Node]:
        return [n for bucket in self.buckets for n in bucket.get_nodes()]
