"""Helpers shared by the cron and generator tests: a node with fast checkers, a second colony, workflows."""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import msgspec

from colonies import crypto, dev
from colonies.client import func_spec
from colonies.models import WorkflowSpec
from tests.conftest import ColonyFixture
from tests.support.nodes import RunningNode, start_node
from tests.support.rpc import call


@contextmanager
def fast_trigger_node(data_dir: Path) -> Iterator[RunningNode]:
    """A node whose cron and generator checkers run every 0.2 s."""
    running = start_node(data_dir, cron_checker_period=0.2, generator_checker_period=0.2)
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def extra_colony(node: RunningNode) -> Iterator[ColonyFixture]:
    """A second colony with its own owner, removed afterwards."""
    owner = crypto.generate_private_key()
    colonyid = crypto.id_from_private_key(owner)
    name = f"other-{secrets.token_hex(6)}"
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": colonyid, "name": name}}, dev.SERVER_PRVKEY)
    try:
        yield ColonyFixture(node.url, name, owner, colonyid)
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": name}, dev.SERVER_PRVKEY)


def workflow(colonyname: str, *nodes: tuple[str, list[str]], kwargs: dict[str, Any] | None = None) -> WorkflowSpec:
    """A workflow of `(nodename, dependencies)`; one node "task" when none are given."""
    specs = []
    for name, dependencies in nodes or (("task", []),):
        spec = func_spec(name, colonyname, "test", args=["spec-arg"], kwargs=kwargs)
        specs.append(msgspec.structs.replace(spec, conditions=msgspec.structs.replace(spec.conditions, dependencies=dependencies)))
    return WorkflowSpec(colonyname=colonyname, functionspecs=specs)
