"""find_customers (search and filter) and customer_profile (the 360 view, in tools.profile)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import and_, func, select
from sqlmodel import Session

from storage.models import Customer, CustomerTag, Order
from storage.models.features import CustomerFeatures
from tools.context import ToolContext
from tools.customer_queries import (
    POOL_LABEL,
    is_revenue,
    order_totals,
    place_values,
    snapshot_state,
    staff_names,
    tags_for,
)
from tools.errors import InvalidArgument
from tools.lookup import match_customer_ids, resolve_staff
from tools.profile import CustomerProfileParams, CustomerProfileResult, customer_profile
from tools.results import Citation, Column, Table, ToolResult

__all__ = [
    "CustomerProfileParams",
    "CustomerProfileResult",
    "FindCustomersParams",
    "FindCustomersResult",
    "customer_profile",
    "find_customers",
]

LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
_LOYALTY_ZH = {"铜卡": "bronze", "银卡": "silver", "金卡": "gold", "白金": "platinum", "白金卡": "platinum"}


class FindCustomersParams(BaseModel):
    name: str | None = Field(default=None, description="Full or partial name, English, pinyin or Chinese; fuzzy ('Chen Jing', '陈静', 'wang')")
    city: str | None = Field(default=None, description="City, e.g. Shanghai / 上海")
    region: str | None = Field(default=None, description="Region, e.g. East China / 华东, US West, UK")
    country: str | None = Field(default=None, description="Country, e.g. China, United States")
    tier: str | None = Field(
        default=None,
        description="Loyalty tier (bronze, silver, gold, platinum) or value tier by spend (vip/high, mid, low)",
    )
    segment: str | None = Field(default=None, description="RFM segment: champions, loyal, potential_loyalists, new, promising, need_attention, about_to_sleep, at_risk, cant_lose_them, hibernating, lost")
    owner: str | None = Field(default=None, description="Owning rep by name or email; 'me' for the caller")
    pool: Literal["any", "public", "private"] = Field(default="any", description="public = unowned (公海), private = owned by a rep")
    tags: list[str] = Field(default_factory=list, description="Tags the customer must all have, e.g. vip, newsletter")
    sort: Literal["relevance", "name", "spend", "last_purchase", "churn_risk", "clv"] = Field(
        default="relevance", description="relevance = name match when a name is given, else lifetime spend"
    )
    limit: int = Field(default=20, ge=1, le=200)
    offset: int = Field(default=0, ge=0)

    @field_validator("tags", mode="before")
    @classmethod
    def _split_tags(cls, value):
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        return value


class CustomerRow(BaseModel):
    id: int
    external_id: str | None
    name: str
    city: str | None
    region: str | None
    owner: str
    in_pool: bool
    loyalty_tier: str | None
    value_tier: str | None = None
    segment: str | None = None
    lifetime_spend: float = 0.0
    orders: int = 0
    last_purchase: date | None = None
    churn_probability: float | None = None
    clv: float | None = None
    tags: list[str] = Field(default_factory=list)
    match_score: float | None = None


class FindCustomersResult(ToolResult):
    customers: list[CustomerRow]
    total: int
    offset: int
    limit: int
    snapshot: Literal["fresh", "stale", "missing"]


_COLUMNS = [
    Column(key="external_id", label="ID", label_zh="编号"),
    Column(key="name", label="Name", label_zh="姓名"),
    Column(key="city", label="City", label_zh="城市"),
    Column(key="owner", label="Owner", label_zh="负责人"),
    Column(key="loyalty_tier", label="Tier", label_zh="会员等级"),
    Column(key="segment", label="Segment", label_zh="分群"),
    Column(key="lifetime_spend", label="Lifetime spend", label_zh="累计消费", kind="money"),
    Column(key="orders", label="Orders", label_zh="订单数", kind="int"),
    Column(key="last_purchase", label="Last purchase", label_zh="最近购买", kind="date"),
]


def find_customers(params: FindCustomersParams, *, ctx: ToolContext) -> FindCustomersResult:
    """Search customers by name (fuzzy, English/pinyin/Chinese) and filter by city, region, country,
    loyalty or value tier, RFM segment, owner, public pool vs owned, and tags. Returns a page of
    matching customers with owner, tier, segment, lifetime spend, order count and last purchase,
    plus the total number of matches. Use it to list or count customers ("VIP customers in
    Shanghai", "my at-risk customers", "pool customers tagged newsletter"), or to find the right
    customer before asking for a profile. Only customers in the caller's scope are returned.
    It does not compute revenue over time (use query_metrics) or show one customer in depth
    (use customer_profile).
    """
    F = CustomerFeatures
    conditions = [ctx.scope.customer_clause(Customer.owner_id)]
    filters: list[str] = []
    with Session(ctx.engine) as session:
        snapshot = snapshot_state(session.connection(), now=ctx.now)
        scores: dict[int, float] = {}
        if params.name:
            scores = match_customer_ids(ctx, text=params.name, session=session)
            conditions.append(Customer.id.in_(list(scores)) if scores else Customer.id.is_(None))
            filters.append(f"name ~ {params.name!r}")
        for field_name, column in (("city", Customer.city), ("region", Customer.region), ("country", Customer.country)):
            value = getattr(params, field_name)
            if value:
                conditions.append(column.in_(place_values(value)))
                filters.append(f"{field_name} = {value}")
        needs_features = False
        if params.tier:
            tier = params.tier.strip().casefold()
            tier = _LOYALTY_ZH.get(params.tier.strip(), tier)
            if tier in LOYALTY_TIERS:
                conditions.append(Customer.loyalty_tier == tier)
            else:
                from tools.segmentation import normalize_tier

                try:
                    conditions.append(F.value_tier == normalize_tier(tier))
                except InvalidArgument:
                    raise InvalidArgument(
                        f"unknown tier {params.tier!r}",
                        hint="loyalty tiers: bronze, silver, gold, platinum; value tiers: vip (high), mid, low",
                    ) from None
                needs_features = True
            filters.append(f"tier = {params.tier}")
        if params.segment:
            from tools.segmentation import normalize_segment

            conditions.append(F.rfm_segment == normalize_segment(params.segment))
            needs_features = True
            filters.append(f"segment = {params.segment}")
        if params.owner:
            owner = resolve_staff(ctx, staff=params.owner, session=session)
            conditions.append(Customer.owner_id == owner.id)
            filters.append(f"owner = {owner.name}")
        if params.pool != "any":
            conditions.append(Customer.owner_id.is_(None) if params.pool == "public" else Customer.owner_id.is_not(None))
            filters.append(f"pool = {params.pool}")
        for tag in params.tags:
            # Spellings with IN, not lower(tag) = …: the tag index stays usable (a scan of every tag otherwise).
            t = tag.strip()
            spellings = sorted({t, t.lower(), t.upper(), t.title(), t.capitalize()})
            conditions.append(Customer.id.in_(select(CustomerTag.customer_id).where(CustomerTag.tag.in_(spellings))))
            filters.append(f"tag = {tag}")
        if params.sort in ("churn_risk", "clv") or needs_features:
            if snapshot == "missing":
                raise InvalidArgument(
                    "segment, value tier, churn risk and CLV need the feature snapshot, which has not been computed",
                    hint="run `crm refresh` first",
                )

        # Join the snapshot only when a filter or the sort needs it: the join alone doubles a count at 100k.
        sort_needs = params.sort in ("spend", "last_purchase", "churn_risk", "clv") or (params.sort == "relevance" and not scores)
        plain = select(Customer.id).where(and_(*conditions))
        joined = select(Customer.id).select_from(Customer).outerjoin(F, F.customer_id == Customer.id).where(and_(*conditions))
        total = session.execute(select(func.count()).select_from((joined if needs_features else plain).subquery())).scalar_one()
        base = joined if needs_features or sort_needs else plain
        page_ids = _page(session, base, params, scores, ctx=ctx, snapshot=snapshot, conditions=conditions)
        result_rows = _rows(session, ctx, page_ids, scores)

    return _result(params, rows=result_rows, total=total, filters=filters, snapshot=snapshot)


def _page(
    session: Session,
    base,
    params: FindCustomersParams,
    scores: dict[int, float],
    *,
    ctx: ToolContext,
    snapshot: str,
    conditions: list,
) -> list[int]:
    F = CustomerFeatures
    sort = params.sort
    if sort == "relevance":
        sort = "score" if scores else "spend"
    if sort == "score":
        ids = list(session.execute(base).scalars().all())
        ids.sort(key=lambda cid: (-scores.get(cid, 0.0), cid))
        return ids[params.offset : params.offset + params.limit]
    indexed = {"spend": F.lifetime_spend, "churn_risk": F.churn_probability, "clv": F.clv}
    if snapshot == "fresh" and sort in indexed:
        return _page_by_feature(session, indexed[sort], params, conditions)
    spend, last = F.lifetime_spend, F.last_order_at
    if snapshot != "fresh" and sort in ("spend", "last_purchase"):
        # No usable snapshot: aggregate orders directly (slower, always correct).
        agg = (
            select(Order.customer_id, func.sum(Order.total_amount).label("spend"), func.max(Order.ordered_at).label("last"))
            .where(is_revenue(), Order.ordered_at < ctx.now)
            .group_by(Order.customer_id)
            .subquery()
        )
        base = base.outerjoin(agg, agg.c.customer_id == Customer.id)
        spend, last = agg.c.spend, agg.c.last
    order = {
        "name": (Customer.name.asc(), Customer.id.asc()),
        "spend": (func.coalesce(spend, 0.0).desc(), Customer.id.asc()),
        "last_purchase": (last.is_(None).asc(), last.desc(), Customer.id.asc()),
        "churn_risk": (F.churn_probability.is_(None).asc(), F.churn_probability.desc(), Customer.id.asc()),
        "clv": (F.clv.is_(None).asc(), F.clv.desc(), Customer.id.asc()),
    }[sort]
    return list(session.execute(base.order_by(*order).offset(params.offset).limit(params.limit)).scalars().all())


def _page_by_feature(session: Session, column, params: FindCustomersParams, conditions: list) -> list[int]:
    """Top-N by an indexed snapshot column: an inner join lets the database walk that index and stop early.

    Customers with no snapshot row (never bought) or no value rank after the rest, by id.
    """
    F = CustomerFeatures
    ranked = (
        select(Customer.id).join(F, F.customer_id == Customer.id).where(*conditions, column.is_not(None))
        .order_by(column.desc(), Customer.id.asc())
    )
    ids = list(session.execute(ranked.offset(params.offset).limit(params.limit)).scalars().all())
    if len(ids) == params.limit:
        return ids
    have = session.execute(select(func.count()).select_from(ranked.order_by(None).subquery())).scalar_one()
    rest = (
        select(Customer.id).outerjoin(F, F.customer_id == Customer.id).where(*conditions, column.is_(None))
        .order_by(Customer.id.asc()).offset(max(0, params.offset - have)).limit(params.limit - len(ids))
    )
    return ids + list(session.execute(rest).scalars().all())


def _rows(session: Session, ctx: ToolContext, ids: list[int], scores: dict[int, float]) -> list[CustomerRow]:
    if not ids:
        return []
    F = CustomerFeatures
    conn = session.connection()
    stmt = (
        select(Customer, F.value_tier, F.rfm_segment, F.churn_probability, F.clv)
        .outerjoin(F, F.customer_id == Customer.id)
        .where(Customer.id.in_(ids), ctx.scope.customer_clause(Customer.owner_id))
    )
    found = {row[0].id: row for row in session.execute(stmt).all()}
    owners = staff_names(conn, (row[0].owner_id for row in found.values()))
    tags = tags_for(conn, found)
    totals = order_totals(conn, found, before=ctx.now)
    out = []
    for cid in ids:
        if cid not in found:
            continue
        c, value_tier, segment, churn, clv = found[cid]
        t = totals.get(cid, {})
        out.append(
            CustomerRow(
                id=c.id,
                external_id=c.external_id,
                name=c.name,
                city=c.city,
                region=c.region,
                owner=owners.get(c.owner_id, "?") if c.owner_id is not None else POOL_LABEL,
                in_pool=c.owner_id is None,
                loyalty_tier=c.loyalty_tier,
                value_tier=value_tier,
                segment=segment,
                lifetime_spend=round(t.get("spend", 0.0), 2),
                orders=t.get("orders", 0),
                last_purchase=t["last"].date() if t.get("last") else None,
                churn_probability=churn,
                clv=clv,
                tags=tags.get(cid, []),
                match_score=scores.get(cid),
            )
        )
    return out


def _result(params: FindCustomersParams, *, rows: list[CustomerRow], total: int, filters: list[str], snapshot: str) -> FindCustomersResult:
    where = "; ".join(filters) if filters else "no filters"
    shown = f"showing {params.offset + 1}-{params.offset + len(rows)}" if rows else "none shown"
    summary = f"{total:,} customers match ({where}); {shown}."
    summary_zh = f"共 {total:,} 位客户符合条件（{where}）；" + (f"显示第 {params.offset + 1}-{params.offset + len(rows)} 位。" if rows else "无结果。")
    if snapshot == "stale" and any(r.segment or r.value_tier for r in rows):
        summary += " Segment and tier come from an older snapshot; run `crm refresh` to update."
        summary_zh += " 分群与价值等级来自旧快照，可运行 `crm refresh` 更新。"
    table = Table.from_records(_COLUMNS, rows)
    table.total_rows = total if total > len(rows) else None
    return FindCustomersResult(
        summary=summary,
        summary_zh=summary_zh,
        table=table,
        citations=[Citation(kind="customer", id=r.id, label=r.external_id or r.name) for r in rows],
        customers=rows,
        total=total,
        offset=params.offset,
        limit=params.limit,
        snapshot=snapshot,
    )
