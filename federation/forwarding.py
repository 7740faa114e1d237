"""A node's part in its federation: forwarding out (federation/origin.py), running work for peers
(federation/receiver.py), advertising, and the signed `POST /federation` route that joins them
(ARCHITECTURE § Federation, docs/federation.md)."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec

from colonies.federation import envelope
from colonies.federation import store as fq
from colonies.federation.live import LiveExecutors
from colonies.federation.membership import MembershipError
from colonies.federation.messages import ForwardBatch, Heartbeat, Lookup, Provider, Report
from colonies.federation.origin import Origin
from colonies.federation.peers import NodeIdentity, PeerClient, PeerError
from colonies.federation.providers import ProviderCache, ProviderSource
from colonies.federation.receiver import Receiver
from colonies.models import CANCELLED, WAITING
from colonies.node.core import NodeCore
from colonies.node.services.base import every
from colonies.node.store.processes import ProcessRecord
from colonies.wire import RPCError

log = logging.getLogger(__name__)

# a peer asked by URL alone (federation_peers) may not know our id yet: only lookups may name no node
UNADDRESSED = frozenset({"lookup"})
MAX_PEER_QUERIES = 16  # peers asked at once for `node peers`


class Federation:
    def __init__(self, core: NodeCore, identity: NodeIdentity, providers: ProviderSource, client: PeerClient, *, dht: Any = None) -> None:
        config = core.config
        self.core = core
        self.dht = dht  # colonies.dht.node.DHTNode, when the node takes part in the DHT
        self.identity = identity
        self.client = client
        self.live = LiveExecutors(core)
        self.cache = ProviderCache(providers, hit_ttl=config.provider_cache_ttl, miss_ttl=config.provider_miss_ttl)
        self.origin = Origin(core, identity, client, self.cache, self.live)
        self.receiver = Receiver(core, identity, client, self.live)
        self._tasks: list[asyncio.Task[None]] = []
        self._forward_now = asyncio.Event()
        self._replay = envelope.ReplayGuard()

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        config = self.core.config
        self._tasks = [
            asyncio.create_task(every(config.forward_interval, self.origin.forward_once, what="federation forward", wake=self._forward_now), name="federation-forward"),
            asyncio.create_task(every(config.heartbeat_interval, self.origin.heartbeat_once, what="federation heartbeat", wake=self.origin.heartbeat_now), name="federation-heartbeat"),
            asyncio.create_task(every(1.0, self.receiver.report_once, what="federation report", wake=self.receiver.report_now), name="federation-report"),
        ]
        if self.dht is not None:
            self._tasks.append(asyncio.create_task(every(config.advertise_interval, self.advertise, what="federation advertise"), name="federation-advertise"))
            listen = getattr(self.dht, "add_change_listener", None)
            if listen is not None:
                listen(self._on_records_changed)
        self.core.events.listeners.append(self._on_process_event)

    async def stop(self) -> None:
        if self._on_process_event in self.core.events.listeners:
            self.core.events.listeners.remove(self._on_process_event)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.origin.close()
        await self.receiver.close()
        await self.cache.close()
        if self.dht is not None:
            await self.dht.stop(withdraw=True)
        await self.client.close()

    def _on_process_event(self, record: ProcessRecord) -> None:
        if record.state == WAITING:
            if not record.waitforparents and record.executortype not in self.live.types(record.colonyname):
                self._forward_now.set()  # nobody here runs it: perhaps a peer does
        elif record.state in fq.TERMINAL:
            self.receiver.process_ended(record)
            if record.state == CANCELLED:
                self.origin.process_cancelled(record)

    def _on_records_changed(self, colonyname: str, executortype: str) -> None:
        self.cache.invalidate(colonyname, executortype)
        self._forward_now.set()

    # --- advertising ----------------------------------------------------------------------
    async def advertise(self) -> None:
        """Publish this node's provider records (one per colony and live executor type) in the DHT."""
        if self.dht is None or not self.receiver.accepting:
            return
        records = []
        for colonyname in list(self.core.directory.colonies):
            offer = await self.receiver.offer(colonyname, "")
            records.append(self.dht.record(colonyname, "", live=offer.live, waiting=offer.waiting, running=offer.running))
            for executortype, load in offer.types.items():
                records.append(self.dht.record(colonyname, executortype, live=load.live, waiting=load.waiting, running=load.running))
        current = {(r.colony, r.executortype) for r in records}
        for old in self.dht.advertised():
            if (old.colony, old.executortype) not in current and not old.withdrawn:
                await self.dht.withdraw(old.colony, old.executortype)
        if records:
            await self.dht.advertise(records)

    # --- leaving ----------------------------------------------------------------------------
    @property
    def leaving(self) -> bool:
        return not self.receiver.accepting

    async def leave(self, wait_seconds: float) -> dict[str, int]:
        """Stop taking work, hand queued forwarded work back to its origins, let running work finish
        (at most `wait_seconds`); what was handed back and what is still running."""
        self.receiver.accepting = False
        if self.dht is not None:
            await self.dht.withdraw_all()
        handed, returned = await self.receiver.hand_back()
        deadline = time.monotonic() + wait_seconds
        while True:
            await self.receiver.report_once(scan=True)
            running = await self.core.db.read(fq.inbound_running)
            if not running or time.monotonic() >= deadline:
                return {"handedback": handed, "acknowledged": returned, "running": running}
            await asyncio.sleep(0.2)

    # --- removal at the origin ---------------------------------------------------------------
    async def remove_unstarted(self, processid: str) -> bool:
        """Remove a process that only waits at a peer (the peer drops its copy); False if it runs."""
        peer = await self.core.db.write(lambda conn: fq.remove_unstarted(conn, processid))
        if peer is None:
            return False
        health = self.origin.health.get(peer)
        self.origin.revoke(peer, health.url if health else "", [processid])
        self.origin.heartbeat_now.set()
        return True

    async def where(self, processid: str) -> dict[str, Any] | None:
        """Where a forwarded process is: the peer, and whether it waits or runs there."""
        row = await self.core.db.read(lambda conn: fq.where_it_runs(conn, processid))
        if row is None:
            return None
        health = self.origin.health.get(row.peer_node)
        return {
            "nodeid": row.peer_node,
            "apiurl": row.peer_url,
            "state": "running" if row.started else "waiting",
            "remoteprocessid": row.remote_processid,
            "reachable": health is None or not health.stalled,
        }

    # --- views ----------------------------------------------------------------------------
    async def peers(self, colonyname: str = "", executortype: str = "") -> list[dict[str, Any]]:
        """Other nodes offering executors: every type each one runs (asked directly), or what its
        record says when it does not answer."""
        colonies = [colonyname] if colonyname else list(self.core.directory.colonies)
        rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        limit = asyncio.Semaphore(MAX_PEER_QUERIES)

        async def ask(colony: str, provider: Provider) -> None:
            async with limit:
                try:
                    _, offer = await self.client.call(provider.api_url, "lookup", Lookup(colonyname=colony, executortype=""), Provider, timeout=3.0, node_id=provider.node_id)
                except PeerError:  # what its record says, and when it last answered this node
                    health = self.origin.health.get(provider.node_id)
                    heard = int(health.last_ok_wall) if health is not None and health.answered else 0
                    rows[(provider.node_id, colony, provider.executortype)] = _peer_row(provider, heard)
                    return
                heard = int(time.time())
                rows[(offer.node_id, colony, "")] = _peer_row(offer, heard)
                for kind, load in offer.types.items():
                    typed = Provider(node_id=offer.node_id, api_url=offer.api_url, colonyname=colony, executortype=kind, live=load.live, waiting=load.waiting, running=load.running)
                    rows[(offer.node_id, colony, kind)] = _peer_row(typed, heard)

        jobs = []
        for colony in colonies:
            for provider in await self.cache.source.lookup(colony, ""):
                if provider.node_id != self.identity.node_id:
                    jobs.append(ask(colony, provider))
        await asyncio.gather(*jobs)
        found = [row for row in rows.values() if not executortype or row["executortype"] == executortype]
        return sorted(found, key=lambda r: (r["colonyname"], r["executortype"], r["node_id"]))

    async def status(self) -> dict[str, Any]:
        counts = await self.core.db.read(fq.counts)
        for node, health in self.origin.health.items():  # peers heard from, idle ones included
            counts["peers"].setdefault(node, {"apiurl": health.url, "waiting": 0, "running": 0, "forwardedin": 0})
        for node, peer in counts["peers"].items():
            health = self.origin.health.get(node)
            peer["reachable"] = health is None or not health.stalled
            peer["lastheard"] = int(health.last_ok_wall) if health is not None and health.answered else 0
        unforwardable = []
        for (colony, kind), _ in sorted(self.origin.unforwardable.items()):
            if kind in self.live.types(colony):
                continue
            waiting = await self.core.db.read(lambda conn, c=colony, k=kind: fq.waiting_count(conn, c, k))
            if waiting:
                unforwardable.append({"colonyname": colony, "executortype": kind, "waiting": waiting})
        cert = self.identity.cert
        return {
            "nodeid": self.identity.node_id,
            "federation": cert.federation,
            "apiurl": cert.api_url,
            "dhtaddress": cert.dht_address,
            "certexpires": cert.expires,
            "leaving": self.leaving,
            **counts,
            "unforwardable": unforwardable,
        }

    # --- the route --------------------------------------------------------------------------
    async def handle(self, body: bytes) -> bytes:
        """POST /federation: a signed message from a member node; a signed reply."""
        try:
            cert, payloadtype, payload = envelope.open_envelope(
                body, authority_id=self.identity.authority_id, recipient=self.identity.node_id, unaddressed=UNADDRESSED, replay=self._replay
            )
        except MembershipError as err:
            raise RPCError(403, f"Not a federation member: {err.message}") from None
        try:
            reply: Any
            if payloadtype == "lookup":
                lookup = msgspec.json.decode(payload, type=Lookup)
                reply = await self.receiver.offer(lookup.colonyname, lookup.executortype)
            elif payloadtype == "forward":
                reply = await self.receiver.accept(cert, msgspec.json.decode(payload, type=ForwardBatch))
            elif payloadtype == "heartbeat":
                reply = await self.receiver.heartbeat(cert, msgspec.json.decode(payload, type=Heartbeat))
            elif payloadtype == "report":
                reply = await self.origin.report(cert.node_id, msgspec.json.decode(payload, type=Report))
            else:
                raise RPCError(400, f"Unknown federation message {payloadtype}")
        except msgspec.DecodeError as err:
            raise RPCError(400, f"Malformed {payloadtype}: {err}") from None
        me = self.identity
        return envelope.build(payloadtype + "reply", reply, me.prvkey, me.cert, to=cert.node_id)


def _peer_row(provider: Provider, heard: int) -> dict[str, Any]:
    return {
        "node_id": provider.node_id,
        "api_url": provider.api_url,
        "colonyname": provider.colonyname,
        "executortype": provider.executortype,
        "live": provider.live,
        "waiting": provider.waiting,
        "running": provider.running,
        "lastseen": heard,
    }

