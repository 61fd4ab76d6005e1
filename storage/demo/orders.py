"""Turn order events into orders: channel, time of day, chronological ids and external ids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo.campaigns import CampaignResult
from storage.demo.config import SECONDS_PER_DAY, DemoPlan
from storage.demo.events import CONVERSION, OrderEvents
from storage.demo.tables import external_ids
from storage.demo.traits import ORDER_CHANNELS, Traits

_CAMPAIGN_ORDER_CHANNEL = {"email": "online", "sms": "app", "app": "app", "social": "social", "store": "store"}


@dataclass
class Orders:
    """Orders in id order (id = position + 1), with a map back to their events."""

    event: np.ndarray  # event index per order
    customer: np.ndarray
    second: np.ndarray
    channel: np.ndarray
    campaign: np.ndarray  # campaign index, -1 if none
    kind: np.ndarray
    external_id: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def ids(self) -> np.ndarray:
        return np.arange(1, len(self) + 1)

    @property
    def day(self) -> np.ndarray:
        return self.second // SECONDS_PER_DAY


def assemble_orders(plan: DemoPlan, events: OrderEvents, traits: Traits, campaigns: CampaignResult) -> Orders:
    rng = plan.rng("orders")
    n = len(events)
    cust = events.customer
    # Each order's channel follows the customer's own channel mix; campaign orders follow the campaign.
    cum = np.cumsum(traits.channel_p[cust], axis=1)
    channel_idx = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), 3)
    channel = ORDER_CHANNELS[channel_idx].astype(object)
    conv = events.kind == CONVERSION
    channel[conv] = [_CAMPAIGN_ORDER_CHANNEL[campaigns.specs[c].channel] for c in events.campaign[conv]]
    hours = np.mod(traits.hour[cust] + rng.normal(0, 1.5, size=n), 24)
    store = channel == "store"
    hours[store] = rng.uniform(10, 21, size=store.sum())
    tod = np.clip((hours * 3600).astype(np.int64), 0, SECONDS_PER_DAY - 1)
    second = np.where(events.second >= 0, events.second, events.day * SECONDS_PER_DAY + tod)
    # Order ids rise with time, like a real order system; ties keep event order (stable sort).
    order = np.argsort(second, kind="stable")
    ids = np.arange(1, n + 1)
    return Orders(
        event=order, customer=cust[order], second=second[order], channel=channel[order],
        campaign=events.campaign[order], kind=events.kind[order], external_id=external_ids("SO-", ids, 7),
    )
