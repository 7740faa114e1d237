"""Turning a submitted function spec into a process row (shared by submits, workflows, crons)."""
from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from colonies import crypto
from colonies.models import ENV, WAITING, FunctionSpec
from colonies.node.resources import QuantityError, cpu_millicores, mem_mebibytes
from colonies.wire import RPCError

MAX_PRIORITY = 50_000
# 100 years: far beyond any real deadline, and now + it in nanoseconds still fits an int64
MAX_SECONDS = 100 * 365 * 86_400
MAX_RETRIES = 2**31 - 1
MAX_CHANNELS = 100
DAY_NS = 86_400 * 1_000_000_000
NS = 1_000_000_000

_json = msgspec.json.Encoder()


def prioritytime(priority: int, submission_ns: int) -> int:
    """Lower runs first: one priority unit weighs as much as one day of queueing (spec §4.1)."""
    return priority * -DAY_NS + submission_ns


def attribute_id(targetid: str, key: str, attributetype: int) -> str:
    return hashlib.sha3_256(f"{targetid}{key}{attributetype}".encode()).hexdigest()


def validate_spec(spec: FunctionSpec) -> FunctionSpec:
    """The normalised spec, or a 400 naming what is wrong."""
    if not -MAX_PRIORITY <= spec.priority <= MAX_PRIORITY:
        raise RPCError(400, f"Failed to submit function spec, priority outside range [-{MAX_PRIORITY}, {MAX_PRIORITY}]")
    if not spec.conditions.colonyname:
        raise RPCError(400, "Failed to submit function spec, conditions.colonyname is empty")
    if not spec.conditions.executortype:
        raise RPCError(400, "Failed to submit function spec, conditions.executortype is empty")
    for field, upper in (("maxwaittime", MAX_SECONDS), ("maxexectime", MAX_SECONDS), ("maxretries", MAX_RETRIES)):
        value = getattr(spec, field)
        if not -1 <= value <= upper:
            raise RPCError(400, f"Failed to submit function spec, {field} must be -1 (unlimited) or between 0 and {upper}")
    channels = spec.channels or []
    if len(channels) > MAX_CHANNELS:
        raise RPCError(400, f"Failed to submit function spec, more than {MAX_CHANNELS} channels")
    if len(set(channels)) != len(channels) or any(not name or len(name) > 256 for name in channels):
        raise RPCError(400, "Failed to submit function spec, channel names must be unique, non-empty and at most 256 characters")
    try:
        cpu_millicores(spec.conditions.cpu)
        mem_mebibytes(spec.conditions.mem)
    except QuantityError as err:
        raise RPCError(400, f"Failed to submit function spec, {err}") from None
    return spec.normalized()


def process_row(
    spec: FunctionSpec,
    *,
    initiatorid: str,
    initiatorname: str,
    now: int,
    processgraphid: str = "",
    waitforparents: bool = False,
    parents: list[str] | None = None,
    children: list[str] | None = None,
    processid: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(process row, attribute rows) for a validated, normalised spec.

    maxexectime and maxwaittime of 0 mean unlimited, as -1 does (upstream fails a process with
    maxexectime 0 about a second after assignment for plain submits; see docs/protocol.md).
    """
    pid = processid or crypto.random_id()
    cond = spec.conditions
    names = cond.executornames or []
    row = {
        "processid": pid,
        "colonyname": cond.colonyname,
        "executortype": cond.executortype,
        "funcname": spec.funcname,
        "label": spec.label,
        "state": WAITING,
        "isassigned": False,
        "waitforparents": waitforparents,
        "prioritytime": prioritytime(spec.priority, now),
        "submissiontime": now,
        "starttime": 0,
        "endtime": 0,
        "waitdeadline": now + spec.maxwaittime * NS if spec.maxwaittime > 0 else 0,
        "execdeadline": 0,
        "retries": 0,
        "maxretries": spec.maxretries,
        "maxexectime": spec.maxexectime,
        "maxwaittime": spec.maxwaittime,
        "initiatorid": initiatorid,
        "initiatorname": initiatorname,
        "assignedexecutorid": "",
        "executornames": _json.encode(names).decode() if names else "",
        "locationname": cond.locationname.lower(),
        "cpu": cpu_millicores(cond.cpu),
        "mem": mem_mebibytes(cond.mem),
        "processgraphid": processgraphid,
        "parents": _json.encode(parents or []).decode(),
        "children": _json.encode(children or []).decode(),
        "hasattributes": bool(spec.env),
        "spec": _json.encode(spec).decode(),
        "input": "[]",
        "output": "[]",
        "errors": "[]",
    }
    attrs = [
        {
            "attributeid": attribute_id(pid, key, ENV),
            "targetid": pid,
            "targetcolonyname": cond.colonyname,
            "targetprocessgraphid": processgraphid,
            "state": WAITING,
            "attributetype": ENV,
            "key": key,
            "value": value,
        }
        for key, value in (spec.env or {}).items()
    ]
    return row, attrs
