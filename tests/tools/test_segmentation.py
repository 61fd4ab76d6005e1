"""RFM, value tiers, clusters, cadence and segment_customers against independent pandas computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analytics_fixtures import NOW, build_small_book, module_database, revenue_orders_frame
from sqlmodel import Session

from storage.db import engine_for
from storage.models.features import CustomerFeatures, FeatureRefresh
from tools import InvalidArgument, ToolContext, get_tool
from tools.cadence import compute_cadence
from tools.rfm import SEGMENTS, cluster_labels, compute_rfm, segment_for
from tools.segmentation import SegmentCustomersParams, normalize_segment, segment_customers


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def book_url(request, tmp_path_factory):
    yield from module_database(request, tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def book_base(book_url):
    staff = build_small_book(book_url)
    return book_url, staff, revenue_orders_frame(book_url)


@pytest.fixture
def book(book_base):
    # Tests that write (the snapshot test) clean up after themselves, so the module can share one book.
    return book_base


def _quintile(values: pd.Series) -> pd.Series:
    # Independent of tools.rfm: ceil(5 * average-rank percentile).
    ranks = values.rank(method="average")
    return np.ceil(5 * ranks / len(values)).astype(int)


def test_rfm_matches_pandas(book):
    url, _, orders = book
    rfm = compute_rfm(engine_for(url), now=NOW).set_index("customer_id")
    g = orders.groupby("customer_id")
    recency = (pd.Timestamp(NOW) - g["ordered_at"].max()).dt.total_seconds() / 86400
    assert set(rfm.index) == set(g.groups)
    assert rfm["frequency"].to_dict() == g.size().to_dict()
    assert rfm["monetary"].to_numpy() == pytest.approx(
        g["total_amount"].sum().reindex(rfm.index).to_numpy(), abs=0.01
    )
    assert rfm["recency_days"].to_numpy() == pytest.approx(recency.reindex(rfm.index).to_numpy(), abs=1e-3)
    assert (rfm["r_score"] == _quintile(-recency).reindex(rfm.index)).all()
    assert (rfm["f_score"] == _quintile(g.size()).reindex(rfm.index)).all()
    assert (rfm["m_score"] == _quintile(g["total_amount"].sum()).reindex(rfm.index)).all()
    fm = np.floor((rfm["f_score"] + rfm["m_score"]) / 2 + 0.5).astype(int)
    assert all(rfm["rfm_segment"] == [segment_for(r, f) for r, f in zip(rfm["r_score"], fm, strict=True)])
    spend_rank = g["total_amount"].sum().rank(pct=True).reindex(rfm.index)
    assert (
        rfm["value_tier"] == np.where(spend_rank > 0.95, "vip", np.where(spend_rank > 0.6, "mid", "low"))
    ).all()


def test_segment_grid_is_the_documented_map():
    assert (
        segment_for(5, 5) == "champions" and segment_for(5, 1) == "new" and segment_for(4, 1) == "promising"
    )
    assert segment_for(3, 3) == "need_attention" and segment_for(3, 2) == "about_to_sleep"
    assert segment_for(1, 5) == "cant_lose_them" and segment_for(2, 4) == "at_risk"
    assert segment_for(1, 1) == "lost" and segment_for(2, 2) == "hibernating" and segment_for(4, 4) == "loyal"
    used = {segment_for(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert used == set(SEGMENTS), "every named segment is reachable and none is undocumented"


def test_clusters_are_ranked_by_value_and_k_is_chosen():
    rng = np.random.default_rng(0)
    blobs = [(5, 2, 3000), (200, 1, 80), (30, 8, 900)]
    rows = [
        {
            "recency_days": r * rng.uniform(0.8, 1.2),
            "frequency": max(1, round(f * rng.uniform(0.8, 1.2))),
            "monetary": m * rng.uniform(0.8, 1.2),
        }
        for r, f, m in blobs
        for _ in range(150)
    ]
    frame = pd.DataFrame(rows)
    labels = cluster_labels(frame)
    assert len(set(labels)) == 3, "three well separated groups give k = 3"
    means = frame.groupby(labels)["monetary"].mean()
    assert list(means.sort_values(ascending=False).index) == [1, 2, 3]


def test_cadence_matches_pandas(book):
    url, _, orders = book
    cad = compute_cadence(engine_for(url), now=NOW).set_index("customer_id")
    for cid, group in orders.groupby("customer_id"):
        days = sorted(set(group["ordered_at"].dt.normalize()))
        gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
        row = cad.loc[cid]
        assert row["orders"] == len(group)
        if len(gaps) >= 1:
            assert row["usual_gap_days"] == pytest.approx(float(np.median(gaps)))
        else:
            assert np.isnan(row["usual_gap_days"])
        age = (pd.Timestamp(NOW) - group["ordered_at"]).dt.total_seconds() / 86400
        assert row["spend_90d"] == pytest.approx(group.loc[age <= 90, "total_amount"].sum(), abs=0.01)
        assert row["spend_prev_90d"] == pytest.approx(
            group.loc[(age > 90) & (age <= 180), "total_amount"].sum(), abs=0.01
        )
        assert row["orders_prev_90d"] == int(((age > 90) & (age <= 180)).sum())
        assert row["days_since_last"] == pytest.approx(age.min(), abs=1e-3)
        assert pd.Timestamp(row["last_order_at"]) == group["ordered_at"].max().round("s")


def test_segment_profiles_match_pandas(book):
    url, _, orders = book
    rfm = compute_rfm(engine_for(url), now=NOW)
    result = segment_customers(SegmentCustomersParams(), ctx=ToolContext.system(now=NOW, database_url=url))
    assert result.source == "computed"
    expected = rfm.groupby("rfm_segment").agg(
        n=("customer_id", "size"), mon=("monetary", "mean"), rev=("monetary", "sum")
    )
    got = {g.key: g for g in result.groups}
    assert set(got) == set(expected.index)
    for key, row in expected.iterrows():
        assert got[key].customers == row["n"]
        assert got[key].avg_monetary == pytest.approx(row["mon"], abs=0.01)
        assert got[key].revenue_share == pytest.approx(row["rev"] / rfm["monetary"].sum(), abs=1e-4)
    assert result.total_customers == len(rfm)
    assert result.chart is not None and result.summary_zh


def test_rep_scope_counts_own_and_pool_with_company_wide_scores(book):
    url, staff, orders = book
    ctx = ToolContext.for_email("rep1@x.test", now=NOW, database_url=url)
    result = get_tool("segment_customers")({"by": "tier", "list_members": True, "limit": 500}, ctx=ctx)
    visible = orders[(orders["owner_id"] == staff["rep1"]) | orders["owner_id"].isna()][
        "customer_id"
    ].unique()
    assert result.total_customers == len(visible)
    assert {m.customer_id for m in result.members} == set(visible)
    company = compute_rfm(engine_for(url), now=NOW).set_index("customer_id")
    for m in result.members:
        assert m.value_tier == company.loc[m.customer_id, "value_tier"]


def test_filters_members_and_snapshot_path(book):
    url, _, _ = book
    engine = engine_for(url)
    rfm = compute_rfm(engine, now=NOW)
    ctx = ToolContext.system(now=NOW, database_url=url)
    params = {"segment": "Can't lose them", "by": "tier", "list_members": True}
    computed = get_tool("segment_customers")(params, ctx=ctx)
    # Write the snapshot as crm refresh would, then the same question is answered from it.
    max_id, count = pd.read_sql("select max(id) m, count(*) n from orders", engine).iloc[0]
    with Session(engine) as s:
        for r in rfm.to_dict("records"):
            s.add(CustomerFeatures(computed_at=NOW, data_fingerprint="t", **{k: r[k] for k in rfm.columns}))
        s.add(
            FeatureRefresh(
                started_at=NOW,
                finished_at=NOW,
                as_of=NOW,
                data_fingerprint="t",
                max_order_id=int(max_id),
                order_count=int(count),
                mode="full",
            )
        )
        s.commit()
    try:
        snap = get_tool("segment_customers")(params, ctx=ctx)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("delete from customer_features")
            conn.exec_driver_sql("delete from feature_refresh")
    assert snap.source == "snapshot"
    assert [g.model_dump() for g in snap.groups] == [g.model_dump() for g in computed.groups]
    assert [m.customer_id for m in snap.members] == [m.customer_id for m in computed.members]
    assert all(m.rfm_segment == "cant_lose_them" for m in snap.members)
    assert snap.total_customers == int((rfm["rfm_segment"] == "cant_lose_them").sum())


def test_unknown_segment_and_tier_are_typed_errors(book):
    url, _, _ = book
    ctx = ToolContext.system(now=NOW, database_url=url)
    with pytest.raises(InvalidArgument) as err:
        get_tool("segment_customers")({"segment": "whales"}, ctx=ctx)
    assert "champions" in err.value.hint
    with pytest.raises(InvalidArgument):
        get_tool("segment_customers")({"tier": "platinum-ish"}, ctx=ctx)
    with pytest.raises(InvalidArgument):
        get_tool("segment_customers")({"by": "colour"}, ctx=ctx)
    assert normalize_segment("流失风险客户") == "at_risk" and normalize_segment("at-risk") == "at_risk"
