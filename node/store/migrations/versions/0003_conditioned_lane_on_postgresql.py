"""PostgreSQL: the conditioned claim lane's index says `claimlane >= 2` (the same rows as `= 2`).

PostgreSQL leaves out of an index scan's conditions any clause its partial index's predicate
already implies. With the predicate `claimlane = 2`, a claim's `claimlane = 2` was dropped, the
index's third column had no condition, and cpu and mem could not bound the scan: each step of the
walk over requirement shapes read the whole lane (31 ms per claim behind 100k conditioned
processes, 70 ms p99 at 1M waiting). `>= 2` no longer implies the claim's clause, so the claim's
`claimlane = 2` bounds the scan again; lanes are 0, 1 and 2, so the index holds the same rows.
SQLite keeps `= 2`: it uses an implied clause as it is.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COLUMNS = ['colonyname', 'executortype', 'claimlane', 'cpu', 'mem', 'prioritytime']


def _recreate(predicate: str) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('processes_claim_conditioned', table_name='processes')
    op.create_index('processes_claim_conditioned', 'processes', COLUMNS, unique=False, postgresql_where=sa.text(predicate))


def upgrade() -> None:
    _recreate("state = 0 AND waitforparents = false AND claimlane >= 2")


def downgrade() -> None:
    _recreate("state = 0 AND waitforparents = false AND claimlane = 2")
