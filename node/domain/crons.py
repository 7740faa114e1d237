"""Crons (spec §4.9): schedules, validation, and starting a cron's workflow.

Shared by the RPC handlers (`runcronmsg`) and the cron service. A schedule is either a cron
expression with **six fields** (second minute hour day-of-month month day-of-week, as upstream's
robfig parser with seconds) or one of the descriptors `@yearly` `@annually` `@monthly` `@weekly`
`@daily` `@midnight` `@hourly` `@every <duration>`, evaluated in the node's time zone (TZ, else
/etc/localtime, else UTC — as Go's `time.Local`); or an interval in seconds.

`random` with an interval: the next run is now + a uniformly random delay in [0, interval).
Upstream accepts the flag but its branch is unreachable (it always uses the plain interval).

Starting a cron is at-least-once: the workflow is stored first and the cron's bookkeeping
(nextrun, lastrun, prevprocessgraphid) after, so a node stopped between the two writes starts
that run again after restart rather than losing it.
"""
from __future__ import annotations

import logging
import os
import random as _random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from croniter import croniter  # type: ignore[import-untyped]
from sqlalchemy.engine import Row

from colonies import models
from colonies.node.core import NodeCore
from colonies.node.store import crons as cq
from colonies.node.domain.submission import get_graph, leaf_outputs, submit_workflow, validate_workflow
from colonies.node.domain.errors import DomainError, Invalid

log = logging.getLogger(__name__)

NS = 1_000_000_000
# Go's MaxInt64 nanoseconds: an interval beyond this cannot be added to a time
MAX_INTERVAL = (2**63 - 1) // NS // 2
NEVER = 2**63 - 1
FINISHED = (models.SUCCESS, models.FAILED, models.CANCELLED)
# pycolonies 1.0.25 `add_cron` sends this misspelt key (spec §2.15); we honour it
MISSPELT_WAIT_KEY = "waitforprevprocessgrap"

_DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": NS, "m": 60 * NS, "h": 3600 * NS}


# --- schedules ------------------------------------------------------------------------------
class ScheduleError(ValueError):
    pass


@lru_cache(maxsize=1)
def local_zone() -> tzinfo:
    """The zone cron expressions are evaluated in: TZ, else /etc/localtime, else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("TZ=%r is not a known time zone; cron expressions use UTC", name)
            return timezone.utc
    try:
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ValueError):
        return timezone.utc


def _go_duration_ns(text: str) -> int:
    """A Go duration string ("90s", "1h30m", "1.5h") in nanoseconds."""
    body = text.strip()
    if not body or _GO_DURATION.sub("", body):
        raise ScheduleError(f"invalid duration {text!r}")
    total = 0.0
    for number, unit in _GO_DURATION.findall(body):
        total += float(number) * _UNIT_NS[unit]
    if not total < MAX_INTERVAL * NS:  # also refuses inf and nan
        raise ScheduleError(f"duration {text!r} is too long")
    return int(total)


def _every_ns(expression: str) -> int | None:
    """For `@every <duration>`, the delay rounded down to whole seconds (at least 1 s), as robfig."""
    if not expression.startswith("@every"):
        return None
    delay = _go_duration_ns(expression[len("@every") :])
    return max(delay - delay % NS, NS)


def _six_fields(expression: str) -> str:
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() in _DESCRIPTORS:
            return _DESCRIPTORS[text.lower()]
        raise ScheduleError(f"unknown descriptor {text!r}")
    if len(text.split()) != 6:
        raise ScheduleError(f"expected 6 fields (second minute hour day-of-month month day-of-week), got {len(text.split())}")
    return text


def next_from_expression(expression: str, now_ns: int) -> int:
    """The first time strictly after `now_ns` that `expression` matches (ns)."""
    every = _every_ns(expression.strip())
    if every is not None:
        # robfig's ConstantDelaySchedule: now + delay, on a whole second
        return now_ns - now_ns % NS + every
    fields = _six_fields(expression)
    seconds, rest = divmod(now_ns, NS)
    start = datetime.fromtimestamp(seconds, tz=local_zone()) + timedelta(microseconds=rest // 1000)
    try:
        following = croniter(fields, start, second_at_beginning=True).get_next(datetime)
    except (ValueError, KeyError, TypeError, OverflowError) as err:  # croniter's errors subclass ValueError
        raise ScheduleError(str(err)) from None
    return int(following.timestamp()) * NS


def validate_expression(expression: str) -> None:
    if not expression.strip():
        raise ScheduleError("cron expression is empty")
    next_from_expression(expression, 0 + NS)  # raises on anything the parser refuses


def next_run(*, cronexpression: str, interval: int, random: bool, now_ns: int, rng: _random.Random | None = None) -> int:
    """When a cron that (re)starts at `now_ns` runs next."""
    if interval > 0:
        if random:
            return now_ns + (rng or _random).randrange(interval * NS)
        return now_ns + interval * NS
    return next_from_expression(cronexpression, now_ns)


# --- adding ---------------------------------------------------------------------------------
def cron_from_request(document: dict[str, Any] | None) -> models.Cron:
    """The cron of an `addcronmsg` (a 400 if malformed), honouring pycolonies' misspelt key."""
    if document is None:
        raise Invalid("Failed to add cron, msg.Cron is nil")
    try:
        cron = msgspec.convert(document, type=models.Cron)
    except msgspec.ValidationError as err:
        raise Invalid(f"Failed to add cron, invalid cron: {err}") from None
    if "waitforprevprocessgraph" not in document and MISSPELT_WAIT_KEY in document:
        wait = document[MISSPELT_WAIT_KEY]
        if not isinstance(wait, bool):
            raise Invalid(f"Failed to add cron, {MISSPELT_WAIT_KEY} must be a boolean")
        cron = msgspec.structs.replace(cron, waitforprevprocessgraph=wait)
    return cron


def decode_workflow(text: str, what: str) -> models.WorkflowSpec:
    try:
        return msgspec.json.decode(text, type=models.WorkflowSpec)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as err:
        raise Invalid(f"Failed to add {what}, workflowspec is not a valid WorkflowSpec JSON string: {err}") from None


def check_workflow(text: str, colonyname: str, what: str) -> models.WorkflowSpec:
    """Decode and validate a workflow string; it must run in the colony that owns it (else 400)."""
    spec = decode_workflow(text, what)
    if spec.colonyname != colonyname:
        raise Invalid(
            f"Failed to add {what}, workflowspec.colonyname {spec.colonyname!r} differs from the {what}'s colony {colonyname!r}"
        )
    validate_workflow(spec)
    return spec


def check_schedule(cron: models.Cron) -> None:
    """Upstream's rules: interval -1 (use the expression, not random) or > 0 seconds."""
    if cron.interval == 0 or cron.interval < -1:
        raise Invalid("Failed to add cron, interval must be -1 (use the cron expression) or larger than 0")
    if cron.interval > MAX_INTERVAL:
        raise Invalid(f"Failed to add cron, interval must be at most {MAX_INTERVAL} seconds")
    if cron.interval == -1:
        if cron.random:
            raise Invalid("Failed to add cron, random is only supported when specifying an interval")
        try:
            validate_expression(cron.cronexpression)
        except ScheduleError as err:
            raise Invalid(f"Failed to add cron, invalid cron expression {cron.cronexpression!r}: {err}") from None


def schedule_of(row: Row[Any] | models.Cron, now_ns: int) -> int:
    """The cron's next run; NEVER if its expression no longer yields one (it was valid when added)."""
    try:
        return next_run(cronexpression=row.cronexpression, interval=row.interval, random=row.random, now_ns=now_ns)
    except ScheduleError as err:
        log.error("cron %s has no next run (%s): it will not run again on its own", row.cronid, err)
        return NEVER


# --- starting -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Started:
    processgraphid: str
    nextrun: int


async def may_start(core: NodeCore, row: Row[Any]) -> bool:
    """False only when the cron waits for its previous graph and that graph has not finished."""
    if not row.waitforprevprocessgraph or not row.prevprocessgraphid:
        return True
    previous = await get_graph(core, row.prevprocessgraphid)
    return previous is None or previous.state in FINISHED


async def start(core: NodeCore, row: Row[Any]) -> Started:
    """Submit the cron's workflow (the previous graph's leaf outputs as the roots' `in`), then
    record the run. Raises a DomainError if the workflow cannot be submitted."""
    root_input: list[Any] | None = None
    if row.prevprocessgraphid and await get_graph(core, row.prevprocessgraphid) is not None:
        root_input = await leaf_outputs(core, row.prevprocessgraphid) or None
    spec = decode_workflow(row.workflowspec, "cron")
    graph = await submit_workflow(
        core, spec, initiatorid=row.initiatorid, initiatorname=row.initiatorname, root_input=root_input
    )
    now = core.now_ns()
    nextrun = schedule_of(row, now)
    await core.db.write(
        lambda conn: cq.record_run(conn, row.cronid, nextrun=nextrun, lastrun=now, processgraphid=graph.processgraphid)
    )
    return Started(graph.processgraphid, nextrun)


async def run_now(core: NodeCore, cronid: str) -> Started | None:
    """`runcronmsg`: start now unless waiting for an unfinished previous graph (None then)."""
    async with core.cron_starts.hold(cronid):  # the service and runcronmsg may race
        row = await core.db.read(lambda conn: cq.get(conn, cronid))
        if row is None or not await may_start(core, row):
            return None
        return await start(core, row)


# --- the service's check ----------------------------------------------------------------------
async def check_once(core: NodeCore, *, page: int = 200) -> int:
    """Schedule new crons and start the due ones (read `page` at a time); how many started."""
    now = core.now_ns()
    after: tuple[int, str] | None = None
    started = 0
    while True:
        rows = await core.db.read(lambda conn, cursor=after: cq.due(conn, now, page, after=cursor))
        for row in rows:
            if core.directory.colony(row.colonyname) is None:
                # its colony was removed: the crons go too (a colony of that name added later must not inherit them)
                await core.db.write(lambda conn, name=row.colonyname: cq.remove_colony(conn, name))
                continue
            if row.nextrun == 0:
                # first evaluation only schedules (upstream); crons added by RPC have a nextrun already
                nextrun = schedule_of(row, now)
                await core.db.write(lambda conn, cid=row.cronid, at=nextrun: cq.schedule(conn, cid, at))
            elif await _start_if_due(core, row.cronid):
                started += 1
        if len(rows) < page:
            return started
        after = (rows[-1].nextrun, rows[-1].cronid)


async def _start_if_due(core: NodeCore, cronid: str) -> bool:
    async with core.cron_starts.hold(cronid):  # the service and runcronmsg may race
        row = await core.db.read(lambda conn: cq.get(conn, cronid))  # fresh: a manual run may have just happened
        now = core.now_ns()
        if row is None or row.nextrun == 0 or row.nextrun > now:
            return False
        if not await may_start(core, row):
            return False  # stays due: starts on the first check after the previous graph ends
        try:
            await start(core, row)
        except DomainError as err:
            # never retried in a tight loop: skip this run, keep the previous graph
            log.error("cron %s (%s/%s) could not start its workflow: %s", row.cronid, row.colonyname, row.name, err.message)
            nextrun = schedule_of(row, now)
            await core.db.write(lambda conn: cq.schedule(conn, cronid, nextrun))
            return False
        return True
