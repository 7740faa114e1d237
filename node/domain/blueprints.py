"""Blueprints (spec §2.13, §4.13): schema validation, generations and history, reconcile processes
and the reconcile cron.

A definition (colony-owner managed) names a kind, optionally a JSON Schema for its instances'
`spec`, and a handler `{executorType, functionName, reconcileInterval}`. Every change to an instance
is one transaction: the blueprint, its history entry, an auto-created location, the reconcile cron
`reconcile-<kind>[-<location>]` and the process for the handler commit together or not at all
(upstream writes them one by one and tries to roll back by hand).

Processes go to the handler's executor type (a blueprint's own `handler.executorType` overrides it)
at the blueprint's location: funcname = `functionName` (default `reconcile`), kwargs
`{kind, blueprintName[, force]}`; with no executor type at all (a definition without a handler, which
upstream accepts) changes are stored and recorded but start no process and no cron;
removal submits funcname `cleanup`. The cron runs a one-step workflow with kwargs `{kind}` every
`reconcileInterval` seconds (60 when unset), waiting for its previous run to finish.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import msgspec
from jsonschema import Draft202012Validator, validators
from jsonschema import exceptions as schema_errors
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable
from sqlalchemy.engine import Connection

from colonies import crypto, models
from colonies.blueprint_models import (
    DEFINITION_KIND,
    Blueprint,
    BlueprintDefinition,
    BlueprintHandler,
    BlueprintHistory,
)
from colonies.models import Conditions, FunctionSpec, WorkflowSpec
from colonies.node.domain import crons
from colonies.node.core import NodeCore
from colonies.node.store import blueprints as bq
from colonies.node.store import crons as cq
from colonies.node.store import locations as lq
from colonies.node.store import processes as pq
from colonies.node.store.processes import ProcessRecord
from colonies.node.domain.submission import process_row, validate_spec
from colonies.timefmt import ZERO_TIME, format_ns
from colonies.node.domain.errors import Invalid, NotFound, Conflict

DEFAULT_RECONCILE_INTERVAL = 60  # seconds
CLEANUP_FUNCNAME = "cleanup"
DEFAULT_FUNCNAME = "reconcile"  # a handler naming an executor type but no function
MAX_CRON_NAME = 256

_sorted_json = msgspec.json.Encoder(order="sorted")


# --- JSON Schema ------------------------------------------------------------------------------
def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why `schema` is not a usable JSON Schema (draft 2020-12 unless it names its `$schema`)."""
    try:
        validators.validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except schema_errors.SchemaError as err:
        return f"{_where(err.json_path, 'schema')}: {err.message}"
    except RecursionError:
        return "schema is nested too deeply"
    return None


def spec_problem(schema: dict[str, Any], spec: dict[str, Any]) -> str | None:
    """The most relevant reason `spec` does not satisfy `schema`, None when it does."""
    try:
        validator = _validator(_sorted_json.encode(schema).decode())
        error = schema_errors.best_match(validator.iter_errors(spec))
    except Unresolvable as err:
        return f"the schema refers to {err} (only references inside the schema are resolved)"
    except RecursionError:
        return "spec is nested too deeply"
    if error is None:
        return None
    return f"{_where(error.json_path, 'spec')}: {error.message}"


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Validator:
    schema = msgspec.json.decode(schema_text)
    return validators.validator_for(schema, default=Draft202012Validator)(schema)  # type: ignore[no-any-return]


def _where(json_path: str, root: str) -> str:
    return root + json_path[1:]  # "$.a[0]" → "spec.a[0]"


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: 1 == 1.0 (both JSON numbers) but true != 1, key order irrelevant."""
    try:
        return _same(a, b)
    except RecursionError:
        return False  # too deep to compare: count it as a change


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# --- documents --------------------------------------------------------------------------------
def normalized_definition(definition: BlueprintDefinition, *, now: int) -> BlueprintDefinition:
    """The definition as stored: an id, server times, generation 1, empty optionals left out."""
    names = definition.spec.names
    handler = definition.spec.handler
    spec = msgspec.structs.replace(
        definition.spec,
        names=msgspec.structs.replace(names, shortNames=names.shortNames or msgspec.UNSET),
        handler=msgspec.structs.replace(handler, reconcileInterval=handler.reconcileInterval or msgspec.UNSET),
        schema=msgspec.UNSET if definition.spec.schema is None else definition.spec.schema,
    )
    stamp = format_ns(now)
    meta = msgspec.structs.replace(
        definition.metadata,
        labels=definition.metadata.labels or None,
        annotations=definition.metadata.annotations or None,
        generation=1,
        createdAt=stamp,
        updatedAt=stamp,
        lastReconciliationProcess="",
        lastReconciliationTime=ZERO_TIME,
    )
    return msgspec.structs.replace(
        definition,
        blueprintdefinitionid=definition.blueprintdefinitionid or crypto.random_id(),
        kind=definition.kind or DEFINITION_KIND,
        metadata=meta,
        spec=spec,
    )


def normalized(blueprint: Blueprint) -> Blueprint:
    """The wire form: `spec` always an object, empty optionals left out, times always present."""
    meta = blueprint.metadata
    handler = blueprint.handler
    if handler is not None:
        handler = msgspec.structs.replace(handler, executorNames=handler.executorNames or None)
        if handler == BlueprintHandler():
            handler = None
    return msgspec.structs.replace(
        blueprint,
        metadata=msgspec.structs.replace(
            meta,
            labels=meta.labels or None,
            annotations=meta.annotations or None,
            createdAt=meta.createdAt or ZERO_TIME,
            updatedAt=meta.updatedAt or ZERO_TIME,
            lastReconciliationTime=meta.lastReconciliationTime or ZERO_TIME,
        ),
        handler=handler,
        spec=blueprint.spec or {},
        status=blueprint.status or None,
    )


def reconcile_interval(definition: BlueprintDefinition) -> int:
    interval = definition.spec.handler.reconcileInterval
    return interval if isinstance(interval, int) and interval > 0 else DEFAULT_RECONCILE_INTERVAL


def executor_type(blueprint: Blueprint, definition: BlueprintDefinition) -> str:
    if blueprint.handler is not None and blueprint.handler.executorType:
        return blueprint.handler.executorType
    return definition.spec.handler.executorType


def has_handler(blueprint: Blueprint, definition: BlueprintDefinition) -> bool:
    """Whether changes to `blueprint` start reconcile processes (some executor type handles them)."""
    return bool(executor_type(blueprint, definition))


def function_name(definition: BlueprintDefinition) -> str:
    return definition.spec.handler.functionName or DEFAULT_FUNCNAME


def cron_name(kind: str, locationname: str) -> str:
    return f"reconcile-{kind}-{locationname}" if locationname else f"reconcile-{kind}"


def _function_spec(blueprint: Blueprint, definition: BlueprintDefinition, funcname: str, kwargs: dict[str, Any], nodename: str) -> FunctionSpec:
    meta = blueprint.metadata
    return FunctionSpec(
        nodename=nodename,
        funcname=funcname,
        args=[],
        kwargs=kwargs,
        maxwaittime=-1,
        maxexectime=-1,
        maxretries=-1,
        conditions=Conditions(
            colonyname=meta.colonyname,
            executortype=executor_type(blueprint, definition),
            locationname=meta.locationname,
        ),
    )


def reconcile_spec(blueprint: Blueprint, definition: BlueprintDefinition, *, force: bool) -> FunctionSpec:
    kwargs: dict[str, Any] = {"kind": blueprint.kind, "blueprintName": blueprint.metadata.name}
    if force:
        kwargs["force"] = True
    return _function_spec(blueprint, definition, function_name(definition), kwargs, "reconcile")


def cleanup_spec(blueprint: Blueprint, definition: BlueprintDefinition) -> FunctionSpec:
    kwargs = {"kind": blueprint.kind, "blueprintName": blueprint.metadata.name}
    return _function_spec(blueprint, definition, CLEANUP_FUNCNAME, kwargs, CLEANUP_FUNCNAME)


def cron_workflow(blueprint: Blueprint, definition: BlueprintDefinition) -> WorkflowSpec:
    """The reconcile cron's workflow: one step for the handler, kwargs {kind} (all of that kind)."""
    step = _function_spec(blueprint, definition, function_name(definition), {"kind": blueprint.kind}, "reconcile")
    return WorkflowSpec(colonyname=blueprint.metadata.colonyname, functionspecs=[validate_spec(step)])


def history_entry(blueprint: Blueprint, *, changedby: str, changetype: str, now: int) -> BlueprintHistory:
    return BlueprintHistory(
        historyid=crypto.random_id(),
        blueprintid=blueprint.blueprintid,
        kind=blueprint.kind,
        namespace=blueprint.metadata.colonyname,
        name=blueprint.metadata.name,
        generation=blueprint.metadata.generation,
        spec=blueprint.spec or {},
        status=blueprint.status or None,
        timestamp=format_ns(now),
        changedby=changedby,
        changetype=changetype,
    )


# --- transactions -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Caller:
    id: str
    name: str  # executor or user name in the colony; "" for the colony owner


@dataclass(slots=True)
class _Written:
    blueprint: Blueprint | None = None
    records: list[ProcessRecord] = field(default_factory=list)


def _submit(conn: Connection, spec: FunctionSpec, caller: Caller, now: int) -> ProcessRecord:
    row, attrs = process_row(validate_spec(spec), initiatorid=caller.id, initiatorname=caller.name, now=now)
    return pq.insert_process(conn, row, attrs)


def _definition_for(conn: Connection, blueprint: Blueprint, what: str) -> BlueprintDefinition:
    colonyname = blueprint.metadata.colonyname
    definition = bq.definition_for_kind(conn, colonyname, blueprint.kind)
    if definition is None:
        raise Invalid(f"Failed to {what} blueprint, no blueprint definition for kind {blueprint.kind} in colony {colonyname}")
    return definition


def _check_spec(definition: BlueprintDefinition, blueprint: Blueprint, what: str) -> None:
    schema = definition.spec.schema
    if isinstance(schema, dict):
        problem = spec_problem(schema, blueprint.spec or {})
        if problem is not None:
            raise Invalid(f"Failed to {what} blueprint, blueprint validation failed: {problem}")


def _reconciled(blueprint: Blueprint, record: ProcessRecord, now: int, *, generation: int | None = None) -> Blueprint:
    meta = msgspec.structs.replace(
        blueprint.metadata,
        generation=blueprint.metadata.generation if generation is None else generation,
        lastReconciliationProcess=record.processid,
        lastReconciliationTime=format_ns(now),
    )
    return msgspec.structs.replace(blueprint, metadata=meta)


def _ensure_cron(conn: Connection, blueprint: Blueprint, definition: BlueprintDefinition, caller: Caller, now: int) -> None:
    """Create `reconcile-<kind>[-<location>]` unless the colony has a cron of that name already."""
    meta = blueprint.metadata
    name = cron_name(blueprint.kind, meta.locationname)
    if bq.cron_id(conn, meta.colonyname, name) is not None:
        return
    interval = reconcile_interval(definition)
    # the same row shape node/handlers/crons.py stores for addcronmsg
    cq.add(
        conn,
        {
            "cronid": crypto.random_id(),
            "colonyname": meta.colonyname,
            "name": name,
            "initiatorid": caller.id,
            "initiatorname": caller.name,
            "cronexpression": "",
            "interval": interval,
            "random": False,
            "nextrun": crons.next_run(cronexpression="", interval=interval, random=False, now_ns=now),
            "lastrun": 0,
            "workflowspec": msgspec.json.encode(cron_workflow(blueprint, definition)).decode(),
            "prevprocessgraphid": "",
            "waitforprevprocessgraph": True,
            "added": now,
        },
    )


def _publish(core: NodeCore, written: _Written) -> None:
    """After the commit (db.write's `then`): its processes' events."""
    core.publish(written.records)


async def add(core: NodeCore, blueprint: Blueprint, caller: Caller) -> Blueprint:
    """Store a new blueprint (generation 1), its cron if it is the first of its kind and location,
    and submit its first reconcile process."""
    now = core.now_ns()
    stamp = format_ns(now)
    meta = blueprint.metadata
    fresh = normalized(
        msgspec.structs.replace(
            blueprint,
            blueprintid=blueprint.blueprintid or crypto.random_id(),
            metadata=msgspec.structs.replace(
                meta, generation=1, createdAt=stamp, updatedAt=stamp, lastReconciliationProcess="", lastReconciliationTime=""
            ),
        )
    )

    def op(conn: Connection) -> _Written:
        definition = _definition_for(conn, fresh, "add")
        _check_spec(definition, fresh, "add")
        if bq.get_blueprint(conn, meta.colonyname, meta.name) is not None:
            raise Conflict(f"Failed to add blueprint, a blueprint named {meta.name} already exists in colony {meta.colonyname}")
        if bq.blueprint_id_taken(conn, fresh.blueprintid):
            raise Conflict(f"Failed to add blueprint, a blueprint with id {fresh.blueprintid} already exists")
        if meta.locationname and lq.get(conn, meta.colonyname, meta.locationname) is None:
            lq.add(
                conn,
                models.Location(
                    locationid=crypto.random_id(),
                    name=meta.locationname,
                    colonyname=meta.colonyname,
                    description=f"Auto-created from blueprint {meta.name}",
                ),
            )
        if not has_handler(fresh, definition):
            bq.insert_blueprint(conn, fresh)
            bq.add_history(conn, history_entry(fresh, changedby=caller.id, changetype="create", now=now), ts=now)
            return _Written(fresh)
        record = _submit(conn, reconcile_spec(fresh, definition, force=False), caller, now)
        stored = _reconciled(fresh, record, now)
        bq.insert_blueprint(conn, stored)
        bq.add_history(conn, history_entry(stored, changedby=caller.id, changetype="create", now=now), ts=now)
        _ensure_cron(conn, stored, definition, caller, now)
        return _Written(stored, [record])

    written = await core.db.write(op, then=lambda done: _publish(core, done))
    assert written.blueprint is not None
    return written.blueprint


async def update(core: NodeCore, blueprint: Blueprint, caller: Caller, *, force: bool) -> Blueprint:
    """Replace spec, labels, annotations, handler (and status when given). A changed spec, or
    `force`, bumps the generation, records history and submits a reconcile process."""
    now = core.now_ns()
    meta = blueprint.metadata

    def op(conn: Connection) -> _Written:
        current = bq.get_blueprint(conn, meta.colonyname, meta.name)
        if current is None:
            raise NotFound(f"Failed to update blueprint, blueprint {meta.name} not found in colony {meta.colonyname}")
        if blueprint.kind != current.kind:
            raise Invalid(f"Failed to update blueprint, its kind is {current.kind} and cannot change (remove it and add it again)")
        if meta.locationname != current.metadata.locationname:
            raise Invalid("Failed to update blueprint, its locationname cannot change (remove it and add it again)")
        definition = _definition_for(conn, blueprint, "update")
        _check_spec(definition, blueprint, "update")
        bump = force or not same_json(current.spec or {}, blueprint.spec or {})
        generation = current.metadata.generation + (1 if bump else 0)
        changed = normalized(
            msgspec.structs.replace(
                current,
                metadata=msgspec.structs.replace(
                    current.metadata,
                    labels=meta.labels,
                    annotations=meta.annotations,
                    generation=generation,
                    updatedAt=format_ns(now),
                ),
                handler=blueprint.handler,
                spec=blueprint.spec,
                status=current.status if blueprint.status is None else blueprint.status,
            )
        )
        if not bump:
            bq.replace_blueprint(conn, changed)
            return _Written(changed)
        records = [_submit(conn, reconcile_spec(changed, definition, force=force), caller, now)] if has_handler(changed, definition) else []
        stored = _reconciled(changed, records[0], now) if records else changed
        bq.replace_blueprint(conn, stored)
        bq.add_history(conn, history_entry(stored, changedby=caller.id, changetype="update", now=now), ts=now)
        return _Written(stored, records)

    written = await core.db.write(op, then=lambda done: _publish(core, done))
    assert written.blueprint is not None
    return written.blueprint


async def remove(core: NodeCore, colonyname: str, name: str, caller: Caller) -> None:
    """Delete the blueprint, record it, drop the cron when it was the last of its kind at its
    location, and submit a `cleanup` process to the handler."""
    now = core.now_ns()

    def op(conn: Connection) -> _Written:
        current = bq.get_blueprint(conn, colonyname, name)
        if current is None:
            raise NotFound(f"Failed to remove blueprint, blueprint {name} not found in colony {colonyname}")
        bq.remove_blueprint(conn, current.blueprintid)
        bq.add_history(conn, history_entry(current, changedby=caller.id, changetype="delete", now=now), ts=now)
        written = _Written()
        location = current.metadata.locationname
        if bq.count_blueprints(conn, colonyname, current.kind, location) == 0:
            cronid = bq.cron_id(conn, colonyname, cron_name(current.kind, location))
            if cronid is not None:
                cq.remove(conn, cronid)
        definition = bq.definition_for_kind(conn, colonyname, current.kind)
        # a definition is always there while definitions with blueprints cannot be removed
        if definition is not None and has_handler(current, definition):
            written.records.append(_submit(conn, cleanup_spec(current, definition), caller, now))
        return written

    await core.db.write(op, then=lambda done: _publish(core, done))


async def reconcile(core: NodeCore, colonyname: str, name: str, caller: Caller, *, force: bool) -> models.Process:
    """Submit a reconcile process for one blueprint now; `force` also bumps its generation."""
    now = core.now_ns()

    def op(conn: Connection) -> _Written:
        current = bq.get_blueprint(conn, colonyname, name)
        if current is None:
            raise NotFound(f"Failed to reconcile blueprint, blueprint {name} not found in colony {colonyname}")
        definition = _definition_for(conn, current, "reconcile")
        if not has_handler(current, definition):
            raise Invalid(f"Failed to reconcile blueprint, nothing handles kind {current.kind}: its definition has no spec.handler.executorType")
        record = _submit(conn, reconcile_spec(current, definition, force=force), caller, now)
        generation = current.metadata.generation + (1 if force else 0)
        bq.replace_blueprint(conn, _reconciled(current, record, now, generation=generation))
        return _Written(records=[record])

    written = await core.db.write(op, then=lambda done: _publish(core, done))
    return written.records[0].process


async def set_status(core: NodeCore, colonyname: str, name: str, status: dict[str, Any] | None) -> None:
    """Replace the reconciler-reported status; spec, generation and history are untouched."""

    def op(conn: Connection) -> None:
        current = bq.get_blueprint(conn, colonyname, name)
        if current is None:
            raise NotFound(f"Failed to update blueprint status, blueprint {name} not found in colony {colonyname}")
        bq.replace_blueprint(conn, msgspec.structs.replace(current, status=status or None))

    await core.db.write(op)


async def add_definition(core: NodeCore, definition: BlueprintDefinition) -> BlueprintDefinition:
    stored = normalized_definition(definition, now=core.now_ns())
    refused = await core.db.write(lambda conn: bq.add_definition(conn, stored))
    if refused is not None:
        raise Conflict(f"Failed to add blueprint definition, {refused}")
    return stored


async def remove_definition(core: NodeCore, colonyname: str, name: str) -> None:
    def op(conn: Connection) -> None:
        definition = bq.get_definition(conn, colonyname, name)
        if definition is None:
            raise NotFound(f"Blueprint definition {name} not found in colony {colonyname}")
        kind = definition.spec.names.kind
        count = bq.count_blueprints(conn, colonyname, kind)
        if count:
            raise Conflict(f"Cannot remove blueprint definition {name}: {count} blueprint(s) of kind {kind} still exist")
        bq.remove_definition(conn, colonyname, name)

    await core.db.write(op)


def check_definition(definition: BlueprintDefinition) -> None:
    """400 naming the first field a definition cannot do without. Like upstream, the handler is
    optional (a definition without one starts no reconcile)."""
    handler = definition.spec.handler
    if not definition.spec.names.kind:
        raise Invalid("Failed to add blueprint definition, spec.names.kind is required")
    interval = handler.reconcileInterval
    if isinstance(interval, int) and not 0 <= interval <= crons.MAX_INTERVAL:
        raise Invalid(f"Failed to add blueprint definition, spec.handler.reconcileInterval must be between 0 and {crons.MAX_INTERVAL} seconds")
    schema = definition.spec.schema
    if isinstance(schema, dict):
        problem = schema_problem(schema)
        if problem is not None:
            raise Invalid(f"Failed to add blueprint definition, invalid schema: {problem}")


def check_cron_name(kind: str, locationname: str) -> None:
    if len(cron_name(kind, locationname)) > MAX_CRON_NAME:
        raise Invalid(f"Failed to add blueprint, kind and locationname together must be at most {MAX_CRON_NAME - 11} characters")

