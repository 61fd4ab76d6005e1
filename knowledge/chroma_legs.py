"""The two search legs run inside Chroma (used when the in-process index is off or unavailable).

Both legs carry the same ``where`` clause, so nothing outside the caller's scope is
read. The keyword leg asks Chroma for chunks containing each term (``$contains``,
capped per term), then checks every candidate for every term.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from knowledge.fusion import Candidate, idf, rank_keyword_matches
from knowledge.keywords import Term

KEYWORD_CAP = 300


def vector_leg(collection, vector: np.ndarray, where: dict[str, Any] | None, depth: int,
               cands: dict[str, Candidate]) -> None:
    found = collection.query(
        query_embeddings=vector[None, :], n_results=depth, where=where, include=["metadatas", "documents", "distances"]
    )
    rows = zip(found["ids"][0], found["metadatas"][0], found["documents"][0], found["distances"][0], strict=True)
    for rank, (cid, meta, doc, distance) in enumerate(rows, start=1):
        cand = cands.setdefault(cid, Candidate(metadata=meta, document=doc))
        cand.vector_rank = rank
        cand.similarity = 1.0 - float(distance)  # cosine space


def keyword_leg(collection, terms: list[Term], where: dict[str, Any] | None, cands: dict[str, Candidate]) -> None:
    """Adds chunks matching any term, then scores every candidate's keyword share and rank."""
    total = max(collection.count(), 1)
    weights: dict[str, float] = {}
    for term in terms:
        found = collection.get(
            where=where, where_document={"$contains": term.pattern}, include=["documents", "metadatas"],
            limit=KEYWORD_CAP,
        )
        if not found["ids"]:
            continue
        weights[term.text] = term.weight * idf(total, len(found["ids"]))
        for cid, doc, meta in zip(found["ids"], found["documents"], found["metadatas"], strict=True):
            cands.setdefault(cid, Candidate(metadata=meta, document=doc))
    live = [t for t in terms if t.text in weights]
    possible = sum(weights.values())
    for cand in cands.values():
        matched = [t for t in live if t.pattern in cand.document]
        if matched:
            cand.set_terms(matched, weights, possible)
    rank_keyword_matches(list(cands.values()))


def fill_similarity(collection, vector: np.ndarray, cands: dict[str, Candidate], ids: list[str]) -> None:
    if not ids:
        return
    rows = collection.get(ids=ids, include=["embeddings"])
    by_id = dict(zip(rows["ids"], rows["embeddings"], strict=True))
    for cid in ids:
        if cid in by_id:
            cands[cid].similarity = float(np.dot(np.asarray(by_id[cid], dtype=np.float32), vector))
