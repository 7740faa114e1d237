"""The parts of one node that handlers and services share."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from collections.abc import Awaitable, Iterable
from typing import Any

from aiohttp import web

from colonies.node.channels import ChannelHub
from colonies.node.config import NodeConfig
from colonies.node.directory import Directory
from colonies.node.events import ProcessEvents
from colonies.node.locks import KeyedLocks
from colonies.node.replay import ReplayGuard
from colonies.node.scheduler import Scheduler
from colonies.node.store.database import Database, Op
from colonies.node.store.processes import ProcessRecord


@dataclass
class NodeCore:
    config: NodeConfig
    db: Database
    directory: Directory = field(default_factory=Directory)
    scheduler: Scheduler = field(default_factory=Scheduler)
    events: ProcessEvents = field(init=False)
    # live channel subscribers and per-process channel append rate limits
    channels: ChannelHub = field(default_factory=ChannelHub)
    # executor id → last signed call (ns), from its first assign on; flushed by the liveness service
    heard_from: dict[str, int] = field(default_factory=dict)
    # strict mode: the nonces of signed requests (node/replay.py)
    replay: ReplayGuard = field(default_factory=ReplayGuard)
    # the port the HTTP server really listens on (config.port may be 0 = any free port)
    listen_port: int = 0
    # colonies.federation.forwarding.Federation when this node takes part in a federation
    federation: Any = None
    # colonies.cfs.resolve.ProviderSource: more holders of CIDs (own IPFS node, the DHT)
    cid_providers: Any = None
    # colonies.node.ipfs.NodeIpfs when this node has an IPFS node (embedded or configured)
    ipfs: Any = None
    # one start at a time per cron id
    cron_starts: KeyedLocks = field(default_factory=KeyedLocks)
    # writes a request started and left behind (an assignment handed back): awaited before the store closes
    pending: set["asyncio.Future[Any]"] = field(default_factory=set)
    # set when the node itself asks to be stopped (after leaving its federation)
    shutdown: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.events = ProcessEvents(self.scheduler)

    def publish(self, records: Iterable[ProcessRecord]) -> None:
        for record in records:
            self.events.publish(record)

    async def change(self, op: Op[list[ProcessRecord]], *, offloop: bool = False) -> list[ProcessRecord]:
        """Run a change of processes; the records it returns are published right after it
        commits, even if the caller is cancelled meanwhile, and never if it fails."""
        return await self.db.write(op, offloop=offloop, then=self.publish)

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run `work` on its own, held until it ends (the node awaits it before closing the store)."""
        task = asyncio.ensure_future(work)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    def cfs_changed(self) -> None:
        """Revisions were added or removed: the pin keeper looks again now."""
        if self.ipfs is not None and self.ipfs.keeper is not None:
            self.ipfs.keeper.wake()

    @staticmethod
    def now_ns() -> int:
        return time.time_ns()


CORE_KEY: web.AppKey[NodeCore] = web.AppKey("core", NodeCore)
