"""Baseline: the schema as it stood at legacy schema version 3, the last before Alembic.

Every table and index is created only if missing, so that a pre-Alembic store (brought to version
3 by colonies.node.store.legacy_schema) passes through this revision unchanged but for what it
lacked, and a fresh store is built by it.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attributes',
    sa.Column('attributeid', sa.String(length=64), nullable=False),
    sa.Column('targetid', sa.String(length=64), nullable=False),
    sa.Column('targetcolonyname', sa.String(length=256), nullable=False),
    sa.Column('targetprocessgraphid', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('attributetype', sa.Integer(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('attributeid'),
    if_not_exists=True,
    )
    op.create_index('attributes_by_target', 'attributes', ['targetid'], unique=False, if_not_exists=True)

    op.create_table('blueprint_definitions',
    sa.Column('definitionid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('kind', sa.String(length=256), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('definitionid'),
    if_not_exists=True,
    )
    op.create_index('blueprint_definitions_by_kind', 'blueprint_definitions', ['colonyname', 'kind'], unique=True, if_not_exists=True)
    op.create_index('blueprint_definitions_by_name', 'blueprint_definitions', ['colonyname', 'name'], unique=True, if_not_exists=True)

    op.create_table('blueprint_history',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('historyid', sa.String(length=64), nullable=False),
    sa.Column('blueprintid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    if_not_exists=True,
    )
    op.create_index('blueprint_history_by_blueprint', 'blueprint_history', ['blueprintid', 'seq'], unique=False, if_not_exists=True)
    op.create_index('blueprint_history_by_colony', 'blueprint_history', ['colonyname'], unique=False, if_not_exists=True)

    op.create_table('blueprints',
    sa.Column('blueprintid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('kind', sa.String(length=256), nullable=False),
    sa.Column('locationname', sa.String(length=256), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('blueprintid'),
    if_not_exists=True,
    )
    op.create_index('blueprints_by_kind', 'blueprints', ['colonyname', 'kind', 'locationname'], unique=False, if_not_exists=True)
    op.create_index('blueprints_by_name', 'blueprints', ['colonyname', 'name'], unique=True, if_not_exists=True)

    op.create_table('cfs_files',
    sa.Column('fileid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('seqnr', sa.BigInteger(), nullable=False),
    sa.Column('checksum', sa.Text(), nullable=False),
    sa.Column('checksumalg', sa.Text(), nullable=False),
    sa.Column('protocol', sa.Text(), nullable=False),
    sa.Column('s3_server', sa.Text(), nullable=False),
    sa.Column('s3_port', sa.BigInteger(), nullable=False),
    sa.Column('s3_tls', sa.Boolean(), nullable=False),
    sa.Column('s3_region', sa.Text(), nullable=False),
    sa.Column('s3_encryptionkey', sa.Text(), nullable=False),
    sa.Column('s3_encryptionalg', sa.Text(), nullable=False),
    sa.Column('s3_object', sa.Text(), nullable=False),
    sa.Column('s3_bucket', sa.Text(), nullable=False),
    sa.Column('added', sa.BigInteger(), nullable=False),
    sa.Column('ipfs_cid', sa.Text(), server_default='', nullable=False),
    sa.Column('ipfs_providers', sa.Text(), server_default='[]', nullable=False),
    sa.PrimaryKeyConstraint('fileid'),
    if_not_exists=True,
    )
    op.create_index('cfs_files_by_cid', 'cfs_files', ['ipfs_cid'], unique=False, if_not_exists=True)
    op.create_index('cfs_files_by_name', 'cfs_files', ['colonyname', 'label', 'name', 'seqnr'], unique=False, if_not_exists=True)
    op.create_index('cfs_files_seqnr', 'cfs_files', ['seqnr'], unique=False, if_not_exists=True)

    op.create_table('cfs_pins',
    sa.Column('cid', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try', sa.BigInteger(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('updated', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('cid'),
    if_not_exists=True,
    )
    op.create_index('cfs_pins_by_state', 'cfs_pins', ['state', 'updated'], unique=False, if_not_exists=True)

    op.create_table('cfs_snapshots',
    sa.Column('snapshotid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('fileids', sa.Text(), nullable=False),
    sa.Column('added', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('snapshotid'),
    if_not_exists=True,
    )
    op.create_index('cfs_snapshots_by_added', 'cfs_snapshots', ['colonyname', 'added'], unique=False, if_not_exists=True)
    op.create_index('cfs_snapshots_by_name', 'cfs_snapshots', ['colonyname', 'name'], unique=True, if_not_exists=True)

    op.create_table('channel_entries',
    sa.Column('processid', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('senderid', sa.String(length=64), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('inreplyto', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('processid', 'name', 'position'),
    if_not_exists=True,
    )
    op.create_index('channel_entries_by_sequence', 'channel_entries', ['processid', 'name', 'senderid', 'sequence'], unique=True, if_not_exists=True)

    op.create_table('colonies',
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('colonyid', sa.String(length=64), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('name'),
    if_not_exists=True,
    )
    op.create_index('colonies_by_id', 'colonies', ['colonyid'], unique=False, if_not_exists=True)

    op.create_table('crons',
    sa.Column('cronid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('initiatorid', sa.String(length=64), nullable=False),
    sa.Column('initiatorname', sa.String(length=256), nullable=False),
    sa.Column('cronexpression', sa.Text(), nullable=False),
    sa.Column('interval', sa.BigInteger(), nullable=False),
    sa.Column('random', sa.Boolean(), nullable=False),
    sa.Column('nextrun', sa.BigInteger(), nullable=False),
    sa.Column('lastrun', sa.BigInteger(), nullable=False),
    sa.Column('workflowspec', sa.Text(), nullable=False),
    sa.Column('prevprocessgraphid', sa.String(length=64), nullable=False),
    sa.Column('waitforprevprocessgraph', sa.Boolean(), nullable=False),
    sa.Column('added', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('cronid'),
    if_not_exists=True,
    )
    op.create_index('crons_by_colony', 'crons', ['colonyname', 'added'], unique=False, if_not_exists=True)
    op.create_index('crons_by_name', 'crons', ['colonyname', 'name'], unique=True, if_not_exists=True)
    op.create_index('crons_by_nextrun', 'crons', ['nextrun'], unique=False, if_not_exists=True)

    op.create_table('executors',
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('executorid', sa.String(length=64), nullable=False),
    sa.Column('executortype', sa.String(length=256), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('requirefuncreg', sa.Boolean(), nullable=False),
    sa.Column('commissiontime', sa.BigInteger(), nullable=False),
    sa.Column('lastheardfrom', sa.BigInteger(), nullable=False),
    sa.Column('locationname', sa.String(length=256), nullable=False),
    sa.Column('capabilities', sa.Text(), nullable=False),
    sa.Column('allocations', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('colonyname', 'name'),
    if_not_exists=True,
    )
    op.create_index('executors_by_id', 'executors', ['executorid'], unique=False, if_not_exists=True)

    op.create_table('federation_inbound',
    sa.Column('processid', sa.String(length=64), nullable=False),
    sa.Column('origin_node', sa.String(length=64), nullable=False),
    sa.Column('origin_processid', sa.String(length=64), nullable=False),
    sa.Column('origin_url', sa.Text(), nullable=False),
    sa.Column('reported', sa.Boolean(), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('processid'),
    if_not_exists=True,
    )
    op.create_index('federation_inbound_by_origin', 'federation_inbound', ['origin_node', 'origin_processid'], unique=True, if_not_exists=True)
    op.create_index('federation_inbound_unreported', 'federation_inbound', ['reported'], unique=False, if_not_exists=True)

    op.create_table('federation_outbound',
    sa.Column('processid', sa.String(length=64), nullable=False),
    sa.Column('peer_node', sa.String(length=64), nullable=False),
    sa.Column('peer_url', sa.Text(), nullable=False),
    sa.Column('remote_processid', sa.String(length=64), nullable=False),
    sa.Column('forwarded', sa.BigInteger(), nullable=False),
    sa.Column('lease_expires', sa.BigInteger(), nullable=False),
    sa.Column('started', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('processid'),
    if_not_exists=True,
    )
    op.create_index('federation_outbound_by_lease', 'federation_outbound', ['lease_expires'], unique=False, if_not_exists=True)
    op.create_index('federation_outbound_by_peer', 'federation_outbound', ['peer_node', 'started'], unique=False, if_not_exists=True)

    op.create_table('functions',
    sa.Column('functionid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('executorname', sa.String(length=256), nullable=False),
    sa.Column('executortype', sa.String(length=256), nullable=False),
    sa.Column('funcname', sa.String(length=256), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('args', sa.Text(), nullable=False),
    sa.Column('counter', sa.Integer(), nullable=False),
    sa.Column('minwaittime', sa.Float(), nullable=False),
    sa.Column('maxwaittime', sa.Float(), nullable=False),
    sa.Column('minexectime', sa.Float(), nullable=False),
    sa.Column('maxexectime', sa.Float(), nullable=False),
    sa.Column('avgwaittime', sa.Float(), nullable=False),
    sa.Column('avgexectime', sa.Float(), nullable=False),
    sa.Column('locationname', sa.String(length=256), nullable=False),
    sa.PrimaryKeyConstraint('functionid'),
    if_not_exists=True,
    )
    op.create_index('functions_by_executor', 'functions', ['colonyname', 'executorname', 'funcname'], unique=False, if_not_exists=True)

    op.create_table('generator_args',
    sa.Column('position', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('generatorid', sa.String(length=64), nullable=False),
    sa.Column('arg', sa.Text(), nullable=False),
    sa.Column('added', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('position'),
    sqlite_autoincrement=True,
    if_not_exists=True,
    )
    op.create_index('generator_args_queue', 'generator_args', ['generatorid', 'position'], unique=False, if_not_exists=True)

    op.create_table('generators',
    sa.Column('generatorid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('initiatorid', sa.String(length=64), nullable=False),
    sa.Column('initiatorname', sa.String(length=256), nullable=False),
    sa.Column('workflowspec', sa.Text(), nullable=False),
    sa.Column('trigger', sa.BigInteger(), nullable=False),
    sa.Column('timeout', sa.BigInteger(), nullable=False),
    sa.Column('firstpack', sa.BigInteger(), nullable=False),
    sa.Column('lastrun', sa.BigInteger(), nullable=False),
    sa.Column('added', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('generatorid'),
    if_not_exists=True,
    )
    op.create_index('generators_by_colony', 'generators', ['colonyname', 'added'], unique=False, if_not_exists=True)
    op.create_index('generators_by_name', 'generators', ['colonyname', 'name'], unique=True, if_not_exists=True)

    op.create_table('locations',
    sa.Column('locationid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('long', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('locationid'),
    if_not_exists=True,
    )
    op.create_index('locations_by_name', 'locations', ['colonyname', 'name'], unique=True, if_not_exists=True)

    op.create_table('logs',
    sa.Column('logid', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('processid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('executorname', sa.String(length=256), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('logid'),
    if_not_exists=True,
    )
    op.create_index('logs_by_colony_time', 'logs', ['colonyname', 'ts'], unique=False, if_not_exists=True)
    op.create_index('logs_by_executor', 'logs', ['colonyname', 'executorname', 'ts'], unique=False, if_not_exists=True)
    op.create_index('logs_by_process', 'logs', ['processid', 'ts'], unique=False, if_not_exists=True)

    op.create_table('processes',
    sa.Column('processid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('executortype', sa.String(length=256), nullable=False),
    sa.Column('funcname', sa.String(length=256), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('isassigned', sa.Boolean(), nullable=False),
    sa.Column('waitforparents', sa.Boolean(), nullable=False),
    sa.Column('prioritytime', sa.BigInteger(), nullable=False),
    sa.Column('submissiontime', sa.BigInteger(), nullable=False),
    sa.Column('starttime', sa.BigInteger(), nullable=False),
    sa.Column('endtime', sa.BigInteger(), nullable=False),
    sa.Column('waitdeadline', sa.BigInteger(), nullable=False),
    sa.Column('execdeadline', sa.BigInteger(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('maxretries', sa.Integer(), nullable=False),
    sa.Column('maxexectime', sa.Integer(), nullable=False),
    sa.Column('maxwaittime', sa.Integer(), nullable=False),
    sa.Column('initiatorid', sa.String(length=64), nullable=False),
    sa.Column('initiatorname', sa.String(length=256), nullable=False),
    sa.Column('assignedexecutorid', sa.String(length=64), nullable=False),
    sa.Column('executornames', sa.Text(), nullable=False),
    sa.Column('locationname', sa.String(length=256), nullable=False),
    sa.Column('cpu', sa.BigInteger(), nullable=False),
    sa.Column('mem', sa.BigInteger(), nullable=False),
    sa.Column('processgraphid', sa.String(length=64), nullable=False),
    sa.Column('parents', sa.Text(), nullable=False),
    sa.Column('children', sa.Text(), nullable=False),
    sa.Column('hasattributes', sa.Boolean(), nullable=False),
    sa.Column('spec', sa.Text(), nullable=False),
    sa.Column('input', sa.Text(), nullable=False),
    sa.Column('output', sa.Text(), nullable=False),
    sa.Column('errors', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('processid'),
    if_not_exists=True,
    )
    op.create_index('processes_assign', 'processes', ['colonyname', 'executortype', 'prioritytime'], unique=False, sqlite_where=sa.text('state = 0 AND waitforparents = false'), postgresql_where=sa.text('state = 0 AND waitforparents = false'), if_not_exists=True)
    op.create_index('processes_by_graph', 'processes', ['processgraphid'], unique=False, if_not_exists=True)
    op.create_index('processes_by_state', 'processes', ['colonyname', 'state', 'prioritytime'], unique=False, if_not_exists=True)
    op.create_index('processes_execdeadline', 'processes', ['execdeadline'], unique=False, sqlite_where=sa.text('state = 1 AND execdeadline > 0'), postgresql_where=sa.text('state = 1 AND execdeadline > 0'), if_not_exists=True)
    op.create_index('processes_waitdeadline', 'processes', ['waitdeadline'], unique=False, sqlite_where=sa.text('state = 0 AND waitdeadline > 0'), postgresql_where=sa.text('state = 0 AND waitdeadline > 0'), if_not_exists=True)

    op.create_table('processgraphs',
    sa.Column('processgraphid', sa.String(length=64), nullable=False),
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('initiatorid', sa.String(length=64), nullable=False),
    sa.Column('initiatorname', sa.String(length=256), nullable=False),
    sa.Column('rootprocessids', sa.Text(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('submissiontime', sa.BigInteger(), nullable=False),
    sa.Column('starttime', sa.BigInteger(), nullable=False),
    sa.Column('endtime', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('processgraphid'),
    if_not_exists=True,
    )
    op.create_index('processgraphs_by_state', 'processgraphs', ['colonyname', 'state', 'submissiontime'], unique=False, if_not_exists=True)

    op.create_table('server',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    if_not_exists=True,
    )
    op.create_table('users',
    sa.Column('colonyname', sa.String(length=256), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('phone', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('colonyname', 'name'),
    if_not_exists=True,
    )
    op.create_index('users_by_id', 'users', ['userid'], unique=False, if_not_exists=True)



def downgrade() -> None:
    raise RuntimeError("the baseline is not reversed: it would drop every table and all data")
