"""Colonies (spec §2.2)."""
from __future__ import annotations

from typing import Any

from colonies import models
from colonies.messages import AddColonyMsg, ColonyNameMsg, GetColoniesMsg
from colonies.node.directory import ColonyEntry
from colonies.node.domain import removals
from colonies.node.rpc import EMPTY, Call, bad_request, require, rpc
from colonies.node.stats import statistics
from colonies.node.store import directory as dq
from colonies.node.validate import require_id, require_name


@rpc("addcolonymsg", AddColonyMsg)
async def add_colony(call: Call, msg: AddColonyMsg) -> models.Colony:
    call.require_server_owner()
    colony = msg.colony
    require(colony is not None, "Failed to add colony, colony is missing")
    assert colony is not None
    require_id(colony.colonyid, "colonyid")
    require_name(colony.name, "colony name")
    if call.node.directory.colony(colony.name) is not None:
        raise bad_request(f"A Colony with name {colony.name} already exists")
    await call.node.db.write(lambda conn: dq.add_colony(conn, colony))
    call.node.directory.colonies[colony.name] = ColonyEntry(colony.name, colony.colonyid)
    return models.Colony(colonyid=colony.colonyid, name=colony.name)


@rpc("removecolonymsg", ColonyNameMsg)
async def remove_colony(call: Call, msg: ColonyNameMsg) -> dict[str, Any]:
    call.require_server_owner()
    call.colony(msg.colonyname)
    await removals.remove_colony(call.node, msg.colonyname)
    return EMPTY


@rpc("getcoloniesmsg", GetColoniesMsg)
async def get_colonies(call: Call, msg: GetColoniesMsg) -> list[models.Colony]:
    call.require_server_owner()
    return [models.Colony(colonyid=c.colonyid, name=c.name) for c in sorted(call.node.directory.colonies.values(), key=lambda c: c.name)]


@rpc("getcolonymsg", ColonyNameMsg)
async def get_colony(call: Call, msg: ColonyNameMsg) -> models.Colony:
    call.require_member_or_owner(msg.colonyname)
    entry = call.colony(msg.colonyname)
    return models.Colony(colonyid=entry.colonyid, name=entry.name)


@rpc("getcolonystatsmsg", ColonyNameMsg)
async def colony_stats(call: Call, msg: ColonyNameMsg) -> models.Statistics:
    # Upstream answers 200 with an empty body when the caller is not a member; we answer 403.
    call.require_member_or_owner(msg.colonyname)
    return await statistics(call.node, msg.colonyname)
