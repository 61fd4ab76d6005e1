"""Interactions: calls, emails, tickets, complaints, visits, social comments and notes (~5 per customer).

Planted complaints sit on real orders: every late delivery planted by
``fulfilment`` gets a "Late delivery of order SO-…" complaint while the parcel is
overdue, and every planted quality problem gets a complaint naming the SKU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo import interaction_texts as tx
from storage.demo.baskets import Lines
from storage.demo.catalogue import CATEGORY_NAMES, Catalogue
from storage.demo.config import SECONDS_PER_DAY, DemoPlan
from storage.demo.customers import Identity
from storage.demo.fulfilment import Fulfilment
from storage.demo.orders import Orders
from storage.demo.staff import Staff
from storage.demo.tables import Table, datetimes, external_ids
from storage.demo.texts import TextBank
from storage.demo.traits import LEAD, Traits

KINDS = np.array(["call", "email", "ticket", "complaint", "visit", "social_comment", "note"])
_KIND_P = [0.2, 0.22, 0.14, 0.04, 0.05, 0.1, 0.25]
_INBOUND_P = {"call": 0.55, "email": 0.5, "ticket": 1.0, "complaint": 1.0, "visit": 0.6, "social_comment": 1.0,
              "note": 0.0}


@dataclass
class PlantedComplaint:
    kind: str  # delivery_complaint | quality_complaint
    customer: int
    order: int  # order position
    product: int  # product index (quality) or -1
    row: int  # position in the generated block, resolved to an id after sorting


def build_interactions(plan: DemoPlan, identity: Identity, traits: Traits, staff: Staff, orders: Orders,
                       lines: Lines, fulfilment: Fulfilment, catalogue: Catalogue, bank: TextBank,
                       last_order_day: np.ndarray) -> tuple[Table, list[dict]]:
    rng = plan.rng("interactions")
    n_cust = plan.customers
    seg = traits.segment
    lam = np.where(traits.is_vip, 9.0, np.where(seg == LEAD, 1.5, 4.3))
    count = rng.poisson(lam)
    cust = np.repeat(np.arange(n_cust), count)
    m = len(cust)
    lo = np.maximum(traits.acq_day[cust], 0)
    hi = np.where(last_order_day[cust] >= 0, np.minimum(last_order_day[cust] + 45, plan.days), plan.days)
    hi = np.maximum(hi, lo + 1)
    day = lo + np.floor(rng.random(m) * (hi - lo)).astype(np.int64)
    kind = KINDS[rng.choice(len(KINDS), size=m, p=_KIND_P)]
    tod = np.where(kind == "social_comment", rng.integers(0, SECONDS_PER_DAY, size=m),
                   rng.integers(8 * 3600, 20 * 3600, size=m))
    second = np.minimum(day * SECONDS_PER_DAY + tod, plan.now_seconds - 60)
    inbound = rng.random(m) < np.vectorize(_INBOUND_P.get)(kind)
    topic = np.full(m, -1)
    for k, mix in tx.TOPIC_MIX.items():
        sel = np.flatnonzero((kind == k) & inbound)
        topic[sel] = rng.choice(len(tx.TOPICS), size=len(sel), p=mix)

    # Planted complaints, appended after the background rows.
    planted: list[PlantedComplaint] = []
    late = fulfilment.late
    late_sec = np.minimum(fulfilment.shipped[late] + (rng.uniform(6, 8.5, size=len(late)) * SECONDS_PER_DAY)
                          .astype(np.int64), plan.now_seconds - 60)
    quality = fulfilment.quality
    q_base = np.minimum(fulfilment.delivered[quality], plan.now_seconds - SECONDS_PER_DAY)
    q_sec = np.minimum(q_base + (rng.uniform(1, 10, size=len(quality)) * SECONDS_PER_DAY).astype(np.int64),
                       plan.now_seconds - 60)
    first_line = np.searchsorted(lines.order, np.arange(len(orders)))
    for pos, o in enumerate(late):
        planted.append(PlantedComplaint("delivery_complaint", int(orders.customer[o]), int(o), -1, m + pos))
    for pos, o in enumerate(quality):
        planted.append(PlantedComplaint("quality_complaint", int(orders.customer[o]), int(o),
                                        int(lines.product[first_line[o]]), m + len(late) + pos))
    extra = len(late) + len(quality)
    cust = np.concatenate([cust, orders.customer[late], orders.customer[quality]])
    second = np.concatenate([second, late_sec, q_sec])
    kind = np.concatenate([kind, np.full(extra, "complaint")])
    inbound = np.concatenate([inbound, np.ones(extra, dtype=bool)])
    topic = np.concatenate([topic, np.full(len(late), tx.DELIVERY), np.full(len(quality), tx.QUALITY)])
    total = m + extra

    # The order each contact is about: the planted one, else the customer's latest order before it.
    order_pos = _latest_order_before(orders, cust, second)
    order_pos[m:m + len(late)] = late
    order_pos[m + len(late):] = quality
    has_order = order_pos >= 0
    product = np.where(has_order, lines.product[first_line[np.maximum(order_pos, 0)]],
                       catalogue.pick(traits.favourites[cust, 0], rng.random(total)))
    product[m + len(late):] = [p.product for p in planted if p.kind == "quality_complaint"]
    language = identity.language[cust]
    texts = tx.pick_texts(rng, bank, language, topic, catalogue.category[product], CATEGORY_NAMES)
    subject, body = _compose(rng, kind, inbound, topic, language, texts, order_pos, orders, product, catalogue,
                             traits.preferred_channel[cust], late_rows=range(m, m + len(late)),
                             quality_rows=range(m + len(late), total))
    channel = _channels(rng, kind, inbound, language)
    staff_id = _staff(rng, kind, inbound, traits.owner_id[cust], identity.region[cust], staff)
    sentiment = _sentiment(rng, topic)
    duration = np.where(kind == "call", np.rint(rng.lognormal(np.log(240), 0.6, size=total)), np.nan)
    age = plan.now_seconds - second
    ticket = np.isin(kind, ["ticket", "complaint"])
    recent = rng.choice(np.array(["open", "pending", "resolved"], dtype=object), size=total, p=[0.5, 0.3, 0.2])
    older = rng.choice(np.array(["closed", "resolved", "open"], dtype=object), size=total, p=[0.6, 0.37, 0.03])
    status = np.where(ticket, np.where(age < 7 * SECONDS_PER_DAY, recent, older), None)

    order = np.argsort(second, kind="stable")
    ids = np.arange(1, total + 1)
    position = np.empty(total, dtype=np.int64)
    position[order] = ids
    stamps = datetimes(plan, second[order])
    table = Table("interaction", {
        "id": ids,
        "external_id": external_ids("I-", ids, 7),
        "customer_id": cust[order] + 1,
        "staff_id": staff_id[order],
        "channel": channel[order],
        "direction": np.where(inbound, "inbound", "outbound")[order].astype(object),
        "kind": kind[order].astype(object),
        "subject": subject[order],
        "body": body[order],
        "sentiment": sentiment[order],
        "duration_seconds": _optional_ints(duration[order]),
        "ticket_status": status[order],
        "occurred_at": stamps,
        "language": language[order],
        "updated_at": stamps,
    })
    truth = [{
        "kind": p.kind, "subject_id": p.customer + 1,
        "detail": {"interaction_id": int(position[p.row]), "interaction_external_id": f"I-{position[p.row]:07d}",
                   "order_id": p.order + 1, "order_external_id": str(orders.external_id[p.order]),
                   **({"product_id": p.product + 1, "sku": str(catalogue.skus[p.product])} if p.product >= 0 else {}),
                   **({"status": str(fulfilment.status[p.order])} if p.kind == "quality_complaint" else {})},
    } for p in planted]
    return table, truth


def _optional_ints(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), None, dtype=object)
    present = ~np.isnan(values)
    out[present] = values[present].astype(np.int64)
    return out


def _latest_order_before(orders: Orders, cust: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Position of each customer's latest order at or before ``second`` (-1 if none), vectorised."""
    shift = np.int64(1) << np.int64(32)
    keys = orders.customer.astype(np.int64) * shift + orders.second
    order = np.argsort(keys, kind="stable")
    j = np.searchsorted(keys[order], cust.astype(np.int64) * shift + second, side="right") - 1
    ok = (j >= 0) & (orders.customer[order[np.maximum(j, 0)]] == cust)
    return np.where(ok, order[np.maximum(j, 0)], -1)


def _compose(rng, kind, inbound, topic, language, texts, order_pos, orders, product, catalogue, pref, *,
             late_rows, quality_rows):
    """Subjects and bodies, built group by group (language x kind x direction x has-order)."""
    n = len(kind)
    subject = np.empty(n, dtype=object)
    body = np.empty(n, dtype=object)
    has_order = order_pos >= 0
    o = np.where(has_order, orders.external_id[np.maximum(order_pos, 0)], "").tolist()
    p = catalogue.names[product].tolist()
    sku = catalogue.skus[product].tolist()
    cat = np.array(CATEGORY_NAMES, dtype=object)[catalogue.category[product]].tolist()
    ch = pref.tolist()
    text = texts.tolist()
    pick = rng.integers(0, 1000, size=n).tolist()
    quoting = inbound & np.isin(kind, list(tx.TOPIC_MIX))
    for lang in ("en", "zh"):
        for k in KINDS:
            for with_order in (True, False):
                base = (language == lang) & (kind == k) & (has_order == with_order)
                idx = np.flatnonzero(base & quoting).tolist()
                if idx:
                    frame = tx.INBOUND[lang][k][0 if with_order else 1]
                    if lang == "en":
                        body[idx] = [frame.format(t=text[i].replace("ITEM", p[i]), o=o[i]) for i in idx]
                    else:
                        body[idx] = [frame.format(t=text[i], o=o[i]) for i in idx]
                    if k == "social_comment":
                        subject[idx] = tx.SUBJECTS[lang]["social_comment"]
                    else:
                        titles = tx.TITLES[lang]
                        subject[idx] = [f"{titles[topic[i]]} – {o[i]}" if with_order else titles[topic[i]]
                                        for i in idx]
                idx = np.flatnonzero(base & ~quoting).tolist()
                if idx:
                    key = k if k in ("call", "email", "visit", "note") else "note"
                    options = [t for t in tx.TEMPLATES[(lang, key)] if with_order or "{o}" not in t]
                    body[idx] = [options[pick[i] % len(options)].format(o=o[i], p=p[i], sku=sku[i], cat=cat[i],
                                                                        ch=ch[i]) for i in idx]
                    label = {"call": "call_out", "email": "email_out"}.get(key, key)
                    frame = tx.SUBJECTS[lang][label]
                    if "{o}" in frame and not with_order:
                        frame = tx.SUBJECTS[lang]["note"]
                    subject[idx] = [frame.format(o=o[i]) for i in idx]
    for i in late_rows:
        subject[i] = tx.SUBJECTS[language[i]]["late"].format(o=o[i])
    for i in quality_rows:
        subject[i] = tx.SUBJECTS[language[i]]["quality"].format(sku=sku[i], p=p[i])
        body[i] = f"{body[i]} (SKU {sku[i]})"
    return subject, body


def _channels(rng, kind, inbound, language):
    n = len(kind)
    channel = np.full(n, "phone", dtype=object)
    channel[kind == "email"] = "email"
    channel[kind == "social_comment"] = "social"
    channel[kind == "visit"] = np.where(inbound[kind == "visit"], "store", "visit")
    options = np.array(["chat", "email", "phone", "social"], dtype=object)
    t = np.flatnonzero(kind == "ticket")
    zh_t = language[t] == "zh"
    channel[t] = np.where(zh_t, options[rng.choice(3, size=len(t), p=[0.6, 0.2, 0.2])],
                          options[rng.choice(3, size=len(t), p=[0.3, 0.5, 0.2])])
    c = np.flatnonzero(kind == "complaint")
    channel[c] = options[rng.choice(4, size=len(c), p=[0.25, 0.3, 0.35, 0.1])]
    return channel


def _staff(rng, kind, inbound, owner, region, staff: Staff):
    n = len(kind)
    support = staff.support_ids[rng.integers(0, len(staff.support_ids), size=n)]
    # Pool customers were last handled by some rep of their region.
    fallback = np.zeros(n, dtype=np.int64)
    for reg in np.unique(staff.rep_regions):
        sel = np.flatnonzero(region == reg)
        reps = staff.rep_ids[staff.rep_regions == reg]
        fallback[sel] = reps[rng.integers(0, len(reps), size=len(sel))]
    rep = np.where(owner > 0, owner, fallback)
    rep = np.where(rep > 0, rep, support)
    out = np.where(np.isin(kind, ["ticket", "complaint"]) | (inbound & (kind == "call") & (owner == 0)), support, rep)
    result = out.astype(object)
    result[kind == "social_comment"] = None
    return result


def _sentiment(rng, topic):
    lo = np.array([-0.9, -0.9, -0.6, -0.6, -0.2, 0.4, -0.6, 0.0])
    hi = np.array([-0.4, -0.4, -0.1, -0.1, 0.2, 0.95, -0.1, 0.6])
    t = np.where(topic >= 0, topic, 7)
    return np.round(lo[t] + rng.random(len(topic)) * (hi[t] - lo[t]), 2)
