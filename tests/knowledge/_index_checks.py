"""Helpers for the in-process index tests: a synthetic Chroma collection and whole-index comparisons."""

from __future__ import annotations

import numpy as np

CHANNELS = ["phone", "email", "chat", "social"]
KINDS = ["call", "email", "ticket", "complaint"]
WORDS = ["refund", "delivery", "invoice", "parcel", "warranty", "discount", "快递", "退款", "质量", "发票"]


def synthetic_rows(n: int, *, seed: int = 0, dims: int = 384, start_id: int = 0, clusters: int = 0):
    """(ids, vectors, metadatas, documents) shaped like knowledge.indexing writes them."""
    rng = np.random.default_rng(seed)
    if clusters:
        # Low-rank structure, as real embeddings have: a PCA copy can rank these.
        basis = rng.normal(size=(16, dims))
        centres = rng.normal(size=(clusters, 16)) @ basis
        vectors = centres[rng.integers(0, clusters, n)] + rng.normal(0, 0.5, (n, dims))
    else:
        vectors = rng.normal(size=(n, dims))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    ids, metas, docs = [], [], []
    for i in range(n):
        iid = start_id + i
        customer = int(rng.integers(1, 40))
        ids.append(f"i{iid}:0")
        metas.append({
            "interaction_id": iid, "customer_id": customer, "owner_id": customer % 5,  # owner 0 = public pool
            "staff_id": int(rng.integers(1, 4)), "channel": CHANNELS[i % 4], "kind": KINDS[(i // 4) % 4],
            "occurred_at": 1_700_000_000 + int(rng.integers(0, 10**7)), "chunk": 0, "start": 0, "end": 40,
        })
        words = rng.choice(WORDS, size=3, replace=False)
        docs.append(f" note {iid} about {' '.join(words)} order so-{iid:05d} ")
    return ids, vectors, metas, docs


def index_rows(state) -> dict[str, tuple[int, int, np.ndarray]]:
    """Every live row of a snapshot: chunk id -> (owner, customer, vector)."""
    out = {}
    for i, seg in enumerate(state.segments):
        dead = state.dead[i]
        rows = np.arange(seg.n) if dead is None else np.flatnonzero(~dead)
        for row, key, meta in zip(rows, seg.keys(rows), seg.metadata(rows), strict=True):
            assert key not in out, f"{key} is live twice"
            out[key] = (meta["owner_id"], meta["customer_id"], np.asarray(seg.vectors[row]))
    return out


def chroma_rows(collection) -> dict[str, tuple[int, int, np.ndarray]]:
    got = collection.get(include=["metadatas", "embeddings"])
    return {
        cid: (m["owner_id"], m["customer_id"], np.asarray(v, dtype=np.float32))
        for cid, m, v in zip(got["ids"], got["metadatas"], got["embeddings"], strict=True)
    }


def assert_same_rows(state, collection) -> None:
    mine, theirs = index_rows(state), chroma_rows(collection)
    assert set(mine) == set(theirs)
    for key, (owner, customer, vector) in theirs.items():
        assert mine[key][:2] == (owner, customer), key
        assert np.allclose(mine[key][2], vector, atol=1e-6), key
