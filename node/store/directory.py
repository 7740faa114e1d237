"""Queries for who is who: the server id, colonies, users, executors and their functions."""
from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Row

from colonies import models
from colonies.models import RUNNING, UNREGISTERED
from colonies.node.store import locations as location_queries
from colonies.node.store.sqlfuncs import upsert
from colonies.node.store.schema import attributes, colonies, executors, functions, logs, processes, server, users
from colonies.timefmt import format_ns

_json = msgspec.json.Encoder()


# --- server facts ---------------------------------------------------------------------------
def get_fact(conn: Connection, key: str) -> str | None:
    return conn.execute(select(server.c.value).where(server.c.key == key)).scalar()


def set_fact(conn: Connection, key: str, value: str) -> None:
    upsert(conn, server, {"key": key, "value": value}, ["key"])


# --- colonies -------------------------------------------------------------------------------
def all_colonies(conn: Connection) -> list[tuple[str, str, bool]]:
    return [(r.name, r.colonyid, bool(r.paused)) for r in conn.execute(select(colonies).order_by(colonies.c.name))]


def add_colony(conn: Connection, colony: models.Colony) -> None:
    conn.execute(insert(colonies).values(name=colony.name, colonyid=colony.colonyid, paused=False))


def set_colony_paused(conn: Connection, name: str, paused: bool) -> None:
    conn.execute(update(colonies).where(colonies.c.name == name).values(paused=paused))


def remove_colony(conn: Connection, name: str) -> None:
    """Everything that belongs to the colony goes with it."""
    from colonies.node.store import blueprints as blueprint_queries
    from colonies.node.store import crons as cron_queries
    from colonies.node.store import generators as generator_queries
    from colonies.node.store.channels import delete_for_processes
    from colonies.node.store.workflows import remove_colony_graphs

    from colonies.cfs import store as cfs_queries

    cfs_queries.remove_colony(conn, name)
    blueprint_queries.remove_colony(conn, name)
    cron_queries.remove_colony(conn, name)
    generator_queries.remove_colony(conn, name)
    delete_for_processes(conn, select(processes.c.processid).where(processes.c.colonyname == name))
    remove_colony_graphs(conn, name)
    conn.execute(delete(attributes).where(attributes.c.targetcolonyname == name))
    conn.execute(delete(processes).where(processes.c.colonyname == name))
    conn.execute(delete(logs).where(logs.c.colonyname == name))
    conn.execute(delete(functions).where(functions.c.colonyname == name))
    conn.execute(delete(executors).where(executors.c.colonyname == name))
    conn.execute(delete(users).where(users.c.colonyname == name))
    location_queries.remove_all_of(conn, name)
    conn.execute(delete(colonies).where(colonies.c.name == name))


def set_colony_id(conn: Connection, name: str, colonyid: str) -> None:
    conn.execute(update(colonies).where(colonies.c.name == name).values(colonyid=colonyid))


# --- users ----------------------------------------------------------------------------------
def user_from_row(row: Row[Any]) -> models.User:
    return models.User(colonyname=row.colonyname, userid=row.userid, name=row.name, email=row.email, phone=row.phone)


def all_users(conn: Connection) -> list[models.User]:
    return [user_from_row(r) for r in conn.execute(select(users).order_by(users.c.colonyname, users.c.name))]


def add_user(conn: Connection, user: models.User) -> None:
    conn.execute(
        insert(users).values(colonyname=user.colonyname, name=user.name, userid=user.userid, email=user.email, phone=user.phone)
    )


def remove_user(conn: Connection, colonyname: str, name: str) -> int:
    return conn.execute(delete(users).where(users.c.colonyname == colonyname, users.c.name == name)).rowcount


def set_user_id(conn: Connection, colonyname: str, name: str, userid: str) -> None:
    conn.execute(update(users).where(users.c.colonyname == colonyname, users.c.name == name).values(userid=userid))


# --- executors ------------------------------------------------------------------------------
def executor_from_row(row: Row[Any]) -> models.Executor:
    return models.Executor(
        executorid=row.executorid,
        executortype=row.executortype,
        executorname=row.name,
        colonyname=row.colonyname,
        state=row.state,
        requirefuncreg=bool(row.requirefuncreg),
        commissiontime=format_ns(row.commissiontime),
        lastheardfromtime=format_ns(row.lastheardfrom),
        locationname=row.locationname,
        capabilities=msgspec.json.decode(row.capabilities, type=models.Capabilities),
        allocations=msgspec.json.decode(row.allocations, type=models.Allocations),
    )


def all_executors(conn: Connection) -> list[models.Executor]:
    return [executor_from_row(r) for r in conn.execute(select(executors).order_by(executors.c.colonyname, executors.c.name))]


def upsert_executor(conn: Connection, executor: models.Executor, commissiontime: int) -> None:
    row = {
        "colonyname": executor.colonyname,
        "name": executor.executorname,
        "executorid": executor.executorid,
        "executortype": executor.executortype,
        "state": executor.state,
        "requirefuncreg": executor.requirefuncreg,
        "commissiontime": commissiontime,
        "lastheardfrom": 0,
        "locationname": executor.locationname,
        "capabilities": _json.encode(executor.capabilities).decode(),
        "allocations": _json.encode(executor.allocations).decode(),
    }
    upsert(conn, executors, row, ["colonyname", "name"])


def set_executor_state(conn: Connection, colonyname: str, name: str, state: int) -> None:
    conn.execute(update(executors).where(executors.c.colonyname == colonyname, executors.c.name == name).values(state=state))


def set_executor_json(conn: Connection, colonyname: str, name: str, column: str, value: msgspec.Struct) -> None:
    conn.execute(
        update(executors)
        .where(executors.c.colonyname == colonyname, executors.c.name == name)
        .values({column: _json.encode(value).decode()})
    )


def unregister_executor(conn: Connection, colonyname: str, name: str) -> None:
    conn.execute(delete(functions).where(functions.c.colonyname == colonyname, functions.c.executorname == name))
    set_executor_state(conn, colonyname, name, UNREGISTERED)


def set_executor_id(conn: Connection, colonyname: str, name: str, old_id: str, new_id: str) -> None:
    """The executor's new key; processes it is running now belong to the new id, so it can close them."""
    conn.execute(
        update(executors).where(executors.c.colonyname == colonyname, executors.c.name == name).values(executorid=new_id)
    )
    conn.execute(
        update(processes)
        .where(processes.c.colonyname == colonyname, processes.c.state == RUNNING, processes.c.assignedexecutorid == old_id)
        .values(assignedexecutorid=new_id)
    )


def executor_liveness(conn: Connection) -> list[tuple[str, str, str, int, int]]:
    """(colonyname, name, executorid, commissiontime, lastheardfrom) of every executor still registered."""
    e = executors.c
    rows = conn.execute(
        select(e.colonyname, e.name, e.executorid, e.commissiontime, e.lastheardfrom).where(e.state != UNREGISTERED)
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def touch_executors(conn: Connection, heard: dict[str, int]) -> None:
    """Write-behind of executor liveness (lastheardfrom), batched by the node."""
    for executorid, ts in heard.items():
        conn.execute(update(executors).where(executors.c.executorid == executorid).values(lastheardfrom=ts))


# --- functions ------------------------------------------------------------------------------
def function_from_row(row: Row[Any]) -> models.Function:
    return models.Function(
        functionid=row.functionid,
        executorname=row.executorname,
        executortype=row.executortype,
        colonyname=row.colonyname,
        funcname=row.funcname,
        description=row.description,
        args=msgspec.json.decode(row.args, type=list[models.FunctionArg] | None),
        counter=row.counter,
        minwaittime=row.minwaittime,
        maxwaittime=row.maxwaittime,
        minexectime=row.minexectime,
        maxexectime=row.maxexectime,
        avgwaittime=row.avgwaittime,
        avgexectime=row.avgexectime,
        locationname=row.locationname,
    )


def add_function(conn: Connection, fn: models.Function) -> None:
    conn.execute(
        insert(functions).values(
            functionid=fn.functionid,
            colonyname=fn.colonyname,
            executorname=fn.executorname,
            executortype=fn.executortype,
            funcname=fn.funcname,
            description=fn.description,
            args=_json.encode(fn.args).decode(),
            locationname=fn.locationname,
        )
    )


def find_function(conn: Connection, colonyname: str, executorname: str, funcname: str) -> models.Function | None:
    row = conn.execute(
        select(functions).where(
            functions.c.colonyname == colonyname, functions.c.executorname == executorname, functions.c.funcname == funcname
        )
    ).first()
    return function_from_row(row) if row else None


def get_function(conn: Connection, functionid: str) -> models.Function | None:
    row = conn.execute(select(functions).where(functions.c.functionid == functionid)).first()
    return function_from_row(row) if row else None


def list_functions(conn: Connection, colonyname: str, executorname: str, limit: int | None = None) -> list[models.Function]:
    query = select(functions).where(functions.c.colonyname == colonyname)
    if executorname:
        query = query.where(functions.c.executorname == executorname)
    query = query.order_by(functions.c.executorname, functions.c.funcname).limit(limit)
    return [function_from_row(r) for r in conn.execute(query)]


def remove_function(conn: Connection, functionid: str) -> int:
    return conn.execute(delete(functions).where(functions.c.functionid == functionid)).rowcount
