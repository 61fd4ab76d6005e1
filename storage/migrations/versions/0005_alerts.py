"""alerts: detected alerts, churn scores last seen, delivery ledger, report schedules

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Written by hand to match storage/models/alerts.py. Datetimes are naive UTC. APScheduler's
job table (scheduler_job) is created by APScheduler itself; downgrading past this revision
drops it too, since its jobs call the alert code this revision belongs to.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEDULER_JOB_TABLE = 'scheduler_job'


def upgrade() -> None:
    op.create_table('alert',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('numbers', sa.JSON(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['staff_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index('ix_alert_last_seen', ['last_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_customer_id'), ['customer_id'], unique=False)

    op.create_table('churn_score_seen',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.Column('previous_probability', sa.Float(), nullable=True),
    sa.Column('previous_bucket', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id')
    )

    op.create_table('alert_delivery',
    sa.Column('alert_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('batch_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('slack_channel', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('slack_ts', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alert_key', 'recipient', name='uq_alert_delivery_key_recipient')
    )
    with op.batch_alter_table('alert_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_alert_delivery_status_claimed', ['status', 'claimed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_delivery_batch_id'), ['batch_id'], unique=False)

    op.create_table('report_schedule',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('frequency', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('kind')
    )


def downgrade() -> None:
    if sa.inspect(op.get_bind()).has_table(SCHEDULER_JOB_TABLE):
        op.drop_table(SCHEDULER_JOB_TABLE)
    op.drop_table('report_schedule')
    with op.batch_alter_table('alert_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_delivery_batch_id'))
        batch_op.drop_index('ix_alert_delivery_status_claimed')
    op.drop_table('alert_delivery')
    op.drop_table('churn_score_seen')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_customer_id'))
        batch_op.drop_index('ix_alert_last_seen')
    op.drop_table('alert')
