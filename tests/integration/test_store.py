"""The store on disk: what was acknowledged survives a restart, and versions are checked."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from colonies import crypto, dev
from colonies.node.store import directory as facts
from colonies.node.store.database import Database
from colonies.node.store.migrations import SchemaTooNew
from colonies.node.store.schema import SCHEMA_VERSION
from tests.support.nodes import start_node
from tests.support.rpc import call


def test_acknowledged_work_survives_a_node_restart(tmp_path):
    first = start_node(tmp_path)
    owner = crypto.generate_private_key()
    call(first.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(owner), "name": "kept"}}, dev.SERVER_PRVKEY)
    user = crypto.generate_private_key()
    call(first.url, {"msgtype": "addusermsg", "user": {"colonyname": "kept", "userid": crypto.id_from_private_key(user), "name": "u"}}, owner)
    spec = {"funcname": "f", "conditions": {"colonyname": "kept", "executortype": "t"}}
    ids = [call(first.url, {"msgtype": "submitfuncspecmsg", "spec": spec}, user)["processid"] for _ in range(20)]
    first.stop()

    second = start_node(tmp_path)
    try:
        waiting = call(second.url, {"msgtype": "getprocessesmsg", "colonyname": "kept", "count": 100, "state": 0}, user)
        assert sorted(p["processid"] for p in waiting) == sorted(ids)
    finally:
        second.stop()


async def test_a_store_from_a_newer_node_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'colonies.db'}"
    db = await Database.open(url)
    await db.write(lambda conn: facts.set_fact(conn, "schema_version", "999"))
    await db.close()
    with pytest.raises(SchemaTooNew):
        await Database.open(url)


async def test_opening_records_the_schema_version(tmp_path):
    url = f"sqlite:///{tmp_path / 'colonies.db'}"
    db = await Database.open(url)
    await db.close()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert facts.get_fact(conn, "schema_version") == str(SCHEMA_VERSION)
    engine.dispose()
