"""When each customer orders: per-customer renewal processes, generated backwards from the last order.

Generating backwards lets every plant fix the one date it is about (the last order
of a churned customer, the start of a VIP's silence) and fill the history behind
it with the customer's own rhythm. Ordinary customers live in seasonal
operational time (see ``storage.demo.calendar``); VIPs use whole-day gaps on the
plain calendar so their usual gap, and the quiet-VIP threshold built on it, is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from storage.demo.calendar import Clock, daily_weights
from storage.demo.config import DemoPlan
from storage.demo.customers import Identity
from storage.demo.traits import CHURNED, LEAD, QUIET_VIP, REGULAR, SPEND_DROP, VIP, Traits

QUIET_FACTOR = 2.5  # days-since-last > 2.5x the usual gap: the planted definition of "went quiet"
ACTIVE_FACTOR = 1.5  # every other VIP stays below 1.5x


@dataclass
class QuietPlant:
    customer: int
    usual_gap_median: float
    usual_gap_mean: float
    last_day: int
    crossed_day: int  # first day on which days-since-last exceeded 2.5x the median gap


@dataclass
class Timeline:
    customer: np.ndarray  # customer index per order
    day: np.ndarray  # day offset per order
    churn_day: dict[int, int] = field(default_factory=dict)  # churned customer -> day of their last order
    quiet: list[QuietPlant] = field(default_factory=list)


def renewal_backward(rng, anchor, stop, mean_gap, shape):
    """Points anchor, anchor - g1, anchor - g1 - g2, ... down to ``stop`` (gamma gaps); per-customer arrays."""
    span = np.maximum(anchor - stop, 0.0)
    expected = span / mean_gap
    budget = np.ceil(expected + 5 * np.sqrt(expected / shape + 1) + 3).astype(np.int64)
    owner = np.repeat(np.arange(len(anchor)), budget)
    gaps = rng.gamma(shape[owner], (mean_gap / shape)[owner])
    csum = np.cumsum(gaps)
    first = np.cumsum(budget) - budget
    before = np.concatenate([[0.0], csum])[first]
    walked = csum - np.repeat(before, budget)
    points = np.concatenate([anchor, anchor[owner] - walked])
    owners = np.concatenate([np.arange(len(anchor)), owner])
    keep = points >= np.concatenate([stop, stop[owner]])
    return owners[keep], points[keep]


def _seasonal(rng, clock: Clock, idx, anchor_day, stop_day, mean_gap, shape, *, exact_anchor=None):
    """Backward renewal in the clock's operational time; returns (customer index, day) per order."""
    anchor = clock.at_day(anchor_day) if exact_anchor is None else exact_anchor
    owner, points = renewal_backward(rng, anchor, clock.at_day(stop_day), mean_gap, shape)
    return idx[owner], clock.day_of(points)


def build_timeline(plan: DemoPlan, identity: Identity, traits: Traits) -> Timeline:
    rng = plan.rng("timelines")
    days = plan.days
    seg = traits.segment
    customers: list[np.ndarray] = []
    order_days: list[np.ndarray] = []
    timeline = Timeline(np.empty(0, np.int64), np.empty(0, np.int64))

    for language in ("zh", "en"):
        clock = Clock(daily_weights(plan, language))
        lang = identity.language == language
        stop_day = np.maximum(traits.acq_day, 0).astype(float)

        idx = np.flatnonzero(lang & (seg == REGULAR))
        g, k = traits.mean_gap[idx], traits.shape[idx]
        residual = rng.gamma(k, g / k) * rng.random(len(idx))
        anchor = clock.end - residual
        stop = clock.at_day(stop_day[idx])
        # Recent sign-ups with a slow rhythm still made the purchase that acquired them.
        late = anchor < stop
        anchor[late] = stop[late] + rng.random(late.sum()) * (clock.end - stop[late])
        c, d = _seasonal(rng, clock, idx, None, stop_day[idx], g, k, exact_anchor=anchor)
        customers.append(c)
        order_days.append(d)

        idx = np.flatnonzero(lang & (seg == CHURNED))
        g, k = traits.mean_gap[idx], traits.shape[idx]
        churn = days - rng.uniform(183, 548, size=len(idx))
        # A churned customer was a real repeat buyer first: at least ~4 gaps of history.
        traits.acq_day[idx] = np.minimum(traits.acq_day[idx], np.floor(churn - 4 * g - 30)).astype(np.int64)
        c, d = _seasonal(rng, clock, idx, churn, np.maximum(traits.acq_day[idx], 0), g, k)
        customers.append(c)
        order_days.append(d)

        idx = np.flatnonzero(lang & (seg == SPEND_DROP))
        g, k = traits.mean_gap[idx], traits.shape[idx]
        cut = float(days - 90)
        recent_anchor = days - rng.uniform(0.5, 15, size=len(idx))
        c, d = _seasonal(rng, clock, idx, recent_anchor, np.full(len(idx), cut), 2.5 * g, k)
        customers.append(c)
        order_days.append(d)
        prior_anchor = cut - rng.random(len(idx)) * g
        c, d = _seasonal(rng, clock, idx, prior_anchor, np.maximum(traits.acq_day[idx], 0), g, k)
        customers.append(c)
        order_days.append(d)

    c, d = _vips(plan, rng, traits, timeline)
    customers.append(c)
    order_days.append(d)
    timeline.customer = np.concatenate(customers).astype(np.int64)
    timeline.day = np.concatenate(order_days).astype(np.int64)
    last = _last_day(timeline, plan.customers)
    timeline.churn_day = {int(i): int(last[i]) for i in np.flatnonzero(seg == CHURNED)}
    assert not np.isin(timeline.customer, np.flatnonzero(seg == LEAD)).any()
    return timeline


def _last_day(timeline: Timeline, n: int) -> np.ndarray:
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, timeline.customer, timeline.day)
    return last


def _integer_history(rng, mean_gap, available):
    """Whole-day gap histories walking back from day 0; returns (owner, relative day <= 0)."""
    budget = np.ceil(available / mean_gap * 1.4 + 6).astype(np.int64)
    owner = np.repeat(np.arange(len(mean_gap)), budget)
    gaps = np.maximum(1, np.rint(rng.gamma(12.0, mean_gap[owner] / 12.0))).astype(np.int64)
    csum = np.cumsum(gaps)
    first = np.cumsum(budget) - budget
    before = np.concatenate([[0], csum])[first]
    rel = -(csum - np.repeat(before, budget))
    owners = np.concatenate([np.arange(len(mean_gap)), owner])
    rel = np.concatenate([np.zeros(len(mean_gap), dtype=np.int64), rel])
    keep = -rel <= np.concatenate([available, available[owner]])
    return owners[keep], rel[keep]


def _vips(plan: DemoPlan, rng, traits: Traits, timeline: Timeline):
    days = plan.days
    idx = np.flatnonzero((traits.segment == VIP) | (traits.segment == QUIET_VIP))
    # On the 1st no time of the month has passed, so nobody can have crossed the threshold "this month":
    # the would-be quiet VIPs then stay active.
    quiet = (traits.segment[idx] == QUIET_VIP) & (plan.today.day > 1)
    g = traits.mean_gap[idx]
    stop = np.maximum(traits.acq_day[idx], 0)
    # Active VIPs bought within 0.85x their gap; quiet ones need room for a 2.5x silence plus a month.
    since = np.where(quiet, np.ceil(QUIET_FACTOR * g * 1.3) + 31, 1 + np.floor(rng.random(len(idx)) * 0.85 * g))
    since = since.astype(np.int64)
    available = (days - since) - stop
    owner, rel = _integer_history(rng, g, available)
    # Quiet VIPs: place the last order so the silence crosses 2.5x the usual gap this month.
    month_start = days - (plan.today.day - 1)
    window_start = min(month_start, days - 1)
    for j in np.flatnonzero(quiet):
        mine = np.sort(np.unique(rel[owner == j]))
        gaps = np.diff(mine)
        median, mean = float(np.median(gaps)), float(gaps.mean())
        d = _quiet_silence(rng, median, mean, days - window_start)
        since[j] = d
        timeline.quiet.append(QuietPlant(
            customer=int(idx[j]), usual_gap_median=median, usual_gap_mean=mean, last_day=days - d,
            crossed_day=days - d + int(np.floor(QUIET_FACTOR * median)) + 1,
        ))
    return idx[owner], (days - since)[owner] + rel


def _quiet_silence(rng, median: float, mean: float, window: int) -> int:
    """Days since the last order: above 2.5x the gap now (with a day's margin for time of day),
    at most 2.5x the gap on the first of the month. Both the median and the mean gap qualify when
    the month is long enough; the median (the robust "usual gap") always does."""
    hi_gap, lo_gap = max(median, mean), min(median, mean)
    low = int(np.floor(QUIET_FACTOR * hi_gap + 1)) + 1
    high = int(np.floor(QUIET_FACTOR * lo_gap)) + window
    if low > high:
        low = int(np.floor(QUIET_FACTOR * median + 1)) + 1
        high = int(np.floor(QUIET_FACTOR * median)) + window
        low = min(low, high)
    return int(rng.integers(low, high + 1))
