"""Same seed + same today => identical rows; a small run on each backend via ``database_url``."""

from __future__ import annotations

import hashlib
from datetime import date

import sqlalchemy as sa

from storage.demo import generate

TODAY = date(2026, 11, 22)


def content_hash(url: str) -> str:
    from storage.db import engine_for
    from storage.demo.writer import crm_tables

    engine = engine_for(url)
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in crm_tables(engine):
            order = list(table.primary_key.columns) or list(table.columns)
            for row in conn.execute(sa.select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_same_seed_and_today_give_identical_rows(tmp_path):
    urls = [f"sqlite:///{tmp_path / name}.sqlite3" for name in ("a", "b", "c")]
    generate(customers=150, seed=7, today=TODAY, url=urls[0])
    generate(customers=150, seed=7, today=TODAY, url=urls[1])
    generate(customers=150, seed=8, today=TODAY, url=urls[2])
    first, second, other = (content_hash(u) for u in urls)
    assert first == second
    assert first != other


def test_small_run_on_each_backend(database_url):
    from sqlmodel import Session

    from storage.db import engine_for
    from storage.models import StaffUser

    summary = generate(customers=120, today=TODAY, url=database_url)
    assert summary.counts["customer"] == 120 and summary.counts["order_line"] > 0
    engine = engine_for(database_url)
    with engine.connect() as conn:
        bad = conn.execute(sa.text(
            "SELECT COUNT(*) FROM orders o WHERE ABS(o.total_amount - "
            "(SELECT COALESCE(SUM(amount), 0) FROM order_line l WHERE l.order_id = o.id)) > 0.005"
        )).scalar_one()
    assert bad == 0
    # Ids were loaded explicitly; the next ORM insert must not collide with them.
    with Session(engine) as session:
        user = StaffUser(name="New Rep", email="new.rep@demo.crm")
        session.add(user)
        session.commit()
        assert user.id == summary.counts["staff_user"] + 1
