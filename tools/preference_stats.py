"""Building blocks of ``purchase_preferences``: the order lines of a target and the population baselines.

Population baselines (category, brand and channel mix; promotion and discount
shares; each customer's promo share for ranking price sensitivity) are computed over
*all* customers for the period, because "more than usual" must mean more than the
company's usual, not the caller's book. They are aggregates, so they expose no
customer outside the caller's scope. They are cached per database fingerprint and
period, so only the first call after new orders pays for the scan.
"""

from __future__ import annotations

import threading
from datetime import datetime

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Integer, case, cast, func, select

from storage.db import has_table
from storage.models import NON_REVENUE_STATUSES, Customer, Order, OrderLine, Product
from storage.models.features import FeatureRefresh
from tools import model_store
from tools.cadence import rows_frame
from tools.order_frames import database_key

# Promo shares shrink toward the population rate by a number of pseudo-units (a beta
# prior), so a customer with two units both on promotion does not outrank a steady
# bargain hunter. The prior's strength is estimated from the data (empirical Bayes,
# beta-binomial method of moments): the more customers truly differ, the weaker the
# pull. Bounded to [MIN_PRIOR_UNITS, MAX_PRIOR_UNITS] for degenerate populations.
MIN_PRIOR_UNITS = 1.0
MAX_PRIOR_UNITS = 50.0
# Above this many customers the baselines come from a deterministic 1-in-k sample of them
# (customer_id % k == 0): a full pass joins every order line (minutes at 2M lines), while
# 20,000 customers pin shares and percentiles to within about half a point.
SAMPLE_CUSTOMERS = 20_000
# Bump when the baselines change shape or meaning, so copies saved on disk by older code are not reused.
BASELINE_VERSION = 1
LINE_COLUMNS = [
    "customer_id",
    "order_id",
    "ordered_at",
    "channel",
    "category",
    "brand",
    "quantity",
    "unit_price",
    "discount",
    "promo",
    "amount",
]


class Population(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    category_share: dict[str, float]
    brand_share: dict[str, float]
    channel_share: dict[str, float]
    promo_unit_share: float
    promo_spend_share: float
    discount_depth: float  # list value given away / list value, over all lines
    prior_units: float  # strength of the beta prior the shares shrink with
    customer_promo: pd.DataFrame  # customer_id, units, promo_units, smoothed_share

    def promo_percentile(self, smoothed_share: float) -> float:
        """Share of customers whose smoothed promo share is at or below this one (0..1)."""
        values = self.customer_promo["smoothed_share"].to_numpy()
        if len(values) == 0:
            return 0.5
        below = np.searchsorted(values, smoothed_share, side="right")
        return float(below / len(values))


def revenue_line_filter(start: datetime | None, end: datetime) -> list:
    conds = [Order.ordered_at < end, Order.status.not_in(NON_REVENUE_STATUSES)]
    if start is not None:
        conds.append(Order.ordered_at >= start)
    return conds


def lines_frame(conn, *, where: list, joins=()) -> pd.DataFrame:
    """Revenue order lines for the target (``where`` selects it) as a frame of LINE_COLUMNS."""
    stmt = (
        select(
            Order.customer_id,
            Order.id,
            Order.ordered_at,
            Order.channel,
            Product.category,
            Product.brand,
            OrderLine.quantity,
            OrderLine.unit_price,
            OrderLine.discount,
            OrderLine.promo,
            OrderLine.amount,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
    )
    for target, on in joins:
        stmt = stmt.join(target, on)
    frame = rows_frame(conn.execute(stmt.where(*where)).all(), LINE_COLUMNS)
    if not frame.empty:
        frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
        frame["promo"] = frame["promo"].astype(bool)
        frame[["category", "brand"]] = frame[["category", "brand"]].fillna("(none)")
    return frame


def smoothed_promo_share(
    promo_units: float, units: float, population_rate: float, prior_units: float
) -> float:
    return (promo_units + prior_units * population_rate) / (units + prior_units)


def prior_strength(promo_units: np.ndarray, units: np.ndarray) -> float:
    """Beta-binomial method of moments: a + b from the spread of customer rates beyond binomial noise."""
    keep = units > 0
    x, n = promo_units[keep], units[keep]
    if len(n) < 10 or n.sum() == 0:
        return MAX_PRIOR_UNITS
    w = n / n.sum()
    rate = x / n
    mean = float((w * rate).sum())
    if mean <= 0 or mean >= 1:
        return MAX_PRIOR_UNITS
    var = float((w * (rate - mean) ** 2).sum())
    inv_n = float((w / n).sum())
    # var / (m (1 - m)) = rho + (1 - rho) E[1/n], rho = 1 / (a + b + 1) the intra-customer correlation.
    rho = (var / (mean * (1 - mean)) - inv_n) / (1 - inv_n) if inv_n < 1 else 0.0
    if rho <= 0:
        return MAX_PRIOR_UNITS
    return float(np.clip((1 - rho) / rho, MIN_PRIOR_UNITS, MAX_PRIOR_UNITS))


_CACHE: dict[tuple, Population] = {}
_LOCK = threading.Lock()


def population(engine, *, start: datetime | None, end: datetime) -> Population:
    """Baselines for the period, cached until the next ``crm refresh`` (or, with no refresh yet, the next order).

    A baseline describes the whole base; one more order barely moves it, and rebuilding it
    scans every order line, so it follows the refresh cycle rather than each new order.
    """
    with engine.connect() as conn:
        version = None
        if has_table(engine, FeatureRefresh.__tablename__):
            # The finish time too: a rebuilt database starts its refresh ids at 1 again, and the
            # disk cache below must not hand it the old database's baselines.
            latest = conn.execute(
                select(FeatureRefresh.id, FeatureRefresh.finished_at)
                .where(FeatureRefresh.finished_at.is_not(None)).order_by(FeatureRefresh.id.desc()).limit(1)
            ).first()
            version = tuple(latest) if latest else None
        if version is None:
            version = ("orders", conn.execute(select(func.max(Order.id))).scalar())
    key = (str(engine.url), start, end, version)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    # On disk too, so a new process (a CLI call, a restarted server) skips the full scan of order lines.
    disk_key = model_store.cache_key(BASELINE_VERSION, database_key(engine), start, end, version)
    value = model_store.load("baselines", disk_key)
    if value is None:
        value = _population(engine, start=start, end=end)
        model_store.save("baselines", disk_key, value, keep=16)
    with _LOCK:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = value
    return value


def _population(engine, *, start: datetime | None, end: datetime) -> Population:
    where = revenue_line_filter(start, end)
    with engine.connect() as conn:
        customers = conn.execute(select(func.max(Customer.id))).scalar() or 0
    step = max(1, -(-customers // SAMPLE_CUSTOMERS))
    if step > 1:
        # Every step-th customer: a deterministic sample; see SAMPLE_CUSTOMERS.
        where.append(Order.customer_id % step == 0)
    promo_int = cast(OrderLine.promo, Integer)
    gross = OrderLine.quantity * OrderLine.unit_price
    # One pass grouped by (customer, product): per-customer promo stats and per-product spend
    # are both sums of it, so the order lines are read once.
    grouped = (
        select(
            Order.customer_id,
            OrderLine.product_id,
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.quantity * promo_int),
            func.sum(OrderLine.amount),
            func.sum(case((OrderLine.promo.is_(True), OrderLine.amount), else_=0.0)),
            func.sum(gross),
            func.sum(gross * OrderLine.discount),
        )
        .select_from(Order)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(*where)
        .group_by(Order.customer_id, OrderLine.product_id)
    )
    channels = select(Order.channel, func.count()).where(*where).group_by(Order.channel)
    if engine.dialect.name == "sqlite":
        # Scan orders once instead of walking an index and fetching each row (status, channel).
        grouped = grouped.with_hint(Order, "NOT INDEXED", dialect_name="sqlite")
        channels = channels.with_hint(Order, "NOT INDEXED", dialect_name="sqlite")
    with engine.connect() as conn:
        rows = conn.execute(grouped).all()
        products = {
            r[0]: (r[1], r[2])
            for r in conn.execute(select(Product.id, Product.category, Product.brand)).all()
        }
        by_channel = conn.execute(channels).all()
    cols = [
        "customer_id",
        "product_id",
        "units",
        "promo_units",
        "spend",
        "promo_spend",
        "gross",
        "discount_value",
    ]
    cp = rows_frame(rows, cols).astype({c: "float64" for c in cols[2:]})
    product_spend = cp.groupby("product_id")["spend"].sum()
    by_cat: dict = {}
    by_brand: dict = {}
    for product_id, amount in product_spend.items():
        category, brand = products.get(product_id, (None, None))
        by_cat[category] = by_cat.get(category, 0.0) + float(amount)
        by_brand[brand] = by_brand.get(brand, 0.0) + float(amount)
    by_cat, by_brand = list(by_cat.items()), list(by_brand.items())
    pc = (
        cp.drop(columns="product_id").groupby("customer_id", as_index=False).sum()
        if len(cp)
        else cp.drop(columns="product_id")
    )
    units, promo_units = pc["units"].sum(), pc["promo_units"].sum()
    rate = float(promo_units / units) if units else 0.0
    prior = prior_strength(pc["promo_units"].to_numpy(), pc["units"].to_numpy())
    pc["smoothed_share"] = (pc["promo_units"] + prior * rate) / (pc["units"] + prior)
    pc = pc.sort_values("smoothed_share", kind="stable").reset_index(drop=True)
    return Population(
        category_share=_shares(by_cat),
        brand_share=_shares(by_brand),
        channel_share=_shares(by_channel),
        promo_unit_share=rate,
        prior_units=prior,
        promo_spend_share=float(pc["promo_spend"].sum() / pc["spend"].sum()) if pc["spend"].sum() else 0.0,
        discount_depth=float(pc["discount_value"].sum() / pc["gross"].sum()) if pc["gross"].sum() else 0.0,
        customer_promo=pc[["customer_id", "units", "promo_units", "smoothed_share"]],
    )


def _shares(rows) -> dict[str, float]:
    values = {(k if k is not None else "(none)"): float(v or 0.0) for k, v in rows}
    total = sum(values.values())
    return {k: v / total for k, v in values.items()} if total else {}
