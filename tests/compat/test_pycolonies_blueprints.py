"""Blueprints through pycolonies 1.0.25: all twelve blueprint methods against the node
(spec §2.13, §4.13)."""
from __future__ import annotations

from typing import Any

import pytest
from crypto import Crypto
from pycolonies import ColoniesConnectionError

RECONCILER = "db-reconciler"


def definition(colonyname: str) -> dict[str, Any]:
    return {
        "kind": "BlueprintDefinition",
        "metadata": {"name": "databases", "colonyname": colonyname},
        "spec": {
            "group": "example.io",
            "version": "v1",
            "names": {"kind": "Database", "listKind": "DatabaseList", "singular": "database", "plural": "databases"},
            "scope": "Namespaced",
            "schema": {"type": "object", "properties": {"replicas": {"type": "integer"}}, "required": ["replicas"]},
            "handler": {"executorType": RECONCILER, "functionName": "reconcile"},
        },
    }


def database(colonyname: str, name: str, replicas: Any = 1, location: str = "") -> dict[str, Any]:
    metadata = {"name": name, "colonyname": colonyname}
    if location:
        metadata["locationname"] = location
    return {"kind": "Database", "metadata": metadata, "spec": {"replicas": replicas}}


@pytest.fixture
def reconciler(colony):
    return colony.add_executor(executortype=RECONCILER)


def test_definitions_round_trip(client, colony, executor):
    added = client.add_blueprint_definition(definition(colony.name), colony.owner_prvkey)
    assert added["spec"]["names"]["kind"] == "Database"
    assert client.get_blueprint_definition(colony.name, "databases", executor.prvkey) == added
    assert client.get_blueprint_definitions(colony.name, colony.owner_prvkey) == [added]
    assert client.remove_blueprint_definition(colony.name, "databases", colony.owner_prvkey) == {}
    assert client.get_blueprint_definitions(colony.name, executor.prvkey) == []


def test_add_blueprint_queues_a_reconcile_process_the_reconciler_gets(client, colony, executor, reconciler):
    client.add_blueprint_definition(definition(colony.name), colony.owner_prvkey)
    added = client.add_blueprint(database(colony.name, "orders"), executor.prvkey)
    assert added["metadata"]["generation"] == 1
    process = client.assign(colony.name, 5, reconciler.prvkey)
    assert process.spec.funcname == "reconcile"
    assert process.spec.kwargs == {"kind": "Database", "blueprintName": "orders"}
    assert process.processid == added["metadata"]["lastReconciliationProcess"]
    # the reconciler reads the blueprint and reports what it sees
    assert client.get_blueprint(colony.name, "orders", reconciler.prvkey)["spec"] == {"replicas": 1}
    client.update_blueprint_status(colony.name, "orders", {"ready": 1}, reconciler.prvkey)
    client.close(process.processid, [], reconciler.prvkey)
    assert client.get_blueprint(colony.name, "orders", executor.prvkey)["status"] == {"ready": 1}


def test_schema_violation_is_refused(client, colony, executor):
    client.add_blueprint_definition(definition(colony.name), colony.owner_prvkey)
    with pytest.raises(ColoniesConnectionError, match="replicas"):
        client.add_blueprint(database(colony.name, "orders", replicas="many"), executor.prvkey)


def test_update_history_reconcile_and_remove(client, colony, executor, reconciler):
    client.add_blueprint_definition(definition(colony.name), colony.owner_prvkey)
    added = client.add_blueprint(database(colony.name, "orders"), executor.prvkey)
    updated = client.update_blueprint(database(colony.name, "orders", replicas=3), executor.prvkey)
    assert updated["metadata"]["generation"] == 2
    forced = client.update_blueprint(updated, executor.prvkey, force_generation=True)
    assert forced["metadata"]["generation"] == 3
    entries = client.get_blueprint_history(added["blueprintid"], executor.prvkey)
    assert [h["changetype"] for h in entries] == ["update", "update", "create"]
    assert len(client.get_blueprint_history(added["blueprintid"], executor.prvkey, limit=1)) == 1

    process = client.reconcile_blueprint(colony.name, "orders", executor.prvkey, force=True)
    assert process["spec"]["kwargs"] == {"kind": "Database", "blueprintName": "orders", "force": True}

    assert [b["metadata"]["name"] for b in client.get_blueprints(colony.name, executor.prvkey, kind="Database")] == ["orders"]
    assert client.remove_blueprint(colony.name, "orders", executor.prvkey) == {}
    assert client.get_blueprints(colony.name, executor.prvkey) == []
    funcnames = [p["spec"]["funcname"] for p in client.list_processes(colony.name, 100, 0, reconciler.prvkey)]
    assert funcnames.count("cleanup") == 1


def test_blueprints_filtered_by_location(client, colony, executor):
    client.add_blueprint_definition(definition(colony.name), colony.owner_prvkey)
    client.add_blueprint(database(colony.name, "a", location="north"), executor.prvkey)
    client.add_blueprint(database(colony.name, "b", location="south"), executor.prvkey)
    found = client.get_blueprints(colony.name, executor.prvkey, kind="Database", location="south")
    assert [b["metadata"]["name"] for b in found] == ["b"]


def test_non_owner_cannot_add_definitions_and_strangers_cannot_read(client, colony, executor):
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.add_blueprint_definition(definition(colony.name), executor.prvkey)
    client.add_blueprint_definition(definition(colony.name), colony.owner_prvkey)
    stranger = Crypto().prvkey()
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.get_blueprint_definitions(colony.name, stranger)
    with pytest.raises(ColoniesConnectionError, match="Access denied"):
        client.add_blueprint(database(colony.name, "orders"), stranger)


def test_the_blueprint_guides_first_definition_kind_metadata_and_names_only_is_accepted(client, colony, executor):
    """pycolonies' docs/blueprints.md starts with a definition without a handler; upstream accepts
    it. Its blueprints are stored and versioned, and no reconcile process is started."""
    guide = {"kind": "BlueprintDefinition", "metadata": {"name": "homedevices", "colonyname": colony.name}, "spec": {"names": {"kind": "HomeDevice"}}}
    added = client.add_blueprint_definition(guide, colony.owner_prvkey)
    assert added["spec"]["names"]["kind"] == "HomeDevice"
    assert client.get_blueprint_definition(colony.name, "homedevices", executor.prvkey) == added
    lamp = {"kind": "HomeDevice", "metadata": {"name": "lamp", "colonyname": colony.name}, "spec": {"power": "on"}}
    assert client.add_blueprint(lamp, executor.prvkey)["metadata"]["generation"] == 1
    assert client.get_blueprint(colony.name, "lamp", executor.prvkey)["spec"] == {"power": "on"}
    assert client.list_processes(colony.name, 100, 0, executor.prvkey) == []
