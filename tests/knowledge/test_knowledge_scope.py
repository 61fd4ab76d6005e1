"""Scope: a rep never retrieves another rep's customer, by meaning or by exact quote."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from knowledge.hits import SearchFilters
from knowledge.retrieval import build_where, search
from knowledge.store import get_collection
from storage.db import engine_for
from storage.models import Customer
from storage.scope import Scope

BOB_QUOTE = "Bob's codeword is purple elephant invoice 777"


def _rep(crm, key: str) -> Scope:
    return Scope(owner_ids=frozenset({crm.staff[key]}), include_pool=True)


def _ids(hits) -> set[str]:
    return {h.external_id for h in hits}


@pytest.mark.parametrize(
    "query",
    [BOB_QUOTE, "purple elephant", "777", "courier left the package in the rain", "Bob Smith", "\"purple elephant\""],
)
def test_rep_never_sees_another_reps_customer_even_by_exact_quote(indexed, query):
    rep_a = _rep(indexed, "rep_a")
    found = search(query, scope=rep_a, limit=50)
    assert {h.customer_id for h in found} <= {indexed.customers[k] for k in ("alice", "chen", "pool")}
    assert "INT-b1" not in _ids(found)
    # The owner sees it first.
    assert search(query, scope=_rep(indexed, "rep_b"), limit=1)[0].external_id == "INT-b1"


def test_scope_is_applied_inside_chroma_not_after(indexed):
    # The same where clause, read straight from Chroma, holds no chunk of Bob's.
    where = build_where(_rep(indexed, "rep_a"), None)
    metas = get_collection().get(where=where, include=["metadatas"])["metadatas"]
    assert metas and {m["customer_id"] for m in metas}.isdisjoint({indexed.customers["bob"], indexed.customers["acme"]})
    matched = get_collection().get(where=where, where_document={"$contains": "purple elephant"}, include=[])
    assert matched["ids"] == []


def test_empty_scope_matches_nothing(indexed):
    assert search("delivery", scope=Scope(), limit=10) == []
    assert build_where(Scope(), None) == {"owner_id": {"$in": [-1]}}


def test_pool_customers_are_visible_to_reps_and_managers_see_their_team(indexed):
    assert "INT-p1" in _ids(search("bulk pricing standing desk", scope=_rep(indexed, "rep_a"), limit=3))
    manager = Scope(owner_ids=frozenset({indexed.staff["rep_a"], indexed.staff["manager"]}), include_pool=True)
    assert "INT-b1" not in _ids(search("purple elephant", scope=manager, limit=20))
    assert "INT-b1" in _ids(search("purple elephant", scope=Scope.everything(), limit=1))


def test_owner_is_rechecked_in_sql_when_the_index_is_stale(indexed):
    # Bob moves to rep A in SQL but nobody tells the index: rep B must lose him at once,
    # even though Chroma still says rep B owns the chunks.
    with Session(engine_for(indexed.url)) as s:
        bob = s.get(Customer, indexed.customers["bob"])
        bob.owner_id = indexed.staff["rep_a"]
        s.add(bob)
        s.commit()
    assert "INT-b1" not in _ids(search(BOB_QUOTE, scope=_rep(indexed, "rep_b"), limit=20))
    # Rep A gains him only once the index knows (the where clause is the first gate).
    assert "INT-b1" not in _ids(search(BOB_QUOTE, scope=_rep(indexed, "rep_a"), limit=20))
    from knowledge.indexing import update_owner

    update_owner(indexed.customers["bob"], indexed.staff["rep_a"])
    assert "INT-b1" in _ids(search(BOB_QUOTE, scope=_rep(indexed, "rep_a"), limit=3))


def test_filters_narrow_by_customer_channel_kind_and_time(indexed):
    alice = indexed.customers["alice"]
    everything = Scope.everything()
    only_alice = search("refund delivery", scope=everything, filters=SearchFilters(customer_ids=[alice]), limit=20)
    assert only_alice and {h.customer_id for h in only_alice} == {alice}
    phone = search("delivery", scope=everything, filters=SearchFilters(channels=["phone"]), limit=20)
    assert phone and {h.channel for h in phone} == {"phone"}
    complaints = search("delivery", scope=everything, filters=SearchFilters(kinds=["complaint"]), limit=20)
    assert complaints and {h.kind for h in complaints} == {"complaint"}
    from datetime import timedelta

    from _knowledge_data import NOW

    recent = search("delivery refund", scope=everything, filters=SearchFilters(start=NOW - timedelta(days=14)), limit=20)
    assert recent and all(h.occurred_at >= NOW - timedelta(days=14) for h in recent)
