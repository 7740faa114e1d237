"""CID records: which IPFS content a node holds pinned, and where its IPFS node listens.

A CID record is a `ProviderRecord` with `cid` and `multiaddrs` set and no colony, stored under
sha1 of `ipfs/cid/<cid>`; it is signed, verified, merged, paged and withdrawn like the colony
records. This module holds what is particular to CIDs: their syntax and key, the bounds on the
multiaddrs, the lookup result, and when the republisher sends next.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from colonies.dht.records import ProviderRecord

MAX_CID_LENGTH = 128
MAX_MULTIADDRS = 8
MAX_MULTIADDR_LENGTH = 256
# All multiaddrs of one record together (characters): with a 128-character CID and a real
# membership certificate the record stays under MAX_RECORD_BYTES (tested), 8 × 256 would not.
MAX_MULTIADDRS_BYTES = 480

# CIDv0 (base58btc sha2-256) or CIDv1 in lowercase base32: the forms Kubo prints, as cfs/ accepts.
_CID = re.compile(r"Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{20,127}")
_MULTIADDR = re.compile(r"/[\x21-\x7e]{1,255}")  # printable ASCII, no spaces
assert 1 + 127 == MAX_CID_LENGTH and 1 + 255 == MAX_MULTIADDR_LENGTH, "the patterns spell out these bounds"

# A round of republishing spreads a node's n CID records over one interval, one every
# interval / n; a record is republished once it is half an interval old.
REPUBLISH_AGE = 0.5


def cid_ok(cid: object) -> bool:
    return isinstance(cid, str) and _CID.fullmatch(cid) is not None


def check_cid(cid: object) -> str:
    if not isinstance(cid, str) or _CID.fullmatch(cid) is None:
        raise ValueError(f"not a CID (CIDv0 Qm… or base32 CIDv1 b…, at most {MAX_CID_LENGTH} characters): {cid!r:.140}")
    return cid


def multiaddrs_problem(addrs: Sequence[object]) -> str | None:
    """Why these multiaddrs cannot go in a record, or None."""
    if len(addrs) > MAX_MULTIADDRS:
        return f"more than {MAX_MULTIADDRS} multiaddrs"
    for addr in addrs:
        if not (isinstance(addr, str) and _MULTIADDR.fullmatch(addr)):
            return f"not a multiaddr (/ip4/…/tcp/…/p2p/…, printable, at most {MAX_MULTIADDR_LENGTH} characters): {addr!r:.300}"
    if sum(len(str(addr)) for addr in addrs) > MAX_MULTIADDRS_BYTES:
        return f"multiaddrs longer than {MAX_MULTIADDRS_BYTES} characters together"
    return None


def check_multiaddrs(addrs: Sequence[str]) -> tuple[str, ...]:
    """The multiaddrs without repeats, in the given order; ValueError when out of bounds."""
    if isinstance(addrs, str):
        raise ValueError("multiaddrs must be a sequence of strings, not one string")
    unique = tuple(dict.fromkeys(addrs))
    problem = multiaddrs_problem(unique)
    if problem:
        raise ValueError(problem)
    return unique


def fit_multiaddrs(addrs: Sequence[str]) -> tuple[str, ...]:
    """The first valid multiaddrs (in the given order) that fit the bounds together."""
    kept: list[str] = []
    for addr in dict.fromkeys(addrs):
        if multiaddrs_problem([*kept, addr]) is None:
            kept.append(addr)
    return tuple(kept)


def cid_key_name(cid: str) -> str:
    return f"ipfs/cid/{cid}"


def cid_key(cid: str) -> bytes:
    """The 160-bit DHT key of a CID (sha1, like the colony keys)."""
    return hashlib.sha1(cid_key_name(cid).encode()).digest()


@dataclass(frozen=True)
class CidProvider:
    """A node holding a CID pinned: where to reach its IPFS node and the node itself."""

    node_id: str
    api_url: str
    dht_address: str
    multiaddrs: tuple[str, ...]
    issued_ms: int
    expires: float  # unix seconds

    @classmethod
    def of(cls, record: ProviderRecord) -> CidProvider:
        return cls(record.node_id, record.api_url, record.dht_address, record.multiaddrs, record.issued_ms, record.expires)


def next_send(oldest_at: float, last_sent: float, count: int, interval: float) -> float:
    """When the republisher sends next (monotonic time): the least recently published of `count`
    records once it is REPUBLISH_AGE × interval old, and never sooner than interval / count after
    the previous send, so a round is spread over the interval whatever went out at once before."""
    return max(oldest_at + REPUBLISH_AGE * interval, last_sent + interval / max(count, 1))
