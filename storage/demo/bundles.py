"""Planted bundles: a phone (or laptop, or espresso machine) and, days later, its accessories.

A share of ordinary customers buy a bundle anchor in one order and come back 1-5
days later for the matching accessories, so market-basket and "bought together"
analytics have a true answer. VIPs are left out: an extra order would disturb
their exact cadence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo.catalogue import Catalogue
from storage.demo.config import DemoPlan
from storage.demo.customers import Identity
from storage.demo.events import BUNDLE_FOLLOW_UP, OrderEvents
from storage.demo.traits import CHURNED, REGULAR, Traits


@dataclass
class BundleEvents:
    bundle: int
    anchor_events: np.ndarray
    follow_up_events: np.ndarray


def plant_bundles(plan: DemoPlan, events: OrderEvents, identity: Identity, traits: Traits,
                  catalogue: Catalogue) -> list[BundleEvents]:
    rng = plan.rng("bundles")
    n_events = len(events)
    cust = events.customer
    # Anchor orders: ordinary buyers, old enough that the follow-up never becomes a customer's last order.
    last = events.last_day_by_customer(plan.customers)
    eligible = np.isin(traits.segment[cust], [REGULAR, CHURNED]) & (events.day < last[cust] - 6)
    eligible &= events.day < plan.days - 120
    candidates = np.flatnonzero(eligible)
    # At most one bundle per customer: keep the first eligible order of each sampled customer.
    rng.shuffle(candidates)
    _, first = np.unique(cust[candidates], return_index=True)
    candidates = np.sort(candidates[first])
    share = 0.08
    chosen = candidates[rng.random(len(candidates)) < share]
    zh = identity.language[cust[chosen]] == "zh"
    # Xiaomi phones sell more to Chinese customers, iPhones to English-speaking ones.
    probs = np.where(zh[:, None], [[0.45, 0.2, 0.15, 0.2]], [[0.15, 0.45, 0.2, 0.2]])
    which = (rng.random(len(chosen))[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    out: list[BundleEvents] = []
    for b, (anchor, accessories) in enumerate(catalogue.bundles):
        mine = chosen[which == b]
        if len(mine) == 0:
            out.append(BundleEvents(b, mine, mine))
            continue
        events.force(mine, np.full(len(mine), anchor))
        follow_day = events.day[mine] + rng.integers(1, 6, size=len(mine))
        take = rng.random((len(mine), len(accessories))) < 0.85
        take[~take.any(axis=1), 0] = True
        rows, cols = np.nonzero(take)
        new = events.extend(
            customer=cust[mine], day=follow_day, kind=BUNDLE_FOLLOW_UP,
            forced_event=rows, forced_product=np.array(accessories)[cols],
        )
        out.append(BundleEvents(b, mine, new))
    assert len(events) >= n_events
    return out
