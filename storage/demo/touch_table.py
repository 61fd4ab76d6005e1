"""Row tables for order lines and campaign touches (kept apart from the logic that generates them)."""

from __future__ import annotations

import numpy as np

from storage.demo.baskets import Lines
from storage.demo.campaigns import CampaignResult
from storage.demo.config import DemoPlan
from storage.demo.orders import Orders
from storage.demo.tables import Table, datetimes


def line_table(orders: Orders, lines: Lines) -> Table:
    n = len(lines)
    return Table("order_line", {
        "id": np.arange(1, n + 1),
        # Lines are addressed through their order (SO-…); 2M unique line ids would only cost time.
        "external_id": np.full(n, None, dtype=object),
        "order_id": lines.order + 1,
        "product_id": lines.product + 1,
        "quantity": lines.quantity,
        "unit_price": lines.unit_price,
        "discount": lines.discount,
        "promo": lines.promo,
        "amount": lines.amount,
    })


def touch_table(plan: DemoPlan, campaigns: CampaignResult, orders: Orders, totals: np.ndarray) -> Table:
    t = campaigns.touches
    event_to_order = np.empty(len(orders), dtype=np.int64)
    event_to_order[orders.event] = np.arange(len(orders))
    order = np.where(t.event >= 0, event_to_order[np.maximum(t.event, 0)], -1)
    revenue = np.where(order >= 0, totals[np.maximum(order, 0)], 0.0)
    sort = np.lexsort((t.customer, t.sent, t.campaign))
    n = len(sort)
    return Table("campaign_touch", {
        "id": np.arange(1, n + 1),
        "campaign_id": t.campaign[sort] + 1,
        "customer_id": t.customer[sort] + 1,
        "variant": t.variant[sort].astype(object),
        "sent_at": datetimes(plan, t.sent[sort]),
        "opened": t.opened[sort],
        "clicked": t.clicked[sort],
        "converted": t.converted[sort],
        "converted_at": datetimes(plan, t.converted_at[sort], missing=~t.converted[sort]),
        "attributed_revenue": revenue[sort],
    })
