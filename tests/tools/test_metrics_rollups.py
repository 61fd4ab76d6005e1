"""Rollup answers equal raw answers: whole months from metrics_rollup, leftover days from orders."""

from __future__ import annotations

import pandas as pd
import pytest
from _coretools_data import NOW, seed_crm
from test_refresh import fake_churn, fake_clv

import tools.metrics.query as query
import tools.refresh as refresh
from tools.context import ToolContext
from tools.metrics import QueryMetricsParams, query_metrics
from tools.metrics.rollups import ROLLUPS, pick_rollup

QUESTIONS = [
    {"measures": ["revenue", "orders", "average_order_value"], "dimensions": ["month"]},
    {"measures": ["revenue"], "dimensions": ["region"], "period": {"start": "2025-03-17", "end": "2026-10-03"}},
    {"measures": ["revenue", "returns", "return_rate"], "dimensions": ["quarter", "channel"], "period": {"start": "2025-01-01"}},
    {"measures": ["revenue", "units"], "dimensions": ["category"], "top_n": 3},
    {"measures": ["revenue"], "dimensions": ["owner"], "filters": {"city": ["上海", "London"]}},
    {"measures": ["revenue", "orders"], "dimensions": ["segment"], "period": {"start": "2025-06-01", "end": "2026-05-31"}},
    {"measures": ["revenue"], "dimensions": ["campaign"], "compare_previous": True, "period": {"start": "2026-02-01"}},
    {"measures": ["discount_amount", "promo_share"], "dimensions": ["brand", "year"]},
    {"measures": ["revenue"]},
    {"measures": ["return_rate", "orders"], "dimensions": ["category"], "period": {"start": "2025-01-01"}},
    {"measures": ["units", "orders"], "dimensions": ["channel"]},
]


def test_pick_rollup_matches_declared_dimensions():
    assert pick_rollup({"orders": ["revenue"]}, ["region", "month"], []).name == "orders_region"
    assert pick_rollup({"orders": ["revenue"]}, ["owner"], ["city"]).name == "orders_city"
    assert pick_rollup({"orders": ["revenue"]}, ["segment"], ["value_tier"]).name == "orders_segment"
    assert pick_rollup({"orders": ["revenue"]}, ["segment"], ["tier"]) is None  # no rollup holds both
    assert pick_rollup({"lines": ["units"]}, ["category"], ["region"]).name == "lines_category"
    assert pick_rollup({"orders": ["customers"]}, ["region"], []) is None  # distinct counts do not add up
    # Order counts at line grain add up across categories only when the question groups by category.
    assert pick_rollup({"lines": ["returns", "placed_orders"]}, ["category"], []).name == "lines_category"
    assert pick_rollup({"lines": ["units", "orders"]}, ["channel"], []) is None
    assert pick_rollup({"orders": ["revenue"]}, ["age_band"], []) is None
    assert all(len(r.dims) <= 4 for r in ROLLUPS)


@pytest.fixture
def refreshed(database_url, monkeypatch):
    seed_crm(database_url, customers=50, seed=9)
    real = refresh._load
    fakes = {"compute_churn_scores": fake_churn, "compute_clv": fake_clv}
    monkeypatch.setattr(refresh, "_load", lambda module, name: fakes.get(name) or real(module, name))
    report = refresh.refresh_features(url=database_url, now=NOW)
    assert report.phases["rollups"] >= 0
    return database_url


def _answer(url, question, email=None):
    ctx = ToolContext.system(now=NOW, database_url=url) if email is None else ToolContext.for_email(email, now=NOW, database_url=url)
    r = query_metrics(QueryMetricsParams(**question), ctx=ctx)
    return pd.DataFrame(r.rows), r.totals, r.previous_totals


@pytest.mark.parametrize("email", [None, "rep1@t.crm"])
def test_rollups_agree_with_raw_tables(refreshed, monkeypatch, email):
    used = []
    real_query = query.query_rollup
    monkeypatch.setattr(query, "query_rollup", lambda *a, **k: used.append(a[1].name) or real_query(*a, **k))
    fast = [_answer(refreshed, q, email) for q in QUESTIONS]
    assert len(set(used)) >= 3, used  # the rollups were really used
    monkeypatch.setattr(query, "rollups_until", lambda conn: None)
    slow = [_answer(refreshed, q, email) for q in QUESTIONS]
    for q, (f_rows, f_tot, f_prev), (s_rows, s_tot, s_prev) in zip(QUESTIONS, fast, slow, strict=True):
        assert f_tot == pytest.approx(s_tot), q
        assert (f_prev or {}) == pytest.approx(s_prev or {}), q
        key = [c for c in f_rows.columns if f_rows[c].dtype == object]
        a = f_rows.sort_values(key).reset_index(drop=True) if key else f_rows
        b = s_rows.sort_values(key).reset_index(drop=True) if key else s_rows
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9, obj=str(q))


@pytest.mark.parametrize(
    ("start", "end", "until", "expected"),
    [
        # whole months, refreshed later: rollup up to the end's month, raw for the end's month
        ("2025-01-01", "2025-06-15 12:00", "2026-01-10", ("2025-01-01", "2025-06-01", "2025-06-01")),
        # refreshed mid-month before the end: its month from the rollup up to `until`, raw after
        ("2025-01-10", "2026-01-20", "2026-01-10 08:00", ("2025-02-01", "2026-02-01", "2026-01-10 08:00")),
        # the whole period inside one month: nothing to take from the rollup
        ("2026-01-03", "2026-01-20", "2026-01-25", None),
        (None, "2026-01-20", "2026-01-25", (None, "2026-01-01", "2026-01-01")),
    ],
)
def test_split_period(start, end, until, expected):
    from datetime import datetime

    from tools.metrics.rollups import split_period

    parse = lambda v: None if v is None else datetime.fromisoformat(v)  # noqa: E731
    got = split_period(parse(start), parse(end), parse(until))
    assert got == (None if expected is None else tuple(parse(v) for v in expected))


def test_new_orders_switch_rollups_off_until_the_next_refresh(refreshed):
    from sqlmodel import Session

    from storage.db import engine_for
    from storage.models import Order
    from tools.metrics.rollups import rollups_until

    with engine_for(refreshed).connect() as conn:
        assert rollups_until(conn) is not None
    with Session(engine_for(refreshed)) as s:
        s.add(Order(customer_id=1, ordered_at=NOW.replace(month=1), status="paid", total_amount=10.0))
        s.commit()
    with engine_for(refreshed).connect() as conn:
        assert rollups_until(conn) is None


@pytest.mark.parametrize("when", ["current month", "old month"])
def test_incremental_refresh_keeps_rollups_exact(refreshed, monkeypatch, when):
    from datetime import timedelta

    from sqlmodel import Session

    from storage.db import engine_for
    from storage.models import Order, OrderLine

    at = NOW - timedelta(hours=2) if when == "current month" else NOW.replace(year=2025, month=3)
    with Session(engine_for(refreshed)) as s:
        o = Order(customer_id=2, ordered_at=at, status="paid", channel="app", total_amount=250.0)
        s.add(o)
        s.flush()
        s.add(OrderLine(order_id=o.id, product_id=3, quantity=2, unit_price=125.0, amount=250.0))
        s.commit()
    later = NOW + timedelta(minutes=30)
    report = refresh.refresh_features(url=refreshed, now=later)
    assert report.mode == "incremental"
    ctx = ToolContext.system(now=later, database_url=refreshed)
    questions = [
        {"measures": ["revenue", "units"], "dimensions": ["category", "month"], "period": {"start": "2025-01-01"}},
        {"measures": ["revenue", "orders"], "dimensions": ["region", "channel"]},
        {"measures": ["revenue"], "dimensions": ["segment"], "period": {"start": "2025-01-01"}},
    ]
    fast = [query_metrics(QueryMetricsParams(**q), ctx=ctx) for q in questions]
    monkeypatch.setattr(query, "rollups_until", lambda conn: None)
    slow = [query_metrics(QueryMetricsParams(**q), ctx=ctx) for q in questions]
    for f, s_ in zip(fast, slow, strict=True):
        assert f.totals == pytest.approx(s_.totals)
        key = lambda r, dims=f.dimensions: tuple(str(r[d]) for d in dims)  # noqa: E731
        for fr, sr in zip(sorted(f.rows, key=key), sorted(s_.rows, key=key), strict=True):
            assert key(fr) == key(sr) and fr == pytest.approx(sr)
