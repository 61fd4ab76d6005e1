"""customer_profile: the 360° view of one customer.

KPIs are computed live from this customer's orders (one indexed query), so they are
always current. Segment, tier, churn risk and CLV come from the feature snapshot
(``crm refresh``); without a snapshot they are computed directly, which is slower.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from statistics import median
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session

from storage.models import NON_REVENUE_STATUSES, Interaction, Order
from storage.models.features import CustomerFeatures
from tools.context import ToolContext
from tools.customer_queries import POOL_LABEL, POOL_LABEL_ZH, age_on, staff_names, tags_for
from tools.lookup import resolve_customer
from tools.pii import HIDDEN, PII_ROW_LABELS, age_band, hidden_fields, mask_customer_fields, policy_for
from tools.results import ChartSpec, Citation, Column, Table, ToolResult

log = logging.getLogger(__name__)

OPEN_TICKET_STATUSES = ("open", "pending")
TICKET_KINDS = ("ticket", "complaint")


class CustomerProfileParams(BaseModel):
    customer: str | int = Field(description="Customer id, external id (C000123) or name (English, pinyin or Chinese)")
    interactions: int = Field(default=5, ge=0, le=50, description="How many of the latest interactions to include")


class ProfileCard(BaseModel):
    id: int
    external_id: str | None
    name: str
    gender: str | None
    age: int | None = Field(description="None when the birth date is hidden for the caller's role; age_band stays")
    age_band: str | None = None
    occupation: str | None
    phone: str | None
    email: str | None
    social_handles: dict[str, str] | None
    country: str | None
    region: str | None
    city: str | None
    address: str | None
    language: str | None
    preferred_channel: str | None
    acquired_on: date | None
    acquisition_source: str | None
    owner_id: int | None
    owner: str
    in_pool: bool
    loyalty_tier: str | None
    loyalty_points: int
    credit_rating: str | None = Field(description="None when hidden for the caller's role")
    overdue_amount: float | None = Field(description="None when hidden for the caller's role")
    credit_hidden: bool
    marketing_consent: bool
    follower_count: int
    tags: list[str]
    masked_fields: list[str] = Field(
        default_factory=list,
        description="PII fields not shown in full for the caller's role (masked, or None = hidden)",
    )


class ProfileKpis(BaseModel):
    lifetime_spend: float
    orders: int
    average_order_value: float | None
    first_purchase: date | None
    last_purchase: date | None
    days_since_last: int | None
    usual_gap_days: float | None = Field(description="Median days between purchase days")
    spend_90d: float
    spend_prev_90d: float
    returned_orders: int
    cancelled_orders: int


class ProfileAnalytics(BaseModel):
    source: Literal["snapshot", "computed", "unavailable"]
    as_of: datetime | None = None
    rfm_segment: str | None = None
    value_tier: str | None = None
    cluster: int | None = None
    churn_probability: float | None = None
    churn_reasons: list[str] = Field(default_factory=list)
    clv: float | None = None
    p_alive: float | None = None
    expected_purchases: float | None = None


class InteractionBrief(BaseModel):
    id: int
    external_id: str | None
    occurred_at: datetime
    kind: str
    channel: str
    subject: str | None
    staff: str | None
    ticket_status: str | None
    sentiment: float | None


class CustomerProfileResult(ToolResult):
    customer: ProfileCard
    kpis: ProfileKpis
    analytics: ProfileAnalytics
    open_tickets: list[InteractionBrief]
    latest_interactions: list[InteractionBrief]


def customer_profile(params: CustomerProfileParams, *, ctx: ToolContext) -> CustomerProfileResult:
    """The 360° view of ONE customer: contact details (phone, email, address, social handles),
    demographics and location; owner or public pool (公海); loyalty tier and points; credit rating
    and overdue amount; tags; KPIs (lifetime spend, orders, average order value, first and last
    purchase, days since last purchase, usual gap between purchases, spend in the last 90 days
    vs the 90 before, returns); RFM segment, value tier, churn risk with reasons and CLV; open
    tickets; and the latest interactions. Personal data is masked or hidden by the caller's role
    ("hidden" means the role may not see it; do not guess it). The customer may be given by id,
    external id or name (fuzzy, English/pinyin/Chinese); an ambiguous name returns candidates. Use
    find_customers to list many customers, purchase_history for order details, and
    interaction_history to search what was said.
    """
    with Session(ctx.engine) as session:
        c = resolve_customer(ctx, customer=params.customer, session=session)
        conn = session.connection()
        owner = staff_names(conn, [c.owner_id]).get(c.owner_id, "?") if c.owner_id is not None else POOL_LABEL
        card = _card(ctx, c, owner=owner, tags=tags_for(conn, [c.id]).get(c.id, []))
        orders = conn.execute(
            select(Order.ordered_at, Order.total_amount, Order.status)
            .where(Order.customer_id == c.id, Order.ordered_at < ctx.now)
            .order_by(Order.ordered_at)
        ).all()
        kpis, monthly = _kpis(orders, now=ctx.now)
        analytics = _analytics(session, ctx, c.id)
        latest = _interactions(session, ctx, c.id, limit=params.interactions)
        tickets = _interactions(session, ctx, c.id, limit=20, open_tickets=True)
    return _result(card, kpis, analytics, latest, tickets, monthly)


def _card(ctx: ToolContext, c, *, owner: str, tags: list[str]) -> ProfileCard:
    """The card as the caller's role may see it (tools.pii): masked values, None for removed ones."""
    policy = policy_for(ctx, c.owner_id)
    raw = c.model_dump(include=set(ProfileCard.model_fields) - {"age", "age_band", "owner", "in_pool", "tags",
                                                                "credit_hidden", "masked_fields"})
    shown = mask_customer_fields(ctx, owner_id=c.owner_id, fields=raw)
    age = age_on(c.birth_date, ctx.today)
    return ProfileCard(
        **shown,
        # A masked birth date keeps its year, so the age stays; a removed one leaves only the band.
        age=None if policy["birth_date"] == "removed" else age,
        age_band=age_band(age),
        owner=owner,
        in_pool=c.owner_id is None,
        tags=tags,
        credit_hidden=policy["credit_rating"] == "removed",
        masked_fields=hidden_fields(ctx, c.owner_id),
    )


def _kpis(orders, *, now: datetime) -> tuple[ProfileKpis, dict[str, float]]:
    revenue = [(at, amt) for at, amt, status in orders if status not in NON_REVENUE_STATUSES]
    spend = sum(a for _, a in revenue)
    days = sorted({at.date() for at, _ in revenue})
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    last = revenue[-1][0] if revenue else None
    monthly: dict[str, float] = {}
    start = (now.replace(day=1) - timedelta(days=335)).replace(day=1)
    for at, amt in revenue:
        if at >= start:
            monthly[at.strftime("%Y-%m")] = monthly.get(at.strftime("%Y-%m"), 0.0) + amt
    kpis = ProfileKpis(
        lifetime_spend=round(spend, 2),
        orders=len(revenue),
        average_order_value=round(spend / len(revenue), 2) if revenue else None,
        first_purchase=revenue[0][0].date() if revenue else None,
        last_purchase=last.date() if last else None,
        days_since_last=(now - last).days if last else None,
        usual_gap_days=float(median(gaps)) if gaps else None,
        spend_90d=round(sum(a for at, a in revenue if now - at <= timedelta(days=90)), 2),
        spend_prev_90d=round(sum(a for at, a in revenue if timedelta(days=90) < now - at <= timedelta(days=180)), 2),
        returned_orders=sum(1 for _, _, s in orders if s == "returned"),
        cancelled_orders=sum(1 for _, _, s in orders if s == "cancelled"),
    )
    return kpis, monthly


def _analytics(session: Session, ctx: ToolContext, customer_id: int) -> ProfileAnalytics:
    F = CustomerFeatures
    row = session.execute(select(F).where(F.customer_id == customer_id)).scalars().first()
    if row is not None:
        return ProfileAnalytics(
            source="snapshot",
            as_of=row.computed_at,
            **row.model_dump(include={"rfm_segment", "value_tier", "cluster", "churn_probability", "clv", "p_alive", "expected_purchases"}),
            churn_reasons=list(row.churn_reasons or []),
        )
    if session.execute(select(F.customer_id).limit(1)).first() is not None:
        # A snapshot exists but has no row: the customer has never bought, so there is nothing to score.
        return ProfileAnalytics(source="snapshot")
    return _computed(ctx, customer_id)


def _computed(ctx: ToolContext, customer_id: int) -> ProfileAnalytics:
    """No snapshot at all: compute with the analytics functions (slow on big data; `crm refresh` fixes that)."""
    out = ProfileAnalytics(source="computed", as_of=ctx.now)
    pieces = (
        ("tools.segmentation", "compute_rfm", {}, ("rfm_segment", "value_tier", "cluster")),
        ("tools.churn", "compute_churn_scores", {}, ("churn_probability", "churn_reasons")),
        ("tools.clv", "compute_clv", {"horizon_months": 12}, ("clv", "p_alive", "expected_purchases")),
    )
    got_any = False
    for module, fn_name, kwargs, columns in pieces:
        try:
            fn = getattr(__import__(module, fromlist=[fn_name]), fn_name)
            frame = fn(ctx.engine, now=ctx.now, **kwargs)
        except (ImportError, AttributeError):
            log.warning("%s.%s is not available; profile analytics are partial", module, fn_name)
            continue
        hit = frame[frame["customer_id"] == customer_id]
        got_any = True
        if hit.empty:
            continue
        record = hit.iloc[0]
        for col in columns:
            if col in record.index:
                value = record[col]
                if col == "churn_reasons":
                    value = list(value) if value is not None and not isinstance(value, float) else []
                elif value is not None and value == value:  # NaN check without numpy
                    value = value.item() if hasattr(value, "item") else value
                else:
                    value = None
                setattr(out, col, value)
    if not got_any:
        out.source = "unavailable"
    return out


def _interactions(session: Session, ctx: ToolContext, customer_id: int, *, limit: int, open_tickets: bool = False) -> list[InteractionBrief]:
    if limit <= 0:
        return []
    I = Interaction  # noqa: E741 - short alias for a long query
    stmt = select(I).where(I.customer_id == customer_id, I.occurred_at <= ctx.now)
    if open_tickets:
        stmt = stmt.where(I.kind.in_(TICKET_KINDS), I.ticket_status.in_(OPEN_TICKET_STATUSES))
    rows = session.execute(stmt.order_by(I.occurred_at.desc(), I.id.desc()).limit(limit)).scalars().all()
    names = staff_names(session.connection(), (r.staff_id for r in rows))
    return [
        InteractionBrief(
            id=r.id,
            external_id=r.external_id,
            occurred_at=r.occurred_at,
            kind=r.kind,
            channel=r.channel,
            subject=r.subject,
            staff=names.get(r.staff_id),
            ticket_status=r.ticket_status,
            sentiment=r.sentiment,
        )
        for r in rows
    ]


_FIELDS = [
    Column(key="field", label="Field", label_zh="项目"),
    Column(key="value", label="Value", label_zh="值"),
]


def _money(v: float | None) -> str:
    return "—" if v is None else f"{v:,.2f}"


def _shown(card: ProfileCard, field: str, text: str | None) -> str:
    if text:
        return text
    return HIDDEN["en"] if field in card.masked_fields else "—"


def _pii_rows(card: ProfileCard) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Contact and credit rows, labelled with tools.pii.PII_ROW_LABELS so prompt protection can find the cells."""
    label = {field: lab for lab, field in PII_ROW_LABELS.items()}
    social = ", ".join(f"{k}: {v}" for k, v in (card.social_handles or {}).items()) or None
    credit_hidden = card.credit_hidden or "credit_rating" in card.masked_fields
    contact = [
        (label["phone"], _shown(card, "phone", card.phone)),
        (label["email"], _shown(card, "email", card.email)),
        (label["address"], _shown(card, "address", card.address)),
        (label["social_handles"], _shown(card, "social_handles", social)),
    ]
    credit = [
        (label["credit_rating"], HIDDEN["en"] if credit_hidden else card.credit_rating or "—"),
        (label["overdue_amount"], HIDDEN["en"] if credit_hidden else _money(card.overdue_amount)),
    ]
    return contact, credit


def _result(card, kpis, analytics, latest, tickets, monthly) -> CustomerProfileResult:
    owner_en = "public pool (unowned)" if card.in_pool else card.owner
    owner_zh = POOL_LABEL_ZH if card.in_pool else card.owner
    churn = f"{analytics.churn_probability:.0%}" if analytics.churn_probability is not None else "n/a"
    last = f"{kpis.last_purchase} ({kpis.days_since_last} days ago)" if kpis.last_purchase else "never"
    gap = f"{kpis.usual_gap_days:.0f}" if kpis.usual_gap_days is not None else "n/a"
    summary = (
        f"{card.name} ({card.external_id or card.id}), {card.city or '?'}; owner: {owner_en}; tier {card.loyalty_tier or '—'}. "
        f"Lifetime spend {kpis.lifetime_spend:,.2f} over {kpis.orders} orders (AOV {_money(kpis.average_order_value)}); "
        f"last purchase {last}, usual gap {gap} days. "
        f"Segment {analytics.rfm_segment or 'n/a'}, churn risk {churn}, CLV {_money(analytics.clv)}; "
        f"{len(tickets)} open ticket(s)."
    )
    last_zh = f"{kpis.last_purchase}（{kpis.days_since_last} 天前）" if kpis.last_purchase else "无"
    summary_zh = (
        f"{card.name}（{card.external_id or card.id}），{card.city or '?'}；负责人：{owner_zh}；会员等级 {card.loyalty_tier or '—'}。"
        f"累计消费 {kpis.lifetime_spend:,.2f}，共 {kpis.orders} 单（客单价 {_money(kpis.average_order_value)}）；"
        f"最近购买 {last_zh}，通常间隔 {gap} 天。"
        f"分群 {analytics.rfm_segment or '无'}，流失风险 {churn}，CLV {_money(analytics.clv)}；未结工单 {len(tickets)} 个。"
    )
    contact, credit = _pii_rows(card)
    age = card.age if card.age is not None else card.age_band
    rows = [
        *contact, ("gender / age", f"{card.gender or '—'} / {age or '—'}"),
        ("location", ", ".join(x for x in (card.city, card.region, card.country) if x)), ("owner", owner_en),
        ("loyalty", f"{card.loyalty_tier or '—'}, {card.loyalty_points:,} points"),
        *credit,
        ("tags", ", ".join(card.tags) or "—"),
        ("lifetime spend", _money(kpis.lifetime_spend)), ("orders / AOV", f"{kpis.orders} / {_money(kpis.average_order_value)}"),
        ("last purchase", last), ("usual gap (days)", gap),
        ("spend 90d / prior 90d", f"{_money(kpis.spend_90d)} / {_money(kpis.spend_prev_90d)}"),
        ("segment / value tier", f"{analytics.rfm_segment or 'n/a'} / {analytics.value_tier or 'n/a'}"),
        ("churn risk", churn + (f" — {'; '.join(analytics.churn_reasons[:3])}" if analytics.churn_reasons else "")),
        ("CLV (12 months)", _money(analytics.clv)), ("open tickets", str(len(tickets))),
    ]
    rows += [(f"{i.occurred_at:%Y-%m-%d} {i.kind}", f"{i.subject or ''} ({i.staff or '—'})") for i in latest]
    chart = None
    if monthly:
        months = sorted(monthly)
        chart = ChartSpec(kind="bar", title=f"{card.name}: monthly spend", x=months, series={"spend": [round(monthly[m], 2) for m in months]},
                          y_label="spend")
    citations = [Citation(kind="customer", id=card.id, label=card.external_id or card.name)]
    citations += [Citation(kind="interaction", id=i.id, label=i.external_id or f"interaction {i.id}") for i in latest]
    return CustomerProfileResult(
        summary=summary,
        summary_zh=summary_zh,
        table=Table.from_records(_FIELDS, [{"field": k, "value": v} for k, v in rows]),
        chart=chart,
        citations=citations,
        customer=card,
        kpis=kpis,
        analytics=analytics,
        open_tickets=tickets,
        latest_interactions=latest,
    )
