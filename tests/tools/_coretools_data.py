"""A small, deterministic CRM for the core-tools tests (not collected: no test_ prefix).

Hand-placed people for lookup and scope cases (Chen Jing / 陈静, two Wang Fangs, a pool
customer, customers of another team), plus seeded random orders, lines, interactions,
campaign touches and opportunities so metric numbers can be checked against pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
from sqlmodel import Session

from storage.db import engine_for
from storage.models import (
    Campaign,
    CampaignTouch,
    Customer,
    CustomerTag,
    Interaction,
    Opportunity,
    Order,
    OrderLine,
    Product,
    StaffUser,
    line_amount,
)

TODAY = date(2026, 11, 15)
NOW = datetime.combine(TODAY, time(12, 0))

CITIES = [
    ("Shanghai", "East China", "China"),
    ("Beijing", "North China", "China"),
    ("Shenzhen", "South China", "China"),
    ("New York", "US East", "United States"),
    ("London", "UK", "United Kingdom"),
]
CATEGORIES = [("Phones", "Acme"), ("Audio", "Sonic"), ("Kitchen", "Chef"), ("Books", "Paper")]


@dataclass
class Seeded:
    url: str
    staff: dict[str, int] = field(default_factory=dict)  # key -> id
    customers: dict[str, int] = field(default_factory=dict)  # key -> id for hand-placed ones
    all_customer_ids: list[int] = field(default_factory=list)
    order_ids: list[int] = field(default_factory=list)


def seed_crm(url: str, *, customers: int = 60, seed: int = 7) -> Seeded:
    rng = np.random.default_rng(seed)
    out = Seeded(url=url)
    with Session(engine_for(url)) as s:
        staff = {
            "admin": StaffUser(name="Ada Admin", email="admin@t.crm", role="admin"),
            "head": StaffUser(
                name="Hank Head", email="head@t.crm", role="manager", team="East", is_head_of_sales=True
            ),
            "mgr_west": StaffUser(name="Wendy West", email="mgr.west@t.crm", role="manager", team="West"),
            "rep1": StaffUser(name="Li Lei", email="rep1@t.crm", role="rep", team="East"),
            "rep2": StaffUser(name="Han Meimei", email="rep2@t.crm", role="rep", team="East"),
            "rep3": StaffUser(name="Bob West", email="rep3@t.crm", role="rep", team="West"),
            "support": StaffUser(name="Sue Support", email="support@t.crm", role="support"),
        }
        s.add_all(staff.values())
        s.flush()
        out.staff = {k: v.id for k, v in staff.items()}
        reps = [out.staff["rep1"], out.staff["rep2"], out.staff["rep3"]]

        products = []
        for ci, (cat, brand) in enumerate(CATEGORIES):
            for j in range(3):
                price = float(20 * (ci + 1) + 5 * j)
                products.append(
                    Product(
                        sku=f"SKU-{ci}{j}",
                        name=f"{brand} {cat} {j}",
                        category=cat,
                        brand=brand,
                        list_price=price,
                    )
                )
        s.add_all(products)
        s.flush()

        named = [
            ("chen_en", "Chen Jing", out.staff["rep1"], 0),
            ("chen_zh", "陈静", out.staff["rep3"], 0),
            ("wang1", "Wang Fang", out.staff["rep1"], 1),
            ("wang2", "Wang Fang", out.staff["rep2"], 2),
            ("pool", "Pat Pool", None, 3),
            ("west", "Wes Western", out.staff["rep3"], 4),
            ("zhang", "张伟", out.staff["rep1"], 0),
        ]
        people = []
        for key, name, owner, city_i in named:
            people.append((key, name, owner, city_i))
        for i in range(customers - len(named)):
            owner = None if i % 6 == 0 else reps[i % 3]
            people.append((f"c{i}", f"Customer {i:03d}", owner, int(rng.integers(0, len(CITIES)))))

        tiers = ["bronze", "silver", "gold", "platinum"]
        for n, (key, name, owner, city_i) in enumerate(people):
            city, region, country = CITIES[city_i]
            c = Customer(
                external_id=f"C{n + 1:06d}",
                name=name,
                gender="F" if n % 2 else "M",
                birth_date=date(1960 + (n * 7) % 45, 1 + n % 12, 1 + n % 27),
                phone=f"+1-555-{n:04d}",
                email=f"c{n}@example.com",
                city=city,
                region=region,
                country=country,
                owner_id=owner,
                loyalty_tier=tiers[n % 4],
                loyalty_points=100 * n,
                credit_rating="ABCD"[n % 4],
                overdue_amount=50.0 if n % 9 == 0 else 0.0,
                acquired_on=TODAY - timedelta(days=900),
                updated_at=NOW - timedelta(days=30),
                created_at=NOW - timedelta(days=900),
            )
            s.add(c)
            s.flush()
            out.customers[key] = c.id
            out.all_customer_ids.append(c.id)
            if n % 5 == 0:
                s.add(CustomerTag(customer_id=c.id, tag="vip"))
            if n % 7 == 0:
                s.add(CustomerTag(customer_id=c.id, tag="newsletter"))

        campaign = Campaign(
            external_id="CMP-1",
            name="Spring Sale",
            channel="email",
            starts_on=TODAY - timedelta(days=200),
            ends_on=TODAY - timedelta(days=170),
            cost=500.0,
            variants=["A", "B"],
        )
        s.add(campaign)
        s.flush()

        channels = ["online", "store", "app", "social"]
        statuses = ["delivered"] * 8 + ["shipped", "paid", "returned", "cancelled"]
        order_n = 0
        for cid in out.all_customer_ids:
            for _ in range(int(rng.integers(0, 9))):
                order_n += 1
                days_ago = int(rng.integers(0, 700))
                at = NOW - timedelta(days=days_ago, hours=int(rng.integers(0, 10)))
                status = statuses[int(rng.integers(0, len(statuses)))]
                o = Order(
                    external_id=f"SO-{order_n:07d}",
                    customer_id=cid,
                    ordered_at=at,
                    channel=channels[int(rng.integers(0, 4))],
                    status=status,
                    paid_at=at + timedelta(hours=1),
                    shipped_at=at + timedelta(days=1)
                    if status in ("shipped", "delivered", "returned")
                    else None,
                    delivered_at=at + timedelta(days=3) if status in ("delivered", "returned") else None,
                    returned_at=at + timedelta(days=10) if status == "returned" else None,
                    cancelled_at=at + timedelta(hours=2) if status == "cancelled" else None,
                    carrier="SF Express" if status != "cancelled" else None,
                    tracking_number=f"SF{order_n:09d}" if status != "cancelled" else None,
                    campaign_id=campaign.id if rng.random() < 0.15 else None,
                )
                s.add(o)
                s.flush()
                total = 0.0
                for _ in range(int(rng.integers(1, 4))):
                    p = products[int(rng.integers(0, len(products)))]
                    q = int(rng.integers(1, 4))
                    disc = float(rng.choice([0.0, 0.0, 0.1, 0.25]))
                    amt = line_amount(q, p.list_price, disc)
                    total += amt
                    s.add(
                        OrderLine(
                            order_id=o.id,
                            product_id=p.id,
                            quantity=q,
                            unit_price=p.list_price,
                            discount=disc,
                            promo=disc > 0,
                            amount=amt,
                        )
                    )
                o.total_amount = round(total, 2)
                out.order_ids.append(o.id)

            for k in range(int(rng.integers(0, 4))):
                kind = ["call", "note", "complaint", "ticket", "email"][int(rng.integers(0, 5))]
                s.add(
                    Interaction(
                        customer_id=cid,
                        staff_id=reps[k % 3],
                        channel="phone" if kind == "call" else "email",
                        direction="inbound",
                        kind=kind,
                        subject=f"{kind} about delivery",
                        body=f"Customer {cid} {kind} text",
                        ticket_status=("open" if k % 2 == 0 else "resolved")
                        if kind in ("ticket", "complaint")
                        else None,
                        occurred_at=NOW - timedelta(days=int(rng.integers(0, 400))),
                    )
                )
            if rng.random() < 0.5:
                converted = bool(rng.random() < 0.3)
                s.add(
                    CampaignTouch(
                        campaign_id=campaign.id,
                        customer_id=cid,
                        variant="AB"[cid % 2],
                        sent_at=NOW - timedelta(days=195),
                        opened=True,
                        clicked=converted or rng.random() < 0.3,
                        converted=converted,
                        attributed_revenue=100.0 if converted else 0.0,
                    )
                )
            if rng.random() < 0.3:
                s.add(
                    Opportunity(
                        customer_id=cid,
                        owner_id=reps[cid % 3],
                        name=f"Deal {cid}",
                        stage=["lead", "proposal", "won", "lost"][cid % 4],
                        amount=1000.0 + cid,
                        probability=0.3,
                        created_at=NOW - timedelta(days=60),
                    )
                )
        s.commit()
    return out
