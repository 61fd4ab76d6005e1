"""Where the analytics tools get per-customer features: the snapshot when fresh, else computed now.

``crm refresh`` writes ``customer_features`` (RFM, tier, cluster, cadence, …) and a
``feature_refresh`` row. A snapshot is *fresh* for a call when it was computed for
a moment at most ``MAX_AGE`` before ``ctx.now`` (never after it: a snapshot from the
future would leak orders the caller's "now" has not seen) and no order has been
added since (same max order id: one index probe, cheap enough for every call, unlike
the refresh's full fingerprint; an in-place change such as a return or a deletion shows
up at the next refresh). Otherwise the tools compute the features directly from
orders, which is correct but slower.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import func, select

from storage.db import has_table
from storage.models import Customer, Order
from storage.models.features import CustomerFeatures, FeatureRefresh
from tools.cadence import rows_frame
from tools.context import ToolContext

MAX_AGE = timedelta(days=1)


class SnapshotInfo(BaseModel):
    """The refresh behind the live snapshot (only what readers need)."""

    refresh_id: int
    as_of: datetime
    max_order_id: int
    order_count: int


def fresh_snapshot(ctx: ToolContext, *, now: datetime | None = None) -> SnapshotInfo | None:
    """The refresh describing a usable snapshot for ``now`` (default ctx.now), or None."""
    when = now or ctx.now
    engine = ctx.engine
    if not has_table(engine, "feature_refresh"):
        return None
    r = FeatureRefresh
    with engine.connect() as conn:
        # Named columns, not the whole row: columns added by later migrations must not break readers.
        row = conn.execute(
            select(r.id, r.as_of, r.max_order_id, r.order_count)
            .where(r.finished_at.is_not(None), r.mode != "failed")
            .order_by(r.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        info = SnapshotInfo(refresh_id=row[0], as_of=row[1], max_order_id=row[2], order_count=row[3])
        if not (info.as_of <= when and when - info.as_of <= MAX_AGE):
            return None
        max_id = conn.execute(select(func.max(Order.id))).scalar()
    if (max_id or 0) != info.max_order_id:
        return None
    return info


def snapshot_frame(ctx: ToolContext, *, columns: list[str], where=None) -> pd.DataFrame:
    """Snapshot columns for customers in the caller's scope (scope applied in SQL)."""
    cols = [getattr(CustomerFeatures, c) for c in columns]
    stmt = (
        select(CustomerFeatures.customer_id, *cols)
        .join(Customer, Customer.id == CustomerFeatures.customer_id)
        .where(ctx.scope.customer_clause(Customer.owner_id))
    )
    if where is not None:
        stmt = stmt.where(where)
    with ctx.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return rows_frame(rows, ["customer_id", *columns])
