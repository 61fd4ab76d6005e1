"""Sales pipeline and ownership history: opportunities across stages, and public-pool claims/releases."""

from __future__ import annotations

import numpy as np

from storage.demo.catalogue import CATEGORY_NAMES
from storage.demo.config import SECONDS_PER_DAY, DemoPlan
from storage.demo.customers import Identity
from storage.demo.staff import Staff
from storage.demo.tables import Table, dates, datetimes, external_ids
from storage.demo.traits import LEAD, Traits

STAGES = np.array(["lead", "qualified", "proposal", "negotiation", "won", "lost"], dtype=object)
PROBABILITY = np.array([0.1, 0.25, 0.5, 0.7, 1.0, 0.0])
_NAMES = {
    "en": ["Corporate gifting: {c}", "Bulk order: {c}", "Office refresh: {c}", "Annual supply contract: {c}",
           "Event sponsorship bundle: {c}"],
    "zh": ["企业礼品采购：{c}", "团购订单：{c}", "办公设备更新：{c}", "年度供货合同：{c}", "活动赞助套餐：{c}"],
}
_RELEASE_REASONS = ["No follow-up in 90 days", "Customer unresponsive", "Rep changed territory",
                    "Released on request of the customer"]


def _region_rep(rng, staff: Staff, region: np.ndarray) -> np.ndarray:
    out = np.zeros(len(region), dtype=np.int64)
    for reg in np.unique(staff.rep_regions):
        sel = np.flatnonzero(region == reg)
        reps = staff.rep_ids[staff.rep_regions == reg]
        out[sel] = reps[rng.integers(0, len(reps), size=len(sel))]
    return out


def opportunities(plan: DemoPlan, identity: Identity, traits: Traits, staff: Staff) -> Table:
    rng = plan.rng("opportunities")
    n = plan.customers
    p = np.where(traits.wholesale, 1.0, np.where(traits.is_vip, 0.3, 0.04))
    p[traits.owner_id == 0] *= 0.5
    cust = np.flatnonzero(rng.random(n) < p)
    m = len(cust)
    age_days = rng.uniform(1, 540, size=m)
    created = plan.now_seconds - (age_days * SECONDS_PER_DAY).astype(np.int64)
    created = np.maximum(created, np.maximum(traits.acq_day[cust], 0) * SECONDS_PER_DAY + 9 * 3600)
    age_days = (plan.now_seconds - created) / SECONDS_PER_DAY
    # Old opportunities are mostly closed; young ones are spread over the open stages.
    closed = rng.random(m) < np.clip(age_days / 200, 0.05, 0.9)
    won = rng.random(m) < 0.58
    open_stage = rng.choice(4, size=m, p=[0.35, 0.3, 0.2, 0.15])
    stage_idx = np.where(closed, np.where(won, 4, 5), open_stage)
    amount = np.round(rng.lognormal(np.log(3000), 0.9, size=m) * np.where(traits.wholesale[cust], 4, 1), -1)
    expected_close = (created // SECONDS_PER_DAY) + rng.integers(20, 120, size=m)
    closed_at = np.minimum(created + (rng.uniform(10, 100, size=m) * SECONDS_PER_DAY).astype(np.int64),
                           plan.now_seconds - 3600)
    owner = np.where(traits.owner_id[cust] > 0, traits.owner_id[cust], _region_rep(rng, staff, identity.region[cust]))
    category = traits.favourites[cust, 0]
    names = [
        _NAMES[identity.language[c]][k].format(c=CATEGORY_NAMES[category[i]])
        for i, (c, k) in enumerate(zip(cust, rng.integers(0, 5, size=m), strict=True))
    ]
    order = np.argsort(created, kind="stable")
    ids = np.arange(1, m + 1)
    is_closed = stage_idx[order] >= 4
    return Table("opportunity", {
        "id": ids,
        "external_id": external_ids("OPP-", ids, 5),
        "customer_id": cust[order] + 1,
        "owner_id": np.where(owner[order] > 0, owner[order], None),
        "name": np.array(names, dtype=object)[order],
        "stage": STAGES[stage_idx[order]],
        "amount": amount[order],
        "probability": PROBABILITY[stage_idx[order]],
        "created_at": datetimes(plan, created[order]),
        "expected_close": dates(plan, expected_close[order]),
        "closed_at": datetimes(plan, closed_at[order], missing=~is_closed),
        "outcome": np.where(is_closed, STAGES[stage_idx[order]], None),
    })


def pool_history(plan: DemoPlan, identity: Identity, traits: Traits, staff: Staff) -> Table:
    """Ownership changes consistent with today's owner: pool customers were released, owned ones claimed or assigned."""
    rng = plan.rng("pool")
    n = plan.customers
    owner = traits.owner_id
    rep_before = _region_rep(rng, staff, identity.region)
    china = np.char.endswith(identity.region.astype(str), "China")
    manager = np.where(china, staff.manager_ids[1], staff.manager_ids[2])
    start = np.maximum(traits.acq_day, 0) * SECONDS_PER_DAY + 10 * 3600
    span = np.maximum(plan.now_seconds - start - 3600, 3600)
    t1 = start + (rng.uniform(0.0, 0.3, size=n) * span).astype(np.int64)
    t2 = start + (rng.uniform(0.35, 0.95, size=n) * span).astype(np.int64)
    rows: list[tuple] = []  # (customer, action, from, to, by, at, reason)
    pool = np.flatnonzero((owner == 0) & (rng.random(n) < 0.6) & (traits.segment != LEAD))
    for c in pool:
        rows.append((c, "assign", None, rep_before[c], manager[c], t1[c], "Assigned on sign-up"))
        rows.append((c, "release", rep_before[c], None, rep_before[c], t2[c],
                     _RELEASE_REASONS[(c * 7 + traits.acq_day[c]) % len(_RELEASE_REASONS)]))
    owned = np.flatnonzero(owner > 0)
    roll = rng.random(len(owned))
    for c, r in zip(owned, roll, strict=True):
        if r < 0.25:
            rows.append((c, "claim", None, owner[c], owner[c], t2[c], "Claimed from the public pool"))
        elif r < 0.45:
            rows.append((c, "assign", None, owner[c], manager[c], t1[c], "Assigned on sign-up"))
        elif r < 0.55 and rep_before[c] != owner[c]:
            rows.append((c, "assign", None, rep_before[c], manager[c], t1[c], "Assigned on sign-up"))
            rows.append((c, "release", rep_before[c], None, rep_before[c], (t1[c] + t2[c]) // 2,
                         "Rep changed territory"))
            rows.append((c, "claim", None, owner[c], owner[c], t2[c], "Claimed from the public pool"))
    rows.sort(key=lambda r: (r[5], r[0]))
    m = len(rows)

    def col(k, as_int=False):
        vals = [r[k] for r in rows]
        return [None if v is None else int(v) for v in vals] if as_int else vals

    return Table("pool_history", {
        "id": np.arange(1, m + 1),
        "customer_id": [int(r[0]) + 1 for r in rows],
        "action": col(1),
        "from_owner_id": col(2, True),
        "to_owner_id": col(3, True),
        "by_user_id": col(4, True),
        "at": datetimes(plan, np.array(col(5, True), dtype=np.int64)),
        "reason": col(6),
    })
