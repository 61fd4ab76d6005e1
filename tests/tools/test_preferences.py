"""purchase_preferences: planted price-sensitive customers, numbers against pandas, groups, scope, errors."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
from analytics_fixtures import NOW, build_small_book, demo_database, demo_now, module_database

from storage.db import engine_for
from tools import Ambiguous, EmptyPeriod, FutureDate, InvalidArgument, NotFound, ToolContext, get_tool
from tools.preferences import PurchasePreferencesParams, purchase_preferences

CUSTOMERS, SEED, TODAY = 2500, 5, date(2025, 6, 18)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = demo_database(tmp_path_factory, customers=CUSTOMERS, seed=SEED, today=TODAY)
    lines = pd.read_sql(
        "select o.id order_id, o.customer_id, o.ordered_at, o.channel, o.status, p.category, p.brand, "
        "l.quantity, l.unit_price, l.discount, l.promo, l.amount from order_line l "
        "join orders o on o.id = l.order_id join product p on p.id = l.product_id",
        engine_for(url),
    )
    lines["ordered_at"] = pd.to_datetime(lines["ordered_at"])
    lines = lines[~lines["status"].isin(["returned", "cancelled"]) & (lines["ordered_at"] < demo_now(TODAY))]
    return url, lines


def _ctx(url: str) -> ToolContext:
    return ToolContext.system(now=demo_now(TODAY), database_url=url)


@pytest.mark.slow
def test_planted_price_sensitive_customers_rank_high(demo):
    url, lines = demo
    truth = pd.read_sql("select subject_id from demo_truth where kind = 'price_sensitive'", engine_for(url))
    n_lines = lines.groupby("customer_id").size()
    levels, well_observed = [], []
    for cid in truth["subject_id"].sort_values().head(160):
        if cid not in n_lines.index:
            continue  # every order returned or cancelled: nothing to rank
        result = purchase_preferences(PurchasePreferencesParams(customer=int(cid)), ctx=_ctx(url))
        levels.append(result.price.level)
        if n_lines[cid] >= 6:
            well_observed.append(result.price.level)
    assert len(levels) >= 150
    # All of them, including customers seen on one or two lines, where shrinkage rightly holds some back.
    assert levels.count("high") / len(levels) >= 0.9, pd.Series(levels).value_counts()
    assert well_observed.count("high") / len(well_observed) >= 0.97


@pytest.mark.slow
def test_ordinary_customers_are_rarely_flagged(demo):
    url, lines = demo
    planted = set(
        pd.read_sql("select subject_id from demo_truth where kind = 'price_sensitive'", engine_for(url))[
            "subject_id"
        ]
    )
    counts = lines.groupby("customer_id").size()
    others = [c for c in counts[counts >= 6].index if c not in planted][:80]
    levels = [
        purchase_preferences(PurchasePreferencesParams(customer=int(c)), ctx=_ctx(url)).price.level
        for c in others
    ]
    assert levels.count("high") / len(levels) <= 0.25


def test_numbers_match_pandas_for_one_customer(demo):
    url, lines = demo
    cid = int(lines.groupby("customer_id").size().sort_values().index[-5])
    result = get_tool("purchase_preferences")({"customer": cid, "top": 20}, ctx=_ctx(url))
    mine = lines[lines["customer_id"] == cid]
    spend = mine.groupby("category")["amount"].sum()
    everyone = lines.groupby("category")["amount"].sum()
    for a in result.categories:
        share = spend[a.name] / spend.sum()
        assert a.share == pytest.approx(share, abs=1e-4)
        assert a.population_share == pytest.approx(everyone[a.name] / everyone.sum(), abs=1e-4)
        assert a.lift == pytest.approx(share / (everyone[a.name] / everyone.sum()), abs=1e-3)
    assert result.orders == mine["order_id"].nunique()
    assert result.price.promo_unit_share == pytest.approx(
        mine.loc[mine["promo"].astype(bool), "quantity"].sum() / mine["quantity"].sum(), abs=1e-4
    )
    gross = mine["quantity"] * mine["unit_price"]
    assert result.price.discount_depth == pytest.approx(
        (gross * mine["discount"]).sum() / gross.sum(), abs=1e-4
    )
    orders = mine.drop_duplicates("order_id")
    shares = orders["channel"].value_counts(normalize=True)
    assert {c.channel: c.share for c in result.channels} == pytest.approx(shares.round(4).to_dict(), abs=1e-4)
    weekday = orders["ordered_at"].dt.day_of_week.value_counts()
    assert sum(result.timing.weekday_orders.values()) == len(orders)
    assert result.timing.weekday_orders["Mon"] == int(weekday.get(0, 0))
    assert result.timing.best_hour_band is not None and result.chart is not None and result.summary_zh


def test_segment_and_tier_groups(demo):
    url, lines = demo
    vip = get_tool("purchase_preferences")({"tier": "vip"}, ctx=_ctx(url))
    assert vip.customers > 0 and vip.price.members_high is not None
    assert vip.price.promo_unit_share < vip.price.population_promo_unit_share, (
        "designed VIPs are not bargain hunters"
    )
    champions = get_tool("purchase_preferences")({"segment": "champions", "tier": "vip"}, ctx=_ctx(url))
    assert 0 < champions.customers <= vip.customers


def test_scope_and_typed_errors(demo):
    url, lines = demo
    engine = engine_for(url)
    rep = pd.read_sql("select id, email from staff_user where role = 'rep' order by id limit 1", engine).iloc[
        0
    ]
    other = pd.read_sql(
        f"select id, name from customer where owner_id is not null and owner_id != {rep['id']} "
        "and id in (select customer_id from orders) limit 1",
        engine,
    ).iloc[0]
    rep_ctx = ToolContext.for_email(rep["email"], now=demo_now(TODAY), database_url=url)
    with pytest.raises(NotFound) as outside:
        get_tool("purchase_preferences")({"customer": int(other["id"])}, ctx=rep_ctx)
    with pytest.raises(NotFound) as missing:
        get_tool("purchase_preferences")({"customer": 10**7}, ctx=rep_ctx)
    assert outside.value.message.replace(str(other["id"]), "X") == missing.value.message.replace(
        str(10**7), "X"
    )
    details = pd.read_sql("select detail from demo_truth where kind = 'ambiguous_name'", engine)["detail"]
    details = [json.loads(d) if isinstance(d, str) else d for d in details]
    name = next(d["name"] for d in details if len(d["same_name_customer_ids"]) >= 2)
    with pytest.raises(Ambiguous) as err:
        get_tool("purchase_preferences")({"customer": name}, ctx=_ctx(url))
    assert len(err.value.candidates) >= 2
    with pytest.raises(InvalidArgument):
        get_tool("purchase_preferences")({}, ctx=_ctx(url))
    with pytest.raises(FutureDate):
        get_tool("purchase_preferences")(
            {"tier": "vip", "period": {"start": (TODAY + timedelta(days=3)).isoformat()}}, ctx=_ctx(url)
        )
    cid = int(lines["customer_id"].iloc[0])
    with pytest.raises(EmptyPeriod):
        get_tool("purchase_preferences")(
            {"customer": cid, "period": {"start": "2000-01-01", "end": "2000-01-31"}}, ctx=_ctx(url)
        )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def book_url(request, tmp_path_factory):
    for url in module_database(request, tmp_path_factory, request.param):
        build_small_book(url)
        yield url


def test_small_book_on_each_backend(book_url):
    ctx = ToolContext.system(now=NOW, database_url=book_url)
    lines = pd.read_sql(
        "select o.customer_id, o.status, l.quantity, l.promo from order_line l join orders o on o.id = l.order_id",
        engine_for(book_url),
    )
    lines = lines[~lines["status"].isin(["returned", "cancelled"])]
    # The book's bargain hunters are the customers whose id is a multiple of 5.
    bargain = sorted(
        {c for c in lines["customer_id"] if c % 5 == 0 and (lines["customer_id"] == c).sum() >= 6}
    )
    levels = [
        purchase_preferences(PurchasePreferencesParams(customer=c), ctx=ctx).price.level for c in bargain
    ]
    assert levels.count("high") >= 0.8 * len(levels)
    one = purchase_preferences(PurchasePreferencesParams(customer=bargain[0]), ctx=ctx)
    mine = lines[lines["customer_id"] == bargain[0]]
    assert one.price.promo_unit_share == pytest.approx(
        mine.loc[mine["promo"].astype(bool), "quantity"].sum() / mine["quantity"].sum(), abs=1e-4
    )
    assert get_tool("purchase_preferences")({"tier": "low"}, ctx=ctx).customers > 0
