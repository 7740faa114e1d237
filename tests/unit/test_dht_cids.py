"""CID records: syntax, keys, bounds, signing and receipt, storage, advertise_cids, the paced
republisher and the find_cid cache (no sockets)."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time

import msgspec
import pytest

from colonies import crypto
from colonies.dht.cids import (
    MAX_CID_LENGTH,
    MAX_MULTIADDR_LENGTH,
    MAX_MULTIADDRS,
    MAX_MULTIADDRS_BYTES,
    CidProvider,
    check_cid,
    check_multiaddrs,
    cid_key,
    cid_key_name,
    fit_multiaddrs,
    next_send,
)
from colonies.dht.node import DHTNode
from colonies.dht.records import (
    MAX_RECORD_BYTES,
    MIN_RECORDS_PER_PAGE,
    ProviderRecord,
    decode_records,
    encode_record,
    encode_records,
    key_for,
    paged,
    sign_record,
    signature_ok,
    signing_payload,
)
from colonies.dht.storage import MergingStorage
from colonies.federation import membership

PRVKEY = f"{12345:064x}"
NODE_ID = crypto.id_from_private_key(PRVKEY)
V0 = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
V1 = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
PEER = "12D3KooWGRUVh8pBiHpRD3cSWDn9ZDbW9Rg2zKQ4u6pUjk2XrHTQ"
ADDRS = (f"/ip4/127.0.0.1/tcp/4101/p2p/{PEER}", f"/ip4/127.0.0.1/udp/4101/quic-v1/p2p/{PEER}")


def cids(count: int) -> list[str]:
    """Distinct valid CIDv1s (base32 of sha2-256 multihashes)."""
    import base64

    return [
        "b" + base64.b32encode(b"\x01\x55\x12\x20" + hashlib.sha256(str(i).encode()).digest()).decode().lower().rstrip("=")
        for i in range(count)
    ]


def cid_record(prvkey: str = PRVKEY, **fields: object) -> ProviderRecord:
    now = time.time()
    values: dict[str, object] = {
        "node_id": crypto.id_from_private_key(prvkey), "api_url": "http://127.0.0.1:1", "dht_address": "127.0.0.1:2",
        "colony": "", "cid": V1, "multiaddrs": ADDRS, "issued_ms": int(now * 1000), "expires": now + 60,
        "cert": {"member": True},
    }
    values.update(fields)
    return sign_record(ProviderRecord(**values), prvkey)  # type: ignore[arg-type]


def member(record: ProviderRecord) -> bool:
    return record.cert.get("member") is True


def test_cid_syntax_and_key():
    assert check_cid(V0) == V0 and check_cid(V1) == V1 and cids(1)[0].startswith("bafkrei")
    too_long = "b" + "a" * MAX_CID_LENGTH
    for bad in ("", "Qm123", V0[:-1], V0 + "1", V0.replace("Y", "0"), V1.upper(), "B" + V1[1:], "z" + V1[1:], too_long, V1 + " ", 42):
        with pytest.raises(ValueError, match="not a CID"):
            check_cid(bad)
    assert check_cid("b" + "a" * (MAX_CID_LENGTH - 1))
    assert cid_key_name(V1) == f"ipfs/cid/{V1}"
    assert cid_key(V1) == hashlib.sha1(f"ipfs/cid/{V1}".encode()).digest() != cid_key(V0)
    assert cid_record().key == cid_key(V1)


def test_multiaddr_bounds():
    assert check_multiaddrs([*ADDRS, ADDRS[0]]) == ADDRS  # repeats dropped, order kept
    assert check_multiaddrs([]) == ()
    with pytest.raises(ValueError, match=f"more than {MAX_MULTIADDRS}"):
        check_multiaddrs([f"/ip4/127.0.0.{i}/tcp/1" for i in range(MAX_MULTIADDRS + 1)])
    for bad in ("ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/1 ", "/ip4/\x07", "/" + "x" * MAX_MULTIADDR_LENGTH, "/é"):
        with pytest.raises(ValueError, match="not a multiaddr"):
            check_multiaddrs([bad])
    with pytest.raises(ValueError, match="together"):
        check_multiaddrs([f"/{i}" + "x" * 200 for i in range(3)])
    with pytest.raises(ValueError, match="not one string"):
        check_multiaddrs(ADDRS[0])  # type: ignore[arg-type]
    long = [f"/{i}" + "x" * 130 for i in range(8)]
    assert fit_multiaddrs(["bad", *long]) == tuple(long[:3])  # the first that fit, in order


def test_a_cid_record_with_eight_long_multiaddrs_and_a_real_certificate_fits_the_record_bound():
    cert = membership.issue(
        crypto.generate_private_key(), federation="example", node_id=NODE_ID, api_url="https://node-a.example.org:50080",
        dht_address="203.0.113.10:4000", ttl_seconds=30 * 86400,
    )
    addrs = tuple(f"/{i}" + "x" * (MAX_MULTIADDRS_BYTES // MAX_MULTIADDRS - 2) for i in range(MAX_MULTIADDRS))
    assert sum(map(len, addrs)) == MAX_MULTIADDRS_BYTES
    largest = cid_record(
        cid="b" + "a" * (MAX_CID_LENGTH - 1), multiaddrs=addrs, cert=msgspec.to_builtins(cert),
        api_url="https://node-a.example.org:50080", dht_address="203.0.113.10:4000",
    )
    assert len(encode_record(largest)) <= MAX_RECORD_BYTES
    assert len(paged([largest] * 8)[0]) >= MIN_RECORDS_PER_PAGE
    typical = cid_record(multiaddrs=ADDRS, cert=msgspec.to_builtins(cert))
    assert len(encode_record(typical)) < 1100 and len(paged([typical] * 8)[0]) >= 5  # two full multiaddrs
    # 8 multiaddrs of the longest allowed each could not fit: hence the bound on all together.
    assert MAX_MULTIADDRS * MAX_MULTIADDR_LENGTH > MAX_RECORD_BYTES


def test_cid_records_are_signed_over_cid_and_multiaddrs_and_colony_records_sign_as_before():
    signed = cid_record()
    assert signature_ok(signed) and decode_records(encode_records([signed])) == [signed]
    assert b'"cid":"' + V1.encode() in signing_payload(signed) and b"multiaddrs" in signing_payload(signed)
    for change in ({"cid": V0}, {"multiaddrs": ADDRS[:1]}, {"withdrawn": True}):
        assert not signature_ok(msgspec.structs.replace(signed, **change))
    colony = sign_record(msgspec.structs.replace(signed, colony="dev", cid="", multiaddrs=()), PRVKEY)
    payload = signing_payload(colony)
    assert b"cid" not in payload and b"multiaddrs" not in payload  # older nodes' records still verify
    assert b"cid" not in encode_record(colony) and colony.key == key_for("dev")


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"cid": "Qmnope"}, "not a CID"),
        ({"multiaddrs": tuple(f"/ip4/127.0.0.{i}/tcp/1" for i in range(9))}, "more than 8"),
        ({"multiaddrs": ("/a b",)}, "not a multiaddr"),
        ({"multiaddrs": tuple(f"/{i}" + "x" * 100 for i in range(5))}, "together"),
        ({"colony": "dev"}, "names no colony"),
        ({"executortype": "gpu"}, "names no colony"),
        ({"cid": ""}, "names a colony or a CID"),
        ({"cid": "", "colony": "dev"}, "only CID records"),
    ],
)
def test_invalid_cid_records_are_refused_when_signed(fields: dict[str, object], message: str):
    with pytest.raises(ValueError, match=message):
        cid_record(**fields)


def test_invalid_cid_records_are_skipped_when_received():
    good = cid_record()
    fields = msgspec.structs.asdict(good)
    for bad in (
        {"cid": "Qmnope"}, {"cid": V1.upper()}, {"multiaddrs": ["/x"] * 9}, {"multiaddrs": ["/" + "x" * 300]},
        {"multiaddrs": ["no-slash"]}, {"colony": "dev"}, {"cid": ""}, {"cid": "b" + "a" * 200},
    ):
        raw = msgspec.json.encode({**fields, **bad})
        assert decode_records(b"[" + raw + b"]") == []
    assert decode_records(b"[" + msgspec.json.encode(fields) + b"]") == [good]


def test_storage_keeps_verified_cid_records_and_tells_only_cid_listeners():
    storage = MergingStorage(member)
    colony_calls: list[tuple[str, str]] = []
    cid_calls: list[str] = []
    storage.listeners.append(lambda colony, etype: colony_calls.append((colony, etype)))
    storage.cid_listeners.append(cid_calls.append)
    record = cid_record()
    assert storage.store(cid_key(V1), encode_records([record]))
    assert storage.records(cid_key(V1)) == [record]
    assert not storage.store(key_for("dev"), encode_records([cid_record(issued_ms=record.issued_ms + 1)]))  # wrong key
    assert not storage.store(cid_key(V1), encode_records([msgspec.structs.replace(record, multiaddrs=ADDRS[:1])]))  # tampered
    assert not storage.store(cid_key(V1), encode_records([cid_record(cert={})]))  # not a member
    unsigned = msgspec.structs.replace(record, signature="")
    assert not storage.store(cid_key(V1), encode_records([unsigned]))
    tomb = cid_record(issued_ms=record.issued_ms + 1, withdrawn=True, multiaddrs=())
    assert storage.store(cid_key(V1), encode_records([tomb]))
    assert cid_calls == [V1, V1] and colony_calls == []


def test_cid_keys_have_their_own_budget_so_they_cannot_crowd_out_colony_keys():
    storage = MergingStorage(member, max_keys=4, max_cid_keys=2)
    some = cids(3)
    assert [storage.store(cid_key(c), encode_records([cid_record(cid=c)])) for c in some] == [True, True, False]
    colony = cid_record(colony="dev", cid="", multiaddrs=())
    assert storage.store(key_for("dev"), encode_records([colony]))
    assert storage.store(key_for("dev", "gpu"), encode_records([cid_record(colony="dev", executortype="gpu", cid="", multiaddrs=())]))
    assert not storage.store(key_for("dev", "cpu"), encode_records([cid_record(colony="dev", executortype="cpu", cid="", multiaddrs=())]))


class Published:
    """Stands in for DHTNode._publish: records what would go out (and when), answers `accept`."""

    def __init__(self) -> None:
        self.records: list[ProviderRecord] = []
        self.times: list[float] = []
        self.accept = True

    async def __call__(self, record: ProviderRecord) -> bool:
        self.records.append(record)
        self.times.append(time.monotonic())
        return self.accept


def node(**options: object) -> tuple[DHTNode, Published]:
    dht = DHTNode(PRVKEY, lambda _: True, api_url="http://127.0.0.1:1", cert={"c": 1}, **options)  # type: ignore[arg-type]
    dht.dht_address = "127.0.0.1:2"
    published = Published()
    dht._publish = published  # type: ignore[method-assign]
    return dht, published


async def test_advertise_cids_publishes_new_withdraws_removed_and_leaves_unchanged_alone():
    dht, published = node()
    a, b, c = cids(3)
    assert await dht.advertise_cids([a, b, a], ADDRS) == 2
    assert [r.cid for r in published.records] == [a, b] and all(signature_ok(r) for r in published.records)
    assert all(r.multiaddrs == ADDRS and r.colony == "" and r.expires - r.issued_ms / 1000 == pytest.approx(dht.cid_ttl) for r in published.records)
    assert dht.advertised_cids() == [a, b]
    assert await dht.advertise_cids([a, b], ADDRS) == 2  # unchanged: nothing sent
    assert len(published.records) == 2
    assert await dht.advertise_cids([c, a], ADDRS) == 2  # c new, b withdrawn, a left alone
    assert [(r.cid, r.withdrawn, r.multiaddrs) for r in published.records[2:]] == [(c, False, ADDRS), (b, True, ())]
    assert dht.advertised_cids() == [c, a]
    assert await dht.advertise_cids([c, a], ADDRS[:1]) == 2  # new multiaddrs: every record changes
    assert sorted(r.cid for r in published.records[4:]) == sorted([a, c]) and published.records[-1].multiaddrs == ADDRS[:1]
    assert dht.advertised() == []  # the colony keys are apart
    assert await dht.withdraw_all() == 2
    assert sorted((r.cid, r.withdrawn) for r in published.records[6:]) == sorted([(a, True), (c, True)])
    assert dht.advertised_cids() == []


async def test_invalid_input_is_refused_and_changes_nothing():
    dht, published = node()
    good = cids(2)
    await dht.advertise_cids(good[:1], ADDRS)
    for bad_cids, addrs, message in (
        ([good[1], "Qmnope"], ADDRS, "not a CID"),
        (good, [f"/ip4/127.0.0.{i}/tcp/1" for i in range(9)], "more than 8"),
        (good, ["/" + "x" * 300], "not a multiaddr"),
    ):
        with pytest.raises(ValueError, match=message):
            await dht.advertise_cids(bad_cids, addrs)
    assert dht.advertised_cids() == good[:1] and len(published.records) == 1
    with pytest.raises(ValueError, match="advertise_cids"):
        await dht.advertise([cid_record()])


async def test_at_most_max_cids_are_advertised_the_first_given_and_it_is_logged_once(caplog: pytest.LogCaptureFixture):
    dht, published = node(max_cids=3)
    some = cids(5)
    with caplog.at_level(logging.WARNING, logger="colonies.dht.node"):
        assert await dht.advertise_cids(some, ADDRS) == 3
        assert await dht.advertise_cids(some, ADDRS) == 3
    assert dht.advertised_cids() == some[:3] and [r.cid for r in published.records] == some[:3]
    assert [r.getMessage() for r in caplog.records] == ["advertising the first 3 of 5 CIDs in the DHT (max_cids)"]


async def test_unaccepted_cids_count_as_their_last_publish():
    dht, published = node()
    published.accept = False
    assert await dht.advertise_cids(cids(2), ADDRS) == 0
    published.accept = True
    assert await dht.advertise_cids(cids(2), ADDRS) == 0  # unchanged, left to the republisher
    assert await dht.advertise_cids(cids(3), ADDRS) == 1


def test_next_send_spreads_a_round_over_the_interval():
    assert next_send(oldest_at=100.0, last_sent=float("-inf"), count=10, interval=60.0) == 130.0  # half an interval old
    assert next_send(oldest_at=0.0, last_sent=100.0, count=10, interval=60.0) == 106.0  # interval / count apart


async def test_a_thousand_cids_are_republished_one_at_a_time_spread_over_the_interval():
    interval, count = 2.0, 1000
    dht, published = node(cid_republish_interval=interval)
    some = cids(count)
    began = time.monotonic()
    assert await dht.advertise_cids(some, ADDRS) == count  # new: all at once
    republisher = asyncio.create_task(dht._republish_cids())
    try:
        async with asyncio.timeout(10 * interval):  # one round takes 1.5 intervals
            while len(published.records) < 2 * count:
                await asyncio.sleep(0.05)
    finally:
        republisher.cancel()
        await asyncio.gather(republisher, return_exceptions=True)
    again, times = published.records[count : 2 * count], published.times[count : 2 * count]
    assert sorted(r.cid for r in again) == sorted(some)  # each once, none twice
    assert all(r.issued_ms > first.issued_ms for r, first in zip(sorted(again, key=lambda r: r.cid), sorted(published.records[:count], key=lambda r: r.cid)))
    assert times[0] - began >= 0.5 * interval  # not before half an interval
    # Never a burst: at most one send per interval / count, so no 1-second window holds more
    # than count / interval + 1 (a burst would put all 1000 in one).
    busiest = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
    assert busiest <= count / interval + 1, busiest


async def test_find_cid_answers_from_a_short_cache_that_a_merged_change_clears():
    dht, _ = node(cid_cache_ttl=60.0)
    crawls: list[bytes] = []
    answer: list[ProviderRecord] = []

    async def crawl(dkey: bytes, timeout: float | None) -> list[ProviderRecord]:
        crawls.append(dkey)
        return [r for r in answer if r.key == dkey]

    dht._find = crawl  # type: ignore[method-assign]
    assert await dht.find_cid(V1) == [] and await dht.find_cid(V1) == []  # a miss is cached too
    assert crawls == [cid_key(V1)]
    record = cid_record(f"{777:064x}")
    answer.append(record)
    assert dht.storage.store(cid_key(V1), encode_records([record]))  # merged here: clears the answer
    [found] = await dht.find_cid(V1)
    assert found == CidProvider(record.node_id, record.api_url, record.dht_address, ADDRS, record.issued_ms, record.expires)
    assert len(crawls) == 2
    assert dht.storage.store(key_for("dev"), encode_records([cid_record(colony="dev", cid="", multiaddrs=())]))
    assert await dht.find_cid(V1) == [found] and len(crawls) == 2  # a colony key's change is not a CID's
    assert await dht.find_cid(V0) == [] and len(crawls) == 3
    with pytest.raises(ValueError, match="not a CID"):
        await dht.find_cid("nope")
    uncached, _ = node(cid_cache_ttl=0.0)
    uncached._find = crawl  # type: ignore[method-assign]
    await uncached.find_cid(V1)
    await uncached.find_cid(V1)
    assert len(crawls) == 5
