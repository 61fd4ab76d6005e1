"""Sections of the VIP report: who the VIPs are, chunked queries, bands, shares and early warnings."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import Integer, cast, func, select

from storage.models import Customer, Order, OrderLine, Product, StaffUser
from storage.models.features import CustomerFeatures
from tools.context import ToolContext
from tools.feature_source import fresh_snapshot
from tools.quiet import DROP_FACTOR, find_quiet


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


CHUNK = 5000


FREQUENCY_BANDS = [(0, 0, "0"), (1, 1, "1"), (2, 2, "2"), (3, 4, "3-4"), (5, 9, "5-9"), (10, 10**9, "10+")]


def vip_features(ctx: ToolContext) -> pd.DataFrame:
    cols = ["customer_id", "spend_90d", "spend_prev_90d", "orders_90d", "orders_prev_90d"]
    if fresh_snapshot(ctx) is not None:
        f = CustomerFeatures
        with ctx.engine.connect() as conn:
            rows = conn.execute(
                select(f.customer_id, f.spend_90d, f.spend_prev_90d, f.orders_90d, f.orders_prev_90d)
                .join(Customer, Customer.id == f.customer_id)
                .where(ctx.scope.customer_clause(Customer.owner_id), f.value_tier == "vip")
            ).all()
        return pd.DataFrame(rows, columns=cols)
    from tools.cadence import compute_cadence
    from tools.rfm import compute_rfm

    rfm = compute_rfm(ctx.engine, now=ctx.now, scope=ctx.scope, clusters=False)
    vip_ids = rfm.loc[rfm["value_tier"] == "vip", "customer_id"]
    cadence = compute_cadence(ctx.engine, now=ctx.now, scope=ctx.scope)
    return cadence[cadence["customer_id"].isin(vip_ids)][cols].reset_index(drop=True)


def chunked(conn, ids: list[int], build) -> list[tuple]:
    """Run ``build(chunk)`` over id chunks (SQLite caps bound parameters) and sum rows grouped by their first column."""
    merged: dict = {}
    for i in range(0, len(ids), CHUNK):
        for key, *values in conn.execute(build(ids[i : i + CHUNK])).all():
            prev = merged.get(key)
            merged[key] = (
                values if prev is None else [(a or 0) + (b or 0) for a, b in zip(prev, values, strict=True)]
            )
    return [(k, *v) for k, v in merged.items()]


def month_expr(column, dialect: str):
    if dialect == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(column, "YYYY-MM")


def month_start(moment: datetime, *, back: int) -> datetime:
    year, month = moment.year, moment.month - back
    while month <= 0:
        year, month = year - 1, month + 12
    return datetime(year, month, 1)


def population_totals(conn, ctx: ToolContext, in_period: list):
    scoped = [*in_period, ctx.scope.customer_clause(Customer.owner_id)]
    total = conn.execute(
        select(func.sum(Order.total_amount)).join(Customer, Customer.id == Order.customer_id).where(*scoped)
    ).scalar()
    cats = conn.execute(
        select(Product.category, func.sum(OrderLine.amount))
        .select_from(Order)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(*in_period)
        .group_by(Product.category)
    ).all()
    promo = conn.execute(
        select(func.sum(OrderLine.quantity * cast(OrderLine.promo, Integer)), func.sum(OrderLine.quantity))
        .select_from(Order)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(*in_period)
    ).one()
    return float(total or 0.0), cats, promo


def vip_names(conn, vip: pd.DataFrame) -> dict[int, tuple[str, str]]:
    ids = vip["customer_id"].astype(int).tolist()
    people = []
    for i in range(0, len(ids), CHUNK):
        people += conn.execute(
            select(Customer.id, Customer.name, Customer.owner_id).where(Customer.id.in_(ids[i : i + CHUNK]))
        ).all()
    staff = dict(conn.execute(select(StaffUser.id, StaffUser.name)).all())
    return {
        cid: (name, staff.get(owner, "?") if owner is not None else "public pool")
        for cid, name, owner in people
    }


def early_warnings(
    ctx: ToolContext, vip: pd.DataFrame, names, *, start: datetime, end: datetime
) -> list[VipWarning]:
    out: list[VipWarning] = []
    quiet = find_quiet(ctx, start=start, end=end, tier="vip", segment=None)
    for r in quiet.itertuples():
        name, owner = names.get(int(r.customer_id), (str(r.customer_id), "?"))
        out.append(
            VipWarning(
                customer_id=int(r.customer_id),
                name=name,
                owner=owner,
                kind="quiet",
                detail=f"{r.days_since:.0f} days since last purchase, usual gap {r.usual_gap_days:.0f} ({r.ratio:.1f}x)",
            )
        )
    quiet_ids = set(quiet["customer_id"].astype(int)) if not quiet.empty else set()
    rest = vip[~vip["customer_id"].isin(quiet_ids)]
    spend_drop = rest[
        (rest["spend_prev_90d"] > 0) & (rest["spend_90d"] <= DROP_FACTOR * rest["spend_prev_90d"])
    ]
    for r in spend_drop.sort_values("spend_prev_90d", ascending=False).itertuples():
        name, owner = names.get(int(r.customer_id), (str(r.customer_id), "?"))
        change = r.spend_90d / r.spend_prev_90d - 1
        out.append(
            VipWarning(
                customer_id=int(r.customer_id),
                name=name,
                owner=owner,
                kind="spend_drop",
                detail=f"spend last 90 days {r.spend_90d:,.0f} vs {r.spend_prev_90d:,.0f} before ({change:+.0%})",
            )
        )
    freq = rest[
        (rest["orders_prev_90d"] >= 2) & (rest["orders_90d"] <= DROP_FACTOR * rest["orders_prev_90d"])
    ]
    for r in freq.sort_values("orders_prev_90d", ascending=False).itertuples():
        name, owner = names.get(int(r.customer_id), (str(r.customer_id), "?"))
        out.append(
            VipWarning(
                customer_id=int(r.customer_id),
                name=name,
                owner=owner,
                kind="frequency_drop",
                detail=f"{int(r.orders_90d)} orders in the last 90 days vs {int(r.orders_prev_90d)} before",
            )
        )
    return out


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
