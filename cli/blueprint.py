"""`colonies blueprint`: declarative resources and their definitions (spec §2.13, §4.13; upstream `blueprint`).

The node turns a blueprint's changes into reconcile processes for the handler's executor type; the
commands here read and change the desired state (`spec`) and show what reconcilers report (`status`)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from colonies import messages
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
)
from colonies.models import Process

from . import common
from .common import ColonyKeyOption, ColonyOption, JsonOption, PrvKeyOption, UrlOption, WideOption
from .log import log_listing

app = common.group("Blueprints: definitions, blueprints, reconcile, history and the reconciler's log.")
definition_app = common.group("Blueprint definitions (colony owner): the kinds a colony knows and who reconciles them.")
app.add_typer(definition_app, name="definition")

NameOption = Annotated[str, typer.Option("--name", "-n", help="The blueprint's name.")]
SpecOption = Annotated[Path, typer.Option("--spec", exists=True, dir_okay=False, help="The object as JSON (upstream's format).")]


def _rpc(url: str, prvkey: str, msg: messages.Msg, kind: Any) -> Any:
    with common.connect(url, prvkey) as client:
        _, payload = client.rpc(msg, prvkey)
    return msgspec.json.decode(payload, type=kind)


def _in_colony(meta: Any, colony: str) -> Any:
    return meta if meta.colonyname else msgspec.structs.replace(meta, colonyname=common.colony_name(colony))


# --- definitions ----------------------------------------------------------------------------------

def _definition_listing(definitions: list[BlueprintDefinition], wide: bool) -> Any:
    listing = common.table("name", "kind", "group", "version", "handler type", "function")
    for d in sorted(definitions, key=lambda d: d.metadata.name):
        handler = d.spec.handler
        common.add_row(listing, d.metadata.name, d.spec.names.kind, d.spec.group, d.spec.version, handler.executorType or common.NONE, handler.functionName or common.NONE)
    return listing


@definition_app.command("add")
def definition_add(spec_file: SpecOption, colony: ColonyOption = "", url: UrlOption = "", colony_prvkey: ColonyKeyOption = "", as_json: JsonOption = False) -> None:
    """Add a definition: kind, metadata and spec.names.kind at least; spec.handler names the reconciler."""
    definition = common.load_json(spec_file, BlueprintDefinition)
    definition = msgspec.structs.replace(definition, metadata=_in_colony(definition.metadata, colony))
    msg = AddBlueprintDefinitionMsg(msgtype="addblueprintdefinitionmsg", blueprintdefinition=definition)
    added = _rpc(url, common.colony_key(colony_prvkey), msg, BlueprintDefinition)
    if as_json:
        common.print_json(added)
    else:
        common.done(f"definition {added.metadata.name} added (kind {added.spec.names.kind})")


@definition_app.command("get")
def definition_get(name: Annotated[str, typer.Option("--name", "-n", help="The definition's name.")], colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Show a definition (a member's key)."""
    msg = GetBlueprintDefinitionMsg(msgtype="getblueprintdefinitionmsg", colonyname=common.colony_name(colony), name=name)
    definition = _rpc(url, common.member_key(prvkey), msg, BlueprintDefinition)
    if as_json:
        common.print_json(definition)
        return
    handler = definition.spec.handler
    common.show(common.details([
        ("name", definition.metadata.name),
        ("definition id", definition.blueprintdefinitionid),
        ("kind", definition.spec.names.kind),
        ("group, version", f"{definition.spec.group or common.NONE}, {definition.spec.version or common.NONE}"),
        ("handler", f"{handler.executorType} / {handler.functionName or 'reconcile'}" if handler.executorType else "none (no reconcile)"),
        ("schema", json.dumps(definition.spec.schema) if isinstance(definition.spec.schema, dict) else common.NONE),
    ]))


@definition_app.command("ls")
def definition_ls(colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False, wide: WideOption = False) -> None:
    """The colony's definitions (a member's key)."""
    colonyname = common.colony_name(colony)
    msg = GetBlueprintDefinitionsMsg(msgtype="getblueprintdefinitionsmsg", colonyname=colonyname)
    definitions = _rpc(url, common.member_key(prvkey), msg, list[BlueprintDefinition] | None) or []
    common.print_listing(definitions, as_json, wide, _definition_listing, f"no blueprint definitions in colony {colonyname}")


@definition_app.command("remove")
def definition_remove(name: Annotated[str, typer.Option("--name", "-n", help="The definition's name.")], colony: ColonyOption = "", url: UrlOption = "", colony_prvkey: ColonyKeyOption = "") -> None:
    """Remove a definition (refused while blueprints of its kind exist)."""
    msg = RemoveBlueprintDefinitionMsg(msgtype="removeblueprintdefinitionmsg", namespace=common.colony_name(colony), name=name)
    _rpc(url, common.colony_key(colony_prvkey), msg, Any)
    common.done(f"definition {name} removed")


# --- blueprints -----------------------------------------------------------------------------------

def _blueprint_view(blueprint: Blueprint, as_json: bool) -> None:
    if as_json:
        common.print_json(blueprint)
        return
    meta = blueprint.metadata
    common.show(common.details([
        ("name", meta.name),
        ("blueprint id", blueprint.blueprintid),
        ("kind", blueprint.kind),
        ("colony", meta.colonyname),
        ("location", meta.locationname or common.NONE),
        ("generation", meta.generation),
        ("spec", json.dumps(blueprint.spec or {})),
        ("status", json.dumps(blueprint.status) if blueprint.status else common.NONE),
        ("updated", common.when(meta.updatedAt)),
        ("last reconcile", f"{meta.lastReconciliationProcess} ({common.since(meta.lastReconciliationTime)})" if meta.lastReconciliationProcess else common.NONE),
    ]))


def _load_blueprint(spec_file: Path, colony: str) -> Blueprint:
    blueprint = common.load_json(spec_file, Blueprint)
    return msgspec.structs.replace(blueprint, metadata=_in_colony(blueprint.metadata, colony))


def _get(url: str, prvkey: str, colony: str, name: str) -> Blueprint:
    msg = GetBlueprintMsg(msgtype="getblueprintmsg", namespace=common.colony_name(colony), name=name)
    return _rpc(url, common.member_key(prvkey), msg, Blueprint)


def _update(url: str, prvkey: str, blueprint: Blueprint, force: bool) -> Blueprint:
    msg = UpdateBlueprintMsg(msgtype="updateblueprintmsg", blueprint=blueprint, forcegeneration=force)
    return _rpc(url, common.member_key(prvkey), msg, Blueprint)


@app.command()
def add(spec_file: SpecOption, colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Add a blueprint (its kind needs a definition); a handler, if any, gets a reconcile process."""
    msg = AddBlueprintMsg(msgtype="addblueprintmsg", blueprint=_load_blueprint(spec_file, colony))
    _blueprint_view(_rpc(url, common.member_key(prvkey), msg, Blueprint), as_json)


@app.command()
def get(name: NameOption, colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Show a blueprint: spec, status, generation, last reconcile."""
    _blueprint_view(_get(url, prvkey, colony, name), as_json)


def _blueprint_listing(blueprints: list[Blueprint], wide: bool) -> Any:
    now = time.time()
    listing = common.table("name", "kind", "location", "generation", "blueprint id", "updated")
    for b in sorted(blueprints, key=lambda b: b.metadata.name):
        meta = b.metadata
        common.add_row(listing, meta.name, b.kind, meta.locationname or common.NONE, meta.generation, common.short(b.blueprintid, wide), common.since(meta.updatedAt, now))
    return listing


@app.command("ls")
def list_blueprints(
    kind: Annotated[str, typer.Option("--kind", help="Only this kind.")] = "",
    location: Annotated[str, typer.Option("--location", help="Only at this location.")] = "",
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The colony's blueprints."""
    colonyname = common.colony_name(colony)
    msg = GetBlueprintsMsg(msgtype="getblueprintsmsg", namespace=colonyname, kind=kind, locationname=location)
    blueprints = _rpc(url, common.member_key(prvkey), msg, list[Blueprint] | None) or []
    common.print_listing(blueprints, as_json, wide, _blueprint_listing, f"no blueprints in colony {colonyname}")


ForceOption = Annotated[bool, typer.Option("--force", help="Bump the generation (and reconcile) even when the spec is unchanged.")]


@app.command()
def update(spec_file: SpecOption, force: ForceOption = False, colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Replace a blueprint's spec (and labels, annotations, handler) from a file."""
    _blueprint_view(_update(url, prvkey, _load_blueprint(spec_file, colony), force), as_json)


@app.command("set")
def set_value(
    name: NameOption,
    key: Annotated[str, typer.Option("--key", help="A dotted path in the spec, e.g. replicas or spec.resources.cpu.")],
    value: Annotated[str, typer.Option("--value", help="The new value: JSON (3, true, [\"a\"]) or else a string.")],
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Set one value in a blueprint's spec and update it."""
    try:
        parsed: Any = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    path = key.removeprefix("spec.").split(".")
    if not all(path):
        common.fail(f"--key {key!r} is not a dotted path")
    blueprint = _get(url, prvkey, colony, name)
    spec = dict(blueprint.spec or {})
    node = spec
    for part in path[:-1]:
        child = node.get(part)
        node[part] = dict(child) if isinstance(child, dict) else {}
        node = node[part]
    node[path[-1]] = parsed
    _blueprint_view(_update(url, prvkey, msgspec.structs.replace(blueprint, spec=spec), False), as_json)


@app.command()
def remove(name: NameOption, colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "") -> None:
    """Remove a blueprint; a handler, if any, gets a cleanup process."""
    msg = RemoveBlueprintMsg(msgtype="removeblueprintmsg", namespace=common.colony_name(colony), name=name)
    _rpc(url, common.member_key(prvkey), msg, Any)
    common.done(f"blueprint {name} removed")


@app.command()
def reconcile(name: NameOption, force: ForceOption = False, colony: ColonyOption = "", url: UrlOption = "", prvkey: PrvKeyOption = "", as_json: JsonOption = False) -> None:
    """Submit a reconcile process for the blueprint now (its definition must name a handler)."""
    msg = ReconcileBlueprintMsg(msgtype="reconcileblueprintmsg", namespace=common.colony_name(colony), name=name, force=force)
    process = _rpc(url, common.member_key(prvkey), msg, Process)
    if as_json:
        common.print_json(process)
    else:
        common.done(process.processid)


def _history_listing(entries: list[BlueprintHistory], wide: bool) -> Any:
    now = time.time()
    listing = common.table("generation", "change", "when", "by", "spec")
    for entry in entries:
        common.add_row(listing, entry.generation, entry.changetype, common.since(entry.timestamp, now), common.short(entry.changedby, wide), common.jsonish(entry.spec))
    return listing


@app.command()
def history(
    name: NameOption,
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most this many, newest first (0: all).")] = 0,
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """A blueprint's changes, newest first: generation, create/update/delete, when, by whom, the spec."""
    blueprint = _get(url, prvkey, colony, name)
    msg = GetBlueprintHistoryMsg(msgtype="getblueprinthistorymsg", blueprintid=blueprint.blueprintid, limit=limit)
    entries = _rpc(url, common.member_key(prvkey), msg, list[BlueprintHistory] | None) or []
    common.print_listing(entries, as_json, wide, _history_listing, f"no history for blueprint {name}")


@app.command()
def log(
    name: NameOption,
    count: Annotated[int, typer.Option("--count", min=1, max=500, help="At most this many lines.")] = 100,
    colony: ColonyOption = "",
    url: UrlOption = "",
    prvkey: PrvKeyOption = "",
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The log of the blueprint's last reconcile process."""
    blueprint = _get(url, prvkey, colony, name)
    processid = blueprint.metadata.lastReconciliationProcess
    if not processid:
        common.fail(f"blueprint {name} has not been reconciled yet")
    with common.connect(url, common.member_key(prvkey)) as client:
        logs = client.get_logs(blueprint.metadata.colonyname, processid, count=count)
    common.print_listing(logs, as_json, wide, log_listing, f"no log lines from reconcile process {processid}")
