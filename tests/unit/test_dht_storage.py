"""Merge rules and the merging kademlia storage."""
from __future__ import annotations

import time

import msgspec
import pytest

from colonies import crypto
from colonies.dht.merge import acceptable, merge, visible
from colonies.dht.records import (
    MAX_RECORD_BYTES,
    MAX_RECORDS_PER_KEY,
    MAX_VALUE_BYTES,
    MIN_RECORDS_PER_KEY,
    ProviderRecord,
    decode_records,
    encode_records,
    key_for,
    sign_record,
)
from colonies.dht.storage import MergingStorage

KEYS = [crypto.generate_private_key() for _ in range(MAX_RECORDS_PER_KEY + 3)]
KEY = key_for("dev", "gpu")


def signed(prvkey: str, *, issued_ms: int | None = None, ttl: float = 60, **fields: object) -> ProviderRecord:
    issued = int(time.time() * 1000) if issued_ms is None else issued_ms
    values: dict[str, object] = {
        "node_id": "00" * 32,
        "api_url": "http://127.0.0.1:1",
        "dht_address": "127.0.0.1:2",
        "colony": "dev",
        "executortype": "gpu",
        "live": 1,
        "issued_ms": issued,
        "expires": issued / 1000 + ttl,
        "cert": {"member": True},
    }
    values.update(fields)
    return sign_record(ProviderRecord(**values), prvkey)  # type: ignore[arg-type]


def member(record: ProviderRecord) -> bool:
    return record.cert.get("member") is True


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_newest_record_per_node_wins_even_if_the_older_expires_later():
    now = time.time()
    old = signed(KEYS[0], issued_ms=int(now * 1000) - 5000, ttl=600, waiting=1)
    new = signed(KEYS[0], issued_ms=int(now * 1000), ttl=30, waiting=2)
    assert merge([old, new], now) == [new]
    assert merge([new, old], now) == [new]


def test_expired_newest_does_not_resurrect_an_older_record():
    now = time.time()
    old = signed(KEYS[0], issued_ms=int(now * 1000) - 5000, ttl=600)
    new_expired = signed(KEYS[0], issued_ms=int(now * 1000) - 1000, ttl=0.5)
    assert merge([old, new_expired], now) == []


def test_merge_orders_live_then_least_waiting_and_bounds():
    now = time.time()
    idle = signed(KEYS[0], live=0, waiting=0)
    busy = signed(KEYS[1], live=3, waiting=9)
    free = signed(KEYS[2], live=1, waiting=0)
    gone = signed(KEYS[3], withdrawn=True, live=0)
    assert merge([idle, busy, gone, free], now) == [free, busy, idle, gone]
    assert visible(merge([idle, gone], now)) == [idle]


def test_acceptable_checks_key_expiry_clock_signature_and_membership():
    now = time.time()
    good = signed(KEYS[0])
    assert acceptable(good, KEY, now, member)
    assert not acceptable(good, key_for("dev"), now, member)  # signed for another key
    assert not acceptable(signed(KEYS[0], ttl=-1), KEY, now, member)
    assert not acceptable(signed(KEYS[0], issued_ms=int((now + 3600) * 1000)), KEY, now, member)
    assert not acceptable(signed(KEYS[0], ttl=10 * 86400), KEY, now, member)
    assert not acceptable(msgspec.structs.replace(good, waiting=7), KEY, now, member)  # tampered
    assert not acceptable(signed(KEYS[0], cert={"member": False}), KEY, now, member)

    def broken(_: ProviderRecord) -> bool:
        raise RuntimeError("verifier bug")

    assert not acceptable(good, KEY, now, broken)


def test_storage_merges_instead_of_replacing():
    storage = MergingStorage(member)
    a, b = signed(KEYS[0]), signed(KEYS[1])
    storage[KEY] = encode_records([a])
    storage[KEY] = encode_records([b])
    assert sorted(decode_records(storage[KEY]), key=lambda r: r.node_id) == sorted([a, b], key=lambda r: r.node_id)
    newer_a = signed(KEYS[0], issued_ms=a.issued_ms + 1, waiting=4)
    storage[KEY] = encode_records([newer_a])
    assert {r.node_id: r for r in storage.records(KEY)}[a.node_id] == newer_a
    storage[KEY] = encode_records([a])  # a replayed older record loses
    assert {r.node_id: r for r in storage.records(KEY)}[a.node_id] == newer_a


def test_storage_drops_forged_foreign_and_non_member_records():
    storage = MergingStorage(member)
    forged = msgspec.structs.replace(signed(KEYS[0]), node_id=signed(KEYS[1]).node_id)
    wrong_key = signed(KEYS[2], colony="other")
    outsider = signed(KEYS[3], cert={})
    storage[KEY] = encode_records([forged, wrong_key, outsider])
    assert storage.get(KEY) is None
    with pytest.raises(KeyError):
        storage[KEY]
    storage[KEY] = b"garbage"
    storage[b"short"] = encode_records([signed(KEYS[0])])
    assert len(storage) == 0


def test_storage_expires_records_and_keys():
    clock = FakeClock()
    storage = MergingStorage(member, clock=clock)
    storage[KEY] = encode_records([signed(KEYS[0], ttl=10), signed(KEYS[1], ttl=100)])
    assert len(storage.records(KEY)) == 2
    clock.now += 20
    assert [r.node_id for r in storage.records(KEY)] == [signed(KEYS[1]).node_id]
    clock.now += 100
    assert storage.get(KEY) is None and len(storage) == 0


def test_tombstone_replaces_the_record_and_is_kept_until_it_expires():
    storage = MergingStorage(member)
    live = signed(KEYS[0])
    tomb = signed(KEYS[0], issued_ms=live.issued_ms + 1, withdrawn=True, live=0)
    storage[KEY] = encode_records([live])
    storage[KEY] = encode_records([tomb])
    assert storage.records(KEY) == [tomb]
    storage[KEY] = encode_records([live])  # the older live record cannot come back
    assert storage.records(KEY) == [tomb]
    assert visible(storage.records(KEY)) == []


def test_storage_bounds_the_set_and_every_value_fits_a_datagram():
    storage = MergingStorage(member)
    fat_cert = {"member": True, "pad": "x" * 950}
    records = [signed(k, waiting=i, cert=fat_cert, api_url="https://" + "n" * 100) for i, k in enumerate(KEYS)]
    assert all(len(encode_records([r])) > 0.9 * MAX_RECORD_BYTES for r in records)  # near the cap
    for record in records:
        storage[KEY] = encode_records([record])
    kept = storage.records(KEY)
    assert len(kept) == MIN_RECORDS_PER_KEY
    assert [r.waiting for r in kept] == list(range(MIN_RECORDS_PER_KEY))  # least loaded kept
    value = storage.get(KEY)
    assert value is not None and len(value) <= MAX_VALUE_BYTES
    small = MergingStorage(member)
    for key in KEYS:
        small[KEY] = encode_records([signed(key)])
    assert len(small.records(KEY)) == MAX_RECORDS_PER_KEY


def test_iteration_and_age_for_the_kademlia_interface():
    storage = MergingStorage(member)
    storage[KEY] = encode_records([signed(KEYS[0])])
    assert [(k, decode_records(v)) for k, v in storage] == [(KEY, storage.records(KEY))]
    assert storage.iter_older_than(3600) == []
    assert [k for k, _ in storage.iter_older_than(0)] == [KEY]


def test_store_reports_whether_the_value_was_kept():
    storage = MergingStorage(member)
    assert storage.store(KEY, encode_records([signed(KEYS[0])]))
    assert not storage.store(KEY, encode_records([signed(KEYS[1], cert={})]))
    assert not storage.store(KEY, b"[]")
    assert not storage.store(b"short", encode_records([signed(KEYS[2])]))
