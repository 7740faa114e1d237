"""Pins follow references (cfs/pinning.py) on a real store, with an IPFS side that records calls
(tests/integration/test_ipfs_*.py pin in real Kubo nodes)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from colonies.cfs import files as cfs
from colonies.cfs import pinning
from colonies.models import File, IpfsObject, Reference
from colonies.node.store.database import Database

CIDS = [f"Qm{c * 44}" for c in "abcd"]


class RecordingIpfs:
    def __init__(self) -> None:
        self.pins: set[str] = set()
        self.connected: list[str] = []
        self.refuse: set[str] = set()

    async def pin(self, cid: str) -> None:
        if cid in self.refuse:
            raise RuntimeError(f"nobody serves {cid}")
        self.pins.add(cid)

    async def unpin(self, cid: str) -> None:
        self.pins.discard(cid)

    async def connect(self, multiaddrs: Sequence[str]) -> list[str]:
        self.connected += multiaddrs
        return list(multiaddrs)


def a_file(cid: str, name: str, providers: list[str] | None = None) -> File:
    return File(
        colonyname="c", label="/l", name=name, size=3, checksum="00", checksumalg="SHA256",
        ref=Reference(protocol="ipfs", ipfsobject=IpfsObject(cid=cid, size=3, providers=providers)),
    )


@pytest.fixture
async def db(tmp_path: Path):
    database = await Database.open(f"sqlite:///{tmp_path / 'pins.db'}")
    yield database
    await database.close()


async def test_referenced_cids_are_pinned_unreferenced_ones_unpinned_and_the_held_set_advertised(db) -> None:
    ipfs = RecordingIpfs()
    advertised: list[list[str]] = []

    async def advertise(cids: list[str]) -> None:
        advertised.append(cids)

    async def lookup(cid: str) -> list[str]:
        return ["/ip4/127.0.0.1/tcp/4002/p2p/from-dht"]

    keeper = pinning.PinKeeper(db, ipfs, lookup=lookup, advertise=advertise)
    first = await db.write(lambda conn: cfs.add_file(conn, a_file(CIDS[0], "x", ["/ip4/127.0.0.1/tcp/4001/p2p/in-ref"]), 1))
    await db.write(lambda conn: cfs.add_file(conn, a_file(CIDS[0], "x-again"), 2))  # one CID, two revisions
    await db.write(lambda conn: cfs.add_file(conn, a_file(CIDS[1], "y"), 3))

    done = await keeper.run_once()
    assert (done.pinned, done.failed, done.unpinned) == (2, 0, 0)
    assert ipfs.pins == {CIDS[0], CIDS[1]}
    assert "/ip4/127.0.0.1/tcp/4001/p2p/in-ref" in ipfs.connected and "/ip4/127.0.0.1/tcp/4002/p2p/from-dht" in ipfs.connected
    assert sorted(advertised[-1]) == sorted(CIDS[:2])
    assert (await keeper.run_once()).pinned == 0 and len(advertised) == 1  # nothing new: not advertised again

    await db.write(lambda conn: cfs.remove_file(conn, "c", first.fileid or "", "", ""))
    assert (await keeper.run_once()).unpinned == 0  # still referenced by the other revision
    await db.write(lambda conn: cfs.remove_file(conn, "c", "", "/l", "x-again"))
    assert (await keeper.run_once()).unpinned == 1
    assert ipfs.pins == {CIDS[1]} and advertised[-1] == [CIDS[1]]


async def test_a_cid_nobody_serves_is_retried_with_backoff_and_pins_once_served(db) -> None:
    ipfs = RecordingIpfs()
    ipfs.refuse.add(CIDS[2])
    keeper = pinning.PinKeeper(db, ipfs)
    await db.write(lambda conn: cfs.add_file(conn, a_file(CIDS[2], "z"), 1))
    assert (await keeper.run_once()).failed == 1
    assert (await keeper.run_once()).failed == 0  # backing off: not tried again at once
    [row] = await db.read(lambda conn: list(conn.execute(pinning.pins.select())))
    assert row.state == "failed" and row.attempts == 1 and "nobody serves" in row.error
    await db.write(lambda conn: conn.execute(pinning.pins.update().values(next_try=0)))
    ipfs.refuse.clear()
    assert (await keeper.run_once()).pinned == 1 and CIDS[2] in ipfs.pins


async def test_pins_survive_a_restart_of_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pins.db'}"
    db = await Database.open(url)
    ipfs = RecordingIpfs()
    await db.write(lambda conn: cfs.add_file(conn, a_file(CIDS[3], "w"), 1))
    await pinning.PinKeeper(db, ipfs).run_once()
    await db.close()
    db = await Database.open(url)
    try:
        again = RecordingIpfs()
        assert (await pinning.PinKeeper(db, again).run_once()).pinned == 0  # known pinned: no second fetch
        assert await db.read(lambda conn: pinning.pinned(conn, 10)) == [CIDS[3]]
    finally:
        await db.close()
