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
from kademlia.node import Node

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
    paged,
    sign_record,
    unstamped,
)
from colonies.dht.server import KadServer, ProtocolSettings
from colonies.dht.storage import ChangeListener, MergingStorage, by_node

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


@dataclass
class _Advert:
    """One advertised key: the current template and what was last published for it."""

    template: ProviderRecord
    sent: ProviderRecord | None = None  # signed version last published
    accepted: bool = False  # whether that publish was accepted
    at: float = float("-inf")  # monotonic time of that publish


class DHTNode:
    """One node's presence in the federation DHT.

    Records given to `advertise` are templates: the node fills in its id, DHT address, API URL
    and cert (when left empty), stamps `issued_ms`/`expires` (TTL) and signs them, and
    republishes them every `republish_interval` seconds until withdrawn. `advertise` publishes
    at once only what is new or changed, so each record goes out once per interval at rest.
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
        # Republishing stores at the storers found before for this long: newcomers closer to a
        # key are handed its records by the storers (welcome_if_new), so a crawl per publish
        # would mostly find the same nodes.
        self._storers_ttl = 3 * republish_interval
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
        self._adverts: dict[tuple[str, str], _Advert] = {}
        # Per key: the storers the last crawl found (all acknowledged since) and when it ran.
        self._storers: dict[bytes, tuple[list[Node], float]] = {}
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

    def record(
        self, colony: str, executortype: str = "", *, live: int = 0, waiting: int = 0, running: int = 0
    ) -> ProviderRecord:
        """A record template for `advertise` (identity fields are filled in when signing)."""
        return ProviderRecord(
            node_id=self.node_id,
            api_url=self.api_url,
            dht_address=self.dht_address,
            colony=colony,
            executortype=executortype,
            live=live,
            waiting=waiting,
            running=running,
        )

    async def advertise(self, records: Sequence[ProviderRecord]) -> int:
        """Advertise each record at its key until withdrawn; a later advertise for the same key
        replaces the template. Records that are new or changed (anything but the stamp) are
        signed and stored at once; unchanged ones are left to the republish loop. Returns how
        many records at least one peer (or, alone, this node) accepted: for an unchanged record,
        whether its last publish was accepted."""
        due: list[tuple[ProviderRecord, ProviderRecord]] = []
        accepted = 0
        for template in records:
            advert = self._adverts.get((template.colony, template.executortype))
            if advert is not None and self._unchanged(advert, template):
                advert.template = template
                accepted += advert.accepted
            else:
                due.append((template, self._stamp(template)))  # raises before anything is kept
        adverts = [(self._keep(template), record) for template, record in due]
        results = await asyncio.gather(*(self._send(advert, record) for advert, record in adverts))
        return accepted + sum(results)

    async def withdraw(self, colony: str, executortype: str = "") -> bool:
        """Stop advertising a key and publish a tombstone that replaces this node's record."""
        advert = self._adverts.pop((colony, executortype), None)
        template = advert.template if advert else self.record(colony, executortype)
        try:
            return await self._publish(self._stamp(template, withdrawn=True))
        finally:
            self._storers.pop(template.key, None)

    async def withdraw_all(self) -> int:
        names = list(self._adverts)
        results = await asyncio.gather(*(self.withdraw(colony, etype) for colony, etype in names))
        return sum(results)

    def advertised(self) -> list[ProviderRecord]:
        """The templates being advertised (one per key)."""
        return [advert.template for advert in self._adverts.values()]

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call `listener(colony, executortype)` whenever this node's storage merges records that
        change what a key offers (see `MergingStorage`). Called synchronously from the DHT; it
        must be quick, and its exceptions are logged and swallowed."""
        self.storage.listeners.append(listener)

    def remove_change_listener(self, listener: ChangeListener) -> None:
        if listener in self.storage.listeners:
            self.storage.listeners.remove(listener)

    def _unchanged(self, advert: _Advert, template: ProviderRecord) -> bool:
        return advert.sent is not None and unstamped(advert.sent) == unstamped(self._filled(template))

    def _filled(self, template: ProviderRecord) -> ProviderRecord:
        return msgspec.structs.replace(
            template,
            node_id=self.node_id,
            dht_address=self.dht_address,
            api_url=template.api_url or self.api_url,
            cert=template.cert or self.cert,
        )

    def _stamp(self, template: ProviderRecord, *, withdrawn: bool = False) -> ProviderRecord:
        issued = max(int(time.time() * 1000), self._last_issued_ms + 1)  # strictly increasing
        self._last_issued_ms = issued
        record = msgspec.structs.replace(
            self._filled(template),
            issued_ms=issued,
            expires=issued / 1000 + self.ttl,
            withdrawn=withdrawn,
            live=0 if withdrawn else template.live,
            waiting=0 if withdrawn else template.waiting,
            running=0 if withdrawn else template.running,
        )
        return sign_record(record, self._prvkey)

    def _keep(self, template: ProviderRecord) -> _Advert:
        advert = self._adverts[(template.colony, template.executortype)] = _Advert(template)
        return advert

    async def _send(self, advert: _Advert, record: ProviderRecord) -> bool:
        advert.sent, advert.at = record, time.monotonic()
        advert.accepted = await self._publish(record)
        return advert.accepted

    async def _publish(self, record: ProviderRecord) -> bool:
        server = self._require_server()
        dkey = record.key
        kept_locally = record in self.storage.merge(dkey, [record])
        if not kept_locally and not record.withdrawn:
            self._explain_not_kept(record)
        nodes, crawled = self._storers.get(dkey, ([], float("-inf")))
        if not nodes or time.monotonic() - crawled >= self._storers_ttl:
            nodes, crawled = await server.closest_nodes(dkey, self.lookup_timeout), time.monotonic()
        if not nodes:
            return kept_locally
        acknowledged = await server.store_at(nodes, dkey, encode_records([record]))
        if acknowledged == len(nodes):
            self._storers[dkey] = (nodes, crawled)
        else:  # one did not answer or did not keep it: crawl again next time
            self._storers.pop(dkey, None)
        return acknowledged > 0

    def _explain_not_kept(self, record: ProviderRecord) -> None:
        name = f"{record.colony}/{record.executortype}" if record.executortype else record.colony
        if acceptable(record, record.key, time.time(), self.verify_record):
            log.debug("own record for %s not kept here: the key's set is full of more preferred providers", name)
        else:
            log.warning("own record for %s refused by this node's own checks (certificate?)", name)

    # -- lookups -----------------------------------------------------------------------------

    async def lookup(self, colony: str, executortype: str = "", *, timeout: float | None = None) -> list[ProviderRecord]:
        """Live providers for a key: the merge of this node's set and every reply from the k
        closest nodes (page 0 from each, further pages from a few), newest per node; expired,
        invalid and withdrawn records left out; best first (live executors, then least loaded)."""
        server = self._require_server()
        dkey = key_for(colony, executortype)
        collected = self.storage.records(dkey)
        crawl = await server.collect(dkey, self.lookup_timeout if timeout is None else timeout)
        if crawl is None:
            return visible(collected)
        values = crawl.values + await server.more_pages(dkey, crawl.holders, self._alpha)
        now = time.time()
        received = {encode_record(r): r for value in values for r in decode_records(value)}
        collected += [r for r in received.values() if acceptable(r, dkey, now, self.verify_record)]
        merged = merge(collected, now)
        peer = crawl.nearest_without_value.popleft()
        if peer is not None and merged:
            # Repair the closest node that had nothing, with records verified here (the library
            # stored whatever value was most common, unverified).
            for page in paged(by_node(bounded(merged))):
                self._spawn(server.store_at([peer], dkey, encode_records(page)))
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
        """Publish every advertised record once per interval; one that `advertise` published
        less than half an interval ago waits for the next round."""
        recent = time.monotonic() - self.republish_interval / 2
        due = [advert for advert in self._adverts.values() if advert.at <= recent]
        if due:
            await asyncio.gather(*(self._send(advert, self._stamp(advert.template)) for advert in due))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _require_server(self) -> KadServer:
        if self._server is None:
            raise RuntimeError("DHT node is not started")
        return self._server
