"""`storage.demo.generate` on a small SQLite database: every table filled, consistent, with true plants."""

from __future__ import annotations

import sqlite3
from datetime import date

import numpy as np
import pandas as pd
import pytest

from storage.demo import generate

TODAY = date(2026, 11, 22)
DEMO_TABLES = [
    "staff_user", "product", "campaign", "customer", "customer_tag", "orders", "order_line", "campaign_touch",
    "interaction", "opportunity", "pool_history", "loyalty_ledger", "coupon", "demo_truth", "audit_log",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "crm.sqlite3"
    summary = generate(customers=600, today=TODAY, url=f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    yield summary, conn
    conn.close()


def frame(conn, sql: str) -> pd.DataFrame:
    return pd.read_sql(sql, conn)


def test_every_table_has_rows(demo):
    summary, _ = demo
    empty = [t for t in DEMO_TABLES if summary.counts.get(t, 0) == 0]
    assert empty == []
    assert summary.counts["customer"] == 600


def test_order_totals_equal_the_sum_of_their_lines(demo):
    _, conn = demo
    bad = conn.execute(
        "SELECT COUNT(*) FROM orders o LEFT JOIN (SELECT order_id, SUM(amount) s FROM order_line GROUP BY order_id) l"
        " ON l.order_id = o.id WHERE l.s IS NULL OR ABS(o.total_amount - l.s) > 0.005"
    ).fetchone()[0]
    assert bad == 0
    lines = frame(conn, "SELECT quantity, unit_price, discount, amount FROM order_line")
    expected = (lines.quantity * lines.unit_price * (1 - lines.discount)).round(2)
    assert np.allclose(expected, lines.amount, atol=0.006)


def test_foreign_keys_and_lifecycle_hold(demo):
    _, conn = demo
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    orders = frame(conn, "SELECT * FROM orders")
    assert (orders.ordered_at < f"{TODAY.isoformat()} 00:00:00").all()
    delivered = orders[orders.status == "delivered"]
    assert delivered.delivered_at.notna().all() and (delivered.delivered_at >= delivered.shipped_at).all()
    returned = orders[orders.status == "returned"]
    assert (returned.returned_at > returned.delivered_at).all()
    assert orders[orders.status == "cancelled"].shipped_at.isna().all()
    shares = orders.status.value_counts(normalize=True)
    assert 0.005 < shares["returned"] < 0.06 and 0.003 < shares["cancelled"] < 0.05


def test_stable_ids_staff_and_public_pool(demo):
    _, conn = demo
    assert conn.execute("SELECT external_id FROM customer WHERE id = 123").fetchone() == ("C000123",)
    assert conn.execute("SELECT external_id FROM orders WHERE id = 123").fetchone() == ("SO-0000123",)
    assert conn.execute("SELECT external_id FROM interaction WHERE id = 123").fetchone() == ("I-0000123",)
    staff = frame(conn, "SELECT * FROM staff_user")
    assert staff.password_hash.isna().all()
    assert staff.role.value_counts().to_dict() == {"rep": 20, "support": 5, "manager": 3, "admin": 1}
    assert staff.set_index("email").loc["rep01@demo.crm", "slack_user_id"] == "U0REP01"
    assert staff[staff.is_head_of_sales == 1].role.tolist() == ["manager"]
    assert "admin@demo.crm" in set(staff.email)
    pool = conn.execute("SELECT AVG(owner_id IS NULL) FROM customer").fetchone()[0]
    assert 0.08 < pool < 0.25


def test_orm_reads_generated_rows(demo):
    from sqlmodel import Session, select

    from storage.db import engine_for
    from storage.models import Customer, DemoTruth, Order

    summary, _ = demo
    path = summary.database.removeprefix("sqlite:///")
    with Session(engine_for(f"sqlite:///{path}")) as session:
        order = session.exec(select(Order).where(Order.id == 1)).one()
        assert order.ordered_at.date() >= date(2024, 1, 1)
        customer = session.get(Customer, order.customer_id)
        assert customer.language in ("zh", "en")
        truth = session.exec(select(DemoTruth).where(DemoTruth.kind == "bundle")).first()
        assert len(truth.detail["product_ids"]) == 3


def test_quiet_vips_match_the_definition_recomputed_independently(demo):
    """Top 5% by revenue; quiet = days since last > 2.5x median gap of purchase days, crossed this month."""
    _, conn = demo
    now = pd.Timestamp(TODAY)
    orders = frame(conn, "SELECT customer_id, ordered_at, status, total_amount FROM orders")
    orders["ordered_at"] = pd.to_datetime(orders.ordered_at)
    revenue = orders[~orders.status.isin(["returned", "cancelled"]) & (orders.ordered_at < now)]
    rank = revenue.groupby("customer_id").total_amount.sum().rank(pct=True)
    vips = set(rank[rank > 0.95].index)
    tagged = set(frame(conn, "SELECT customer_id FROM customer_tag WHERE tag = 'vip'").customer_id)
    assert tagged == vips

    mine = revenue[revenue.customer_id.isin(vips)]
    days = (mine.ordered_at - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    visits = pd.DataFrame({"customer_id": mine.customer_id, "day": np.floor(days)}).drop_duplicates()
    visits = visits.sort_values(["customer_id", "day"])
    gaps = visits.groupby("customer_id").day.diff()
    last = days.groupby(mine.customer_id).max()
    since = (now - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1) - last
    at_month_start = (now.replace(day=1) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1) - last
    planted = set(frame(conn, "SELECT subject_id FROM demo_truth WHERE kind = 'quiet_vip'").subject_id)
    assert len(planted) >= 2
    for usual in (gaps.groupby(visits.customer_id).median(), gaps.groupby(visits.customer_id).mean()):
        flagged = set(since[(since > 2.5 * usual) & (at_month_start <= 2.5 * usual)].index)
        assert flagged == planted
        others = sorted(vips - planted)
        assert (since[others] / usual[others]).max() < 1.5


def test_every_kind_of_plant_is_recorded(demo):
    summary, conn = demo
    for kind in ("churned", "spend_drop", "price_sensitive", "delivery_complaint", "quality_complaint",
                 "ambiguous_name", "response_propensity"):
        assert summary.truth.get(kind, 0) >= 1, kind
    assert summary.truth["bundle"] == 4
    assert summary.truth["ab_winner"] >= 2 and summary.truth["ab_null"] >= 2
    names = set(frame(conn, "SELECT name FROM customer").name)
    assert {"陈静", "Chen Jing", "王芳", "Wang Fang"} <= names
    assert conn.execute("SELECT COUNT(*) FROM customer WHERE name = 'Wang Fang'").fetchone()[0] >= 2


def test_ab_winners_win_and_nulls_tie(demo):
    _, conn = demo
    truth = frame(conn, "SELECT kind, subject_id, detail FROM demo_truth WHERE kind LIKE 'ab_%'")
    touches = frame(conn, "SELECT campaign_id, variant, converted FROM campaign_touch")
    rates = touches.groupby(["campaign_id", "variant"]).converted.mean()
    for row in truth.itertuples():
        observed = rates.loc[row.subject_id]
        if row.kind == "ab_winner":
            winner = pd.read_json(pd.io.common.StringIO(row.detail), typ="series")["winner"]
            assert observed[winner] > 1.5 * observed.drop(winner).max()
        else:
            assert abs(observed["A"] - observed["B"]) < 0.015


def test_delivery_complaints_point_at_late_orders(demo):
    _, conn = demo
    rows = conn.execute(
        "SELECT i.subject, i.body, o.external_id, julianday(o.delivered_at) - julianday(o.shipped_at)"
        " FROM demo_truth t JOIN interaction i ON i.id = json_extract(t.detail, '$.interaction_id')"
        " JOIN orders o ON o.id = json_extract(t.detail, '$.order_id') WHERE t.kind = 'delivery_complaint'"
    ).fetchall()
    assert rows
    for subject, body, order_ref, transit_days in rows:
        assert order_ref in subject and order_ref in body
        assert transit_days >= 9


def test_price_sensitive_customers_buy_on_deeper_promotions(demo):
    _, conn = demo
    lines = frame(conn, "SELECT o.customer_id, l.promo, l.discount FROM order_line l JOIN orders o ON o.id = l.order_id")
    by_customer = lines.groupby("customer_id")[["promo", "discount"]].mean()
    planted = set(frame(conn, "SELECT subject_id FROM demo_truth WHERE kind = 'price_sensitive'").subject_id)
    is_planted = by_customer.index.isin(planted)
    assert by_customer[is_planted].promo.mean() > 0.6 > 0.3 > by_customer[~is_planted].promo.mean()
    assert by_customer[is_planted].discount.mean() > 2 * by_customer[~is_planted].discount.mean()
