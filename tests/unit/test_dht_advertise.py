"""DHTNode.advertise and the republish loop: what is published when (no sockets)."""
from __future__ import annotations

import asyncio

import pytest

from colonies.dht.node import DHTNode
from colonies.dht.records import ProviderRecord, signature_ok

PRVKEY = f"{12345:064x}"


class Published:
    """Stands in for DHTNode._publish: records what would go out, answers `accept`."""

    def __init__(self) -> None:
        self.records: list[ProviderRecord] = []
        self.accept = True

    async def __call__(self, record: ProviderRecord) -> bool:
        self.records.append(record)
        return self.accept


def node(republish_interval: float = 60.0) -> tuple[DHTNode, Published]:
    dht = DHTNode(PRVKEY, lambda _: True, api_url="http://127.0.0.1:1", cert={"c": 1}, republish_interval=republish_interval)
    dht.dht_address = "127.0.0.1:2"
    published = Published()
    dht._publish = published  # type: ignore[method-assign]
    return dht, published


async def test_advertise_publishes_new_and_changed_records_only():
    dht, published = node()
    assert await dht.advertise([dht.record("dev", live=2), dht.record("dev", "gpu", live=2, waiting=1)]) == 2
    assert len(published.records) == 2 and all(signature_ok(r) for r in published.records)
    # The federation re-advertises every interval: unchanged records are not sent again...
    assert await dht.advertise([dht.record("dev", live=2), dht.record("dev", "gpu", live=2, waiting=1)]) == 2
    assert len(published.records) == 2
    # ...while any change of the offer goes out at once, for that key only.
    for change in ({"live": 3}, {"waiting": 4}, {"running": 1}):
        fields = {"live": 2, "waiting": 1, **change}
        assert await dht.advertise([dht.record("dev", live=2), dht.record("dev", "gpu", **fields)]) == 2
        assert (published.records[-1].executortype, published.records[-1].live, published.records[-1].waiting) == (
            "gpu", fields["live"], fields["waiting"],
        )
        assert published.records[-1].running == fields.get("running", 0)
    assert len(published.records) == 5
    assert [t.running for t in dht.advertised() if t.executortype == "gpu"] == [1]


async def test_unchanged_records_count_as_accepted_only_if_their_last_publish_was():
    dht, published = node()
    published.accept = False
    assert await dht.advertise([dht.record("dev", "gpu", live=1)]) == 0
    published.accept = True
    assert await dht.advertise([dht.record("dev", "gpu", live=1)]) == 0  # unchanged, not resent
    assert len(published.records) == 1
    assert await dht.advertise([dht.record("dev", "gpu", live=2)]) == 1
    assert await dht.advertise([dht.record("dev", "gpu", live=2)]) == 1


async def test_republishing_sends_each_record_once_per_interval():
    dht, published = node(republish_interval=1.0)
    await dht.advertise([dht.record("dev", live=1)])
    await dht._republish()  # published by advertise less than half an interval ago: skipped
    assert len(published.records) == 1
    await asyncio.sleep(0.55)
    await dht.advertise([dht.record("dev", live=1), dht.record("dev", "gpu", live=1)])  # gpu is new
    assert len(published.records) == 2
    await dht._republish()  # dev is due, gpu was just published
    assert [r.executortype for r in published.records] == ["", "gpu", ""]
    first, again = published.records[0], published.records[2]
    assert again.issued_ms > first.issued_ms and again.signature != first.signature


async def test_withdraw_publishes_a_tombstone_and_a_later_advertise_starts_again():
    dht, published = node()
    await dht.advertise([dht.record("dev", "gpu", live=1, waiting=2, running=3)])
    assert await dht.withdraw("dev", "gpu")
    tomb = published.records[-1]
    assert tomb.withdrawn and (tomb.live, tomb.waiting, tomb.running) == (0, 0, 0)
    assert dht.advertised() == []
    await dht._republish()
    assert len(published.records) == 2  # a withdrawn key is not republished
    assert await dht.advertise([dht.record("dev", "gpu", live=1, waiting=2, running=3)]) == 1
    assert len(published.records) == 3 and not published.records[-1].withdrawn


@pytest.mark.parametrize("fields", [{"live": -1}, {"waiting": 2**31}, {"running": 2**31}])
async def test_counts_out_of_bounds_are_refused_when_signed(fields: dict[str, int]):
    dht, published = node()
    with pytest.raises(ValueError, match="Expected `int`"):
        await dht.advertise([dht.record("dev", "gpu", **fields)])
    assert published.records == []
    assert dht.advertised() == []  # nothing kept for republishing
