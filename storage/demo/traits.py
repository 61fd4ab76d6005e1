"""How each customer behaves: life pattern (segment), cadence, basket, channels, tastes and CRM fields.

Segments are planted on purpose and are what ``demo_truth`` later records:

    REGULAR     buys on a personal rhythm (weekly .. yearly) up to today
    VIP         designed top spenders: frequent, regular (integer-day gaps), big baskets
    QUIET_VIP   VIPs whose silence passed 2.5x their usual gap during the current month
    CHURNED     regular buyers who stopped 6-18 months ago
    SPEND_DROP  still buying, but the last 90 days are a fraction of their prior spend
    LEAD        never bought (recent sign-ups)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo.catalogue import CATEGORY_WEIGHTS, PREMIUM_WEIGHTS
from storage.demo.config import DemoPlan
from storage.demo.customers import Identity
from storage.demo.staff import Staff

REGULAR, VIP, QUIET_VIP, CHURNED, SPEND_DROP, LEAD = range(6)
ORDER_CHANNELS = np.array(["online", "store", "app", "social"])
_CHANNEL_BASE = {"zh": np.array([0.35, 0.15, 0.35, 0.15]), "en": np.array([0.5, 0.3, 0.15, 0.05])}
_HOURS = np.array([9.0, 12.5, 19.5, 22.5])


@dataclass
class Traits:
    segment: np.ndarray
    mean_gap: np.ndarray  # days (operational days for seasonal customers)
    shape: np.ndarray  # gamma shape of inter-purchase gaps: higher = more regular
    acq_day: np.ndarray  # planned acquisition day offset (negative = before the window)
    basket: np.ndarray  # mean extra lines per order (Poisson)
    price_sensitive: np.ndarray
    wholesale: np.ndarray
    favourites: np.ndarray  # (n, 3) category indexes
    channel_p: np.ndarray  # (n, 4) order channel probabilities
    hour: np.ndarray  # preferred hour of day
    responsiveness: np.ndarray  # latent campaign responsiveness
    consent: np.ndarray
    owner_id: np.ndarray  # staff id, 0 = public pool
    preferred_channel: np.ndarray
    acquisition_source: np.ndarray
    follower_count: np.ndarray
    credit_rating: np.ndarray
    overdue: np.ndarray

    @property
    def is_vip(self) -> np.ndarray:
        return (self.segment == VIP) | (self.segment == QUIET_VIP)


def _segments(n: int, rng: np.random.Generator) -> np.ndarray:
    order = rng.permutation(n)
    segment = np.full(n, REGULAR)
    # Slightly more designed VIPs than the top 5%, so the top 5% by spend is all designed VIPs.
    n_vip = max(6, round(0.055 * n))
    counts = [(VIP, n_vip), (CHURNED, round(0.10 * n)),
              (SPEND_DROP, round(0.04 * n)), (LEAD, round(0.03 * n))]
    start = 0
    for seg, count in counts:
        segment[order[start:start + count]] = seg
        start += count
    return segment


def _top_k(rng: np.random.Generator, weights: np.ndarray, n: int, k: int) -> np.ndarray:
    # Gumbel top-k: k distinct draws per row, weighted, without a Python loop.
    keys = np.log(weights)[None, :] + rng.gumbel(size=(n, len(weights)))
    return np.argsort(-keys, axis=1)[:, :k]


def build_traits(plan: DemoPlan, identity: Identity, staff: Staff) -> Traits:
    rng = plan.rng("traits")
    n = plan.customers
    days = plan.days
    segment = _segments(n, rng)
    vip = (segment == VIP) | (segment == QUIET_VIP)
    zh = identity.language == "zh"

    mean_gap = np.clip(rng.lognormal(np.log(170), 0.8, size=n), 30, 365)
    shape = rng.uniform(1.3, 3.5, size=n)
    mean_gap[vip] = rng.uniform(7, 18, size=vip.sum())
    shape[vip] = 12.0
    churned = segment == CHURNED
    mean_gap[churned] = np.clip(rng.lognormal(np.log(40), 0.4, size=churned.sum()), 20, 90)
    shape[churned] = rng.uniform(2.0, 4.0, size=churned.sum())
    drop = segment == SPEND_DROP
    mean_gap[drop] = rng.uniform(18, 35, size=drop.sum())
    shape[drop] = rng.uniform(3.0, 6.0, size=drop.sum())

    # A third of the base predates the window; newer sign-ups grow towards today.
    acq_day = np.where(rng.random(n) < 0.35, -rng.uniform(1, 1500, size=n), days * rng.random(n) ** 0.7)
    acq_day[vip] = -rng.uniform(1, 1200, size=vip.sum())
    acq_day[drop] = np.minimum(acq_day[drop], days - 400)
    lead = segment == LEAD
    acq_day[lead] = days - rng.uniform(1, 120, size=lead.sum())
    acq_day = np.floor(acq_day).astype(np.int64)

    basket = np.minimum(rng.gamma(2.0, 0.55, size=n), 2.5)
    basket[drop] = np.minimum(rng.gamma(2.0, 0.4, size=drop.sum()), 1.5)
    basket[vip] = rng.uniform(0.6, 1.4, size=vip.sum())
    # Quiet VIPs come from the biggest spenders (basket per day), which keeps them in the top 5%
    # by revenue despite their silence.
    vips = np.flatnonzero(vip)
    intensity = basket[vips] / mean_gap[vips]
    big = vips[intensity >= np.quantile(intensity, 0.6)]
    n_quiet = max(2, round(0.07 * len(vips)))
    segment[rng.choice(big, size=min(n_quiet, len(big)), replace=False)] = QUIET_VIP
    price_sensitive = (rng.random(n) < 0.12) & ~vip & ~lead
    wholesale = (rng.random(n) < 0.02) & (segment == REGULAR)
    # Wholesale buyers order bigger quantities but rarely, which keeps them below the VIPs' spend.
    mean_gap[wholesale] = np.maximum(mean_gap[wholesale], 60)

    favourites = _top_k(rng, CATEGORY_WEIGHTS, n, 3)
    favourites[vip] = _top_k(rng, PREMIUM_WEIGHTS, int(vip.sum()), 3)

    base = np.where(zh[:, None], _CHANNEL_BASE["zh"][None, :], _CHANNEL_BASE["en"][None, :])
    favourite_channel = (rng.random(n)[:, None] > np.cumsum(base, axis=1)).sum(axis=1)
    channel_p = 0.25 * base
    channel_p[np.arange(n), favourite_channel] += 0.75
    hour = _HOURS[rng.choice(4, size=n, p=[0.2, 0.25, 0.4, 0.15])]

    consent = rng.random(n) < np.where(vip, 0.95, 0.88)
    owner_id = _owners(rng, identity, staff, segment)
    preferred_channel = np.where(
        zh,
        np.array(["wechat", "phone", "sms", "app", "email"])[rng.choice(5, size=n, p=[.45, .2, .15, .1, .1])],
        np.array(["email", "phone", "sms", "app", "email"])[rng.choice(5, size=n, p=[.3, .2, .2, .1, .2])],
    ).astype(object)
    acquisition_source = np.where(
        zh,
        np.array(["organic", "referral", "tmall", "jd", "wechat_mini_program", "store_walk_in", "douyin_ads"])[
            rng.integers(0, 7, size=n)],
        np.array(["organic", "referral", "paid_search", "social_ads", "store_walk_in", "amazon", "trade_show"])[
            rng.integers(0, 7, size=n)],
    ).astype(object)
    followers = np.floor(rng.lognormal(4.5, 1.5, size=n)).astype(np.int64)
    influencer = rng.random(n) < 0.01
    followers[influencer] = np.floor(rng.lognormal(np.log(200_000), 1.0, size=influencer.sum())).astype(np.int64) + 50_000
    credit = np.array(["A", "B", "C", "D"], dtype=object)[rng.choice(4, size=n, p=[0.5, 0.3, 0.15, 0.05])]
    overdue_p = np.where(np.isin(credit, ["C", "D"]), 0.12, 0.005) + np.where(wholesale, 0.2, 0)
    overdue = np.where(rng.random(n) < overdue_p, np.round(rng.lognormal(np.log(800), 0.9, size=n), 2), 0.0)
    return Traits(segment, mean_gap, shape, acq_day, basket, price_sensitive, wholesale, favourites, channel_p,
                  hour, rng.normal(size=n), consent, owner_id, preferred_channel, acquisition_source, followers,
                  credit, overdue)


def _owners(rng: np.random.Generator, identity: Identity, staff: Staff, segment: np.ndarray) -> np.ndarray:
    """A rep of the customer's region; ~15% sit in the public pool (0), leads more often, VIPs never."""
    n = len(segment)
    owner = np.zeros(n, dtype=np.int64)
    for region in np.unique(staff.rep_regions):
        idx = np.flatnonzero(identity.region == region)
        reps = staff.rep_ids[staff.rep_regions == region]
        owner[idx] = reps[rng.integers(0, len(reps), size=len(idx))]
    pool_p = np.where(segment == LEAD, 0.4, 0.15)
    pool_p[(segment == VIP) | (segment == QUIET_VIP)] = 0.0
    owner[rng.random(n) < pool_p] = 0
    return owner
