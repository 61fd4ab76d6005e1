"""active_customers from the in-memory activity book equals pandas and the compiled SQL, per scope and time grain."""

from __future__ import annotations

import pandas as pd
import pytest
from _coretools_data import NOW, seed_crm

import tools.metrics.activity as activity
from storage.db import engine_for
from tools.context import ToolContext
from tools.metrics import QueryMetricsParams, query_metrics

QUESTIONS = [
    {"measures": ["active_customers"]},
    {"measures": ["new_customers", "active_customers"]},
    {"measures": ["active_customers"], "period": {"start": "2026-10-01", "end": "2026-10-31"}},
    {"measures": ["active_customers", "revenue"], "dimensions": ["month"]},
    {"measures": ["active_customers"], "dimensions": ["week"], "period": {"start": "2026-09-01"}},
    {"measures": ["active_customers"], "dimensions": ["quarter"], "period": {"start": "2025-01-01"}},
    {"measures": ["active_customers"], "dimensions": ["day"], "period": {"start": "2026-11-01"}},
    {"measures": ["active_customers"], "dimensions": ["year"]},
]


def _ask(url, question, email=None):
    ctx = ToolContext.system(now=NOW, database_url=url) if email is None else ToolContext.for_email(
        email, now=NOW, database_url=url)
    result = query_metrics(QueryMetricsParams(**question), ctx=ctx)
    return pd.DataFrame(result.rows), result.totals


@pytest.mark.parametrize("email", [None, "rep1@t.crm"])
def test_activity_book_matches_sql(database_url, monkeypatch, email):
    seed_crm(database_url, customers=60, seed=4)
    used = []
    real = activity.active_frame
    monkeypatch.setattr(activity, "active_frame", lambda *a, **k: used.append(1) or real(*a, **k))
    fast = [_ask(database_url, q, email) for q in QUESTIONS]
    assert len(used) >= len(QUESTIONS)  # the book answered every one of them
    monkeypatch.setattr(activity, "answers", lambda *a, **k: False)
    slow = [_ask(database_url, q, email) for q in QUESTIONS]
    for q, (f_rows, f_tot), (s_rows, s_tot) in zip(QUESTIONS, fast, slow, strict=True):
        assert f_tot == pytest.approx(s_tot), q
        pd.testing.assert_frame_equal(f_rows, s_rows, check_dtype=False, obj=str(q))


def test_active_customers_match_pandas(sqlite_url):
    seed_crm(sqlite_url, customers=60, seed=4)
    with engine_for(sqlite_url).connect() as conn:
        orders = pd.read_sql("SELECT customer_id, ordered_at AS at FROM orders", conn, parse_dates=["at"])
        touches = pd.read_sql("SELECT customer_id, occurred_at AS at FROM interaction", conn, parse_dates=["at"])
    both = pd.concat([orders, touches])
    start, end = pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-01")
    expected = both[(both["at"] >= start) & (both["at"] < end)]["customer_id"].nunique()
    _, totals = _ask(sqlite_url, {"measures": ["active_customers"], "period": {"start": "2026-10-01", "end": "2026-10-31"}})
    assert totals["active_customers"] == expected > 0
    rows, _ = _ask(sqlite_url, {"measures": ["active_customers"], "dimensions": ["month"], "period": {"start": "2026-01-01"}})
    monthly = both[(both["at"] >= "2026-01-01") & (both["at"] <= pd.Timestamp(NOW))]  # a period ends at now, inclusive
    monthly = monthly.assign(m=lambda d: d["at"].dt.strftime("%Y-%m"))
    expected_monthly = monthly.groupby("m")["customer_id"].nunique()
    got = dict(zip(rows["month"], rows["active_customers"], strict=True))
    assert {m: got[m] for m in expected_monthly.index} == expected_monthly.to_dict()


NEW_QUESTIONS = [
    {"measures": ["new_customers"]},
    {"measures": ["new_customers", "active_customers"], "period": {"start": "2026-01-01"}},
    {"measures": ["new_customers"], "dimensions": ["month"], "period": {"start": "2025-06-01"}},
    {"measures": ["new_customers"], "dimensions": ["week"], "period": {"start": "2026-09-01"}},
]


@pytest.mark.parametrize("email", [None, "rep1@t.crm"])
def test_new_customers_from_the_cached_snapshot_match_sql(database_url, monkeypatch, email):
    from test_refresh import fake_churn, fake_clv

    import tools.refresh as refresh

    seed_crm(database_url, customers=60, seed=5)
    real_load = refresh._load
    fakes = {"compute_churn_scores": fake_churn, "compute_clv": fake_clv}
    monkeypatch.setattr(refresh, "_load", lambda module, name: fakes.get(name) or real_load(module, name))
    refresh.refresh_features(url=database_url, now=NOW)
    used = []
    real = activity.new_frame
    monkeypatch.setattr(activity, "new_frame", lambda *a, **k: used.append(1) or real(*a, **k))
    fast = [_ask(database_url, q, email) for q in NEW_QUESTIONS]
    assert len(used) >= len(NEW_QUESTIONS)
    monkeypatch.setattr(activity, "answers_new", lambda *a, **k: False)
    slow = [_ask(database_url, q, email) for q in NEW_QUESTIONS]
    for q, (f_rows, f_tot), (s_rows, s_tot) in zip(NEW_QUESTIONS, fast, slow, strict=True):
        assert f_tot == pytest.approx(s_tot), q
        pd.testing.assert_frame_equal(f_rows, s_rows, check_dtype=False, obj=str(q))
