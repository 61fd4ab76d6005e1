"""Churn features and labels at a cut-off, from the orders frame of ``tools.order_frames``.

Everything here sees only orders strictly before the cut-off: the model is trained on
snapshots taken at earlier cut-offs and scored at "now" with the same function, so a
feature can never peek past its own snapshot.

Purchases are counted per calendar day (several orders in one day are one visit, as
in ``tools.cadence``). Spend counts revenue orders only; returned and cancelled orders
feed ``returns_share``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tools.clv_model import ModelFitError, bgnbd_predictions, fit_bgnbd, rfm_summary

# Exponential-decay half-lives (days) for "how much has this customer bought lately".
DECAY_HALF_LIVES = (30, 90)
WINDOW = 90
# BG/NBD is fitted on at most this many customers per snapshot (seeded sample) and
# applied to all: four parameters do not need more, and the fit stays well under 1 s.
BGNBD_MAX_FIT = 5_000

FEATURES = [
    "recency_days",
    "tenure_days",
    "purchase_days",
    "orders",
    "spend",
    "avg_order_value",
    "gap_mean",
    "gap_std",
    "gap_last",
    "recency_vs_gap",
    "purchase_days_30d",
    "purchase_days_90d",
    "purchase_days_180d",
    "spend_90d",
    "spend_prev_90d",
    "spend_trend",
    "decay_30",
    "decay_90",
    "returns_share",
    "bgnbd_expected",
]


def churn_features(orders: pd.DataFrame, *, cutoff_day: float, horizon_days: float) -> pd.DataFrame:
    """One row per customer with a revenue order before ``cutoff_day`` (index customer_id, columns FEATURES)."""
    before = orders[orders["day"] < cutoff_day]
    paid = before[~before["returned"]]
    if paid.empty:
        return pd.DataFrame(columns=FEATURES, index=pd.Index([], name="customer_id"), dtype="float64")
    cust = paid["customer_id"].to_numpy()
    day = paid["day"].to_numpy()
    amount = paid["amount"].to_numpy()
    age = cutoff_day - day

    work = pd.DataFrame({
        "customer_id": cust,
        "day": day,
        "amount": amount,
        "spend_90d": np.where(age <= WINDOW, amount, 0.0),
        "spend_prev_90d": np.where((age > WINDOW) & (age <= 2 * WINDOW), amount, 0.0),
    })
    for half in DECAY_HALF_LIVES:
        work[f"decay_{half}"] = np.exp2(-age / half)
    g = work.groupby("customer_id", sort=True)
    out = g.agg(
        first=("day", "min"), last=("day", "max"), orders=("day", "size"), spend=("amount", "sum"),
        spend_90d=("spend_90d", "sum"), spend_prev_90d=("spend_prev_90d", "sum"),
        **{f"decay_{h}": (f"decay_{h}", "sum") for h in DECAY_HALF_LIVES},
    )
    out["recency_days"] = cutoff_day - out["last"]
    out["tenure_days"] = cutoff_day - out["first"]
    out["avg_order_value"] = out["spend"] / out["orders"]

    visits = _visits(cust, day)
    out["purchase_days"] = visits.groupby("customer_id").size()
    gaps = _gaps(visits)
    gap_stats = gaps.groupby(level=0).agg(["mean", "std", "last"])
    out["gap_mean"] = gap_stats["mean"]
    out["gap_std"] = gap_stats["std"]
    out["gap_last"] = gap_stats["last"]
    # One-time buyers have no gap of their own: measure their silence against their tenure instead.
    out["recency_vs_gap"] = out["recency_days"] / out["gap_mean"].fillna(out["tenure_days"] + 1.0).clip(lower=1.0)
    visit_age = np.floor(cutoff_day) - visits["d"]
    for days in (30, 90, 180):
        recent = visits[visit_age.to_numpy() < days]
        out[f"purchase_days_{days}d"] = recent.groupby("customer_id").size()
    out["spend_trend"] = np.log1p(out["spend_90d"]) - np.log1p(out["spend_prev_90d"])

    returned = before[before["returned"]].groupby("customer_id")["amount"].sum()
    returned = returned.reindex(out.index).fillna(0.0)
    out["returns_share"] = returned / (out["spend"] + returned).clip(lower=1e-9)

    bgnbd, penalizer = _bgnbd_features(orders, cutoff_day=cutoff_day, horizon_days=horizon_days, index=out.index)
    out = out.join(bgnbd)
    fill = {c: 0.0 for c in ("purchase_days_30d", "purchase_days_90d", "purchase_days_180d")}
    out = out.fillna(fill)
    out.index.name = "customer_id"
    out = out[FEATURES].astype("float64")
    out.attrs["bgnbd_penalizer"] = penalizer  # how the BG/NBD features were fitted, for reports
    return out


def churn_labels(orders: pd.DataFrame, customers: pd.Index, *, cutoff_day: float, horizon_days: float) -> pd.Series:
    """1 = no revenue order in [cutoff, cutoff + horizon) (churned), 0 = bought again."""
    window = orders[(orders["day"] >= cutoff_day) & (orders["day"] < cutoff_day + horizon_days) & ~orders["returned"]]
    bought = np.isin(customers.to_numpy(), window["customer_id"].unique())
    return pd.Series((~bought).astype("int64"), index=customers, name="churned")


def _visits(cust: np.ndarray, day: np.ndarray) -> pd.DataFrame:
    visits = pd.DataFrame({"customer_id": cust, "d": np.floor(day)}).drop_duplicates()
    return visits.sort_values(["customer_id", "d"], kind="stable").reset_index(drop=True)


def _gaps(visits: pd.DataFrame) -> pd.Series:
    ids = visits["customer_id"].to_numpy()
    d = visits["d"].to_numpy()
    same = ids[1:] == ids[:-1]
    return pd.Series(np.diff(d)[same], index=ids[1:][same])


def _bgnbd_features(
    orders: pd.DataFrame, *, cutoff_day: float, horizon_days: float, index: pd.Index
) -> tuple[pd.DataFrame, float | None]:
    """BG/NBD expected purchases within the horizon and P(alive), fitted on this snapshot's history only."""
    # Orders are cut here, so the summary's "up to the end day" cannot reach the cut-off day's own orders.
    summary = rfm_summary(orders[orders["day"] < cutoff_day], end_day=cutoff_day, unit="week")
    summary = summary.reindex(index)
    empty = pd.DataFrame({"bgnbd_expected": np.nan}, index=index)
    fit_on = summary.sample(BGNBD_MAX_FIT, random_state=0) if len(summary) > BGNBD_MAX_FIT else summary
    try:
        fit = fit_bgnbd(fit_on)
    except ModelFitError:
        return empty, None
    # P(alive) is left out on purpose: where the fitted dropout rate runs to 0 (Online Retail),
    # it is ~1 for everyone in one snapshot and spread out in the next, which no model can use.
    pred = bgnbd_predictions(fit, summary, horizon=horizon_days / 7.0)
    return pred[["expected_purchases"]].rename(columns={"expected_purchases": "bgnbd_expected"}), fit.penalizer
