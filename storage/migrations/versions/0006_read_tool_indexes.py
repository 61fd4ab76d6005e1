"""Indexes for read tools at 100k customers: first purchase in the snapshot, owner + city on customers.

Revision ID: 0006
Revises: 0005

- customer_features.first_order_at: ``new_customers`` over a period counts a range of this
  index instead of scanning the snapshot.
- customer (owner_id, city): a rep's "my customers in Shanghai" (own book plus the pool)
  filters and counts inside the index instead of fetching every row of the book.
- customer_features (rfm_segment, lifetime_spend) and (value_tier, lifetime_spend): "at-risk
  customers" / "VIP customers" ranked by spend walk one index and stop after a page, instead of
  sorting the whole segment. They replace the single-column segment and tier indexes (their prefix).
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customer_features_first_order", "customer_features", ["first_order_at"], unique=False)
    op.create_index("ix_customer_owner_city", "customer", ["owner_id", "city"], unique=False)
    op.create_index("ix_customer_features_segment_spend", "customer_features", ["rfm_segment", "lifetime_spend"],
                    unique=False)
    op.create_index("ix_customer_features_tier_spend", "customer_features", ["value_tier", "lifetime_spend"],
                    unique=False)
    op.drop_index("ix_customer_features_segment", table_name="customer_features")
    op.drop_index("ix_customer_features_value_tier", table_name="customer_features")


def downgrade() -> None:
    op.create_index("ix_customer_features_value_tier", "customer_features", ["value_tier"], unique=False)
    op.create_index("ix_customer_features_segment", "customer_features", ["rfm_segment"], unique=False)
    op.drop_index("ix_customer_features_tier_spend", table_name="customer_features")
    op.drop_index("ix_customer_features_segment_spend", table_name="customer_features")
    op.drop_index("ix_customer_owner_city", table_name="customer")
    op.drop_index("ix_customer_features_first_order", table_name="customer_features")
