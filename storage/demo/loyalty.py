"""Spend-derived fields: revenue per customer, the VIP set, loyalty tiers, the points ledger and coupons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from storage.demo.campaigns import CampaignResult
from storage.demo.config import SECONDS_PER_DAY, DemoPlan
from storage.demo.customers import Identity
from storage.demo.orders import Orders
from storage.demo.tables import Table, datetimes
from storage.demo.traits import LEAD, Traits
from storage.models.enums import NON_REVENUE_STATUSES

_CODE_ALPHABET = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))


@dataclass
class Spend:
    revenue: np.ndarray  # per customer, revenue orders only
    is_revenue: np.ndarray  # per order
    vip: np.ndarray  # per customer: top 5% of buyers by revenue (percentile rank > 0.95)
    tier: np.ndarray


def compute_spend(plan: DemoPlan, orders: Orders, status: np.ndarray, totals: np.ndarray) -> Spend:
    is_revenue = ~np.isin(status, list(NON_REVENUE_STATUSES))
    revenue = np.bincount(orders.customer[is_revenue], weights=totals[is_revenue], minlength=plan.customers)
    buyers = np.bincount(orders.customer[is_revenue], minlength=plan.customers) > 0
    # Same rule the analytics use (tools.rfm value tiers): average-rank percentile among buyers.
    pct = np.zeros(plan.customers)
    pct[buyers] = pd.Series(revenue[buyers]).rank(method="average", pct=True).to_numpy()
    tier = np.full(plan.customers, None, dtype=object)
    tier[buyers] = "bronze"
    tier[buyers & (pct > 0.5)] = "silver"
    tier[buyers & (pct > 0.8)] = "gold"
    vip = buyers & (pct > 0.95)
    tier[vip] = "platinum"
    return Spend(revenue, is_revenue, vip, tier)


def loyalty_ledger(plan: DemoPlan, orders: Orders, spend: Spend, status: np.ndarray,
                   totals: np.ndarray) -> tuple[Table, np.ndarray]:
    """Points: 1 per currency unit of each paid revenue order over the last year, one carried-forward
    entry per customer for older purchases, and occasional redemptions. Returns (ledger, balances)."""
    rng = plan.rng("loyalty")
    year_ago = plan.now_seconds - 365 * SECONDS_PER_DAY
    paid = np.flatnonzero(spend.is_revenue & (status != "pending"))
    points_all = np.floor(totals[paid]).astype(np.int64)
    recent = orders.second[paid] >= year_ago
    earn, points = paid[recent], points_all[recent]
    old = np.bincount(orders.customer[paid[~recent]], weights=points_all[~recent], minlength=plan.customers)
    carried = np.flatnonzero(old > 0)
    balance = (old + np.bincount(orders.customer[earn], weights=points, minlength=plan.customers)).astype(np.int64)
    redeemers = np.flatnonzero((balance >= 1000) & (rng.random(plan.customers) < 0.35))
    redeem_points = -np.maximum(np.minimum(balance[redeemers] // 2, rng.integers(1, 6, size=len(redeemers)) * 500),
                                500)
    redeem_at = plan.now_seconds - rng.integers(1, 300, size=len(redeemers)) * SECONDS_PER_DAY
    balance[redeemers] += redeem_points
    entries = pd.DataFrame({
        "customer": np.concatenate([carried, orders.customer[earn], redeemers]),
        "points": np.concatenate([old[carried].astype(np.int64), points, redeem_points]),
        "reason": np.concatenate([np.full(len(carried), "Points carried forward", dtype=object),
                                  np.full(len(earn), "Purchase", dtype=object),
                                  np.full(len(redeemers), "Redeemed for voucher", dtype=object)]),
        "order": np.concatenate([np.zeros(len(carried), dtype=np.int64), earn + 1,
                                 np.zeros(len(redeemers), dtype=np.int64)]),
        "at": np.concatenate([np.full(len(carried), year_ago), orders.second[earn] + 3600, redeem_at]),
    }).sort_values(["at", "customer"], kind="stable")
    n = len(entries)
    order_id = entries["order"].to_numpy()
    table = Table("loyalty_ledger", {
        "id": np.arange(1, n + 1),
        "customer_id": entries["customer"].to_numpy() + 1,
        "points": entries["points"].to_numpy(),
        "reason": entries["reason"].to_numpy(),
        "order_id": np.where(order_id > 0, order_id, None),
        "at": datetimes(plan, np.minimum(entries["at"].to_numpy(), plan.now_seconds - 60)),
    })
    return table, balance


def coupons(plan: DemoPlan, orders: Orders, campaigns: CampaignResult, identity: Identity,
            traits: Traits) -> Table:
    """Win-back and festival coupons from campaigns (redeemed by conversions) and birthday coupons."""
    rng = plan.rng("coupons")
    touches = campaigns.touches
    coupon_campaigns = [i for i, s in enumerate(campaigns.specs) if s.discount >= 0.2]
    sel = np.flatnonzero(np.isin(touches.campaign, coupon_campaigns)
                         & (touches.converted | (rng.random(len(touches.campaign)) < 0.3)))
    event_to_order = np.empty(len(orders), dtype=np.int64)
    event_to_order[orders.event] = np.arange(len(orders))
    conv_order = np.where(touches.event[sel] >= 0, event_to_order[np.maximum(touches.event[sel], 0)], -1)
    issued = touches.sent[sel]
    spec_days = np.array([s.days for s in campaigns.specs])[touches.campaign[sel]]
    expires = issued + (spec_days + 7) * SECONDS_PER_DAY

    # Birthday coupons for birthdays in the last 60 days (buyers only).
    bday_day = _last_birthday(plan, identity.birth_day)
    recent = (bday_day > plan.days - 60) & (traits.segment != LEAD)
    bcust = np.flatnonzero(recent)
    b_issued = bday_day[bcust] * SECONDS_PER_DAY + 8 * 3600
    b_expires = b_issued + 30 * SECONDS_PER_DAY
    b_order = _first_order_between(orders, bcust, b_issued, b_expires)

    cust = np.concatenate([touches.customer[sel], bcust])
    order = np.concatenate([conv_order, b_order])
    n = len(cust)
    redeemed_at = np.where(order >= 0, orders.second[np.maximum(order, 0)], -1)
    prefix = np.concatenate([np.array([campaigns.specs[c].key.replace("CMP-", "C") for c in touches.campaign[sel]],
                                      dtype=object), np.full(len(bcust), "BDAY", dtype=object)])
    letters = _CODE_ALPHABET[rng.integers(0, len(_CODE_ALPHABET), size=(n, 4))]
    ids = np.arange(1, n + 1)
    codes = [f"{prefix[i]}-{''.join(letters[i])}{ids[i]:06d}" for i in range(n)]
    campaign_id = np.concatenate([touches.campaign[sel] + 1, np.zeros(len(bcust), dtype=np.int64)])
    return Table("coupon", {
        "id": ids,
        "code": codes,
        "customer_id": cust + 1,
        "campaign_id": np.where(campaign_id > 0, campaign_id, None),
        "discount": np.concatenate([campaigns.discount[touches.campaign[sel]], np.full(len(bcust), 0.1)]),
        "issued_at": datetimes(plan, np.concatenate([issued, b_issued])),
        "expires_at": datetimes(plan, np.concatenate([expires, b_expires])),
        "redeemed_at": datetimes(plan, redeemed_at, missing=order < 0),
        "order_id": np.where(order >= 0, order + 1, None),
    })


def _last_birthday(plan: DemoPlan, birth_day: np.ndarray) -> np.ndarray:
    """Day offset of each customer's most recent birthday before today."""
    birth = np.datetime64(plan.start, "D") + birth_day.astype("timedelta64[D]")
    month0 = birth.astype("datetime64[M]").astype(np.int64) % 12
    day0 = (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    today = np.datetime64(plan.today, "D")
    years = today.astype("datetime64[Y]").astype(np.int64)  # years since 1970
    candidate = _ymd(years, month0, day0)
    candidate = np.where(candidate >= today, _ymd(years - 1, month0, day0), candidate)
    return (candidate - np.datetime64(plan.start, "D")).astype(np.int64)


def _ymd(years_since_1970, month0: np.ndarray, day0: np.ndarray) -> np.ndarray:
    months = np.asarray(years_since_1970, dtype=np.int64) * 12 + month0
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    last = (months + 1).astype("datetime64[M]").astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.minimum(first + day0.astype("timedelta64[D]"), last)  # 29 February falls back to the 28th


def _first_order_between(orders: Orders, cust: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    shift = np.int64(1) << np.int64(32)
    keys = orders.customer.astype(np.int64) * shift + orders.second
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    j = np.searchsorted(sorted_keys, cust.astype(np.int64) * shift + start, side="left")
    j = np.minimum(j, len(order) - 1)
    hit = order[j]
    ok = (orders.customer[hit] == cust) & (orders.second[hit] <= end) & (orders.second[hit] >= start)
    return np.where(ok, hit, -1)
