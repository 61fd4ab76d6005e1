"""Readable reasons behind a churn score, from the logistic part's per-feature contributions.

A contribution is coefficient x standardised value: how far this customer's feature
moves the log-odds of churning compared with an average training customer. Related
features are summed into one reason group (recency, recency / usual gap and recent
counts all say "has gone quiet"), groups pushing toward churn are ranked, and each is
written with the customer's own numbers. A group is only voiced when the numbers
back it up, e.g. "spend down" needs spend to have actually dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tools.churn_model import REASON_GROUPS, ChurnModel

MAX_REASONS = 3
# Contributions smaller than this (log-odds) are noise, not a reason.
MIN_CONTRIBUTION = 0.05
SINGLE_BUYER_QUIET_DAYS = 60
RARE_BUYER_PER_MONTH = 0.5
NEW_CUSTOMER_DAYS = 90


def churn_reasons(model: ChurnModel, features: pd.DataFrame, *, top: int = MAX_REASONS) -> list[list[str]]:
    """Up to ``top`` reasons per customer (row order of ``features``), strongest first."""
    if features.empty:
        return []
    contrib = model.contributions(features)
    names = list(REASON_GROUPS)
    weights = np.column_stack([contrib[list(REASON_GROUPS[g])].sum(axis=1).to_numpy() for g in names])
    say = {**_SAY, "low_value": lambda f: _low_value(f, typical=model.fill)}
    texts = [say[g](features) for g in names]  # one sentence column per group
    order = np.argsort(-weights, axis=1)
    out = []
    for i in range(len(features)):
        reasons = []
        for j in order[i]:
            if weights[i, j] < MIN_CONTRIBUTION or len(reasons) >= top:
                break
            if texts[j][i]:
                reasons.append(texts[j][i])
        out.append(reasons)
    return out


def _silence(f: pd.DataFrame) -> list[str | None]:
    # Only a silence longer than the customer's own usual gap (or 60 days after a single purchase) is news.
    out: list[str | None] = []
    for r, g in zip(f["recency_days"].tolist(), f["gap_mean"].tolist(), strict=True):
        if g == g and g > 0:
            out.append(f"no purchase for {_days(r)} vs a usual gap of {_days(g)}" if r > g else None)
        else:
            out.append(f"no purchase for {_days(r)} since the only purchase" if r > SINGLE_BUYER_QUIET_DAYS else None)
    return out


def _frequency(f: pd.DataFrame) -> list[str | None]:
    months = np.maximum(f["tenure_days"].to_numpy() / 30.4375, 1.0)
    days = f["purchase_days"].astype(int).tolist()
    return [
        f"only {d} purchase{'s' if d != 1 else ''} in {m:,.0f} month{'s' if round(m) != 1 else ''}"
        if d / m < RARE_BUYER_PER_MONTH else None
        for d, m in zip(days, months, strict=True)
    ]


def _spend_drop(f: pd.DataFrame) -> list[str | None]:
    out: list[str | None] = []
    for now, before in zip(f["spend_90d"].tolist(), f["spend_prev_90d"].tolist(), strict=True):
        if before > 0 and now < before:
            out.append(f"spend down {100 * (1 - now / before):.0f}% over the last 90 days")
        elif now == 0 and before == 0:
            out.append("no spend in the last 180 days")
        else:
            out.append(None)
    return out


def _low_value(f: pd.DataFrame, *, typical: dict[str, float]) -> list[str | None]:
    # Below half the typical training customer's spend, or it is not "low".
    bar = 0.5 * typical.get("spend", 0.0)
    return [f"low spend: {s:,.0f} in total, {a:,.0f} per order" if s < bar else None
            for s, a in zip(f["spend"].tolist(), f["avg_order_value"].tolist(), strict=True)]


def _new(f: pd.DataFrame) -> list[str | None]:
    return [f"new customer: first purchase {t:,.0f} days ago" if t < NEW_CUSTOMER_DAYS else None
            for t in f["tenure_days"].tolist()]


def _returns(f: pd.DataFrame) -> list[str | None]:
    return [f"returns or cancellations are {100 * s:.0f}% of what they ordered" if s > 0 else None
            for s in f["returns_share"].tolist()]


_SAY = {
    "silence": _silence,
    "frequency": _frequency,
    "spend_drop": _spend_drop,
    "low_value": None,  # needs the typical values: bound in churn_reasons
    "new": _new,
    "returns": _returns,
}


def _days(value: float) -> str:
    return f"{value:,.0f} day" if round(value) == 1 else f"{value:,.0f} days"
