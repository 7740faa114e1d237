"""`colonies blueprint` against a real node, with the dev exports set: definitions, blueprints,
set/update, reconcile, history and the reconcile process's log."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import dev_exports, ok, refused, run
from tests.support.rpc import call

pytestmark = pytest.mark.one_store  # the CLI reaches the node over HTTP, whichever store it has

RECONCILER = "db-reconciler"


def write(tmp_path: Path, name: str, document: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def definition(handler: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"names": {"kind": "Database"}, "schema": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}
    if handler:
        spec["handler"] = {"executorType": RECONCILER, "functionName": "reconcile"}
    return {"kind": "BlueprintDefinition", "metadata": {"name": "databases"}, "spec": spec}


def database(name: str = "orders", replicas: int = 1) -> dict[str, Any]:
    return {"kind": "Database", "metadata": {"name": name}, "spec": {"replicas": replicas}}


def test_definition_add_ls_get_remove(node, colony, tmp_path) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    assert "definition databases added (kind Database)" in ok(env, "blueprint", "definition", "add", "--spec", write(tmp_path, "d.json", definition())).stdout
    assert RECONCILER in ok(env, "blueprint", "definition", "ls").stdout
    shown = json.loads(ok(env, "blueprint", "definition", "get", "--name", "databases", "--json").stdout)
    assert shown["spec"]["handler"]["executorType"] == RECONCILER and shown["metadata"]["colonyname"] == colony.name
    assert "removed" in ok(env, "blueprint", "definition", "remove", "--name", "databases").stdout
    member_as_owner = env | {"COLONIES_COLONY_PRVKEY": env["COLONIES_PRVKEY"]}
    assert refused(member_as_owner, "blueprint", "definition", "add", "--spec", write(tmp_path, "d.json", definition())).stderr.startswith("error: 403")


def test_blueprint_lifecycle_with_a_reconciler(node, colony, tmp_path) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    reconciler = colony.add_executor(executortype=RECONCILER)
    ok(env, "blueprint", "definition", "add", "--spec", write(tmp_path, "d.json", definition()))
    added = json.loads(ok(env, "blueprint", "add", "--spec", write(tmp_path, "b.json", database()), "--json").stdout)
    assert added["metadata"]["generation"] == 1
    processid = added["metadata"]["lastReconciliationProcess"]
    assigned = call(colony.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 5}, reconciler.prvkey)
    assert assigned["processid"] == processid
    call(colony.url, {"msgtype": "addlogmsg", "processid": processid, "message": "scaled to 1\n"}, reconciler.prvkey)
    assert "scaled to 1" in ok(env, "blueprint", "log", "--name", "orders").stdout

    changed = json.loads(ok(env, "blueprint", "set", "--name", "orders", "--key", "spec.replicas", "--value", "3", "--json").stdout)
    assert changed["spec"] == {"replicas": 3} and changed["metadata"]["generation"] == 2
    updated = json.loads(ok(env, "blueprint", "update", "--spec", write(tmp_path, "b.json", database(replicas=3)), "--force", "--json").stdout)
    assert updated["metadata"]["generation"] == 3
    assert "blueprint validation failed" in refused(env, "blueprint", "set", "--name", "orders", "--key", "replicas", "--value", "many").stderr
    process = json.loads(ok(env, "blueprint", "reconcile", "--name", "orders", "--json").stdout)
    assert process["spec"]["kwargs"] == {"kind": "Database", "blueprintName": "orders"}
    changes = json.loads(ok(env, "blueprint", "history", "--name", "orders", "--json").stdout)
    assert [h["changetype"] for h in changes] == ["update", "update", "create"]
    assert "Database" in ok(env, "blueprint", "ls", "--kind", "Database").stdout
    assert "generation" in ok(env, "blueprint", "get", "--name", "orders").stdout
    assert "removed" in ok(env, "blueprint", "remove", "--name", "orders").stdout
    assert ok(env, "blueprint", "ls", "--json").stdout.strip() == "[]"


def test_without_a_handler_nothing_reconciles(node, colony, tmp_path) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    ok(env, "blueprint", "definition", "add", "--spec", write(tmp_path, "d.json", definition(handler=False)))
    assert "none (no reconcile)" in ok(env, "blueprint", "definition", "get", "--name", "databases").stdout
    ok(env, "blueprint", "add", "--spec", write(tmp_path, "b.json", database()))
    assert "not been reconciled" in refused(env, "blueprint", "log", "--name", "orders").stderr
    assert "no spec.handler.executorType" in refused(env, "blueprint", "reconcile", "--name", "orders").stderr


def test_blueprint_as_a_subprocess(node, colony, tmp_path) -> None:
    env = dev_exports(node.url, colony, colony.add_user().prvkey)
    assert run(env, "blueprint", "definition", "add", "--spec", write(tmp_path, "d.json", definition(handler=False))).returncode == 0
    added = run(env, "blueprint", "add", "--spec", write(tmp_path, "b.json", database()), "--json")
    assert added.returncode == 0, added.stderr
    listed = run(env, "blueprint", "ls", "--json")
    assert [b["metadata"]["name"] for b in json.loads(listed.stdout)] == ["orders"]
