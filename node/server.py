"""A running node: store, in-memory views, background services and the HTTP server."""
from __future__ import annotations

import asyncio
import gc
import logging
import socket
import ssl
import sys
from pathlib import Path

from aiohttp import web

from colonies import crypto, dev, models
from colonies.node.app import build_app
from colonies.node.config import NodeConfig
from colonies.node.connections import BoundedAppRunner
from colonies.node.core import NodeCore
from colonies.node.directory import ColonyEntry
from colonies.node.services import all_services
from colonies.node.store import directory as dq
from colonies.node.store.database import Database

log = logging.getLogger(__name__)

# how long a stopping node waits for writes that requests left behind
PENDING_WAIT = 5.0


class Node:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.core: NodeCore | None = None
        self._runner: web.AppRunner | None = None
        self._services: list[asyncio.Task[None]] = []
        self._port = config.port

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self.config.tls_cert else "http"
        return f"{scheme}://{self.config.host}:{self._port}"

    async def start(self) -> None:
        config = self.config
        if config.data_dir:
            Path(config.data_dir).mkdir(parents=True, exist_ok=True)
        db = await Database.open(config.resolved_store_url())
        core = NodeCore(config=config, db=db)
        await db.read(core.directory.load)
        server_id = config.server_id or (crypto.id_from_private_key(config.server_prvkey) if config.server_prvkey else "")
        if server_id and server_id != core.directory.server_id:
            await db.write(lambda conn: dq.set_fact(conn, "server_id", server_id))
            core.directory.server_id = server_id
        self.core = core
        if config.dev:
            await self.bootstrap_dev()  # before the socket opens: a client that sees /health finds the colony

        try:
            if config.cfs_storage not in ("s3", "ipfs"):
                raise ValueError(f"cfs storage must be s3 or ipfs, not {config.cfs_storage!r}")
            if config.ipfs_embedded or config.ipfs_api:
                from colonies.node.ipfs import start_ipfs

                core.ipfs = await start_ipfs(core)
            sock = _bind(config.host, config.port)
        except Exception:
            if core.ipfs is not None:
                await core.ipfs.stop()
            await db.close()
            self.core = None
            raise
        self._port = core.listen_port = sock.getsockname()[1]
        self._runner = BoundedAppRunner(
            build_app(core),
            header_timeout=config.header_timeout,
            keepalive_timeout=config.keepalive_timeout,
            auto_decompress=False,  # node/bodies.py inflates within the body limit
            handler_cancellation=True,
            access_log=None,
        )
        await self._runner.setup()
        site = web.SockSite(self._runner, sock, backlog=1024, ssl_context=_tls_context(config))
        await site.start()
        self._services = [asyncio.create_task(coro, name=name) for name, coro in all_services(core).items()]
        if config.federation_authority_id:
            from colonies.federation.runtime import start_federation

            core.federation = await start_federation(core, self.url)
        _settle_memory()
        log.info("node listening on %s", self.url)

    async def bootstrap_dev(self) -> None:
        """Create the well-known dev colony, user and executor (idempotent)."""
        core = self._require_core()
        directory = core.directory
        if directory.server_id != dev.SERVER_ID:
            await core.db.write(lambda conn: dq.set_fact(conn, "server_id", dev.SERVER_ID))
            directory.server_id = dev.SERVER_ID
        if directory.colony(dev.COLONY_NAME) is None:
            colony = models.Colony(colonyid=dev.COLONY_ID, name=dev.COLONY_NAME)
            await core.db.write(lambda conn: dq.add_colony(conn, colony))
            directory.colonies[colony.name] = ColonyEntry(colony.name, colony.colonyid)
        if directory.user(dev.COLONY_NAME, dev.USER_NAME) is None:
            user = models.User(colonyname=dev.COLONY_NAME, userid=dev.ID, name=dev.USER_NAME)
            await core.db.write(lambda conn: dq.add_user(conn, user))
            directory.put_user(user)
        if directory.executor(dev.COLONY_NAME, dev.EXECUTOR_NAME) is None:
            now = core.now_ns()
            executor = models.Executor(
                executorid=dev.ID,
                executortype=dev.EXECUTOR_TYPE,
                executorname=dev.EXECUTOR_NAME,
                colonyname=dev.COLONY_NAME,
                state=models.APPROVED,
            )
            await core.db.write(lambda conn: dq.upsert_executor(conn, executor, now))
            directory.put_executor(executor)

    async def stop(self) -> None:
        if self.core is not None and self.core.federation is not None:
            await self.core.federation.stop()
            self.core.federation = None
        for task in self._services:
            task.cancel()
        for task, outcome in zip(self._services, await asyncio.gather(*self._services, return_exceptions=True)):
            if isinstance(outcome, Exception):
                log.error("service %s had crashed: %r", task.get_name(), outcome)
        self._services = []
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.core is not None and self.core.pending:
            await asyncio.wait(self.core.pending, timeout=PENDING_WAIT)
        if self.core is not None and self.core.ipfs is not None:
            await self.core.ipfs.stop()
            self.core.ipfs = None
        if self.core is not None:
            await self.core.db.close()
            self.core = None
        await asyncio.sleep(0)  # let cancelled handlers finish unwinding before the loop may close

    def _require_core(self) -> NodeCore:
        if self.core is None:
            raise RuntimeError("node is not started")
        return self.core


# Collect cycles after 50,000 net allocations instead of 700: a 10,000-process workflow makes
# hundreds of thousands of objects, and each collection runs on whichever thread allocates while
# holding the GIL, so at the default it stalled the event loop for 200-400 ms at a time.
GC_THRESHOLDS = (50_000, 20, 100)
# While a worker thread computes (a big workflow's rows and insert), every GIL release by the loop
# thread (each SQLite statement, each poll) costs it up to one switch interval to get the GIL
# back: at the default 5 ms, an inline batch of claims and closes stalled the loop for 50-100 ms.
SWITCH_INTERVAL_S = 0.0005


def _settle_memory() -> None:
    """Start-up objects (modules, tables, compiled statements) are kept for good: leave them out
    of every later collection, and collect less often; hand the GIL over sooner."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


def _tls_context(config: NodeConfig) -> ssl.SSLContext | None:
    if not config.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key or None)
    return context
