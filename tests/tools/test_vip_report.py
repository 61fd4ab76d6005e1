"""vip_report on demo data: VIP set, revenue, bands, trend and early warnings against pandas; scope; errors."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from analytics_fixtures import NOW, build_small_book, demo_database, demo_now, module_database

from storage.db import engine_for
from tools import EmptyPeriod, FutureDate, ToolContext, get_tool
from tools.cadence import compute_cadence
from tools.reports import VipReportParams, vip_report
from tools.rfm import compute_rfm

CUSTOMERS, SEED, TODAY = 2500, 5, date(2025, 6, 18)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = demo_database(tmp_path_factory, customers=CUSTOMERS, seed=SEED, today=TODAY)
    engine = engine_for(url)
    orders = pd.read_sql(
        "select o.id, o.customer_id, o.ordered_at, o.total_amount, o.status, c.owner_id "
        "from orders o join customer c on c.id = o.customer_id",
        engine,
    )
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    orders = orders[
        ~orders["status"].isin(["returned", "cancelled"]) & (orders["ordered_at"] < demo_now(TODAY))
    ]
    rfm = compute_rfm(engine, now=demo_now(TODAY), clusters=False)
    vips = set(rfm.loc[rfm["value_tier"] == "vip", "customer_id"])
    return url, orders, vips


def _ctx(url: str) -> ToolContext:
    return ToolContext.system(now=demo_now(TODAY), database_url=url)


def test_report_numbers_match_pandas(demo):
    url, orders, vips = demo
    result = vip_report(VipReportParams(), ctx=_ctx(url))
    month_start = pd.Timestamp(TODAY.replace(day=1))
    in_period = orders[(orders["ordered_at"] >= month_start) & orders["customer_id"].isin(vips)]
    assert result.vips == len(vips)
    assert result.active_vips == in_period["customer_id"].nunique()
    assert result.vip_revenue == pytest.approx(in_period["total_amount"].sum(), abs=0.05)
    everyone = orders[orders["ordered_at"] >= month_start]["total_amount"].sum()
    assert result.revenue_share == pytest.approx(in_period["total_amount"].sum() / everyone, abs=1e-4)
    assert sum(b.customers for b in result.spend_bands) == len(vips)
    assert sum(b.customers for b in result.frequency_bands) == len(vips)
    per_vip = in_period.groupby("customer_id").size().reindex(sorted(vips), fill_value=0)
    assert result.frequency_bands[1].customers == int((per_vip == 1).sum())
    months = orders[orders["customer_id"].isin(vips)].assign(m=lambda d: d["ordered_at"].dt.strftime("%Y-%m"))
    monthly = months.groupby("m")["total_amount"].sum()
    assert len(result.monthly_revenue) == 12 and list(result.monthly_revenue)[-1] == "2025-06"
    for m, value in result.monthly_revenue.items():
        assert value == pytest.approx(monthly.get(m, 0.0), abs=0.05)
    assert pytest.approx(sum(c.share for c in result.categories), abs=1e-3) == 1.0
    assert result.chart.kind == "line" and {c.kind for c in result.extra_charts} >= {"bar", "pie"}
    assert result.summary_zh and "VIP" in result.summary


def test_early_warnings(demo):
    url, _, vips = demo
    result = vip_report(VipReportParams(), ctx=_ctx(url))
    quiet = {w.customer_id for w in result.warnings if w.kind == "quiet"}
    planted = set(
        pd.read_sql("select subject_id from demo_truth where kind = 'quiet_vip'", engine_for(url))[
            "subject_id"
        ]
    )
    assert quiet == planted
    cad = compute_cadence(engine_for(url), now=demo_now(TODAY)).set_index("customer_id").loc[sorted(vips)]
    cad = cad.drop(index=list(quiet))
    drops = set(cad.index[(cad["spend_prev_90d"] > 0) & (cad["spend_90d"] <= 0.5 * cad["spend_prev_90d"])])
    assert {w.customer_id for w in result.warnings if w.kind == "spend_drop"} == drops
    freq = set(cad.index[(cad["orders_prev_90d"] >= 2) & (cad["orders_90d"] <= 0.5 * cad["orders_prev_90d"])])
    assert {w.customer_id for w in result.warnings if w.kind == "frequency_drop"} == freq
    assert result.table.rows and result.table.columns[0].label == "Warning"


def test_rep_sees_only_own_vips(demo):
    url, orders, vips = demo
    owners = pd.read_sql("select id, owner_id from customer", engine_for(url)).set_index("id")["owner_id"]
    rep_id = int(owners.loc[sorted(vips)].dropna().mode().iloc[0])
    email = pd.read_sql(f"select email from staff_user where id = {rep_id}", engine_for(url))["email"].iloc[0]
    result = get_tool("vip_report")(
        {}, ctx=ToolContext.for_email(email, now=demo_now(TODAY), database_url=url)
    )
    mine = {c for c in vips if pd.isna(owners.loc[c]) or owners.loc[c] == rep_id}
    assert result.vips == len(mine) > 0
    assert all(w.customer_id in mine for w in result.warnings)


def test_explicit_period_and_errors(demo):
    url, orders, vips = demo
    ctx = _ctx(url)
    may = get_tool("vip_report")({"period": {"start": "2025-05-01", "end": "2025-05-31"}}, ctx=ctx)
    in_may = orders[
        (orders["ordered_at"] >= "2025-05-01")
        & (orders["ordered_at"] < "2025-06-01")
        & orders["customer_id"].isin(vips)
    ]
    assert may.vip_revenue == pytest.approx(in_may["total_amount"].sum(), abs=0.05)
    assert list(may.monthly_revenue)[-1] == "2025-05"
    with pytest.raises(FutureDate):
        get_tool("vip_report")({"period": {"start": (TODAY + timedelta(days=5)).isoformat()}}, ctx=ctx)
    with pytest.raises(EmptyPeriod):
        get_tool("vip_report")({"period": {"start": "2025-05-31", "end": "2025-05-01"}}, ctx=ctx)


@pytest.mark.slow
def test_snapshot_path_matches(tmp_path_factory):
    from tools.refresh import refresh_features

    url = demo_database(tmp_path_factory, customers=1200, seed=1004, today=TODAY)
    computed = vip_report(VipReportParams(), ctx=_ctx(url))
    refresh_features(url=url, now=demo_now(TODAY), allow_partial=True)
    snap = vip_report(VipReportParams(), ctx=_ctx(url))
    assert snap.model_dump(exclude={"summary", "summary_zh"}) == computed.model_dump(
        exclude={"summary", "summary_zh"}
    )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def book_url(request, tmp_path_factory):
    for url in module_database(request, tmp_path_factory, request.param):
        build_small_book(url, customers=120)
        yield url


def test_small_book_on_each_backend(book_url):
    ctx = ToolContext.system(now=NOW, database_url=book_url)
    result = vip_report(VipReportParams(period={"start": "2025-01-01", "end": "2025-06-15"}), ctx=ctx)
    rfm = compute_rfm(engine_for(book_url), now=NOW, clusters=False)
    vips = set(rfm.loc[rfm["value_tier"] == "vip", "customer_id"])
    orders = pd.read_sql(
        "select customer_id, ordered_at, total_amount, status from orders", engine_for(book_url)
    )
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    orders = orders[~orders["status"].isin(["returned", "cancelled"]) & orders["customer_id"].isin(vips)]
    in_period = orders[orders["ordered_at"] >= "2025-01-01"]
    assert result.vips == len(vips) > 0
    assert result.vip_revenue == pytest.approx(in_period["total_amount"].sum(), abs=0.05)
    monthly = in_period.groupby(in_period["ordered_at"].dt.strftime("%Y-%m"))["total_amount"].sum()
    for m, value in monthly.items():
        assert result.monthly_revenue[m] == pytest.approx(value, abs=0.05)
