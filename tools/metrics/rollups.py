"""Pre-aggregations: monthly sales rollups that answer common metric queries without scanning orders.

In the spirit of Cube's pre-aggregations, each rollup is declared as data: a fact,
up to four dimensions, and the additive measures it stores, always keyed by month and
owner (the owner keeps scope enforceable: a rep's rows are their owner id plus the
pool). ``crm refresh`` rebuilds them for complete months before the refresh date;
``query_metrics`` uses one when the question's measures, dimensions and filters all
fit it, answers whole months from it and the leftover days from the raw tables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Integer, String, cast, func, literal, select
from sqlalchemy.engine import Connection

from storage.models import Order
from storage.models.features import MetricsRollup
from tools.metrics.catalog import Owner

ORDER_MEASURES = ("revenue", "orders", "returns", "returns_value", "placed_orders")
# Order counts at line grain (distinct orders per group): they add up over months, owners and
# order attributes, but not over product attributes, where one order spans several groups.
ORDER_COUNTS = ("orders", "returns", "placed_orders")
LINE_MEASURES = ("revenue", "units", "discount_amount", "promo_revenue", "line_revenue", "returns_value", *ORDER_COUNTS)
TIME_FROM_MONTH = ("month", "quarter", "year")


@dataclass(frozen=True)
class Rollup:
    name: str
    fact: str  # "orders" or "lines"
    dims: tuple[str, ...]  # at most 4, stored in d1..d4
    # Product attributes among ``dims``: ORDER_COUNTS are exact only when a question groups by all of them.
    splits_orders: tuple[str, ...] = ()

    @property
    def measures(self) -> tuple[str, ...]:
        return ORDER_MEASURES if self.fact == "orders" else LINE_MEASURES


# Few dimensions each, so that a year of one rollup is thousands of rows, not hundreds of
# thousands (brands alone number ~200 in the demo). Checked in order; the first that fits wins.
ROLLUPS: tuple[Rollup, ...] = (
    Rollup("orders_region", "orders", ("region", "channel")),
    Rollup("orders_city", "orders", ("city", "region", "country")),
    Rollup("orders_customer", "orders", ("tier", "gender")),
    Rollup("orders_segment", "orders", ("segment", "value_tier")),
    Rollup("orders_campaign", "orders", ("campaign", "channel")),
    Rollup("lines_category", "lines", ("category", "channel", "region"), splits_orders=("category",)),
    Rollup("lines_brand", "lines", ("brand", "category"), splits_orders=("brand", "category")),
)


# Stored with each refresh: rollup rows written under other definitions are never read.
ROLLUPS_VERSION = hashlib.sha1(repr(ROLLUPS).encode()).hexdigest()[:12]


def pick_rollup(fact_measures: dict[str, list[str]], dims: list[str], filters: list[str]) -> Rollup | None:
    """The first rollup that holds every measure, dimension and filter of the question, if any."""
    if len(fact_measures) != 1:
        return None
    ((fact, measures),) = fact_measures.items()
    wanted = {d for d in [*dims, *filters] if d not in TIME_FROM_MONTH and d != "owner"}
    for r in ROLLUPS:
        if r.fact != fact or not set(measures) <= set(r.measures) or not wanted <= set(r.dims):
            continue
        if set(measures) & set(ORDER_COUNTS) and r.fact == "lines" and not set(r.splits_orders) <= set(dims):
            continue
        return r
    return None


def split_period(start: datetime | None, end: datetime, until: datetime) -> tuple[datetime | None, datetime, datetime] | None:
    """Split [start, end) into raw head [start, body_start), rollup months [body_start, body_end), raw tail [tail, end).

    The rollups hold orders before ``until``: whole months before its month, plus the
    part of its own month up to ``until``. Returns None when no whole month fits.
    """
    body_start = None if start is None else (start if start == month_start(start) else next_month(start))
    if until <= end:
        body_end, tail = next_month(month_start(until)), until
    else:
        body_end = tail = month_start(end)
    if body_start is not None and body_start >= body_end:
        return None
    if body_start is not None and body_start > tail:
        return None
    return body_start, body_end, tail


def month_start(moment: datetime | date) -> datetime:
    return datetime(moment.year, moment.month, 1)


def next_month(moment: datetime) -> datetime:
    return datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1)


def rollups_until(conn: Connection) -> datetime | None:
    """Where the current rollups end, or None when there are none or orders were added since."""
    from storage.models.features import FeatureRefresh

    latest = conn.execute(
        select(FeatureRefresh.rollups_until, FeatureRefresh.max_order_id, FeatureRefresh.phases)
        .where(FeatureRefresh.finished_at.is_not(None))
        .order_by(FeatureRefresh.id.desc()).limit(1)
    ).first()
    if latest is None or latest.rollups_until is None or (latest.phases or {}).get("rollups_version") != ROLLUPS_VERSION:
        return None
    max_id = conn.execute(select(func.max(Order.id))).scalar() or 0
    return latest.rollups_until if max_id == latest.max_order_id else None


# ---- reading -----------------------------------------------------------------------------------


def _time_expr(grain: str):
    m = MetricsRollup.month
    if grain == "month":
        return m
    if grain == "year":
        return func.substr(m, 1, 4)
    quarter = (cast(func.substr(m, 6, 2), Integer) + 2).self_group().op("/")(3)
    return func.substr(m, 1, 4).op("||")(literal("-Q")).op("||")(cast(quarter, String))


def query_rollup(
    conn: Connection, rollup: Rollup, *, measures: list[str], dims: list[str], filters: dict[str, list[str]],
    months: tuple[str, str], scope,
) -> pd.DataFrame:
    """Sum of ``measures`` by ``dims`` over whole months [months[0], months[1]) from one rollup."""
    R = MetricsRollup
    slot = {d: getattr(R, f"d{i + 1}") for i, d in enumerate(rollup.dims)}

    def expr(d: str):
        if d in TIME_FROM_MONTH:
            return _time_expr(d)
        if d == "owner":
            return func.coalesce(Owner.name, literal("public pool"))
        return slot[d]

    columns = [expr(d).label(d) for d in dims] + [func.sum(getattr(R, m)).label(m) for m in measures]
    stmt = select(*columns).select_from(R.__table__.outerjoin(Owner, Owner.id == R.owner_id)).where(
        R.rollup == rollup.name, R.month >= months[0], R.month < months[1], scope.customer_clause(R.owner_id)
    )
    for name, values in filters.items():
        stmt = stmt.where(func.lower(expr(name)).in_([v.lower() for v in values]))
    if dims:
        from sqlalchemy import literal_column

        stmt = stmt.group_by(*[literal_column(str(i + 1)) for i in range(len(dims))])
    rows = conn.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[*dims, *measures])
