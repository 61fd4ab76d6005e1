"""Tool ``purchase_preferences``: what, how, where and when a customer (or a segment) buys.

Definitions (revenue order lines in the period):
- affinity: the target's share of spend in a category or brand, and its lift = share /
  the whole customer base's share (lift > 1 = buys it more than usual);
- price sensitivity: share of units and of spend bought on promotion, and discount depth
  (list value given away / list value). The rank is the percentile of the customer's
  promo unit share among all buying customers, after shrinking every share toward the
  base rate with an empirical-Bayes beta prior (see ``tools.preference_stats``), so thin
  evidence counts for less: "high" in the top quintile (>= 80th percentile), "low" in
  the bottom one;
- channel: share of orders per order channel against the base;
- timing: orders and inbound contacts by weekday, hour band and season (times as stored).
  The best time to contact is the hour band (8:00-22:00 only) where the target
  answered outbound contacts best (at least 3 contacts in the band; an answer is an inbound
  contact or an order within 48 hours), else where the target is most active.
"""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import select

from storage.models import Customer, Interaction, Order
from storage.models.features import CustomerFeatures
from tools.context import ToolContext
from tools.errors import EmptyPeriod, InvalidArgument
from tools.feature_source import fresh_snapshot
from tools.lookup import resolve_customer
from tools.periods import Period
from tools.preference_stats import (
    Population,
    lines_frame,
    population,
    revenue_line_filter,
    smoothed_promo_share,
)
from tools.preference_timing import Timing, timing_of
from tools.read_cache import cached_read
from tools.results import ChartSpec, Citation, Column, Table, ToolResult

_ID_CHUNK = 5000


class PurchasePreferencesParams(BaseModel):
    customer: str | int | None = Field(
        default=None, description="One customer: id, external id (C000123) or name."
    )
    segment: str | None = Field(
        default=None, description="Or a whole RFM segment, e.g. 'champions', 'at risk'."
    )
    tier: str | None = Field(
        default=None, description="Or a value tier: vip (high), mid, low (combinable with segment)."
    )
    period: Period = Field(
        default_factory=Period, description="Purchases in this period (default: all history)."
    )
    top: int = Field(default=5, ge=1, le=20, description="How many categories and brands to show.")


class Affinity(BaseModel):
    kind: str = Field(description="category or brand")
    name: str
    spend: float
    share: float
    population_share: float
    lift: float | None


class PriceSensitivity(BaseModel):
    promo_unit_share: float
    promo_spend_share: float
    discount_depth: float
    population_promo_unit_share: float
    population_promo_spend_share: float
    population_discount_depth: float
    percentile: float = Field(
        description="Rank of the smoothed promo unit share among all buying customers, 0..1"
    )
    level: str = Field(description="high | average | low")
    members_high: float | None = Field(default=None, description="For a group: share of members ranked high")


class ChannelShare(BaseModel):
    channel: str
    orders: int
    share: float
    population_share: float


class PurchasePreferencesResult(ToolResult):
    target: str
    customers: int
    orders: int
    spend: float
    categories: list[Affinity]
    brands: list[Affinity]
    price: PriceSensitivity
    channels: list[ChannelShare]
    preferred_contact_channel: str | None
    timing: Timing


def purchase_preferences(params: PurchasePreferencesParams, *, ctx: ToolContext) -> PurchasePreferencesResult:
    """Purchase preferences of one customer, or of a segment / value tier: favourite categories and
    brands (share of spend and lift against the whole customer base), price sensitivity (share of
    units and spend on promotion, average discount depth, percentile rank against all customers:
    high / average / low), preferred order channels, and weekday / hour / season patterns with the
    best time to contact. Use for "what does Chen Jing like to buy", "is this customer price
    sensitive", "when should I call her", "what do champions buy". Give either customer, or segment
    and/or tier. Only customers in the caller's scope. Not for a list of orders (purchase_history)
    or product recommendations (cross_sell)."""
    return cached_read(
        ctx,
        "purchase_preferences",
        (params.model_dump_json(), ctx.now.replace(second=0, microsecond=0)),
        lambda: _purchase_preferences(params, ctx=ctx),
    ).model_copy(deep=True)


def _purchase_preferences(
    params: PurchasePreferencesParams, *, ctx: ToolContext
) -> PurchasePreferencesResult:
    if params.customer is None and not params.segment and not params.tier:
        raise InvalidArgument("say whose preferences: a customer, or a segment and/or tier")
    start, end = params.period.resolve(ctx)
    customer = resolve_customer(ctx, customer=params.customer) if params.customer is not None else None
    where = revenue_line_filter(start, end)
    with ctx.engine.connect() as conn:
        if customer is not None:
            lines = lines_frame(conn, where=[*where, Order.customer_id == customer.id])
            ids = [customer.id]
            target = customer.name
        else:
            ids, target = _group_ids(ctx, params)
            lines = pd.concat(
                [
                    lines_frame(conn, where=[*where, Order.customer_id.in_(ids[i : i + _ID_CHUNK])])
                    for i in range(0, len(ids), _ID_CHUNK)
                ]
                or [lines_frame(conn, where=[*where, Order.id < 0])],
                ignore_index=True,
            )
        contacts = (
            _contacts(conn, ids)
            if len(ids) <= _ID_CHUNK
            else pd.DataFrame(columns=["at", "direction", "channel"])
        )
    if lines.empty:
        raise EmptyPeriod(f"no purchases by {target} in {params.period.label()}")
    pop = population(ctx.engine, start=start, end=end)
    price = _price(lines, pop, ids=ids)
    categories = _affinity(lines, "category", pop.category_share, top=params.top)
    brands = _affinity(lines, "brand", pop.brand_share, top=params.top)
    channels = _channels(lines, pop)
    timing = timing_of(lines, contacts)
    return _result(
        params,
        ctx,
        target=target,
        customer=customer,
        n_customers=lines["customer_id"].nunique(),
        lines=lines,
        categories=categories,
        brands=brands,
        price=price,
        channels=channels,
        timing=timing,
    )


def _group_ids(ctx: ToolContext, params: PurchasePreferencesParams) -> tuple[list[int], str]:
    from tools.rfm import normalize_segment, normalize_tier

    segment = normalize_segment(params.segment) if params.segment else None
    tier = normalize_tier(params.tier) if params.tier else None
    label = " ".join(
        x for x in (f"tier {tier}" if tier else None, f"segment {segment}" if segment else None) if x
    )
    if fresh_snapshot(ctx) is not None:
        f = CustomerFeatures
        conds = [ctx.scope.customer_clause(Customer.owner_id)]
        if segment:
            conds.append(f.rfm_segment == segment)
        if tier:
            conds.append(f.value_tier == tier)
        with ctx.engine.connect() as conn:
            ids = list(
                conn.execute(
                    select(f.customer_id).join(Customer, Customer.id == f.customer_id).where(*conds)
                ).scalars()
            )
    else:
        from tools.rfm import compute_rfm

        rfm = compute_rfm(ctx.engine, now=ctx.now, scope=ctx.scope, clusters=False)
        if segment:
            rfm = rfm[rfm["rfm_segment"] == segment]
        if tier:
            rfm = rfm[rfm["value_tier"] == tier]
        ids = rfm["customer_id"].astype(int).tolist()
    return sorted(ids), f"customers in {label}"


def _contacts(conn, ids: list[int]) -> pd.DataFrame:
    rows = []
    for i in range(0, len(ids), _ID_CHUNK):
        rows += conn.execute(
            select(
                Interaction.customer_id, Interaction.occurred_at, Interaction.direction, Interaction.channel
            ).where(Interaction.customer_id.in_(ids[i : i + _ID_CHUNK]))
        ).all()
    frame = pd.DataFrame(rows, columns=["customer_id", "at", "direction", "channel"])
    frame["at"] = pd.to_datetime(frame["at"])
    return frame


def _price(lines: pd.DataFrame, pop: Population, *, ids: list[int]) -> PriceSensitivity:
    units = float(lines["quantity"].sum())
    promo_units = float(lines.loc[lines["promo"], "quantity"].sum())
    spend = float(lines["amount"].sum())
    gross = lines["quantity"] * lines["unit_price"]
    share = smoothed_promo_share(promo_units, units, pop.promo_unit_share, pop.prior_units)
    percentile = pop.promo_percentile(share)
    members_high = None
    if len(ids) > 1:
        members = pop.customer_promo[pop.customer_promo["customer_id"].isin(ids)]["smoothed_share"]
        cutoff = pop.customer_promo["smoothed_share"].quantile(0.8)
        members_high = float((members >= cutoff).mean()) if len(members) else None
    return PriceSensitivity(
        promo_unit_share=round(promo_units / units, 4) if units else 0.0,
        promo_spend_share=round(float(lines.loc[lines["promo"], "amount"].sum()) / spend, 4)
        if spend
        else 0.0,
        discount_depth=round(float((gross * lines["discount"]).sum() / gross.sum()), 4)
        if gross.sum()
        else 0.0,
        population_promo_unit_share=round(pop.promo_unit_share, 4),
        population_promo_spend_share=round(pop.promo_spend_share, 4),
        population_discount_depth=round(pop.discount_depth, 4),
        percentile=round(percentile, 4),
        level="high" if percentile >= 0.8 else "low" if percentile <= 0.2 else "average",
        members_high=round(members_high, 4) if members_high is not None else None,
    )


def _affinity(lines: pd.DataFrame, kind: str, baseline: dict[str, float], *, top: int) -> list[Affinity]:
    spend = lines.groupby(kind)["amount"].sum().sort_values(ascending=False)
    total = float(spend.sum())
    out = []
    for name, value in spend.head(top).items():
        share = float(value) / total if total else 0.0
        base = baseline.get(str(name), 0.0)
        out.append(
            Affinity(
                kind=kind,
                name=str(name),
                spend=round(float(value), 2),
                share=round(share, 4),
                population_share=round(base, 4),
                lift=round(share / base, 3) if base else None,
            )
        )
    return out


def _channels(lines: pd.DataFrame, pop: Population) -> list[ChannelShare]:
    orders = lines.drop_duplicates("order_id")["channel"].value_counts()
    total = int(orders.sum())
    return [
        ChannelShare(
            channel=str(c),
            orders=int(n),
            share=round(int(n) / total, 4),
            population_share=round(pop.channel_share.get(str(c), 0.0), 4),
        )
        for c, n in orders.items()
    ]


_COLUMNS = [
    Column(key="kind", label="Kind", label_zh="类型"),
    Column(key="name", label="Name", label_zh="名称"),
    Column(key="spend", label="Spend", label_zh="消费额", kind="money"),
    Column(key="share", label="Share", label_zh="占比", kind="pct"),
    Column(key="population_share", label="All customers", label_zh="全体客户占比", kind="pct"),
    Column(key="lift", label="Lift", label_zh="偏好指数", kind="float"),
]
_LEVEL_ZH = {"high": "高", "average": "中等", "low": "低"}


def _result(
    params, ctx, *, target, customer, n_customers, lines, categories, brands, price, channels, timing
):
    spend = round(float(lines["amount"].sum()), 2)
    n_orders = int(lines["order_id"].nunique())
    fav = ", ".join(f"{a.name} ({a.share:.0%}, lift {a.lift or 0:.1f})" for a in categories[:3])
    fav_brands = ", ".join(f"{a.name} ({a.share:.0%})" for a in brands[:3])
    top_channel = channels[0].channel if channels else "n/a"
    summary = (
        f"{target}: {n_orders} orders, spend {spend:,.2f} ({params.period.label()}). Favourite categories: {fav}. "
        f"Top brands: {fav_brands}. Price sensitivity {price.level} (promo {price.promo_unit_share:.0%} of units vs "
        f"{price.population_promo_unit_share:.0%} for all customers, discount depth {price.discount_depth:.0%} vs "
        f"{price.population_discount_depth:.0%}; {price.percentile:.0%} percentile). Mostly buys via {top_channel}; "
        f"most active on {timing.best_weekday}; best time to contact: {timing.best_weekday}, {timing.best_hour_band} "
        f"({timing.best_time_basis})."
    )
    summary_zh = (
        f"{target}：{n_orders} 笔订单，消费 {spend:,.2f}。偏好品类：{fav}。常买品牌：{fav_brands}。"
        f"价格敏感度{_LEVEL_ZH[price.level]}（促销商品占 {price.promo_unit_share:.0%}，全体客户为 "
        f"{price.population_promo_unit_share:.0%}；平均折扣 {price.discount_depth:.0%}）。主要渠道：{top_channel}；"
        f"最佳联系时间：{timing.best_weekday}，{timing.best_hour_band}。"
    )
    affinities = categories + brands
    chart = ChartSpec(
        kind="bar",
        title=f"Category share of spend: {target} vs all customers",
        x=[a.name for a in categories],
        series={
            "this target": [round(a.share * 100, 2) for a in categories],
            "all customers": [round(a.population_share * 100, 2) for a in categories],
        },
        y_label="% of spend",
    )
    citations = (
        [Citation(kind="customer", id=customer.id, label=customer.name)] if customer is not None else []
    )
    return PurchasePreferencesResult(
        summary=summary,
        summary_zh=summary_zh,
        table=Table.from_records(_COLUMNS, affinities),
        chart=chart,
        citations=citations,
        target=target,
        customers=n_customers,
        orders=n_orders,
        spend=spend,
        categories=categories,
        brands=brands,
        price=price,
        channels=channels,
        preferred_contact_channel=customer.preferred_channel if customer is not None else None,
        timing=timing,
    )
