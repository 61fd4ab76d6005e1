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

import numpy as np
import pandas as pd
from sqlalchemy import Integer, String, cast, func, literal, select
from sqlalchemy.engine import Connection, Engine

from storage.models import NON_REVENUE_STATUSES, Campaign, Customer, Order, Product
from storage.models.features import MetricsRollup
from tools.metrics.catalog import Owner

ORDER_MEASURES = ("revenue", "orders", "returns", "returns_value", "placed_orders")
LINE_MEASURES = ("revenue", "units", "discount_amount", "promo_revenue", "line_revenue", "returns_value")
TIME_FROM_MONTH = ("month", "quarter", "year")


@dataclass(frozen=True)
class Rollup:
    name: str
    fact: str  # "orders" or "lines"
    dims: tuple[str, ...]  # at most 4, stored in d1..d4

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
    Rollup("lines_category", "lines", ("category", "channel", "region")),
    Rollup("lines_brand", "lines", ("brand", "category")),
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
        if r.fact == fact and set(measures) <= set(r.measures) and wanted <= set(r.dims):
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


# ---- building (crm refresh) ---------------------------------------------------------------------


def _fetch(engine: Engine, sql: str, params: tuple, columns: list[str], *, numeric: bool = False) -> pd.DataFrame:
    """A bulk read through the raw DBAPI cursor: several times faster than SQLAlchemy rows for millions of rows.

    ``numeric``: every column is a number, so one float matrix replaces per-cell Python objects.
    """
    if engine.dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
    finally:
        raw.close()
    if numeric:
        matrix = np.array(rows, dtype="float64") if rows else np.empty((0, len(columns)))
        return pd.DataFrame(matrix, columns=columns)
    return pd.DataFrame(rows, columns=columns)


def _moment(engine: Engine, moment: datetime):
    # SQLite stores SQLAlchemy DateTime as this exact text; Postgres takes the datetime itself.
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if engine.dialect.name == "sqlite" else moment


def _month_sql(engine: Engine, column: str) -> str:
    return f"substr({column}, 1, 7)" if engine.dialect.name == "sqlite" else f"to_char({column}, 'YYYY-MM')"


def read_orders(engine: Engine, *, before: datetime, since: datetime | None = None) -> pd.DataFrame:
    """Orders in [since, before) as a frame [order_id, customer_id, month, status, total, channel, campaign_id]."""
    sql = (
        f"SELECT id, customer_id, {_month_sql(engine, 'ordered_at')}, status, total_amount, channel, campaign_id "
        "FROM orders WHERE ordered_at < ?"
    )
    params: tuple = (_moment(engine, before),)
    if since is not None:
        sql += " AND ordered_at >= ?"
        params += (_moment(engine, since),)
    columns = ["order_id", "customer_id", "month", "status", "total", "channel", "campaign_id"]
    return _fetch(engine, sql, params, columns)


def build_rollups(
    engine: Engine,
    *,
    orders: pd.DataFrame,
    until: datetime,
    segments: pd.DataFrame | None,
    since: datetime | None = None,
    only: set[str] | None = None,
) -> pd.DataFrame:
    """Rollup rows for ``orders`` (``read_orders(engine, before=until, since=since)``), shaped like MetricsRollup.

    ``segments``: the snapshot's [rfm_segment, value_tier] indexed by customer_id;
    ``only``: build just these rollups.
    """
    chosen = [r for r in ROLLUPS if only is None or r.name in only]
    if orders.empty:
        return pd.DataFrame()
    with engine.connect() as conn:
        customers = pd.DataFrame(
            conn.execute(select(Customer.id, Customer.owner_id, Customer.region, Customer.city, Customer.country,
                                Customer.loyalty_tier, Customer.gender)).all(),
            columns=["customer_id", "owner_id", "region", "city", "country", "tier", "gender"],
        ).set_index("customer_id")
        campaigns = dict(conn.execute(select(Campaign.id, Campaign.name)).all())
        products = pd.DataFrame(conn.execute(select(Product.id, Product.category, Product.brand)).all(),
                                columns=["product_id", "category", "brand"]).set_index("product_id")
    line_columns = ["order_id", "product_id", "quantity", "discount_value", "promo", "amount"]
    if not any(r.fact == "lines" for r in chosen):
        lines = pd.DataFrame(columns=line_columns)
    elif since is None:
        # Lines of the orders read above (the inner merge on order_id below drops the rest).
        lines = _fetch(engine, "SELECT order_id, product_id, quantity, quantity * unit_price * discount, "
                       "CASE WHEN promo THEN 1 ELSE 0 END, amount FROM order_line", (), line_columns, numeric=True)
    else:
        lines = _fetch(engine, "SELECT l.order_id, l.product_id, l.quantity, l.quantity * l.unit_price * l.discount, "
                       "CASE WHEN l.promo THEN 1 ELSE 0 END, l.amount FROM order_line l JOIN orders o ON o.id = l.order_id "
                       "WHERE o.ordered_at >= ?", (_moment(engine, since),), line_columns, numeric=True)
    # Categorical keys make the many groupbys below cheap; converting the small tables before the
    # joins is far cheaper than converting a million joined rows afterwards.
    for col in ("region", "city", "country", "tier", "gender"):
        customers[col] = customers[col].astype("category")
    customers["owner_id"] = customers["owner_id"].astype("Int64").astype("category")
    orders = orders.join(customers, on="customer_id")
    if segments is not None and not segments.empty:
        seg = segments[["rfm_segment", "value_tier"]].rename(columns={"rfm_segment": "segment"})
        orders = orders.join(seg.astype("category"), on="customer_id")
    else:
        orders["segment"], orders["value_tier"] = None, None
    orders["campaign"] = orders["campaign_id"].map(campaigns).fillna("(none)").astype("category")
    revenue = ~orders["status"].isin(NON_REVENUE_STATUSES)
    returned = orders["status"] == "returned"
    orders["revenue"] = np.where(revenue, orders["total"], 0.0)
    orders["orders"] = revenue.astype(float)
    orders["returns"] = returned.astype(float)
    orders["returns_value"] = np.where(returned, orders["total"], 0.0)
    orders["placed_orders"] = (orders["status"] != "cancelled").astype(float)

    for col in ("month", "channel", "segment", "value_tier"):
        if not isinstance(orders[col].dtype, pd.CategoricalDtype):
            orders[col] = orders[col].astype("category")
    frames = [_group(orders, r) for r in chosen if r.fact == "orders"]
    if not lines.empty:
        lines["order_id"] = lines["order_id"].astype("int64")
        lines["product_id"] = lines["product_id"].astype("int64")
        lines = lines.merge(orders[["order_id", "month", "status", "channel", "owner_id", "region"]], on="order_id")
        lines = lines.join(products.astype("category"), on="product_id")
        rev = ~lines["status"].isin(NON_REVENUE_STATUSES)
        lines["revenue"] = np.where(rev, lines["amount"], 0.0)
        lines["line_revenue"] = lines["revenue"]
        lines["units"] = np.where(rev, lines["quantity"], 0).astype(float)
        lines["discount_amount"] = np.where(rev, lines["discount_value"], 0.0)
        lines["promo_revenue"] = np.where(rev & lines["promo"].astype(bool), lines["amount"], 0.0)
        lines["returns_value"] = np.where(lines["status"] == "returned", lines["amount"], 0.0)
        frames += [_group(lines, r) for r in chosen if r.fact == "lines"]
    return pd.concat(frames, ignore_index=True)


def _group(frame: pd.DataFrame, rollup: Rollup) -> pd.DataFrame:
    keys = ["month", "owner_id", *rollup.dims]
    out = frame.groupby(keys, sort=False, as_index=False, dropna=False, observed=True)[list(rollup.measures)].sum()
    for k in keys:
        out[k] = out[k].astype(object).where(out[k].notna(), None)
    out = out.rename(columns={d: f"d{i + 1}" for i, d in enumerate(rollup.dims)})
    out.insert(0, "rollup", rollup.name)
    for i in range(len(rollup.dims) + 1, 5):
        out[f"d{i}"] = None
    for m in ("revenue", "orders", "returns", "returns_value", "placed_orders", "units", "discount_amount",
              "promo_revenue", "line_revenue"):
        if m not in out:
            out[m] = 0.0
    return out


def rollup_columns(frame: pd.DataFrame) -> dict[str, list]:
    """Column lists ready for a bulk insert: plain ints, floats, strings and None (never NaN)."""
    out: dict[str, list] = {}
    for col in frame.columns:
        values = frame[col].tolist()
        if col == "owner_id":
            out[col] = [None if v is None or v != v else int(v) for v in values]
        elif col in ("rollup", "month", "d1", "d2", "d3", "d4"):
            out[col] = [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]
        else:
            out[col] = [float(v) for v in values]
    return out
