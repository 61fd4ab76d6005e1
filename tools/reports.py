"""Tool ``vip_report``: the VIP report for a period.

VIPs are the ``vip`` value tier (top 5 % of customers by lifetime spend, see
``tools.rfm``) as of now, within the caller's scope. The report shows, for the
period: how their spend and order counts are distributed (bands), what they buy
(category mix against all customers), how they buy (channel mix, promotion share),
early warnings (VIPs who went quiet against their own rhythm, from ``tools.quiet``;
spend and frequency drops over the last 90 days against the 90 before), and the
monthly VIP revenue trend.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import Integer, cast, func, literal, select

from storage.models import NON_REVENUE_STATUSES, Order, OrderLine, Product
from tools.context import ToolContext
from tools.periods import Period
from tools.quiet import QuietCustomersParams, quiet_period
from tools.read_cache import cached_read
from tools.results import ChartSpec, Citation, Column, Table, ToolResult
from tools.vip_sections import (
    FREQUENCY_BANDS,
    Band,
    Share,
    VipWarning,
    band_counts,
    chunked,
    early_warnings,
    month_expr,
    month_keys,
    month_start,
    population_totals,
    shares,
    spend_band_edges,
    vip_features,
    vip_names,
)


class VipReportParams(BaseModel):
    period: Period = Field(
        default_factory=Period, description="Report period. Default: this month (1st to today)."
    )
    trend_months: int = Field(default=12, ge=2, le=36, description="Months in the revenue trend chart.")


class VipReportResult(ToolResult):
    period_start: str
    period_end: str
    vips: int
    active_vips: int = Field(description="VIPs with at least one order in the period")
    vip_revenue: float
    revenue_share: float | None = Field(
        description="VIP revenue / revenue of all customers in scope, in the period"
    )
    spend_bands: list[Band]
    frequency_bands: list[Band]
    categories: list[Share]
    channels: list[Share]
    promo_unit_share: float | None
    population_promo_unit_share: float | None
    warnings: list[VipWarning]
    monthly_revenue: dict[str, float]
    extra_charts: list[ChartSpec] = Field(default_factory=list)


def vip_report(params: VipReportParams, *, ctx: ToolContext) -> VipReportResult:
    """The VIP report for a period (default: this month): how many VIPs (top 5% by lifetime spend)
    are in scope and how many bought; their revenue and share of revenue; distribution of spend and
    order counts in bands; category mix against all customers; channel mix and share bought on
    promotion; early warnings (VIPs who went quiet against their own rhythm, VIPs whose spend or order
    frequency over the last 90 days halved); and the monthly VIP revenue trend (line chart, plus spend
    distribution and category charts). Use for "VIP report for June", "how are our VIPs doing".
    Only customers in the caller's scope. For one VIP use customer_profile; for the quiet list alone
    use quiet_customers."""
    return cached_read(
        ctx,
        "vip_report",
        (params.model_dump_json(), ctx.now.replace(second=0, microsecond=0)),
        lambda: _vip_report(params, ctx=ctx),
    ).model_copy(deep=True)


def _vip_report(params: VipReportParams, *, ctx: ToolContext) -> VipReportResult:
    start, end = quiet_period(QuietCustomersParams(period=params.period), ctx)
    vip = vip_features(ctx)
    ids = vip["customer_id"].astype(int).tolist()
    dialect = ctx.engine.dialect.name
    revenue = [Order.status.not_in(NON_REVENUE_STATUSES)]
    in_period = [*revenue, Order.ordered_at >= start, Order.ordered_at < end]
    trend_start = month_start(end, back=params.trend_months - 1)
    with ctx.engine.connect() as conn:
        per_customer = chunked(
            conn,
            ids,
            lambda chunk: (
                select(Order.customer_id, func.count(), func.sum(Order.total_amount))
                .where(*in_period, Order.customer_id.in_(chunk))
                .group_by(Order.customer_id)
            ),
        )
        cats = chunked(
            conn,
            ids,
            lambda chunk: (
                select(Product.category, func.sum(OrderLine.amount))
                .select_from(Order)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .join(Product, Product.id == OrderLine.product_id)
                .where(*in_period, Order.customer_id.in_(chunk))
                .group_by(Product.category)
            ),
        )
        channels = chunked(
            conn,
            ids,
            lambda chunk: (
                select(Order.channel, func.count())
                .where(*in_period, Order.customer_id.in_(chunk))
                .group_by(Order.channel)
            ),
        )
        promo = chunked(
            conn,
            ids,
            lambda chunk: (
                select(
                    literal(1),
                    func.sum(OrderLine.quantity * cast(OrderLine.promo, Integer)),
                    func.sum(OrderLine.quantity),
                )
                .select_from(Order)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .where(*in_period, Order.customer_id.in_(chunk))
            ),
        )
        month = month_expr(Order.ordered_at, dialect)
        trend = chunked(
            conn,
            ids,
            lambda chunk: (
                select(month, func.sum(Order.total_amount))
                .where(
                    *revenue,
                    Order.ordered_at >= trend_start,
                    Order.ordered_at < end,
                    Order.customer_id.in_(chunk),
                )
                .group_by(month)
            ),
        )
        scope_revenue, pop_cats, pop_promo = population_totals(conn, ctx, in_period)
        names = vip_names(conn, vip)
    spend = pd.DataFrame(per_customer, columns=["customer_id", "orders", "spend"])
    warnings = early_warnings(ctx, vip, names, start=start, end=end)
    return _result(
        params,
        start=start,
        end=end,
        vip=vip,
        spend=spend,
        cats=cats,
        channels=channels,
        promo=promo,
        trend=trend,
        scope_revenue=scope_revenue,
        pop_cats=pop_cats,
        pop_promo=pop_promo,
        warnings=warnings,
    )


_COLUMNS = [
    Column(key="kind", label="Warning", label_zh="预警"),
    Column(key="name", label="Customer", label_zh="客户"),
    Column(key="owner", label="Owner", label_zh="负责人"),
    Column(key="detail", label="Detail", label_zh="详情"),
]


def _result(
    params,
    *,
    start,
    end,
    vip,
    spend,
    cats,
    channels,
    promo,
    trend,
    scope_revenue,
    pop_cats,
    pop_promo,
    warnings,
):
    last_day = (end - timedelta(microseconds=1)).date()
    spend_all = (
        vip[["customer_id"]].merge(spend, on="customer_id", how="left").fillna({"orders": 0, "spend": 0.0})
    )
    values = spend_all["spend"].to_numpy(dtype=float)
    orders = spend_all["orders"].to_numpy(dtype=int)
    spend_bands = band_counts(values, spend_band_edges(float(values.max()) if len(values) else 0.0))
    freq_bands = [
        Band(band=label, customers=int(((orders >= lo) & (orders <= hi)).sum()))
        for lo, hi, label in FREQUENCY_BANDS
    ]
    pop_total = sum(float(v or 0) for _, v in pop_cats)
    categories = shares(cats, {str(k): float(v or 0) / pop_total for k, v in pop_cats} if pop_total else {})
    chan = shares(channels)
    vip_revenue = round(float(values.sum()), 2)
    promo_share = float(promo[0][1] or 0) / float(promo[0][2]) if promo and promo[0][2] else None
    pop_promo_share = float(pop_promo[0] or 0) / float(pop_promo[1]) if pop_promo[1] else None
    months = month_keys(end, params.trend_months)
    monthly = {m: 0.0 for m in months}
    for m, value in trend:
        if m in monthly:
            monthly[m] = round(float(value or 0), 2)
    active = int((orders > 0).sum())
    share = vip_revenue / scope_revenue if scope_revenue else None
    counts = {k: sum(w.kind == k for w in warnings) for k in ("quiet", "spend_drop", "frequency_drop")}
    span = f"{start.date().isoformat()} to {last_day.isoformat()}"
    span_zh = f"{start.date().isoformat()} 至 {last_day.isoformat()}"
    top_cats = ", ".join(f"{c.name} {c.share:.0%}" for c in categories[:3]) or "none"
    summary = (
        f"VIP report {span}: {len(vip)} VIPs, {active} bought ({vip_revenue:,.2f} revenue"
        + (f", {share:.0%} of revenue" if share is not None else "")
        + f"). Top categories: {top_cats}. "
        + (f"Main channel: {chan[0].name} ({chan[0].share:.0%} of orders). " if chan else "")
        + (
            f"Bought on promotion: {promo_share:.0%} of units (all customers {pop_promo_share:.0%}). "
            if promo_share is not None and pop_promo_share is not None
            else ""
        )
        + f"Early warnings: {counts['quiet']} quiet VIPs, {counts['spend_drop']} spend drops, {counts['frequency_drop']} frequency drops."
    )
    summary_zh = (
        f"VIP 报告（{span_zh}）：VIP 共 {len(vip)} 位，其中 {active} 位有购买，收入 {vip_revenue:,.2f}"
        + (f"，占总收入 {share:.0%}" if share is not None else "")
        + f"。主要品类：{top_cats}。"
        + f"预警：沉默 VIP {counts['quiet']} 位，消费下降 {counts['spend_drop']} 位，频次下降 {counts['frequency_drop']} 位。"
    )
    chart = ChartSpec(
        kind="line",
        title="Monthly VIP revenue",
        x=list(monthly),
        series={"VIP revenue": list(monthly.values())},
        x_label="month",
        y_label="revenue",
    )
    extra = [
        ChartSpec(
            kind="bar",
            title="VIP spend in the period",
            x=[b.band for b in spend_bands],
            series={"VIPs": [float(b.customers) for b in spend_bands]},
            x_label="spend",
            y_label="customers",
        ),
        ChartSpec(
            kind="bar",
            title="VIP orders in the period",
            x=[b.band for b in freq_bands],
            series={"VIPs": [float(b.customers) for b in freq_bands]},
            x_label="orders",
            y_label="customers",
        ),
    ]
    if categories:
        extra.append(
            ChartSpec(
                kind="pie",
                title="VIP category mix",
                x=[c.name for c in categories[:8]],
                series={"share": [c.share for c in categories[:8]]},
            )
        )
    return VipReportResult(
        summary=summary,
        summary_zh=summary_zh,
        table=Table.from_records(_COLUMNS, warnings),
        chart=chart,
        citations=[Citation(kind="customer", id=w.customer_id, label=w.name) for w in warnings[:50]],
        period_start=start.date().isoformat(),
        period_end=last_day.isoformat(),
        vips=len(vip),
        active_vips=active,
        vip_revenue=vip_revenue,
        revenue_share=round(share, 4) if share is not None else None,
        spend_bands=spend_bands,
        frequency_bands=freq_bands,
        categories=categories,
        channels=chan,
        promo_unit_share=round(promo_share, 4) if promo_share is not None else None,
        population_promo_unit_share=round(pop_promo_share, 4) if pop_promo_share is not None else None,
        warnings=warnings,
        monthly_revenue=monthly,
        extra_charts=extra,
    )
