"""Strict mode's parts without a node: the freshness fields and the nonce table with its expiry."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from colonies.node.replay import Freshness, freshness
from colonies.node.store import nonces
from colonies.wire import RPCError


@pytest.fixture
def conn():
    engine = create_engine("sqlite://")
    nonces.request_nonces.create(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def test_a_nonce_is_taken_once(conn):
    assert nonces.record(conn, "a" * 32, expires=100)
    assert not nonces.record(conn, "a" * 32, expires=200)
    assert nonces.record(conn, "b" * 32, expires=100)


def test_pruning_forgets_only_nonces_whose_payload_left_the_window(conn):
    nonces.record(conn, "a" * 32, expires=100)
    nonces.record(conn, "b" * 32, expires=300)
    assert nonces.prune(conn, now=200) == 1
    assert conn.execute(select(func.count()).select_from(nonces.request_nonces)).scalar() == 1
    assert not nonces.record(conn, "b" * 32, expires=400)  # still inside: still a replay


def test_freshness_reads_the_fields_beside_the_message_and_defaults_to_none():
    assert freshness(b'{"msgtype": "getcolonymsg", "nonce": "ab", "timestamp": 5}') == Freshness("ab", 5)
    assert freshness(b'{"msgtype": "getcolonymsg"}') == Freshness()
    with pytest.raises(RPCError) as err:
        freshness(b'{"msgtype": "getcolonymsg", "timestamp": "soon"}')
    assert err.value.status == 400
