"""Generators (spec §2.10, §4.10): add, get, resolve, list, pack, remove. Every message needs
membership of the generator's colony. Every Generator reply carries `queuesize` and
`checkerperiod` (upstream fills them in `getgeneratormsg` only)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from colonies import crypto, models
from colonies.messages import AddGeneratorMsg, GeneratorIdMsg, GetGeneratorsMsg, PackGeneratorMsg, ResolveGeneratorMsg
from colonies.node.domain.crons import check_workflow
from colonies.node.rpc import EMPTY, Call, bad_request, not_found, require, rpc
from colonies.node.store import generators as gq
from colonies.node.validate import require_count, require_name
from colonies.wire import RPCError

MAX_COUNT = 100
MAX_ARG = 1024 * 1024
# Go's time.Duration(timeout) * time.Second must not overflow
MAX_TIMEOUT = (2**63 - 1) // 1_000_000_000 // 2


def _reply(call: Call, row: Row[Any], queuesize: int) -> models.Generator:
    period_ms = round(call.node.config.generator_checker_period * 1000)
    return gq.to_model(row, queuesize=queuesize, checkerperiod_ms=period_ms)


async def _with_queue(call: Call, row: Row[Any]) -> models.Generator:
    # counting a queue reads every queued argument
    size = await call.node.db.read(lambda conn: gq.queue_size(conn, row.generatorid), offloop=True)
    return _reply(call, row, size)


async def _member_generator(call: Call, generatorid: str) -> Row[Any]:
    row = await call.node.db.read(lambda conn: gq.get(conn, generatorid))
    if row is None:
        raise not_found(f"Generator with id {generatorid} not found")
    call.require_member(row.colonyname)
    return row


@rpc("addgeneratormsg", AddGeneratorMsg)
async def add_generator(call: Call, msg: AddGeneratorMsg) -> models.Generator:
    require(msg.generator is not None, "Failed to add generator, msg.Generator is nil")
    generator = msg.generator
    assert generator is not None
    initiator = call.require_member(generator.colonyname)
    require_name(generator.name, "generator name")
    check_workflow(generator.workflowspec, generator.colonyname, "generator")
    if generator.trigger < 1:
        raise bad_request("Failed to add generator, trigger must be at least 1")
    if not -1 <= generator.timeout <= MAX_TIMEOUT:
        raise bad_request(f"Failed to add generator, timeout must be -1 or 0 (none) or between 1 and {MAX_TIMEOUT} seconds")
    row = {
        "generatorid": crypto.random_id(),
        "colonyname": generator.colonyname,
        "name": generator.name,
        "initiatorid": call.caller_id,
        "initiatorname": initiator,
        "workflowspec": generator.workflowspec,
        "trigger": generator.trigger,
        "timeout": generator.timeout,
        "firstpack": 0,
        "lastrun": 0,
        "added": call.now(),
    }
    added = await call.node.db.write(lambda conn: gq.add(conn, row))
    if added is None:
        raise RPCError(400, f"Failed to add generator, a generator named {generator.name} already exists in colony {generator.colonyname}")
    return _reply(call, added, 0)


@rpc("getgeneratormsg", GeneratorIdMsg)
async def get_generator(call: Call, msg: GeneratorIdMsg) -> models.Generator:
    return await _with_queue(call, await _member_generator(call, msg.generatorid))


@rpc("resolvegeneratormsg", ResolveGeneratorMsg)
async def resolve_generator(call: Call, msg: ResolveGeneratorMsg) -> models.Generator:
    call.require_member(msg.colonyname)
    row = await call.node.db.read(lambda conn: gq.get_by_name(conn, msg.colonyname, msg.generatorname))
    if row is None:
        raise not_found(f"Generator with name {msg.generatorname} not found in colony {msg.colonyname}")
    return await _with_queue(call, row)


@rpc("getgeneratorsmsg", GetGeneratorsMsg)
async def get_generators(call: Call, msg: GetGeneratorsMsg) -> list[models.Generator]:
    call.require_member(msg.colonyname)
    require_count(msg.count, MAX_COUNT)

    def read(conn):  # type: ignore[no-untyped-def]
        rows = gq.list_for_colony(conn, msg.colonyname, msg.count)
        return rows, gq.queue_sizes(conn, [r.generatorid for r in rows])

    rows, sizes = await call.node.db.read(read, offloop=True)
    return [_reply(call, row, sizes.get(row.generatorid, 0)) for row in rows]


@rpc("packgeneratormsg", PackGeneratorMsg)
async def pack_generator(call: Call, msg: PackGeneratorMsg) -> dict[str, Any]:
    if len(msg.arg) > MAX_ARG:
        raise bad_request(f"Failed to pack generator, arg longer than {MAX_ARG} characters")
    row = await _member_generator(call, msg.generatorid)
    now = call.now()
    if not await call.node.db.write(lambda conn: gq.pack(conn, row.generatorid, msg.arg, now)):
        raise not_found(f"Generator with id {msg.generatorid} not found")
    return EMPTY


@rpc("removegeneratormsg", GeneratorIdMsg)
async def remove_generator(call: Call, msg: GeneratorIdMsg) -> dict[str, Any]:
    row = await _member_generator(call, msg.generatorid)
    await call.node.db.write(lambda conn: gq.remove(conn, row.generatorid))
    return EMPTY
