"""customer feature snapshot, refresh log and metrics rollups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Hand-checked autogenerate output. Datetimes are naive UTC (plain DateTime, i.e.
TIMESTAMP WITHOUT TIME ZONE on Postgres). Also adds the indexes the read tools need
to stay fast at 100k customers: customer.updated_at (cheap change detection for the
name index in tools.lookup) and orders.tracking_number (order_status).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feature_refresh',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('as_of', sa.DateTime(), nullable=False),
    sa.Column('data_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('max_order_id', sa.Integer(), nullable=False),
    sa.Column('order_count', sa.Integer(), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('changed_customers', sa.Integer(), nullable=False),
    sa.Column('phases', sa.JSON(), nullable=True),
    sa.Column('rollups_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('metrics_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rollup', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('d1', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('d2', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('d3', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('d4', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('revenue', sa.Float(), nullable=False),
    sa.Column('orders', sa.Float(), nullable=False),
    sa.Column('returns', sa.Float(), nullable=False),
    sa.Column('returns_value', sa.Float(), nullable=False),
    sa.Column('placed_orders', sa.Float(), nullable=False),
    sa.Column('units', sa.Float(), nullable=False),
    sa.Column('discount_amount', sa.Float(), nullable=False),
    sa.Column('promo_revenue', sa.Float(), nullable=False),
    sa.Column('line_revenue', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('metrics_rollup', schema=None) as batch_op:
        batch_op.create_index('ix_metrics_rollup_name_month', ['rollup', 'month'], unique=False)

    op.create_table('customer_features',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('data_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('lifetime_spend', sa.Float(), nullable=True),
    sa.Column('lifetime_orders', sa.Integer(), nullable=True),
    sa.Column('returned_orders', sa.Integer(), nullable=True),
    sa.Column('recency_days', sa.Float(), nullable=True),
    sa.Column('frequency', sa.Integer(), nullable=True),
    sa.Column('monetary', sa.Float(), nullable=True),
    sa.Column('r_score', sa.Integer(), nullable=True),
    sa.Column('f_score', sa.Integer(), nullable=True),
    sa.Column('m_score', sa.Integer(), nullable=True),
    sa.Column('rfm_segment', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('value_tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('cluster', sa.Integer(), nullable=True),
    sa.Column('first_order_at', sa.DateTime(), nullable=True),
    sa.Column('last_order_at', sa.DateTime(), nullable=True),
    sa.Column('orders', sa.Integer(), nullable=True),
    sa.Column('usual_gap_days', sa.Float(), nullable=True),
    sa.Column('days_since_last', sa.Float(), nullable=True),
    sa.Column('spend_90d', sa.Float(), nullable=True),
    sa.Column('spend_prev_90d', sa.Float(), nullable=True),
    sa.Column('orders_90d', sa.Integer(), nullable=True),
    sa.Column('orders_prev_90d', sa.Integer(), nullable=True),
    sa.Column('churn_probability', sa.Float(), nullable=True),
    sa.Column('churn_reasons', sa.JSON(), nullable=True),
    sa.Column('p_alive', sa.Float(), nullable=True),
    sa.Column('expected_purchases', sa.Float(), nullable=True),
    sa.Column('clv', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('customer_id')
    )
    with op.batch_alter_table('customer_features', schema=None) as batch_op:
        batch_op.create_index('ix_customer_features_churn', ['churn_probability'], unique=False)
        batch_op.create_index('ix_customer_features_clv', ['clv'], unique=False)
        batch_op.create_index('ix_customer_features_segment', ['rfm_segment'], unique=False)
        batch_op.create_index('ix_customer_features_value_tier', ['value_tier'], unique=False)
        batch_op.create_index('ix_customer_features_spend', ['lifetime_spend'], unique=False)

    # Plain CREATE INDEX (not batch): batch mode would rebuild the whole customer table on SQLite.
    op.create_index('ix_customer_updated_at', 'customer', ['updated_at'], unique=False)
    op.create_index('ix_orders_tracking_number', 'orders', ['tracking_number'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_orders_tracking_number', table_name='orders')
    op.drop_index('ix_customer_updated_at', table_name='customer')
    with op.batch_alter_table('customer_features', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_features_spend')
        batch_op.drop_index('ix_customer_features_value_tier')
        batch_op.drop_index('ix_customer_features_segment')
        batch_op.drop_index('ix_customer_features_clv')
        batch_op.drop_index('ix_customer_features_churn')

    with op.batch_alter_table('metrics_rollup', schema=None) as batch_op:
        batch_op.drop_index('ix_metrics_rollup_name_month')

    op.drop_table('metrics_rollup')
    op.drop_table('customer_features')
    op.drop_table('feature_refresh')
