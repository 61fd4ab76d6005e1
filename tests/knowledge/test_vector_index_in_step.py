"""The in-process index follows every write the app makes: index, owner moves, deletion, erasure, rebuild."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from _index_checks import assert_same_rows
from _knowledge_data import NOW
from sqlmodel import Session

from knowledge import chroma_legs
from knowledge.erase import erase_customer
from knowledge.index_sync import TOKEN_KEY
from knowledge.indexing import index_interactions, sync_index, update_owner
from knowledge.retrieval import search
from knowledge.settings import get_settings
from knowledge.store import forget_clients, get_collection, index_handle
from storage.db import engine_for
from storage.models import Customer, Interaction
from storage.scope import Scope


def _in_step() -> None:
    """The snapshot this process holds, and the one a fresh process would load, both match Chroma."""
    collection = get_collection()
    handle = index_handle(collection)
    state = handle.state
    assert state is not None and state.token == collection.metadata[TOKEN_KEY]
    assert_same_rows(state, collection)
    forget_clients()  # as if another process: load from the files only
    collection = get_collection()
    reloaded = index_handle(collection).current(build=False)
    assert reloaded is not None and reloaded.token == state.token
    assert_same_rows(reloaded, collection)


def _index_only(monkeypatch) -> None:
    """Fail loudly if a search falls back to Chroma: these tests are about the index path."""
    def boom(*args, **kwargs):
        raise AssertionError("search went to Chroma")

    monkeypatch.setattr(chroma_legs, "vector_leg", boom)
    monkeypatch.setattr(chroma_legs, "keyword_leg", boom)


def test_crm_index_builds_the_index_and_a_second_sync_keeps_it(indexed, monkeypatch):
    _in_step()
    _index_only(monkeypatch)
    assert search("parcel arrived two weeks late", scope=Scope.everything(), limit=1)[0].external_id == "INT-a1"
    assert sync_index().embedded == 0
    _in_step()


def test_a_new_note_is_in_the_index_at_once(indexed, monkeypatch):
    _index_only(monkeypatch)
    search("warm up", scope=Scope.everything(), limit=1)
    with Session(engine_for(indexed.url)) as s:
        row = Interaction(external_id="INT-new", customer_id=indexed.customers["alice"], staff_id=indexed.staff["rep_a"],
                          channel="phone", kind="note", body="She wants the teal ottoman gift-wrapped.",
                          occurred_at=NOW - timedelta(hours=1), language="en")
        s.add(row)
        s.commit()
        new_id = row.id
    index_interactions([new_id])
    assert search("teal ottoman", scope=Scope.everything(), limit=1)[0].external_id == "INT-new"
    _in_step()


def test_owner_moves_reach_the_index(indexed, monkeypatch):
    _index_only(monkeypatch)
    rep_a = Scope(owner_ids=frozenset({indexed.staff["rep_a"]}), include_pool=True)
    chen = indexed.customers["chen"]
    with Session(engine_for(indexed.url)) as s:
        s.get(Customer, chen).owner_id = indexed.staff["rep_b"]
        s.commit()
    update_owner(chen, indexed.staff["rep_b"])
    _in_step()
    assert all(h.customer_id != chen for h in search("退款", scope=rep_a, limit=20))
    # And a sync that finds owner changes applies them without re-embedding.
    alice = indexed.customers["alice"]
    with Session(engine_for(indexed.url)) as s:
        s.get(Customer, alice).owner_id = None
        s.commit()
    report = sync_index()
    assert report.owner_updates == 3 and report.embedded == 0
    _in_step()
    pool_only = Scope(include_pool=True)
    assert {h.customer_id for h in search("refund keyboard", scope=pool_only, limit=20)} <= {
        alice, indexed.customers["pool"]}


def test_deleted_and_changed_interactions_leave_the_index(indexed, monkeypatch):
    _index_only(monkeypatch)
    with Session(engine_for(indexed.url)) as s:
        s.delete(s.get(Interaction, indexed.interactions["p1"]))
        s.get(Interaction, indexed.interactions["b2"]).body = "Showroom visit, ordered a walnut bookcase."
        s.commit()
    report = sync_index()
    assert (report.deleted, report.changed) == (1, 1)
    _in_step()
    found = {h.external_id for h in search("standing desk bulk pricing", scope=Scope.everything(), limit=20)}
    assert "INT-p1" not in found
    assert search("walnut bookcase", scope=Scope.everything(), limit=1)[0].external_id == "INT-b2"


def test_erasure_purges_the_index_files(indexed):
    acme = indexed.customers["acme"]
    search("warm up", scope=Scope.everything(), limit=1)
    root = index_handle(get_collection()).root
    assert any(b"leeds" in p.read_bytes() for p in Path(root).rglob("*.npy"))
    erase_customer(acme)
    _in_step()
    # Neither the text nor its tokens survive in any file of the index.
    assert not any(b"leeds" in p.read_bytes() for p in Path(root).rglob("*") if p.is_file())
    assert all(h.customer_id != acme for h in search("Leeds office", scope=Scope.everything(), limit=20))


def test_rebuild_replaces_the_index_of_the_dropped_collection(indexed):
    old_root = index_handle(get_collection()).root
    sync_index(rebuild=True)
    new_root = index_handle(get_collection()).root
    assert new_root != old_root and not old_root.exists()
    _in_step()
    assert [p.name for p in new_root.parent.iterdir()] == [new_root.name]
    assert new_root.parent.parent == get_settings().index_path


def test_erasure_with_a_stale_index_still_deletes_its_files(indexed):
    search("warm up", scope=Scope.everything(), limit=1)
    collection = get_collection()
    root = index_handle(collection).root
    # Another host changed Chroma: this process's snapshot is stale and cannot be purged row by row.
    collection.modify(metadata={**collection.metadata, TOKEN_KEY: "someone-else"})
    erase_customer(indexed.customers["acme"])
    assert not any(b"leeds" in p.read_bytes() for p in Path(root).rglob("*") if p.is_file())
    assert all(h.customer_id != indexed.customers["acme"]
               for h in search("Leeds office", scope=Scope.everything(), limit=20))
    _in_step()
