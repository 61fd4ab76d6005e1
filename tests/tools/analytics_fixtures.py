"""Data for the analytics tool tests: a small hand-made book, and demo databases shared per session.

The hand-made book is tiny and fully known (two reps, the pool, three categories,
promotions, returns, a campaign and opportunities) so numbers can be recomputed
independently with pandas on both SQLite and PostgreSQL. Demo databases carry the
planted truths; generating one takes seconds, so each (size, seed, today) is built
once per test session and shared by every test module that asks for it.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlmodel import Session

from storage.db import engine_for
from storage.models import (
    Campaign,
    CampaignTouch,
    Customer,
    Order,
    OrderLine,
    Product,
    Role,
    StaffUser,
    line_amount,
)

NOW = datetime(2025, 6, 15, 12, 0)
DEMO_TODAY = date(2025, 6, 20)


def build_small_book(url: str, *, customers: int = 60, seed: int = 1, now: datetime = NOW) -> dict:
    """Fill a migrated, empty database; returns the staff ids."""
    rnd = random.Random(seed)
    with Session(engine_for(url)) as s:
        reps = [StaffUser(name=f"Rep {i}", email=f"rep{i}@x.test", role=Role.rep.value) for i in (1, 2)]
        s.add_all(reps)
        s.flush()
        products = [
            Product(
                sku=f"P{i}",
                name=f"Product {i}",
                category="ABC"[i % 3],
                brand="XY"[i % 2],
                list_price=10.0 + i,
            )
            for i in range(12)
        ]
        s.add_all(products)
        s.flush()
        people = []
        for i in range(customers):
            owner = [reps[0].id, reps[1].id, None][i % 3]
            people.append(Customer(name=f"Customer {i}", owner_id=owner, marketing_consent=i % 4 != 0))
        s.add_all(people)
        s.flush()
        next_order = 1  # explicit ids: one flush at the end instead of a round trip per order
        for c in people:
            if c.id % 17 == 0:
                continue  # a few customers never buy
            gap = rnd.uniform(5, 60)
            t = now - timedelta(days=rnd.uniform(0.5, 2 * gap))
            bargain = c.id % 5 == 0
            for _ in range(rnd.randint(1, 25)):
                if t < now - timedelta(days=700):
                    break
                status = (
                    "returned" if rnd.random() < 0.08 else "cancelled" if rnd.random() < 0.03 else "delivered"
                )
                order = Order(
                    id=next_order,
                    customer_id=c.id,
                    ordered_at=t,
                    channel=rnd.choice(["online", "store", "app"]),
                    status=status,
                )
                next_order += 1
                s.add(order)
                total = 0.0
                for _ in range(rnd.randint(1, 3)):
                    p = rnd.choice(products)
                    q = rnd.randint(1, 3)
                    promo = rnd.random() < (0.8 if bargain else 0.1)
                    d = 0.25 if promo else 0.0
                    amount = line_amount(q, p.list_price, d)
                    total += amount
                    s.add(
                        OrderLine(
                            order_id=order.id,
                            product_id=p.id,
                            quantity=q,
                            unit_price=p.list_price,
                            discount=d,
                            promo=promo,
                            amount=amount,
                        )
                    )
                order.total_amount = round(total, 2)
                t -= timedelta(days=max(1.0, rnd.gammavariate(4, gap / 4)))
        campaign = Campaign(
            name="Spring Test",
            channel="email",
            starts_on=(now - timedelta(days=100)).date(),
            cost=500.0,
            variants=["A", "B"],
        )
        s.add(campaign)
        s.flush()
        for c in people:
            v = rnd.choice("AB")
            conv = rnd.random() < (0.1 if v == "A" else 0.3)
            sent = now - timedelta(days=100)
            s.add(
                CampaignTouch(
                    campaign_id=campaign.id,
                    customer_id=c.id,
                    variant=v,
                    sent_at=sent,
                    opened=conv or rnd.random() < 0.3,
                    clicked=conv,
                    converted=conv,
                    converted_at=sent + timedelta(days=2) if conv else None,
                    attributed_revenue=40.0 if conv else 0.0,
                )
            )
        s.commit()
        return {"rep1": reps[0].id, "rep2": reps[1].id}


def revenue_orders_frame(url: str, *, now: datetime = NOW) -> pd.DataFrame:
    """Independent read of revenue orders with the owner, for checks."""
    orders = pd.read_sql(
        "select o.id, o.customer_id, o.ordered_at, o.total_amount, o.status, c.owner_id "
        "from orders o join customer c on c.id = o.customer_id",
        engine_for(url),
    )
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    keep = ~orders["status"].isin(["returned", "cancelled"]) & (orders["ordered_at"] < now)
    return orders[keep].reset_index(drop=True)


_DEMOS: dict[tuple, str] = {}


def demo_database(tmp_path_factory, *, customers: int, seed: int, today: date = DEMO_TODAY) -> str:
    """A migrated SQLite database holding a demo of this size and seed; built once per session."""
    key = (customers, seed, today)
    if key not in _DEMOS:
        from storage.demo import generate
        from storage.migrate import upgrade

        path = Path(tmp_path_factory.mktemp(f"demo_{customers}_{seed}")) / "crm.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        generate(customers=customers, seed=seed, today=today, url=url)
        _DEMOS[key] = url
    return _DEMOS[key]


def demo_now(today: date = DEMO_TODAY) -> datetime:
    """The demo's "now": the start of its pinned today (nothing is dated today or later)."""
    return datetime.combine(today, datetime.min.time())


def module_database(request, tmp_path_factory, backend: str):
    """A migrated, empty database that lives for one test module (SQLite file or a fresh Postgres db).

    Generator fixture body: ``yield from module_database(...)``. Postgres skips without
    CRM_TEST_POSTGRES, exactly like the shared ``postgres_url`` fixture.
    """
    import os
    import uuid

    import sqlalchemy as sa

    from storage.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('book') / 'crm.sqlite3'}"
        upgrade(url)
        yield url
        engine_for(url).dispose()
        return
    admin = os.environ.get("CRM_TEST_POSTGRES")
    if not admin:
        import pytest

        pytest.skip("CRM_TEST_POSTGRES is not set (CI sets it and starts a server)")
    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        engine_for(url).dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


BACKENDS = ["sqlite", "postgres"]
