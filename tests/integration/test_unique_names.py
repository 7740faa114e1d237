"""Names that must be unique stay unique under concurrent requests: one request wins, the others
get a 400 (the name was taken before they looked) or a 409 (taken while they wrote), never a 500."""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

from colonies import crypto, dev, wire
from tests.support.rpc import call, post_raw


def _statuses(url: str, bodies: list[bytes]) -> list[int]:
    with ThreadPoolExecutor(len(bodies)) as pool:
        return [status for status, _ in pool.map(lambda body: post_raw(url, body), bodies)]


def test_concurrent_colonies_with_one_name_make_one_colony(node):
    name = f"race-{secrets.token_hex(4)}"
    bodies = []
    for _ in range(8):
        colonyid = crypto.id_from_private_key(crypto.generate_private_key())
        bodies.append(wire.build_request({"msgtype": "addcolonymsg", "colony": {"colonyid": colonyid, "name": name}}, dev.SERVER_PRVKEY))
    statuses = _statuses(node.url, bodies)
    try:
        assert statuses.count(200) == 1 and set(statuses) <= {200, 400, 409}, statuses
        names = [c["name"] for c in call(node.url, {"msgtype": "getcoloniesmsg"}, dev.SERVER_PRVKEY)]
        assert names.count(name) == 1
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": name}, dev.SERVER_PRVKEY)


def test_concurrent_users_with_one_name_make_one_user(colony):
    name = f"user-{secrets.token_hex(4)}"
    bodies = []
    for _ in range(8):
        userid = crypto.id_from_private_key(crypto.generate_private_key())
        user = {"colonyname": colony.name, "userid": userid, "name": name, "email": "", "phone": ""}
        bodies.append(wire.build_request({"msgtype": "addusermsg", "user": user}, colony.owner_prvkey))
    statuses = _statuses(colony.url, bodies)
    assert statuses.count(200) == 1 and set(statuses) <= {200, 400, 409}, statuses
    users = call(colony.url, {"msgtype": "getusersmsg", "colonyname": colony.name}, colony.owner_prvkey)
    assert [u["name"] for u in users].count(name) == 1
