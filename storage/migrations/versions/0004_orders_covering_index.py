"""Covering index on orders for per-customer scans that filter by status.

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_orders_customer_covering", "orders", ["customer_id", "ordered_at", "total_amount", "status"], unique=False
    )
    op.drop_index("ix_orders_customer_date_amount", table_name="orders")


def downgrade() -> None:
    op.create_index(
        "ix_orders_customer_date_amount", "orders", ["customer_id", "ordered_at", "total_amount"], unique=False
    )
    op.drop_index("ix_orders_customer_covering", table_name="orders")
