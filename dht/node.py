"""DHTNode: advertise and look up signed provider records (colonies, executor types and the IPFS
CIDs a node holds) on a kademlia overlay."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from kademlia.node import Node

from colonies import crypto
from colonies.dht.addresses import LOOPBACK, address_filter, allow_any, host_port, parse_interface
from colonies.dht.cids import CidProvider, check_cid, check_multiaddrs, cid_key, next_send
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
CID_CONCURRENCY = 8  # CID records being published at once (a new set, a withdrawal, the republisher)
MAX_CACHED_CIDS = 4096  # find_cid answers kept


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

    `advertise_cids` keeps one record per CID (at most `max_cids`), republished one at a time,
    spread evenly over `cid_republish_interval`; `find_cid` answers from a short cache
    (`cid_cache_ttl`) that this node's storage clears when it merges a change for the CID.
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
        cid_republish_interval: float = 600.0,
        cid_ttl: float | None = None,
        max_cids: int = 1000,
        cid_cache_ttl: float = 5.0,
    ) -> None:
        if ksize < MIN_KSIZE:
            raise ValueError(f"ksize must be >= {MIN_KSIZE}")
        if republish_interval <= 0 or rpc_timeout <= 0 or lookup_timeout <= 0:
            raise ValueError("intervals and timeouts must be positive")
        self.ttl = 3 * republish_interval if ttl is None else ttl
        if not republish_interval < self.ttl <= MAX_TTL:
            raise ValueError(f"ttl must exceed the republish interval and be at most {MAX_TTL:.0f} s")
        if cid_republish_interval <= 0 or max_cids < 0 or cid_cache_ttl < 0:
            raise ValueError("cid_republish_interval must be positive, max_cids and cid_cache_ttl not negative")
        self.cid_ttl = 3 * cid_republish_interval if cid_ttl is None else cid_ttl
        if not cid_republish_interval < self.cid_ttl <= MAX_TTL:
            raise ValueError(f"cid_ttl must exceed the CID republish interval and be at most {MAX_TTL:.0f} s")
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
        self.cid_republish_interval = cid_republish_interval
        self._cid_storers_ttl = 3 * cid_republish_interval
        self.max_cids = max_cids
        self.cid_cache_ttl = cid_cache_ttl
        self.lookup_timeout = lookup_timeout
        self.allow_wildcard = allow_wildcard
        self._allowed_networks = allowed_networks
        self._rpc_timeout = rpc_timeout
        self._max_failures = max_failures
        self._failure_backoff = failure_backoff
        self._quarantine = quarantine
        self.refresh_interval = refresh_interval
        self.storage = MergingStorage(verify_record)
        self.storage.cid_listeners.append(self._cid_changed)
        self._ksize, self._alpha = ksize, alpha
        self._server: KadServer | None = None
        self._adverts: dict[tuple[str, str], _Advert] = {}
        # Per key: the storers the last crawl found (all acknowledged since) and when it ran.
        self._storers: dict[bytes, tuple[list[Node], float]] = {}
        self._cids: dict[str, _Advert] = {}  # in the order given (the caller's preference)
        self._cids_changed = asyncio.Event()  # wakes the CID republisher
        self._cid_window = asyncio.Semaphore(CID_CONCURRENCY)
        self._cid_cap_logged = False
        # find_cid answers: cid -> (monotonic time, providers); `_cid_changes` counts changes
        # merged here, so that an answer a change overtook is not cached.
        self._cid_cache: dict[str, tuple[float, list[CidProvider]]] = {}
        self._cid_changes = 0
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
            asyncio.create_task(self._republish_cids(), name=f"dht-cids-{self.dht_address}"),
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
        if any(template.cid for template in records):
            raise ValueError("CID records are advertised with advertise_cids")
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
        """Withdraw every advertised key, the CIDs included; how many tombstones were accepted."""
        names = list(self._adverts)
        cids, self._cids = list(self._cids.values()), {}
        results = await asyncio.gather(*(self.withdraw(colony, etype) for colony, etype in names))
        withdrawn = await self._bounded([self._withdraw_cid(advert.template) for advert in cids])
        return sum(results) + sum(withdrawn)

    def advertised(self) -> list[ProviderRecord]:
        """The templates being advertised (one per key)."""
        return [advert.template for advert in self._adverts.values()]

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call `listener(colony, executortype)` whenever this node's storage merges records that
        change what a key offers (see `MergingStorage`). Called synchronously from the DHT; it
        must be quick, and its exceptions are logged and swallowed. CID keys do not call it."""
        self.storage.listeners.append(listener)

    def remove_change_listener(self, listener: ChangeListener) -> None:
        if listener in self.storage.listeners:
            self.storage.listeners.remove(listener)

    # -- CIDs --------------------------------------------------------------------------------

    async def advertise_cids(self, cids: Iterable[str], multiaddrs: Sequence[str]) -> int:
        """Make the advertised CIDs exactly `cids` (the first `max_cids` of them, in the given
        order), each record carrying `multiaddrs` (where this node's IPFS node listens). New CIDs
        (all of them when the multiaddrs, URL or cert changed) are signed and published at once,
        CIDs no longer given are withdrawn with tombstones, unchanged ones are left to the
        republisher. An invalid CID or multiaddrs out of bounds raise ValueError and change
        nothing. Returns how many of the advertised CIDs at least one storer (or, alone, this
        node) accepted; an unchanged CID counts as its last publish did."""
        wanted = list(dict.fromkeys(check_cid(cid) for cid in cids))
        addrs = check_multiaddrs(multiaddrs)
        if len(wanted) > self.max_cids:
            if not self._cid_cap_logged:
                self._cid_cap_logged = True
                log.warning("advertising the first %d of %d CIDs in the DHT (max_cids)", self.max_cids, len(wanted))
            wanted = wanted[: self.max_cids]
        adverts: dict[str, _Advert] = {}
        due: list[tuple[_Advert, ProviderRecord]] = []
        accepted = 0
        for cid in wanted:
            template = self._cid_template(cid, addrs)
            advert = self._cids.get(cid)
            if advert is not None and self._unchanged(advert, template):
                advert.template = template
                accepted += advert.accepted
            else:
                # Marked as just published, so that the republisher leaves it to this call.
                advert = _Advert(template, at=time.monotonic())
                due.append((advert, self._stamp(template)))  # raises before anything is kept
            adverts[cid] = advert
        gone = [advert for cid, advert in self._cids.items() if cid not in adverts]
        self._cids = adverts
        if due or gone:
            self._cids_changed.set()
        results = await self._bounded([self._send(advert, record) for advert, record in due])
        await self._bounded([self._withdraw_cid(advert.template) for advert in gone])
        return accepted + sum(results)

    def advertised_cids(self) -> list[str]:
        """The CIDs being advertised, in the order given to `advertise_cids`."""
        return list(self._cids)

    async def find_cid(self, cid: str, *, timeout: float | None = None) -> list[CidProvider]:
        """The live providers of a CID: verified, newest record per node, expired and withdrawn
        ones left out, freshest first. A crawl's answer is reused for `cid_cache_ttl` seconds,
        unless this node's storage merged a change for the CID since or one of its records
        expired (ValueError if not a CID)."""
        check_cid(cid)
        began, now = time.monotonic(), time.time()
        cached = self._cid_cache.get(cid)
        # Not once one of its records expired: republished copies do not clear the cache.
        if cached is not None and began - cached[0] < self.cid_cache_ttl and all(p.expires > now for p in cached[1]):
            return list(cached[1])
        changes = self._cid_changes
        providers = [CidProvider.of(record) for record in await self._find(cid_key(cid), timeout)]
        if self.cid_cache_ttl > 0 and changes == self._cid_changes:
            self._cid_cache.pop(cid, None)
            if len(self._cid_cache) >= MAX_CACHED_CIDS:
                del self._cid_cache[next(iter(self._cid_cache))]  # the oldest answer
            self._cid_cache[cid] = (began, providers)
        return providers

    def _cid_changed(self, cid: str) -> None:
        self._cid_cache.pop(cid, None)
        self._cid_changes += 1

    def _cid_template(self, cid: str, multiaddrs: tuple[str, ...]) -> ProviderRecord:
        return ProviderRecord(
            node_id=self.node_id, api_url=self.api_url, dht_address=self.dht_address, colony="", cid=cid, multiaddrs=multiaddrs
        )

    async def _withdraw_cid(self, template: ProviderRecord) -> bool:
        try:
            return await self._publish(self._stamp(template, withdrawn=True))
        finally:
            self._storers.pop(template.key, None)

    async def _bounded(self, calls: Sequence[Awaitable[bool]]) -> list[bool]:
        """Await the calls, at most CID_CONCURRENCY at once (a thousand CIDs are not a thousand
        crawls at once)."""

        async def one(call: Awaitable[bool]) -> bool:
            async with self._cid_window:
                return await call

        return list(await asyncio.gather(*(one(call) for call in calls)))

    async def _republish_cids(self) -> None:
        """Republish the CID records one at a time, the least recently published first, spread
        evenly over `cid_republish_interval` (see `cids.next_send`)."""
        last_sent = float("-inf")
        while not self._stopping.is_set():
            oldest: _Advert | None = None
            try:
                self._cids_changed.clear()
                if not self._cids:
                    await self._cids_changed.wait()
                    continue
                oldest = min(self._cids.values(), key=lambda advert: advert.at)
                delay = next_send(oldest.at, last_sent, len(self._cids), self.cid_republish_interval) - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._cids_changed.wait(), delay)
                    continue
                record = self._stamp(oldest.template)
                await self._cid_window.acquire()
                if self._cids.get(oldest.template.cid) is not oldest:  # withdrawn or replaced meanwhile
                    self._cid_window.release()
                    continue
                last_sent = oldest.at = time.monotonic()
                self._spawn(self._send_released(oldest, record))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("republishing a CID record failed; trying it again next round")
                if oldest is not None:
                    oldest.at = time.monotonic()

    async def _send_released(self, advert: _Advert, record: ProviderRecord) -> None:
        try:
            await self._send(advert, record)
        finally:
            self._cid_window.release()

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
            expires=issued / 1000 + (self.cid_ttl if template.cid else self.ttl),
            withdrawn=withdrawn,
            live=0 if withdrawn else template.live,
            waiting=0 if withdrawn else template.waiting,
            running=0 if withdrawn else template.running,
            multiaddrs=() if withdrawn else template.multiaddrs,
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
        if not nodes or time.monotonic() - crawled >= (self._cid_storers_ttl if record.cid else self._storers_ttl):
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
        name = f"CID {record.cid}" if record.cid else f"{record.colony}/{record.executortype}" if record.executortype else record.colony
        if acceptable(record, record.key, time.time(), self.verify_record):
            log.debug("own record for %s not kept here: the key's set is full of more preferred providers", name)
        else:
            log.warning("own record for %s refused by this node's own checks (certificate?)", name)

    # -- lookups -----------------------------------------------------------------------------

    async def lookup(self, colony: str, executortype: str = "", *, timeout: float | None = None) -> list[ProviderRecord]:
        """Live providers for a key: the merge of this node's set and every reply from the k
        closest nodes (page 0 from each, further pages from a few), newest per node; expired,
        invalid and withdrawn records left out; best first (live executors, then least loaded)."""
        return await self._find(key_for(colony, executortype), timeout)

    async def _find(self, dkey: bytes, timeout: float | None) -> list[ProviderRecord]:
        server = self._require_server()
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
