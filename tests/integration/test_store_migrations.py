"""Schema migrations (Alembic) on both stores: a fresh store is built to match the tables in code,
a store from a newer node is refused, and a store from before Alembic is brought up to date with
its rows kept."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from colonies.node.store import directory as facts
from colonies.node.store.database import Database
from colonies.node.store.migrations import SchemaTooNew, alembic_config, current_revision, head_revision, import_tables
from colonies.node.store.schema import metadata

BASELINE = "0001"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'colonies.db'}"
    return request.getfixturevalue("postgres").new_database()


def differences(conn: Connection) -> list[object]:
    import_tables()
    return compare_metadata(MigrationContext.configure(conn), metadata)


async def test_a_fresh_store_is_built_at_head_and_matches_the_tables_in_code(fresh_store: str) -> None:
    db = await Database.open(fresh_store)
    try:
        assert await db.read(current_revision) == head_revision()
        assert await db.read(differences) == []
    finally:
        await db.close()


async def test_opening_again_changes_nothing(fresh_store: str) -> None:
    for _ in range(2):
        db = await Database.open(fresh_store)
        await db.write(lambda conn: facts.set_fact(conn, "probe", "kept"))
        await db.close()
    db = await Database.open(fresh_store)
    try:
        assert await db.read(lambda conn: facts.get_fact(conn, "probe")) == "kept"
        assert await db.read(current_revision) == head_revision()
    finally:
        await db.close()


async def test_a_store_written_by_a_newer_node_is_refused(fresh_store: str) -> None:
    db = await Database.open(fresh_store)
    await db.write(lambda conn: conn.execute(text("UPDATE alembic_version SET version_num = '9999'")))
    await db.close()
    with pytest.raises(SchemaTooNew, match="9999"):
        await Database.open(fresh_store)


def build_at(url: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        import_tables()
        command.upgrade(alembic_config(conn), revision)
    engine.dispose()


def make_pre_alembic_version_2(url: str) -> None:
    """The store as a schema-version-2 node left it: no Alembic table, no IPFS columns, one file."""
    build_at(url, BASELINE)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("DROP INDEX cfs_files_by_cid"))
        conn.execute(text("DROP TABLE federation_inbound"))  # a table that version did not have
        conn.execute(text("ALTER TABLE cfs_files DROP COLUMN ipfs_providers"))
        conn.execute(text("ALTER TABLE cfs_files DROP COLUMN ipfs_cid"))
        conn.execute(text(
            "INSERT INTO cfs_files VALUES ('f1', 'c', '/l', 'n', 3, 1, 'sum', 'SHA256', 's3', '', 0, 0, '', '', '', 'obj', 'b', 0)"
        ))
        facts.set_fact(conn, "schema_version", "2")
    engine.dispose()


async def test_a_store_from_before_alembic_is_brought_to_head_and_keeps_its_rows(tmp_path: Path) -> None:
    from colonies.cfs import files as cfs

    url = f"sqlite:///{tmp_path / 'colonies.db'}"
    make_pre_alembic_version_2(url)

    db = await Database.open(url)
    try:
        [file] = await db.read(lambda conn: cfs.get_file(conn, "c", "f1", "", "", True))
        assert file.ref is not None and file.ref.ipfsobject is None and file.ref.s3object.object == "obj"
        assert await db.read(current_revision) == head_revision()
        assert await db.read(differences) == []
    finally:
        await db.close()


async def test_a_store_from_before_alembic_with_a_newer_legacy_version_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'colonies.db'}"
    await (await Database.open(url)).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        facts.set_fact(conn, "schema_version", "999")
    engine.dispose()
    with pytest.raises(SchemaTooNew, match="999"):
        await Database.open(url)


async def test_a_baseline_store_gains_the_claim_lanes_with_its_targeted_processes_filled_in(fresh_store: str) -> None:
    def at_baseline_with_processes(conn: Connection) -> None:
        import_tables()
        command.upgrade(alembic_config(conn), BASELINE)
        for pid, names in (("one", '["alice"]'), ("two", '["alice","bob"]'), ("open", "")):
            row = {**SAMPLE_ROW, "processid": pid, "executornames": names}
            conn.execute(text(f"INSERT INTO processes ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"), row)

    await run_on(fresh_store, at_baseline_with_processes)
    db = await Database.open(fresh_store)
    try:
        names = await db.read(lambda conn: dict(conn.execute(text("SELECT processid, targetname FROM processes")).all()))
        assert names == {"one": "alice", "two": "", "open": ""}
        assert await db.read(differences) == []
    finally:
        await db.close()


async def run_on(url: str, op: Callable[[Connection], None]) -> None:
    """`op` in one transaction on the store at `url`, outside any node."""
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.begin() as conn:
            op(conn)
        engine.dispose()
        return
    async_engine = create_async_engine(url)
    async with async_engine.begin() as conn:
        await conn.run_sync(op)
    await async_engine.dispose()


# a processes row as the baseline schema has it
SAMPLE_ROW = {
    "processid": "", "colonyname": "c", "executortype": "t", "funcname": "f", "label": "", "state": 0, "isassigned": False,
    "waitforparents": False, "prioritytime": 1, "submissiontime": 1, "starttime": 0, "endtime": 0, "waitdeadline": 0,
    "execdeadline": 0, "retries": 0, "maxretries": 0, "maxexectime": 0, "maxwaittime": 0, "initiatorid": "", "initiatorname": "",
    "assignedexecutorid": "", "executornames": "", "locationname": "", "cpu": 0, "mem": 0, "processgraphid": "", "parents": "[]",
    "children": "[]", "hasattributes": False, "spec": "{}", "input": "[]", "output": "[]", "errors": "[]",
}
