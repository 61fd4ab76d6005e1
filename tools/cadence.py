"""Per-customer purchase cadence: how often each customer usually buys, and how recently.

``compute_cadence`` is a building block, not a tool: ``crm refresh`` stores its
output in the feature snapshot, and ``quiet_customers`` / ``vip_report`` read it.

Definitions (revenue orders only, i.e. status not in NON_REVENUE_STATUSES, placed before ``now``):
- a *purchase day* is a calendar day with at least one order; several orders on one
  day are one visit, so split baskets do not shrink the gap to zero;
- ``usual_gap_days`` is the median gap in days between consecutive purchase days
  (NaN with fewer than two purchase days): the median, unlike the mean, is not
  dragged by one long holiday gap;
- ``days_since_last`` is ``now - last_order_at`` in days (fractional);
- 90-day windows: ``*_90d`` covers [now-90d, now), ``*_prev_90d`` covers [now-180d, now-90d).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Float, and_, cast, func, literal_column, select
from sqlalchemy.engine import Engine

from storage.models import NON_REVENUE_STATUSES, Customer, Order
from storage.scope import Scope
from tools.order_frames import DAY_MS, order_book, to_ms

CADENCE_COLUMNS = [
    "customer_id",
    "first_order_at",
    "last_order_at",
    "orders",
    "usual_gap_days",
    "days_since_last",
    "spend_90d",
    "spend_prev_90d",
    "orders_90d",
    "orders_prev_90d",
]

WINDOW_DAYS = 90
_EPOCH = pd.Timestamp("1970-01-01")


def day_number(column, dialect: str) -> ColumnElement:
    """A timestamp column as fractional days since 1970-01-01, computed by the database.

    Floats cross the driver far faster than datetimes (no per-row parsing), which
    matters when millions of orders are read for a refresh.
    """
    if dialect == "sqlite":
        return func.julianday(column) - literal_column("2440587.5")
    # EXTRACT returns NUMERIC on PostgreSQL (Decimal in Python); cast so sums stay floats.
    return cast(func.extract("epoch", column), Float) / literal_column("86400.0")


def to_day_number(moment: datetime) -> float:
    return (pd.Timestamp(moment) - _EPOCH) / pd.Timedelta(days=1)


def from_day_number(days: pd.Series | np.ndarray) -> pd.Series:
    # Rounded to the second: julianday floats carry ~0.1 s of noise.
    return (_EPOCH + pd.to_timedelta(np.asarray(days, dtype="float64"), unit="D")).round("s")


def rows_frame(rows, columns: list[str]) -> pd.DataFrame:
    """A frame from result rows, column by column.

    pandas takes a slow per-object path for SQLAlchemy ``Row`` objects (about 20 s for a
    million rows here); transposing with ``zip`` first takes a fraction of a second.
    """
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.DataFrame(dict(zip(columns, (list(col) for col in zip(*rows, strict=True)), strict=True)))


def revenue_orders(
    engine: Engine,
    *,
    now: datetime,
    scope: Scope | None = None,
    since: datetime | None = None,
) -> pd.DataFrame:
    """Revenue orders before ``now`` as a frame [customer_id, day (float days since epoch), amount].

    Scope is applied in SQL by joining the customer's owner.
    """
    day = day_number(Order.ordered_at, engine.dialect.name).label("day")
    conditions = [Order.ordered_at < now, Order.status.not_in(NON_REVENUE_STATUSES)]
    if since is not None:
        conditions.append(Order.ordered_at >= since)
    stmt = _scoped(select(Order.customer_id, day, Order.total_amount.label("amount")), scope, conditions)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = rows_frame(rows, ["customer_id", "day", "amount"])
    return frame.astype({"customer_id": "int64", "day": "float64", "amount": "float64"})


def _scoped(stmt, scope: Scope | None, conditions: list):
    if scope is not None and not scope.all_customers:
        stmt = stmt.join(Customer, Customer.id == Order.customer_id)
        conditions = [*conditions, scope.customer_clause(Customer.owner_id)]
    return stmt.where(and_(*conditions))


SUMMARY_COLUMNS = [
    "customer_id",
    "first_day",
    "last_day",
    "orders",
    "amount",
    "spend_90d",
    "spend_prev_90d",
    "orders_90d",
    "orders_prev_90d",
]


def order_summary(engine: Engine, *, now: datetime, scope: Scope | None = None) -> pd.DataFrame:
    """Per-customer aggregates of revenue orders before ``now`` (SUMMARY_COLUMNS plus ``usual_gap_days``).

    Computed with numpy from the shared order book (``tools.order_frames``), which is read
    once per data version; the summary is kept on the book per "now", since ``crm refresh``
    asks for RFM and then for cadence, and a report may ask for the same past moment again.
    """
    book = order_book(engine)
    frame = book.memo(("summary", to_ms(now)), lambda: summary_from_book(book, now=now))
    if scope is not None and not scope.all_customers:
        frame = frame[frame["customer_id"].isin(customers_in_scope(engine, scope=scope))]
    return frame.reset_index(drop=True).copy()


def customers_in_scope(engine: Engine, *, scope: Scope) -> np.ndarray:
    """Sorted ids of the customers ``scope`` may see; kept per customer-table version (max id and latest
    ``updated_at``: an assignment bumps it), since a manager's team plus the pool is tens of thousands of ids."""
    with engine.connect() as conn:
        version = (
            str(engine.url), scope,
            conn.execute(select(func.max(Customer.id))).scalar(),
            conn.execute(select(func.max(Customer.updated_at))).scalar(),
        )
        hit = _SCOPED.get(version)
        if hit is not None:
            return hit
        result = conn.execute(select(Customer.id).where(scope.customer_clause(Customer.owner_id)).order_by(Customer.id))
        ids = np.array([r[0] for r in result.cursor.fetchall()], dtype="int64")
        result.close()
    if len(_SCOPED) >= 32:
        _SCOPED.pop(next(iter(_SCOPED)))
    _SCOPED[version] = ids
    return ids


_SCOPED: dict[tuple, np.ndarray] = {}


def summary_from_book(book, *, now: datetime) -> pd.DataFrame:
    """SUMMARY_COLUMNS + usual_gap_days for every customer with a revenue order before ``now``."""
    cut = to_ms(now)
    perm = book.by_customer
    rows = perm[book.revenue[perm] & (book.ms[perm] < cut)]
    cust, ms, amount = book.customer_id[rows], book.ms[rows], book.amount[rows]
    if not len(rows):
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in [*SUMMARY_COLUMNS, "usual_gap_days"]}).astype(
            {"customer_id": "int64", "orders": "int64", "orders_90d": "int64", "orders_prev_90d": "int64"})
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    counts = np.diff(np.r_[starts, len(rows)])
    group = np.repeat(np.arange(len(starts)), counts)
    recent = ms >= to_ms(now - timedelta(days=WINDOW_DAYS))
    prior = ~recent & (ms >= to_ms(now - timedelta(days=2 * WINDOW_DAYS)))
    return pd.DataFrame({
        "customer_id": cust[starts],
        "first_day": ms[starts] / DAY_MS,
        "last_day": ms[starts + counts - 1] / DAY_MS,
        "orders": counts.astype("int64"),
        "amount": np.add.reduceat(amount, starts),
        "spend_90d": np.add.reduceat(np.where(recent, amount, 0.0), starts),
        "spend_prev_90d": np.add.reduceat(np.where(prior, amount, 0.0), starts),
        "orders_90d": np.add.reduceat(recent.astype("int64"), starts),
        "orders_prev_90d": np.add.reduceat(prior.astype("int64"), starts),
        "usual_gap_days": median_gaps(group, ms // DAY_MS, groups=len(starts)),
    })


def median_gaps(group: np.ndarray, day: np.ndarray, *, groups: int) -> np.ndarray:
    """Median gap in days between consecutive distinct purchase days, per group (NaN with fewer than two).

    ``group`` and ``day`` (integer calendar days) are sorted by group, then day.
    """
    visit = np.r_[True, (group[1:] != group[:-1]) | (day[1:] != day[:-1])]
    g, d = group[visit], day[visit]
    same = g[1:] == g[:-1]
    gaps, owner = np.diff(d)[same].astype("float64"), g[1:][same]
    order = np.lexsort((gaps, owner))
    gaps, owner = gaps[order], owner[order]
    n = np.bincount(owner, minlength=groups)
    first = np.r_[0, np.cumsum(n)[:-1]]
    out = np.full(groups, np.nan)
    has = n > 0
    lo, hi = first[has] + (n[has] - 1) // 2, first[has] + n[has] // 2
    out[has] = (gaps[lo] + gaps[hi]) / 2.0
    return out


def compute_cadence(engine: Engine, *, now: datetime, scope: Scope | None = None) -> pd.DataFrame:
    """One row per customer with at least one revenue order before ``now`` (columns: CADENCE_COLUMNS)."""
    book = order_book(engine)
    out = book.memo(("cadence", to_ms(now)), lambda: _cadence(engine, now=now))
    if scope is not None and not scope.all_customers and not out.empty:
        out = out[out["customer_id"].isin(customers_in_scope(engine, scope=scope))]
    return out.reset_index(drop=True).copy()


def _cadence(engine: Engine, *, now: datetime) -> pd.DataFrame:
    out = order_summary(engine, now=now)
    if out.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in CADENCE_COLUMNS}).astype(
            {"customer_id": "int64", "orders": "int64", "orders_90d": "int64", "orders_prev_90d": "int64"}
        )
    out["days_since_last"] = to_day_number(now) - out["last_day"]
    out["first_order_at"] = from_day_number(out["first_day"].to_numpy())
    out["last_order_at"] = from_day_number(out["last_day"].to_numpy())
    out["spend_90d"] = out["spend_90d"].round(2)
    out["spend_prev_90d"] = out["spend_prev_90d"].round(2)
    return out[CADENCE_COLUMNS]
