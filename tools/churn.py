"""Tool ``churn_risk``: churn probability per customer, with reasons and the model's measured quality.

Scores come from the feature snapshot when ``crm refresh`` has computed one that is
fresh for ``ctx.now`` (fast path, default horizon only); otherwise from
``tools.churn_scores.compute_churn_scores`` (cached model, features computed now).
Scope is applied in SQL: the list only ever holds customers the caller may see.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import Customer, StaffUser
from storage.models.features import CustomerFeatures, FeatureRefresh
from tools.churn_scores import DEFAULT_HORIZON_DAYS, ChurnQuality, compute_churn_scores, model_quality
from tools.context import ToolContext
from tools.errors import EmptyPeriod, InvalidArgument
from tools.feature_source import fresh_snapshot
from tools.lookup import resolve_customer, resolve_staff
from tools.results import ChartSpec, Citation, Column, Table, ToolResult


class ChurnRiskParams(BaseModel):
    customer: str | int | None = Field(
        default=None, description="One customer by id, external id or name. Omit to list the customers most at risk."
    )
    limit: int = Field(default=20, ge=1, le=500, description="How many at-risk customers to list (highest risk first).")
    min_probability: float = Field(default=0.0, ge=0.0, le=1.0, description="Only customers at or above this risk.")
    owner: str | int | None = Field(default=None, description="Only customers of this rep (name, email, id or 'me').")
    tier: str | None = Field(default=None, description="Only this value tier: vip (alias high), mid or low.")
    segment: str | None = Field(default=None, description="Only this RFM segment, e.g. 'champions', 'at risk'.")
    horizon_days: int = Field(
        default=DEFAULT_HORIZON_DAYS, ge=7, le=365, description="Churn = no purchase within this many days (default 90)."
    )


class CustomerChurn(BaseModel):
    customer_id: int
    name: str
    owner: str
    churn_probability: float
    reasons: list[str]


class ChurnRiskResult(ToolResult):
    customers: list[CustomerChurn]
    horizon_days: int
    model_auc: float | None = Field(default=None, description="Out-of-time AUC of the model (see quality_note)")
    quality_note: str
    source: str = Field(description="'snapshot' (crm refresh) or 'computed'")
    in_scope: int = Field(description="Customers scored within the caller's scope and filters")


def churn_risk(params: ChurnRiskParams, *, ctx: ToolContext) -> ChurnRiskResult:
    """Churn risk: the probability that a customer makes no purchase within the horizon (default 90 days),
    from a model trained on this company's own order history, with up to three readable reasons per customer
    (e.g. "no purchase for 94 days vs a usual gap of 21", "spend down 60% over the last 90 days") and the model's
    measured quality (AUC of the same training procedure back-tested one horizon ago).
    Give `customer` for one customer; otherwise lists the `limit` customers most at risk in the caller's scope,
    optionally filtered by owner, value tier or RFM segment. For customers who went quiet against their own
    rhythm use quiet_customers; for future value use lifetime_value."""
    snapshot = fresh_snapshot(ctx) if params.horizon_days == DEFAULT_HORIZON_DAYS else None
    with Session(ctx.engine) as session:
        target = resolve_customer(ctx, customer=params.customer, session=session) if params.customer is not None else None
        conditions, filters, needs_snapshot = _filters(session, ctx, params)
        if needs_snapshot and snapshot is None:
            raise InvalidArgument("tier and segment filters need a fresh feature snapshot", hint="run `crm refresh` first")
        if target is not None:
            conditions.append(Customer.id == target.id)
        if snapshot is not None:
            # Without an owner or a single customer, the count is numpy over the cached snapshot, not a join.
            counted = _count_in_scope(ctx, snapshot, params) if target is None and params.owner is None else None
            scores, in_scope = _from_snapshot(session, conditions, params, counted=counted)
            source = "snapshot"
        else:
            scores, in_scope = _computed(session, ctx, conditions, params)
            source = "computed"
        if target is None and in_scope == 0:
            raise EmptyPeriod(
                f"no churn scores as of {ctx.today.isoformat()}" + (f" for {', '.join(filters)}" if filters else ""),
                hint="the model needs customers who bought before and during the last horizon; check the date, "
                     "the filters, or run `crm refresh`",
            )
        if target is not None and scores.empty:
            if in_scope == 0 and filters:
                raise InvalidArgument(f"{target.name} does not match the filters ({', '.join(filters)})")
            raise EmptyPeriod(
                f"{target.name} has no purchase before {ctx.today.isoformat()}, so there is no churn score",
                hint="churn risk is defined for customers who have bought at least once",
            )
        people = _people(session, scores["customer_id"].tolist())
    quality = model_quality(ctx.engine, now=ctx.now, horizon_days=params.horizon_days,
                            fingerprint=_refresh_fingerprint(ctx, snapshot))
    rows = [
        CustomerChurn(customer_id=int(r.customer_id), name=people[int(r.customer_id)][0], owner=people[int(r.customer_id)][1],
                      churn_probability=round(float(r.churn_probability), 4), reasons=list(r.churn_reasons or []))
        for r in scores.itertuples()
    ]
    return _result(params, rows=rows, quality=quality, source=source, in_scope=in_scope, filters=filters, single=target)


def _refresh_fingerprint(ctx: ToolContext, snapshot) -> str | None:
    """The data fingerprint the snapshot's refresh recorded (same formula as ours): saves a scan of the orders."""
    if snapshot is None:
        return None
    with ctx.engine.connect() as conn:
        return conn.execute(
            select(FeatureRefresh.data_fingerprint).where(FeatureRefresh.id == snapshot.refresh_id)
        ).scalar_one_or_none()


def _filters(session: Session, ctx: ToolContext, params: ChurnRiskParams) -> tuple[list, list[str], bool]:
    """SQL conditions on Customer / CustomerFeatures: the caller's scope plus the requested filters."""
    conditions, filters, needs_snapshot = [ctx.scope.customer_clause(Customer.owner_id)], [], False
    if params.owner is not None:
        owner = resolve_staff(ctx, staff=params.owner, session=session)
        conditions.append(Customer.owner_id == owner.id)
        filters.append(f"owner {owner.name}")
    if params.tier:
        from tools.segmentation import normalize_tier

        conditions.append(CustomerFeatures.value_tier == normalize_tier(params.tier))
        filters.append(f"tier {params.tier}")
        needs_snapshot = True
    if params.segment:
        from tools.segmentation import normalize_segment

        conditions.append(CustomerFeatures.rfm_segment == normalize_segment(params.segment))
        filters.append(f"segment {params.segment}")
        needs_snapshot = True
    return conditions, filters, needs_snapshot


def _count_in_scope(ctx: ToolContext, snapshot, params: ChurnRiskParams) -> int:
    from tools.segmentation import normalize_segment, normalize_tier
    from tools.snapshot_cache import snapshot_arrays

    snap = snapshot_arrays(ctx, snapshot)
    mask = snap.in_scope(ctx) & ~np.isnan(snap.numbers["churn_probability"])
    if params.tier:
        mask &= snap.texts["value_tier"] == normalize_tier(params.tier)
    if params.segment:
        mask &= snap.texts["rfm_segment"] == normalize_segment(params.segment)
    return int(mask.sum())


def _from_snapshot(session: Session, conditions: list, params: ChurnRiskParams, *,
                   counted: int | None = None) -> tuple[pd.DataFrame, int]:
    """Top rows (the database walks the churn_probability index) and the in-scope count (``counted`` if known)."""
    F = CustomerFeatures
    where = [*conditions, F.churn_probability.is_not(None)]
    base = select(F.customer_id, F.churn_probability, F.churn_reasons).join(Customer, Customer.id == F.customer_id)
    in_scope = counted if counted is not None else session.execute(
        select(func.count()).select_from(F).join(Customer, Customer.id == F.customer_id).where(*where)).scalar_one()
    rows = session.execute(
        base.where(*where, F.churn_probability >= params.min_probability)
        .order_by(F.churn_probability.desc(), F.customer_id.asc()).limit(params.limit)
    ).all()
    return pd.DataFrame(rows, columns=["customer_id", "churn_probability", "churn_reasons"]), int(in_scope)


def _computed(session: Session, ctx: ToolContext, conditions: list, params: ChurnRiskParams) -> tuple[pd.DataFrame, int]:
    frame = compute_churn_scores(ctx.engine, now=ctx.now, horizon_days=params.horizon_days)
    allowed = set(session.execute(select(Customer.id).where(*conditions)).scalars().all())
    frame = frame[frame["customer_id"].isin(allowed)]
    in_scope = len(frame)
    frame = frame[frame["churn_probability"] >= params.min_probability]
    frame = frame.sort_values(["churn_probability", "customer_id"], ascending=[False, True]).head(params.limit)
    return frame, in_scope


def _people(session: Session, ids: list[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.name, StaffUser.name).outerjoin(StaffUser, StaffUser.id == Customer.owner_id)
        .where(Customer.id.in_(ids))
    ).all()
    return {cid: (name, owner or "public pool") for cid, name, owner in rows}


def _result(params, *, rows: list[CustomerChurn], quality: ChurnQuality | None, source: str, in_scope: int,
            filters: list[str], single) -> ChurnRiskResult:
    h = params.horizon_days
    note = (
        f"model AUC {quality.auc:.2f}, measured out of time: trained on history before {quality.tested_on} and "
        f"tested on whether {quality.customers:,} customers bought in the {h} days after it"
        if quality else "model quality not measurable yet (needs at least two horizons of order history)"
    )
    if single is not None:
        c = rows[0]
        why = "; ".join(c.reasons) if c.reasons else "no strong risk signals"
        summary = f"{c.name}: {c.churn_probability:.0%} chance of no purchase in the next {h} days ({why}). {note}."
        summary_zh = f"{c.name}：未来 {h} 天不再购买的概率 {c.churn_probability:.0%}（{why}）。"
    elif not rows:
        summary = f"No customers at or above {params.min_probability:.0%} churn risk" + (
            f" ({', '.join(filters)})." if filters else ".")
        summary_zh = "没有符合条件的高流失风险客户。"
    else:
        top = rows[0]
        scope = f" ({', '.join(filters)})" if filters else ""
        summary = (
            f"{len(rows)} customers most at risk of no purchase in the next {h} days{scope}, out of {in_scope:,} scored; "
            f"highest: {top.name} at {top.churn_probability:.0%}. {note}."
        )
        summary_zh = f"未来 {h} 天流失风险最高的 {len(rows)} 位客户（共评分 {in_scope:,} 位），最高：{top.name} {top.churn_probability:.0%}。"
    table = Table(
        columns=[Column(key="customer_id", label="ID", kind="int"), Column(key="name", label="Customer", label_zh="客户"),
                 Column(key="owner", label="Owner", label_zh="负责人"),
                 Column(key="churn_probability", label="Churn risk", label_zh="流失风险", kind="pct"),
                 Column(key="reasons", label="Why", label_zh="原因")],
        rows=[[c.customer_id, c.name, c.owner, c.churn_probability, "; ".join(c.reasons)] for c in rows],
    )
    chart = None
    if len(rows) > 1:
        shown = rows[:15]
        chart = ChartSpec(kind="bar", title=f"Churn risk, next {h} days", x=[c.name for c in shown],
                          series={"churn probability": [c.churn_probability for c in shown]}, y_label="probability")
    return ChurnRiskResult(
        summary=summary, summary_zh=summary_zh, table=table, chart=chart,
        citations=[Citation(kind="customer", id=c.customer_id, label=c.name) for c in rows[:20]],
        customers=rows, horizon_days=h, model_auc=quality.auc if quality else None, quality_note=note,
        source=source, in_scope=in_scope,
    )
