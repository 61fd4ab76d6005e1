"""web chat: threads, messages, chart ownership, proposed writes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Written by hand to match storage/models/web.py. Datetimes are naive UTC.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_thread',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_thread', schema=None) as batch_op:
        batch_op.create_index('ix_web_thread_user_updated', ['user_id', 'updated_at'], unique=False)

    op.create_table('web_message',
    sa.Column('thread_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reply', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['web_thread.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_message_thread_id'), ['thread_id'], unique=False)

    op.create_table('web_chart',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('name', 'user_id')
    )

    op.create_table('web_pending_write',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('tool', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('arguments', sa.JSON(), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_pending_write', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_pending_write_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('web_pending_write')
    op.drop_table('web_chart')
    with op.batch_alter_table('web_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_message_thread_id'))
    op.drop_table('web_message')
    with op.batch_alter_table('web_thread', schema=None) as batch_op:
        batch_op.drop_index('ix_web_thread_user_updated')
    op.drop_table('web_thread')
