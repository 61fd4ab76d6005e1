"""CLV: the summary matches lifetimes' own, the penalizer ladder, compute_clv and the lifetime_value tool."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from analytics_fixtures import module_database
from predictive_data import NOW, build_churn_book

from storage.db import engine_for
from tools import EmptyPeriod, NotFound, ToolContext, get_tool
from tools.clv_model import ModelFitError, fit_bgnbd, lifetimes, rfm_summary
from tools.clv_scores import compute_clv
from tools.order_frames import day_of


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path_factory):
    yield from module_database(request, tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def book(database_url):
    return database_url, build_churn_book(database_url, seed=11)


def _random_orders(seed: int = 3, n: int = 800) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1)
    days = rng.uniform(0, 300, n)
    return pd.DataFrame({
        "customer_id": rng.integers(1, 120, n),
        "at": [start + timedelta(days=float(d)) for d in days],
        "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
        "returned": rng.random(n) < 0.05,
    }).assign(day=lambda f: [day_of(t) for t in f["at"]])


@pytest.mark.parametrize("unit,multiplier", [("week", 7), ("day", 1)])
def test_summary_matches_lifetimes(unit, multiplier):
    orders = _random_orders()
    end = datetime(2024, 9, 1)
    mine = rfm_summary(orders, end_day=day_of(end), unit=unit)
    paid = orders[~orders["returned"]]
    theirs = lifetimes().utils.summary_data_from_transaction_data(
        paid, "customer_id", "at", monetary_value_col="amount", observation_period_end=end, freq="D",
        freq_multiplier=multiplier,
    )
    theirs = theirs.loc[mine.index]
    assert np.allclose(mine["frequency"], theirs["frequency"])
    assert np.allclose(mine["recency"], theirs["recency"])
    assert np.allclose(mine["T"], theirs["T"])
    assert np.allclose(mine["monetary"], theirs["monetary_value"])


def test_penalizer_ladder_reports_what_it_tried():
    summary = rfm_summary(_random_orders(), end_day=day_of(datetime(2024, 11, 1)), unit="week")
    fit = fit_bgnbd(summary)
    assert fit.tried[-1].endswith("ok") and set(fit.params) == {"r", "alpha", "a", "b"}
    with pytest.raises(ModelFitError):
        fit_bgnbd(summary.head(3))


def test_compute_clv_contract(book):
    url, truth = book
    frame = compute_clv(engine_for(url), now=NOW, horizon_months=12)
    assert list(frame.columns) == ["customer_id", "p_alive", "expected_purchases", "clv"]
    assert set(frame["customer_id"]) == set(truth["last"])
    assert frame["p_alive"].between(0, 1).all() and (frame["clv"] >= 0).all()
    stopped = frame["customer_id"].isin(truth["stoppers"])
    assert frame.loc[stopped, "p_alive"].mean() < frame.loc[~stopped, "p_alive"].mean()
    longer = compute_clv(engine_for(url), now=NOW, horizon_months=24)
    assert (longer["clv"].to_numpy() >= frame["clv"].to_numpy() - 1e-6).all()


def test_lifetime_value_tool(book):
    url, truth = book
    ctx = ToolContext.system(now=NOW, database_url=url)
    top = get_tool("lifetime_value")({"limit": 5}, ctx=ctx)
    values = [c.clv for c in top.customers]
    assert len(values) == 5 and values == sorted(values, reverse=True)
    assert top.in_scope == len(truth["last"]) and top.total_clv >= sum(values)
    one = get_tool("lifetime_value")({"customer": top.customers[0].customer_id, "horizon_months": 6}, ctx=ctx)
    assert one.customers[0].clv <= top.customers[0].clv + 1e-6 and "6 months" in one.summary
    with pytest.raises(NotFound):
        get_tool("lifetime_value")({"customer": "Nobody At All"}, ctx=ctx)
    with pytest.raises(EmptyPeriod):
        get_tool("lifetime_value")({"customer": min(truth["never"])}, ctx=ctx)
    mine = get_tool("lifetime_value")({"limit": 500, "owner": "Rep Two"}, ctx=ctx)
    assert {c.customer_id % 3 for c in mine.customers} == {1}
