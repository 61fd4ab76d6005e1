"""The semantic layer's vocabulary: names, synonyms (EN/ZH), typed errors, defaults."""

from __future__ import annotations

import pytest
from _coretools_data import NOW, seed_crm

from storage.migrate import upgrade
from tools.context import ToolContext
from tools.errors import FutureDate, InvalidArgument
from tools.metrics import (
    DIMENSIONS,
    MEASURES,
    QueryMetricsParams,
    query_metrics,
    resolve_dimension,
    resolve_measure,
)

REQUIRED_MEASURES = {
    "revenue", "orders", "units", "customers", "new_customers", "active_customers", "average_order_value", "returns",
    "discount_amount", "promo_share", "campaign_conversions", "campaign_revenue", "interactions", "complaints",
    "tickets_open", "pipeline_amount",
}
REQUIRED_DIMENSIONS = {
    "day", "week", "month", "quarter", "year", "region", "city", "country", "category", "brand", "product", "channel",
    "owner", "tier", "segment", "value_tier", "campaign", "gender", "age_band",
}


def test_catalogue_covers_the_contract():
    assert REQUIRED_MEASURES <= set(MEASURES)
    assert REQUIRED_DIMENSIONS <= set(DIMENSIONS)
    for m in MEASURES.values():
        assert m.label and m.label_zh and m.description
    for d in DIMENSIONS.values():
        assert d.label and d.label_zh


@pytest.mark.parametrize(
    ("word", "name"),
    [("sales", "revenue"), ("销售额", "revenue"), ("营业额", "revenue"), ("收入", "revenue"), ("AOV", "average_order_value"),
     ("新客户", "new_customers"), ("Revenue", "revenue"), ("open tickets", "tickets_open")],
)
def test_measure_synonyms(word, name):
    assert resolve_measure(word) == name


@pytest.mark.parametrize(("word", "name"), [("地区", "region"), ("区域", "region"), ("rep", "owner"), ("品类", "category"),
                                            ("monthly", "month"), ("age group", "age_band")])
def test_dimension_synonyms(word, name):
    assert resolve_dimension(word) == name


def test_unknown_names_suggest_the_closest():
    with pytest.raises(InvalidArgument) as err:
        resolve_measure("revenu")
    assert "revenue" in err.value.hint and err.value.code == "invalid_argument"
    with pytest.raises(InvalidArgument) as err:
        resolve_dimension("regon")
    assert "region" in err.value.hint


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    u = f"sqlite:///{tmp_path_factory.mktemp('metrics') / 'crm.sqlite3'}"
    upgrade(u)
    seed_crm(u, customers=30)
    return u


def _q(url, **kw):
    return query_metrics(QueryMetricsParams(**kw), ctx=ToolContext.system(now=NOW, database_url=url))


def test_inapplicable_dimension_and_bad_filters(url):
    with pytest.raises(InvalidArgument, match="category"):
        _q(url, measures=["complaints"], dimensions=["category"])
    with pytest.raises(InvalidArgument, match="period"):
        _q(url, measures=["revenue"], filters={"month": "2026-01"})
    with pytest.raises(InvalidArgument):
        _q(url, measures=["revenue"], sort_by="units")
    with pytest.raises(FutureDate):
        _q(url, measures=["revenue"], period={"start": "2030-01-01"})


def test_mixed_facts_merge_on_dimensions(url):
    r = _q(url, measures=["revenue", "interactions", "pipeline_amount"], dimensions=["owner"])
    assert set(r.sources) == {"orders", "interactions", "opportunities"}
    assert {"Li Lei", "Han Meimei", "Bob West"} <= {row["owner"] for row in r.rows}


def test_default_periods_depend_on_grain(url):
    assert _q(url, measures=["revenue"], dimensions=["day"]).total_rows == 30
    assert _q(url, measures=["revenue"], dimensions=["week"]).total_rows == 12
    r = _q(url, measures=["revenue"], dimensions=["month"])
    assert r.total_rows == 12 and r.rows[-1]["month"] == "2026-11"
    r = _q(url, measures=["revenue"], dimensions=["week"])
    assert r.rows[0]["week"] == "2026-08-24"  # a Monday


def test_results_render_for_every_edge(url):
    r = _q(url, measures=["销售额", "订单数"], dimensions=["地区"], top_n=3)
    assert r.to_text() and r.to_text(lang="zh").startswith("销售额") and r.to_blocks() and r.to_json()["rows"]
    assert r.chart is not None and r.chart.kind == "bar"
    assert len(r.rows) == 3
