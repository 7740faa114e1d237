"""Where providers are found: the DHT (advertised records) and configured peers (asked directly)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec

from colonies.dht.node import DHTNode
from colonies.dht.records import ProviderRecord
from colonies.federation import membership
from colonies.federation.messages import Provider
from colonies.federation.peers import PeerQuery

log = logging.getLogger(__name__)


def record_verifier(authority_id: str) -> Any:
    """A DHT record is kept only if its certificate is a valid membership for the record's node."""

    def verify(record: ProviderRecord) -> bool:
        try:
            cert = msgspec.convert(record.cert, type=membership.Certificate)
            membership.verify(cert, authority_id=authority_id)
        except (msgspec.ValidationError, membership.MembershipError):
            return False
        return cert.node_id == record.node_id and cert.api_url == record.api_url

    return verify


def as_provider(record: ProviderRecord) -> Provider:
    return Provider(
        node_id=record.node_id,
        api_url=record.api_url,
        colonyname=record.colony,
        executortype=record.executortype,
        live=record.live,
        waiting=record.waiting,
    )


class Discovery:
    """Providers from the DHT and from direct peers, newest offer per node."""

    def __init__(self, peers: PeerQuery, dht: DHTNode | None) -> None:
        self.peers = peers
        self.dht = dht

    async def lookup(self, colonyname: str, executortype: str) -> list[Provider]:
        found: dict[str, Provider] = {}
        if self.dht is not None:
            try:
                for record in await self.dht.lookup(colonyname, executortype):
                    found[record.node_id] = as_provider(record)
            except (asyncio.TimeoutError, OSError) as err:
                log.warning("DHT lookup failed: %s", err)
        if self.peers.urls:
            for provider in await self.peers.lookup(colonyname, executortype):
                found[provider.node_id] = provider  # asked just now: fresher than a record
        return list(found.values())


def parse_bootstrap(text: str) -> list[tuple[str, int]]:
    peers = []
    for item in [t.strip() for t in text.split(",") if t.strip()]:
        host, port = membership.parse_dht_address(item)
        peers.append((host, port))
    return peers
