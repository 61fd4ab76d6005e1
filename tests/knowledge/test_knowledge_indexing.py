"""Incremental indexing: new, changed and deleted interactions, owner moves, immediate indexing."""

from __future__ import annotations

from datetime import timedelta

from _knowledge_data import NOW
from sqlmodel import Session

from knowledge.indexing import index_interactions, sync_index, update_owner
from knowledge.retrieval import search
from knowledge.store import get_collection
from storage.db import engine_for
from storage.models import Customer, Interaction
from storage.scope import Scope


def _chunks_of(interaction_id: int) -> dict:
    return get_collection().get(where={"interaction_id": interaction_id}, include=["metadatas", "documents"])


def _top(query: str, **kwargs) -> list[str]:
    return [h.external_id for h in search(query, scope=Scope.everything(), **kwargs)]


def test_first_sync_indexes_everything_and_second_sync_does_nothing(kcrm):
    calls = []
    first = sync_index(progress=lambda done, total: calls.append((done, total)))
    assert (first.added, first.changed, first.deleted) == (10, 0, 0)
    assert calls[-1] == (10, 10)
    # The long visit report is split into several chunks.
    assert first.chunks_written > 10
    assert len(_chunks_of(kcrm.interactions["k1"])["ids"]) > 1
    second = sync_index()
    assert (second.added, second.changed, second.deleted, second.owner_updates, second.chunks_written) == (0, 0, 0, 0, 0)


def test_changed_interaction_is_re_embedded_and_old_text_is_gone(indexed):
    iid = indexed.interactions["b2"]
    with Session(engine_for(indexed.url)) as s:
        row = s.get(Interaction, iid)
        row.body = "Showroom visit: ordered a walnut conference table, delivery in March."
        s.add(row)
        s.commit()
    report = sync_index()
    assert (report.added, report.changed, report.deleted) == (0, 1, 0)
    docs = _chunks_of(iid)["documents"]
    assert docs and "walnut" in docs[0] and "chairs" not in docs[0]
    assert _top("walnut conference table", limit=1) == ["INT-b2"]


def test_long_text_shrinking_to_one_chunk_leaves_no_orphan_chunks(indexed):
    iid = indexed.interactions["k1"]
    assert len(_chunks_of(iid)["ids"]) > 1
    with Session(engine_for(indexed.url)) as s:
        row = s.get(Interaction, iid)
        row.body = "Short summary only."
        s.add(row)
        s.commit()
    sync_index()
    assert _chunks_of(iid)["ids"] == [f"i{iid}:0"]


def test_deleted_interaction_is_removed(indexed):
    iid = indexed.interactions["p1"]
    with Session(engine_for(indexed.url)) as s:
        s.delete(s.get(Interaction, iid))
        s.commit()
    report = sync_index()
    assert report.deleted == 1
    assert _chunks_of(iid)["ids"] == []
    assert "INT-p1" not in _top("bulk pricing standing desk")


def test_owner_change_updates_metadata_without_re_embedding(indexed):
    alice = indexed.customers["alice"]
    with Session(engine_for(indexed.url)) as s:
        customer = s.get(Customer, alice)
        customer.owner_id = indexed.staff["rep_b"]
        s.add(customer)
        s.commit()
    report = sync_index()
    assert report.owner_updates == 3 and report.embedded == 0
    owners = {m["owner_id"] for m in get_collection().get(where={"customer_id": alice}, include=["metadatas"])["metadatas"]}
    assert owners == {indexed.staff["rep_b"]}


def test_update_owner_moves_a_customer_to_the_pool_at_once(indexed):
    chen = indexed.customers["chen"]
    assert update_owner(chen, None) == 3
    metas = get_collection().get(where={"customer_id": chen}, include=["metadatas"])["metadatas"]
    assert {m["owner_id"] for m in metas} == {0}


def test_index_interactions_makes_a_new_note_searchable_at_once(indexed):
    with Session(engine_for(indexed.url)) as s:
        row = Interaction(
            external_id="INT-new", customer_id=indexed.customers["alice"], staff_id=indexed.staff["rep_a"],
            channel="phone", kind="note", body="She wants the teal ottoman gift-wrapped for her mother.",
            occurred_at=NOW - timedelta(hours=1), language="en",
        )
        s.add(row)
        s.commit()
        new_id = row.id
    report = index_interactions([new_id])
    assert (report.added, report.changed) == (1, 0)
    assert _top("teal ottoman", limit=1) == ["INT-new"]
    # Re-indexing the same id replaces, never duplicates.
    again = index_interactions([new_id])
    assert again.changed == 1
    assert len(_chunks_of(new_id)["ids"]) == 1
    # And a sync afterwards finds nothing to do.
    assert sync_index().embedded == 0


def test_index_interactions_drops_ids_that_no_longer_exist(indexed):
    iid = indexed.interactions["a3"]
    with Session(engine_for(indexed.url)) as s:
        s.delete(s.get(Interaction, iid))
        s.commit()
    assert index_interactions([iid]).deleted == 1
    assert _chunks_of(iid)["ids"] == []


def test_rebuild_starts_from_an_empty_collection(indexed):
    report = sync_index(rebuild=True)
    assert report.added == 10 and report.deleted == 0
