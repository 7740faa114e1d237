"""Generators (spec §4.10): turning packed arguments into workflows.

A generator with `trigger` arguments queued submits one workflow per `trigger` arguments, taken in
pack order; with fewer queued and `timeout` > 0 seconds passed since its last run (or, before
the first run, since its first pack), it submits one workflow with everything queued. The roots of
each workflow get `args = [the packed strings]` and no kwargs.

Consistency: a run reads the oldest arguments, then stores the workflow and, in the same
transaction, deletes exactly those arguments (by position) and records `lastrun`. Every packed
argument goes into exactly one workflow, whenever the node stops. Only one checker runs per node,
so within a running node no argument is read for two runs.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Row

from colonies.node.core import NodeCore
from colonies.node.domain.crons import decode_workflow
from colonies.node.store import generators as gq
from colonies.node.domain.submission import submit_workflow
from colonies.node.domain.errors import DomainError

log = logging.getLogger(__name__)

NS = 1_000_000_000


def runs_due(row: Row[Any], queued: int, now_ns: int) -> tuple[int, int]:
    """(workflows to submit, arguments each) for a generator with `queued` arguments."""
    if queued <= 0:
        return 0, 0
    if queued >= row.trigger:
        return queued // row.trigger, row.trigger
    if row.timeout > 0:
        since = row.lastrun or row.firstpack
        if since and now_ns > since + row.timeout * NS:
            return 1, queued
    return 0, 0


async def check_once(core: NodeCore, *, budget: int) -> tuple[int, bool]:
    """Submit the workflows every generator is due; (submitted, whether `budget` cut the work)."""
    pending = await core.db.read(gq.pending)
    now = core.now_ns()
    submitted = 0
    for row, queued in pending:
        if core.directory.colony(row.colonyname) is None:
            # its colony was removed: the generators go too (a colony of that name added later must not inherit them)
            await core.db.write(lambda conn, name=row.colonyname: gq.remove_colony(conn, name))
            continue
        runs, size = runs_due(row, queued, now)
        if runs == 0:
            continue
        try:
            spec = decode_workflow(row.workflowspec, "generator")
        except DomainError as err:  # validated when added: only a damaged row gets here
            log.error("generator %s has an unreadable workflow: %s", row.generatorid, err.message)
            continue
        for _ in range(runs):
            if submitted >= budget:
                return submitted, True
            args = await core.db.read(lambda conn, gid=row.generatorid, n=size: gq.oldest(conn, gid, n))
            if len(args) < size:
                break  # removed meanwhile
            positions = [a.position for a in args]
            lastrun = core.now_ns()
            try:
                # the arguments are consumed in the transaction that stores the workflow: exactly once
                await submit_workflow(
                    core,
                    spec,
                    initiatorid=row.initiatorid,
                    initiatorname=row.initiatorname,
                    root_args=[a.arg for a in args],
                    also=lambda conn, gid=row.generatorid, used=positions, at=lastrun: gq.consume(conn, gid, used, at),
                )
            except DomainError as err:
                # arguments stay queued; tried again on the next check
                log.error("generator %s (%s/%s) could not submit its workflow: %s", row.generatorid, row.colonyname, row.name, err.message)
                break
            submitted += 1
    return submitted, False
