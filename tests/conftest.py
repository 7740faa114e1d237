"""Shared fixtures: one real node per session on a free loopback port, a fresh colony per test."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Iterator

import pytest

from colonies import crypto, dev
from tests.support.env import scrub
from tests.support.nodes import RunningNode, start_node
from tests.support.rpc import call
from tests.support.s3 import moto_server, s3_server  # noqa: F401  (one real S3 server per session)
from tests.support.postgres import PostgresCluster, postgres  # noqa: F401  (a throwaway PostgreSQL cluster per session)
from tests.support.ipfs import _ipfs_module_nodes, ipfs_loop, ipfs_node, ipfs_nodes, ipfs_peer  # noqa: F401  (embedded IPFS nodes)


# The stores the node-backed suites run against: both by default (CI); TEST_STORES=sqlite narrows
# a local run.
STORES = [s for s in os.environ.get("TEST_STORES", "sqlite,postgresql").split(",") if s]


def pytest_configure(config: pytest.Config) -> None:
    """Before anything is collected: the shell's COLONIES_* / AWS_* exports (e.g. pasted from
    `colonies dev`) reach no test, no CliRunner and no subprocess node (tests/support/env.py)."""
    scrub(os.environ)
    config.addinivalue_line("markers", "one_store: runs against the first store only (the code under test does not reach the store)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A `one_store` module's tests run once, on the first of STORES: the CLI and the examples
    talk to a node over HTTP, whichever store it has."""
    drop = [
        item
        for item in items
        if item.get_closest_marker("one_store") is not None
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("store_url", STORES[0]) != STORES[0]  # type: ignore[attr-defined]
    ]
    if drop:
        config.hook.pytest_deselected(items=drop)
        kept = set(map(id, drop))
        items[:] = [item for item in items if id(item) not in kept]


@pytest.fixture(scope="session", params=STORES)
def store_url(request: pytest.FixtureRequest) -> str:
    """"" (the node's default: SQLite in its data dir) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return ""
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory, store_url: str) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("node"), store_url=store_url)
    yield running
    running.stop()


@dataclass
class Member:
    name: str
    prvkey: str
    id: str


@dataclass
class ColonyFixture:
    url: str
    name: str
    owner_prvkey: str
    colonyid: str

    def add_executor(self, executortype: str = "test", name: str | None = None, approve: bool = True, **fields: object) -> Member:
        prvkey = crypto.generate_private_key()
        executor_id = crypto.id_from_private_key(prvkey)
        name = name or f"executor-{secrets.token_hex(4)}"
        executor = {"executorid": executor_id, "executortype": executortype, "executorname": name, "colonyname": self.name, **fields}
        call(self.url, {"msgtype": "addexecutormsg", "executor": executor}, self.owner_prvkey)
        if approve:
            call(self.url, {"msgtype": "approveexecutormsg", "colonyname": self.name, "executorname": name}, self.owner_prvkey)
        return Member(name, prvkey, executor_id)

    def add_user(self, name: str | None = None) -> Member:
        prvkey = crypto.generate_private_key()
        user_id = crypto.id_from_private_key(prvkey)
        name = name or f"user-{secrets.token_hex(4)}"
        user = {"colonyname": self.name, "userid": user_id, "name": name, "email": "", "phone": ""}
        call(self.url, {"msgtype": "addusermsg", "user": user}, self.owner_prvkey)
        return Member(name, prvkey, user_id)


@pytest.fixture
def colony(node: RunningNode) -> Iterator[ColonyFixture]:
    owner = crypto.generate_private_key()
    colonyid = crypto.id_from_private_key(owner)
    name = f"colony-{secrets.token_hex(6)}"
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": colonyid, "name": name}}, dev.SERVER_PRVKEY)
    yield ColonyFixture(node.url, name, owner, colonyid)
    call(node.url, {"msgtype": "removecolonymsg", "colonyname": name}, dev.SERVER_PRVKEY)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI (`CI_NO_SKIPS=1`, set by .ci/run after it installed every tool) a skipped test is a
    failure: whatever it found missing should have been there."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI_NO_SKIPS") == "1" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be missing: {reason}"
