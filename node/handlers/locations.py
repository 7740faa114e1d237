"""Locations (spec §2.3): named places of a colony that executors and processes refer to."""
from __future__ import annotations

import math
from typing import Any

import msgspec

from colonies import crypto, models
from colonies.messages import AddLocationMsg, ColonyNameMsg, LocationNameMsg
from colonies.node.handlers.limits import MAX_LIST
from colonies.node.rpc import EMPTY, Call, bad_request, not_found, require, rpc
from colonies.node.store import locations as lq
from colonies.node.validate import require_id, require_name


def _member_or_owner(call: Call, colonyname: str) -> None:
    """The colony owner, a user, or an executor of the colony (approved or not)."""
    entry = call.colony(colonyname)
    if entry.colonyid != call.caller_id:
        call.require_member(colonyname, approved=False)


@rpc("addlocationmsg", AddLocationMsg)
async def add_location(call: Call, msg: AddLocationMsg) -> models.Location:
    require(msg.location is not None, "Failed to add location, location is missing")
    location = msg.location
    assert location is not None
    call.require_colony_owner(location.colonyname)
    require_name(location.name, "location name")
    require(math.isfinite(location.long) and math.isfinite(location.lat), "Invalid location: long and lat must be finite numbers")
    if location.locationid:
        require_id(location.locationid, "locationid")
    else:
        location = msgspec.structs.replace(location, locationid=crypto.random_id())
    refused = await call.node.db.write(lambda conn: lq.add(conn, location))
    if refused is not None:
        raise bad_request(refused)
    return location


@rpc("getlocationsmsg", ColonyNameMsg)
async def get_locations(call: Call, msg: ColonyNameMsg) -> list[models.Location]:
    _member_or_owner(call, msg.colonyname)
    return await call.node.db.read(lambda conn: lq.list_of(conn, msg.colonyname, MAX_LIST))


@rpc("getlocationmsg", LocationNameMsg)
async def get_location(call: Call, msg: LocationNameMsg) -> models.Location:
    _member_or_owner(call, msg.colonyname)
    location = await call.node.db.read(lambda conn: lq.get(conn, msg.colonyname, msg.name))
    if location is None:
        raise not_found(f"Location with name {msg.name} not found in colony {msg.colonyname}")
    return location


@rpc("removelocationmsg", LocationNameMsg)
async def remove_location(call: Call, msg: LocationNameMsg) -> dict[str, Any]:
    call.require_colony_owner(msg.colonyname)
    removed = await call.node.db.write(lambda conn: lq.remove(conn, msg.colonyname, msg.name))
    if not removed:
        raise not_found(f"Location with name {msg.name} not found in colony {msg.colonyname}")
    return EMPTY
