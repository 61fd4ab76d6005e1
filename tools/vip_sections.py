"""Sections of the VIP report: who the VIPs are, what they bought (one pass over the order and line books),
bands, shares and early warnings."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import select

from storage.models import Customer, StaffUser
from tools.cadence import customers_in_scope
from tools.context import ToolContext
from tools.feature_source import fresh_snapshot
from tools.line_frames import line_book, positions, product_categories
from tools.order_frames import order_book
from tools.quiet import DROP_FACTOR, find_quiet
from tools.snapshot_cache import snapshot_arrays


class Band(BaseModel):
    band: str
    customers: int


class Share(BaseModel):
    name: str
    share: float
    population_share: float | None = None


class VipWarning(BaseModel):
    customer_id: int
    name: str
    owner: str
    kind: str = Field(description="quiet | spend_drop | frequency_drop")
    detail: str


T = TypeVar("T")
FREQUENCY_BANDS = [(0, 0, "0"), (1, 1, "1"), (2, 2, "2"), (3, 4, "3-4"), (5, 9, "5-9"), (10, 10**9, "10+")]


def vip_features(ctx: ToolContext) -> pd.DataFrame:
    """VIPs in the caller's scope with their 90-day figures, sorted by customer id."""
    cols = ["customer_id", "spend_90d", "spend_prev_90d", "orders_90d", "orders_prev_90d"]
    snapshot = fresh_snapshot(ctx)
    if snapshot is not None:
        snap = snapshot_arrays(ctx, snapshot)  # read once per refresh
        mask = (snap.texts["value_tier"] == "vip") & snap.in_scope(ctx)
        frame = pd.DataFrame({"customer_id": snap.customer_id[mask], **{c: snap.numbers[c][mask] for c in cols[1:]}})
        return frame.astype({"orders_90d": "int64", "orders_prev_90d": "int64"})
    from tools.cadence import compute_cadence
    from tools.rfm import compute_rfm

    rfm = compute_rfm(ctx.engine, now=ctx.now, scope=ctx.scope, clusters=False)
    vip_ids = rfm.loc[rfm["value_tier"] == "vip", "customer_id"]
    cadence = compute_cadence(ctx.engine, now=ctx.now, scope=ctx.scope)
    return cadence[cadence["customer_id"].isin(vip_ids)][cols].sort_values("customer_id").reset_index(drop=True)


@dataclass
class PeriodSales:
    """What the VIPs (and, for comparison, everyone) bought in the period, from the order and line books."""

    orders: np.ndarray  # per VIP (in the order of the ids given), revenue orders in the period
    spend: np.ndarray  # per VIP, revenue in the period
    channels: list[tuple[str, float]]  # VIP revenue orders per channel
    categories: list[tuple[str, float]]  # VIP line revenue per category
    population_categories: list[tuple[str, float]]  # everyone's line revenue per category
    promo_units: tuple[float, float]  # VIP (units on promotion, units)
    population_promo_units: tuple[float, float]
    scope_revenue: float  # revenue of every customer in scope
    monthly: dict[str, float]  # VIP revenue per month over the trend window


def period_sales(ctx: ToolContext, *, vip_ids: np.ndarray, start: datetime, end: datetime,
                 trend_start: datetime) -> PeriodSales:
    """Every section's numbers in one pass over the period's orders and lines (revenue orders only).

    The population figures follow the report's definitions: revenue share over the caller's
    scope; category mix and promotion share over every customer.
    """
    book = order_book(ctx.engine)
    vip_ids = np.asarray(vip_ids, dtype="int64")
    vips = np.sort(vip_ids)
    rows = book.between(start, end)
    rows = rows[book.revenue[rows]]
    vip_at, is_vip = positions(vips, book.customer_id[rows])
    amounts = book.amount[rows]
    # Per VIP in the caller's order of ids.
    order = np.argsort(vip_ids, kind="stable")
    back = np.empty(len(vips), dtype="int64")
    back[order] = np.arange(len(vips))
    counts = np.bincount(vip_at[is_vip], minlength=len(vips))
    spend = np.bincount(vip_at[is_vip], weights=amounts[is_vip], minlength=len(vips))
    channel_counts = np.bincount(book.channel[rows[is_vip]], minlength=len(book.channels))
    channels = [(book.channels[i], float(n)) for i, n in enumerate(channel_counts) if n]
    if ctx.scope.all_customers:
        scope_revenue = float(amounts.sum())
    else:
        mine = np.sort(np.asarray(customers_in_scope(ctx.engine, scope=ctx.scope), dtype="int64"))
        scope_revenue = float(amounts[positions(mine, book.customer_id[rows])[1]].sum())
    trend = book.between(trend_start, end)
    trend = trend[book.revenue[trend]]
    trend = trend[positions(vips, book.customer_id[trend])[1]]
    months = book.ms[trend].astype("datetime64[ms]").astype("datetime64[M]")
    labels, month_of = np.unique(months, return_inverse=True)
    monthly = dict(zip([str(m) for m in labels], np.bincount(month_of, weights=book.amount[trend]).tolist(),
                       strict=True))
    lines = line_book(ctx.engine, book)
    span = lines.between(start, end)
    line_rows = lines.order_row[span]
    paid = book.revenue[line_rows]
    line_vip = paid & positions(vips, book.customer_id[line_rows])[1]
    category, names = product_categories(ctx.engine, lines.product_id[span])
    known = category >= 0
    amount, quantity, promo = lines.amount[span], lines.quantity[span], lines.promo[span]

    def by_category(mask: np.ndarray) -> list[tuple[str, float]]:
        sums = np.bincount(category[mask & known], weights=amount[mask & known], minlength=len(names))
        present = np.bincount(category[mask & known], minlength=len(names)) > 0
        return [(names[i], float(v)) for i, v in enumerate(sums) if present[i]]

    def promo_units(mask: np.ndarray) -> tuple[float, float]:
        return float(quantity[mask & promo].sum()), float(quantity[mask].sum())

    return PeriodSales(
        orders=counts[back], spend=spend[back], channels=channels, categories=by_category(line_vip),
        population_categories=by_category(paid), promo_units=promo_units(line_vip),
        population_promo_units=promo_units(paid), scope_revenue=scope_revenue, monthly=monthly,
    )


def private_copy(result: T) -> T:
    """A deep copy of a cached result (pickle round trip: a fraction of ``model_copy(deep=True)``'s time)."""
    return pickle.loads(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


def month_start(moment: datetime, *, back: int) -> datetime:
    year, month = moment.year, moment.month - back
    while month <= 0:
        year, month = year - 1, month + 12
    return datetime(year, month, 1)


def customer_names(ctx: ToolContext, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Name and owner of just these customers (the ones a warning names)."""
    if not ids:
        return {}
    people = []
    with ctx.engine.connect() as conn:
        for i in range(0, len(ids), 5000):
            people += conn.execute(
                select(Customer.id, Customer.name, Customer.owner_id).where(Customer.id.in_(ids[i : i + 5000]))
            ).all()
        staff = dict(conn.execute(select(StaffUser.id, StaffUser.name)).all())
    return {
        cid: (name, staff.get(owner, "?") if owner is not None else "public pool")
        for cid, name, owner in people
    }


def early_warnings(ctx: ToolContext, vip: pd.DataFrame, *, start: datetime, end: datetime) -> list[VipWarning]:
    """Quiet VIPs (went quiet in the period, see ``tools.quiet``), then spend drops and frequency drops
    among the other VIPs (last 90 days at most half the 90 before)."""
    quiet = find_quiet(ctx, start=start, end=end, tier="vip", segment=None)
    quiet_ids = set(quiet["customer_id"].astype(int)) if not quiet.empty else set()
    rest = vip[~vip["customer_id"].isin(quiet_ids)]
    spend_drop = rest[(rest["spend_prev_90d"] > 0) & (rest["spend_90d"] <= DROP_FACTOR * rest["spend_prev_90d"])]
    spend_drop = spend_drop.sort_values("spend_prev_90d", ascending=False)
    freq = rest[(rest["orders_prev_90d"] >= 2) & (rest["orders_90d"] <= DROP_FACTOR * rest["orders_prev_90d"])]
    freq = freq.sort_values("orders_prev_90d", ascending=False)
    found: list[tuple[int, str, str]] = []
    for r in quiet.itertuples():
        found.append((int(r.customer_id), "quiet", f"{r.days_since:.0f} days since last purchase, usual gap "
                      f"{r.usual_gap_days:.0f} ({r.ratio:.1f}x)"))
    for r in spend_drop.itertuples():
        change = r.spend_90d / r.spend_prev_90d - 1
        found.append((int(r.customer_id), "spend_drop", f"spend last 90 days {r.spend_90d:,.0f} vs "
                      f"{r.spend_prev_90d:,.0f} before ({change:+.0%})"))
    for r in freq.itertuples():
        found.append((int(r.customer_id), "frequency_drop", f"{int(r.orders_90d)} orders in the last 90 days vs "
                      f"{int(r.orders_prev_90d)} before"))
    names = customer_names(ctx, sorted({cid for cid, _, _ in found}))
    return [
        VipWarning(customer_id=cid, name=names.get(cid, (str(cid), "?"))[0], owner=names.get(cid, (str(cid), "?"))[1],
                   kind=kind, detail=detail)
        for cid, kind, detail in found
    ]


def spend_band_edges(max_value: float) -> list[float]:
    """Round 1-2.5-5 edges from 0 to the first edge at or above the largest spend (at most 8 bands)."""
    edges = [0.0]
    step = 10.0 ** max(0, int(np.floor(np.log10(max(max_value, 1.0)))) - 2)
    while edges[-1] < max(max_value, 1.0):
        for mult in (1, 2.5, 5):
            if mult * step > edges[-1] and edges[-1] < max(max_value, 1.0):
                edges.append(mult * step)
        step *= 10
    while len(edges) > 9:
        edges = edges[:1] + edges[2:]  # merge the lowest bands: the tail is where VIPs differ
    return edges


def band_counts(values: np.ndarray, edges: list[float]) -> list[Band]:
    bands = [Band(band="no orders", customers=int((values <= 0).sum()))]
    positive = values[values > 0]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        n = int(((positive > lo) & (positive <= hi)).sum())
        bands.append(Band(band=f"{lo:,.0f}-{hi:,.0f}", customers=n))
    return bands


def shares(rows, population: dict[str, float] | None = None) -> list[Share]:
    total = sum(float(v or 0) for _, v in rows)
    out = (
        [
            Share(
                name=str(k),
                share=round(float(v or 0) / total, 4),
                population_share=round(population.get(str(k), 0.0), 4) if population is not None else None,
            )
            for k, v in rows
        ]
        if total
        else []
    )
    return sorted(out, key=lambda s: -s.share)


def month_keys(end: datetime, n: int) -> list[str]:
    last = end - timedelta(microseconds=1)
    first = month_start(last, back=n - 1)
    keys, y, m = [], first.year, first.month
    for _ in range(n):
        keys.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return keys
