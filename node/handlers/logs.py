"""Process and executor logs (spec §2.8, §4.11)."""
from __future__ import annotations

from typing import Any

from colonies import models
from colonies.messages import AddExecutorLogMsg, AddLogMsg, GetLogsMsg, SearchLogsMsg
from colonies.node.rpc import EMPTY, Call, bad_request, require, rpc, running_process_of_caller
from colonies.node.store import logs as lq
from colonies.node.store import processes as pq
from colonies.node.validate import require_count
from colonies.wire import RPCError

MAX_LOG_COUNT = 500
MAX_SEARCH_COUNT = 100
MAX_DAYS = 30
MAX_MESSAGE = 64 * 1024
DAY_NS = 86_400 * 1_000_000_000


@rpc("addlogmsg", AddLogMsg)
async def add_log(call: Call, msg: AddLogMsg) -> dict[str, Any]:
    require(len(msg.message) <= MAX_MESSAGE, f"Failed to add log, message longer than {MAX_MESSAGE} characters")
    record = await running_process_of_caller(call, msg.processid, "add logs")
    executor = call.node.directory.executor_by_id(record.colonyname, call.caller_id)
    name = executor.executorname if executor else ""
    now = call.now()
    await call.node.db.write(
        lambda conn: lq.add(conn, processid=msg.processid, colonyname=record.colonyname, executorname=name, ts=now, message=msg.message)
    )
    return EMPTY


@rpc("addexecutorlogmsg", AddExecutorLogMsg)
async def add_executor_log(call: Call, msg: AddExecutorLogMsg) -> dict[str, Any]:
    require(len(msg.message) <= MAX_MESSAGE, f"Failed to add log, message longer than {MAX_MESSAGE} characters")
    call.require_member(msg.colonyname)
    executor = call.node.directory.executor(msg.colonyname, msg.executorname)
    if executor is None or executor.executorid != call.caller_id:
        raise RPCError(403, f"Access denied, caller is not executor {msg.executorname}")
    now = call.now()
    await call.node.db.write(
        lambda conn: lq.add(conn, processid="", colonyname=msg.colonyname, executorname=msg.executorname, ts=now, message=msg.message)
    )
    return EMPTY


@rpc("getlogsmsg", GetLogsMsg)
async def get_logs(call: Call, msg: GetLogsMsg) -> list[models.Log]:
    call.require_member(msg.colonyname)
    require_count(msg.count, MAX_LOG_COUNT)
    if not msg.processid and not msg.executorname:
        raise bad_request("Failed to get logs, give a processid or an executorname")
    if msg.processid:
        record = await call.node.db.read(lambda conn: pq.get_record(conn, msg.processid))
        if record is not None and record.colonyname != msg.colonyname:
            raise RPCError(403, f"Access denied, process does not belong to colony {msg.colonyname}")
    return await call.node.db.read(
        lambda conn: lq.get(
            conn,
            colonyname=msg.colonyname,
            processid=msg.processid,
            executorname=msg.executorname,
            count=msg.count,
            since=msg.since,
            latest=msg.latest,
        )
    )


@rpc("searchlogsmsg", SearchLogsMsg)
async def search_logs(call: Call, msg: SearchLogsMsg) -> list[models.Log]:
    call.require_member(msg.colonyname)
    require_count(msg.count, MAX_SEARCH_COUNT)
    if msg.days < 0 or msg.days > MAX_DAYS:
        raise bad_request(f"Invalid days {msg.days}: must be between 0 and {MAX_DAYS}")
    require(bool(msg.text), "Failed to search logs, text is empty")
    since = call.now() - msg.days * DAY_NS
    # a substring match reads every log of the colony in the window
    return await call.node.db.read(
        lambda conn: lq.search(conn, colonyname=msg.colonyname, text=msg.text, since_ns=since, count=msg.count), offloop=True
    )
