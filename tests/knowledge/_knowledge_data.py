"""A small CRM with hand-written interactions (EN + ZH) for the knowledge tests.

Two reps own different customers, one customer sits in the public pool. Texts are
chosen so that meaning, exact identifiers and Chinese terms each decide some query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from storage.db import engine_for
from storage.models import Customer, Interaction, StaffUser

NOW = datetime(2026, 11, 15, 12, 0, 0)

LONG_BODY = " ".join(
    [
        "Quarterly account review with the purchasing team.",
        "We went through last quarter's orders line by line and agreed on the reorder points for the "
        "winter range.",
        "They asked whether we can hold stock for them in our warehouse for up to six weeks.",
        "Pricing for the annual contract was discussed at length, with a volume discount on orders "
        "above two hundred units.",
    ]
    * 6
    + ["At the very end they mentioned that the invoice address changed to the Leeds office."]
)


@dataclass
class KnowledgeCrm:
    url: str
    staff: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    interactions: dict[str, int] = field(default_factory=dict)


def _ix(key, customer, staff, channel, kind, body, days_ago, *, subject=None, sentiment=None, language="en"):
    return key, dict(
        external_id=f"INT-{key}",
        customer_id=customer,
        staff_id=staff,
        channel=channel,
        kind=kind,
        subject=subject,
        body=body,
        sentiment=sentiment,
        language=language,
        occurred_at=NOW - timedelta(days=days_ago),
    )


def seed_knowledge_crm(url: str) -> KnowledgeCrm:
    crm = KnowledgeCrm(url=url)
    with Session(engine_for(url)) as s:
        people = {
            "rep_a": StaffUser(name="Rita Rep", email="rita@example.com", role="rep", team="north"),
            "rep_b": StaffUser(name="Sam Seller", email="sam@example.com", role="rep", team="south"),
            "manager": StaffUser(name="Mona Manager", email="mona@example.com", role="manager", team="north"),
            "support": StaffUser(name="Sue Support", email="sue@example.com", role="support"),
        }
        s.add_all(people.values())
        s.flush()
        crm.staff = {k: v.id for k, v in people.items()}
        a, b = crm.staff["rep_a"], crm.staff["rep_b"]
        customers = {
            "alice": Customer(name="Alice Wang", external_id="C0001", owner_id=a, language="en"),
            "bob": Customer(name="Bob Smith", external_id="C0002", owner_id=b, language="en"),
            "chen": Customer(name="陈静", external_id="C0003", owner_id=a, language="zh"),
            "pool": Customer(name="Pat Prospect", external_id="C0004", owner_id=None, language="en"),
            "acme": Customer(name="Acme Trading", external_id="C0005", owner_id=b, language="en"),
        }
        s.add_all(customers.values())
        s.flush()
        crm.customers = {k: v.id for k, v in customers.items()}
        c = crm.customers
        rows = [
            _ix("a1", c["alice"], a, "phone", "complaint",
                "Called about order SO-2024-00123: the parcel arrived two weeks late and she was upset "
                "about the slow delivery.", 40, sentiment=-0.7),
            _ix("a2", c["alice"], a, "email", "ticket",
                "Asked for a refund for the KB-4410 keyboard, which was broken when it arrived.", 12,
                subject="Refund request", sentiment=-0.4),
            _ix("a3", c["alice"], a, "chat", "note",
                "Friendly chat about the new spring catalogue; she likes the linen range.", 3, sentiment=0.8),
            _ix("b1", c["bob"], b, "phone", "complaint",
                "The courier left the package in the rain and the delivery was damaged. "
                "Bob's codeword is purple elephant invoice 777.", 20, sentiment=-0.6),
            _ix("b2", c["bob"], b, "visit", "visit", "Showroom visit, looked at office chairs.", 5),
            _ix("c1", c["chen"], a, "chat", "complaint",
                "客户投诉配送太慢，订单SO-2024-00456晚到了一周，非常不满意。", 25, sentiment=-0.8, language="zh"),
            _ix("c2", c["chen"], a, "social", "social_comment",
                "客户在微博上说商品有质量问题，要求退款。", 8, sentiment=-0.5, language="zh"),
            _ix("c3", c["chen"], a, "phone", "call", "回访电话，客户对新款羊毛围巾很满意。", 2, sentiment=0.7, language="zh"),
            _ix("p1", c["pool"], None, "email", "email",
                "Prospect asked about bulk pricing for 500 units of the standing desk.", 15),
            _ix("k1", c["acme"], b, "visit", "visit", LONG_BODY, 30, subject="Quarterly review"),
        ]
        objs = {key: Interaction(**data) for key, data in rows}
        s.add_all(objs.values())
        s.commit()
        crm.interactions = {k: v.id for k, v in objs.items()}
    return crm
