"""Campaigns, their touches, and the orders they convert.

Who converts depends on customer features a targeting model can learn: VIP tier,
latent responsiveness (visible through past opens, clicks and conversions),
recency at send time, and price sensitivity for discount-led campaigns. How many
convert per variant is fixed by the campaign's true rate, so planted A/B winners
really win and planted nulls really tie at every data size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo.campaign_specs import CampaignSpec, campaign_specs
from storage.demo.catalogue import CATEGORY_NAMES
from storage.demo.config import SECONDS_PER_DAY, DemoPlan
from storage.demo.customers import Identity
from storage.demo.events import CONVERSION, OrderEvents
from storage.demo.tables import Table, dates, json_column
from storage.demo.timelines import Timeline
from storage.demo.traits import CHURNED, LEAD, QUIET_VIP, SPEND_DROP, Traits

_OPEN_RATE = {"email": 0.28, "sms": 0.85, "app": 0.4, "social": 0.3}
# Propensity model coefficients (logit); recorded in demo_truth so scorers can compare.
COEFFICIENTS = {"intercept": -3.0, "vip": 0.9, "responsiveness": 0.6, "log_recency_months": -0.5,
                "past_conversions": 0.4, "price_sensitive_on_deep_discount": 0.5}


@dataclass
class Touches:
    campaign: np.ndarray  # campaign index
    customer: np.ndarray
    variant: np.ndarray
    sent: np.ndarray  # seconds
    opened: np.ndarray
    clicked: np.ndarray
    converted: np.ndarray
    converted_at: np.ndarray  # seconds, -1 when not converted
    event: np.ndarray  # conversion order event index, -1 when not converted


@dataclass
class CampaignResult:
    specs: list[CampaignSpec]
    table: Table
    touches: Touches
    featured: list[np.ndarray]  # category indexes per campaign
    discount: np.ndarray


def _last_order_before(events: OrderEvents, customers: np.ndarray, day: int) -> np.ndarray:
    """Day of each customer's most recent order strictly before ``day`` (-10**6 if none)."""
    mask = events.day < day
    size = int(max(customers.max(initial=0), events.customer.max(initial=0))) + 1
    last = np.full(size, -10**6, dtype=np.int64)
    np.maximum.at(last, events.customer[mask], events.day[mask])
    return last[customers]


def _weighted_pick(rng, weights: np.ndarray, k: int) -> np.ndarray:
    """k indexes sampled without replacement with probability proportional to weight (Efraimidis-Spirakis)."""
    if k <= 0 or len(weights) == 0:
        return np.empty(0, dtype=np.int64)
    keys = np.log(rng.random(len(weights))) / weights
    return np.argsort(-keys)[:k]


def run_campaigns(plan: DemoPlan, events: OrderEvents, identity: Identity, traits: Traits,
                  timeline: Timeline) -> CampaignResult:
    rng = plan.rng("campaigns")
    n = plan.customers
    specs = campaign_specs(plan.today)
    past_conversions = np.zeros(n)
    churn_day = np.full(n, plan.days + 10**6)
    for i, d in timeline.churn_day.items():
        churn_day[i] = d
    blocks: list[dict[str, np.ndarray]] = []
    conv_owner: list[np.ndarray] = []
    for c, spec in sorted(enumerate(specs), key=lambda item: item[1].starts_on):
        day = plan.day_of(spec.starts_on)
        targets = _targets(spec, day, events, identity, traits)
        m = len(targets)
        variants = np.array(list(spec.rates))
        variant = variants[rng.integers(0, len(variants), size=m)] if len(variants) > 1 else np.full(m, "A")
        sent = day * SECONDS_PER_DAY + 10 * 3600 + rng.integers(0, 4 * 3600, size=m)
        conv = sent + (rng.random(m) ** 2 * (spec.days - 0.2) * SECONDS_PER_DAY).astype(np.int64) + 1800
        conv_day = conv // SECONDS_PER_DAY
        last = _last_order_before(events, targets, day)
        recency_months = np.clip(day - last, 0, 730) / 30.0
        deep = spec.discount >= 0.15
        logit = (COEFFICIENTS["intercept"] + COEFFICIENTS["vip"] * traits.is_vip[targets]
                 + COEFFICIENTS["responsiveness"] * traits.responsiveness[targets]
                 + COEFFICIENTS["log_recency_months"] * np.log1p(recency_months)
                 + COEFFICIENTS["past_conversions"] * past_conversions[targets]
                 + COEFFICIENTS["price_sensitive_on_deep_discount"] * (deep & traits.price_sensitive[targets]))
        weight = 1.0 / (1.0 + np.exp(-logit))
        seg = traits.segment[targets]
        # Who can still convert: not leads, not quiet VIPs (their silence is the plant), not after
        # churning, not inside a spend-drop customer's last 90 days, never before sign-up or after today.
        eligible = (seg != LEAD) & (seg != QUIET_VIP)
        eligible &= ~((seg == CHURNED) & (conv_day >= churn_day[targets] - 1))
        eligible &= ~((seg == SPEND_DROP) & (conv_day >= plan.days - 95))
        eligible &= (conv_day >= np.maximum(traits.acq_day[targets], 0)) & (conv_day < plan.days)
        converted = np.zeros(m, dtype=bool)
        for v, rate in spec.rates.items():
            arm = np.flatnonzero(variant == v)
            pool = arm[eligible[arm]]
            converted[pool[_weighted_pick(rng, weight[pool], round(rate * len(arm)))]] = True
        p_open = np.clip(_OPEN_RATE[spec.channel] * np.exp(0.3 * traits.responsiveness[targets]), 0, 0.97)
        opened = (rng.random(m) < p_open) | converted
        clicked = (opened & (rng.random(m) < np.clip(0.25 * np.exp(0.3 * traits.responsiveness[targets]), 0, 0.9)))
        clicked |= converted
        past_conversions[targets[converted]] += 1
        blocks.append({"campaign": np.full(m, c), "customer": targets, "variant": variant, "sent": sent,
                       "opened": opened, "clicked": clicked, "converted": converted,
                       "converted_at": np.where(converted, conv, -1)})
        conv_owner.append(np.full(converted.sum(), c))

    merged = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    conv_idx = np.flatnonzero(merged["converted"])
    event_index = np.full(len(merged["customer"]), -1, dtype=np.int64)
    event_index[conv_idx] = events.extend(
        customer=merged["customer"][conv_idx], day=merged["converted_at"][conv_idx] // SECONDS_PER_DAY,
        kind=CONVERSION, campaign=merged["campaign"][conv_idx], second=merged["converted_at"][conv_idx],
    )
    touches = Touches(event=event_index, **merged)
    return CampaignResult(specs, _campaign_table(plan, specs, touches), touches,
                          [np.array([CATEGORY_NAMES.index(x) for x in s.categories]) for s in specs],
                          np.array([s.discount for s in specs]))


def _targets(spec: CampaignSpec, day: int, events: OrderEvents, identity: Identity, traits: Traits) -> np.ndarray:
    n = len(traits.segment)
    ok = traits.consent & (traits.acq_day < day)
    if spec.target == "zh":
        ok &= identity.language == "zh"
    elif spec.target == "en":
        ok &= identity.language == "en"
    elif spec.target == "vip":
        ok &= traits.is_vip
    elif spec.target == "lapsed_90d":
        last = _last_order_before(events, np.arange(n), day)
        ok &= (last > -10**6) & (last < day - 90)
    return np.flatnonzero(ok)


def _campaign_table(plan: DemoPlan, specs: list[CampaignSpec], touches: Touches) -> Table:
    counts = np.bincount(touches.campaign, minlength=len(specs))
    starts = np.array([plan.day_of(s.starts_on) for s in specs])
    return Table("campaign", {
        "id": np.arange(1, len(specs) + 1),
        "external_id": [s.key for s in specs],
        "name": [s.name for s in specs],
        "channel": [s.channel for s in specs],
        "starts_on": dates(plan, starts),
        "ends_on": dates(plan, starts + np.array([s.days - 1 for s in specs])),
        "cost": [round(s.fixed_cost + s.cost_per_touch * counts[i], 2) for i, s in enumerate(specs)],
        "target_segment": [s.target for s in specs],
        "variants": json_column([list(s.rates) for s in specs]),
        "description": ["; ".join(f"{v}: {t}" for v, t in s.variants_text.items())
                        + f". Offer: {round(s.discount * 100)}% off {', '.join(s.categories)}." for s in specs],
    })
