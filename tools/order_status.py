"""order_status: status timeline and logistics of one order, or of a customer's recent orders."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlmodel import Session

from storage.models import Customer, Order, OrderLine, Product
from tools.context import ToolContext
from tools.errors import NotFound
from tools.lookup import resolve_customer
from tools.results import Citation, Column, Table, ToolResult

_EVENTS = (
    ("ordered_at", "ordered", "下单"),
    ("paid_at", "paid", "已付款"),
    ("shipped_at", "shipped", "已发货"),
    ("delivered_at", "delivered", "已送达"),
    ("returned_at", "returned", "已退货"),
    ("cancelled_at", "cancelled", "已取消"),
)
STATUS_ZH = {"pending": "待付款", "paid": "已付款", "shipped": "运输中", "delivered": "已送达", "returned": "已退货", "cancelled": "已取消"}


class OrderStatusParams(BaseModel):
    order: str | None = Field(default=None, description="Order number (SO-0000123), numeric id or tracking number")
    customer: str | int | None = Field(default=None, description="Instead of an order: a customer (id, external id or name) for their recent orders")
    limit: int = Field(default=5, ge=1, le=50, description="How many recent orders when a customer is given")

    @model_validator(mode="after")
    def _one_of(self):
        if bool(self.order) == (self.customer is not None and str(self.customer).strip() != ""):
            raise ValueError("give either an order number or a customer, not both and not neither")
        return self


class TimelineEvent(BaseModel):
    at: datetime
    event: str
    event_zh: str


class OrderItem(BaseModel):
    sku: str
    product: str
    quantity: int
    amount: float


class OrderStatusDetail(BaseModel):
    id: int
    external_id: str | None
    customer_id: int
    customer_name: str
    ordered_at: datetime
    status: str
    channel: str
    store: str | None
    total_amount: float
    currency: str
    carrier: str | None
    tracking_number: str | None
    days_in_transit: float | None = Field(description="Shipped to delivered, or shipped to now while still in transit")
    timeline: list[TimelineEvent]
    items: list[OrderItem]


class OrderStatusResult(ToolResult):
    orders: list[OrderStatusDetail]


_ORDER_COLUMNS = [
    Column(key="external_id", label="Order", label_zh="订单"),
    Column(key="ordered_at", label="Ordered", label_zh="下单时间", kind="datetime"),
    Column(key="status", label="Status", label_zh="状态"),
    Column(key="total_amount", label="Total", label_zh="金额", kind="money"),
    Column(key="carrier", label="Carrier", label_zh="承运商"),
    Column(key="tracking_number", label="Tracking", label_zh="运单号"),
    Column(key="last_event", label="Last event", label_zh="最新进展"),
]
_TIMELINE_COLUMNS = [
    Column(key="at", label="When", label_zh="时间", kind="datetime"),
    Column(key="event", label="Event", label_zh="事件"),
]


def order_status(params: OrderStatusParams, *, ctx: ToolContext) -> OrderStatusResult:
    """Status and logistics of ONE order (by order number such as SO-0000123, id or tracking
    number): current status, timeline (ordered, paid, shipped, delivered, returned, cancelled),
    carrier, tracking number, days in transit and items. Or, given a customer instead, the same
    for their most recent orders. Use it for "where is my order", "was it delivered", "has it
    shipped". Use purchase_history for what a customer bought over a period.
    """
    with Session(ctx.engine) as session:
        scope = ctx.scope.customer_clause(Customer.owner_id)
        base = select(Order, Customer.name).join(Customer, Customer.id == Order.customer_id).where(scope, Order.ordered_at <= ctx.now)
        if params.order:
            found = _find_order(session, base, params.order.strip())
            if not found:
                # Same message whether the order is missing or belongs to someone outside the caller's scope.
                raise NotFound(f"no order found for {params.order.strip()!r}", hint="check the order number, e.g. SO-0000123")
        else:
            c = resolve_customer(ctx, customer=params.customer, session=session)
            found = session.execute(base.where(Order.customer_id == c.id).order_by(Order.ordered_at.desc(), Order.id.desc()).limit(params.limit)).all()
            if not found:
                return _empty(c)
        items = _items(session, [o.id for o, _ in found])
    details = [_detail(o, name, items.get(o.id, []), ctx.now) for o, name in found]
    return _result(details, single=bool(params.order))


def _find_order(session: Session, base, text: str) -> list:
    """Try the indexed keys one at a time (an OR across them would scan every order)."""
    tries = [Order.external_id.in_(sorted({text, text.upper()}))]
    if text.isascii() and text.isdigit() and len(text) <= 18:  # int("²") fails; ids stop at 64 bits
        tries.append(Order.id == int(text))
    tries.append(Order.tracking_number.in_(sorted({text, text.upper()})))
    for cond in tries:
        found = session.execute(base.where(cond).order_by(Order.id).limit(2)).all()
        if found:
            return found
    return []


def _items(session: Session, order_ids: list[int]) -> dict[int, list[OrderItem]]:
    rows = session.execute(
        select(OrderLine.order_id, Product.sku, Product.name, OrderLine.quantity, OrderLine.amount)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id.in_(order_ids))
        .order_by(OrderLine.id)
    ).all()
    out: dict[int, list[OrderItem]] = {}
    for oid, sku, name, qty, amount in rows:
        out.setdefault(oid, []).append(OrderItem(sku=sku, product=name, quantity=qty, amount=amount))
    return out


def _detail(o: Order, customer_name: str, items: list[OrderItem], now: datetime) -> OrderStatusDetail:
    timeline = [
        TimelineEvent(at=getattr(o, attr), event=en, event_zh=zh)
        for attr, en, zh in _EVENTS
        if getattr(o, attr) is not None and getattr(o, attr) <= now
    ]
    timeline.sort(key=lambda e: e.at)
    transit = None
    if o.shipped_at and o.shipped_at <= now:
        until = o.delivered_at if o.delivered_at and o.delivered_at <= now else (now if o.status == "shipped" else None)
        if until:
            transit = round((until - o.shipped_at).total_seconds() / 86400, 1)
    return OrderStatusDetail(
        id=o.id,
        external_id=o.external_id,
        customer_id=o.customer_id,
        customer_name=customer_name,
        ordered_at=o.ordered_at,
        status=o.status,
        channel=o.channel,
        store=o.store,
        total_amount=o.total_amount,
        currency=o.currency,
        carrier=o.carrier,
        tracking_number=o.tracking_number,
        days_in_transit=transit,
        timeline=timeline,
        items=items,
    )


def _empty(c: Customer) -> OrderStatusResult:
    return OrderStatusResult(
        summary=f"{c.name} ({c.external_id or c.id}) has no orders.",
        summary_zh=f"{c.name}（{c.external_id or c.id}）没有订单。",
        citations=[Citation(kind="customer", id=c.id, label=c.external_id or c.name)],
        orders=[],
    )


def _result(details: list[OrderStatusDetail], *, single: bool) -> OrderStatusResult:
    def line(d: OrderStatusDetail) -> tuple[str, str]:
        last = d.timeline[-1] if d.timeline else None
        ship = f", {d.carrier} {d.tracking_number}" if d.carrier else ""
        transit = f", {d.days_in_transit:g} days in transit" if d.days_in_transit is not None else ""
        en = f"{d.external_id or d.id} ({d.ordered_at:%Y-%m-%d}, {d.total_amount:,.2f} {d.currency}) is {d.status}"
        en += f" since {last.at:%Y-%m-%d %H:%M}" if last else ""
        zh = f"订单 {d.external_id or d.id}（{d.ordered_at:%Y-%m-%d}，{d.total_amount:,.2f} {d.currency}）状态：{STATUS_ZH.get(d.status, d.status)}"
        zh += f"（{last.at:%Y-%m-%d %H:%M}）" if last else ""
        return en + ship + transit + ".", zh + (f"，{d.carrier} {d.tracking_number}" if d.carrier else "") + "。"

    if single:
        d = details[0]
        en, zh = line(d)
        if len(details) > 1:
            en += " (Several orders share that tracking number; showing the first.)"
        table = Table.from_records(_TIMELINE_COLUMNS, [{"at": e.at, "event": e.event} for e in d.timeline])
        summary, summary_zh = f"Order {en} Customer: {d.customer_name}.", f"{zh}客户：{d.customer_name}。"
        details = details[:1]
    else:
        first = details[0]
        summary = f"{first.customer_name}'s {len(details)} most recent orders: " + " ".join(line(d)[0] for d in details[:3])
        summary_zh = f"{first.customer_name} 最近 {len(details)} 笔订单：" + "".join(line(d)[1] for d in details[:3])
        records = [{**d.model_dump(), "last_event": d.timeline[-1].event if d.timeline else None} for d in details]
        table = Table.from_records(_ORDER_COLUMNS, records)
    citations = [Citation(kind="order", id=d.id, label=d.external_id or f"order {d.id}") for d in details]
    citations.append(Citation(kind="customer", id=details[0].customer_id, label=details[0].customer_name))
    return OrderStatusResult(summary=summary, summary_zh=summary_zh, table=table, citations=citations, orders=details)
