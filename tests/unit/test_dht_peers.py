"""Peer health, address rules and DHTNode settings (no sockets)."""
from __future__ import annotations

import random
import time

import pytest
from kademlia.node import Node

from colonies import crypto
from colonies.dht.addresses import address_filter, host_port, parse_interface
from colonies.dht.health import HealthBook
from colonies.dht.node import DHTNode, kad_id_for
from colonies.dht.protocol import FederationProtocol
from colonies.dht.routing import HealthAwareRoutingTable
from colonies.dht.storage import MergingStorage


def test_a_missed_reply_makes_a_suspect_that_is_probed_and_only_repeated_misses_evict():
    book = HealthBook(max_failures=3, backoff=0.05, quarantine=0.3)
    peer = b"\x01" * 20
    assert not book.missed(peer)
    assert book.suspended(peer) and book.get(peer).failures == 1
    assert not book.probe_due(peer)  # back-off first
    time.sleep(0.06)
    assert book.probe_due(peer) and book.suspended(peer)  # suspect until it answers
    assert not book.missed(peer)
    assert book.get(peer).failures == 2 and not book.probe_due(peer)  # back-off doubled
    book.alive(peer)  # one answer clears it
    assert book.get(peer).failures == 0 and not book.suspended(peer)
    assert book.get(peer).last_seen is not None
    assert [book.missed(peer) for _ in range(3)] == [False, False, True]
    assert book.suspended(peer) and not book.probe_due(peer)  # evicted: quarantined, not probed
    time.sleep(0.31)
    assert not book.suspended(peer)  # forgiven after the quarantine


def test_routing_table_skips_suspended_peers_but_keeps_them():
    book = HealthBook(max_failures=3, backoff=60)
    me = Node(b"\x00" * 20)
    table = HealthAwareRoutingTable(None, 20, me, book.suspended)
    peers = [Node(bytes([i]) * 20, "127.0.0.1", 4000 + i) for i in range(1, 6)]
    for peer in peers:
        table.add_contact(peer)
    book.missed(peers[0].id)
    found = table.find_neighbors(Node(b"\x00" * 19 + b"\x01"))
    assert peers[0] not in found and len(found) == 4
    assert found == sorted(found, key=lambda n: n.long_id)  # closest first (xor to ~0)
    assert len(table.contacts()) == 5


def test_interfaces_must_be_ip_literals_and_wildcards_need_a_flag():
    assert str(parse_interface("127.0.0.1", allow_wildcard=False)) == "127.0.0.1"
    for wildcard in ("0.0.0.0", "::"):
        with pytest.raises(ValueError, match="all interfaces"):
            parse_interface(wildcard, allow_wildcard=False)
        assert parse_interface(wildcard, allow_wildcard=True).is_unspecified
    with pytest.raises(ValueError, match="IP address"):
        parse_interface("localhost", allow_wildcard=False)


def test_address_filter_and_formatting():
    loopback = address_filter(["127.0.0.0/8", "::1/128"])
    assert loopback("127.0.0.1") and loopback("127.4.5.6") and loopback("::1")
    assert not loopback("10.0.0.1") and not loopback("8.8.8.8") and not loopback("not-an-ip")
    assert host_port("127.0.0.1", 5) == "127.0.0.1:5"
    assert host_port("::1", 5) == "[::1]:5"


def test_node_identity_and_settings():
    prvkey = crypto.generate_private_key()
    node = DHTNode(prvkey, lambda _: True, republish_interval=10)
    assert node.node_id == crypto.id_from_private_key(prvkey)
    assert kad_id_for(node.node_id) == bytes.fromhex(node.node_id)[:20]
    assert node.ttl == 30
    with pytest.raises(ValueError, match="ksize"):
        DHTNode(prvkey, lambda _: True, ksize=8)
    with pytest.raises(ValueError, match="ttl"):
        DHTNode(prvkey, lambda _: True, republish_interval=10, ttl=5)


async def test_start_refuses_wildcards_and_foreign_bootstrap_before_binding():
    node = DHTNode(crypto.generate_private_key(), lambda _: True)
    with pytest.raises(ValueError, match="all interfaces"):
        await node.start(0, "0.0.0.0")
    with pytest.raises(ValueError, match="outside the allowed networks"):
        await node.start(0, "127.0.0.1", [("192.0.2.1", 4000)])
    with pytest.raises(RuntimeError, match="not started"):
        await node.lookup("dev")


def test_the_newcomer_hand_over_decision_matches_the_neighbour_lists():
    # welcome_if_new decides on ints over the contacts listed once; the rule is the one stated
    # with find_neighbors: this node is closer to the key than its closest neighbour, and the
    # newcomer is among the k closest (always, with fewer than k neighbours).
    rng = random.Random(5)
    outcomes: set[tuple[int, bool]] = set()
    for contacts in (0, 5, 19, 20, 60):
        me = Node(rng.randbytes(20), "127.0.0.1", 1)
        book = HealthBook(max_failures=3, backoff=60)
        protocol = FederationProtocol(
            me, MergingStorage(lambda _: True), 20, rpc_timeout=1, health=book, address_allowed=lambda _: True, refresh_interval=900
        )
        for i in range(contacts):
            protocol.router.add_contact(Node(rng.randbytes(20), "127.0.0.1", 2000 + i))
        listed = protocol.router.contacts()
        for peer in listed[::7]:
            book.missed(peer.id)
        ids = [c.long_id for c in listed if not book.suspended(c.id)]
        for _ in range(300):
            key, newcomer = Node(rng.randbytes(20)), Node(rng.randbytes(20), "127.0.0.1", 9)
            neighbors = protocol.router.find_neighbors(key)
            expected = not neighbors or (
                (len(neighbors) < 20 or newcomer.distance_to(key) < neighbors[-1].distance_to(key))
                and me.distance_to(key) < neighbors[0].distance_to(key)
            )
            assert protocol._hands_over(key.long_id, ids, newcomer.long_id) == expected
            outcomes.add((contacts, expected))
    assert {(n, hand) for n in (5, 19, 20, 60) for hand in (True, False)} <= outcomes  # both cases seen
