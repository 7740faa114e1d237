"""Crons (spec §2.10, §4.9): add, get, list, run, remove. Every message needs membership of the
cron's colony; `runcronmsg` checks it before running (upstream runs the cron first)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from colonies import crypto, models
from colonies.messages import AddCronMsg, CronIdMsg, GetCronsMsg
from colonies.node.domain import crons
from colonies.node.rpc import EMPTY, Call, not_found, rpc
from colonies.node.store import crons as cq
from colonies.node.validate import require_count, require_name
from colonies.wire import RPCError

MAX_COUNT = 100


def _reply(call: Call, row: Row[Any]) -> models.Cron:
    return cq.to_model(row, checkerperiod_ms=round(call.node.config.cron_checker_period * 1000))


async def _member_cron(call: Call, cronid: str) -> Row[Any]:
    row = await call.node.db.read(lambda conn: cq.get(conn, cronid))
    if row is None:
        raise not_found(f"Cron with id {cronid} not found")
    call.require_member(row.colonyname)
    return row


@rpc("addcronmsg", AddCronMsg)
async def add_cron(call: Call, msg: AddCronMsg) -> models.Cron:
    cron = crons.cron_from_request(msg.cron)
    initiator = call.require_member(cron.colonyname)
    require_name(cron.name, "cron name")
    crons.check_workflow(cron.workflowspec, cron.colonyname, "cron")
    crons.check_schedule(cron)
    now = call.now()
    row = {
        "cronid": crypto.random_id(),
        "colonyname": cron.colonyname,
        "name": cron.name,
        "initiatorid": call.caller_id,
        "initiatorname": initiator,
        "cronexpression": cron.cronexpression,
        "interval": cron.interval,
        "random": cron.random,
        # scheduled now so the reply shows when it first runs (upstream leaves it to the first check)
        "nextrun": crons.schedule_of(cron, now),
        "lastrun": 0,
        "workflowspec": cron.workflowspec,
        "prevprocessgraphid": "",
        "waitforprevprocessgraph": cron.waitforprevprocessgraph,
        "added": now,
    }
    added = await call.node.db.write(lambda conn: cq.add(conn, row))
    if added is None:
        raise RPCError(400, f"Failed to add cron, a cron named {cron.name} already exists in colony {cron.colonyname}")
    return _reply(call, added)


@rpc("getcronmsg", CronIdMsg)
async def get_cron(call: Call, msg: CronIdMsg) -> models.Cron:
    return _reply(call, await _member_cron(call, msg.cronid))


@rpc("getcronsmsg", GetCronsMsg)
async def get_crons(call: Call, msg: GetCronsMsg) -> list[models.Cron]:
    call.require_member(msg.colonyname)
    require_count(msg.count, MAX_COUNT)
    rows = await call.node.db.read(lambda conn: cq.list_for_colony(conn, msg.colonyname, msg.count))
    return [_reply(call, row) for row in rows]


@rpc("runcronmsg", CronIdMsg)
async def run_cron(call: Call, msg: CronIdMsg) -> models.Cron:
    await _member_cron(call, msg.cronid)  # authorised before anything runs
    await crons.run_now(call.node, msg.cronid)
    row = await call.node.db.read(lambda conn: cq.get(conn, msg.cronid))
    if row is None:
        raise not_found(f"Cron with id {msg.cronid} not found")
    return _reply(call, row)


@rpc("removecronmsg", CronIdMsg)
async def remove_cron(call: Call, msg: CronIdMsg) -> dict[str, Any]:
    await _member_cron(call, msg.cronid)
    await call.node.db.write(lambda conn: cq.remove(conn, msg.cronid))
    return EMPTY
