"""Blueprints (spec §2.13, §4.13): definitions are managed by the colony owner and read by members
or the owner; instances are managed by members or the owner; status updates and manual
reconciliation are for members (the reconcilers)."""
from __future__ import annotations

from typing import Any

from colonies import models
from colonies.blueprint_models import (
    AddBlueprintDefinitionMsg,
    AddBlueprintMsg,
    Blueprint,
    BlueprintDefinition,
    BlueprintHistory,
    GetBlueprintDefinitionMsg,
    GetBlueprintDefinitionsMsg,
    GetBlueprintHistoryMsg,
    GetBlueprintMsg,
    GetBlueprintsMsg,
    ReconcileBlueprintMsg,
    RemoveBlueprintDefinitionMsg,
    RemoveBlueprintMsg,
    UpdateBlueprintMsg,
    UpdateBlueprintStatusMsg,
)
from colonies.node.domain import blueprints
from colonies.node.domain.blueprints import Caller
from colonies.node.handlers.limits import MAX_HISTORY, MAX_LIST
from colonies.node.rpc import EMPTY, Call, not_found, require, rpc
from colonies.node.store import blueprints as bq
from colonies.node.validate import require_id, require_name
from colonies.wire import RPCError


def _member_or_owner(call: Call, colonyname: str) -> Caller:
    """The caller as an approved member (executor or user) or as the colony owner (name "")."""
    entry = call.colony(colonyname)
    name = call.node.directory.member_name(colonyname, call.caller_id, approved=True)
    if name is not None:
        return Caller(call.caller_id, name)
    if entry.colonyid == call.caller_id:
        return Caller(call.caller_id, "")
    raise RPCError(403, f"Access denied, not a member of Colony with name {colonyname}")


def _member(call: Call, colonyname: str) -> Caller:
    return Caller(call.caller_id, call.require_member(colonyname))


def _checked_blueprint(blueprint: Blueprint | None, what: str) -> Blueprint:
    require(blueprint is not None, f"Failed to {what} blueprint, blueprint is missing")
    assert blueprint is not None
    require(bool(blueprint.kind), f"Failed to {what} blueprint, blueprint kind is required")
    require_name(blueprint.kind, "blueprint kind")
    require_name(blueprint.metadata.name, "metadata.name")
    if blueprint.metadata.locationname:
        require_name(blueprint.metadata.locationname, "metadata.locationname")
    if blueprint.handler is not None and blueprint.handler.executorType:
        require_name(blueprint.handler.executorType, "handler.executorType")
    return blueprint


# --- definitions ------------------------------------------------------------------------------
@rpc("addblueprintdefinitionmsg", AddBlueprintDefinitionMsg)
async def add_definition(call: Call, msg: AddBlueprintDefinitionMsg) -> BlueprintDefinition:
    definition = msg.blueprintdefinition
    require(definition is not None, "Failed to add blueprint definition, blueprint definition is missing")
    assert definition is not None
    call.require_colony_owner(definition.metadata.colonyname)
    require_name(definition.metadata.name, "metadata.name")
    if definition.blueprintdefinitionid:
        require_id(definition.blueprintdefinitionid, "blueprintdefinitionid")
    blueprints.check_definition(definition)
    return await blueprints.add_definition(call.node, definition)


@rpc("getblueprintdefinitionmsg", GetBlueprintDefinitionMsg)
async def get_definition(call: Call, msg: GetBlueprintDefinitionMsg) -> BlueprintDefinition:
    _member_or_owner(call, msg.colonyname)
    definition = await call.node.db.read(lambda conn: bq.get_definition(conn, msg.colonyname, msg.name))
    if definition is None:
        raise not_found(f"Blueprint definition {msg.name} not found in colony {msg.colonyname}")
    return definition


@rpc("getblueprintdefinitionsmsg", GetBlueprintDefinitionsMsg)
async def get_definitions(call: Call, msg: GetBlueprintDefinitionsMsg) -> list[BlueprintDefinition]:
    _member_or_owner(call, msg.colonyname)
    return await call.node.db.read(lambda conn: bq.list_definitions(conn, msg.colonyname, limit=MAX_LIST))


@rpc("removeblueprintdefinitionmsg", RemoveBlueprintDefinitionMsg)
async def remove_definition(call: Call, msg: RemoveBlueprintDefinitionMsg) -> dict[str, Any]:
    call.require_colony_owner(msg.namespace)
    await blueprints.remove_definition(call.node, msg.namespace, msg.name)
    return EMPTY


# --- blueprints -------------------------------------------------------------------------------
@rpc("addblueprintmsg", AddBlueprintMsg)
async def add_blueprint(call: Call, msg: AddBlueprintMsg) -> Blueprint:
    if msg.blueprint is None:
        raise RPCError(400, "Failed to add blueprint, blueprint is missing")
    caller = _member_or_owner(call, msg.blueprint.metadata.colonyname)
    blueprint = _checked_blueprint(msg.blueprint, "add")
    if blueprint.blueprintid:
        require_id(blueprint.blueprintid, "blueprintid")
    blueprints.check_cron_name(blueprint.kind, blueprint.metadata.locationname)
    return await blueprints.add(call.node, blueprint, caller)


@rpc("getblueprintmsg", GetBlueprintMsg)
async def get_blueprint(call: Call, msg: GetBlueprintMsg) -> Blueprint:
    _member_or_owner(call, msg.namespace)
    blueprint = await call.node.db.read(lambda conn: bq.get_blueprint(conn, msg.namespace, msg.name))
    if blueprint is None:
        raise not_found(f"Blueprint {msg.name} not found in colony {msg.namespace}")
    return blueprint


@rpc("getblueprintsmsg", GetBlueprintsMsg)
async def get_blueprints(call: Call, msg: GetBlueprintsMsg) -> list[Blueprint]:
    _member_or_owner(call, msg.namespace)
    return await call.node.db.read(
        lambda conn: bq.list_blueprints(conn, msg.namespace, kind=msg.kind, locationname=msg.locationname, limit=MAX_LIST)
    )


@rpc("updateblueprintmsg", UpdateBlueprintMsg)
async def update_blueprint(call: Call, msg: UpdateBlueprintMsg) -> Blueprint:
    if msg.blueprint is None:
        raise RPCError(400, "Failed to update blueprint, blueprint is missing")
    caller = _member_or_owner(call, msg.blueprint.metadata.colonyname)
    blueprint = _checked_blueprint(msg.blueprint, "update")
    return await blueprints.update(call.node, blueprint, caller, force=msg.forcegeneration)


@rpc("removeblueprintmsg", RemoveBlueprintMsg)
async def remove_blueprint(call: Call, msg: RemoveBlueprintMsg) -> dict[str, Any]:
    caller = _member_or_owner(call, msg.namespace)
    await blueprints.remove(call.node, msg.namespace, msg.name, caller)
    return EMPTY


@rpc("getblueprinthistorymsg", GetBlueprintHistoryMsg)
async def get_history(call: Call, msg: GetBlueprintHistoryMsg) -> list[BlueprintHistory]:
    # the history outlives its blueprint (it records the removal), so its own rows name the colony
    colonyname = await call.node.db.read(lambda conn: bq.history_colony(conn, msg.blueprintid))
    if colonyname is None:
        raise not_found(f"Blueprint with id {msg.blueprintid} not found")
    _member_or_owner(call, colonyname)
    # upstream's limit 0 means all: here at most the newest MAX_HISTORY
    limit = msg.limit if 0 < msg.limit <= MAX_HISTORY else MAX_HISTORY
    return await call.node.db.read(lambda conn: bq.history_of(conn, msg.blueprintid, limit))


@rpc("updateblueprintstatusmsg", UpdateBlueprintStatusMsg)
async def update_status(call: Call, msg: UpdateBlueprintStatusMsg) -> dict[str, Any]:
    _member(call, msg.colonyname)
    await blueprints.set_status(call.node, msg.colonyname, msg.blueprintname, msg.status)
    return EMPTY


@rpc("reconcileblueprintmsg", ReconcileBlueprintMsg)
async def reconcile_blueprint(call: Call, msg: ReconcileBlueprintMsg) -> models.Process:
    caller = _member(call, msg.namespace)
    return await blueprints.reconcile(call.node, msg.namespace, msg.name, caller, force=msg.force)
