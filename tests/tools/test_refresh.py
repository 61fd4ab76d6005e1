"""crm refresh: full, unchanged, incremental, atomic, and clear failures when analytics are missing."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from _coretools_data import NOW, seed_crm
from sqlmodel import Session

import tools.refresh as refresh
from storage.db import engine_for
from storage.models import Order, OrderLine
from tools.context import ToolContext
from tools.feature_source import fresh_snapshot
from tools.refresh import RefreshError, refresh_features


def fake_churn(engine, *, now):
    with engine.connect() as conn:
        ids = pd.read_sql("SELECT DISTINCT customer_id FROM orders", conn).customer_id
    return pd.DataFrame({"customer_id": ids, "churn_probability": (ids % 10) / 10.0,
                         "churn_reasons": [[f"reason {i % 3}"] for i in ids]})


def fake_clv(engine, *, now, horizon_months=12):
    with engine.connect() as conn:
        spend = pd.read_sql("SELECT customer_id, SUM(total_amount) AS s FROM orders GROUP BY customer_id", conn)
    return pd.DataFrame({"customer_id": spend.customer_id, "p_alive": 0.5, "expected_purchases": 1.0, "clv": spend.s / 2})


@pytest.fixture
def with_models(monkeypatch):
    """Real segmentation and cadence; fake churn and CLV (their engineer's models are tested on their side)."""
    real = refresh._load
    fakes = {"compute_churn_scores": fake_churn, "compute_clv": fake_clv}
    monkeypatch.setattr(refresh, "_load", lambda module, name: fakes.get(name) or real(module, name))


@pytest.fixture
def crm(sqlite_url):
    return seed_crm(sqlite_url, customers=40)


def _snapshot(url):
    with engine_for(url).connect() as conn:
        return pd.read_sql("SELECT * FROM customer_features ORDER BY customer_id", conn).set_index("customer_id")


def test_full_then_unchanged_then_incremental(crm, with_models):
    first = refresh_features(url=crm.url, now=NOW)
    assert first.mode == "full" and first.customers > 0 and first.changed_customers == first.customers
    snap = _snapshot(crm.url)
    with engine_for(crm.url).connect() as conn:
        orders = pd.read_sql("SELECT * FROM orders", conn)
    rev = orders[~orders.status.isin(["returned", "cancelled"])]
    assert snap.lifetime_spend.to_dict() == pytest.approx(rev.groupby("customer_id").total_amount.sum().round(2).reindex(snap.index, fill_value=0).to_dict())
    assert snap.rfm_segment.notna().sum() > 0 and snap.churn_probability.notna().all() and snap.clv.notna().all()
    assert fresh_snapshot(ToolContext.system(now=NOW, database_url=crm.url)) is not None

    again = refresh_features(url=crm.url, now=NOW)
    assert again.mode == "unchanged" and again.changed_customers == 0

    # A new order for one customer: only that customer's aggregates are recomputed.
    target = crm.customers["chen_en"]
    with Session(engine_for(crm.url)) as s:
        o = Order(customer_id=target, ordered_at=NOW - timedelta(hours=1), status="paid", total_amount=123.0)
        s.add(o)
        s.flush()
        s.add(OrderLine(order_id=o.id, product_id=1, quantity=1, unit_price=123.0, amount=123.0))
        s.commit()
    later = NOW + timedelta(minutes=5)
    calls = []
    inc = refresh_features(url=crm.url, now=later, progress=lambda phase, msg: calls.append((phase, msg)))
    assert inc.mode == "incremental"
    assert any("1 customers with new orders" in m for p, m in calls if p == "aggregates")
    after = _snapshot(crm.url)
    assert after.loc[target, "lifetime_spend"] == pytest.approx(snap.loc[target, "lifetime_spend"] + 123.0)
    assert (after.drop(index=target).lifetime_spend == snap.drop(index=target).lifetime_spend).all()
    assert [p for p, _ in calls] == ["fingerprint", "aggregates", "rfm", "cadence", "churn", "clv", "rollups", "write"]


def test_status_change_forces_a_full_refresh(crm, with_models):
    refresh_features(url=crm.url, now=NOW)
    with Session(engine_for(crm.url)) as s:
        o = s.get(Order, 1)
        o.status = "returned" if o.status != "returned" else "paid"
        s.commit()
    assert refresh_features(url=crm.url, now=NOW).mode == "full"


def test_missing_analytics_fail_clearly_unless_partial(crm, monkeypatch):
    real = refresh._load
    monkeypatch.setattr(refresh, "_load", lambda module, name: None if name == "compute_clv" else real(module, name)
                        if name != "compute_churn_scores" else fake_churn)
    with pytest.raises(RefreshError, match="tools.clv.compute_clv"):
        refresh_features(url=crm.url, now=NOW)
    report = refresh_features(url=crm.url, now=NOW, allow_partial=True)
    assert report.phases["clv"] == "missing"
    assert _snapshot(crm.url).clv.isna().all()


def test_a_failed_write_leaves_the_old_snapshot(crm, with_models, monkeypatch):
    refresh_features(url=crm.url, now=NOW)
    before = _snapshot(crm.url)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(refresh, "insert_columns", broken)
    with pytest.raises(RuntimeError):
        refresh_features(url=crm.url, now=NOW + timedelta(days=1), full=True)
    pd.testing.assert_frame_equal(_snapshot(crm.url), before)


def test_snapshot_feeds_the_read_tools(crm, with_models):
    from tools.customers import CustomerProfileParams, FindCustomersParams, customer_profile, find_customers

    refresh_features(url=crm.url, now=NOW)
    ctx = ToolContext.system(now=NOW, database_url=crm.url)
    ranked = find_customers(FindCustomersParams(sort="churn_risk", limit=5), ctx=ctx)
    probs = [c.churn_probability for c in ranked.customers]
    assert probs == sorted(probs, reverse=True) and ranked.snapshot == "fresh"
    # Walking the spend index pages through buyers first, then never-bought customers, each exactly once.
    pages = [find_customers(FindCustomersParams(sort="spend", limit=7, offset=o), ctx=ctx) for o in range(0, 42, 7)]
    ids = [c.id for page in pages for c in page.customers]
    assert len(ids) == len(set(ids)) == pages[0].total
    spends = [c.lifetime_spend for page in pages for c in page.customers]
    assert spends == sorted(spends, reverse=True)
    p = customer_profile(CustomerProfileParams(customer=ranked.customers[0].id), ctx=ctx)
    assert p.analytics.source == "snapshot" and p.analytics.churn_reasons and p.analytics.clv is not None


def test_refresh_on_postgres(database_url, with_models):
    seed_crm(database_url, customers=15)
    report = refresh_features(url=database_url, now=NOW)
    assert report.mode == "full" and report.customers > 0
    assert refresh_features(url=database_url, now=NOW).mode == "unchanged"
