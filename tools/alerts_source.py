"""What the alert rules read: per-customer features, churn scores, complaint-like contacts, names.

Features come from the ``crm refresh`` snapshot when it is fresh for ``ctx.now`` (one scoped
query), else from ``tools.cadence`` / ``tools.rfm`` / ``tools.churn_scores`` computed now, exactly
as the read tools do. Every query applies the caller's scope in SQL.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import or_, select

from storage.models import Customer, Interaction, StaffUser
from tools.alerts_rules import COMPLAINT_PRIOR_DAYS, COMPLAINT_WINDOW_DAYS, NEGATIVE_SENTIMENT
from tools.cadence import rows_frame
from tools.context import ToolContext
from tools.feature_source import fresh_snapshot, snapshot_frame

FEATURES = ["value_tier", "spend_90d", "spend_prev_90d", "orders_90d", "orders_prev_90d", "churn_probability"]


def watch_features(ctx: ToolContext, *, churn: bool) -> tuple[pd.DataFrame, str]:
    """(frame [customer_id, *FEATURES], 'snapshot' | 'computed'); churn_probability is NaN when not asked for."""
    if fresh_snapshot(ctx) is not None:
        frame = snapshot_frame(ctx, columns=FEATURES)
        return _typed(frame), "snapshot"
    from tools.cadence import compute_cadence
    from tools.rfm import compute_rfm

    cadence = compute_cadence(ctx.engine, now=ctx.now, scope=ctx.scope)
    rfm = compute_rfm(ctx.engine, now=ctx.now, scope=ctx.scope, clusters=False)
    frame = cadence.merge(rfm[["customer_id", "value_tier"]], on="customer_id", how="left")
    frame["churn_probability"] = np.nan
    if churn and not frame.empty:
        from tools.churn_scores import compute_churn_scores

        scores = compute_churn_scores(ctx.engine, now=ctx.now)[["customer_id", "churn_probability"]]
        frame = frame.drop(columns="churn_probability").merge(scores, on="customer_id", how="left")
    return _typed(frame[["customer_id", *FEATURES]]), "computed"


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["customer_id"] = out["customer_id"].astype("int64")
    for col in ("spend_90d", "spend_prev_90d", "churn_probability"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in ("orders_90d", "orders_prev_90d"):
        out[col] = pd.to_numeric(out[col], errors="coerce").fillna(0).astype("int64")
    out["spend_90d"] = out["spend_90d"].fillna(0.0)
    out["spend_prev_90d"] = out["spend_prev_90d"].fillna(0.0)
    out["value_tier"] = out["value_tier"].astype("object")
    return out.reset_index(drop=True)


def complaint_contacts(ctx: ToolContext) -> pd.DataFrame:
    """Complaint-like interactions (kind complaint, or sentiment <= -0.5) in the window and the prior period."""
    since = ctx.now - timedelta(days=COMPLAINT_WINDOW_DAYS + COMPLAINT_PRIOR_DAYS)
    i = Interaction
    stmt = (
        select(i.customer_id, i.occurred_at)
        .join(Customer, Customer.id == i.customer_id)
        .where(
            ctx.scope.customer_clause(Customer.owner_id),
            i.occurred_at >= since,
            i.occurred_at < ctx.now,
            or_(i.kind == "complaint", i.sentiment <= NEGATIVE_SENTIMENT),
        )
    )
    with ctx.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return rows_frame(rows, ["customer_id", "occurred_at"])


def people(ctx: ToolContext, ids: list[int]) -> dict[int, tuple[str, int | None, str]]:
    """customer id -> (name, owner id, owner name or 'public pool'), only for customers in scope."""
    out: dict[int, tuple[str, int | None, str]] = {}
    if not ids:
        return out
    with ctx.engine.connect() as conn:
        staff = dict(conn.execute(select(StaffUser.id, StaffUser.name)).all())
        unique = sorted(set(ids))
        for i in range(0, len(unique), 5000):  # SQLite caps bound parameters
            rows = conn.execute(
                select(Customer.id, Customer.name, Customer.owner_id).where(
                    Customer.id.in_(unique[i : i + 5000]), ctx.scope.customer_clause(Customer.owner_id)
                )
            ).all()
            for cid, name, owner in rows:
                out[cid] = (name, owner, staff.get(owner, "?") if owner is not None else "public pool")
    return out
