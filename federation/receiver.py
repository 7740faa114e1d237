"""The receiving side of forwarding: run work for origins, ask before starting it, report results.

A forwarded process is a local process (initiator `node:<origin id>`) with a row in
`federation_inbound`. Before an executor here gets it, the origin must grant the start; a
revoked copy is dropped and the executor is offered the next process. Results go back in
batches per origin, earliest end first, and the row is deleted once the origin acknowledges.
Forwarded-in work is never forwarded on (no multi-hop).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

import msgspec

from colonies import models
from colonies.cfs import files as cfs
from colonies.federation import data
from colonies.federation import store as fq
from colonies.federation.batching import Coalescer
from colonies.federation.live import LiveExecutors
from colonies.federation.membership import Certificate
from colonies.federation.messages import (
    Accepted,
    ForwardBatch,
    ForwardBatchReply,
    Heartbeat,
    HeartbeatReply,
    Load,
    Provider,
    Result,
    Report,
    ReportReply,
)
from colonies.federation.peers import NodeIdentity, PeerClient, PeerError
from colonies.models import CANCELLED, RUNNING, SUCCESS, WAITING
from colonies.node.core import NodeCore
from colonies.node.store import processes as pq
from colonies.node.store.processes import ProcessRecord
from colonies.node.domain import processes
from colonies.node.domain.submission import process_row, validate_spec
from colonies.wire import RPCError

log = logging.getLogger(__name__)

INITIATOR_PREFIX = "node:"
REPORT_BATCH = 500
STORE_SCAN_SECONDS = 5.0  # unacknowledged results are looked for in the store this often
REVOKE_GRACE = 10.0  # a copy younger than this is not revoked by its absence from a heartbeat
START_ATTEMPTS = 2
# A copy granted with its forward may start without asking if the forward was sent (sender's
# clock) and started (ours) within this many seconds: far inside any running lease (≥ 30 s), so
# the origin cannot have re-run it elsewhere meanwhile.
GRANT_WINDOW = 5.0
# A forwarded copy's start is asked for ahead of its claim while it is among the next this many
# in line (at most one per live executor of its type), so that the executor that comes back for
# it finds the grant here instead of waiting a round trip to the origin.
GRANT_AHEAD = 32
_json = msgspec.json.Encoder()


class Receiver:
    def __init__(self, core: NodeCore, identity: NodeIdentity, client: PeerClient, live: LiveExecutors) -> None:
        self.core = core
        self.identity = identity
        self.client = client
        self.live = live
        self.accepting = True
        self.report_now = asyncio.Event()
        # start requests and results for one origin travel together: ("start", origin process id)
        # is answered with the grant, ("result", Result) with its acknowledgement
        self.outbox: Coalescer[tuple[str, str], tuple[str, Any], bool] = Coalescer(self._send_report)
        # local process id → (origin node, origin URL, origin process id) of copies taken in since
        # this node started (older ones are read from the store)
        self._links: dict[str, tuple[str, str, str]] = {}
        self._pending: dict[tuple[str, str], dict[str, Result]] = collections.defaultdict(dict)
        self._next_scan = 0.0
        self._granted: dict[str, float] = {}  # local process id → monotonic time its start was granted (with its forward or ahead)
        self._asking: dict[str, asyncio.Future[bool | None]] = {}  # local process id → its start asked for ahead of a claim
        self._topping: set[tuple[str, str]] = set()  # (colony, type) whose grants ahead are being topped up
        self._top_again: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Future[Any]] = set()

    # --- forwards in ----------------------------------------------------------------------
    async def accept(self, origin: Certificate, batch: ForwardBatch) -> ForwardBatchReply:
        answers: dict[str, Accepted] = {}
        rows = []
        inputs: list[tuple[str, data.Shipment]] = []
        now = time.time_ns()
        # a grant travels with its forward only while fresh: one held up (in a stalled node's
        # socket, say) is treated as ungranted and the start is asked for
        fresh = abs(time.time() * 1000 - batch.sent_ms) <= GRANT_WINDOW * 1000
        granted = {f.origin_processid for f in batch.forwards if f.granted and fresh}
        for forward in batch.forwards:
            pid = forward.origin_processid
            if not self.accepting:
                answers[pid] = Accepted(origin_processid=pid, status=503, error="this node is leaving the federation and takes no new work")
                continue
            colony = self.core.directory.colony(forward.colonyname)
            if colony is None or colony.colonyid != forward.colonyid:
                answers[pid] = Accepted(origin_processid=pid, status=404, error=f"colony {forward.colonyname} is not hosted here")
                continue
            try:
                spec = validate_spec(msgspec.json.decode(forward.spec, type=models.FunctionSpec))
            except (msgspec.DecodeError, msgspec.ValidationError, RPCError) as err:
                answers[pid] = Accepted(origin_processid=pid, status=400, error=f"invalid forwarded spec: {err}")
                continue
            if spec.conditions.colonyname != forward.colonyname:
                answers[pid] = Accepted(origin_processid=pid, status=400, error="the spec names another colony")
                continue
            if problem := _invalid_inputs(forward):
                answers[pid] = Accepted(origin_processid=pid, status=400, error=f"invalid forwarded files: {problem}")
                continue
            row, attrs = process_row(spec, initiatorid=origin.node_id, initiatorname=f"{INITIATOR_PREFIX}{origin.node_id[:12]}", now=now)
            row["input"] = _json.encode(forward.input).decode()
            rows.append((row, attrs, pid))
            if forward.files or forward.snapshots:
                inputs.append((forward.colonyname, data.Shipment(forward.files, forward.snapshots)))
        if rows:

            def accept(conn: Any) -> tuple[dict[str, str], list[ProcessRecord]]:
                # the inputs are here before any executor can be handed the process
                for colonyname, shipment in inputs:
                    data.adopt_inputs(conn, colonyname, shipment, now)
                return fq.accept_forwards(conn, origin.node_id, origin.api_url, rows, now)

            ids, created = await self.core.db.write(accept, then=lambda done: self.core.publish(done[1]))
            if inputs:
                self.core.cfs_changed()
            arrived = time.monotonic()
            for pid, local in ids.items():
                answers[pid] = Accepted(origin_processid=pid, processid=local)
                self._links[local] = (origin.node_id, origin.api_url, pid)
                if pid in granted:
                    self._granted[local] = arrived
        return ForwardBatchReply(accepted=[answers[f.origin_processid] for f in batch.forwards if f.origin_processid in answers])

    # --- starting: at most one execution ---------------------------------------------------
    @staticmethod
    def forwarded_here(record: ProcessRecord) -> bool:
        """Whether a process may be a copy of another node's work (only those need a grant)."""
        return record.initiatorname.startswith(INITIATOR_PREFIX)

    def granted_already(self, record: ProcessRecord) -> bool:
        """Whether the claimed copy's start was granted recently (with its forward or ahead of
        the claim): then it starts now, and the grant is used up."""
        pid = record.processid
        arrived = self._granted.get(pid)
        if arrived is None or pid in self._asking or time.monotonic() - arrived >= GRANT_WINDOW:
            return False
        del self._granted[pid]
        return True

    async def may_start(self, record: ProcessRecord) -> bool:
        """Called when an executor here has just claimed `record`: False (and the copy dropped)
        if it is forwarded work its origin no longer wants run here."""
        if not self.forwarded_here(record):
            return True
        pid = record.processid
        asking = self._asking.get(pid)
        if asking is not None:
            try:
                answer = await asyncio.shield(asking)
            except Exception:  # the ahead request broke: ask below as if there had been none
                answer = None
            if answer is False:
                return False  # revoked (and dropped) while its start was asked for ahead
        arrived = self._granted.pop(pid, None)
        if arrived is not None and time.monotonic() - arrived < GRANT_WINDOW:
            return True  # granted with its forward or ahead of this claim, and starting soon after
        link = await self._link(pid)
        if link is None:
            return True
        origin_node, origin_url, origin_processid = link
        granted = False
        for attempt in range(START_ATTEMPTS):
            try:
                granted = await self.outbox.call((origin_node, origin_url), ("start", origin_processid))
                break
            except PeerError as err:
                if attempt + 1 == START_ATTEMPTS:
                    log.warning("origin %s did not answer a start request (%s): dropping its copy %s", origin_node[:12], err, pid)
                else:
                    await asyncio.sleep(0.2)
        if not granted:
            await self.drop([pid])
        return granted

    def _grant_ahead_soon(self, colonyname: str, executortype: str) -> None:
        """An executor of this type is likely back for more: make sure the next copies in line
        have their starts granted before it claims one."""
        key = (colonyname, executortype)
        if key in self._topping:
            self._top_again.add(key)
            return
        self._topping.add(key)
        self._keep(asyncio.ensure_future(self._grant_ahead(key)))

    async def _grant_ahead(self, key: tuple[str, str]) -> None:
        try:
            while True:
                self._top_again.discard(key)
                await self._grant_ahead_once(*key)
                if key not in self._top_again:
                    return
        except Exception:
            log.exception("asking origins for starts ahead failed")
        finally:
            self._topping.discard(key)

    async def _grant_ahead_once(self, colonyname: str, executortype: str) -> None:
        ahead = min(self.live.types(colonyname).get(executortype, 0), GRANT_AHEAD)
        if ahead <= 0 or not self.accepting:
            return
        self._forget_old_grants()
        rows = await self.core.db.read(lambda conn: fq.next_copies(conn, colonyname, executortype, ahead))
        for row in rows:
            local = row.processid
            if local in self._granted or local in self._asking:
                continue
            link = self._links.setdefault(local, (row.origin_node, row.origin_url, row.origin_processid))
            self._asking[local] = self._keep(asyncio.ensure_future(self._ask_ahead(local, link)))

    async def _ask_ahead(self, local: str, link: tuple[str, str, str]) -> bool | None:
        """Ask for one start ahead of its claim: True granted, False revoked (the copy is
        dropped), None when the origin did not answer (the claim asks again)."""
        origin_node, origin_url, origin_processid = link
        try:
            granted = await self.outbox.call((origin_node, origin_url), ("start", origin_processid))
        except PeerError:
            self._asking.pop(local, None)
            return None
        if granted:
            self._granted[local] = time.monotonic()
            self._asking.pop(local, None)
        else:
            self._asking.pop(local, None)
            await self.drop([local])
        return granted

    def _keep(self, task: asyncio.Future[Any]) -> asyncio.Future[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _link(self, processid: str) -> tuple[str, str, str] | None:
        link = self._links.get(processid)
        if link is None:
            row = await self.core.db.read(lambda conn: fq.inbound_of_process(conn, processid))
            if row is None:
                return None
            link = self._links[processid] = (row.origin_node, row.origin_url, row.origin_processid)
        return link

    async def _send_report(self, key: tuple[str, str], items: list[tuple[str, Any]]) -> list[bool]:
        node, url = key
        report = Report(starts=[x for kind, x in items if kind == "start"], results=[x for kind, x in items if kind == "result"])
        _, reply = await self.client.call(url, "report", report, ReportReply, node_id=node)
        granted, acknowledged = set(reply.granted), set(reply.acknowledged)
        return [x in granted if kind == "start" else x.origin_processid in acknowledged for kind, x in items]

    async def drop(self, processids: list[str]) -> None:
        now = time.time_ns()
        for pid in processids:
            self._links.pop(pid, None)
            self._granted.pop(pid, None)
        await processes.change(self.core, lambda conn: fq.drop_copies(conn, processids, now), now)

    # --- heartbeats from origins -------------------------------------------------------------
    def _forget_old_grants(self) -> None:
        cutoff = time.monotonic() - GRANT_WINDOW
        for pid in [pid for pid, arrived in self._granted.items() if arrived < cutoff]:
            del self._granted[pid]

    async def heartbeat(self, origin: Certificate, beat: Heartbeat) -> HeartbeatReply:
        self._forget_old_grants()
        limit = len(beat.held) + 10_000
        copies = await self.core.db.read(lambda conn: fq.copies_of_origin(conn, origin.node_id, limit))
        held = set(beat.held)
        revoked = set(beat.revoked)
        young = time.time_ns() - int(REVOKE_GRACE * fq.NS)
        have: set[str] = set()
        running: list[str] = []
        drop: list[str] = []
        ended: list[str] = []
        for copy in copies:
            if copy.origin_processid in revoked or (beat.complete and copy.origin_processid not in held and copy.received < young):
                drop.append(copy.processid)
                continue
            if copy.origin_processid not in held:
                continue
            if copy.state is None:  # removed here: the origin takes it back
                drop.append(copy.processid)
                continue
            have.add(copy.origin_processid)
            if copy.state == RUNNING:
                running.append(copy.origin_processid)
            elif copy.state is not None and copy.state != WAITING:
                ended.append(copy.origin_processid)
        if drop:
            log.info("origin %s revoked %d copies here", origin.node_id[:12], len(drop))
            await self.drop(drop)
        results = []
        if ended:
            rows = await self.core.db.read(lambda conn: fq.ended_unreported(conn, REPORT_BATCH, origin.node_id, ended))
            results = [result for _, result in rows]
            await self._attach_outputs(results)  # a result may reach the origin this way first
        return HeartbeatReply(
            running=running,
            ended=results,
            unknown=[pid for pid in beat.held if pid not in have],
            load=await self.offers(),
            leaving=not self.accepting,
        )

    async def offers(self) -> list[Provider]:
        """This node's offer per hosted colony and live executor type."""
        offers = []
        for colonyname in list(self.core.directory.colonies):
            for executortype in self.live.types(colonyname):
                offers.append(await self.offer(colonyname, executortype))
        return offers

    async def offer(self, colonyname: str, executortype: str) -> Provider:
        """The answer to a lookup: for "" (the colony), every type run or queued here too."""
        me = self.identity
        live = self.live.types(colonyname) if self.accepting else {}
        if executortype:
            load = await self._load(colonyname, executortype, live.get(executortype, 0))
            return Provider(node_id=me.node_id, api_url=me.cert.api_url, colonyname=colonyname, executortype=executortype, live=load.live, waiting=load.waiting, running=load.running)
        types = {t: await self._load(colonyname, t, count) for t, count in sorted(live.items())}
        return Provider(
            node_id=me.node_id, api_url=me.cert.api_url, colonyname=colonyname, executortype="",
            live=sum(live.values()), waiting=sum(t.waiting for t in types.values()), running=sum(t.running for t in types.values()), types=types,
        )

    async def _load(self, colonyname: str, executortype: str, live: int) -> Load:
        def read(conn: Any) -> Load:
            return Load(live=live, waiting=fq.waiting_count(conn, colonyname, executortype), running=fq.running_count(conn, colonyname, executortype))

        return await self.core.db.read(read)

    # --- results back ------------------------------------------------------------------------
    def process_ended(self, record: ProcessRecord) -> None:
        """A copy ended here: its result goes to the origin with the next report."""
        if not self.forwarded_here(record):
            return
        link = self._links.get(record.processid)
        if link is not None:
            node, url, origin_processid = link
            process = record.process
            self._pending[(node, url)][origin_processid] = Result(
                origin_processid=origin_processid, state=record.state, output=_values(process.output), errors=_values(process.errors), remote_processid=process.processid
            )
        self.report_now.set()
        self._grant_ahead_soon(record.colonyname, record.executortype)

    async def report_once(self, *, scan: bool = False) -> int:
        """Tell origins about forwarded processes that ended here (until acknowledged): what ended
        since the last report, and now and then (or with `scan`) whatever the store still holds
        unacknowledged."""
        pending, self._pending = self._pending, collections.defaultdict(dict)
        if scan or time.monotonic() >= self._next_scan:
            self._next_scan = time.monotonic() + STORE_SCAN_SECONDS
            for row, result in await self.core.db.read(lambda conn: fq.ended_unreported(conn, REPORT_BATCH)):
                pending[(row.origin_node, row.origin_url)].setdefault(row.origin_processid, result)
        await self._attach_outputs([r for results in pending.values() for r in results.values()])
        done = await asyncio.gather(*(self._report(node, url, list(results.values())) for (node, url), results in pending.items() if results))
        return sum(done)

    async def _attach_outputs(self, results: list[Result]) -> None:
        """Each successful result carries the latest revisions under its process's sync dirs."""
        due = [r for r in results if r.state == SUCCESS and not r.files and r.remote_processid]
        if not due:
            return

        def read(conn: Any) -> None:
            for result in due:
                record = pq.get_record(conn, result.remote_processid)
                spec = data.spec_of(record.process) if record is not None else None
                if record is not None and spec is not None:
                    result.files = data.outputs_of(conn, record.colonyname, spec)

        await self.core.db.read(read)

    async def _report(self, node: str, url: str, results: list[Result]) -> int:
        outcomes = await asyncio.gather(*(self.outbox.submit((node, url), ("result", r)) for r in results), return_exceptions=True)
        taken = [r for r, ok in zip(results, outcomes) if ok is True]
        missed = [r for r, ok in zip(results, outcomes) if ok is not True]
        if missed:
            log.debug("origin %s did not take %d results yet", node[:12], len(missed))
            retry = self._pending[(node, url)]
            for result in missed:
                retry.setdefault(result.origin_processid, result)
        if taken:
            await self.core.db.write(lambda conn: fq.acknowledge(conn, node, [r.origin_processid for r in taken]))
            for result in taken:
                self._links.pop(result.remote_processid, None)
        return len(taken)

    # --- leaving -------------------------------------------------------------------------
    async def hand_back(self) -> tuple[int, int]:
        """Stop taking work; queued copies are removed and returned to their origins."""
        self.accepting = False
        handed = await self.core.db.write(fq.hand_back)
        by_origin: dict[tuple[str, str], list[Result]] = collections.defaultdict(list)
        for row in handed:
            by_origin[(row.origin_node, row.origin_url)].append(Result(origin_processid=row.origin_processid, state=CANCELLED, remote_processid=row.processid))
        returned = 0
        for (node, url), results in by_origin.items():
            for _ in range(3):
                try:
                    _, reply = await self.client.call(url, "report", Report(results=results), ReportReply, node_id=node)
                    returned += len(reply.acknowledged)
                    break
                except PeerError:
                    await asyncio.sleep(0.2)
        return len(handed), returned

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.outbox.close()


def _values(value: Any) -> list[Any]:
    """A process's output or errors as a list (the wire model keeps them as raw JSON)."""
    if isinstance(value, msgspec.Raw):
        decoded = msgspec.json.decode(value) if len(value) else []
        return decoded if isinstance(decoded, list) else []
    return list(value or [])


def _invalid_inputs(forward: Any) -> str:
    """Why the files shipped with a forward cannot be adopted ("" if they can)."""
    if len(forward.files) > data.MAX_FILES:
        return f"more than {data.MAX_FILES} files"
    if any(not cfs.FILEID.fullmatch(s.snapshotid) for s in forward.snapshots):
        return "a snapshot without its 64-hex id"
    try:
        for file in forward.files:
            if not cfs.FILEID.fullmatch(cfs.text(file.fileid)):
                return "a file without its 64-hex id"
            cfs.file_row(file, 0)
            if cfs.text(file.colonyname) not in ("", forward.colonyname):
                return "a file of another colony"
    except cfs.CFSError as err:
        return err.message
    return ""
