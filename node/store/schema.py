"""The node's tables (SQLAlchemy Core), shared by the SQLite and PostgreSQL dialects.

Times are integer nanoseconds since the epoch (0 = unset). JSON documents are stored as text
produced by msgspec so they round-trip byte for byte.
"""
from __future__ import annotations

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
# Literal (not bound) so the planner can prove a query matches the partial index below.
assignable = text("state = 0 AND waitforparents = false")
Index(
    "processes_assign",
    processes.c.colonyname,
    processes.c.executortype,
    processes.c.prioritytime,
    sqlite_where=assignable,
    postgresql_where=assignable,
)
Index("processes_by_state", processes.c.colonyname, processes.c.state, processes.c.prioritytime)
Index("processes_by_graph", processes.c.processgraphid)
Index(
    "processes_waitdeadline",
    processes.c.waitdeadline,
    sqlite_where=text("state = 0 AND waitdeadline > 0"),
    postgresql_where=text("state = 0 AND waitdeadline > 0"),
)
Index(
    "processes_execdeadline",
    processes.c.execdeadline,
    sqlite_where=text("state = 1 AND execdeadline > 0"),
    postgresql_where=text("state = 1 AND execdeadline > 0"),
)

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
