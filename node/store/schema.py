"""The node's tables (SQLAlchemy Core), shared by the SQLite and PostgreSQL dialects.

Times are integer nanoseconds since the epoch (0 = unset). JSON documents are stored as text
produced by msgspec so they round-trip byte for byte.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.sql.elements import TextClause

metadata = MetaData()

# key/value facts about this node's database (server id, schema version)
server = Table(
    "server",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

colonies = Table(
    "colonies",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("colonyid", String(64), nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
)
Index("colonies_by_id", colonies.c.colonyid)

users = Table(
    "users",
    metadata,
    Column("colonyname", String(256), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("userid", String(64), nullable=False),
    Column("email", Text, nullable=False, default=""),
    Column("phone", Text, nullable=False, default=""),
)
Index("users_by_id", users.c.userid)

executors = Table(
    "executors",
    metadata,
    Column("colonyname", String(256), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("executorid", String(64), nullable=False),
    Column("executortype", String(256), nullable=False),
    Column("state", Integer, nullable=False),
    Column("requirefuncreg", Boolean, nullable=False, default=False),
    Column("commissiontime", BigInteger, nullable=False, default=0),
    Column("lastheardfrom", BigInteger, nullable=False, default=0),
    Column("locationname", String(256), nullable=False, default=""),
    Column("capabilities", Text, nullable=False, default="{}"),
    Column("allocations", Text, nullable=False, default="{}"),
)
Index("executors_by_id", executors.c.executorid)

functions = Table(
    "functions",
    metadata,
    Column("functionid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("executorname", String(256), nullable=False),
    Column("executortype", String(256), nullable=False),
    Column("funcname", String(256), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("args", Text, nullable=False, default="null"),
    Column("counter", Integer, nullable=False, default=0),
    Column("minwaittime", Float, nullable=False, default=0.0),
    Column("maxwaittime", Float, nullable=False, default=0.0),
    Column("minexectime", Float, nullable=False, default=0.0),
    Column("maxexectime", Float, nullable=False, default=0.0),
    Column("avgwaittime", Float, nullable=False, default=0.0),
    Column("avgexectime", Float, nullable=False, default=0.0),
    Column("locationname", String(256), nullable=False, default=""),
)
Index("functions_by_executor", functions.c.colonyname, functions.c.executorname, functions.c.funcname)

processes = Table(
    "processes",
    metadata,
    Column("processid", String(64), primary_key=True),
    Column("colonyname", String(256), nullable=False),
    Column("executortype", String(256), nullable=False),
    Column("funcname", String(256), nullable=False, default=""),
    Column("label", Text, nullable=False, default=""),
    Column("state", Integer, nullable=False),
    Column("isassigned", Boolean, nullable=False, default=False),
    Column("waitforparents", Boolean, nullable=False, default=False),
    Column("prioritytime", BigInteger, nullable=False),
    Column("submissiontime", BigInteger, nullable=False),
    Column("starttime", BigInteger, nullable=False, default=0),
    Column("endtime", BigInteger, nullable=False, default=0),
    Column("waitdeadline", BigInteger, nullable=False, default=0),
    Column("execdeadline", BigInteger, nullable=False, default=0),
    Column("retries", Integer, nullable=False, default=0),
    Column("maxretries", Integer, nullable=False, default=0),
    Column("maxexectime", Integer, nullable=False, default=0),
    Column("maxwaittime", Integer, nullable=False, default=0),
    Column("initiatorid", String(64), nullable=False),
    Column("initiatorname", String(256), nullable=False, default=""),
    Column("assignedexecutorid", String(64), nullable=False, default=""),
    # JSON list of the executor names the process is targeted at; "" = any executor
    Column("executornames", Text, nullable=False, default=""),
    # the one name when executornames holds exactly one (the common case)
    Column("targetname", String(256), nullable=False, default="", server_default=""),
    # the claim lane, fixed at submit (processes.claim_lane): 0 open, 1 targeted, 2 conditioned
    Column("claimlane", Integer, nullable=False, default=0, server_default="0"),
    # lower-cased; "" = any location
    Column("locationname", String(256), nullable=False, default=""),
    Column("cpu", BigInteger, nullable=False, default=0),  # millicores
    Column("mem", BigInteger, nullable=False, default=0),  # MiB
    Column("processgraphid", String(64), nullable=False, default=""),
    Column("parents", Text, nullable=False, default="[]"),
    Column("children", Text, nullable=False, default="[]"),
    Column("hasattributes", Boolean, nullable=False, default=False),
    Column("spec", Text, nullable=False),
    Column("input", Text, nullable=False, default="[]"),
    Column("output", Text, nullable=False, default="[]"),
    Column("errors", Text, nullable=False, default="[]"),
)


def partial_index(name: str, where: TextClause, *columns: Column[Any], postgresql_where: TextClause | None = None) -> Index:
    """An index of the rows matching `where` on both dialects (PostgreSQL: `postgresql_where` if
    given); a query uses it by carrying the same literal condition (text, not bound parameters, so
    that the planner can prove the match)."""
    return Index(name, *columns, sqlite_where=where, postgresql_where=postgresql_where if postgresql_where is not None else where)


P = processes.c
assignable = text("state = 0 AND waitforparents = false")
partial_index("processes_assign", assignable, P.colonyname, P.executortype, P.prioritytime)
# Claim lanes (node/store/processes.py claim): each assignable process is in exactly one, and a
# claim reads the head of at most four, so its cost does not grow with work it cannot take. The
# conditions name the lane by number only: a partial index whose condition names a column that
# a claim compares with a parameter (cpu <= ?) makes SQLite plan the statement again each run.
# open: any executor of the type, no cpu/mem needs; one index seek per location
claim_open = text("state = 0 AND waitforparents = false AND claimlane = 0")
partial_index("processes_claim_open", claim_open, P.colonyname, P.executortype, P.locationname, P.prioritytime)
# targeted at one executor name: one index seek for the claiming executor's name
claim_targeted = text("state = 0 AND waitforparents = false AND claimlane = 1")
partial_index("processes_claim_targeted", claim_targeted, P.colonyname, P.executortype, P.targetname, P.prioritytime)
# the rest (cpu/mem needs, or several target names), by requirement shape: SQLite skips from
# shape to shape, PostgreSQL reads the lane in line. claimlane is a column too so that this
# index, with three equalities, beats processes_by_state (two) in SQLite's planner, which has no
# statistics to tell them apart.
claim_conditioned = text("state = 0 AND waitforparents = false AND claimlane = 2")
# PostgreSQL drops from an index scan the clauses its predicate implies: with `= 2` a claim's
# `claimlane = 2` went, and cpu/mem could no longer bound the scan (migration 0003). `>= 2` holds
# the same rows and implies nothing the claim says.
partial_index(
    "processes_claim_conditioned", claim_conditioned, P.colonyname, P.executortype, P.claimlane, P.cpu, P.mem, P.prioritytime,
    postgresql_where=text("state = 0 AND waitforparents = false AND claimlane >= 2"),
)
Index("processes_by_state", P.colonyname, P.state, P.prioritytime)
# Partial indexes below keep the hot path light: every index a state change touches is another
# page for SQLite to write at commit, so submit and assign touch none of these, and processes
# outside workflows never touch processes_by_graph.
# getprocessesmsg for the final states, newest ended first, and their getprocesshistmsg (ended
# since the window began; an IN list, not a range: SQLite would seek on the range instead of on
# the state and sort what it found)
ended = text("state IN (2, 3, 4)")
partial_index("processes_ended", ended, P.colonyname, P.state, P.endtime)
# a workflow's members, and (with state) its state from a few seeks instead of a count
in_graph = text("processgraphid <> ''")
partial_index("processes_by_graph", in_graph, P.processgraphid, P.state)
partial_index("processes_waitdeadline", text("state = 0 AND waitdeadline > 0"), P.waitdeadline)
partial_index("processes_execdeadline", text("state = 1 AND execdeadline > 0"), P.execdeadline)

attributes = Table(
    "attributes",
    metadata,
    Column("attributeid", String(64), primary_key=True),
    Column("targetid", String(64), nullable=False),
    Column("targetcolonyname", String(256), nullable=False),
    Column("targetprocessgraphid", String(64), nullable=False, default=""),
    Column("state", Integer, nullable=False, default=0),
    Column("attributetype", Integer, nullable=False),
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=False),
)
Index("attributes_by_target", attributes.c.targetid)

logs = Table(
    "logs",
    metadata,
    Column("logid", Integer, primary_key=True, autoincrement=True),
    Column("processid", String(64), nullable=False),
    Column("colonyname", String(256), nullable=False),
    Column("executorname", String(256), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("message", Text, nullable=False),
)
Index("logs_by_process", logs.c.processid, logs.c.ts)
Index("logs_by_executor", logs.c.colonyname, logs.c.executorname, logs.c.ts)
Index("logs_by_colony_time", logs.c.colonyname, logs.c.ts)
