"""The customer and customer_tag tables, assembled once spend, tiers and points are known."""

from __future__ import annotations

import numpy as np

from storage.demo.config import DemoPlan
from storage.demo.customers import Identity
from storage.demo.loyalty import Spend
from storage.demo.tables import Table, dates, datetimes, external_ids, json_column
from storage.demo.traits import Traits


def customer_width(n: int) -> int:
    return max(6, len(str(n)))


def customer_table(plan: DemoPlan, identity: Identity, traits: Traits, spend: Spend, points: np.ndarray) -> Table:
    n = plan.customers
    ids = np.arange(1, n + 1)
    created = datetimes(plan, traits.acq_day * 86_400 + 9 * 3600)
    return Table("customer", {
        "id": ids,
        "external_id": external_ids("C", ids, customer_width(n)),
        "name": identity.name,
        "gender": identity.gender,
        "birth_date": dates(plan, identity.birth_day),
        "occupation": identity.occupation,
        "phone": identity.phone,
        "email": identity.email,
        "social_handles": json_column(identity.social),
        "country": identity.country,
        "region": identity.region,
        "city": identity.city,
        "address": identity.address,
        "language": identity.language,
        "preferred_channel": traits.preferred_channel,
        "acquired_on": dates(plan, traits.acq_day),
        "acquisition_source": traits.acquisition_source,
        "owner_id": np.where(traits.owner_id > 0, traits.owner_id, None),
        "loyalty_points": points,
        "loyalty_tier": spend.tier,
        "credit_rating": traits.credit_rating,
        "overdue_amount": traits.overdue,
        "follower_count": traits.follower_count,
        "marketing_consent": traits.consent,
        "created_at": created,
        "updated_at": created,
    })


def customer_tags(plan: DemoPlan, traits: Traits, spend: Spend) -> Table:
    rng = plan.rng("tags")
    n = plan.customers
    acquired_recently = traits.acq_day >= plan.days - 30
    tags = {
        "vip": spend.vip,
        "wholesale": traits.wholesale,
        "newsletter": traits.consent & (rng.random(n) < 0.5),
        # Reps have spotted (and tagged) only some of the truly price-sensitive customers.
        "price_sensitive": traits.price_sensitive & (rng.random(n) < 0.6),
        "influencer": traits.follower_count >= 50_000,
        "new_customer": acquired_recently,
    }
    cust_parts, tag_parts = [], []
    for tag, mask in tags.items():
        idx = np.flatnonzero(mask)
        cust_parts.append(idx + 1)
        tag_parts.append(np.full(len(idx), tag, dtype=object))
    cust = np.concatenate(cust_parts)
    tag = np.concatenate(tag_parts)
    order = np.lexsort((tag.astype(str), cust))
    return Table("customer_tag", {"customer_id": cust[order], "tag": tag[order]})
