"""Tool ``cross_sell``: association rules, and next-best products for one customer.

Without a customer: the strongest rules (by lift) among baskets in the caller's scope,
optionally for one country, one category, or rules that start from one product.
With a customer: every rule whose "if" side the customer already bought and whose
"then" side they have not; each candidate product keeps its best rule, ranked by
confidence (how often the "then" follows) and then lift. Products the customer
already bought are never suggested. When no rule applies, the most frequently bought
products they lack are offered instead, labelled as such.

``min_support`` left empty is chosen automatically: the highest value on
``AUTO_SUPPORT`` that yields at least ``AUTO_MIN_RULES`` rules.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select

from storage.models import NON_REVENUE_STATUSES, Order, OrderLine
from tools.association_rules import (
    BasketFilter,
    cached_popularity,
    cached_rules,
    last_order_at,
    product_names,
)
from tools.context import ToolContext
from tools.errors import EmptyPeriod
from tools.lookup import resolve_customer, resolve_product
from tools.results import ChartSpec, Column, Table, ToolResult

AUTO_SUPPORT = (0.1, 0.05, 0.03, 0.02, 0.01)
AUTO_MIN_RULES = 10


class CrossSellParams(BaseModel):
    customer: str | int | None = Field(
        default=None, description="Suggest next-best products for this customer (id, external id or name)."
    )
    product: str | int | None = Field(default=None, description="Only rules that start from this product (id, SKU or name).")
    country: str | None = Field(default=None, description="Only baskets of customers in this country, e.g. 'France'.")
    category: str | None = Field(default=None, description="Only products of this category.")
    min_support: float | None = Field(
        default=None, gt=0.0, le=1.0, description="Minimum share of baskets holding the whole rule; empty = automatic."
    )
    min_confidence: float = Field(default=0.1, ge=0.0, le=1.0, description="Minimum confidence of a rule.")
    limit: int = Field(default=10, ge=1, le=100, description="How many rules or products to return.")


class Rule(BaseModel):
    antecedents: list[str]
    consequents: list[str]
    support: float
    confidence: float
    lift: float


class Suggestion(BaseModel):
    product_id: int
    product: str
    because: list[str] = Field(description="What the customer bought that led to this suggestion")
    confidence: float | None
    lift: float | None
    basis: str = Field(description="'rule' or 'popular' (no rule applied)")


class CrossSellResult(ToolResult):
    rules: list[Rule] = Field(default_factory=list)
    suggestions: list[Suggestion] = Field(default_factory=list)
    baskets: int
    min_support: float


def cross_sell(params: CrossSellParams, *, ctx: ToolContext) -> CrossSellResult:
    """Cross-sell: market-basket association rules ("customers who buy A also buy B") with support (share of
    baskets holding A and B), confidence (share of A-baskets that also hold B) and lift (how many times more
    likely B is with A than without), overall or for a country, a category or a starting product; or, given a
    customer, the next-best products to offer them, leaving out everything they already bought. Baskets are
    revenue orders (returns and cancellations excluded) of customers in the caller's scope."""
    customer = resolve_customer(ctx, customer=params.customer) if params.customer is not None else None
    start = resolve_product(ctx, product=params.product).id if params.product is not None else None
    # Bounded by "now" only when the book has later orders, so the usual case shares one cache entry.
    until = ctx.now if ctx.now <= last_order_at(ctx.engine) else None
    where = BasketFilter(country=params.country, category=params.category, until=until)
    ladder = (params.min_support,) if params.min_support else AUTO_SUPPORT
    if customer is None:
        for support in ladder:
            rules, baskets = _mine(ctx, params, where, support)
            if start is not None:
                rules = rules[rules["antecedents"].map(lambda a: start in a)]
            if len(rules) >= AUTO_MIN_RULES:
                break
        names = product_names(ctx.engine, {i for s in (*rules["antecedents"], *rules["consequents"]) for i in s})
        return _rules_result(params, rules.head(params.limit), names, baskets=baskets, support=support)

    owned = _bought(ctx, customer.id)
    if not owned:
        raise EmptyPeriod(f"{customer.name} has not bought anything yet, so there is nothing to build on",
                          hint="ask for the overall rules instead (cross_sell without a customer)")
    for support in ladder:  # lower the bar until enough rules apply to this customer's purchases
        rules, baskets = _mine(ctx, params, where, support)
        picks = _suggest(ctx, rules, owned, start=start, limit=params.limit)
        if len(picks) >= params.limit:
            break
    if len(picks) < params.limit:
        picks += _popular(ctx, where, owned | {p.product_id for p in picks}, n=params.limit - len(picks))
    return _customer_result(params, customer.name, picks, baskets=baskets, support=support)


def _mine(ctx: ToolContext, params: CrossSellParams, where: BasketFilter, support: float):
    rules, baskets = cached_rules(ctx.engine, where=where, min_support=support, min_confidence=params.min_confidence,
                                  scope=ctx.scope)
    if baskets == 0:
        raise EmptyPeriod("no baskets match " + (_describe(params) or "the caller's scope"),
                          hint="check the country or category spelling")
    return rules, baskets


def _suggest(ctx: ToolContext, rules, owned: frozenset[int], *, start: int | None, limit: int) -> list[Suggestion]:
    """Each product not yet bought keeps its best applicable rule; ranked by confidence, then lift."""
    applicable = rules[rules["antecedents"].map(lambda a: a <= owned) & rules["consequents"].map(lambda c: not (c & owned))]
    if start is not None:
        applicable = applicable[applicable["antecedents"].map(lambda a: start in a)]
    best: dict[int, tuple] = {}
    for r in applicable.itertuples():
        for pid in r.consequents:
            if pid not in best or (r.confidence, r.lift) > best[pid][:2]:
                best[pid] = (r.confidence, r.lift, r.antecedents)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:limit]
    names = product_names(ctx.engine, {pid for pid, _ in ranked} | {a for _, (_, _, ants) in ranked for a in ants})
    return [
        Suggestion(product_id=pid, product=names.get(pid, str(pid)), because=sorted(names.get(a, str(a)) for a in ants),
                   confidence=round(float(conf), 4), lift=round(float(lift), 3), basis="rule")
        for pid, (conf, lift, ants) in ranked
    ]


def _bought(ctx: ToolContext, customer_id: int) -> frozenset[int]:
    stmt = (
        select(OrderLine.product_id).join(Order, Order.id == OrderLine.order_id)
        .where(Order.customer_id == customer_id, Order.ordered_at < ctx.now, Order.status.not_in(NON_REVENUE_STATUSES))
        .distinct()
    )
    with ctx.engine.connect() as conn:
        return frozenset(conn.execute(stmt).scalars().all())


def _popular(ctx: ToolContext, where: BasketFilter, exclude: set[int] | frozenset[int], *, n: int) -> list[Suggestion]:
    # Counted once per book and scope; each customer only skips what they own (a few dozen rows at most).
    popular = cached_popularity(ctx.engine, where=where, scope=ctx.scope)
    counts = popular.head(n + len(exclude))
    counts = counts[~counts.index.isin(list(exclude))].head(n)
    names = product_names(ctx.engine, set(counts.index.tolist()))
    return [Suggestion(product_id=int(pid), product=names.get(int(pid), str(pid)), because=[], confidence=None, lift=None,
                       basis="popular") for pid in counts.index]


def _describe(params: CrossSellParams) -> str:
    parts = [f"country {params.country}" if params.country else "", f"category {params.category}" if params.category else ""]
    return ", ".join(p for p in parts if p)


def _rules_result(params, rules, names, *, baskets: int, support: float) -> CrossSellResult:
    out = [Rule(antecedents=sorted(names.get(i, str(i)) for i in r.antecedents),
                consequents=sorted(names.get(i, str(i)) for i in r.consequents),
                support=round(float(r.support), 4), confidence=round(float(r.confidence), 4), lift=round(float(r.lift), 3))
           for r in rules.itertuples()]
    where = f" ({_describe(params)})" if _describe(params) else ""
    if out:
        top = out[0]
        summary = (f"{len(out)} strongest rules{where} over {baskets:,} baskets (min support {support:g}); top: "
                   f"{' + '.join(top.antecedents)} → {' + '.join(top.consequents)}, lift {top.lift:.2f}, "
                   f"confidence {top.confidence:.0%}.")
    else:
        summary = f"No rules{where} over {baskets:,} baskets at min support {support:g}."
    table = Table(
        columns=[Column(key="if", label="If bought", label_zh="已购"), Column(key="then", label="Also buys", label_zh="也会买"),
                 Column(key="support", label="Support", label_zh="支持度", kind="pct"),
                 Column(key="confidence", label="Confidence", label_zh="置信度", kind="pct"),
                 Column(key="lift", label="Lift", label_zh="提升度", kind="float")],
        rows=[[" + ".join(r.antecedents), " + ".join(r.consequents), r.support, r.confidence, r.lift] for r in out],
    )
    chart = ChartSpec(kind="bar", title="Rule lift", x=[f"{' + '.join(r.antecedents)} → {' + '.join(r.consequents)}"[:40]
                                                         for r in out[:10]],
                      series={"lift": [r.lift for r in out[:10]]}) if len(out) > 1 else None
    return CrossSellResult(summary=summary, summary_zh=f"{baskets:,} 个订单篮中最强的 {len(out)} 条关联规则。",
                           table=table, chart=chart, rules=out, baskets=baskets, min_support=support)


def _customer_result(params, name: str, picks: list[Suggestion], *, baskets: int, support: float) -> CrossSellResult:
    ruled = [p for p in picks if p.basis == "rule"]
    if ruled:
        top = ruled[0]
        summary = (f"Next-best products for {name}: {', '.join(p.product for p in picks[:5])}. Top pick {top.product} "
                   f"because they bought {' + '.join(top.because)} (confidence {top.confidence:.0%}, lift {top.lift:.1f}).")
    elif picks:
        summary = (f"No basket rule applies to {name}'s purchases; most popular products they have not bought: "
                   f"{', '.join(p.product for p in picks[:5])}.")
    else:
        summary = f"Nothing to suggest for {name}: they already have every frequently bought product."
    table = Table(
        columns=[Column(key="product", label="Suggest", label_zh="推荐商品"),
                 Column(key="because", label="Because they bought", label_zh="依据"),
                 Column(key="confidence", label="Confidence", label_zh="置信度", kind="pct"),
                 Column(key="lift", label="Lift", label_zh="提升度", kind="float"),
                 Column(key="basis", label="Basis", label_zh="来源")],
        rows=[[p.product, " + ".join(p.because), p.confidence, p.lift, p.basis] for p in picks],
    )
    return CrossSellResult(summary=summary, summary_zh=f"为 {name} 推荐：{'、'.join(p.product for p in picks[:5])}。",
                           table=table, suggestions=picks, baskets=baskets, min_support=support)
