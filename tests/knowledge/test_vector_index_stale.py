"""A stale index file is detected and rebuilt; a current one written by another process is just reloaded."""

from __future__ import annotations

import json
import threading

import pytest
from _index_checks import assert_same_rows, synthetic_rows

from knowledge.index_sync import DIRTY, TOKEN_KEY, IndexHandle
from knowledge.retrieval import search
from knowledge.store import forget_clients, get_collection, index_handle
from storage.scope import Scope


def _handle() -> IndexHandle:
    return index_handle(get_collection())


def _builds(monkeypatch) -> list[int]:
    """Count rebuilds from Chroma."""
    calls: list[int] = []
    original = IndexHandle._build

    def counting(self, collection, progress):
        calls.append(1)
        return original(self, collection, progress)

    monkeypatch.setattr(IndexHandle, "_build", counting)
    return calls


def _add_behind_the_index_back(collection, n: int = 3) -> None:
    ids, vectors, metas, docs = synthetic_rows(n, seed=8, start_id=90_000)
    collection.add(ids=ids, embeddings=vectors, metadatas=metas, documents=docs)


def test_a_token_changed_elsewhere_forces_a_rebuild(indexed, monkeypatch):
    builds = _builds(monkeypatch)
    collection = get_collection()
    state = _handle().current()
    # Another host writing to a shared Chroma server: data and token change, our files do not.
    _add_behind_the_index_back(collection)
    collection.modify(metadata={**collection.metadata, TOKEN_KEY: "someone-else"})
    fresh = _handle().current()
    assert builds == [1] and fresh is not state
    assert_same_rows(fresh, get_collection())
    assert fresh.token == get_collection().metadata[TOKEN_KEY] != "someone-else"


def test_a_write_that_died_half_way_is_detected(indexed, monkeypatch):
    builds = _builds(monkeypatch)
    handle = _handle()
    handle.current()
    with pytest.raises(RuntimeError), handle.writing():
        _add_behind_the_index_back(get_collection())
        raise RuntimeError("crashed between the Chroma write and the index write")
    assert get_collection().metadata[TOKEN_KEY].startswith(DIRTY)
    state = handle.current()
    assert builds == [1]
    assert_same_rows(state, get_collection())


def test_a_writer_that_bypassed_the_token_is_caught_by_the_row_count(indexed, monkeypatch):
    builds = _builds(monkeypatch)
    _handle().current()
    _add_behind_the_index_back(get_collection())  # no token change at all
    forget_clients()  # the next process loads the files, then counts rows in the background
    assert _handle().current() is not None
    for thread in threading.enumerate():
        if thread.name == "vector-index-count":
            thread.join(timeout=30)
    state = _handle().current()
    assert builds == [1]
    assert_same_rows(state, get_collection())


def test_another_process_s_write_is_reloaded_not_rebuilt(indexed, monkeypatch):
    mine = _handle()
    mine.current()
    forget_clients()
    theirs = _handle()  # a second process: its own handle on the same files
    assert theirs is not mine
    from knowledge.indexing import update_owner

    update_owner(indexed.customers["bob"], None)
    builds = _builds(monkeypatch)
    state = mine.current()
    assert builds == [] and state.token == get_collection().metadata[TOKEN_KEY]
    assert_same_rows(state, get_collection())


def test_an_older_file_format_is_rebuilt(indexed, monkeypatch):
    handle = _handle()
    handle.current()
    info_path = handle.root / "state.json"
    info = json.loads(info_path.read_text())
    info_path.write_text(json.dumps({**info, "format": 0}))
    forget_clients()
    builds = _builds(monkeypatch)
    assert search("parcel arrived late", scope=Scope.everything(), limit=1)[0].external_id == "INT-a1"
    assert builds == [1]


def test_a_broken_index_falls_back_to_chroma(indexed, monkeypatch):
    def broken(self, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(IndexHandle, "current", broken)
    assert search("parcel arrived late", scope=Scope.everything(), limit=1)[0].external_id == "INT-a1"
