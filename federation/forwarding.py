"""Forwarding work a node cannot run to a peer that can, and results back (ARCHITECTURE § Federation).

Origin side: a waiting process whose executor type has no live executor here is claimed for a
peer (RUNNING, `assignedexecutorid` = the peer's node id, so `getprocessmsg` shows where it runs)
and sent there; the peer's result closes it here (workflows continue as usual). A lease bounds
how long a silent peer keeps it: then the origin asks, and takes the process back when the peer
does not answer; late results for a process no longer held by that peer are dropped.

Receiving side: a forwarded process becomes a local process (idempotent per origin process id);
when it ends, its result is reported to the origin until the origin acknowledges it.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

import msgspec
from sqlalchemy.engine import Connection

from colonies import models
from colonies.federation import envelope
from colonies.federation import store as fq
from colonies.federation.membership import Certificate, MembershipError
from colonies.federation.messages import Ack, Forward, Forwarded, Lookup, Provider, Result, Status
from colonies.federation.peers import NodeIdentity, PeerClient, PeerError
from colonies.models import APPROVED, CANCELLED, FAILED, SUCCESS, WAITING
from colonies.node.core import NodeCore
from colonies.node.store import processes as pq
from colonies.node.store import workflows as wq
from colonies.node.store.processes import ProcessRecord
from colonies.node.submission import process_row, validate_spec
from colonies.wire import RPCError

log = logging.getLogger(__name__)

NS = 1_000_000_000
CONCURRENCY = 32  # messages in flight to peers at once
TERMINAL = (SUCCESS, FAILED, CANCELLED)
_json = msgspec.json.Encoder()


class ProviderSource(Protocol):
    async def lookup(self, colonyname: str, executortype: str) -> list[Provider]: ...


class Federation:
    def __init__(self, core: NodeCore, identity: NodeIdentity, providers: ProviderSource, client: PeerClient, *, dht: Any = None) -> None:
        self.core = core
        self.dht = dht  # colonies.dht.node.DHTNode, when the node takes part in the DHT
        self.identity = identity
        self.providers = providers
        self.client = client
        self._tasks: list[asyncio.Task[None]] = []
        self._forward_now = asyncio.Event()
        self._report_now = asyncio.Event()
        self._replay = envelope.ReplayGuard()
        self._refused: dict[str, float] = {}  # peer node id → monotonic time until which we skip it
        self._accepting = True

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        config = self.core.config
        self._tasks = [
            asyncio.create_task(self._every(config.forward_interval, self.forward_once, self._forward_now), name="federation-forward"),
            asyncio.create_task(self._every(max(config.forward_lease / 4, 0.1), self.check_leases, None), name="federation-leases"),
            asyncio.create_task(self._every(1.0, self.report_once, self._report_now), name="federation-report"),
        ]
        if self.dht is not None:
            self._tasks.append(asyncio.create_task(self._every(config.advertise_interval, self.advertise, None), name="federation-advertise"))
        self.core.events.listeners.append(self._on_process_event)

    async def stop(self) -> None:
        if self._on_process_event in self.core.events.listeners:
            self.core.events.listeners.remove(self._on_process_event)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.dht is not None:
            await self.dht.stop(withdraw=True)
        await self.client.close()

    async def advertise(self) -> None:
        """Publish this node's provider records (one per colony and live executor type) in the DHT."""
        if self.dht is None or not self._accepting:
            return
        records = []
        for colonyname in list(self.core.directory.colonies):
            live = self.live_types(colonyname)
            records.append(self.dht.record(colonyname, "", live=sum(live.values()), waiting=0))
            for executortype, count in live.items():
                waiting = await self.core.db.read(lambda conn, c=colonyname, t=executortype: fq.waiting_count(conn, c, t))
                records.append(self.dht.record(colonyname, executortype, live=count, waiting=waiting))
        current = {(r.colony, r.executortype) for r in records}
        for old in self.dht.advertised():
            if (old.colony, old.executortype) not in current and not old.withdrawn:
                await self.dht.withdraw(old.colony, old.executortype)
        if records:
            await self.dht.advertise(records)

    @property
    def leaving(self) -> bool:
        return not self._accepting

    async def leave(self, wait_seconds: float) -> dict[str, int]:
        """Stop taking work, hand queued forwarded work back to its origins, let running work finish
        (at most `wait_seconds`); what was handed back and what is still running."""
        self._accepting = False
        if self.dht is not None:
            await self.dht.withdraw_all()
        handed = await self.core.db.write(fq.hand_back)
        returned = 0
        for row in handed:
            result = Result(origin_processid=row.origin_processid, state=CANCELLED, remote_processid=row.processid)
            for _ in range(3):
                try:
                    await self.client.call(row.origin_url, "result", result, Ack)
                    returned += 1
                    break
                except PeerError:
                    await asyncio.sleep(0.2)
        deadline = time.monotonic() + wait_seconds
        while True:
            await self.report_once()
            running = await self.core.db.read(fq.inbound_running)
            if not running or time.monotonic() >= deadline:
                return {"handedback": len(handed), "acknowledged": returned, "running": running}
            await asyncio.sleep(0.2)

    async def peers(self, colonyname: str = "", executortype: str = "") -> list[dict[str, Any]]:
        """Providers this node knows of (for every hosted colony and its known types if not given)."""
        colonies = [colonyname] if colonyname else list(self.core.directory.colonies)
        seen: dict[tuple[str, str, str], dict[str, Any]] = {}
        for colony in colonies:
            types = [executortype] if executortype else sorted({e.executortype for e in self.core.directory.executors_of(colony)} | {""})
            for kind in types:
                for provider in await self.providers.lookup(colony, kind):
                    seen[(provider.node_id, colony, provider.executortype)] = msgspec.to_builtins(provider) | {"lastseen": int(time.time())}
        return list(seen.values())

    async def status(self) -> dict[str, Any]:
        counts = await self.core.db.read(fq.counts)
        cert = self.identity.cert
        return {
            "nodeid": self.identity.node_id,
            "federation": cert.federation,
            "apiurl": cert.api_url,
            "dhtaddress": cert.dht_address,
            "certexpires": cert.expires,
            "leaving": self.leaving,
            **counts,
        }

    def _on_process_event(self, record: ProcessRecord) -> None:
        if record.state == WAITING and not record.process.waitforparents:
            self._forward_now.set()  # perhaps nobody here runs it
        elif record.state in TERMINAL:
            self._report_now.set()  # perhaps a peer waits for it

    async def _every(self, period: float, step: Any, now: asyncio.Event | None) -> None:
        """Run `step` every `period` seconds, and at once when `now` is set."""
        while True:
            if now is not None:
                now.clear()
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("federation step %s failed", getattr(step, "__name__", step))
            if now is None:
                await asyncio.sleep(period)
                continue
            try:
                await asyncio.wait_for(now.wait(), period)
            except TimeoutError:
                pass

    # --- what runs here -------------------------------------------------------------------
    def live_types(self, colonyname: str) -> dict[str, int]:
        """Executor types with live executors in the colony: heard from recently, or long-polling now."""
        now = time.time_ns()
        window = int(self.core.config.live_window * NS)
        live: dict[str, int] = {}
        for executor in self.core.directory.executors_of(colonyname):
            if executor.state != APPROVED:
                continue
            heard = self.core.heard_from.get(executor.executorid, 0)
            if now - heard <= window or self.core.scheduler.waiting_count(colonyname, executor.executortype):
                live[executor.executortype] = live.get(executor.executortype, 0) + 1
        return live

    async def provider_for(self, colonyname: str, executortype: str) -> Provider:
        """This node's own offer (answer to a lookup, content of its DHT records)."""
        waiting = await self.core.db.read(lambda conn: fq.waiting_count(conn, colonyname, executortype))
        return Provider(
            node_id=self.identity.node_id,
            api_url=self.identity.cert.api_url,
            colonyname=colonyname,
            executortype=executortype,
            live=self.live_types(colonyname).get(executortype, 0) if self._accepting else 0,
            waiting=waiting,
        )

    # --- origin: forwarding ---------------------------------------------------------------
    async def forward_once(self) -> int:
        jobs = []
        for colonyname in list(self.core.directory.colonies):
            live = self.live_types(colonyname)
            candidates = await self.core.db.read(lambda conn, c=colonyname: fq.assignable(conn, c))
            jobs += [(colonyname, pid, kind) for pid, kind in candidates if kind not in live]
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(colonyname: str, processid: str, executortype: str) -> bool:
            async with limit:
                return await self._forward(colonyname, processid, executortype)

        return sum(await asyncio.gather(*(one(*job) for job in jobs)))

    def _usable(self, provider: Provider) -> bool:
        return provider.node_id != self.identity.node_id and provider.live > 0 and self._refused.get(provider.node_id, 0) < time.monotonic()

    async def _forward(self, colonyname: str, processid: str, executortype: str) -> bool:
        providers = [p for p in await self.providers.lookup(colonyname, executortype) if self._usable(p)]
        if not providers:
            return False
        # fewest waiting per live executor, then the nearest (smoothed round trip), then a stable order
        rtt = self.client.rtt
        peer = min(providers, key=lambda p: (p.waiting - p.live, rtt.get(p.node_id, 1.0), p.node_id))
        colony = self.core.directory.colony(colonyname)
        if colony is None:
            return False
        now = time.time_ns()
        lease = now + int(self.core.config.forward_lease * NS)

        def claim(conn: Connection) -> list[ProcessRecord]:
            if not fq.claim_for_peer(conn, processid, peer.node_id, now):
                return []
            fq.add_outbound(conn, {"processid": processid, "peer_node": peer.node_id, "peer_url": peer.api_url, "forwarded": now, "lease_expires": lease})
            record = pq.get_record(conn, processid)
            return wq.changed(conn, record, now)

        records = await self.core.db.write(claim)
        if not records:
            return False  # a local executor took it meanwhile
        self._publish(records)
        spec_raw, inputs = await self.core.db.read(lambda conn: fq.spec_and_input(conn, processid))
        message = Forward(origin_processid=processid, colonyname=colonyname, colonyid=colony.colonyid, spec=msgspec.Raw(spec_raw), input=inputs)
        try:
            cert, reply = await self.client.call(peer.api_url, "forward", message, Forwarded)
            if cert.node_id != peer.node_id:
                raise PeerError(502, "a different node answered")
        except PeerError as err:
            log.warning("forwarding %s to %s failed: %s", processid, peer.node_id[:12], err)
            self._refused[peer.node_id] = time.monotonic() + 5.0
            await self._take_back(processid, peer.node_id)
            return False
        await self.core.db.write(lambda conn: fq.renew_lease(conn, processid, lease, reply.processid))
        return True

    async def _take_back(self, processid: str, peer_node: str) -> None:
        """The peer lost the process (or never got it): back into our queue, not counted as a retry."""
        now = time.time_ns()

        def release(conn: Connection) -> list[ProcessRecord]:
            fq.remove_outbound(conn, processid)
            if not fq.runs_at(conn, processid, peer_node):
                return []
            return wq.changed(conn, pq.release(conn, processid=processid, now=now, count_retry=False), now)

        self._publish(await self.core.db.write(release))

    async def apply_result(self, sender: str, result: Result) -> bool:
        """A peer reports a forwarded process; only the peer holding it may close it here."""
        now = time.time_ns()
        output = _json.encode(result.output)
        errors = _json.encode(result.errors)

        def close(conn: Connection) -> list[ProcessRecord]:
            held = fq.get_outbound(conn, result.origin_processid)
            if held is None or held.peer_node != sender:
                return []  # late or duplicate: someone else has it now, or it is done
            if result.state not in TERMINAL:
                fq.renew_lease(conn, result.origin_processid, now + int(self.core.config.forward_lease * NS))
                return []
            fq.remove_outbound(conn, result.origin_processid)
            if result.state == CANCELLED:
                return wq.changed(conn, pq.release(conn, processid=result.origin_processid, now=now, count_retry=False), now)
            state = SUCCESS if result.state == SUCCESS else FAILED
            record = pq.close(conn, processid=result.origin_processid, executorid=sender, state=state, now=now, output=output if state == SUCCESS else None, errors=errors if state == FAILED else None)
            return wq.changed(conn, record, now)

        records = await self.core.db.write(close)
        self._publish(records)
        return bool(records)

    async def check_leases(self) -> None:
        now = time.time_ns()
        for row in await self.core.db.read(lambda conn: fq.outbound_due(conn, now)):
            try:
                _, result = await self.client.call(row.peer_url, "status", Status(origin_processid=row.processid), Result)
            except PeerError as err:
                log.warning("peer %s lost forwarded process %s: %s", row.peer_node[:12], row.processid, err)
                await self._take_back(row.processid, row.peer_node)
                continue
            if result.state in TERMINAL:
                await self.apply_result(row.peer_node, result)
            else:
                lease = time.time_ns() + int(self.core.config.forward_lease * NS)
                await self.core.db.write(lambda conn, pid=row.processid: fq.renew_lease(conn, pid, lease))

    # --- receiving side -------------------------------------------------------------------
    async def handle(self, body: bytes) -> bytes:
        """POST /federation: a signed message from a member node; a signed reply."""
        try:
            cert, payloadtype, payload = envelope.open_envelope(
                body, authority_id=self.identity.authority_id, recipient=None, replay=self._replay
            )
        except MembershipError as err:
            raise RPCError(403, f"Not a federation member: {err.message}") from None
        try:
            reply: Any
            if payloadtype == "lookup":
                lookup = msgspec.json.decode(payload, type=Lookup)
                reply = await self.provider_for(lookup.colonyname, lookup.executortype)
            elif payloadtype == "forward":
                reply = await self._accept(cert, msgspec.json.decode(payload, type=Forward))
            elif payloadtype == "status":
                reply = await self._status(cert, msgspec.json.decode(payload, type=Status))
            elif payloadtype == "result":
                await self.apply_result(cert.node_id, msgspec.json.decode(payload, type=Result))
                reply = Ack()
            else:
                raise RPCError(400, f"Unknown federation message {payloadtype}")
        except msgspec.DecodeError as err:
            raise RPCError(400, f"Malformed {payloadtype}: {err}") from None
        me = self.identity
        return envelope.build(payloadtype + "reply", reply, me.prvkey, me.cert)

    async def _accept(self, origin: Certificate, forward: Forward) -> Forwarded:
        if not self._accepting:
            raise RPCError(503, "This node is leaving the federation and takes no new work")
        colony = self.core.directory.colony(forward.colonyname)
        if colony is None or colony.colonyid != forward.colonyid:
            raise RPCError(404, f"Colony {forward.colonyname} is not hosted here")
        existing = await self.core.db.read(lambda conn: fq.find_inbound(conn, origin.node_id, forward.origin_processid))
        if existing is not None:
            return Forwarded(processid=existing.processid)
        try:
            spec = validate_spec(msgspec.json.decode(forward.spec, type=models.FunctionSpec))
        except msgspec.DecodeError as err:
            raise RPCError(400, f"Invalid forwarded spec: {err}") from None
        row, attrs = process_row(spec, initiatorid=origin.node_id, initiatorname=f"node:{origin.node_id[:12]}", now=time.time_ns())
        row["input"] = _json.encode(forward.input).decode()
        inbound = {"processid": row["processid"], "origin_node": origin.node_id, "origin_processid": forward.origin_processid, "origin_url": origin.api_url, "reported": False}

        def store(conn: Connection) -> ProcessRecord | str:
            again = fq.find_inbound(conn, origin.node_id, forward.origin_processid)
            if again is not None:
                return str(again.processid)
            record = pq.insert_process(conn, row, attrs)
            fq.add_inbound(conn, inbound)
            return record

        stored = await self.core.db.write(store)
        if isinstance(stored, str):
            return Forwarded(processid=stored)
        self.core.events.publish(stored)
        return Forwarded(processid=row["processid"])

    async def _status(self, origin: Certificate, status: Status) -> Result:
        def read(conn: Connection) -> Result | None:
            mine = fq.find_inbound(conn, origin.node_id, status.origin_processid)
            if mine is None:
                return None
            record = pq.get_record(conn, mine.processid)
            if record is None:
                return None
            return fq.result_of(conn, status.origin_processid, mine.processid)

        result = await self.core.db.read(read)
        if result is None:
            raise RPCError(404, f"No forwarded process {status.origin_processid} from this origin")
        return result

    async def report_once(self) -> int:
        """Tell origins about forwarded processes that ended here (retried until acknowledged)."""
        rows = await self.core.db.read(lambda conn: fq.ended_unreported(conn))
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(row: Any, result: Result) -> bool:
            async with limit:
                try:
                    await self.client.call(row.origin_url, "result", result, Ack)
                except PeerError as err:
                    if err.status in (0, 502, 503):
                        return False  # try again later
                await self.core.db.write(lambda conn: fq.mark_reported(conn, row.processid))
                return True

        return sum(await asyncio.gather(*(one(row, result) for row, result in rows)))

    def _publish(self, records: list[ProcessRecord]) -> None:
        for record in records:
            self.core.events.publish(record)
