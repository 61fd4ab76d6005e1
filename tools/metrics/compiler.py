"""Compile a metrics request into SQLAlchemy Core, one SELECT per fact.

Every statement joins the fact to its customer and adds ``ctx.scope`` to the WHERE
clause, so a rep's numbers cover only their customers and the public pool. GROUP BY
is positional (``GROUP BY 1, 2``): PostgreSQL binds parameters server-side, and an
expression with parameters in both SELECT and GROUP BY would not be recognised as the
same expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, literal_column, select

from storage.models import (
    Campaign,
    CampaignTouch,
    Customer,
    Interaction,
    Opportunity,
    Order,
    OrderLine,
    Product,
)
from storage.models.features import CustomerFeatures
from tools.context import ToolContext
from tools.errors import InvalidArgument
from tools.metrics.catalog import ACTIVITY, DIMENSIONS, FIRST_ORDERS, MEASURES, OppOwner, OrderCampaign, Owner
from tools.metrics.dialect import time_bucket

SHORT_PERIOD = timedelta(days=62)


@dataclass(frozen=True)
class FactQuery:
    fact: str
    measures: tuple[str, ...]  # component (non-ratio) measure names
    dimensions: tuple[str, ...]
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    start: datetime | None
    end: datetime
    first_orders_from_snapshot: bool = False


def _base(fact: str, *, snapshot_first: bool):
    """FROM clause and time column of a fact."""
    if fact == "orders":
        return Order.__table__.join(Customer, Customer.id == Order.customer_id), Order.ordered_at
    if fact == "lines":
        frm = (
            OrderLine.__table__.join(Order, Order.id == OrderLine.order_id)
            .join(Customer, Customer.id == Order.customer_id)
            .join(Product, Product.id == OrderLine.product_id)
        )
        return frm, Order.ordered_at
    if fact == "touches":
        frm = CampaignTouch.__table__.join(Customer, Customer.id == CampaignTouch.customer_id).join(
            Campaign, Campaign.id == CampaignTouch.campaign_id
        )
        return frm, CampaignTouch.sent_at
    if fact == "interactions":
        return Interaction.__table__.join(Customer, Customer.id == Interaction.customer_id), Interaction.occurred_at
    if fact == "opportunities":
        return Opportunity.__table__.join(Customer, Customer.id == Opportunity.customer_id), Opportunity.created_at
    if fact == "first_orders":
        if snapshot_first:
            frm = CustomerFeatures.__table__.join(Customer, Customer.id == CustomerFeatures.customer_id)
            return frm, CustomerFeatures.first_order_at
        return FIRST_ORDERS.join(Customer, Customer.id == FIRST_ORDERS.c.customer_id), FIRST_ORDERS.c.first_at
    if fact == "activity":
        return ACTIVITY.join(Customer, Customer.id == ACTIVITY.c.customer_id), ACTIVITY.c.at
    raise ValueError(fact)


def dimension_expr(name: str, fact: str, *, ctx: ToolContext, time_column):
    d = DIMENSIONS[name]
    if d.is_time:
        return time_bucket(time_column, name, ctx.engine.dialect.name)
    builder = d.exprs.get(fact) or d.exprs.get("*")
    if builder is None:
        raise InvalidArgument(f"dimension {name!r} does not apply to this measure's data ({fact})")
    return builder(ctx.today)


def _joins(names: list[str], fact: str, *, snapshot_first: bool) -> list[str]:
    needed: list[str] = []
    for name in names:
        d = DIMENSIONS[name]
        if name == "owner":
            needed.append("opp_owner" if fact == "opportunities" else "owner")
        elif name == "campaign":
            if fact in ("orders", "lines"):
                needed.append("order_campaign")
        elif "features" in d.joins and not (fact == "first_orders" and snapshot_first):
            needed.append("features")
    return list(dict.fromkeys(needed))


def _apply_joins(frm, joins: list[str]):
    for j in joins:
        if j == "owner":
            frm = frm.outerjoin(Owner, Owner.id == Customer.owner_id)
        elif j == "opp_owner":
            frm = frm.outerjoin(OppOwner, OppOwner.id == Opportunity.owner_id)
        elif j == "order_campaign":
            frm = frm.outerjoin(OrderCampaign, OrderCampaign.id == Order.campaign_id)
        elif j == "features":
            frm = frm.outerjoin(CustomerFeatures, CustomerFeatures.customer_id == Customer.id)
    return frm


# Facts whose rows always belong to a customer (a foreign key), so the join to customer only matters
# for scope and customer dimensions; FROM clause without it.
_ALONE = {
    "orders": lambda: Order.__table__,
    "first_orders_snapshot": lambda: CustomerFeatures.__table__,
}


def _needs_customer(q: FactQuery, ctx: ToolContext) -> bool:
    if not ctx.scope.all_customers:
        return True
    return any(not DIMENSIONS[name].is_time for name in [*q.dimensions, *(n for n, _ in q.filters)])


def compile_fact(q: FactQuery, *, ctx: ToolContext) -> Select:
    frm, time_col = _base(q.fact, snapshot_first=q.first_orders_from_snapshot)
    alone = "first_orders_snapshot" if q.fact == "first_orders" and q.first_orders_from_snapshot else q.fact
    if alone in _ALONE and not _needs_customer(q, ctx):
        # Everyone, no customer dimension: skip a primary-key lookup into customer per row (most of the time).
        frm = _ALONE[alone]()
    filter_names = [name for name, _ in q.filters]
    frm = _apply_joins(frm, _joins([*q.dimensions, *filter_names], q.fact, snapshot_first=q.first_orders_from_snapshot))
    columns = [dimension_expr(d, q.fact, ctx=ctx, time_column=time_col).label(d) for d in q.dimensions]
    for m in q.measures:
        expr = MEASURES[m].exprs[q.fact]
        if q.fact == "first_orders" and m == "new_customers":
            expr = func.count()
        columns.append(expr.label(m))
    owner = Customer.owner_id
    if q.fact in ("orders", "lines") and q.start is not None and q.end - q.start <= SHORT_PERIOD:
        # A short period is best read through the date index; "+ 0" keeps the planner from
        # driving the query from the owner index instead (every order of a rep's whole book).
        owner = Customer.owner_id + 0
    conditions = [ctx.scope.customer_clause(owner), time_col < q.end]
    if q.start is not None:
        conditions.append(time_col >= q.start)
    for name, values in q.filters:
        expr = dimension_expr(name, q.fact, ctx=ctx, time_column=time_col)
        conditions.append(func.lower(expr).in_([v.lower() for v in values]))
    stmt = select(*columns).select_from(frm).where(*conditions)
    if q.dimensions:
        stmt = stmt.group_by(*[literal_column(str(i + 1)) for i in range(len(q.dimensions))])
    return stmt
