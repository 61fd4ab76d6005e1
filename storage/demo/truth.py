"""What was planted, re-measured on the final rows and written to ``demo_truth``.

Every plant is checked against the data as the analytics will see it (revenue
orders only, "now" = today 00:00 UTC) and recorded only when it holds, so a
scorer never chases a plant that cancellations or returns quietly undid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from storage.demo.baskets import Lines
from storage.demo.bundles import BundleEvents
from storage.demo.campaigns import COEFFICIENTS, CampaignResult
from storage.demo.catalogue import Catalogue
from storage.demo.config import SECONDS_PER_DAY, DemoPlan
from storage.demo.customers import Identity, ambiguous_customers
from storage.demo.loyalty import Spend
from storage.demo.orders import Orders
from storage.demo.timelines import QUIET_FACTOR, Timeline
from storage.demo.traits import CHURNED, SPEND_DROP, Traits

QUIET_DEFINITION = ("VIP (top 5% of buyers by revenue) whose days since the last revenue order exceed 2.5x the "
                    "median gap between distinct purchase days, and first did so during the current month")


def _iso_day(plan: DemoPlan, day: float) -> str:
    return str(np.datetime64(plan.start, "D") + np.timedelta64(int(np.floor(day)), "D"))


def _iso_days(plan: DemoPlan, days: np.ndarray) -> list[str]:
    stamps = np.datetime64(plan.start, "D") + np.floor(days).astype(np.int64).astype("timedelta64[D]")
    return np.datetime_as_string(stamps, unit="D").tolist()


class _RevenueOrders:
    """Revenue orders as the analytics see them: per customer, fractional day and amount."""

    def __init__(self, orders: Orders, spend: Spend, totals: np.ndarray):
        keep = spend.is_revenue
        self.frame = pd.DataFrame({"customer": orders.customer[keep], "day": orders.second[keep] / SECONDS_PER_DAY,
                                   "amount": totals[keep]})

    def cadence(self, customers: np.ndarray, now: float) -> pd.DataFrame:
        """last day, median/mean gap between distinct purchase days, orders and 90-day spends per customer."""
        f = self.frame[self.frame["customer"].isin(customers)]
        visits = pd.DataFrame({"customer": f["customer"], "day": np.floor(f["day"])}).drop_duplicates()
        visits = visits.sort_values(["customer", "day"], kind="stable")
        gaps = visits.groupby("customer")["day"].diff().dropna()
        by_gap = gaps.groupby(visits.loc[gaps.index, "customer"])
        age = now - f["day"]
        out = pd.DataFrame({
            "last_day": f.groupby("customer")["day"].max(),
            "orders": f.groupby("customer").size(),
            "median_gap": by_gap.median(),
            "mean_gap": by_gap.mean(),
            "spend_90d": f["amount"].where(age <= 90, 0.0).groupby(f["customer"]).sum(),
            "orders_90d": (age <= 90).groupby(f["customer"]).sum(),
            "spend_prev_90d": f["amount"].where((age > 90) & (age <= 180), 0.0).groupby(f["customer"]).sum(),
            "spend_prior_360d": f["amount"].where((age > 90) & (age <= 450), 0.0).groupby(f["customer"]).sum(),
        })
        return out.reindex(customers)


def build_truth(plan: DemoPlan, *, identity: Identity, traits: Traits, timeline: Timeline, orders: Orders,
                totals: np.ndarray, spend: Spend, lines: Lines, catalogue: Catalogue, bundles: list[BundleEvents],
                campaigns: CampaignResult, complaints: list[dict]) -> tuple[list[dict], dict]:
    rev = _RevenueOrders(orders, spend, totals)
    now = float(plan.days)
    month_start = float(plan.days - (plan.today.day - 1))
    rows: list[dict] = []
    checks: dict[str, object] = {}

    planted = np.array(sorted(q.customer for q in timeline.quiet), dtype=np.int64)
    quiet = rev.cadence(planted, now)
    since = now - quiet["last_day"]
    threshold = QUIET_FACTOR * quiet["median_gap"]
    holds = spend.vip[planted] & (since > threshold).to_numpy() & ((month_start - quiet["last_day"]) <= threshold).to_numpy()
    for r in quiet[holds].itertuples():
        rows.append({"kind": "quiet_vip", "subject_id": int(r.Index) + 1, "detail": {
            "usual_gap_days": float(r.median_gap), "usual_gap_mean_days": round(float(r.mean_gap), 3),
            "last_order_on": _iso_day(plan, r.last_day), "days_since_last": round(float(now - r.last_day), 3),
            "threshold_days": QUIET_FACTOR * float(r.median_gap),
            "crossed_on": _iso_day(plan, r.last_day + QUIET_FACTOR * r.median_gap), "definition": QUIET_DEFINITION}})
    others = np.setdiff1d(np.flatnonzero(spend.vip), planted)
    active = rev.cadence(others, now)
    ratio = (now - active["last_day"]) / active["median_gap"]
    checks["quiet_vip"] = {"planted": len(planted), "recorded": int(holds.sum()),
                           "max_ratio_other_vips": round(float(ratio.max()), 3) if len(ratio) else None}

    dropping = np.flatnonzero(traits.segment == SPEND_DROP)
    drop = rev.cadence(dropping, now)
    ok = ((drop["orders_90d"] >= 1) & (drop["spend_90d"] < 0.4 * drop["spend_prev_90d"])
          & (drop["spend_90d"] < 0.4 * drop["spend_prior_360d"] / 4)).to_numpy()
    for r in drop[ok].itertuples():
        rows.append({"kind": "spend_drop", "subject_id": int(r.Index) + 1, "detail": {
            "spend_90d": round(float(r.spend_90d), 2), "spend_prev_90d": round(float(r.spend_prev_90d), 2),
            "prior_90d_rate_over_360d": round(float(r.spend_prior_360d) / 4, 2), "orders_90d": int(r.orders_90d),
            "ratio_to_prev_90d": round(float(r.spend_90d / r.spend_prev_90d), 3)}})
    checks["spend_drop"] = {"planted": len(dropping), "recorded": int(ok.sum())}

    churning = np.flatnonzero(traits.segment == CHURNED)
    churn = rev.cadence(churning, now)
    since = now - churn["last_day"]
    ok = ((churn["orders"] >= 2) & (since >= 183) & (since <= 548)).to_numpy()
    churn = churn[ok].assign(last_on=_iso_days(plan, churn["last_day"][ok].to_numpy()))
    for r in churn.itertuples():
        rows.append({"kind": "churned", "subject_id": int(r.Index) + 1, "detail": {
            "last_order_on": r.last_on, "days_since_last": round(float(now - r.last_day), 3),
            "usual_gap_days": float(r.median_gap), "orders": int(r.orders)}})
    checks["churned"] = {"planted": len(churning), "recorded": int(ok.sum())}

    rows += _price_sensitive(orders, lines, traits)
    rows += _bundles(catalogue, bundles)
    rows += _ab_tests(campaigns)
    rows.append({"kind": "response_propensity", "subject_id": 0, "detail": {
        "model": "logit", "coefficients": COEFFICIENTS,
        "features": "vip tier, latent responsiveness (seen in past opens/clicks/conversions), "
                    "log1p(months since last order at send), past campaign conversions, "
                    "price sensitivity when the discount is >= 15%"}})
    rows += complaints
    for name, members in ambiguous_customers(identity).items():
        for c in members:
            rows.append({"kind": "ambiguous_name", "subject_id": c + 1,
                         "detail": {"name": name, "same_name_customer_ids": [m + 1 for m in members]}})
    return rows, checks


def _price_sensitive(orders: Orders, lines: Lines, traits: Traits) -> list[dict]:
    cust = orders.customer[lines.order]
    n = len(traits.segment)
    count = np.bincount(cust, minlength=n)
    promo = np.bincount(cust, weights=lines.promo, minlength=n)
    discount = np.bincount(cust, weights=lines.discount, minlength=n)
    out = []
    for c in np.flatnonzero(traits.price_sensitive & (count > 0)):
        out.append({"kind": "price_sensitive", "subject_id": int(c) + 1, "detail": {
            "promo_line_share": round(float(promo[c] / count[c]), 3),
            "mean_discount": round(float(discount[c] / count[c]), 3), "lines": int(count[c])}})
    return out


def _bundles(catalogue: Catalogue, bundles: list[BundleEvents]) -> list[dict]:
    out = []
    for b in bundles:
        anchor, accessories = catalogue.bundles[b.bundle]
        products = [anchor, *accessories]
        out.append({"kind": "bundle", "subject_id": anchor + 1, "detail": {
            "product_ids": [p + 1 for p in products], "skus": [str(catalogue.skus[p]) for p in products],
            "names": [str(catalogue.names[p]) for p in products], "window_days": 5,
            "planted_customers": len(b.anchor_events)}})
    return out


def _ab_tests(campaigns: CampaignResult) -> list[dict]:
    t = campaigns.touches
    out = []
    for c, spec in enumerate(campaigns.specs):
        if spec.truth is None:
            continue
        mine = t.campaign == c
        observed = {}
        for v in spec.rates:
            arm = mine & (t.variant == v)
            observed[v] = {"touches": int(arm.sum()), "conversions": int((arm & t.converted).sum())}
        out.append({"kind": spec.truth, "subject_id": c + 1, "detail": {
            "campaign": spec.key, "true_rates": spec.rates, "winner": spec.winner, "observed": observed}})
    return out
