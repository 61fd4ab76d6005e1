"""Tool ``lifetime_value``: BG/NBD + Gamma-Gamma customer lifetime value over a horizon.

Fast path: the 12-month CLV in a fresh feature snapshot (``crm refresh``). Any other
horizon, or no snapshot, computes from the cached fits (``tools.clv_scores``). Scope
is applied in SQL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import Customer, StaffUser
from storage.models.features import CustomerFeatures
from tools.clv_scores import compute_clv
from tools.context import ToolContext
from tools.errors import EmptyPeriod
from tools.feature_source import fresh_snapshot
from tools.lookup import resolve_customer, resolve_staff
from tools.results import ChartSpec, Citation, Column, Table, ToolResult

SNAPSHOT_HORIZON_MONTHS = 12


class LifetimeValueParams(BaseModel):
    customer: str | int | None = Field(
        default=None, description="One customer by id, external id or name. Omit to list the most valuable customers."
    )
    limit: int = Field(default=20, ge=1, le=500, description="How many customers to list (highest CLV first).")
    horizon_months: int = Field(default=12, ge=1, le=60, description="CLV horizon in months (default 12).")
    owner: str | int | None = Field(default=None, description="Only customers of this rep (name, email, id or 'me').")


class CustomerValue(BaseModel):
    customer_id: int
    name: str
    owner: str
    clv: float
    expected_purchases: float
    p_alive: float


class LifetimeValueResult(ToolResult):
    customers: list[CustomerValue]
    horizon_months: int
    total_clv: float = Field(description="Sum of CLV over the customers in scope (all of them, not only those listed)")
    in_scope: int
    source: str = Field(description="'snapshot' (crm refresh) or 'computed'")


def lifetime_value(params: LifetimeValueParams, *, ctx: ToolContext) -> LifetimeValueResult:
    """Customer lifetime value: the discounted spend a customer is expected to bring over the next
    `horizon_months` (default 12), from a BG/NBD model of how often they buy and whether they are still
    active, times a Gamma-Gamma model of how much they spend per purchase (monthly discount 1%). Also gives
    the expected number of purchases and P(still active). Give `customer` for one customer; otherwise lists
    the `limit` most valuable customers in the caller's scope (optionally one rep's). For churn risk with
    reasons use churn_risk; for past spend use customer_profile or query_metrics."""
    snapshot = fresh_snapshot(ctx) if params.horizon_months == SNAPSHOT_HORIZON_MONTHS else None
    with Session(ctx.engine) as session:
        target = resolve_customer(ctx, customer=params.customer, session=session) if params.customer is not None else None
        conditions = [ctx.scope.customer_clause(Customer.owner_id)]
        owner_name = None
        if params.owner is not None:
            owner = resolve_staff(ctx, staff=params.owner, session=session)
            conditions.append(Customer.owner_id == owner.id)
            owner_name = owner.name
        if target is not None:
            conditions.append(Customer.id == target.id)
        if snapshot is not None:
            # Without an owner or a single customer, count and total are numpy over the cached snapshot.
            summed = _sum_in_scope(ctx, snapshot) if target is None and params.owner is None else None
            top, in_scope, total = _from_snapshot(session, conditions, params.limit, summed=summed)
            source = "snapshot"
        else:
            top, in_scope, total = _computed(session, ctx, conditions, params)
            source = "computed"
        if target is not None and top.empty:
            raise EmptyPeriod(
                f"{target.name} has no purchase before {ctx.today.isoformat()}, so there is no CLV to estimate",
                hint="CLV is estimated for customers who have bought at least once",
            )
        if top.empty:
            raise EmptyPeriod("no customers in scope have bought anything yet, so there is no CLV to estimate")
        people = {
            cid: (name, owner or "public pool")
            for cid, name, owner in session.execute(
                select(Customer.id, Customer.name, StaffUser.name)
                .outerjoin(StaffUser, StaffUser.id == Customer.owner_id)
                .where(Customer.id.in_(top["customer_id"].tolist()))
            ).all()
        }
    rows = [
        CustomerValue(customer_id=int(r.customer_id), name=people[int(r.customer_id)][0],
                      owner=people[int(r.customer_id)][1], clv=round(float(r.clv), 2),
                      expected_purchases=round(float(r.expected_purchases), 2), p_alive=round(float(r.p_alive), 3))
        for r in top.itertuples()
    ]
    return _result(params, rows=rows, total=total, in_scope=in_scope, source=source, single=target is not None,
                   owner=owner_name)


_COLUMNS = ["customer_id", "clv", "expected_purchases", "p_alive"]


def _sum_in_scope(ctx: ToolContext, snapshot) -> tuple[int, float]:
    from tools.snapshot_cache import snapshot_arrays

    snap = snapshot_arrays(ctx, snapshot)
    clv = snap.numbers["clv"]
    mask = snap.in_scope(ctx) & ~np.isnan(clv)
    return int(mask.sum()), float(clv[mask].sum())


def _from_snapshot(session: Session, conditions: list, limit: int, *,
                   summed: tuple[int, float] | None = None) -> tuple[pd.DataFrame, int, float]:
    F = CustomerFeatures
    where = [*conditions, F.clv.is_not(None)]
    if summed is not None:
        count, total = summed
    else:
        joined = select(func.count(), func.coalesce(func.sum(F.clv), 0.0)).select_from(F).join(
            Customer, Customer.id == F.customer_id)
        count, total = session.execute(joined.where(*where)).one()
    rows = session.execute(
        select(F.customer_id, F.clv, F.expected_purchases, F.p_alive).join(Customer, Customer.id == F.customer_id)
        .where(*where).order_by(F.clv.desc(), F.customer_id.asc()).limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=_COLUMNS), int(count), float(total)


def _computed(session: Session, ctx: ToolContext, conditions: list, params: LifetimeValueParams):
    frame = compute_clv(ctx.engine, now=ctx.now, horizon_months=params.horizon_months)[_COLUMNS]
    allowed = set(session.execute(select(Customer.id).where(*conditions)).scalars().all())
    frame = frame[frame["customer_id"].isin(allowed)]
    top = frame.sort_values(["clv", "customer_id"], ascending=[False, True]).head(params.limit)
    return top, len(frame), float(frame["clv"].sum())


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _result(params, *, rows: list[CustomerValue], total: float, in_scope: int, source: str, single: bool,
            owner: str | None) -> LifetimeValueResult:
    h = params.horizon_months
    if single:
        c = rows[0]
        summary = (f"{c.name}: expected CLV over the next {h} months {_money(c.clv)} "
                   f"({c.expected_purchases:.1f} expected purchases, {c.p_alive:.0%} likely still active).")
        summary_zh = f"{c.name}：未来 {h} 个月预计客户终身价值 {_money(c.clv)}（预计购买 {c.expected_purchases:.1f} 次，仍活跃概率 {c.p_alive:.0%}）。"
    else:
        who = f" of {owner}" if owner else ""
        top = rows[0]
        summary = (f"Top {len(rows)} customers{who} by expected CLV over the next {h} months; "
                   f"highest {top.name} at {_money(top.clv)}. Total over {in_scope:,} customers: {_money(total)}.")
        summary_zh = f"未来 {h} 个月客户终身价值最高的 {len(rows)} 位客户，最高 {top.name} {_money(top.clv)}；{in_scope:,} 位客户合计 {_money(total)}。"
    table = Table(
        columns=[Column(key="customer_id", label="ID", kind="int"), Column(key="name", label="Customer", label_zh="客户"),
                 Column(key="owner", label="Owner", label_zh="负责人"),
                 Column(key="clv", label=f"CLV ({h} mo)", label_zh="终身价值", kind="money"),
                 Column(key="expected_purchases", label="Expected purchases", label_zh="预计购买次数", kind="float"),
                 Column(key="p_alive", label="P(active)", label_zh="活跃概率", kind="pct")],
        rows=[[c.customer_id, c.name, c.owner, c.clv, c.expected_purchases, c.p_alive] for c in rows],
    )
    chart = None
    if len(rows) > 1:
        shown = rows[:15]
        chart = ChartSpec(kind="bar", title=f"Expected CLV, next {h} months", x=[c.name for c in shown],
                          series={"CLV": [c.clv for c in shown]}, y_label="value")
    return LifetimeValueResult(
        summary=summary, summary_zh=summary_zh, table=table, chart=chart,
        citations=[Citation(kind="customer", id=c.customer_id, label=c.name) for c in rows[:20]],
        customers=rows, horizon_months=h, total_clv=round(total, 2), in_scope=in_scope, source=source,
    )
