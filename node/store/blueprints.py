"""Blueprints (spec §2.13, §3.17): definitions, instances and their history — tables and queries.

Each row keeps the whole wire document (msgspec-encoded JSON) beside the columns it is queried by,
so arbitrary `spec`, `status` and `schema` objects round-trip unchanged.
"""
from __future__ import annotations

import msgspec
from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from colonies.blueprint_models import Blueprint, BlueprintDefinition, BlueprintHistory
from colonies.node.store.crons import crons
from colonies.node.store.schema import metadata

blueprint_definitions = Table(
    "blueprint_definitions",
    metadata,
    Column("definitionid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    Column("kind", String(256), nullable=False),
    Column("document", Text, nullable=False),
)
Index("blueprint_definitions_by_name", blueprint_definitions.c.colonyname, blueprint_definitions.c.name, unique=True)
Index("blueprint_definitions_by_kind", blueprint_definitions.c.colonyname, blueprint_definitions.c.kind, unique=True)

blueprints = Table(
    "blueprints",
    metadata,
    Column("blueprintid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    Column("kind", String(256), nullable=False),
    Column("locationname", String(256), nullable=False, default=""),
    Column("document", Text, nullable=False),
)
Index("blueprints_by_name", blueprints.c.colonyname, blueprints.c.name, unique=True)
Index("blueprints_by_kind", blueprints.c.colonyname, blueprints.c.kind, blueprints.c.locationname)

blueprint_history = Table(
    "blueprint_history",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # insertion order, newest = highest
    Column("historyid", String(64), nullable=False),
    Column("blueprintid", String(64), nullable=False),
    Column("colonyname", String(256), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("document", Text, nullable=False),
)
Index("blueprint_history_by_blueprint", blueprint_history.c.blueprintid, blueprint_history.c.seq)
Index("blueprint_history_by_colony", blueprint_history.c.colonyname)

D = blueprint_definitions.c
B = blueprints.c
H = blueprint_history.c

_encode = msgspec.json.Encoder().encode
_definition = msgspec.json.Decoder(BlueprintDefinition)
_blueprint = msgspec.json.Decoder(Blueprint)
_history = msgspec.json.Decoder(BlueprintHistory)


# --- definitions ------------------------------------------------------------------------------
def add_definition(conn: Connection, definition: BlueprintDefinition) -> str | None:
    """Insert; None when added, else why not (id, name or kind already taken in the colony)."""
    colonyname = definition.metadata.colonyname
    kind = definition.spec.names.kind
    taken = conn.execute(
        select(D.definitionid, D.name, D.kind).where(
            ((D.colonyname == colonyname) & ((D.name == definition.metadata.name) | (D.kind == kind)))
            | (D.definitionid == definition.blueprintdefinitionid)
        )
    ).first()
    if taken is not None:
        if taken.definitionid == definition.blueprintdefinitionid:
            return f"A blueprint definition with id {definition.blueprintdefinitionid} already exists"
        if taken.name == definition.metadata.name:
            return f"A blueprint definition named {definition.metadata.name} already exists in colony {colonyname}"
        return f"Blueprint definition {taken.name} already defines kind {kind} in colony {colonyname}"
    conn.execute(
        insert(blueprint_definitions).values(
            definitionid=definition.blueprintdefinitionid,
            colonyname=colonyname,
            name=definition.metadata.name,
            kind=kind,
            document=_encode(definition).decode(),
        )
    )
    return None


def get_definition(conn: Connection, colonyname: str, name: str) -> BlueprintDefinition | None:
    row = conn.execute(select(D.document).where(D.colonyname == colonyname, D.name == name)).first()
    return _definition.decode(row.document) if row is not None else None


def definition_for_kind(conn: Connection, colonyname: str, kind: str) -> BlueprintDefinition | None:
    row = conn.execute(select(D.document).where(D.colonyname == colonyname, D.kind == kind)).first()
    return _definition.decode(row.document) if row is not None else None


def list_definitions(conn: Connection, colonyname: str, *, limit: int | None = None) -> list[BlueprintDefinition]:
    rows = conn.execute(select(D.document).where(D.colonyname == colonyname).order_by(D.name).limit(limit))
    return [_definition.decode(r.document) for r in rows]


def remove_definition(conn: Connection, colonyname: str, name: str) -> int:
    return conn.execute(delete(blueprint_definitions).where(D.colonyname == colonyname, D.name == name)).rowcount


# --- blueprints -------------------------------------------------------------------------------
def insert_blueprint(conn: Connection, blueprint: Blueprint) -> None:
    meta = blueprint.metadata
    conn.execute(
        insert(blueprints).values(
            blueprintid=blueprint.blueprintid,
            colonyname=meta.colonyname,
            name=meta.name,
            kind=blueprint.kind,
            locationname=meta.locationname,
            document=_encode(blueprint).decode(),
        )
    )


def replace_blueprint(conn: Connection, blueprint: Blueprint) -> int:
    """Store a new version of the document; kind, name, colony and location never change."""
    return conn.execute(
        update(blueprints).where(B.blueprintid == blueprint.blueprintid).values(document=_encode(blueprint).decode())
    ).rowcount


def blueprint_id_taken(conn: Connection, blueprintid: str) -> bool:
    return conn.execute(select(B.blueprintid).where(B.blueprintid == blueprintid)).first() is not None


def get_blueprint(conn: Connection, colonyname: str, name: str) -> Blueprint | None:
    row = conn.execute(select(B.document).where(B.colonyname == colonyname, B.name == name)).first()
    return _blueprint.decode(row.document) if row is not None else None


def get_blueprint_by_id(conn: Connection, blueprintid: str) -> Blueprint | None:
    row = conn.execute(select(B.document).where(B.blueprintid == blueprintid)).first()
    return _blueprint.decode(row.document) if row is not None else None


def list_blueprints(
    conn: Connection, colonyname: str, *, kind: str = "", locationname: str = "", limit: int | None = None
) -> list[Blueprint]:
    query = select(B.document).where(B.colonyname == colonyname)
    if kind:
        query = query.where(B.kind == kind)
    if locationname:
        query = query.where(B.locationname == locationname)
    return [_blueprint.decode(r.document) for r in conn.execute(query.order_by(B.name).limit(limit))]


def count_blueprints(conn: Connection, colonyname: str, kind: str, locationname: str | None = None) -> int:
    """Blueprints of a kind in the colony; only those at `locationname` when it is given ("" = none)."""
    query = select(func.count()).select_from(blueprints).where(B.colonyname == colonyname, B.kind == kind)
    if locationname is not None:
        query = query.where(B.locationname == locationname)
    return int(conn.execute(query).scalar_one())


def remove_blueprint(conn: Connection, blueprintid: str) -> int:
    return conn.execute(delete(blueprints).where(B.blueprintid == blueprintid)).rowcount


# --- history ----------------------------------------------------------------------------------
def add_history(conn: Connection, entry: BlueprintHistory, *, ts: int) -> None:
    conn.execute(
        insert(blueprint_history).values(
            historyid=entry.historyid,
            blueprintid=entry.blueprintid,
            colonyname=entry.namespace,
            ts=ts,
            document=_encode(entry).decode(),
        )
    )


def history_of(conn: Connection, blueprintid: str, limit: int) -> list[BlueprintHistory]:
    """Newest first; `limit` <= 0 means all."""
    query = select(H.document).where(H.blueprintid == blueprintid).order_by(H.seq.desc())
    if limit > 0:
        query = query.limit(limit)
    return [_history.decode(r.document) for r in conn.execute(query)]


def history_colony(conn: Connection, blueprintid: str) -> str | None:
    """The colony a blueprint's history belongs to (also after the blueprint was removed)."""
    row = conn.execute(select(H.colonyname).where(H.blueprintid == blueprintid).limit(1)).first()
    return row.colonyname if row is not None else None


# --- the reconcile cron (a row of the crons table, see node/store/crons.py) ---------------------
def cron_id(conn: Connection, colonyname: str, name: str) -> str | None:
    row = conn.execute(select(crons.c.cronid).where(crons.c.colonyname == colonyname, crons.c.name == name)).first()
    return row.cronid if row is not None else None


# --- colony removal ---------------------------------------------------------------------------
def remove_colony(conn: Connection, colonyname: str) -> None:
    """Every definition, blueprint and history entry of a colony."""
    conn.execute(delete(blueprint_history).where(H.colonyname == colonyname))
    conn.execute(delete(blueprints).where(B.colonyname == colonyname))
    conn.execute(delete(blueprint_definitions).where(D.colonyname == colonyname))
