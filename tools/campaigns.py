"""Tools ``campaign_performance`` (funnel, ROI and A/B verdicts) and ``campaign_targets`` (see targeting.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process
from sqlalchemy import Integer, cast, func, or_, select

from storage.models import Campaign, CampaignTouch, Customer
from tools.campaign_stats import ProportionTest, compare_to_control
from tools.context import ToolContext
from tools.errors import Ambiguous, Candidate, EmptyPeriod, InvalidArgument, NotFound
from tools.periods import Period
from tools.read_cache import cached_read
from tools.results import ChartSpec, Citation, Column, Table, ToolResult
from tools.targeting import CampaignTargetsParams, CampaignTargetsResult, campaign_targets

__all__ = [
    "CampaignPerformanceParams",
    "CampaignPerformanceResult",
    "CampaignTargetsParams",
    "CampaignTargetsResult",
    "campaign_performance",
    "campaign_targets",
    "resolve_campaign",
]

Metric = Literal["conversion", "click", "open"]


class CampaignPerformanceParams(BaseModel):
    campaign: str | int | None = Field(
        default=None,
        description="One campaign by id, external id or name. Omit for every campaign in the period.",
    )
    period: Period = Field(
        default_factory=Period, description="Campaigns starting in this period (default: all)."
    )
    metric: Metric = Field(
        default="conversion", description="Rate the A/B test compares: conversion, click or open."
    )
    control: str | None = Field(
        default=None, description="Control variant; default: the campaign's first variant."
    )
    alpha: float = Field(
        default=0.05, gt=0, lt=0.5, description="Significance level (0.05 = 95% confidence)."
    )


class VariantStats(BaseModel):
    campaign_id: int
    campaign: str
    variant: str
    sent: int
    opened: int
    clicked: int
    converted: int
    open_rate: float
    click_rate: float
    conversion_rate: float
    revenue: float
    cost: float = Field(description="Campaign cost shared out by each variant's share of all sends")
    roi: float | None = Field(description="(revenue - cost) / cost; None without cost")


class CampaignSummary(BaseModel):
    campaign_id: int
    campaign: str
    channel: str
    starts_on: str
    sent: int
    conversion_rate: float
    revenue: float
    cost: float
    roi: float | None
    tests: list[ProportionTest] = Field(default_factory=list)


class CampaignPerformanceResult(ToolResult):
    variants: list[VariantStats]
    campaigns: list[CampaignSummary]
    metric: Metric


def resolve_campaign(ctx: ToolContext, *, campaign: str | int) -> Campaign:
    """One campaign by id, external id or fuzzy name; NotFound / Ambiguous otherwise."""
    text = str(campaign).strip()
    with ctx.engine.connect() as conn:
        if text.isdigit():
            row = conn.execute(select(Campaign).where(Campaign.id == int(text))).first()
        else:
            row = conn.execute(
                select(Campaign).where(
                    or_(
                        func.upper(Campaign.external_id) == text.upper(),
                        func.lower(Campaign.name) == text.lower(),
                    )
                )
            ).first()
        if row is not None:
            return Campaign.model_validate(row._mapping)
        names = dict(conn.execute(select(Campaign.id, Campaign.name)).all())
    hits = process.extract(
        text.casefold(),
        {i: n.casefold() for i, n in names.items()},
        scorer=fuzz.WRatio,
        limit=8,
        score_cutoff=80,
    )
    if not hits:
        raise NotFound(f"no campaign found for {text!r}", hint="omit the campaign to list all campaigns")
    best = hits[0][1]
    close = [i for _, s, i in hits if s >= best - 3]
    if len(close) > 1:
        raise Ambiguous(
            f"{len(close)} campaigns match {text!r}",
            candidates=[Candidate(id=i, label=names[i]) for i in close],
            hint="say which one by id",
        )
    with ctx.engine.connect() as conn:
        return Campaign.model_validate(
            conn.execute(select(Campaign).where(Campaign.id == close[0])).one()._mapping
        )


def campaign_performance(params: CampaignPerformanceParams, *, ctx: ToolContext) -> CampaignPerformanceResult:
    """Marketing campaign results per campaign and per A/B variant: sent, open rate, click rate,
    conversion rate, attributed revenue, cost and ROI; plus an A/B test of each variant against the
    control (two-proportion z-test, or Fisher's exact test for small counts; 95% confidence interval
    of the difference; Holm correction when there are several variants) with a plain verdict such as
    "B is significantly better than A". Use for "how did the spring email campaign do", "which
    variant won", "campaign ROI this quarter". Counts only touches of customers in the caller's scope.
    Not for choosing whom to target next (use campaign_targets)."""
    return cached_read(
        ctx,
        "campaign_performance",
        (params.model_dump_json(), ctx.now.replace(second=0, microsecond=0)),
        lambda: _campaign_performance(params, ctx=ctx),
    ).model_copy(deep=True)


def _campaign_performance(
    params: CampaignPerformanceParams, *, ctx: ToolContext
) -> CampaignPerformanceResult:
    wanted = [Campaign.id.is_not(None)]
    if params.campaign is not None:
        wanted = [Campaign.id == resolve_campaign(ctx, campaign=params.campaign).id]
    elif params.period.start or params.period.end:
        start, end = params.period.resolve(ctx)
        wanted = [Campaign.starts_on <= (end - timedelta(microseconds=1)).date()]
        if start is not None:
            wanted.append(Campaign.starts_on >= start.date())
    as_int = lambda col: func.sum(cast(col, Integer))  # noqa: E731 - booleans sum portably as integers
    with ctx.engine.connect() as conn:
        meta = {
            r[0]: r
            for r in conn.execute(
                select(
                    Campaign.id,
                    Campaign.name,
                    Campaign.channel,
                    Campaign.starts_on,
                    Campaign.cost,
                    Campaign.variants,
                ).where(*wanted)
            ).all()
        }
        ids = sorted(meta)
        touch = CampaignTouch
        stmt = select(
            touch.campaign_id,
            touch.variant,
            func.count(),
            as_int(touch.opened),
            as_int(touch.clicked),
            as_int(touch.converted),
            func.sum(touch.attributed_revenue),
        ).where(touch.campaign_id.in_(ids))
        if not ctx.scope.all_customers:  # joining 300k touches to customers costs more than the sums
            stmt = stmt.join(Customer, Customer.id == touch.customer_id)
            stmt = stmt.where(ctx.scope.customer_clause(Customer.owner_id))
        counts = conn.execute(stmt.group_by(touch.campaign_id, touch.variant)).all() if ids else []
        all_sent = (
            dict(
                conn.execute(
                    select(touch.campaign_id, func.count())
                    .where(touch.campaign_id.in_(ids))
                    .group_by(touch.campaign_id)
                ).all()
            )
            if ids and not ctx.scope.all_customers
            else {}
        )
    if not counts:
        raise EmptyPeriod("no campaign touches found for this campaign or period in your scope")
    if ctx.scope.all_customers:
        for cid, _variant, sent, *_ in counts:
            all_sent[cid] = all_sent.get(cid, 0) + sent
    order = sorted(counts, key=lambda r: (-meta[r[0]][3].toordinal(), r[0], r[1]))
    rows = [(*meta[r[0]], *r[1:]) for r in order]
    variants = _variant_stats(rows, all_sent)
    campaigns = _campaign_summaries(rows, variants, params)
    return _result(params, variants=variants, campaigns=campaigns)


def _variant_stats(rows, all_sent: dict[int, int]) -> list[VariantStats]:
    out = []
    for (
        cid,
        name,
        _channel,
        _start,
        cost,
        _variants,
        variant,
        sent,
        opened,
        clicked,
        converted,
        revenue,
    ) in rows:
        share = sent / all_sent[cid] if all_sent.get(cid) else 0.0
        v_cost = round((cost or 0.0) * share, 2)
        revenue = round(float(revenue or 0.0), 2)
        out.append(
            VariantStats(
                campaign_id=cid,
                campaign=name,
                variant=variant,
                sent=sent,
                opened=int(opened or 0),
                clicked=int(clicked or 0),
                converted=int(converted or 0),
                open_rate=(opened or 0) / sent,
                click_rate=(clicked or 0) / sent,
                conversion_rate=(converted or 0) / sent,
                revenue=revenue,
                cost=v_cost,
                roi=round((revenue - v_cost) / v_cost, 4) if v_cost else None,
            )
        )
    return out


def _campaign_summaries(
    rows, variants: list[VariantStats], params: CampaignPerformanceParams
) -> list[CampaignSummary]:
    meta = {r[0]: r for r in rows}
    grouped: dict[int, list[VariantStats]] = defaultdict(list)
    for v in variants:
        grouped[v.campaign_id].append(v)
    successes = {"conversion": "converted", "click": "clicked", "open": "opened"}[params.metric]
    out = []
    for cid, vs in grouped.items():
        _, name, channel, starts_on, _, declared, *_ = meta[cid]
        tests: list[ProportionTest] = []
        if len(vs) > 1:
            names = [v.variant for v in vs]
            control = params.control or next((d for d in (declared or []) if d in names), sorted(names)[0])
            if control not in names:
                raise InvalidArgument(
                    f"variant {control!r} is not in campaign {name!r}", hint="variants: " + ", ".join(names)
                )
            counts = {v.variant: (getattr(v, successes), v.sent) for v in vs}
            tests = compare_to_control(counts, control=control, alpha=params.alpha, metric=params.metric)
        sent = sum(v.sent for v in vs)
        revenue = round(sum(v.revenue for v in vs), 2)
        cost = round(sum(v.cost for v in vs), 2)
        out.append(
            CampaignSummary(
                campaign_id=cid,
                campaign=name,
                channel=channel,
                starts_on=str(starts_on),
                sent=sent,
                conversion_rate=sum(v.converted for v in vs) / sent,
                revenue=revenue,
                cost=cost,
                roi=round((revenue - cost) / cost, 4) if cost else None,
                tests=tests,
            )
        )
    return out


_COLUMNS = [
    Column(key="campaign", label="Campaign", label_zh="活动"),
    Column(key="variant", label="Variant", label_zh="版本"),
    Column(key="sent", label="Sent", label_zh="发送", kind="int"),
    Column(key="open_rate", label="Open", label_zh="打开率", kind="pct"),
    Column(key="click_rate", label="Click", label_zh="点击率", kind="pct"),
    Column(key="conversion_rate", label="Conversion", label_zh="转化率", kind="pct"),
    Column(key="revenue", label="Revenue", label_zh="收入", kind="money"),
    Column(key="cost", label="Cost", label_zh="成本", kind="money"),
    Column(key="roi", label="ROI", label_zh="投资回报率", kind="pct"),
]


def _result(
    params, *, variants: list[VariantStats], campaigns: list[CampaignSummary]
) -> CampaignPerformanceResult:
    sent = sum(c.sent for c in campaigns)
    revenue = sum(c.revenue for c in campaigns)
    cost = sum(c.cost for c in campaigns)
    roi = f"{(revenue - cost) / cost:.0%}" if cost else "n/a"
    tests = [t for c in campaigns for t in c.tests]
    winners = [f"{c.campaign}: {t.verdict}" for c in campaigns for t in c.tests if t.significant]
    head = (
        f"{len(campaigns)} campaign(s), {sent:,} sends, revenue {revenue:,.2f}, cost {cost:,.2f}, ROI {roi}."
    )
    if len(campaigns) == 1:
        c = campaigns[0]
        head = f"{c.campaign} ({c.channel}, from {c.starts_on}): {c.sent:,} sent, conversion {c.conversion_rate:.2%}, revenue {c.revenue:,.2f}, cost {c.cost:,.2f}, ROI {roi}."
    lines = [head]
    if len(campaigns) <= 3:
        lines += [t.verdict for t in tests]
    elif tests:
        lines.append(
            f"A/B tests: {len(winners)} of {len(tests)} variant comparisons significant."
            + (" " + " ".join(winners[:3]) if winners else "")
        )
    sig = sum(t.significant for t in tests)
    summary_zh = f"共 {len(campaigns)} 个活动，发送 {sent:,} 次，收入 {revenue:,.2f}，成本 {cost:,.2f}，投资回报率 {roi}。"
    if tests:
        summary_zh += f"A/B 检验：{len(tests)} 组对比中 {sig} 组在 {1 - params.alpha:.0%} 置信度下显著。"
        summary_zh += "".join(
            f"{t.variant} 对比 {t.control}：{t.rate:.2%} vs {t.control_rate:.2%}，p={t.p_adjusted:.3g}，{'显著' if t.significant else '不显著'}。"
            for t in tests[:4]
        )
    chart = ChartSpec(
        kind="bar",
        title=f"{params.metric.title()} rate by variant",
        x=[f"{v.campaign[:18]} {v.variant}" if len(campaigns) > 1 else v.variant for v in variants[:20]],
        series={
            f"{params.metric} rate": [
                round(getattr(v, f"{params.metric}_rate") * 100, 3) for v in variants[:20]
            ]
        },
        y_label="%",
    )
    return CampaignPerformanceResult(
        summary=" ".join(lines),
        summary_zh=summary_zh,
        table=Table.from_records(_COLUMNS, variants),
        chart=chart,
        citations=[Citation(kind="campaign", id=c.campaign_id, label=c.campaign) for c in campaigns[:20]],
        variants=variants,
        campaigns=campaigns,
        metric=params.metric,
    )
