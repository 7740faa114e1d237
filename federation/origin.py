"""The origin's side of forwarding: send work a peer can run, watch the peers that hold it, take
it back when they stall, close it when they report (docs/federation.md § Forwarding).

A process forwarded to peer B is RUNNING here with B's node id as its assignee and a row in
`federation_outbound`. B may start it only after asking (`start`): this node grants the start
while it still holds B responsible, so work taken back can never start at B afterwards. One
heartbeat per peer and interval lists everything B holds; B's answer says what runs and what
ended there. A peer silent for `peer_timeout` loses its queued work at once; its running work is
re-run elsewhere only after its maxexectime, or after `running_lease` when it has none.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from colonies.federation import data
from colonies.federation import store as fq
from colonies.federation.balance import allocate
from colonies.federation.batching import Coalescer
from colonies.federation.live import LiveExecutors
from colonies.federation.messages import (
    Accepted,
    Forward,
    ForwardBatch,
    ForwardBatchReply,
    Heartbeat,
    HeartbeatReply,
    Provider,
    Result,
    Report,
    ReportReply,
)
from colonies.federation.peers import NodeIdentity, PeerClient, PeerError
from colonies.federation.providers import ProviderCache
from colonies.federation.receiver import GRANT_WINDOW
from colonies.models import FAILED, RUNNING, SUCCESS
from colonies.node.core import NodeCore
from colonies.node.domain import processes
from colonies.node.store.processes import ProcessRecord

log = logging.getLogger(__name__)

FORWARD_BATCH = 256  # processes of one type claimed per pass
HELD_LIMIT = 20_000  # outbound rows listed in one round of heartbeats
REFUSED_SECONDS = 5.0  # a peer that refused or failed a forward is skipped this long
FORWARD_GRACE = 10.0
FORGET_REVOKED = 600.0  # seconds a silent peer holding nothing of ours is still told what was revoked
CLEAN_EVERY = 10  # heartbeat rounds between sweeps for bookkeeping of processes gone here  # a forward older than this that the peer does not know was lost


@dataclass
class PeerHealth:
    url: str
    last_ok: float  # monotonic time of the last answer
    last_ok_wall: float  # the same, wall clock (for status)
    answered: bool = False  # answered at least once since this node started
    stalled: bool = False

    def heard(self) -> None:
        self.last_ok, self.last_ok_wall = time.monotonic(), time.time()
        self.answered, self.stalled = True, False


class Origin:
    def __init__(self, core: NodeCore, identity: NodeIdentity, client: PeerClient, cache: ProviderCache, live: LiveExecutors) -> None:
        self.core = core
        self.identity = identity
        self.client = client
        self.cache = cache
        self.live = live
        self.config = core.config
        self.health: dict[str, PeerHealth] = {}
        self.unforwardable: dict[tuple[str, str], float] = {}  # (colony, type) → wall time last seen without provider
        self._refused: dict[str, float] = {}  # peer node id → monotonic time until which it is skipped
        self._revoked: dict[str, tuple[str, set[str]]] = {}  # peer → (url, process ids to tell it about)
        self._cancelled: set[str] = set()  # ended here while perhaps held by a peer
        self._sent: collections.Counter[tuple[str, str, str]] = collections.Counter()  # (peer, colony, type) → sent since its last report
        self._fetched: dict[tuple[str, str], float] = {}  # (colony, type) → when the provider figures in use were fetched
        self._tasks: set[asyncio.Task[Any]] = set()
        self.forwarder: Coalescer[tuple[str, str], Forward, Accepted] = Coalescer(self._send_forwards)
        self.heartbeat_now = asyncio.Event()
        self._beats = 0

    # --- forwarding ---------------------------------------------------------------------
    async def forward_once(self) -> int:
        """One pass: per colony, per waiting executor type that runs nowhere here, send a batch
        of its oldest processes to providers. Types without providers cost a cache look-up."""
        claimed = 0
        for colonyname in list(self.core.directory.colonies):
            if self.core.directory.colony(colonyname) is None:
                continue
            live = self.live.types(colonyname)
            types = await self.core.db.read(lambda conn, c=colonyname: fq.waiting_types(conn, c))
            for executortype in types:
                if executortype not in live:
                    claimed += await self._forward_type(colonyname, executortype)
        return claimed

    def usable(self, provider: Provider) -> bool:
        if provider.node_id == self.identity.node_id or provider.live <= 0:
            return False
        if self._refused.get(provider.node_id, 0) > time.monotonic():
            return False
        health = self.health.get(provider.node_id)
        return health is None or not health.stalled

    async def _providers(self, colonyname: str, executortype: str) -> list[Provider]:
        """Usable providers of a type; what was sent to them counts until fresher figures come."""
        providers = await self.cache.get(colonyname, executortype)
        fetched = self.cache.fetched_at(colonyname, executortype)
        if fetched > self._fetched.get((colonyname, executortype), 0.0):
            self._fetched[(colonyname, executortype)] = fetched
            for provider in providers:  # their figures now include what we sent before
                self._sent.pop((provider.node_id, colonyname, executortype), None)
        return [p for p in providers if self.usable(p)]

    async def _forward_type(self, colonyname: str, executortype: str) -> int:
        providers = await self._providers(colonyname, executortype)
        if not providers:
            self.unforwardable[(colonyname, executortype)] = time.time()
            return 0
        self.unforwardable.pop((colonyname, executortype), None)
        pids = await self.core.db.read(lambda conn: fq.candidates(conn, colonyname, executortype, FORWARD_BATCH))
        if not pids:
            return 0
        sent = {p.node_id: self._sent[(p.node_id, colonyname, executortype)] for p in providers}
        choices = allocate(len(pids), providers, sent, self.client.rtt)
        # as many as a provider has idle executors are granted with the forward: they start
        # without a second round trip (the rest wait there until their start is granted)
        idle = {p.node_id: max(p.live - p.waiting - p.running - sent[p.node_id], 0) if self._may_grant() else 0 for p in providers}
        assignments = []
        for pid, peer in zip(pids, choices):
            granted = idle[peer.node_id] > 0
            idle[peer.node_id] -= 1
            assignments.append((pid, peer.node_id, peer.api_url, granted))
        now = time.time_ns()
        records = await processes.change(self.core, lambda conn: fq.claim_for_peers(conn, assignments, now), now)
        claimed = {r.processid for r in records if r.state == RUNNING}
        by_peer: dict[tuple[str, str], list[tuple[str, bool]]] = collections.defaultdict(list)
        for pid, node, url, granted in assignments:
            if pid in claimed:
                by_peer[(node, url)].append((pid, granted))
        colony = self.core.directory.colony(colonyname)
        if colony is None:
            return 0
        prepared = await self.core.db.read(lambda conn: self._prepare(conn, colonyname, list(claimed)))
        cannot = [(pid, node, p[0].error) for (node, _), ids in by_peer.items() for pid, _ in ids if (p := prepared.get(pid)) and p[0].error]
        if cannot:
            await self._fail(cannot)
        for (node, url), ids in by_peer.items():
            self._sent[(node, colonyname, executortype)] += len(ids)
            self.health.setdefault(node, PeerHealth(url, time.monotonic(), time.time()))
            forwards = [
                Forward(
                    origin_processid=pid, colonyname=colonyname, colonyid=colony.colonyid, spec=msgspec.Raw(p.spec), input=values,
                    granted=granted, files=p.inputs.files, snapshots=p.inputs.snapshots,
                )
                for pid, granted in ids
                if pid in prepared
                for p, values in [prepared[pid]]
                if not p.error
            ]
            self._spawn(self._deliver(node, url, forwards))
        return len(claimed)

    @staticmethod
    def _prepare(conn: Any, colonyname: str, pids: list[str]) -> dict[str, tuple[data.Prepared, list[Any]]]:
        """Each claimed process's spec as it leaves, its inputs (CFS files it mounts) and its input."""
        bodies = fq.forwards_of(conn, pids)
        return {pid: (data.prepare_forward(conn, colonyname, pid, spec), values) for pid, (spec, values) in bodies.items()}

    async def _fail(self, cannot: list[tuple[str, str, str]]) -> None:
        """Processes claimed for a peer that cannot be forwarded after all: failed, with the reason."""
        now = time.time_ns()

        def fail(conn: Any) -> list[ProcessRecord]:
            records: list[ProcessRecord] = []
            for pid, node, error in cannot:
                records += fq.apply_results(conn, node, [Result(origin_processid=pid, state=FAILED, errors=[error])], now)
            return records

        await processes.change(self.core, fail, now)
        log.warning("failed %d processes that cannot be forwarded: %s", len(cannot), cannot[0][2])

    def _may_grant(self) -> bool:
        # a copy granted with its forward may start up to GRANT_WINDOW after it arrived; only a
        # running lease well beyond that keeps such a copy from being re-run elsewhere meanwhile
        return self.config.running_lease >= 2 * GRANT_WINDOW

    async def _send_forwards(self, key: tuple[str, str], forwards: list[Forward]) -> list[Accepted]:
        node, url = key
        batch = ForwardBatch(forwards=forwards, sent_ms=int(time.time() * 1000))
        _, reply = await self.client.call(url, "forward", batch, ForwardBatchReply, node_id=node)
        answers = {a.origin_processid: a for a in reply.accepted}
        missing = Accepted(origin_processid="", status=502, error="not answered")
        return [answers.get(f.origin_processid, missing) for f in forwards]

    async def _deliver(self, node: str, url: str, forwards: list[Forward]) -> None:
        futures = [self.forwarder.submit((node, url), forward) for forward in forwards]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        accepted: list[tuple[str, str]] = []
        refused: list[str] = []  # the peer has no copy: back to our queue
        unsure: list[str] = []  # the peer may have a copy: back only if it needs our grant to start
        for forward, outcome in zip(forwards, outcomes):
            if isinstance(outcome, PeerError) and outcome.delivered is None:
                unsure.append(forward.origin_processid)
            elif isinstance(outcome, BaseException) or outcome.status != 200:
                refused.append(forward.origin_processid)
            else:
                accepted.append((forward.origin_processid, outcome.processid))
        if accepted:
            self.health[node].heard()
            await self.core.db.write(lambda conn: fq.set_remote_ids(conn, node, accepted))
        if refused or unsure:
            reason = next((o for o in outcomes if isinstance(o, BaseException) or o.status != 200), None)
            log.warning("peer %s refused or missed %d forwarded processes: %s", node[:12], len(refused) + len(unsure), getattr(reason, "error", reason))
            self._refused[node] = time.monotonic() + REFUSED_SECONDS
        if refused:
            await self.take_back(node, refused, unstarted_only=False)
        if unsure:
            # a granted one may already run there: it stays until the peer reports or its lease ends
            await self.take_back(node, unsure, unstarted_only=True)

    async def take_back(self, node: str, processids: list[str], *, unstarted_only: bool) -> int:
        """Back into our queue, not counted as a retry; the peer is told to drop its copies."""
        now = time.time_ns()
        def take(conn: Any) -> tuple[list[ProcessRecord], list[str]]:
            released, ids = fq.take_back(conn, node, processids, now, unstarted_only=unstarted_only)
            return processes.transition(conn, released, now), ids

        records, ids = await self.core.db.write(take, then=lambda done: self.core.publish(done[0]))
        if ids:
            health = self.health.get(node)
            self.revoke(node, health.url if health else "", ids)
        return len(ids)

    def revoke(self, node: str, url: str, ids: list[str]) -> None:
        known_url, pending = self._revoked.get(node, (url, set()))
        pending.update(ids)
        self._revoked[node] = (known_url or url, pending)

    # --- what peers ask -----------------------------------------------------------------
    async def report(self, peer_node: str, report: Report) -> ReportReply:
        """A peer's results (closed here if it still holds them; later copies dropped) and start
        requests (granted while this node still holds the peer responsible), in one transaction.
        Every result is acknowledged, so the peer stops reporting it either way."""
        now = time.time_ns()

        def apply(conn: Any) -> tuple[list[ProcessRecord], list[str], list[str]]:
            records = _apply_results(conn, peer_node, report.results, now) if report.results else []
            granted, revoked = fq.grant_starts(conn, peer_node, report.starts, now) if report.starts else ([], [])
            return records, granted, revoked

        records, granted, revoked = await self.core.db.write(apply, then=lambda done: self.core.publish(done[0]))
        if any(r.files for r in report.results):
            self.core.cfs_changed()
        if peer_node in self.health:
            self.health[peer_node].heard()
        return ReportReply(granted=granted, revoked=revoked, acknowledged=[r.origin_processid for r in report.results])

    async def apply_results(self, sender: str, results: list[Result]) -> None:
        now = time.time_ns()
        await self.core.change(lambda conn: _apply_results(conn, sender, results, now))
        if any(r.files for r in results):
            self.core.cfs_changed()

    # --- watching peers -------------------------------------------------------------------
    def process_cancelled(self, record: ProcessRecord) -> None:
        """Cancelled here: if a peer holds it, the peer must drop its copy."""
        if record.assignedexecutorid and self.core.directory.executor_by_id(record.colonyname, record.assignedexecutorid) is None:
            self._cancelled.add(record.processid)
            self.heartbeat_now.set()

    async def heartbeat_once(self) -> None:
        if self._cancelled:
            ended, self._cancelled = list(self._cancelled), set()
            held = await self.core.db.write(lambda conn: fq.forget_outbound(conn, ended))
            for node, ids in held.items():
                health = self.health.get(node)
                self.revoke(node, health.url if health else "", ids)
        self._beats += 1
        clean = self._beats % CLEAN_EVERY == 0
        held_rows = await self.core.db.write(lambda conn: fq.held_by_peers(conn, HELD_LIMIT, clean=clean))
        complete = sum(len(rows) for rows in held_rows.values()) < HELD_LIMIT
        peers = set(held_rows) | set(self._revoked)
        await asyncio.gather(*(self._heartbeat(node, held_rows.get(node, []), complete) for node in peers))

    async def _heartbeat(self, node: str, rows: list[Any], complete: bool) -> None:
        url = rows[0].peer_url if rows else self._revoked[node][0]
        health = self.health.setdefault(node, PeerHealth(url, time.monotonic(), time.time()))
        if not rows and (not url or time.monotonic() - health.last_ok > FORGET_REVOKED):
            # nothing of ours there, silent for long: it asks before starting anything anyway
            self._revoked.pop(node, None)
            return
        revoked = sorted(self._revoked.get(node, (url, set()))[1])
        message = Heartbeat(held=[r.processid for r in rows], revoked=revoked, complete=complete)
        try:
            _, reply = await self.client.call(url, "heartbeat", message, HeartbeatReply, timeout=self.config.heartbeat_timeout, node_id=node)
        except PeerError as err:
            silent = time.monotonic() - health.last_ok
            if silent >= self.config.peer_timeout:
                await self._stalled(node, rows, health, silent, err)
            return
        if health.stalled:
            log.warning("peer %s answers again", node[:12])
            self._refused.pop(node, None)
        health.heard()
        if node in self._revoked:
            pending = self._revoked[node][1]
            pending.difference_update(revoked)
            if not pending:
                del self._revoked[node]
        await self._reconcile(node, rows, reply)

    async def _reconcile(self, node: str, rows: list[Any], reply: HeartbeatReply) -> None:
        if reply.ended:
            await self.apply_results(node, reply.ended)
        if reply.running:
            now = time.time_ns()
            await self.core.db.write(lambda conn: fq.mark_started(conn, node, reply.running, now))
        if reply.unknown:
            old = time.time_ns() - int(FORWARD_GRACE * fq.NS)
            forwarded = {r.processid: r for r in rows}
            lost = [pid for pid in reply.unknown if pid in forwarded and (forwarded[pid].remote_processid or forwarded[pid].forwarded < old)]
            if lost:
                log.warning("peer %s no longer has %d forwarded processes: taking them back", node[:12], len(lost))
                await self.take_back(node, lost, unstarted_only=False)
        for provider in reply.load:
            if provider.node_id == node:
                self.cache.update(provider)
                self._sent.pop((node, provider.colonyname, provider.executortype), None)
        if reply.leaving:
            self._refused[node] = time.monotonic() + REFUSED_SECONDS
        await self._rebalance(node, rows, reply)

    async def _stalled(self, node: str, rows: list[Any], health: PeerHealth, silent: float, err: PeerError) -> None:
        """The peer has not answered for `peer_timeout`: its queued work is taken back at once; its
        running work once its lease is over (re-running it risks a second execution)."""
        now = time.time_ns()
        lease_ns = int(self.config.running_lease * fq.NS)
        silent_ns = int((time.time() - health.last_ok_wall) * fq.NS)
        queued = [r.processid for r in rows if not r.started]
        overdue = [
            r.processid
            for r in rows
            if r.started and ((r.lease_expires and r.lease_expires < now) or (not r.lease_expires and silent_ns >= lease_ns))
        ]
        if not health.stalled:
            log.warning("peer %s silent for %.1f s (%s): taking back %d queued processes; %d running there wait for their lease", node[:12], silent, err, len(queued), len(rows) - len(queued))
        health.stalled = True
        if queued:
            await self.take_back(node, queued, unstarted_only=True)
        if overdue:
            log.warning("peer %s: %d running processes passed their lease, re-queued", node[:12], len(overdue))
            await self.take_back(node, overdue, unstarted_only=False)

    async def _rebalance(self, node: str, rows: list[Any], reply: HeartbeatReply) -> None:
        """Queued work waiting at this peer for long is moved where executors are idle."""
        after = self.config.rebalance_after
        if after <= 0:
            return
        cutoff = time.time_ns() - int(after * fq.NS)
        stale = [r for r in rows if not r.started and r.forwarded < cutoff and r.processid not in reply.running]
        if not stale:
            return
        by_type: dict[tuple[str, str], list[Any]] = collections.defaultdict(list)
        for row in stale:
            by_type[(row.colonyname, row.executortype)].append(row)
        for (colonyname, executortype), waiting in by_type.items():
            providers = await self._providers(colonyname, executortype)
            spare = sum(max(p.live - p.waiting - p.running - self._sent[(p.node_id, colonyname, executortype)], 0) for p in providers if p.node_id != node)
            if spare > 0:
                moved = [r.processid for r in sorted(waiting, key=lambda r: r.forwarded)[:spare]]
                taken = await self.take_back(node, moved, unstarted_only=True)
                if taken:
                    log.info("moved %d queued processes of %s/%s off peer %s", taken, colonyname, executortype, node[:12])

    # --- helpers --------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.forwarder.close()


def _apply_results(conn: Any, sender: str, results: list[Result], now: int) -> list[ProcessRecord]:
    """Close what the sender reported and adopt the output files of what succeeded there, in
    one transaction: a process is never SUCCESSFUL here before its outputs are listed here.
    Returns every record to publish (the workflow consequences included)."""
    records = fq.apply_results(conn, sender, results, now)
    files = {r.origin_processid: r.files for r in results if r.files}
    for record in records:
        found = files.get(record.processid)
        spec = data.spec_of(record.process) if found and record.state == SUCCESS else None
        if found and spec is not None:
            data.adopt_outputs(conn, record.colonyname, data.pin_process_ids(spec, record.processid), found, now)
    return processes.transition(conn, records, now)
