"""Merge rules and the merging kademlia storage."""
from __future__ import annotations

import logging
import time

import msgspec
import pytest

from colonies.dht.merge import acceptable, merge, visible
from colonies.dht.records import (
    MAX_RECORD_BYTES,
    MAX_RECORDS_PER_KEY,
    MAX_VALUE_BYTES,
    MIN_RECORDS_PER_PAGE,
    ProviderRecord,
    decode_records,
    encode_records,
    key_for,
    sign_record,
)
from colonies.dht.storage import MergingStorage, by_node

KEYS = [f"{scalar:064x}" for scalar in range(1, MAX_RECORDS_PER_KEY + 4)]  # fixed, valid private keys
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


def test_storage_keeps_the_best_records_and_serves_them_in_pages_that_each_fit_a_datagram():
    storage = MergingStorage(member)
    fat_cert = {"member": True, "pad": "x" * 950}
    fat = [signed(k, waiting=i, cert=fat_cert, api_url="https://" + "n" * 100) for i, k in enumerate(KEYS[:11])]
    assert all(len(encode_records([r])) > 0.9 * MAX_RECORD_BYTES for r in fat)  # near the cap
    for record in reversed(fat):
        storage[KEY] = encode_records([record])
    kept = storage.records(KEY)
    assert [r.waiting for r in kept] == list(range(11))  # all kept, least loaded first
    pages = storage.pages(KEY)
    assert len(pages) == 3 and all(len(page) <= MAX_VALUE_BYTES for page in pages)
    assert [len(decode_records(page)) for page in pages[:-1]] == [MIN_RECORDS_PER_PAGE] * 2
    # Cut in node-id order: a republish or a load change never moves a record to another page.
    assert [r for page in pages for r in decode_records(page)] == by_node(kept)
    assert storage.get(KEY) == storage.page(KEY, 0) == pages[0]
    assert storage.page(KEY, 3) is None and storage.page(KEY, -1) is None
    busier = signed(KEYS[0], issued_ms=fat[0].issued_ms + 1, waiting=50, cert=fat_cert, api_url="https://" + "n" * 100)
    storage[KEY] = encode_records([busier])
    assert storage.records(KEY)[-1] == busier  # least preferred now, but on the same page
    assert [r.node_id for page in storage.pages(KEY) for r in decode_records(page)] == [r.node_id for r in by_node(kept)]


def test_storage_bounds_the_set_to_the_most_preferred_records():
    storage = MergingStorage(member)
    records = [signed(k, waiting=i) for i, k in enumerate(KEYS)]
    assert len(records) > MAX_RECORDS_PER_KEY
    for record in reversed(records):
        storage[KEY] = encode_records([record])
    assert [r.waiting for r in storage.records(KEY)] == list(range(MAX_RECORDS_PER_KEY))
    assert not storage.store(KEY, encode_records([signed(KEYS[-1], issued_ms=records[-1].issued_ms + 1, waiting=999)]))
    served = [r for page in storage.pages(KEY) for r in decode_records(page)]
    assert served == by_node(storage.records(KEY))
    handed = [r for key, page in storage for r in decode_records(page)]  # what a newcomer is sent
    assert handed == served


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


def test_load_counts_waiting_and_running_per_live_executor():
    now = time.time()
    four_busy = signed(KEYS[0], live=4, waiting=4, running=4)  # 2 per executor
    one_queued = signed(KEYS[1], live=1, waiting=1)  # 1
    one_running = signed(KEYS[2], live=1, running=3)  # 3
    idle = signed(KEYS[3], live=0)
    assert merge([idle, one_running, four_busy, one_queued], now) == [one_queued, four_busy, one_running, idle]
    tie_a, tie_b = signed(KEYS[4], live=2, waiting=2), signed(KEYS[5], live=1, running=1)
    ordered = merge([tie_a, tie_b], now)
    assert ordered == merge([tie_b, tie_a], now)  # equal load: the order is still total


class Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, colony: str, executortype: str) -> None:
        self.seen.append((colony, executortype))


def test_listeners_hear_changed_offers_not_republished_copies(caplog: pytest.LogCaptureFixture):
    storage = MergingStorage(member)
    calls = Calls()

    def broken(colony: str, executortype: str) -> None:
        raise RuntimeError("listener bug")

    storage.listeners += [broken, calls]
    first = signed(KEYS[0], waiting=1)
    with caplog.at_level(logging.ERROR, logger="colonies.dht.storage"):
        assert storage.store(KEY, encode_records([first]))  # a failing listener breaks nothing
    assert calls.seen == [("dev", "gpu")] and "listener failed" in caplog.text
    assert storage.store(KEY, encode_records([signed(KEYS[0], issued_ms=first.issued_ms + 1, waiting=1)]))
    assert not storage.store(KEY, encode_records([first]))  # an older copy loses: nothing changed
    assert calls.seen == [("dev", "gpu")]
    storage.store(KEY, encode_records([signed(KEYS[0], issued_ms=first.issued_ms + 2, waiting=2)]))
    storage.store(KEY, encode_records([signed(KEYS[1])]))  # a second provider
    storage.store(KEY, encode_records([signed(KEYS[1], cert={})]))  # refused: no change
    storage.store(key_for("dev"), encode_records([signed(KEYS[2], executortype="")]))
    assert calls.seen == [("dev", "gpu"), ("dev", "gpu"), ("dev", "gpu"), ("dev", "")]
