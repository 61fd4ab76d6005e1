"""purchase_history and order_status: totals vs pandas, filters, scope and errors."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from _coretools_data import NOW, seed_crm

from storage.db import engine_for
from storage.migrate import upgrade
from tools.context import ToolContext
from tools.errors import EmptyPeriod, FutureDate, InvalidArgument, NotFound
from tools.orders import OrderStatusParams, PurchaseHistoryParams, order_status, purchase_history
from tools.registry import get_tool


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('orders') / 'crm.sqlite3'}"
    upgrade(url)
    return seed_crm(url, customers=50, seed=11)


@pytest.fixture(scope="module")
def lines(crm):
    with engine_for(crm.url).connect() as conn:
        return pd.read_sql(
            "SELECT o.id AS order_id, o.customer_id, o.ordered_at, o.status, o.external_id, l.quantity, l.amount, "
            "p.category, p.brand FROM order_line l JOIN orders o ON o.id = l.order_id JOIN product p ON p.id = l.product_id",
            conn,
            parse_dates=["ordered_at"],
        )


def _ctx(crm, email=None):
    if email is None:
        return ToolContext.system(now=NOW, database_url=crm.url)
    return ToolContext.for_email(email, now=NOW, database_url=crm.url)


def _busiest(lines) -> int:
    return int(lines.customer_id.value_counts().index[0])


def test_history_totals_match_pandas(crm, lines):
    cid = _busiest(lines)
    r = purchase_history(PurchaseHistoryParams(customer=cid), ctx=_ctx(crm))
    mine = lines[lines.customer_id == cid]
    rev = mine[~mine.status.isin(["returned", "cancelled"])]
    assert r.revenue == pytest.approx(round(rev.amount.sum(), 2))
    assert r.orders == rev.order_id.nunique()
    assert r.units == rev.quantity.sum()
    assert r.total_lines == len(mine)
    by_cat = rev.groupby("category").amount.sum().round(2).to_dict()
    assert {c.category: c.revenue for c in r.by_category} == pytest.approx(by_cat)
    assert r.chart is not None and r.chart.kind == "bar"
    assert r.returned_or_cancelled_orders == mine[mine.status.isin(["returned", "cancelled"])].order_id.nunique()


def test_history_period_and_category_filters(crm, lines):
    cid = _busiest(lines)
    period = {"start": "2026-01-01", "end": "2026-06-30"}
    r = get_tool("purchase_history")({"customer": cid, "period": period, "category": "audio"}, ctx=_ctx(crm))
    mine = lines[
        (lines.customer_id == cid)
        & (lines.ordered_at >= "2026-01-01")
        & (lines.ordered_at < "2026-07-01")
        & (lines.category == "Audio")
        & ~lines.status.isin(["returned", "cancelled"])
    ]
    assert r.revenue == pytest.approx(round(mine.amount.sum(), 2))
    assert all(line.category == "Audio" for line in r.lines)
    assert "2026-06-30" in r.summary


def test_history_errors(crm):
    with pytest.raises(FutureDate):
        purchase_history(PurchaseHistoryParams(customer=1, period={"start": date(2030, 1, 1)}), ctx=_ctx(crm))
    with pytest.raises(EmptyPeriod):
        purchase_history(PurchaseHistoryParams(customer=1, period={"start": "2026-05-01", "end": "2026-04-01"}), ctx=_ctx(crm))
    with pytest.raises(NotFound):
        purchase_history(PurchaseHistoryParams(customer=crm.customers["west"]), ctx=_ctx(crm, "rep1@t.crm"))


def test_order_status_one_order(crm, lines):
    delivered = lines[lines.status == "delivered"].iloc[0]
    r = order_status(OrderStatusParams(order=delivered.external_id.lower()), ctx=_ctx(crm))
    (o,) = r.orders
    assert o.status == "delivered" and o.external_id == delivered.external_id
    assert [e.event for e in o.timeline][:1] == ["ordered"] and o.timeline[-1].event == "delivered"
    assert o.days_in_transit == pytest.approx(2.0)
    assert len(o.items) == (lines.order_id == delivered.order_id).sum()
    assert r.citations[0].kind == "order"


def test_order_status_recent_orders_of_a_customer(crm, lines):
    cid = _busiest(lines)
    r = order_status(OrderStatusParams(customer=cid, limit=3), ctx=_ctx(crm))
    expected = lines[lines.customer_id == cid].drop_duplicates("order_id").sort_values("ordered_at", ascending=False)
    assert [o.external_id for o in r.orders] == list(expected.external_id.head(3))


def test_order_status_scope_and_arguments(crm, lines):
    west = crm.customers["west"]
    theirs = lines[lines.customer_id == west]
    if len(theirs):
        with pytest.raises(NotFound) as hidden:
            order_status(OrderStatusParams(order=theirs.external_id.iloc[0]), ctx=_ctx(crm, "rep1@t.crm"))
        with pytest.raises(NotFound) as missing:
            order_status(OrderStatusParams(order="SO-9999999"), ctx=_ctx(crm, "rep1@t.crm"))
        assert hidden.value.hint == missing.value.hint
    with pytest.raises(InvalidArgument):
        get_tool("order_status")({}, ctx=_ctx(crm))
    with pytest.raises(InvalidArgument):
        get_tool("order_status")({"order": "SO-1", "customer": 1}, ctx=_ctx(crm))
