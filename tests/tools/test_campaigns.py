"""campaign_performance on demo data: funnel numbers against pandas, planted A/B truths, scope, errors."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from analytics_fixtures import NOW, build_small_book, demo_database, demo_now, module_database

from storage.db import engine_for
from tools import Ambiguous, FutureDate, InvalidArgument, NotFound, ToolContext, get_tool
from tools.campaigns import CampaignPerformanceParams, campaign_performance

CUSTOMERS, SEED, TODAY = 2500, 5, date(2025, 6, 18)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = demo_database(tmp_path_factory, customers=CUSTOMERS, seed=SEED, today=TODAY)
    touches = pd.read_sql(
        "select t.*, c.owner_id from campaign_touch t join customer c on c.id = t.customer_id",
        engine_for(url),
    )
    return url, touches


def _ctx(url: str) -> ToolContext:
    return ToolContext.system(now=demo_now(TODAY), database_url=url)


def _truths(url: str, kind: str) -> list[dict]:
    rows = pd.read_sql(f"select subject_id, detail from demo_truth where kind = '{kind}'", engine_for(url))
    return [
        {
            "campaign_id": int(r.subject_id),
            **(json.loads(r.detail) if isinstance(r.detail, str) else r.detail),
        }
        for r in rows.itertuples()
    ]


def test_planted_winners_are_significant_and_nulls_are_not(demo):
    url, _ = demo
    result = campaign_performance(CampaignPerformanceParams(), ctx=_ctx(url))
    by_id = {c.campaign_id: c for c in result.campaigns}
    winners = _truths(url, "ab_winner")
    assert len(winners) >= 2
    for truth in winners:
        (test,) = by_id[truth["campaign_id"]].tests
        assert test.significant and test.p_adjusted < 0.05, test.verdict
        better = test.variant if test.difference > 0 else test.control
        assert better == truth["winner"]
        assert test.ci_low > 0 or test.ci_high < 0, "the 95% CI excludes zero"
        assert "significantly" in test.verdict
    for truth in _truths(url, "ab_null"):
        (test,) = by_id[truth["campaign_id"]].tests
        assert not test.significant and test.ci_low < 0 < test.ci_high


def test_funnel_numbers_match_pandas(demo):
    url, touches = demo
    result = campaign_performance(CampaignPerformanceParams(), ctx=_ctx(url))
    campaigns = pd.read_sql("select id, cost from campaign", engine_for(url)).set_index("id")["cost"]
    total_sent = touches.groupby("campaign_id").size()
    for v in result.variants:
        arm = touches[(touches["campaign_id"] == v.campaign_id) & (touches["variant"] == v.variant)]
        assert v.sent == len(arm)
        assert v.opened == int(arm["opened"].sum()) and v.clicked == int(arm["clicked"].sum())
        assert v.conversion_rate == pytest.approx(arm["converted"].mean())
        assert v.revenue == pytest.approx(arm["attributed_revenue"].sum(), abs=0.01)
        cost = campaigns[v.campaign_id] * len(arm) / total_sent[v.campaign_id]
        assert v.cost == pytest.approx(cost, abs=0.01)
        assert v.roi == pytest.approx((v.revenue - v.cost) / v.cost, abs=1e-3)
    assert result.chart is not None and result.summary_zh and result.table.rows


def test_one_campaign_by_name_and_by_external_id(demo):
    url, _ = demo
    by_name = get_tool("campaign_performance")({"campaign": "new year reactivation"}, ctx=_ctx(url))
    by_key = get_tool("campaign_performance")({"campaign": "CMP-001"}, ctx=_ctx(url))
    fuzzy = get_tool("campaign_performance")({"campaign": "New Year Reactivaton"}, ctx=_ctx(url))
    assert len(by_name.campaigns) == 1
    assert (
        by_name.campaigns[0].campaign_id == by_key.campaigns[0].campaign_id == fuzzy.campaigns[0].campaign_id
    )
    clicks = get_tool("campaign_performance")({"campaign": "CMP-001", "metric": "click"}, ctx=_ctx(url))
    assert clicks.campaigns[0].tests[0].verdict.startswith("B click")


def test_rep_sees_only_touches_of_own_and_pool_customers(demo):
    url, touches = demo
    rep = pd.read_sql(
        "select id, email from staff_user where role = 'rep' order by id limit 1", engine_for(url)
    ).iloc[0]
    ctx = ToolContext.for_email(rep["email"], now=demo_now(TODAY), database_url=url)
    result = get_tool("campaign_performance")({}, ctx=ctx)
    visible = touches[(touches["owner_id"] == rep["id"]) | touches["owner_id"].isna()]
    assert sum(v.sent for v in result.variants) == len(visible)
    assert sum(v.converted for v in result.variants) == int(visible["converted"].sum())


def test_period_filter_and_typed_errors(demo):
    url, _ = demo
    ctx = _ctx(url)
    recent = get_tool("campaign_performance")({"period": {"start": "2025-03-01"}}, ctx=ctx)
    starts = pd.read_sql("select id, starts_on from campaign", engine_for(url))
    expected = set(starts[pd.to_datetime(starts["starts_on"]) >= "2025-03-01"]["id"])
    assert {c.campaign_id for c in recent.campaigns} == expected
    with pytest.raises(NotFound):
        get_tool("campaign_performance")({"campaign": "Completely Unknown Promo Blast"}, ctx=ctx)
    with pytest.raises(FutureDate):
        get_tool("campaign_performance")({"period": {"start": "2030-01-01"}}, ctx=ctx)
    with pytest.raises(InvalidArgument):
        get_tool("campaign_performance")({"campaign": "CMP-001", "control": "Z"}, ctx=ctx)
    with pytest.raises(InvalidArgument):
        get_tool("campaign_performance")({"metric": "revenue"}, ctx=ctx)


def test_ambiguous_campaign_name_lists_candidates(demo):
    url, _ = demo
    with pytest.raises(Ambiguous) as err:
        get_tool("campaign_performance")({"campaign": "sale"}, ctx=_ctx(url))
    assert len(err.value.candidates) >= 2


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def book_url(request, tmp_path_factory):
    for url in module_database(request, tmp_path_factory, request.param):
        build_small_book(url)
        yield url


def test_small_book_on_each_backend(book_url):
    touches = pd.read_sql("select * from campaign_touch", engine_for(book_url))
    result = campaign_performance(
        CampaignPerformanceParams(), ctx=ToolContext.system(now=NOW, database_url=book_url)
    )
    for v in result.variants:
        arm = touches[touches["variant"] == v.variant]
        assert v.sent == len(arm) and v.converted == int(arm["converted"].sum())
        assert v.revenue == pytest.approx(arm["attributed_revenue"].sum())
    (test,) = result.campaigns[0].tests
    assert test.method in ("z-test", "fisher") and 0 <= test.p_value <= 1
