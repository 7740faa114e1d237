"""Pins follow references: a node pins in its IPFS node every CID that a revision in its CFS
references, and unpins a CID once no revision references it any more (the file was removed, its
colony removed, or retention took it). What this node pinned is kept in `cfs_pins`, so a restart
resumes where it stopped, pins of others on a shared Kubo are never touched, and the set it holds
can be advertised in the federation's DHT.

Pinning a CID that another site holds fetches it: providers are the multiaddrs in the revisions'
references, then whoever the DHT names. A CID that cannot be pinned (nobody reachable serves it)
is retried with a growing backoff; nothing here waits without a bound.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, bindparam, delete, exists, select
from sqlalchemy.engine import Connection

from colonies.cfs import store as cq
from colonies.node.store.schema import metadata

log = logging.getLogger(__name__)

pins = Table(
    "cfs_pins",
    metadata,
    Column("cid", String(128), primary_key=True),
    Column("state", String(16), nullable=False),  # pinned | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_try", BigInteger, nullable=False, default=0),  # unix ns
    Column("error", Text, nullable=False, default=""),
    Column("updated", BigInteger, nullable=False),  # unix ns
)
Index("cfs_pins_by_state", pins.c.state, pins.c.updated)

P = pins.c
F = cq.files.c
BATCH = 100  # CIDs pinned or unpinned per pass
MAX_BACKOFF = 600.0
NS = 1_000_000_000


class Pinner(Protocol):
    """The IPFS node's side (`colonies.cfs.storage.IpfsStorage` has these)."""

    async def pin(self, cid: str) -> None: ...

    async def unpin(self, cid: str) -> None: ...

    async def connect(self, multiaddrs: Sequence[str]) -> list[str]: ...


# --- queries ---------------------------------------------------------------------------------
_due = (
    select(F.ipfs_cid)
    .distinct()
    .select_from(cq.files.outerjoin(pins, P.cid == F.ipfs_cid))
    .where(F.ipfs_cid != "", (P.cid.is_(None)) | ((P.state == "failed") & (P.next_try <= bindparam("now"))))
    .order_by(F.ipfs_cid)
    .limit(bindparam("limit"))
)
_unreferenced = select(P.cid, P.state).where(~exists().where(F.ipfs_cid == P.cid)).limit(bindparam("limit"))
_providers = select(F.ipfs_providers).where(F.ipfs_cid == bindparam("cid")).limit(20)
_pinned = select(P.cid).where(P.state == "pinned").order_by(P.updated.desc()).limit(bindparam("limit"))
_is_pinned = select(P.cid).where(P.state == "pinned", P.cid.in_(bindparam("cids", expanding=True)))


def due(conn: Connection, now: int, limit: int = BATCH) -> list[tuple[str, list[str]]]:
    """CIDs referenced here and not pinned (or failed, and due again), with known providers."""
    found = []
    for (cid,) in conn.execute(_due, {"now": now, "limit": limit}):
        providers: list[str] = []
        for (raw,) in conn.execute(_providers, {"cid": cid}):
            providers += msgspec.json.decode(raw)
        found.append((cid, list(dict.fromkeys(providers))))
    return found


def unreferenced(conn: Connection, limit: int = BATCH) -> list[tuple[str, str]]:
    return [(r.cid, r.state) for r in conn.execute(_unreferenced, {"limit": limit})]


def pinned(conn: Connection, limit: int) -> list[str]:
    """What this node holds pinned, most recent first."""
    return [r.cid for r in conn.execute(_pinned, {"limit": limit})]


def pinned_among(conn: Connection, cids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(cids), 500):
        found |= {r.cid for r in conn.execute(_is_pinned, {"cids": list(cids[start:start + 500])})}
    return found


def record(conn: Connection, cid: str, *, ok: bool, now: int, error: str = "") -> None:
    row = conn.execute(select(P.attempts).where(P.cid == cid)).first()
    attempts = 0 if ok else (row.attempts if row else 0) + 1
    backoff = 0 if ok else min(5.0 * 2 ** (attempts - 1), MAX_BACKOFF)
    values = {"state": "pinned" if ok else "failed", "attempts": attempts, "next_try": now + int(backoff * NS), "error": error[:500], "updated": now}
    if row is None:
        conn.execute(pins.insert().values(cid=cid, **values))
    else:
        conn.execute(pins.update().where(P.cid == cid).values(**values))


def forget(conn: Connection, cids: Sequence[str]) -> None:
    conn.execute(delete(pins).where(P.cid.in_(list(cids))))


# --- the keeper ------------------------------------------------------------------------------
@dataclass
class Pass:
    pinned: int = 0
    failed: int = 0
    unpinned: int = 0


Lookup = Callable[[str], Awaitable[list[str]]]
Advertise = Callable[[list[str]], Awaitable[Any]]


class PinKeeper:
    """One loop: pin what is referenced, unpin what is not, advertise what is held."""

    def __init__(
        self, db: Any, ipfs: Pinner, *, lookup: Lookup | None = None, advertise: Advertise | None = None,
        interval: float = 5.0, parallel: int = 4, timeout: float = 30.0, advertise_max: int = 1000,
    ) -> None:
        self.db = db
        self.ipfs = ipfs
        self.lookup = lookup
        self.advertise = advertise
        self.interval = interval
        self.parallel = parallel
        self.timeout = timeout
        self.advertise_max = advertise_max
        self.changed = asyncio.Event()  # set when revisions were added or removed
        self._advertised: list[str] | None = None

    def wake(self) -> None:
        self.changed.set()

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("CFS pinning pass failed; retrying")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), self.interval)
            except asyncio.TimeoutError:
                pass

    async def run_once(self) -> Pass:
        result = Pass()
        now = time.time_ns()
        todo = await self.db.read(lambda conn: due(conn, now))
        semaphore = asyncio.Semaphore(self.parallel)

        async def pin(cid: str, providers: list[str]) -> None:
            async with semaphore:
                error = await self._pin(cid, providers)
            done = time.time_ns()
            await self.db.write(lambda conn: record(conn, cid, ok=not error, now=done, error=error))
            if error:
                result.failed += 1
                log.info("cannot pin %s yet: %s", cid, error)
            else:
                result.pinned += 1

        await asyncio.gather(*(pin(cid, providers) for cid, providers in todo))
        gone = await self.db.read(unreferenced)
        for cid, state in gone:
            if state == "pinned":
                try:
                    await self.ipfs.unpin(cid)
                except Exception as err:  # not pinned there any more, or the node is down: retry next pass
                    log.info("cannot unpin %s: %s", cid, err)
                    continue
            await self.db.write(lambda conn, cid=cid: forget(conn, [cid]))
            result.unpinned += 1
        await self._advertise()
        return result

    async def _pin(self, cid: str, providers: list[str]) -> str:
        """"" when pinned, else why not (one line)."""
        try:
            async with asyncio.timeout(self.timeout):
                if self.lookup is not None:
                    providers = list(dict.fromkeys([*providers, *await self.lookup(cid)]))
                if providers:
                    await self.ipfs.connect(providers)
                await self.ipfs.pin(cid)
            return ""
        except TimeoutError:
            return f"not fetched within {self.timeout:g} s"
        except Exception as err:
            return " ".join(str(err).split()) or type(err).__name__

    async def _advertise(self) -> None:
        if self.advertise is None:
            return
        held = await self.db.read(lambda conn: pinned(conn, self.advertise_max))
        if held != self._advertised:
            await self.advertise(held)
            self._advertised = held
