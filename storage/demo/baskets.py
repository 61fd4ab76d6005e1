"""Order lines: how many, which products, quantities, prices, promotions and discounts.

Price-sensitive customers (planted) buy mostly on promotion and at deeper
discounts; festival days (11.11 and 6.18 for Chinese customers, Black Friday,
Cyber Monday and Boxing Day for English ones) bring promotions to everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo.calendar import festival_days
from storage.demo.campaigns import CampaignResult
from storage.demo.catalogue import CATEGORY_NAMES, CATEGORY_WEIGHTS, PREMIUM_WEIGHTS, Catalogue
from storage.demo.config import DemoPlan
from storage.demo.customers import Identity
from storage.demo.events import BUNDLE_FOLLOW_UP, CONVERSION, OrderEvents
from storage.demo.orders import Orders
from storage.demo.tables import money
from storage.demo.traits import SPEND_DROP, Traits

_CHEAP = np.array([CATEGORY_NAMES.index("Food & Drink"), CATEGORY_NAMES.index("Books")])
_DURABLE = np.array([CATEGORY_NAMES.index("Phones"), CATEGORY_NAMES.index("Laptops")])


@dataclass
class Lines:
    order: np.ndarray  # order position (id - 1)
    number: np.ndarray  # 1-based line number within the order
    product: np.ndarray  # product index
    quantity: np.ndarray
    unit_price: np.ndarray
    discount: np.ndarray
    promo: np.ndarray
    amount: np.ndarray

    def __len__(self) -> int:
        return len(self.order)


def _pick_category(rng, weights: np.ndarray, size: int) -> np.ndarray:
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def build_lines(plan: DemoPlan, orders: Orders, events: OrderEvents, identity: Identity, traits: Traits,
                catalogue: Catalogue, campaigns: CampaignResult) -> tuple[Lines, np.ndarray]:
    """Lines for every order, and each order's total (the sum of its line amounts)."""
    rng = plan.rng("baskets")
    n = len(orders)
    cust = orders.customer
    day = orders.day
    month = (np.datetime64(plan.start, "D") + day.astype("timedelta64[D]")).astype("datetime64[M]")
    month_no = (month.astype(np.int64) % 12) + 1
    season = np.where(month_no >= 11, 0.4, 0.0)
    dropping = (traits.segment[cust] == SPEND_DROP) & (day >= plan.days - 90)
    n_lines = 1 + rng.poisson(traits.basket[cust] + season)
    n_lines = np.minimum(n_lines, 12)
    n_lines[dropping] = 1
    # Forced products (bundles): follow-up orders hold exactly those; anchors get them as line 1.
    event_to_order = np.empty(n, dtype=np.int64)
    event_to_order[orders.event] = np.arange(n)
    forced_order = event_to_order[events.forced_event]
    forced_count = np.bincount(forced_order, minlength=n)
    follow = orders.kind == BUNDLE_FOLLOW_UP
    n_lines[follow] = forced_count[follow]
    n_lines = np.maximum(n_lines, forced_count)

    line_order = np.repeat(np.arange(n), n_lines)
    starts = np.cumsum(n_lines) - n_lines
    number = np.arange(len(line_order)) - starts[line_order] + 1
    m = len(line_order)
    lc = cust[line_order]
    vip = traits.is_vip[lc]

    category = np.empty(m, dtype=np.int64)
    fav_slot = rng.choice(3, size=m, p=[0.5, 0.3, 0.2])
    from_fav = rng.random(m) < 0.65
    category[:] = np.where(vip, _pick_category(rng, PREMIUM_WEIGHTS, m), _pick_category(rng, CATEGORY_WEIGHTS, m))
    category[from_fav] = traits.favourites[lc[from_fav], fav_slot[from_fav]]
    conv_line = orders.kind[line_order] == CONVERSION
    conv_campaign = orders.campaign[line_order][conv_line]
    for c, featured in enumerate(campaigns.featured):
        sel = np.flatnonzero(conv_line)[conv_campaign == c]
        category[sel] = featured[rng.integers(0, len(featured), size=len(sel))]
    # Nobody but a VIP buys phones and laptops every visit: most such picks become accessories.
    durable = np.isin(category, _DURABLE) & ~vip & (rng.random(m) < 0.75)
    category[durable] = CATEGORY_NAMES.index("Phone Accessories")
    drop_line = dropping[line_order]
    category[drop_line] = _CHEAP[rng.integers(0, 2, size=drop_line.sum())]
    product = catalogue.pick(category, rng.random(m))
    # Place forced products: the k-th forced product of an order becomes its k-th line.
    sort = np.argsort(forced_order, kind="stable")
    fo = forced_order[sort]
    rank = np.arange(len(fo)) - np.searchsorted(fo, fo)
    product[starts[fo] + rank] = events.forced_product[sort]

    quantity = np.where(rng.random(m) < 0.82, 1, rng.integers(2, 4, size=m))
    food = category == CATEGORY_NAMES.index("Food & Drink")
    quantity[food] += rng.integers(0, 3, size=food.sum())
    # Wholesale buyers stock up on consumables, not on phones and laptops.
    wholesale = traits.wholesale[lc] & (catalogue.list_price[product] < 150)
    quantity[wholesale] = rng.integers(3, 12, size=wholesale.sum())
    # List prices rise ~3% a year: older orders were a little cheaper.
    years_ago = (plan.days - day[line_order]) / 365.0
    unit_price = money(catalogue.list_price[product] * (1 - 0.03 * years_ago))

    zh = identity.language[lc] == "zh"
    festival = np.where(zh, festival_days(plan, "zh")[day[line_order]], festival_days(plan, "en")[day[line_order]])
    sensitive = traits.price_sensitive[lc]
    p_promo = np.where(sensitive, 0.8, 0.12)
    p_promo = np.where(festival, np.where(sensitive, 0.95, 0.7), p_promo)
    promo = rng.random(m) < p_promo
    base = np.where(sensitive, rng.uniform(0.2, 0.45, size=m), rng.uniform(0.05, 0.2, size=m))
    discount = np.where(promo, np.round((base + 0.05 * festival) * 20) / 20, 0.0)
    discount[conv_line] = campaigns.discount[conv_campaign]
    promo[conv_line] = True
    amount = money(quantity * unit_price * (1 - discount))
    totals = money(np.bincount(line_order, weights=amount, minlength=n))
    lines = Lines(line_order, number, product, quantity, unit_price, np.round(discount, 4), promo, amount)
    return lines, totals
