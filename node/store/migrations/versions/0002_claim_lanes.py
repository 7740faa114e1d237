"""Claim lanes (a claim's cost no longer grows with work it cannot take), list indexes, and a
workflow's member states by index seek.

`targetname` holds the one executor name of a process targeted at exactly one, `claimlane` its
lane; existing rows are filled from `executornames`, `cpu` and `mem`.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('processes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('targetname', sa.String(length=256), server_default='', nullable=False))
        batch_op.add_column(sa.Column('claimlane', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_index('processes_by_graph')
        batch_op.create_index('processes_by_graph', ['processgraphid', 'state'], unique=False, sqlite_where=sa.text("processgraphid <> ''"), postgresql_where=sa.text("processgraphid <> ''"))
        batch_op.create_index('processes_claim_conditioned', ['colonyname', 'executortype', 'claimlane', 'cpu', 'mem', 'prioritytime'], unique=False, sqlite_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 2"), postgresql_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 2"))
        batch_op.create_index('processes_claim_open', ['colonyname', 'executortype', 'locationname', 'prioritytime'], unique=False, sqlite_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 0"), postgresql_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 0"))
        batch_op.create_index('processes_claim_targeted', ['colonyname', 'executortype', 'targetname', 'prioritytime'], unique=False, sqlite_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 1"), postgresql_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 1"))
        batch_op.create_index('processes_ended', ['colonyname', 'state', 'endtime'], unique=False, sqlite_where=sa.text('state IN (2, 3, 4)'), postgresql_where=sa.text('state IN (2, 3, 4)'))
    _fill_target_names()
    _fill_claim_lanes()


def _fill_target_names() -> None:
    from colonies.node.store.processes import target_name

    conn = op.get_bind()
    after = ""
    while True:
        rows = conn.execute(
            sa.text("SELECT processid, executornames FROM processes WHERE executornames <> '' AND processid > :after ORDER BY processid LIMIT 1000"),
            {"after": after},
        ).all()
        if not rows:
            return
        named = [{"pid": pid, "name": target_name(names)} for pid, names in rows if target_name(names)]
        if named:
            conn.execute(sa.text("UPDATE processes SET targetname = :name WHERE processid = :pid"), named)
        after = rows[-1][0]


def _fill_claim_lanes() -> None:
    op.execute(
        "UPDATE processes SET claimlane = CASE WHEN targetname <> '' THEN 1 "
        "WHEN executornames = '' AND cpu = 0 AND mem = 0 THEN 0 ELSE 2 END "
        "WHERE targetname <> '' OR executornames <> '' OR cpu <> 0 OR mem <> 0"
    )


def downgrade() -> None:
    with op.batch_alter_table('processes', schema=None) as batch_op:
        batch_op.drop_index('processes_ended', sqlite_where=sa.text('state IN (2, 3, 4)'), postgresql_where=sa.text('state IN (2, 3, 4)'))
        batch_op.drop_index('processes_claim_targeted', sqlite_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 1"), postgresql_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 1"))
        batch_op.drop_index('processes_claim_open', sqlite_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 0"), postgresql_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 0"))
        batch_op.drop_index('processes_claim_conditioned', sqlite_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 2"), postgresql_where=sa.text("state = 0 AND waitforparents = false AND claimlane = 2"))
        batch_op.drop_index('processes_by_graph')
        batch_op.create_index('processes_by_graph', ['processgraphid'], unique=False)
        batch_op.drop_column('claimlane')
        batch_op.drop_column('targetname')
