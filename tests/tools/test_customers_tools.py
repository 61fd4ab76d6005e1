"""find_customers and customer_profile against independent pandas computations."""

from __future__ import annotations

import pandas as pd
import pytest
from _coretools_data import NOW, seed_crm

from storage.db import engine_for
from storage.migrate import upgrade
from tools.context import ToolContext
from tools.customers import CustomerProfileParams, FindCustomersParams, customer_profile, find_customers
from tools.errors import InvalidArgument, NotFound


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('customers') / 'crm.sqlite3'}"
    upgrade(url)
    return seed_crm(url, customers=60)


@pytest.fixture(scope="module")
def frames(crm):
    with engine_for(crm.url).connect() as conn:
        customers = pd.read_sql("SELECT * FROM customer", conn)
        orders = pd.read_sql("SELECT * FROM orders", conn, parse_dates=["ordered_at"])
        tags = pd.read_sql("SELECT * FROM customer_tag", conn)
    return customers, orders, tags


def _ctx(crm, email=None):
    if email is None:
        return ToolContext.system(now=NOW, database_url=crm.url)
    return ToolContext.for_email(email, now=NOW, database_url=crm.url)


def _find(crm, email=None, **kw):
    return find_customers(FindCustomersParams(**kw), ctx=_ctx(crm, email))


def test_filters_match_pandas(crm, frames):
    customers, _, tags = frames
    r = _find(crm, city="上海", limit=200)
    assert r.total == (customers.city == "Shanghai").sum()
    assert all(c.city == "Shanghai" for c in r.customers)

    r = _find(crm, tier="gold", pool="public", limit=200)
    expected = customers[(customers.loyalty_tier == "gold") & customers.owner_id.isna()]
    assert {c.id for c in r.customers} == set(expected.id)

    vip_news = set(tags[tags.tag == "vip"].customer_id) & set(tags[tags.tag == "newsletter"].customer_id)
    r = _find(crm, tags="vip,newsletter", limit=200)
    assert {c.id for c in r.customers} == vip_news


def test_owner_filter_and_rep_scope(crm, frames):
    customers, _, _ = frames
    rep1 = crm.staff["rep1"]
    r = _find(crm, owner="rep1@t.crm", limit=200)
    assert {c.id for c in r.customers} == set(customers[customers.owner_id == rep1].id)
    mine = _find(crm, "rep1@t.crm", owner="me", limit=200)
    assert mine.total == r.total
    everything = _find(crm, "rep1@t.crm", limit=200)
    visible = customers[(customers.owner_id == rep1) | customers.owner_id.isna()]
    assert everything.total == len(visible)
    assert {c.id for c in everything.customers} == set(visible.id)


def test_sort_by_spend_and_paging_match_pandas(crm, frames):
    customers, orders, _ = frames
    rev = orders[~orders.status.isin(["returned", "cancelled"])]
    spend = rev.groupby("customer_id").total_amount.sum()
    ranked = spend.reindex(customers.id, fill_value=0.0).sort_values(ascending=False, kind="stable")
    page1 = _find(crm, sort="spend", limit=5)
    page2 = _find(crm, sort="spend", limit=5, offset=5)
    got = [c.lifetime_spend for c in page1.customers + page2.customers]
    assert got == pytest.approx(list(ranked.head(10).round(2)))
    assert page1.total == len(customers)
    assert {c.id for c in page1.customers}.isdisjoint({c.id for c in page2.customers})


def test_fuzzy_name_search_in_both_scripts(crm):
    assert {c.name for c in _find(crm, name="chen jing").customers} >= {"Chen Jing", "陈静"}
    assert [c.name for c in _find(crm, name="张伟").customers][:1] == ["张伟"]
    assert _find(crm, name="qqqqzzzz").total == 0


def test_segment_needs_a_snapshot(crm):
    with pytest.raises(InvalidArgument, match="crm refresh"):
        _find(crm, segment="at risk")
    with pytest.raises(InvalidArgument):
        _find(crm, tier="diamond")


def test_profile_kpis_match_pandas(crm, frames):
    _, orders, tags = frames
    cid = crm.customers["chen_en"]
    p = customer_profile(CustomerProfileParams(customer="Chen Jing"), ctx=_ctx(crm))
    mine = orders[(orders.customer_id == cid) & (orders.ordered_at < NOW)]
    rev = mine[~mine.status.isin(["returned", "cancelled"])].sort_values("ordered_at")
    assert p.kpis.lifetime_spend == pytest.approx(round(rev.total_amount.sum(), 2))
    assert p.kpis.orders == len(rev)
    if len(rev):
        assert p.kpis.average_order_value == pytest.approx(round(rev.total_amount.mean(), 2))
        assert p.kpis.last_purchase == rev.ordered_at.max().date()
        days = sorted(set(rev.ordered_at.dt.date))
        gaps = pd.Series([(b - a).days for a, b in zip(days, days[1:], strict=False)])
        assert p.kpis.usual_gap_days == (pytest.approx(gaps.median()) if len(gaps) else None)
    assert p.kpis.returned_orders == int((mine.status == "returned").sum())
    assert sorted(p.customer.tags) == sorted(tags[tags.customer_id == cid].tag)
    assert p.customer.owner == "Li Lei" and not p.customer.in_pool
    assert p.customer.credit_rating is not None
    assert "Chen Jing" in p.summary and p.summary_zh
    assert p.citations[0].kind == "customer"


def test_profile_hides_credit_from_support_and_scope_hides_customers(crm):
    p = customer_profile(CustomerProfileParams(customer=crm.customers["chen_en"]), ctx=_ctx(crm, "support@t.crm"))
    assert p.customer.credit_rating is None and p.customer.overdue_amount is None and p.customer.credit_hidden
    assert "hidden" in p.to_text()
    with pytest.raises(NotFound):
        customer_profile(CustomerProfileParams(customer=crm.customers["west"]), ctx=_ctx(crm, "rep1@t.crm"))


def test_profile_open_tickets_and_interactions(crm):
    with engine_for(crm.url).connect() as conn:
        inter = pd.read_sql("SELECT * FROM interaction", conn)
    open_t = inter[inter.kind.isin(["ticket", "complaint"]) & inter.ticket_status.isin(["open", "pending"])]
    cid = int(open_t.customer_id.value_counts().index[0])
    p = customer_profile(CustomerProfileParams(customer=cid, interactions=3), ctx=_ctx(crm))
    assert len(p.open_tickets) == (open_t.customer_id == cid).sum()
    assert len(p.latest_interactions) == min(3, (inter.customer_id == cid).sum())
    stamps = [i.occurred_at for i in p.latest_interactions]
    assert stamps == sorted(stamps, reverse=True)
