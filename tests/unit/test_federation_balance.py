"""Provider choice for a batch: proportional to live executors, counting what was just sent."""
from __future__ import annotations

import collections

from colonies.federation.balance import allocate
from colonies.federation.messages import Provider


def provider(node: str, live: int, waiting: int = 0, running: int = 0) -> Provider:
    return Provider(node_id=node, api_url=f"http://{node}", colonyname="c", executortype="t", live=live, waiting=waiting, running=running)


def spread(choices: list[Provider]) -> dict[str, int]:
    return dict(collections.Counter(p.node_id for p in choices))


def test_a_burst_is_split_evenly_between_equal_providers():
    assert spread(allocate(300, [provider("a", 4), provider("b", 4), provider("c", 4)], {}, {})) == {"a": 100, "b": 100, "c": 100}


def test_a_burst_follows_the_number_of_live_executors():
    assert spread(allocate(90, [provider("big", 8), provider("small", 1)], {}, {})) == {"big": 80, "small": 10}


def test_queued_running_and_just_sent_work_count_as_load():
    busy, idle = provider("busy", 2, waiting=6, running=2), provider("idle", 2)
    assert spread(allocate(8, [busy, idle], {}, {})) == {"idle": 8}
    assert spread(allocate(4, [provider("a", 1), provider("b", 1)], {"a": 4}, {})) == {"b": 4}


def test_ties_go_to_the_nearest_then_the_lowest_node_id():
    assert allocate(1, [provider("b", 1), provider("a", 1)], {}, {})[0].node_id == "a"
    assert allocate(1, [provider("a", 1), provider("b", 1)], {}, {"a": 0.05, "b": 0.001})[0].node_id == "b"


def test_providers_without_live_executors_get_nothing():
    assert allocate(5, [provider("gone", 0)], {}, {}) == []
    assert spread(allocate(3, [provider("gone", 0), provider("here", 1)], {}, {})) == {"here": 3}
