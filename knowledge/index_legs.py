"""The two search legs run on the in-process index snapshot (no Chroma round trip).

The selections (one per segment) already carry the caller's scope and filters, so
both legs read only rows the caller may see. The keyword leg scores every matching
row in scope from the postings (not a capped sample, as Chroma's ``$contains`` gives),
keeps the best few as candidates, and gives vector candidates their keyword share
from the same arrays.

Keyword share is the Chroma leg's: the IDF-weighted part of the query's terms a chunk
holds, IDF from the term's match count in scope (capped, so past a few hundred
matches a term counts as common either way). BM25 (term frequency and length
normalisation, collection IDF) was tried and ranked worse on the labelled queries
(evals/knowledge: dev half 0.898-0.904 recall@5 against 0.914), so it is not used.
"""

from __future__ import annotations

import numpy as np

from knowledge import chroma_legs
from knowledge.fusion import KEYWORD_DEPTH, Candidate, idf
from knowledge.keywords import Term
from knowledge.selection import Selection
from knowledge.vector_index import IndexState

IDF_COUNT_CAP = 300


def vector_leg(state: IndexState, sels: list[Selection], vector: np.ndarray, depth: int,
               cands: dict[str, Candidate]) -> None:
    found = state.nearest(vector, sels, depth)
    described = state.describe([ref for ref, _ in found])
    for rank, ((ref, score), (key, meta)) in enumerate(zip(found, described, strict=True), start=1):
        cand = cands.setdefault(key, Candidate(metadata=meta, ref=ref))
        cand.vector_rank = rank
        cand.similarity = score


def hnsw_vector_leg(collection, state: IndexState, vector: np.ndarray, depth: int,
                    cands: dict[str, Candidate]) -> None:
    """The vector leg through Chroma's approximate graph (unfiltered queries on a large index).

    Hits are tied back to their index rows, so the keyword leg scores them like any other;
    a hit the snapshot does not hold (the index lags a write) is dropped.
    """
    found: dict[str, Candidate] = {}
    chroma_legs.vector_leg(collection, vector, None, depth, found)
    for key, cand in found.items():
        cand.ref = state.find(int(cand.metadata["interaction_id"]), int(cand.metadata.get("chunk", 0)))
        if cand.ref is not None:
            cand.document = ""
            cands[key] = cand


def keyword_leg(state: IndexState, sels: list[Selection], terms: list[Term], cands: dict[str, Candidate],
                *, depth: int = KEYWORD_DEPTH) -> None:
    total = max(state.count, 1)
    found: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    weights: dict[str, float] = {}
    for term in terms:
        per_segment = state.term(term, sels)
        matches = sum(len(rows) for rows, _ in per_segment)
        if matches:
            found[term.text] = per_segment
            weights[term.text] = term.weight * idf(total, min(matches, IDF_COUNT_CAP))
    live = [t for t in terms if t.text in weights]
    if not live:
        return
    segs, rows, scores, bits = _matched_rows(state, live, found, weights)
    if not len(rows):
        return
    when = _when(state, segs, rows)
    order = np.lexsort((-when, -scores))
    rank_of = np.empty(len(order), dtype=np.int64)
    rank_of[order] = np.arange(1, len(order) + 1)
    known = {c.ref: c for c in cands.values() if c.ref is not None}
    position = {(int(s), int(r)): int(j) for s, r, j in zip(segs[order[:depth]], rows[order[:depth]], order[:depth],
                                                            strict=True)}
    fresh = [ref for ref in position if ref not in known]
    for ref, (key, meta) in zip(fresh, state.describe(fresh), strict=True):
        known[ref] = cands.setdefault(key, Candidate(metadata=meta, ref=ref))
    for ref in known:
        if ref not in position:
            j = _find(segs, rows, ref)
            if j is not None:
                position[ref] = j
    for ref, j in position.items():
        cand = known[ref]
        mask = int(bits[j])
        matched = [t for b, t in enumerate(live) if mask >> b & 1]
        cand.keyword_rank = int(rank_of[j])
        cand.keyword_share = float(scores[j])
        cand.exact = any(t.kind in ("id", "phrase") for t in matched)
        cand.terms = [t.text for t in matched]


def _matched_rows(state: IndexState, live: list[Term], found, weights: dict[str, float]):
    """Every matching row once: (segment, row, keyword share, bitmask of matched terms), segments ascending."""
    possible = sum(weights.values())
    out_seg, out_rows, out_score, out_bits = [], [], [], []
    for i in range(len(state.segments)):
        parts = [(found[t.text][i][0], weights[t.text], b) for b, t in enumerate(live) if len(found[t.text][i][0])]
        if not parts:
            continue
        rows = np.concatenate([p[0] for p in parts])
        contribution = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
        bit = np.concatenate([np.full(len(p[0]), 1 << p[2], dtype=np.int64) for p in parts])
        unique, inverse = np.unique(rows, return_inverse=True)
        bits = np.zeros(len(unique), dtype=np.int64)
        np.bitwise_or.at(bits, inverse, bit)
        out_seg.append(np.full(len(unique), i))
        out_rows.append(unique)
        out_score.append(np.bincount(inverse, weights=contribution) / possible)
        out_bits.append(bits)
    if not out_rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), empty
    return (np.concatenate(out_seg), np.concatenate(out_rows), np.concatenate(out_score),
            np.concatenate(out_bits))


def _when(state: IndexState, segs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    when = np.zeros(len(rows), dtype=np.int64)
    for i in np.unique(segs):
        pick = segs == i
        when[pick] = state.segments[int(i)].col("when")[rows[pick]]
    return when


def _find(segs: np.ndarray, rows: np.ndarray, ref: tuple[int, int]) -> int | None:
    """Position of (segment, row) in the arrays (sorted by segment, then row)."""
    lo, hi = np.searchsorted(segs, [ref[0], ref[0] + 1])
    at = lo + int(np.searchsorted(rows[lo:hi], ref[1]))
    return at if at < hi and rows[at] == ref[1] else None
