"""DHTNode: advertise and look up signed provider records on a kademlia overlay."""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from colonies import crypto
from colonies.dht.addresses import LOOPBACK, address_filter, allow_any, host_port, parse_interface
from colonies.dht.merge import RecordVerifier, acceptable, merge, visible
from colonies.dht.records import (
    MAX_TTL,
    ProviderRecord,
    bounded,
    decode_records,
    encode_record,
    encode_records,
    key_for,
    sign_record,
)
from colonies.dht.server import KadServer, ProtocolSettings
from colonies.dht.storage import MergingStorage

log = logging.getLogger(__name__)

MIN_KSIZE = 20


@dataclass(frozen=True)
class Peer:
    """A routing-table contact. `kad_id` is the hex 160-bit id (first 20 bytes of the node id)."""

    kad_id: str
    host: str
    port: int
    last_seen: float | None  # unix seconds; None if never heard from directly
    failures: int


def kad_id_for(node_id: str) -> bytes:
    return bytes.fromhex(node_id)[:20]


class DHTNode:
    """One node's presence in the federation DHT.

    Records given to `advertise` are templates: the node fills in its id, DHT address, API URL
    and cert (when left empty), stamps `issued_ms`/`expires` (TTL) and signs them, and
    republishes them every `republish_interval` seconds until withdrawn.
    """

    def __init__(
        self,
        prvkey: str,
        verify_record: RecordVerifier,
        *,
        ksize: int = 20,
        alpha: int = 3,
        api_url: str = "",
        cert: dict[str, Any] | None = None,
        republish_interval: float = 60.0,
        ttl: float | None = None,
        rpc_timeout: float = 2.0,
        lookup_timeout: float = 5.0,
        max_failures: int = 3,
        failure_backoff: float = 10.0,
        quarantine: float | None = None,
        refresh_interval: float = 900.0,
        allowed_networks: Sequence[str] | None = None,
        allow_wildcard: bool = False,
    ) -> None:
        if ksize < MIN_KSIZE:
            raise ValueError(f"ksize must be >= {MIN_KSIZE}")
        if republish_interval <= 0 or rpc_timeout <= 0 or lookup_timeout <= 0:
            raise ValueError("intervals and timeouts must be positive")
        self.ttl = 3 * republish_interval if ttl is None else ttl
        if not republish_interval < self.ttl <= MAX_TTL:
            raise ValueError(f"ttl must exceed the republish interval and be at most {MAX_TTL:.0f} s")
        self._prvkey = prvkey
        self.node_id = crypto.id_from_private_key(prvkey)
        self.verify_record = verify_record
        self.api_url = api_url
        self.cert: dict[str, Any] = dict(cert or {})
        self.republish_interval = republish_interval
        self.lookup_timeout = lookup_timeout
        self.allow_wildcard = allow_wildcard
        self._allowed_networks = allowed_networks
        self._rpc_timeout = rpc_timeout
        self._max_failures = max_failures
        self._failure_backoff = failure_backoff
        self._quarantine = quarantine
        self.refresh_interval = refresh_interval
        self.storage = MergingStorage(verify_record)
        self._ksize, self._alpha = ksize, alpha
        self._server: KadServer | None = None
        self._advertised: dict[bytes, ProviderRecord] = {}
        self._bootstrap: list[tuple[str, int]] = []
        self._last_issued_ms = 0
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self.dht_address = ""
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(
        self, port: int, interface: str, bootstrap: Sequence[tuple[str, int]] = (), *, public_host: str | None = None
    ) -> None:
        """Listen on interface:port (0 = any free port) and join through `bootstrap` peers.

        Records carry `public_host:port` as the DHT address (default: the interface), which a
        node bound to a wildcard address (only with allow_wildcard) must therefore give.
        """
        if self._server is not None:
            raise RuntimeError("DHT node already started")
        address = parse_interface(interface, allow_wildcard=self.allow_wildcard)
        if address.is_unspecified and not public_host:
            raise ValueError("a node bound to a wildcard address needs public_host for its records")
        networks = self._allowed_networks
        if networks is None and address.is_loopback:
            networks = LOOPBACK
        allowed = address_filter(networks) if networks is not None else allow_any
        peers = [(host, int(p)) for host, p in bootstrap]
        refused = [host_port(h, p) for h, p in peers if not allowed(h)]
        if refused:
            raise ValueError(f"bootstrap addresses outside the allowed networks: {', '.join(refused)}")
        server = KadServer(
            ksize=self._ksize,
            alpha=self._alpha,
            node_id=kad_id_for(self.node_id),
            storage=self.storage,
            settings=ProtocolSettings(
                rpc_timeout=self._rpc_timeout,
                max_failures=self._max_failures,
                backoff=self._failure_backoff,
                quarantine=self._quarantine,
                refresh_interval=self.refresh_interval,
                address_allowed=allowed,
            ),
        )
        await server.listen(port, interface)
        self._server = server
        bound_port = server.transport.get_extra_info("sockname")[1]
        self.dht_address = host_port(public_host or interface, bound_port)
        self.port = bound_port
        self._bootstrap = [p for p in peers if p != (interface, bound_port)]
        if self._bootstrap:
            try:
                await server.bootstrap(self._bootstrap, self.lookup_timeout)
            except BaseException:
                server.stop()
                self._server = None
                raise
        self._stopping = asyncio.Event()
        self._loops = [
            asyncio.create_task(self._maintain(), name=f"dht-maintenance-{self.dht_address}"),
            asyncio.create_task(self._probe(), name=f"dht-probe-{self.dht_address}"),
        ]

    async def stop(self, *, withdraw: bool = False) -> None:
        """Leave: optionally withdraw every advertised record first, then close the socket."""
        if self._server is None:
            return
        try:
            if withdraw:
                await self.withdraw_all()
        finally:
            self._stopping.set()
            tasks = [*self._loops, *self._background]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loops = []
            self._server.stop()
            self._server = None

    # -- advertising -------------------------------------------------------------------------

    def record(self, colony: str, executortype: str = "", *, live: int = 0, waiting: int = 0) -> ProviderRecord:
        """A record template for `advertise` (identity fields are filled in when signing)."""
        return ProviderRecord(
            node_id=self.node_id,
            api_url=self.api_url,
            dht_address=self.dht_address,
            colony=colony,
            executortype=executortype,
            live=live,
            waiting=waiting,
        )

    async def advertise(self, records: Sequence[ProviderRecord]) -> int:
        """Sign and store each record at its key (merged by the storers); republished until
        withdrawn. A later advertise for the same key replaces the template. Returns how many
        records at least one peer (or, alone, this node) accepted."""
        signed = [self._stamp(template) for template in records]
        for template, record in zip(records, signed):
            self._advertised[record.key] = template
        results = await asyncio.gather(*(self._publish(record) for record in signed))
        return sum(results)

    async def withdraw(self, colony: str, executortype: str = "") -> bool:
        """Stop advertising a key and publish a tombstone that replaces this node's record."""
        key = key_for(colony, executortype)
        template = self._advertised.pop(key, None) or self.record(colony, executortype)
        return await self._publish(self._stamp(template, withdrawn=True))

    async def withdraw_all(self) -> int:
        keys = [(t.colony, t.executortype) for t in self._advertised.values()]
        results = await asyncio.gather(*(self.withdraw(colony, etype) for colony, etype in keys))
        return sum(results)

    def advertised(self) -> list[ProviderRecord]:
        return list(self._advertised.values())

    def _stamp(self, template: ProviderRecord, *, withdrawn: bool = False) -> ProviderRecord:
        issued = max(int(time.time() * 1000), self._last_issued_ms + 1)  # strictly increasing
        self._last_issued_ms = issued
        record = msgspec.structs.replace(
            template,
            dht_address=self.dht_address,
            api_url=template.api_url or self.api_url,
            cert=template.cert or self.cert,
            issued_ms=issued,
            expires=issued / 1000 + self.ttl,
            withdrawn=withdrawn,
            live=0 if withdrawn else template.live,
            waiting=0 if withdrawn else template.waiting,
        )
        return sign_record(record, self._prvkey)

    async def _publish(self, record: ProviderRecord) -> bool:
        server = self._require_server()
        dkey = record.key
        kept_locally = record in self.storage.merge(dkey, [record])
        if not kept_locally and not record.withdrawn:
            log.warning("own record for %s refused by this node's own checks (certificate?)", record.colony)
        nodes = await server.closest_nodes(dkey, self.lookup_timeout)
        if not nodes:
            return kept_locally
        return await server.store_at(nodes, dkey, encode_records([record])) > 0

    # -- lookups -----------------------------------------------------------------------------

    async def lookup(self, colony: str, executortype: str = "", *, timeout: float | None = None) -> list[ProviderRecord]:
        """Live providers for a key: the merge of this node's set and every reply from the k
        closest nodes (newest per node; expired, invalid and withdrawn records left out),
        best first (live executors, then fewest waiting)."""
        server = self._require_server()
        dkey = key_for(colony, executortype)
        collected = self.storage.records(dkey)
        crawl = await server.collect(dkey, self.lookup_timeout if timeout is None else timeout)
        if crawl is None:
            return visible(collected)
        now = time.time()
        received = {encode_record(r): r for value in crawl.values for r in decode_records(value)}
        collected += [r for r in received.values() if acceptable(r, dkey, now, self.verify_record)]
        merged = merge(collected, now)
        peer = crawl.nearest_without_value.popleft()
        if peer is not None and merged:
            # Repair the closest node that had nothing, with records verified here (the library
            # stored whatever value was most common, unverified).
            self._spawn(server.store_at([peer], dkey, encode_records(bounded(merged))))
        return visible(merged)

    def peers(self) -> list[Peer]:
        server = self._require_server()
        assert server.protocol is not None
        result = []
        for node in server.protocol.router.contacts():
            health = server.health.get(node.id)
            result.append(Peer(node.id.hex(), str(node.ip), int(node.port), health.last_seen, health.failures))
        return result

    # -- maintenance -------------------------------------------------------------------------

    async def _maintain(self) -> None:
        next_refresh = time.monotonic() + self.refresh_interval
        while not self._stopping.is_set():
            # Jitter keeps nodes started together from republishing in lockstep.
            await asyncio.sleep(self.republish_interval * random.uniform(0.8, 1.0))
            try:
                await self._republish()
                self.storage.cull()
                server = self._require_server()
                if not server.protocol or not server.protocol.router.contacts():
                    if self._bootstrap:
                        await server.bootstrap(self._bootstrap, self.lookup_timeout)
                elif time.monotonic() >= next_refresh:
                    next_refresh = time.monotonic() + self.refresh_interval
                    await server.refresh_buckets(self.lookup_timeout)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("DHT maintenance failed; retrying next interval")

    async def _probe(self) -> None:
        interval = max(self._failure_backoff / 2, 0.05)
        while not self._stopping.is_set():
            await asyncio.sleep(interval)
            try:
                await self._require_server().probe_suspects()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("DHT peer probe failed")

    async def _republish(self) -> None:
        templates = list(self._advertised.values())
        if templates:
            await asyncio.gather(*(self._publish(self._stamp(t)) for t in templates))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _require_server(self) -> KadServer:
        if self._server is None:
            raise RuntimeError("DHT node is not started")
        return self._server
