"""cross_sell on the synthetic book: planted pairs are found with hand-checkable numbers; suggestions skip owned products."""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_fixtures import module_database
from predictive_data import NOW, build_churn_book

from storage.db import engine_for
from storage.models import StaffUser
from tools import EmptyPeriod, NotFound, ToolContext, get_tool
from tools.association_rules import BasketFilter, load_baskets, mine_rules


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path_factory):
    yield from module_database(request, tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def book(database_url):
    return database_url, build_churn_book(database_url, seed=5)


def _independent_rule(url: str, a: str, b: str) -> tuple[float, float, float]:
    """Support, confidence, lift of a -> b over revenue orders, straight from SQL + pandas."""
    lines = pd.read_sql(
        "select l.order_id, p.sku from order_line l join orders o on o.id = l.order_id join product p on p.id = l.product_id "
        "where o.status not in ('returned', 'cancelled')", engine_for(url))
    baskets = lines.groupby("order_id")["sku"].apply(set)
    has_a, has_b = baskets.map(lambda s: a in s), baskets.map(lambda s: b in s)
    support = (has_a & has_b).mean()
    return support, support / has_a.mean(), support / (has_a.mean() * has_b.mean())


def test_rules_match_an_independent_count(book):
    url, _ = book
    result = get_tool("cross_sell")({"min_support": 0.05, "limit": 100}, ctx=ToolContext.system(now=NOW, database_url=url))
    rule = next(r for r in result.rules if r.antecedents == ["Product A"] and r.consequents == ["Product B"])
    support, confidence, lift = _independent_rule(url, "A", "B")
    assert rule.support == pytest.approx(support, abs=1e-4)
    assert rule.confidence == pytest.approx(confidence, abs=1e-4)
    assert rule.lift == pytest.approx(lift, rel=1e-3)
    top = set(result.rules[0].antecedents + result.rules[0].consequents)
    assert result.rules[0].lift >= 2 and ({"Product A", "Product B"} <= top or {"Product C", "Product D"} <= top)


def test_apriori_and_fpgrowth_agree(book):
    url, _ = book
    baskets = load_baskets(engine_for(url), where=BasketFilter())
    a = mine_rules(baskets, min_support=0.05, algorithm="apriori")
    b = mine_rules(baskets, min_support=0.05, algorithm="fpgrowth")
    key = lambda f: sorted((tuple(sorted(x)), tuple(sorted(y)), round(lift, 9)) for x, y, lift in  # noqa: E731
                           zip(f["antecedents"], f["consequents"], f["lift"], strict=True))
    assert key(a) == key(b) and len(a) > 0


def test_suggestions_leave_out_what_the_customer_has(book):
    url, truth = book
    ctx = ToolContext.system(now=NOW, database_url=url)
    owned = pd.read_sql(
        "select distinct o.customer_id, p.name from order_line l join orders o on o.id = l.order_id "
        "join product p on p.id = l.product_id where o.status not in ('returned', 'cancelled')", engine_for(url))
    customer = min(truth["a_without_b"])
    assert "Product A" in set(owned[owned["customer_id"] == customer]["name"])
    mine = set(owned[owned["customer_id"] == customer]["name"])
    result = get_tool("cross_sell")({"customer": customer, "limit": 3}, ctx=ctx)
    assert result.suggestions and not ({s.product for s in result.suggestions} & mine)
    assert result.suggestions[0].product == "Product B" and "Product A" in result.suggestions[0].because


def test_country_scope_and_errors(book):
    url, truth = book
    ctx = ToolContext.system(now=NOW, database_url=url)
    france = get_tool("cross_sell")({"country": "france", "min_support": 0.05}, ctx=ctx)
    everyone = get_tool("cross_sell")({"min_support": 0.05}, ctx=ctx)
    assert 0 < france.baskets < everyone.baskets
    with pytest.raises(EmptyPeriod):
        get_tool("cross_sell")({"country": "Atlantis"}, ctx=ctx)
    with pytest.raises(NotFound):
        get_tool("cross_sell")({"customer": "Nobody At All"}, ctx=ctx)
    with engine_for(url).connect() as conn:
        rep = StaffUser.model_validate(conn.execute(StaffUser.__table__.select().where(StaffUser.id == 2)).one()._mapping)
    rep_ctx = ToolContext.for_user(rep, now=NOW, database_url=url)
    theirs = get_tool("cross_sell")({"min_support": 0.05}, ctx=rep_ctx)
    assert theirs.baskets < everyone.baskets  # only rep 2's customers and the pool
    with pytest.raises(NotFound):
        get_tool("cross_sell")({"customer": 3}, ctx=rep_ctx)  # customer 3 belongs to rep 1
