"""Data for the predictive-model tests (churn, CLV, cross-sell): a small synthetic book with
planted churners and planted product pairs, and real datasets imported once per session.

The synthetic book: every customer buys on a regular personal cadence; "stoppers" stop
for good at a random moment, so who churns is known. Baskets pair product A with B
(and C with D) far more often than chance, so the rules to find are known too.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from storage.db import engine_for
from storage.models import Customer, Order, OrderLine, Product, Role, StaffUser, line_amount

NOW = datetime(2025, 6, 1)
PAIRS = (("A", "B"), ("C", "D"))
SINGLES = ("E", "F", "G", "H")
# These customers buy A without ever buying B: the cross-sell tool should offer them B.
A_WITHOUT_B = (4, 10, 16)


def build_churn_book(url: str, *, customers: int = 160, seed: int = 7, now: datetime = NOW) -> dict:
    """Fill a migrated, empty database. Returns staff ids, stoppers and the last purchase per customer."""
    rnd = random.Random(seed)
    engine = engine_for(url)
    skus = [s for pair in PAIRS for s in pair] + list(SINGLES)
    with engine.begin() as conn:
        conn.execute(insert(StaffUser.__table__), [
            {"id": 1, "name": "Rep One", "email": "rep1@x.test", "role": Role.rep.value, "is_head_of_sales": False,
             "is_active": True, "created_at": now},
            {"id": 2, "name": "Rep Two", "email": "rep2@x.test", "role": Role.rep.value, "is_head_of_sales": False,
             "is_active": True, "created_at": now},
        ])
        conn.execute(insert(Product.__table__), [
            {"id": i + 1, "sku": s, "name": f"Product {s}", "category": "pairs" if i < 4 else "singles", "list_price": 10.0 + i}
            for i, s in enumerate(skus)
        ])
        people, orders, lines, stoppers, last = [], [], [], set(), {}
        oid = lid = 0
        for cid in range(1, customers + 1):
            owner = (1, 2, None)[cid % 3]
            people.append({"id": cid, "name": f"Shopper {cid:03d}", "owner_id": owner, "country": "France" if cid % 2 else "Spain",
                           "created_at": now, "updated_at": now, "loyalty_points": 0, "overdue_amount": 0.0,
                           "follower_count": 0, "marketing_consent": False})
            gap = rnd.uniform(6, 35)
            t = now - timedelta(days=rnd.uniform(250, 420))
            stop = now + timedelta(days=1)
            if rnd.random() < 0.45:
                stoppers.add(cid)
                stop = now - timedelta(days=rnd.uniform(20, 330))
            if cid % 23 == 0:
                continue  # a few customers never buy
            while t < min(stop, now):
                oid += 1
                basket = set(rnd.sample(SINGLES, rnd.randint(0, 2)))
                if rnd.random() < 0.5:
                    basket.update(PAIRS[rnd.randrange(2)])
                if cid in A_WITHOUT_B:
                    basket.discard("B")
                if not basket:
                    basket.add(rnd.choice(SINGLES))
                returned = rnd.random() < 0.05
                total = 0.0
                for sku in sorted(basket):
                    lid += 1
                    qty, price = rnd.randint(1, 3), 10.0 + skus.index(sku)
                    amount = line_amount(qty, price)
                    total += amount
                    lines.append({"id": lid, "order_id": oid, "product_id": skus.index(sku) + 1, "quantity": qty,
                                  "unit_price": price, "discount": 0.0, "promo": False, "amount": amount})
                orders.append({"id": oid, "customer_id": cid, "ordered_at": t, "channel": "online",
                               "status": "returned" if returned else "delivered", "total_amount": round(total, 2),
                               "currency": "USD"})
                if not returned:
                    last[cid] = t
                t += timedelta(days=rnd.expovariate(1.0 / gap))
        conn.execute(insert(Customer.__table__), people)
        conn.execute(insert(Order.__table__), orders)
        conn.execute(insert(OrderLine.__table__), lines)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # explicit ids: move the sequences past them
            for table in ("staff_user", "product", "customer", "orders", "order_line"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    return {"rep1": 1, "rep2": 2, "stoppers": stoppers, "last": last, "a_without_b": set(A_WITHOUT_B),
            "never": {c for c in range(1, customers + 1) if c % 23 == 0}}


_IMPORTED: dict[tuple, str] = {}


def imported_database(tmp_path_factory, kind: str, path: Path) -> str:
    """A SQLite database holding one real dataset, imported once per test session through the project's importer."""
    key = (kind, str(path))
    if key not in _IMPORTED:
        from storage.importers import import_cdnow, import_online_retail
        from storage.migrate import upgrade

        url = f"sqlite:///{tmp_path_factory.mktemp(kind) / 'crm.sqlite3'}"
        upgrade(url)
        {"online_retail": import_online_retail, "cdnow": import_cdnow}[kind](path, url=url)
        _IMPORTED[key] = url
    return _IMPORTED[key]
