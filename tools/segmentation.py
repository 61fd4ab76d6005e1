"""Tool ``segment_customers``: RFM segments, value tiers and k-means clusters, with sizes and profiles.

The computation lives in ``tools.rfm`` (definitions documented there); this module
answers questions from the fresh feature snapshot when there is one (SQL group-by,
fast) and from a direct computation otherwise.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import select

from storage.models import Customer, StaffUser
from storage.models.features import CustomerFeatures
from tools.context import ToolContext
from tools.feature_source import fresh_snapshot
from tools.read_cache import cached_read
from tools.results import ChartSpec, Citation, Column, Table, ToolResult
from tools.rfm import RFM_COLUMNS, SEGMENTS, TIERS, compute_rfm, normalize_segment, normalize_tier

__all__ = ["RFM_COLUMNS", "compute_rfm", "segment_customers", "normalize_segment", "normalize_tier"]

Dimension = Literal["segment", "tier", "cluster"]
_COLUMN = {"segment": "rfm_segment", "tier": "value_tier", "cluster": "cluster"}


class SegmentCustomersParams(BaseModel):
    by: Dimension = Field(
        default="segment",
        description="Group by 'segment' (named RFM segment), 'tier' (value tier vip/mid/low) or 'cluster' (k-means).",
    )
    segment: str | None = Field(
        default=None,
        description="Only this RFM segment, e.g. 'champions', 'at risk', 'hibernating', 'can't lose them'.",
    )
    tier: str | None = Field(
        default=None, description="Only this value tier: 'vip' (alias 'high'), 'mid' or 'low'."
    )
    cluster: int | None = Field(
        default=None, ge=1, description="Only this k-means cluster number (1 = most valuable)."
    )
    list_members: bool = Field(
        default=False, description="Also list the matching customers, highest spend first."
    )
    limit: int = Field(default=20, ge=1, le=500, description="How many members to list.")
    chart: Literal["bar", "pie"] = Field(default="bar", description="Chart of group sizes.")


class SegmentProfile(BaseModel):
    key: str
    label: str
    label_zh: str
    customers: int
    share: float = Field(description="Share of the matching customers")
    avg_recency_days: float
    avg_frequency: float
    avg_monetary: float
    revenue: float
    revenue_share: float
    description: str


class SegmentMember(BaseModel):
    customer_id: int
    name: str
    owner: str
    rfm_segment: str
    value_tier: str
    cluster: int | None
    rfm: str = Field(description="R, F and M scores, e.g. '545'")
    recency_days: float
    frequency: int
    monetary: float


class SegmentCustomersResult(ToolResult):
    by: Dimension
    groups: list[SegmentProfile]
    members: list[SegmentMember] = Field(default_factory=list)
    total_customers: int
    total_revenue: float
    source: Literal["snapshot", "computed"]


def segment_customers(params: SegmentCustomersParams, *, ctx: ToolContext) -> SegmentCustomersResult:
    """Customer segmentation of buying customers: named RFM segments (champions, loyal, potential
    loyalists, new, promising, need attention, about to sleep, at risk, can't lose them, hibernating,
    lost), value tiers (vip = top 5% by lifetime spend, mid = next 35%, low = bottom 60%) or k-means
    clusters on log RFM (k chosen by silhouette). Returns each group's size, share, average recency
    (days), frequency (orders), monetary (spend) and revenue share; optionally lists the members.
    Filters: segment, tier, cluster. Use for "how many champions do we have", "profile of at-risk
    customers", "list VIP customers in the hibernating segment". Scores compare each customer with
    the whole customer base; only customers in the caller's scope are counted. Not for customers
    who went quiet against their own cadence (use quiet_customers) or churn probability (churn_risk)."""
    return cached_read(
        ctx,
        "segment_customers",
        (params.model_dump_json(), ctx.now.replace(second=0, microsecond=0)),
        lambda: _segment_customers(params, ctx=ctx),
    ).model_copy(deep=True)


def _segment_customers(params: SegmentCustomersParams, *, ctx: ToolContext) -> SegmentCustomersResult:
    filters = {
        "rfm_segment": normalize_segment(params.segment) if params.segment else None,
        "value_tier": normalize_tier(params.tier) if params.tier else None,
        "cluster": params.cluster,
    }
    filters = {k: v for k, v in filters.items() if v is not None}
    column = _COLUMN[params.by]
    snapshot = fresh_snapshot(ctx)
    if snapshot is not None:
        sums, members = _from_snapshot(ctx, snapshot, column=column, filters=filters, params=params)
        source = "snapshot"
    else:
        sums, members = _from_computation(ctx, column=column, filters=filters, params=params)
        source = "computed"
    return _result(params, sums=sums, members=members, source=source)


_SUMS = ["customers", "recency_sum", "frequency_sum", "revenue"]


def _from_snapshot(ctx: ToolContext, snapshot, *, column: str, filters: dict, params: SegmentCustomersParams):
    from tools.snapshot_cache import snapshot_arrays

    f = CustomerFeatures
    where = [f.rfm_segment.is_not(None), *(getattr(f, k) == v for k, v in filters.items())]
    # Group sizes and sums: numpy over the snapshot cached per refresh (a join of 100k rows per call otherwise).
    snap = snapshot_arrays(ctx, snapshot)
    mask = snap.in_scope(ctx) & np.array([v is not None for v in snap.texts["rfm_segment"]], dtype=bool)
    for key, value in filters.items():
        mask &= (snap.texts[key] == value) if key in snap.texts else (snap.numbers[key] == value)
    keys = snap.texts[column][mask] if column in snap.texts else snap.numbers[column][mask]
    frame = pd.DataFrame({"key": keys, "recency_sum": snap.numbers["recency_days"][mask],
                          "frequency_sum": snap.numbers["frequency"][mask], "revenue": snap.numbers["monetary"][mask]})
    grouped = frame.groupby("key", sort=True, dropna=False)
    sums = grouped[["recency_sum", "frequency_sum", "revenue"]].sum().assign(customers=grouped.size()).reset_index()
    if column == "cluster":
        sums["key"] = [None if k != k else int(k) for k in sums["key"]]
    sums = sums[["key", *_SUMS]]
    with ctx.engine.connect() as conn:
        members = None
        if params.list_members:
            member_stmt = (
                select(
                    f.customer_id,
                    Customer.name,
                    Customer.owner_id,
                    f.rfm_segment,
                    f.value_tier,
                    f.cluster,
                    f.r_score,
                    f.f_score,
                    f.m_score,
                    f.recency_days,
                    f.frequency,
                    f.monetary,
                )
                .join(Customer, Customer.id == f.customer_id)
                .where(*where, ctx.scope.customer_clause(Customer.owner_id))
                .order_by(f.monetary.desc(), f.customer_id)
                .limit(params.limit)
            )
            members = _members(conn, conn.execute(member_stmt).all())
    return sums, members


def _from_computation(ctx: ToolContext, *, column: str, filters: dict, params: SegmentCustomersParams):
    rfm = compute_rfm(
        ctx.engine, now=ctx.now, scope=ctx.scope, clusters=column == "cluster" or "cluster" in filters
    )
    for key, value in filters.items():
        rfm = rfm[rfm[key] == value]
    sums = (
        rfm.groupby(column)
        .agg(
            customers=("customer_id", "size"),
            recency_sum=("recency_days", "sum"),
            frequency_sum=("frequency", "sum"),
            revenue=("monetary", "sum"),
        )
        .reset_index()
        .rename(columns={column: "key"})
    )
    members = None
    if params.list_members:
        top = rfm.sort_values(["monetary", "customer_id"], ascending=[False, True]).head(params.limit)
        with ctx.engine.connect() as conn:
            names = dict(
                (r[0], (r[1], r[2]))
                for r in conn.execute(
                    select(Customer.id, Customer.name, Customer.owner_id).where(
                        Customer.id.in_(top["customer_id"].tolist())
                    )
                ).all()
            )
            rows = [
                (
                    int(r.customer_id),
                    *names[int(r.customer_id)],
                    r.rfm_segment,
                    r.value_tier,
                    r.cluster,
                    r.r_score,
                    r.f_score,
                    r.m_score,
                    r.recency_days,
                    r.frequency,
                    r.monetary,
                )
                for r in top.itertuples()
            ]
            members = _members(conn, rows)
    return sums, members


def _members(conn, rows) -> list[SegmentMember]:
    owner_ids = {r[2] for r in rows if r[2] is not None}
    owners = (
        dict(conn.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(owner_ids))).all())
        if owner_ids
        else {}
    )
    return [
        SegmentMember(
            customer_id=cid,
            name=name,
            owner=owners.get(owner_id, "?") if owner_id is not None else "public pool",
            rfm_segment=seg,
            value_tier=tier,
            cluster=int(cluster) if cluster is not None else None,
            rfm=f"{int(r)}{int(fs)}{int(m)}",
            recency_days=round(float(rec), 1),
            frequency=int(freq),
            monetary=round(float(mon), 2),
        )
        for cid, name, owner_id, seg, tier, cluster, r, fs, m, rec, freq, mon in rows
    ]


def _labels(by: Dimension, key) -> tuple[str, str, str]:
    if by == "segment":
        return SEGMENTS.get(key, (str(key), str(key), ""))
    if by == "tier":
        label, zh, rule = TIERS.get(key, (str(key), str(key), ""))
        return label, zh, rule
    return f"Cluster {key}", f"第{key}类", ""


def _order(by: Dimension, keys: list) -> list:
    if by == "segment":
        return sorted(keys, key=lambda k: list(SEGMENTS).index(k) if k in SEGMENTS else 99)
    if by == "tier":
        return sorted(keys, key=lambda k: list(TIERS).index(k) if k in TIERS else 99)
    return sorted(keys)


def _profiles(by: Dimension, sums: pd.DataFrame) -> list[SegmentProfile]:
    total = int(sums["customers"].sum())
    revenue = float(sums["revenue"].sum())
    overall_rec = float(sums["recency_sum"].sum()) / total if total else 0.0
    overall_freq = float(sums["frequency_sum"].sum()) / total if total else 0.0
    overall_mon = revenue / total if total else 0.0
    rows = {r.key: r for r in sums.itertuples()}
    out = []
    for key in _order(by, list(rows)):
        r = rows[key]
        n = int(r.customers)
        label, zh, desc = _labels(by, key)
        avg_rec, avg_freq, avg_mon = (
            float(r.recency_sum) / n,
            float(r.frequency_sum) / n,
            float(r.revenue) / n,
        )
        if by == "cluster":
            desc = ", ".join(
                [
                    "recent" if avg_rec <= overall_rec else "lapsed",
                    "frequent" if avg_freq > overall_freq else "infrequent",
                    "high spend" if avg_mon > overall_mon else "low spend",
                ]
            )
        out.append(
            SegmentProfile(
                key=str(key),
                label=label,
                label_zh=zh,
                customers=n,
                share=round(n / total, 4),
                avg_recency_days=round(avg_rec, 1),
                avg_frequency=round(avg_freq, 2),
                avg_monetary=round(avg_mon, 2),
                revenue=round(float(r.revenue), 2),
                revenue_share=round(float(r.revenue) / revenue, 4) if revenue else 0.0,
                description=desc,
            )
        )
    return out


_GROUP_COLUMNS = [
    Column(key="label", label="Group", label_zh="分组"),
    Column(key="customers", label="Customers", label_zh="客户数", kind="int"),
    Column(key="share", label="Share", label_zh="占比", kind="pct"),
    Column(key="avg_recency_days", label="Avg recency (days)", label_zh="平均最近购买（天）", kind="float"),
    Column(key="avg_frequency", label="Avg orders", label_zh="平均订单数", kind="float"),
    Column(key="avg_monetary", label="Avg spend", label_zh="平均消费", kind="money"),
    Column(key="revenue_share", label="Revenue share", label_zh="收入占比", kind="pct"),
]
_MEMBER_COLUMNS = [
    Column(key="customer_id", label="ID", label_zh="编号", kind="int"),
    Column(key="name", label="Customer", label_zh="客户"),
    Column(key="owner", label="Owner", label_zh="负责人"),
    Column(key="rfm_segment", label="Segment", label_zh="分群"),
    Column(key="value_tier", label="Tier", label_zh="价值层级"),
    Column(key="rfm", label="RFM", label_zh="RFM"),
    Column(key="recency_days", label="Days since last", label_zh="距上次购买（天）", kind="float"),
    Column(key="frequency", label="Orders", label_zh="订单数", kind="int"),
    Column(key="monetary", label="Spend", label_zh="消费额", kind="money"),
]


def _result(
    params: SegmentCustomersParams, *, sums: pd.DataFrame, members, source: str
) -> SegmentCustomersResult:
    groups = _profiles(params.by, sums)
    total = sum(g.customers for g in groups)
    revenue = round(sum(g.revenue for g in groups), 2)
    what = {"segment": "RFM segment", "tier": "value tier", "cluster": "k-means cluster"}[params.by]
    what_zh = {"segment": "RFM分群", "tier": "价值层级", "cluster": "聚类"}[params.by]
    if not groups:
        summary, summary_zh = (
            "No buying customers match these filters in your scope.",
            "在您的权限范围内没有符合条件的已购客户。",
        )
    else:
        top = sorted(groups, key=lambda g: -g.customers)[:3]
        summary = (
            f"{total:,} customers by {what} ({len(groups)} groups, revenue {revenue:,.2f}); largest: "
            + ", ".join(
                f"{g.label} {g.customers:,} ({g.share:.0%}, {g.revenue_share:.0%} of revenue)" for g in top
            )
        )
        summary_zh = (
            f"按{what_zh}共 {total:,} 位客户（{len(groups)} 组，收入 {revenue:,.2f}）；最大组："
            + "，".join(
                f"{g.label_zh} {g.customers:,}（{g.share:.0%}，收入占 {g.revenue_share:.0%}）" for g in top
            )
        )
    table = (
        Table.from_records(_MEMBER_COLUMNS, members)
        if members is not None
        else Table.from_records(_GROUP_COLUMNS, groups)
    )
    chart = None
    if groups:
        chart = ChartSpec(
            kind=params.chart,
            title=f"Customers by {what}",
            x=[g.label for g in groups],
            series={"customers": [float(g.customers) for g in groups]},
            x_label=what,
            y_label="customers",
        )
    return SegmentCustomersResult(
        summary=summary,
        summary_zh=summary_zh,
        table=table,
        chart=chart,
        citations=[Citation(kind="customer", id=m.customer_id, label=m.name) for m in (members or [])],
        by=params.by,
        groups=groups,
        members=members or [],
        total_customers=total,
        total_revenue=revenue,
        source=source,
    )
