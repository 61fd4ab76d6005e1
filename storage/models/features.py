"""The per-customer feature snapshot written by ``crm refresh``.

One row per customer who has bought at least once: RFM scores and segment, value
tier and cluster, purchase cadence, churn score and CLV. Read tools answer from it
when it is fresh. ``FeatureRefresh`` records each refresh (what data it saw, what it
did, how long each phase took) so the next one can be incremental.

Every feature column is nullable: a phase whose inputs are missing (e.g. no churn
model yet) leaves its columns empty rather than failing the whole snapshot.
Datetimes are naive UTC, like ``storage.models.timeutil.utcnow``.
"""

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from storage.models.customer import Customer
from storage.models.order import Order

# Indexes on other tables that the read tools need; created by migration 0002.
# customer.updated_at: tools.lookup notices any customer change with one indexed MAX().
Index("ix_customer_updated_at", Customer.__table__.c.updated_at)
# orders.tracking_number: order_status finds an order by its tracking number without a scan.
Index("ix_orders_tracking_number", Order.__table__.c.tracking_number)
# customer (owner_id, city): a rep's customers in one city, counted inside the index (migration 0006).
Index("ix_customer_owner_city", Customer.__table__.c.owner_id, Customer.__table__.c.city)


class CustomerFeatures(SQLModel, table=True):
    __tablename__ = "customer_features"
    __table_args__ = (
        # Segment or tier, ranked by spend: one index walk per page (migration 0006).
        Index("ix_customer_features_segment_spend", "rfm_segment", "lifetime_spend"),
        Index("ix_customer_features_tier_spend", "value_tier", "lifetime_spend"),
        Index("ix_customer_features_churn", "churn_probability"),
        Index("ix_customer_features_clv", "clv"),
        Index("ix_customer_features_spend", "lifetime_spend"),
        Index("ix_customer_features_first_order", "first_order_at"),  # new customers in a period (0006)
    )

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    computed_at: NaiveDatetime
    data_fingerprint: str = Field(max_length=64)

    # Lifetime aggregates over revenue orders (cheap; recomputed per changed customer).
    lifetime_spend: float | None = None
    lifetime_orders: int | None = None
    returned_orders: int | None = None

    # RFM (tools.segmentation.compute_rfm).
    recency_days: float | None = None
    frequency: int | None = None
    monetary: float | None = None
    r_score: int | None = None
    f_score: int | None = None
    m_score: int | None = None
    rfm_segment: str | None = Field(default=None, max_length=40)
    value_tier: str | None = Field(default=None, max_length=20)
    cluster: int | None = None

    # Cadence (tools.cadence.compute_cadence).
    first_order_at: NaiveDatetime | None = None
    last_order_at: NaiveDatetime | None = None
    orders: int | None = None
    usual_gap_days: float | None = None
    days_since_last: float | None = None
    spend_90d: float | None = None
    spend_prev_90d: float | None = None
    orders_90d: int | None = None
    orders_prev_90d: int | None = None

    # Churn (tools.churn.compute_churn_scores).
    churn_probability: float | None = None
    churn_reasons: list[str] | None = Field(default=None, sa_column=Column(JSON))

    # CLV (tools.clv.compute_clv).
    p_alive: float | None = None
    expected_purchases: float | None = None
    clv: float | None = None


class FeatureRefresh(SQLModel, table=True):
    """One row per ``crm refresh`` run; the latest finished one describes the live snapshot."""

    __tablename__ = "feature_refresh"

    id: int | None = Field(default=None, primary_key=True)
    started_at: NaiveDatetime
    finished_at: NaiveDatetime | None = None
    as_of: NaiveDatetime = Field(description="The 'now' the snapshot was computed for")
    data_fingerprint: str = Field(max_length=64)
    max_order_id: int = 0
    order_count: int = 0
    mode: str = Field(max_length=20, description="full | incremental | unchanged")
    customers: int = 0
    changed_customers: int = 0
    phases: dict | None = Field(default=None, sa_column=Column(JSON), description="phase -> seconds or status")
    rollups_until: NaiveDatetime | None = Field(
        default=None, description="metrics_rollup covers whole months before this moment (None: no rollups)"
    )


class MetricsRollup(SQLModel, table=True):
    """Pre-aggregated sales per month, owner and a few dimensions (Cube-style pre-aggregations).

    Written by ``crm refresh`` for complete months only; ``query_metrics`` answers whole
    months from here and the rest from the raw tables. ``d1``..``d4`` hold the values of
    the dimensions a rollup declares (see ``tools.metrics.rollups``).
    """

    __tablename__ = "metrics_rollup"
    __table_args__ = (Index("ix_metrics_rollup_name_month", "rollup", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    rollup: str = Field(max_length=40)
    month: str = Field(max_length=7, description="YYYY-MM")
    owner_id: int | None = None
    d1: str | None = Field(default=None, max_length=200)
    d2: str | None = Field(default=None, max_length=200)
    d3: str | None = Field(default=None, max_length=200)
    d4: str | None = Field(default=None, max_length=200)
    revenue: float = 0.0
    orders: float = 0.0
    returns: float = 0.0
    returns_value: float = 0.0
    placed_orders: float = 0.0
    units: float = 0.0
    discount_amount: float = 0.0
    promo_revenue: float = 0.0
    line_revenue: float = 0.0
