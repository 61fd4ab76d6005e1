"""Erasure removes a customer's vectors; Chinese queries find Chinese interactions."""

from __future__ import annotations

import pytest

from knowledge.erase import erase_customer
from knowledge.hits import SearchFilters
from knowledge.retrieval import search
from knowledge.store import get_collection
from storage.scope import Scope


def test_erase_customer_removes_every_chunk_and_nothing_else(indexed):
    collection = get_collection()
    before = collection.count()
    acme = indexed.customers["acme"]
    acme_chunks = len(collection.get(where={"customer_id": acme}, include=[])["ids"])
    assert acme_chunks > 1
    assert erase_customer(acme) == acme_chunks
    assert collection.get(where={"customer_id": acme}, include=[])["ids"] == []
    assert collection.count() == before - acme_chunks
    assert all(h.customer_id != acme for h in search("invoice address Leeds office", scope=Scope.everything(), limit=20))
    # Erasing again is harmless.
    assert erase_customer(acme) == 0


@pytest.mark.parametrize(
    "query,expected",
    [
        ("配送", "INT-c1"),
        ("退款", "INT-c2"),
        ("质量问题", "INT-c2"),
        ("羊毛围巾", "INT-c3"),
        ("她之前投诉过配送吗", "INT-c1"),
        ("谁在微博上说要退款", "INT-c2"),
        ("ＳＯ－２０２４－００４５６", "INT-c1"),  # full-width order number
    ],
)
def test_chinese_queries_find_chinese_interactions(indexed, query, expected):
    hits = search(query, scope=Scope.everything(), limit=3)
    assert hits[0].external_id == expected


def test_chinese_query_within_one_customer(indexed):
    chen = indexed.customers["chen"]
    hits = search("客户满意吗", scope=Scope.everything(), filters=SearchFilters(customer_ids=[chen]), limit=3)
    assert hits and {h.customer_id for h in hits} == {chen}
    assert hits[0].customer_name == "陈静"


def test_english_identifiers_and_names_match_exactly(indexed):
    assert search("SO-2024-00123", scope=Scope.everything(), limit=1)[0].external_id == "INT-a1"
    assert search("kb-4410", scope=Scope.everything(), limit=1)[0].external_id == "INT-a2"
    hit = search("Leeds", scope=Scope.everything(), limit=1)[0]
    assert hit.external_id == "INT-k1" and "Leeds" in hit.snippet
