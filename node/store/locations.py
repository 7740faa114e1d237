"""Locations of a colony (spec §2.3, §3.15): the table and its queries."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Float, Index, String, Table, Text, delete, insert, select
from sqlalchemy.engine import Connection, Row

from colonies import models
from colonies.node.store.schema import metadata

locations = Table(
    "locations",
    metadata,
    Column("locationid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("long", Float, nullable=False, default=0.0),
    Column("lat", Float, nullable=False, default=0.0),
)
Index("locations_by_name", locations.c.colonyname, locations.c.name, unique=True)

L = locations.c


def _from_row(row: Row[Any]) -> models.Location:
    return models.Location(
        locationid=row.locationid,
        name=row.name,
        colonyname=row.colonyname,
        description=row.description,
        long=row.long,
        lat=row.lat,
    )


def add(conn: Connection, location: models.Location) -> str | None:
    """Insert the location; None when added, else why not (name or id already taken)."""
    taken = conn.execute(
        select(L.name, L.locationid).where(
            ((L.colonyname == location.colonyname) & (L.name == location.name)) | (L.locationid == location.locationid)
        )
    ).first()
    if taken is not None:
        if taken.locationid == location.locationid:
            return f"A location with id {location.locationid} already exists"
        return f"A location with name {location.name} already exists in colony {location.colonyname}"
    conn.execute(
        insert(locations).values(
            locationid=location.locationid,
            colonyname=location.colonyname,
            name=location.name,
            description=location.description,
            long=location.long,
            lat=location.lat,
        )
    )
    return None


def get(conn: Connection, colonyname: str, name: str) -> models.Location | None:
    row = conn.execute(select(locations).where(L.colonyname == colonyname, L.name == name)).first()
    return _from_row(row) if row is not None else None


def list_of(conn: Connection, colonyname: str, limit: int | None = None) -> list[models.Location]:
    rows = conn.execute(select(locations).where(L.colonyname == colonyname).order_by(L.name).limit(limit))
    return [_from_row(r) for r in rows]


def remove(conn: Connection, colonyname: str, name: str) -> int:
    return conn.execute(delete(locations).where(L.colonyname == colonyname, L.name == name)).rowcount


def remove_all_of(conn: Connection, colonyname: str) -> int:
    return conn.execute(delete(locations).where(L.colonyname == colonyname)).rowcount
