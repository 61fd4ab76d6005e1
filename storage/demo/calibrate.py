"""Keep the top 5% by revenue made of designed VIPs only.

The quiet-VIP plant promises that every VIP who is not planted is clearly
active. A few ordinary heavy buyers can randomly out-spend the slowest designed
VIPs; they would join the analytic's top 5% with an irregular cadence. Returning
some of their biggest orders (a normal retail event) moves them back below the cut.
"""

from __future__ import annotations

import numpy as np

from storage.demo.config import SECONDS_PER_DAY, DemoPlan
from storage.demo.fulfilment import Fulfilment
from storage.demo.loyalty import Spend, compute_spend
from storage.demo.orders import Orders
from storage.demo.traits import Traits


def keep_vips_designed(plan: DemoPlan, orders: Orders, fulfilment: Fulfilment, totals: np.ndarray,
                       traits: Traits, *, rounds: int = 10) -> tuple[Spend, int]:
    """Return orders of non-designed customers in the top 5% until none is left; returns (spend, orders returned)."""
    returned = 0
    by_customer = np.argsort(orders.customer, kind="stable")
    bounds = np.searchsorted(orders.customer[by_customer], np.arange(plan.customers + 1))
    for _ in range(rounds):
        spend = compute_spend(plan, orders, fulfilment.status, totals)
        intruders = np.flatnonzero(spend.vip & ~traits.is_vip)
        if len(intruders) == 0:
            return spend, returned
        cut = spend.revenue[spend.vip].min()
        for c in intruders:
            mine = by_customer[bounds[c]:bounds[c + 1]]
            ok = mine[(fulfilment.status[mine] == "delivered") & ~fulfilment.protected[mine]
                      & (fulfilment.delivered[mine] + 7 * SECONDS_PER_DAY < plan.now_seconds)]
            ok = ok[np.argsort(-totals[ok], kind="stable")]
            excess = spend.revenue[c] - 0.9 * cut
            take = ok[: int(np.searchsorted(np.cumsum(totals[ok]), excess)) + 1]
            fulfilment.return_orders(take, plan.now_seconds)
            returned += len(take)
    return compute_spend(plan, orders, fulfilment.status, totals), returned
