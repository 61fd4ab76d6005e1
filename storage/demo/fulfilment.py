"""Order lifecycle: status, paid/shipped/delivered/returned/cancelled timestamps, carrier and tracking.

Also plants the orders that complaints will be about: late deliveries (delivered
9-18 days after shipping instead of 1-5) and quality problems (often returned).
VIP orders are never cancelled or returned, and conversion orders are never
cancelled, so the planted cadence and attribution stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo.config import SECONDS_PER_DAY, DemoPlan
from storage.demo.customers import Identity
from storage.demo.events import CONVERSION
from storage.demo.orders import Orders
from storage.demo.tables import Table, datetimes, prefixed_digits
from storage.demo.traits import Traits

HOUR = 3600
_CARRIERS = {
    "zh": [("SF Express", "SF", 12), ("JD Logistics", "JDV", 12), ("ZTO Express", "7", 13), ("YTO Express", "YT", 13)],
    "us": [("UPS", "1Z", 16), ("FedEx", "", 12), ("USPS", "9400", 18), ("DHL", "", 10)],
    "uk": [("Royal Mail", "RM", 9), ("DPD", "15", 12), ("DHL", "", 10)],
}


@dataclass
class Fulfilment:
    status: np.ndarray
    late: np.ndarray  # order positions planted as late deliveries
    quality: np.ndarray  # order positions planted with a quality complaint
    paid: np.ndarray  # seconds; the is_* masks say which apply
    shipped: np.ndarray
    delivered: np.ndarray
    returned_at: np.ndarray
    cancelled_at: np.ndarray
    is_paid: np.ndarray
    carrier: np.ndarray
    tracking: np.ndarray
    protected: np.ndarray  # never cancelled or returned (VIP and conversion orders)

    def return_orders(self, positions: np.ndarray, now: int) -> None:
        """Mark delivered orders as returned a few days after delivery."""
        self.status[positions] = "returned"
        self.returned_at[positions] = np.minimum(self.delivered[positions] + 5 * SECONDS_PER_DAY, now - 60)


def fulfil(plan: DemoPlan, orders: Orders, identity: Identity, traits: Traits) -> Fulfilment:
    rng = plan.rng("fulfilment")
    n = len(orders)
    now = plan.now_seconds
    t = orders.second
    cust = orders.customer
    store = orders.channel == "store"
    protected = traits.is_vip[cust] | (orders.kind == CONVERSION)

    paid = t + np.where(store, 60, rng.integers(30, 1200, size=n))
    shipped = paid + np.where(store, 0, rng.integers(4 * HOUR, 48 * HOUR, size=n))
    zh = identity.language[cust] == "zh"
    transit = np.where(zh, rng.uniform(0.6, 3.0, size=n), rng.uniform(1.0, 5.0, size=n))
    delivered = shipped + np.where(store, 0, (transit * SECONDS_PER_DAY).astype(np.int64))

    # Planted late deliveries: ~2% of customers, one shipped order each, at least three weeks old.
    candidates = np.flatnonzero(~store & (t < now - 21 * SECONDS_PER_DAY) & (rng.random(n) < 0.5))
    late = _one_per_customer(rng, candidates, cust, share=0.02 * plan.customers)
    delivered[late] = shipped[late] + (rng.uniform(9, 18, size=len(late)) * SECONDS_PER_DAY).astype(np.int64)
    quality_pool = np.setdiff1d(np.flatnonzero(t < now - 14 * SECONDS_PER_DAY), late)
    quality = _one_per_customer(rng, quality_pool, cust, share=0.012 * plan.customers)

    status = np.full(n, "delivered", dtype=object)
    status[delivered > now] = "shipped"
    status[shipped > now] = "paid"
    pending = (paid > now) | ((t > now - SECONDS_PER_DAY) & ~store & (rng.random(n) < 0.3))
    status[pending] = "pending"
    # VIP and campaign orders (~40%) are protected, so the others carry the whole ~2% / ~3% rates.
    cancel = ~protected & (rng.random(n) < 0.033) & ~np.isin(np.arange(n), np.concatenate([late, quality]))
    status[cancel] = "cancelled"
    returned = ~protected & ~cancel & (status == "delivered") & (rng.random(n) < 0.05)
    returned[quality[~protected[quality] & (rng.random(len(quality)) < 0.4)]] = True
    returned &= delivered + 2 * SECONDS_PER_DAY < now
    status[returned] = "returned"
    returned_at = delivered + (rng.uniform(2, 20, size=n) * SECONDS_PER_DAY).astype(np.int64)
    returned_at = np.minimum(returned_at, now - 60)
    cancelled_at = t + rng.integers(600, 20 * HOUR, size=n)

    is_paid = ~np.isin(status, ["pending"]) & ~(cancel & (rng.random(n) < 0.5))
    is_shipped = np.isin(status, ["shipped", "delivered", "returned"])
    carrier, tracking = _carriers(rng, identity, cust, is_shipped & ~store)
    return Fulfilment(status, late, quality, paid, shipped, delivered, returned_at, cancelled_at, is_paid,
                      carrier, tracking, protected)


def order_table(plan: DemoPlan, orders: Orders, identity: Identity, f: Fulfilment, totals: np.ndarray,
                *, currency: str = "USD") -> Table:
    n = len(orders)
    cust = orders.customer
    store = orders.channel == "store"
    status = f.status
    is_shipped = np.isin(status, ["shipped", "delivered", "returned"])
    is_delivered = np.isin(status, ["delivered", "returned"])
    return Table("orders", {
        "id": orders.ids,
        "external_id": orders.external_id,
        "customer_id": cust + 1,
        "ordered_at": datetimes(plan, orders.second),
        "channel": orders.channel,
        "store": _store_names(identity.city, cust, store),
        "status": status,
        "paid_at": datetimes(plan, f.paid, missing=~f.is_paid),
        "shipped_at": datetimes(plan, f.shipped, missing=~is_shipped),
        "delivered_at": datetimes(plan, f.delivered, missing=~is_delivered),
        "returned_at": datetimes(plan, f.returned_at, missing=status != "returned"),
        "cancelled_at": datetimes(plan, f.cancelled_at, missing=status != "cancelled"),
        "carrier": f.carrier,
        "tracking_number": f.tracking,
        "campaign_id": np.where(orders.campaign >= 0, orders.campaign + 1, None),
        "total_amount": totals,
        "currency": np.full(n, currency, dtype=object),
    })


def _store_names(city: np.ndarray, cust: np.ndarray, store: np.ndarray) -> np.ndarray:
    names, inverse = np.unique(city.astype(str), return_inverse=True)
    labels = np.array([f"{c} Store" for c in names] + [None], dtype=object)
    return labels[np.where(store, inverse[cust], len(names))]


def _one_per_customer(rng, candidates: np.ndarray, cust: np.ndarray, *, share: float) -> np.ndarray:
    if len(candidates) == 0:
        return candidates
    shuffled = rng.permutation(candidates)
    _, first = np.unique(cust[shuffled], return_index=True)
    unique = shuffled[np.sort(first)]
    return np.sort(unique[: max(1, round(share))])


def _carriers(rng, identity: Identity, cust: np.ndarray, mask: np.ndarray):
    n = len(cust)
    carrier = np.full(n, None, dtype=object)
    tracking = np.full(n, None, dtype=object)
    market = np.where(identity.language[cust] == "zh", "zh",
                      np.where(identity.country[cust] == "United Kingdom", "uk", "us"))
    for key, options in _CARRIERS.items():
        idx = np.flatnonzero(mask & (market == key))
        pick = rng.integers(0, len(options), size=len(idx))
        for j, (name, prefix, digits) in enumerate(options):
            sel = idx[pick == j]
            if len(sel) == 0:
                continue
            number = rng.integers(0, 10**min(digits, 18), size=len(sel))
            carrier[sel] = name
            tracking[sel] = prefixed_digits(prefix, number, digits, "GB" if name == "Royal Mail" else "")
    return carrier, tracking
