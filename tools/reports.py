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

from pydantic import BaseModel, Field

from tools.context import ToolContext
from tools.periods import Period
from tools.quiet import QuietCustomersParams, quiet_period
from tools.read_cache import cached_read
from tools.results import ChartSpec, Citation, Column, Table, ToolResult
from tools.vip_sections import (
    FREQUENCY_BANDS,
    Band,
    PeriodSales,
    Share,
    VipWarning,
    band_counts,
    early_warnings,
    month_keys,
    month_start,
    period_sales,
    private_copy,
    shares,
    spend_band_edges,
    vip_features,
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
    # A private copy: callers may edit the result, and the cached one is shared (pickle copies far faster
    # than deepcopy on a report with hundreds of warnings).
    return private_copy(cached_read(
        ctx,
        "vip_report",
        (params.model_dump_json(), ctx.now.replace(second=0, microsecond=0)),
        lambda: _vip_report(params, ctx=ctx),
    ))


def _vip_report(params: VipReportParams, *, ctx: ToolContext) -> VipReportResult:
    start, end = quiet_period(QuietCustomersParams(period=params.period), ctx)
    vip = vip_features(ctx)
    # The trend ends with the period's last month: count back from its last moment, not from ``end``.
    trend_start = month_start(end - timedelta(microseconds=1), back=params.trend_months - 1)
    sales = period_sales(ctx, vip_ids=vip["customer_id"].to_numpy(dtype="int64"), start=start, end=end,
                         trend_start=trend_start)
    warnings = early_warnings(ctx, vip, start=start, end=end)
    return _result(params, start=start, end=end, vip=vip, sales=sales, warnings=warnings)


_COLUMNS = [
    Column(key="kind", label="Warning", label_zh="预警"),
    Column(key="name", label="Customer", label_zh="客户"),
    Column(key="owner", label="Owner", label_zh="负责人"),
    Column(key="detail", label="Detail", label_zh="详情"),
]


def _result(params, *, start, end, vip, sales: PeriodSales, warnings):
    last_day = (end - timedelta(microseconds=1)).date()
    values = sales.spend.astype(float)
    orders = sales.orders.astype(int)
    spend_bands = band_counts(values, spend_band_edges(float(values.max()) if len(values) else 0.0))
    freq_bands = [
        Band(band=label, customers=int(((orders >= lo) & (orders <= hi)).sum()))
        for lo, hi, label in FREQUENCY_BANDS
    ]
    pop_cats = sales.population_categories
    pop_total = sum(v for _, v in pop_cats)
    categories = shares(sales.categories, {k: v / pop_total for k, v in pop_cats} if pop_total else {})
    chan = shares(sales.channels)
    vip_revenue = round(float(values.sum()), 2)
    promo, pop_promo = sales.promo_units, sales.population_promo_units
    promo_share = promo[0] / promo[1] if promo[1] else None
    pop_promo_share = pop_promo[0] / pop_promo[1] if pop_promo[1] else None
    months = month_keys(end, params.trend_months)
    monthly = {m: round(sales.monthly.get(m, 0.0), 2) for m in months}
    scope_revenue = sales.scope_revenue
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
