"""purchase_history (what a customer bought) and order_status (where an order is)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import NON_REVENUE_STATUSES, Customer, Order, OrderLine, Product
from tools.context import ToolContext
from tools.lookup import resolve_customer
from tools.order_status import OrderStatusParams, OrderStatusResult, order_status
from tools.periods import Period
from tools.results import ChartSpec, Citation, Column, Table, ToolResult

__all__ = ["OrderStatusParams", "OrderStatusResult", "PurchaseHistoryParams", "PurchaseHistoryResult", "order_status", "purchase_history"]


class PurchaseHistoryParams(BaseModel):
    customer: str | int = Field(description="Customer id, external id (C000123) or name")
    period: Period = Field(default_factory=Period, description="Date range; default all time")
    category: str | None = Field(default=None, description="Only lines of this product category, e.g. Phones")
    brand: str | None = Field(default=None, description="Only lines of this brand")
    product: str | None = Field(default=None, description="Only lines whose product name or SKU contains this text")
    limit: int = Field(default=50, ge=1, le=500, description="Most recent lines to list (totals cover all)")


class PurchaseLine(BaseModel):
    order_id: int
    order_external_id: str | None
    ordered_at: datetime
    status: str
    channel: str
    sku: str
    product: str
    category: str | None
    brand: str | None
    quantity: int
    unit_price: float
    discount: float
    promo: bool
    amount: float


class CategoryTotal(BaseModel):
    category: str
    revenue: float
    units: int


class PurchaseHistoryResult(ToolResult):
    customer_id: int
    customer_name: str
    period_start: datetime | None
    period_end: datetime
    revenue: float = Field(description="Net amount of matching lines on revenue orders (returned/cancelled excluded)")
    orders: int = Field(description="Revenue orders with at least one matching line")
    units: int
    average_order_value: float | None
    returned_or_cancelled_orders: int
    by_category: list[CategoryTotal]
    lines: list[PurchaseLine]
    total_lines: int


_LINE_COLUMNS = [
    Column(key="ordered_at", label="Date", label_zh="日期", kind="date"),
    Column(key="order_external_id", label="Order", label_zh="订单"),
    Column(key="product", label="Product", label_zh="商品"),
    Column(key="category", label="Category", label_zh="品类"),
    Column(key="quantity", label="Qty", label_zh="数量", kind="int"),
    Column(key="unit_price", label="Unit price", label_zh="单价", kind="money"),
    Column(key="discount", label="Discount", label_zh="折扣", kind="pct"),
    Column(key="amount", label="Amount", label_zh="金额", kind="money"),
    Column(key="status", label="Status", label_zh="状态"),
]


def purchase_history(params: PurchaseHistoryParams, *, ctx: ToolContext) -> PurchaseHistoryResult:
    """What ONE customer bought in a period: their orders and order lines (product, category,
    brand, quantity, price, discount, amount, status), optionally only one category, brand or
    product, with totals (revenue, orders, units, average order value), spend by category and a
    monthly chart. Revenue excludes returned and cancelled orders (they are still listed). The
    customer may be an id, external id or name. Use order_status for shipping/delivery of an
    order, and query_metrics for totals across many customers.
    """
    start, end = params.period.resolve(ctx)
    with Session(ctx.engine) as session:
        c = resolve_customer(ctx, customer=params.customer, session=session)
        conditions = [Order.customer_id == c.id, Order.ordered_at < end]
        if start is not None:
            conditions.append(Order.ordered_at >= start)
        if params.category:
            conditions.append(func.lower(Product.category) == params.category.strip().lower())
        if params.brand:
            conditions.append(func.lower(Product.brand) == params.brand.strip().lower())
        if params.product:
            text = f"%{params.product.strip().lower()}%"
            conditions.append(func.lower(Product.name).like(text) | func.lower(Product.sku).like(text))
        stmt = (
            select(
                Order.id, Order.external_id, Order.ordered_at, Order.status, Order.channel,
                Product.sku, Product.name, Product.category, Product.brand,
                OrderLine.quantity, OrderLine.unit_price, OrderLine.discount, OrderLine.promo, OrderLine.amount,
            )
            .select_from(Order)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(*conditions)
            .order_by(Order.ordered_at.desc(), Order.id.desc(), OrderLine.id)
        )
        rows = session.execute(stmt).all()
    lines = [PurchaseLine(**dict(zip(PurchaseLine.model_fields, r, strict=True))) for r in rows]
    return _history_result(params, c, lines, start, end)


def _history_result(params: PurchaseHistoryParams, c: Customer, lines: list[PurchaseLine], start, end) -> PurchaseHistoryResult:
    revenue_lines = [ln for ln in lines if ln.status not in NON_REVENUE_STATUSES]
    revenue = round(sum(ln.amount for ln in revenue_lines), 2)
    orders = len({ln.order_id for ln in revenue_lines})
    units = sum(ln.quantity for ln in revenue_lines)
    by_cat: dict[str, list[float]] = {}
    monthly: dict[str, float] = {}
    for ln in revenue_lines:
        slot = by_cat.setdefault(ln.category or "(none)", [0.0, 0])
        slot[0] += ln.amount
        slot[1] += ln.quantity
        key = ln.ordered_at.strftime("%Y-%m")
        monthly[key] = monthly.get(key, 0.0) + ln.amount
    categories = sorted(
        (CategoryTotal(category=k, revenue=round(v[0], 2), units=int(v[1])) for k, v in by_cat.items()), key=lambda x: -x.revenue
    )
    bad_orders = len({ln.order_id for ln in lines if ln.status in NON_REVENUE_STATUSES})
    aov = round(revenue / orders, 2) if orders else None
    last = end - timedelta(microseconds=1)  # end is exclusive
    span = f"{start:%Y-%m-%d} to {last:%Y-%m-%d}" if start else f"all time up to {last:%Y-%m-%d}"
    what = " ".join(x for x in (params.brand, params.category, params.product) if x)
    scope_en = f" ({what})" if what else ""
    if revenue_lines:
        top = ", ".join(f"{x.category} {x.revenue:,.2f}" for x in categories[:3])
        summary = (
            f"{c.name} ({c.external_id or c.id}) bought {units} units{scope_en} in {orders} orders, {span}: "
            f"revenue {revenue:,.2f}, average order {aov:,.2f}. Top categories: {top}."
        )
        summary_zh = (
            f"{c.name}（{c.external_id or c.id}）在 {span} 期间{('（' + what + '）') if what else ''}共购买 {units} 件，"
            f"{orders} 笔订单，金额 {revenue:,.2f}，平均每单 {aov:,.2f}。主要品类：{top}。"
        )
    else:
        summary = f"{c.name} ({c.external_id or c.id}) has no purchases{scope_en} {span}."
        summary_zh = f"{c.name}（{c.external_id or c.id}）在 {span} 期间{('（' + what + '）') if what else ''}没有购买记录。"
    if bad_orders:
        summary += f" {bad_orders} returned or cancelled order(s) are listed but not counted."
        summary_zh += f" 另有 {bad_orders} 笔退货或取消订单未计入。"
    shown = lines[: params.limit]
    table = Table.from_records(_LINE_COLUMNS, shown)
    table.total_rows = len(lines) if len(lines) > len(shown) else None
    months = sorted(monthly)
    chart = (
        ChartSpec(kind="bar", title=f"{c.name}: spend by month", x=months, series={"revenue": [round(monthly[m], 2) for m in months]})
        if months
        else None
    )
    order_cites = {ln.order_id: ln.order_external_id for ln in shown}
    return PurchaseHistoryResult(
        summary=summary,
        summary_zh=summary_zh,
        table=table,
        chart=chart,
        citations=[Citation(kind="customer", id=c.id, label=c.external_id or c.name)]
        + [Citation(kind="order", id=oid, label=ext or f"order {oid}") for oid, ext in list(order_cites.items())[:20]],
        customer_id=c.id,
        customer_name=c.name,
        period_start=start,
        period_end=end,
        revenue=revenue,
        orders=orders,
        units=units,
        average_order_value=aov,
        returned_or_cancelled_orders=bad_orders,
        by_category=categories,
        lines=shown,
        total_lines=len(lines),
    )
