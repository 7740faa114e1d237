"""Signed provider records: what a node advertises under a colony (or colony/executortype) key,
and which IPFS CIDs it holds (a CID record: `cid` and `multiaddrs` set, no colony; see `cids`).

A record is compact JSON. Its signature is `colonies.crypto.sign` over the canonical encoding of
every other field (keys sorted, no whitespace) with the node's key; the recovered signer id must
equal `node_id`. A DHT value is a JSON array of records, bounded so that it always fits one
kademlia/rpcudp datagram (8 KiB for name + arguments). A key's set holds more records than one
value does; storers serve it as numbered pages, each one value.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Annotated, Any

import msgspec

from colonies import crypto
from colonies.dht.cids import MAX_CID_LENGTH, MAX_MULTIADDR_LENGTH, check_cid, cid_key, multiaddrs_problem

# Size bounds. A record above MAX_RECORD_BYTES is refused when signed and when received. A stored
# set keeps the first MAX_RECORDS_PER_KEY records in preference order, served in pages of at most
# MAX_VALUE_BYTES (at least MIN_RECORDS_PER_PAGE records of the largest size fit one page).
MAX_RECORD_BYTES = 1500
MAX_RECORDS_PER_KEY = 64
MIN_RECORDS_PER_PAGE = 4
MAX_PAGES = -(-MAX_RECORDS_PER_KEY // MIN_RECORDS_PER_PAGE)
MAX_VALUE_BYTES = 6144
RPCUDP_MAX_REQUEST = 8192  # rpcudp refuses a request whose msgpack [name, args] exceeds this
STORE_OVERHEAD = 64  # msgpack of ["store", [nodeid(20), key(20), value]] around the value
assert 2 + MIN_RECORDS_PER_PAGE * (MAX_RECORD_BYTES + 1) <= MAX_VALUE_BYTES
assert MAX_VALUE_BYTES + STORE_OVERHEAD <= RPCUDP_MAX_REQUEST - 1024, "DHT values must stay well under 8 KiB"

# Clock sanity for received records.
MAX_TTL = 24 * 3600.0  # expires - issued
MAX_CLOCK_SKEW = 60.0  # how far in the future `issued_ms` may be

_HEX64 = msgspec.Meta(pattern="^[0-9a-f]{64}$")
_HEX130 = msgspec.Meta(pattern="^([0-9a-f]{130})?$")
_Count = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]


class ProviderRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One node's offer for one key. `executortype` is "" for the colony-level key. A CID record
    names the `cid` and the node's IPFS `multiaddrs` instead of a colony (`colony` is "").

    `issued_ms` (unix ms, strictly increasing per node) orders a node's records: the newest wins,
    even over an older one that expires later. A `withdrawn` record is a tombstone: it replaces
    the node's earlier record everywhere and is never returned by lookups. Fields at their
    default are left out of the wire encoding (not of the signed payload).
    """

    node_id: Annotated[str, _HEX64]
    api_url: Annotated[str, msgspec.Meta(max_length=256)]
    dht_address: Annotated[str, msgspec.Meta(max_length=64)]
    colony: Annotated[str, msgspec.Meta(max_length=128)]  # "" only in a CID record
    executortype: Annotated[str, msgspec.Meta(max_length=128)] = ""
    live: _Count = 0
    waiting: _Count = 0
    running: _Count = 0
    issued_ms: Annotated[int, msgspec.Meta(ge=0)] = 0
    expires: float = 0.0
    withdrawn: bool = False
    cert: dict[str, Any] = {}
    signature: Annotated[str, _HEX130] = ""
    cid: Annotated[str, msgspec.Meta(max_length=MAX_CID_LENGTH)] = ""
    multiaddrs: tuple[Annotated[str, msgspec.Meta(max_length=MAX_MULTIADDR_LENGTH)], ...] = ()

    def __post_init__(self) -> None:
        # Runs on construction, `structs.replace` and decoding: a record is either kind, never both.
        if self.cid:
            check_cid(self.cid)
            if self.colony or self.executortype:
                raise ValueError("a CID record names no colony or executor type")
            problem = multiaddrs_problem(self.multiaddrs)
            if problem:
                raise ValueError(problem)
        elif not self.colony:
            raise ValueError("a record names a colony or a CID")
        elif self.multiaddrs:
            raise ValueError("only CID records carry multiaddrs")

    @property
    def key(self) -> bytes:
        return cid_key(self.cid) if self.cid else key_for(self.colony, self.executortype)


def key_name(colony: str, executortype: str = "") -> str:
    if not executortype:
        return f"colony/{colony}"
    return f"colony/{colony}/executortype/{executortype}"


def key_for(colony: str, executortype: str = "") -> bytes:
    """The 160-bit DHT key (sha1, like kademlia's own digests) of a colony or colony/type."""
    return hashlib.sha1(key_name(colony, executortype).encode()).digest()


def signing_payload(record: ProviderRecord) -> bytes:
    fields = msgspec.structs.asdict(record)
    del fields["signature"]
    for added_later in ("running", "cid", "multiaddrs"):  # records of nodes without them still verify
        if not fields[added_later]:
            del fields[added_later]
    return msgspec.json.encode(fields, order="sorted")


def unstamped(record: ProviderRecord) -> ProviderRecord:
    """The offer without its stamp and signature: equal for a record and its republished copy."""
    return msgspec.structs.replace(record, issued_ms=0, expires=0.0, signature="")


def encode_record(record: ProviderRecord) -> bytes:
    return msgspec.json.encode(record)


def sign_record(record: ProviderRecord, prvkey: str) -> ProviderRecord:
    """The record with node_id set to the key's id and signed; refuses records over the size cap
    and, like every storer would, fields out of bounds (ValueError)."""
    unsigned = msgspec.structs.replace(record, node_id=crypto.id_from_private_key(prvkey), signature="")
    signature = crypto.sign(signing_payload(unsigned).decode(), prvkey)
    signed = msgspec.structs.replace(unsigned, signature=signature)
    encoded = encode_record(signed)
    if len(encoded) > MAX_RECORD_BYTES:
        raise ValueError(f"provider record is {len(encoded)} bytes, over the {MAX_RECORD_BYTES}-byte cap (shorten the cert, names or multiaddrs)")
    _record.decode(encoded)  # the constraints are checked on decode only
    return signed


@lru_cache(maxsize=8192)  # lookups see the same records from many storers; recovery costs ~70 µs
def _signer(payload: bytes, signature: str) -> str | None:
    try:
        return crypto.recover_id(payload, signature)
    except crypto.SignatureError:
        return None


def signature_ok(record: ProviderRecord) -> bool:
    return bool(record.signature) and _signer(signing_payload(record), record.signature) == record.node_id


def bounded(records: list[ProviderRecord]) -> list[ProviderRecord]:
    """The first MAX_RECORDS_PER_KEY records (in preference order): what a storer keeps per key."""
    return records[:MAX_RECORDS_PER_KEY]


def paged(records: list[ProviderRecord]) -> list[list[ProviderRecord]]:
    """The records, in the given order, cut into pages that each fit one value."""
    pages: list[list[ProviderRecord]] = []
    size = MAX_VALUE_BYTES  # so that the first record opens a page
    for record in records:
        extra = len(encode_record(record)) + 1  # a comma, or the closing bracket
        if size + extra > MAX_VALUE_BYTES:
            pages.append([])
            size = 1  # the opening bracket
        pages[-1].append(record)
        size += extra
    return pages


def encode_records(records: list[ProviderRecord]) -> bytes:
    value = msgspec.json.encode(records)
    if len(value) > MAX_VALUE_BYTES:
        raise ValueError(f"DHT value of {len(value)} bytes exceeds {MAX_VALUE_BYTES}")
    return value


_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_record = msgspec.json.Decoder(ProviderRecord)


def decode_records(value: object) -> list[ProviderRecord]:
    """Records of a DHT value; malformed or oversized entries are skipped one by one."""
    if not isinstance(value, bytes) or len(value) > RPCUDP_MAX_REQUEST:
        return []
    try:
        raws = _raw_list.decode(value)
    except msgspec.DecodeError:
        return []
    records: list[ProviderRecord] = []
    for raw in raws[:MAX_RECORDS_PER_KEY]:
        if len(raw) > MAX_RECORD_BYTES:
            continue
        try:
            records.append(_record.decode(raw))
        except msgspec.DecodeError:
            continue
    return records
