"""Blueprints (spec §2.13, §4.13) against a real node through the raw wire client: definitions,
instances, generations and history, reconcile/cleanup processes, the reconcile cron, roles."""
from __future__ import annotations

import secrets
from typing import Any

import pytest

from colonies import crypto
from tests.support.rpc import RPCFailure, call

HANDLER_TYPE = "db-reconciler"
SCHEMA = {
    "type": "object",
    "properties": {
        "image": {"type": "string"},
        "replicas": {"type": "integer", "minimum": 1},
        "mode": {"enum": ["primary", "replica"]},
    },
    "required": ["image"],
}


def definition(colony, kind: str = "Database", *, schema: dict[str, Any] | None = SCHEMA, **handler: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "group": "example.io",
        "version": "v1",
        "names": {"kind": kind, "listKind": f"{kind}List", "singular": kind.lower(), "plural": f"{kind.lower()}s"},
        "scope": "Namespaced",
        "handler": {"executorType": HANDLER_TYPE, "functionName": "reconcile_db", **handler},
    }
    if schema is not None:
        spec["schema"] = schema
    return {"kind": "BlueprintDefinition", "metadata": {"name": f"{kind.lower()}s", "colonyname": colony.name}, "spec": spec}


def blueprint(colony, name: str, kind: str = "Database", *, location: str = "", **spec: Any) -> dict[str, Any]:
    metadata = {"name": name, "colonyname": colony.name}
    if location:
        metadata["locationname"] = location
    return {"kind": kind, "metadata": metadata, "spec": spec or {"image": "postgres:16", "replicas": 1}}


def add_definition(colony, **kwargs: Any) -> dict[str, Any]:
    return call(colony.url, {"msgtype": "addblueprintdefinitionmsg", "blueprintdefinition": definition(colony, **kwargs)}, colony.owner_prvkey)


def add(colony, key: str, bp: dict[str, Any]) -> dict[str, Any]:
    return call(colony.url, {"msgtype": "addblueprintmsg", "blueprint": bp}, key)


def get(colony, key: str, name: str) -> dict[str, Any]:
    return call(colony.url, {"msgtype": "getblueprintmsg", "namespace": colony.name, "name": name}, key)


def update(colony, key: str, bp: dict[str, Any], force: bool = False) -> dict[str, Any]:
    return call(colony.url, {"msgtype": "updateblueprintmsg", "blueprint": bp, "forcegeneration": force}, key)


def remove(colony, key: str, name: str) -> dict[str, Any]:
    return call(colony.url, {"msgtype": "removeblueprintmsg", "namespace": colony.name, "name": name}, key)


def history(colony, key: str, blueprintid: str, limit: int = 0) -> list[dict[str, Any]]:
    return call(colony.url, {"msgtype": "getblueprinthistorymsg", "blueprintid": blueprintid, "limit": limit}, key)


def waiting(colony, key: str, executortype: str = HANDLER_TYPE) -> list[dict[str, Any]]:
    """Waiting processes of the handler type, oldest first."""
    msg = {"msgtype": "getprocessesmsg", "colonyname": colony.name, "count": 100, "state": 0, "executortype": executortype}
    return sorted(call(colony.url, msg, key), key=lambda p: p["submissiontime"])


def crons(colony, key: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in call(colony.url, {"msgtype": "getcronsmsg", "colonyname": colony.name, "count": 100}, key)}


def refused(status: int, fn, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(RPCFailure) as failure:
        fn(*args, **kwargs)
    assert failure.value.status == status, failure.value.message
    return failure.value.message


@pytest.fixture
def member(colony):
    return colony.add_user()


# --- definition → instance → reconcile ----------------------------------------------------------
def test_definition_then_blueprint_submits_a_waiting_reconcile_process_for_the_handler(colony, member):
    add_definition(colony)
    added = add(colony, member.prvkey, blueprint(colony, "orders-db"))
    assert len(added["blueprintid"]) == 64
    assert added["metadata"]["generation"] == 1
    assert added["metadata"]["createdAt"] == added["metadata"]["updatedAt"] != "0001-01-01T00:00:00Z"
    [process] = waiting(colony, member.prvkey)
    assert process["state"] == 0
    assert process["spec"]["funcname"] == "reconcile_db"
    assert process["spec"]["conditions"]["executortype"] == HANDLER_TYPE
    assert process["spec"]["conditions"]["colonyname"] == colony.name
    assert process["spec"]["kwargs"] == {"kind": "Database", "blueprintName": "orders-db"}
    assert process["initiatorid"] == member.id and process["initiatorname"] == member.name
    assert added["metadata"]["lastReconciliationProcess"] == process["processid"]
    assert get(colony, member.prvkey, "orders-db") == added


def test_the_handler_executor_is_assigned_the_reconcile_process(colony, member):
    add_definition(colony)
    reconciler = colony.add_executor(executortype=HANDLER_TYPE)
    add(colony, member.prvkey, blueprint(colony, "orders-db"))
    assigned = call(colony.url, {"msgtype": "assignprocessmsg", "colonyname": colony.name, "timeout": 1}, reconciler.prvkey)
    assert assigned["spec"]["kwargs"]["blueprintName"] == "orders-db"


def test_first_blueprint_of_a_kind_creates_one_reconcile_cron(colony, member):
    add_definition(colony)
    add(colony, member.prvkey, blueprint(colony, "a"))
    add(colony, member.prvkey, blueprint(colony, "b"))
    found = crons(colony, member.prvkey)
    assert list(found) == ["reconcile-Database"]
    cron = found["reconcile-Database"]
    assert cron["interval"] == 60 and cron["waitforprevprocessgraph"] is True
    workflow = cron_workflow(cron)
    [step] = workflow["functionspecs"]
    assert workflow["colonyname"] == colony.name
    assert step["funcname"] == "reconcile_db" and step["kwargs"] == {"kind": "Database"}
    assert step["conditions"]["executortype"] == HANDLER_TYPE


def cron_workflow(cron: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(cron["workflowspec"])


def test_reconcile_cron_per_location_uses_the_definition_interval_and_targets_the_location(colony, member):
    add_definition(colony, reconcileInterval=15)
    add(colony, member.prvkey, blueprint(colony, "a", location="edge"))
    cron = crons(colony, member.prvkey)["reconcile-Database-edge"]
    assert cron["interval"] == 15
    assert cron_workflow(cron)["functionspecs"][0]["conditions"]["locationname"] == "edge"
    [process] = waiting(colony, member.prvkey)
    assert process["spec"]["conditions"]["locationname"] == "edge"


def test_running_the_reconcile_cron_submits_a_kind_wide_reconcile(colony, member):
    add_definition(colony)
    add(colony, member.prvkey, blueprint(colony, "a"))
    cron = crons(colony, member.prvkey)["reconcile-Database"]
    call(colony.url, {"msgtype": "runcronmsg", "cronid": cron["cronid"]}, member.prvkey)
    kwargs = [p["spec"]["kwargs"] for p in waiting(colony, member.prvkey)]
    assert kwargs == [{"kind": "Database", "blueprintName": "a"}, {"kind": "Database"}]


def test_a_missing_location_is_created_for_the_blueprint(colony, member):
    add_definition(colony)
    add(colony, member.prvkey, blueprint(colony, "a", location="lab"))
    location = call(colony.url, {"msgtype": "getlocationmsg", "colonyname": colony.name, "name": "lab"}, member.prvkey)
    assert location["name"] == "lab" and "a" in location["description"]


# --- validation ---------------------------------------------------------------------------------
def test_spec_violating_the_schema_is_a_400_naming_the_field(colony, member):
    add_definition(colony)
    message = refused(400, add, colony, member.prvkey, blueprint(colony, "a", image="pg", replicas="three"))
    assert "blueprint validation failed" in message and "spec.replicas" in message and "integer" in message
    assert "image" in refused(400, add, colony, member.prvkey, blueprint(colony, "b", replicas=2))
    assert "mode" in refused(400, add, colony, member.prvkey, blueprint(colony, "c", image="pg", mode="leader"))
    assert waiting(colony, member.prvkey) == []
    assert crons(colony, member.prvkey) == {}


def test_a_definition_without_schema_accepts_any_spec(colony, member):
    add_definition(colony, schema=None)
    assert add(colony, member.prvkey, blueprint(colony, "a", anything=[1, {"x": None}]))["spec"] == {"anything": [1, {"x": None}]}


def test_blueprint_of_a_kind_without_definition_is_a_400(colony, member):
    assert "Queue" in refused(400, add, colony, member.prvkey, blueprint(colony, "a", kind="Queue"))


def test_blueprint_without_kind_or_name_is_a_400(colony, member):
    add_definition(colony)
    bp = blueprint(colony, "a")
    refused(400, add, colony, member.prvkey, {**bp, "kind": ""})
    refused(400, add, colony, member.prvkey, {**bp, "metadata": {"colonyname": colony.name}})


def test_duplicate_blueprint_name_in_a_colony_is_a_409(colony, member):
    add_definition(colony)
    add(colony, member.prvkey, blueprint(colony, "a"))
    refused(409, add, colony, member.prvkey, blueprint(colony, "a"))
    assert len(waiting(colony, member.prvkey)) == 1


def test_definition_with_an_invalid_schema_is_a_400(colony):
    message = refused(400, add_definition, colony, schema={"type": "nonsense"})
    assert "invalid schema" in message


def test_definition_needs_a_kind_but_not_a_handler(colony):
    refused(400, add_definition, colony, kind="")
    assert add_definition(colony, kind="NoFunction", functionName="")["spec"]["names"]["kind"] == "NoFunction"
    assert add_definition(colony, kind="NoHandler", executorType="", functionName="")["spec"]["names"]["kind"] == "NoHandler"


def test_a_definition_with_kind_metadata_and_names_only_stores_blueprints_and_starts_no_reconcile(colony, member):
    """pycolonies' blueprint guide starts with such a definition; upstream accepts it."""
    minimal = {"kind": "BlueprintDefinition", "metadata": {"name": "notes", "colonyname": colony.name}, "spec": {"names": {"kind": "Note"}}}
    call(colony.url, {"msgtype": "addblueprintdefinitionmsg", "blueprintdefinition": minimal}, colony.owner_prvkey)
    note = {"kind": "Note", "metadata": {"name": "n1", "colonyname": colony.name}, "spec": {"text": "hello"}}
    added = add(colony, member.prvkey, note)
    assert added["metadata"]["generation"] == 1 and "lastReconciliationProcess" not in added["metadata"]
    updated = update(colony, member.prvkey, {**note, "spec": {"text": "bye"}})
    assert updated["metadata"]["generation"] == 2
    assert [h["changetype"] for h in history(colony, member.prvkey, added["blueprintid"])] == ["update", "create"]
    message = refused(400, call, colony.url, {"msgtype": "reconcileblueprintmsg", "namespace": colony.name, "name": "n1", "force": False}, member.prvkey)
    assert "no spec.handler.executorType" in message
    remove(colony, member.prvkey, "n1")
    assert waiting(colony, member.prvkey, executortype="") == []
    assert crons(colony, member.prvkey) == {}


def test_duplicate_definition_name_or_kind_is_a_409(colony):
    add_definition(colony)
    refused(409, add_definition, colony)
    other = definition(colony)
    other["metadata"]["name"] = "other-name"
    refused(409, call, colony.url, {"msgtype": "addblueprintdefinitionmsg", "blueprintdefinition": other}, colony.owner_prvkey)


def test_definitions_are_read_by_members_and_the_owner(colony, member):
    added = add_definition(colony)
    assert len(added["blueprintdefinitionid"]) == 64
    assert added["spec"]["handler"] == {"executorType": HANDLER_TYPE, "functionName": "reconcile_db"}
    assert added["spec"]["schema"] == SCHEMA
    for key in (member.prvkey, colony.owner_prvkey):
        msg = {"msgtype": "getblueprintdefinitionmsg", "colonyname": colony.name, "name": "databases"}
        assert call(colony.url, msg, key) == added
        assert call(colony.url, {"msgtype": "getblueprintdefinitionsmsg", "colonyname": colony.name}, key) == [added]
    msg = {"msgtype": "getblueprintdefinitionmsg", "colonyname": colony.name, "name": "nope"}
    refused(404, call, colony.url, msg, member.prvkey)


# --- update, generation, history ------------------------------------------------------------------
def test_update_with_a_changed_spec_bumps_generation_records_history_and_reconciles(colony, member):
    add_definition(colony)
    added = add(colony, member.prvkey, blueprint(colony, "a"))
    changed = {**added, "spec": {"image": "postgres:17", "replicas": 3}}
    updated = update(colony, member.prvkey, changed)
    assert updated["metadata"]["generation"] == 2
    assert updated["spec"] == {"image": "postgres:17", "replicas": 3}
    assert updated["blueprintid"] == added["blueprintid"]
    assert updated["metadata"]["createdAt"] == added["metadata"]["createdAt"]
    processes = waiting(colony, member.prvkey)
    assert [p["spec"]["kwargs"] for p in processes] == [{"kind": "Database", "blueprintName": "a"}] * 2
    assert updated["metadata"]["lastReconciliationProcess"] == processes[-1]["processid"]
    entries = history(colony, member.prvkey, added["blueprintid"])
    assert [(h["changetype"], h["generation"]) for h in entries] == [("update", 2), ("create", 1)]
    assert entries[0]["spec"] == {"image": "postgres:17", "replicas": 3}
    assert entries[0]["changedby"] == member.id and entries[0]["namespace"] == colony.name


def test_update_with_the_same_spec_keeps_the_generation_and_submits_nothing(colony, member):
    add_definition(colony)
    added = add(colony, member.prvkey, blueprint(colony, "a", image="pg", replicas=2))
    same = {**added, "spec": {"replicas": 2.0, "image": "pg"}, "metadata": {**added["metadata"], "labels": {"team": "x"}}}
    updated = update(colony, member.prvkey, same)
    assert updated["metadata"]["generation"] == 1
    assert updated["metadata"]["labels"] == {"team": "x"}
    assert len(waiting(colony, member.prvkey)) == 1
    assert len(history(colony, member.prvkey, added["blueprintid"])) == 1


def test_forced_update_bumps_the_generation_and_passes_force(colony, member):
    add_definition(colony)
    added = add(colony, member.prvkey, blueprint(colony, "a"))
    updated = update(colony, member.prvkey, added, force=True)
    assert updated["metadata"]["generation"] == 2
    assert waiting(colony, member.prvkey)[-1]["spec"]["kwargs"] == {"kind": "Database", "blueprintName": "a", "force": True}
    assert history(colony, member.prvkey, added["blueprintid"], limit=1)[0]["changetype"] == "update"


def test_update_is_validated_against_the_schema(colony, member):
    add_definition(colony)
    added = add(colony, member.prvkey, blueprint(colony, "a"))
    refused(400, update, colony, member.prvkey, {**added, "spec": {"image": 5}})
    assert get(colony, member.prvkey, "a")["spec"] == added["spec"]


def test_update_of_a_missing_blueprint_is_a_404_and_kind_cannot_change(colony, member):
    add_definition(colony)
    add_definition(colony, kind="Queue", schema=None)
    refused(404, update, colony, member.prvkey, blueprint(colony, "ghost"))
    added = add(colony, member.prvkey, blueprint(colony, "a"))
    refused(400, update, colony, member.prvkey, {**added, "kind": "Queue"})


def test_history_is_newest_first_limited_and_outlives_the_blueprint(colony, member):
    add_definition(colony)
    added = add(colony, member.prvkey, blueprint(colony, "a"))
    for replicas in (2, 3):
        update(colony, member.prvkey, {**added, "spec": {"image": "pg", "replicas": replicas}})
    remove(colony, member.prvkey, "a")
    entries = history(colony, member.prvkey, added["blueprintid"])
    assert [h["changetype"] for h in entries] == ["delete", "update", "update", "create"]
    assert [h["generation"] for h in history(colony, colony.owner_prvkey, added["blueprintid"], limit=2)] == [3, 3]
    refused(404, history, colony, member.prvkey, crypto.random_id())


# --- status and manual reconcile ------------------------------------------------------------------
def test_status_update_replaces_only_the_status(colony, member):
    add_definition(colony)
    reconciler = colony.add_executor(executortype=HANDLER_TYPE)
    added = add(colony, member.prvkey, blueprint(colony, "a"))
    assert "status" not in added
    status = {"phase": "Ready", "replicas": {"ready": 1}}
    msg = {"msgtype": "updateblueprintstatusmsg", "colonyname": colony.name, "blueprintname": "a", "status": status}
    assert call(colony.url, msg, reconciler.prvkey) == {}
    now = get(colony, member.prvkey, "a")
    assert now["status"] == status
    assert now["metadata"]["generation"] == 1 and now["spec"] == added["spec"]
    assert len(history(colony, member.prvkey, added["blueprintid"])) == 1
    # an update that does not carry a status keeps the reconciler's
    update(colony, member.prvkey, {k: v for k, v in added.items() if k != "status"})
    assert get(colony, member.prvkey, "a")["status"] == status
    refused(404, call, colony.url, {**msg, "blueprintname": "ghost"}, reconciler.prvkey)


def test_reconcile_message_submits_and_returns_the_process(colony, member):
    add_definition(colony)
    add(colony, member.prvkey, blueprint(colony, "a"))
    msg = {"msgtype": "reconcileblueprintmsg", "namespace": colony.name, "name": "a", "force": False}
    process = call(colony.url, msg, member.prvkey)
    assert process["state"] == 0 and process["spec"]["kwargs"] == {"kind": "Database", "blueprintName": "a"}
    assert get(colony, member.prvkey, "a")["metadata"]["lastReconciliationProcess"] == process["processid"]
    forced = call(colony.url, {**msg, "force": True}, member.prvkey)
    assert forced["spec"]["kwargs"]["force"] is True
    assert get(colony, member.prvkey, "a")["metadata"]["generation"] == 2
    assert [p["processid"] for p in waiting(colony, member.prvkey)][-2:] == [process["processid"], forced["processid"]]
    refused(404, call, colony.url, {**msg, "name": "ghost"}, member.prvkey)


# --- listing --------------------------------------------------------------------------------------
def test_blueprints_are_listed_by_name_and_filtered_by_kind_and_location(colony, member):
    add_definition(colony)
    add_definition(colony, kind="Queue", schema=None)
    add(colony, member.prvkey, blueprint(colony, "b"))
    add(colony, member.prvkey, blueprint(colony, "a", location="edge"))
    add(colony, member.prvkey, blueprint(colony, "q", kind="Queue"))

    def names(**filters: str) -> list[str]:
        msg = {"msgtype": "getblueprintsmsg", "namespace": colony.name, **filters}
        return [b["metadata"]["name"] for b in call(colony.url, msg, member.prvkey)]

    assert names() == ["a", "b", "q"]
    assert names(kind="Database") == ["a", "b"]
    assert names(kind="Database", locationname="edge") == ["a"]
    assert names(kind="Nope") == []
    refused(404, get, colony, member.prvkey, "ghost")


# --- removal ----------------------------------------------------------------------------------------
def test_remove_submits_cleanup_and_drops_the_cron_with_the_last_blueprint(colony, member):
    add_definition(colony)
    add(colony, member.prvkey, blueprint(colony, "a"))
    add(colony, member.prvkey, blueprint(colony, "b"))
    assert remove(colony, member.prvkey, "a") == {}
    assert "reconcile-Database" in crons(colony, member.prvkey)
    remove(colony, member.prvkey, "b")
    assert crons(colony, member.prvkey) == {}
    cleanups = [p for p in waiting(colony, member.prvkey) if p["spec"]["funcname"] == "cleanup"]
    assert [p["spec"]["kwargs"] for p in cleanups] == [
        {"kind": "Database", "blueprintName": "a"},
        {"kind": "Database", "blueprintName": "b"},
    ]
    assert cleanups[0]["spec"]["conditions"]["executortype"] == HANDLER_TYPE
    refused(404, get, colony, member.prvkey, "a")
    refused(404, remove, colony, member.prvkey, "a")


def test_the_cron_of_one_location_stays_while_another_location_empties(colony, member):
    add_definition(colony)
    add(colony, member.prvkey, blueprint(colony, "a", location="north"))
    add(colony, member.prvkey, blueprint(colony, "b", location="south"))
    remove(colony, member.prvkey, "a")
    assert list(crons(colony, member.prvkey)) == ["reconcile-Database-south"]


def test_definition_in_use_cannot_be_removed(colony, member):
    add_definition(colony)
    add(colony, member.prvkey, blueprint(colony, "a"))
    msg = {"msgtype": "removeblueprintdefinitionmsg", "namespace": colony.name, "name": "databases"}
    assert "still exist" in refused(409, call, colony.url, msg, colony.owner_prvkey)
    remove(colony, member.prvkey, "a")
    assert call(colony.url, msg, colony.owner_prvkey) == {}
    assert call(colony.url, {"msgtype": "getblueprintdefinitionsmsg", "colonyname": colony.name}, member.prvkey) == []
    refused(404, call, colony.url, msg, colony.owner_prvkey)


# --- roles ------------------------------------------------------------------------------------------
def test_members_cannot_add_or_remove_definitions(colony, member):
    executor = colony.add_executor()
    for key in (member.prvkey, executor.prvkey):
        msg = {"msgtype": "addblueprintdefinitionmsg", "blueprintdefinition": definition(colony)}
        refused(403, call, colony.url, msg, key)
    add_definition(colony)
    msg = {"msgtype": "removeblueprintdefinitionmsg", "namespace": colony.name, "name": "databases"}
    refused(403, call, colony.url, msg, member.prvkey)


def test_strangers_and_other_colonies_cannot_touch_blueprints(colony, member, node):
    add_definition(colony)
    added = add(colony, member.prvkey, blueprint(colony, "a"))
    stranger = crypto.generate_private_key()
    pending = colony.add_executor(approve=False)
    for key in (stranger, pending.prvkey):
        refused(403, add, colony, key, blueprint(colony, "b"))
        refused(403, get, colony, key, "a")
        refused(403, update, colony, key, added)
        refused(403, remove, colony, key, "a")
        refused(403, history, colony, key, added["blueprintid"])
        refused(403, call, colony.url, {"msgtype": "getblueprintsmsg", "namespace": colony.name}, key)
        refused(403, call, colony.url, {"msgtype": "getblueprintdefinitionsmsg", "colonyname": colony.name}, key)
        refused(403, call, colony.url, {"msgtype": "reconcileblueprintmsg", "namespace": colony.name, "name": "a"}, key)
    assert get(colony, member.prvkey, "a") == added


def test_the_owner_manages_blueprints_but_status_and_reconcile_are_for_members(colony):
    add_definition(colony)
    added = add(colony, colony.owner_prvkey, blueprint(colony, "a"))
    [process] = waiting(colony, colony.add_user().prvkey)
    assert process["initiatorid"] == colony.colonyid
    assert update(colony, colony.owner_prvkey, added, force=True)["metadata"]["generation"] == 2
    status = {"msgtype": "updateblueprintstatusmsg", "colonyname": colony.name, "blueprintname": "a", "status": {}}
    refused(403, call, colony.url, status, colony.owner_prvkey)
    reconcile = {"msgtype": "reconcileblueprintmsg", "namespace": colony.name, "name": "a"}
    refused(403, call, colony.url, reconcile, colony.owner_prvkey)
    assert remove(colony, colony.owner_prvkey, "a") == {}


def test_unknown_colony_is_refused_as_one_the_caller_is_not_a_member_of(colony, member):
    # only the server owner learns that a colony does not exist (issue 12, item 8)
    ghost = f"ghost-{secrets.token_hex(4)}"
    message = refused(403, call, colony.url, {"msgtype": "getblueprintsmsg", "namespace": ghost}, member.prvkey)
    assert message == f"Access denied, not a member of Colony with name {ghost}"


def test_concurrent_adds_of_one_name_store_one_blueprint_one_cron_and_one_process(colony, member):
    from concurrent.futures import ThreadPoolExecutor

    add_definition(colony)

    def attempt(_: int) -> int:
        try:
            add(colony, member.prvkey, blueprint(colony, "a"))
            return 200
        except RPCFailure as failure:
            return failure.status

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [200] + [409] * 7
    assert len(waiting(colony, member.prvkey)) == 1
    assert list(crons(colony, member.prvkey)) == ["reconcile-Database"]


def test_blueprints_and_their_history_survive_a_node_restart(tmp_path):
    from dataclasses import replace

    from colonies import dev
    from tests.conftest import ColonyFixture
    from tests.support.nodes import start_node

    first = start_node(tmp_path)
    owner = crypto.generate_private_key()
    name = f"colony-{secrets.token_hex(4)}"
    call(first.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": crypto.id_from_private_key(owner), "name": name}}, dev.SERVER_PRVKEY)
    colony = ColonyFixture(first.url, name, owner, crypto.id_from_private_key(owner))
    add_definition(colony)
    added = add(colony, owner, blueprint(colony, "a"))
    first.stop()

    second = start_node(tmp_path)
    try:
        colony = replace(colony, url=second.url)
        assert get(colony, owner, "a") == added
        assert [h["changetype"] for h in history(colony, owner, added["blueprintid"])] == ["create"]
        assert "reconcile-Database" in crons(colony, colony.add_user().prvkey)
    finally:
        second.stop()


async def test_removing_a_colony_from_the_store_removes_its_blueprint_rows(tmp_path):
    from colonies.blueprint_models import Blueprint, BlueprintDefinition, BlueprintHistory, BlueprintMetadata
    from colonies.node.store import blueprints as bq
    from colonies.node.store.database import Database

    db = await Database.open(f"sqlite:///{tmp_path / 'colonies.db'}")
    try:
        for colonyname in ("gone", "kept"):
            meta = BlueprintMetadata(name="a", colonyname=colonyname)
            bpid = crypto.random_id()
            definition = BlueprintDefinition(blueprintdefinitionid=crypto.random_id(), metadata=meta)
            instance = Blueprint(blueprintid=bpid, kind="K", metadata=meta, spec={})
            entry = BlueprintHistory(historyid=crypto.random_id(), blueprintid=bpid, namespace=colonyname)

            def write(conn, definition=definition, instance=instance, entry=entry):
                bq.add_definition(conn, definition)
                bq.insert_blueprint(conn, instance)
                bq.add_history(conn, entry, ts=1)

            await db.write(write)
        await db.write(lambda conn: bq.remove_colony(conn, "gone"))
        for colonyname, expected in (("gone", 0), ("kept", 1)):
            assert len(await db.read(lambda conn: bq.list_definitions(conn, colonyname))) == expected
            assert len(await db.read(lambda conn: bq.list_blueprints(conn, colonyname))) == expected
    finally:
        await db.close()
