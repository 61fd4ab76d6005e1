"""The in-process index returns what Chroma returns: same filtered top-k, same similarities."""

from __future__ import annotations

import chromadb
import numpy as np
import pytest
from _index_checks import assert_same_rows, synthetic_rows
from chromadb.config import Settings

from knowledge import segment, vector_index
from knowledge.index_rows import RowBatch
from knowledge.index_sync import handle_for
from knowledge.row_filter import RowFilter

FILTERS = [
    RowFilter(),
    RowFilter(owners=(1, 0)),
    RowFilter(owners=(2,)),
    RowFilter(customers=(7,)),
    RowFilter(customers=(7, 12, 30), owners=(2, 0)),
    RowFilter(channels=("email",), kinds=("ticket", "complaint")),
    RowFilter(owners=(3, 4, 0), start=1_702_000_000, end=1_706_000_000),
    RowFilter(staff=(2,), channels=("chat", "phone")),
    RowFilter(owners=(-1,)),
]


@pytest.fixture
def synthetic(tmp_path):
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=Settings(anonymized_telemetry=False))
    # A large ef makes Chroma's HNSW exhaustive on a few hundred rows, so "Chroma's exact results" is literal.
    collection = client.create_collection(
        "synthetic", embedding_function=None, configuration={"hnsw": {"space": "cosine", "ef_search": 500}}
    )
    ids, vectors, metas, docs = synthetic_rows(400)
    collection.add(ids=ids, embeddings=vectors, metadatas=metas, documents=docs)
    return client, collection, tmp_path / "vindex"


def _queries(n: int = 12) -> np.ndarray:
    rng = np.random.default_rng(99)
    q = rng.normal(size=(n, 384)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _chroma_top(collection, query, f: RowFilter, k: int):
    found = collection.query(query_embeddings=query[None, :], n_results=k, where=f.where(), include=["distances"])
    return found["ids"][0], [1.0 - d for d in found["distances"][0]]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f.where() and str(f.where())[:40] or "none")
def test_filtered_top_k_matches_chroma(synthetic, f):
    client, collection, root = synthetic
    state = handle_for(client, collection, root).current()
    assert_same_rows(state, collection)
    for query in _queries():
        want_ids, want_sims = _chroma_top(collection, query, f, 10)
        found = state.nearest(query, state.selections(f), 10)
        assert [state.key(ref) for ref, _ in found] == want_ids
        assert np.allclose([s for _, s in found], want_sims, atol=1e-5)


def test_agreement_holds_across_segments_and_dead_rows(synthetic):
    client, collection, root = synthetic
    handle = handle_for(client, collection, root)
    handle.current()
    ids, vectors, metas, docs = synthetic_rows(60, seed=5, start_id=10_000)
    gone = [f"i{i}:0" for i in range(0, 400, 7)]
    with handle.writing() as writer:
        collection.add(ids=ids, embeddings=vectors, metadatas=metas, documents=docs)
        writer.add(RowBatch.from_chroma(ids, vectors, metas, docs))
        collection.delete(ids=gone)
        writer.remove_interactions(range(0, 400, 7))
    with handle.writing() as writer:
        moved = collection.get(where={"customer_id": 7}, include=[])["ids"]
        collection.update(ids=moved, metadatas=[{"owner_id": 4}] * len(moved))
        writer.set_owner(4, customer_id=7)
    state = handle.current()
    assert len(state.segments) > 1 and any(d is not None for d in state.dead)
    assert_same_rows(state, collection)
    for f in FILTERS:
        for query in _queries(4):
            want_ids, _ = _chroma_top(collection, query, f, 8)
            assert [state.key(ref) for ref, _ in state.nearest(query, state.selections(f), 8)] == want_ids


def test_the_reduced_copy_shortlist_keeps_the_exact_top_k(tmp_path, monkeypatch):
    # Wide scans rank on a PCA copy and re-score a shortlist exactly; on structured vectors the
    # final top 10 is the exact one.
    monkeypatch.setattr(segment, "COARSE_MIN_ROWS", 100)
    monkeypatch.setattr(vector_index, "COARSE_SCAN_ROWS", 100)
    monkeypatch.setattr(vector_index, "SHORTLIST", 120)
    ids, vectors, metas, docs = synthetic_rows(3_000, seed=3, clusters=30)
    seg = segment.Segment.build(RowBatch.from_chroma(ids, vectors, metas, docs), name="seg-test")
    assert seg.coarse is not None
    state = vector_index.IndexState(token="t", dims=384, segments=(seg,), dead=(None,))
    rng = np.random.default_rng(4)
    agree = []
    for _ in range(20):
        q = vectors[rng.integers(0, len(vectors))] + rng.normal(0, 0.02, 384).astype(np.float32)
        q /= np.linalg.norm(q)
        exact = set(np.argsort(-(vectors @ q))[:10].tolist())
        got = {int(state.key(ref)[1:].split(":")[0]) for ref, _ in state.nearest(q, state.selections(RowFilter()), 10)}
        agree.append(len(got & exact) / 10)
    assert np.mean(agree) >= 0.95
