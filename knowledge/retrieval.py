"""Hybrid search over interaction chunks: metadata filter + vector + exact keywords, fused.

The caller's scope and filters become one ``RowFilter``. By default both legs run on
the in-process index (``knowledge.vector_index``: exact filtered search over
memory-mapped arrays, kept in step with Chroma); with ``CRM_VECTOR_INDEX=0``, or when
the index cannot be used, they run inside Chroma with the same filter as a ``where``
clause (``knowledge.chroma_legs``). Either way nothing outside scope is read, and
every hit is read back from SQL with the customer's *current* owner checked again.
Fusion is shared (``knowledge.fusion``).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from knowledge import chroma_legs, index_legs
from knowledge.embeddings import embed
from knowledge.fusion import (
    KEYWORD_DEPTH,
    VECTOR_DEPTH,
    Candidate,
    Fusion,
    best_per_interaction,
    vector_weight,
)
from knowledge.hits import InteractionHit, SearchFilters, load_rows, to_hit
from knowledge.keywords import query_terms
from knowledge.row_filter import RowFilter
from knowledge.settings import get_settings
from knowledge.store import get_collection, index_handle
from knowledge.vector_index import IndexState
from storage.db import get_engine
from storage.scope import Scope

log = logging.getLogger(__name__)
# With no filter at all, above this many chunks the vector leg uses Chroma's HNSW graph: at 1M
# chunks it answered in 2.6 ms p50 where the exact scan needs 33 ms (evals/bench/knowledge_latency).
HNSW_UNFILTERED_ROWS = 250_000
Backend = IndexState | Literal["auto", "chroma"]


def build_where(scope: Scope, filters: SearchFilters | None) -> dict[str, Any] | None:
    """The Chroma ``where`` clause for a scope and filters (None when nothing narrows)."""
    return RowFilter.of(scope, filters).where()


def current_index(collection=None, *, fresh: bool = False) -> IndexState | None:
    """The in-process index snapshot for the configured collection, or None (disabled or unusable).

    ``fresh``: the collection object was fetched just now, so its metadata carries the current token.
    """
    if not get_settings().vector_index:
        return None
    fresh = fresh or collection is None
    collection = collection or get_collection()
    try:
        return index_handle(collection).current(collection=collection if fresh else None)
    except Exception:  # noqa: BLE001 - any index failure must degrade to Chroma, not fail the search
        log.warning("in-process vector index unavailable; searching Chroma", exc_info=True)
        return None


def rank_chunks(
    query: str,
    *,
    row_filter: RowFilter,
    limit: int = 10,
    use_vector: bool = True,
    use_keywords: bool = True,
    fusion: Fusion = "score",
    collection=None,
    backend: Backend = "auto",
) -> list[tuple[int, Candidate]]:
    """Best chunk per interaction, best first: [(interaction_id, candidate)] (no SQL)."""
    if backend == "auto":
        fresh = collection is None
        collection = collection or get_collection()
        state = current_index(collection, fresh=fresh)
    else:
        state = backend if isinstance(backend, IndexState) else None
    vector = embed([query], variant=get_settings().embedding)[0] if use_vector else None
    terms = query_terms(query) if use_keywords else []
    depth = max(VECTOR_DEPTH, limit * 4)
    cands: dict[str, Candidate] = {}
    if state is not None:
        sels = state.selections(row_filter)
        if vector is not None:
            if collection is not None and not row_filter.narrows and state.count >= HNSW_UNFILTERED_ROWS:
                # Nothing narrows: an exact scan reads every row, Chroma's graph reads a few hundred.
                index_legs.hnsw_vector_leg(collection, state, vector, depth, cands)
            else:
                index_legs.vector_leg(state, sels, vector, depth, cands)
        if terms:
            index_legs.keyword_leg(state, sels, terms, cands)
            if vector is not None:
                refs = [c for c in cands.values() if c.similarity is None and c.ref is not None]
                for cand, sim in zip(refs, state.similarity([c.ref for c in refs], vector), strict=True):
                    cand.similarity = sim
    else:
        collection = collection or get_collection()
        where = row_filter.where()
        if vector is not None:
            chroma_legs.vector_leg(collection, vector, where, depth, cands)
        if terms:
            chroma_legs.keyword_leg(collection, terms, where, cands)
            if vector is not None:
                # Keyword finds outside the vector's top list: read their cosine from Chroma.
                ids = [k for k, c in cands.items() if c.similarity is None and (c.keyword_rank or 10**9) <= KEYWORD_DEPTH]
                chroma_legs.fill_similarity(collection, vector, cands, ids)
    weight = vector_weight(query, get_settings().embedding) if vector is not None else 0.0
    return best_per_interaction(list(cands.values()), fusion=fusion, weight=weight)


def search(
    query: str,
    *,
    scope: Scope,
    filters: SearchFilters | None = None,
    limit: int = 10,
    engine: Engine | None = None,
    use_vector: bool = True,
    use_keywords: bool = True,
    fusion: Fusion = "score",
    backend: Backend = "auto",
) -> list[InteractionHit]:
    """Interactions that best match ``query`` within scope and filters, best first, one hit per interaction."""
    query = query.strip()
    if not query:
        return []
    ranked = rank_chunks(
        query, row_filter=RowFilter.of(scope, filters), limit=limit, use_vector=use_vector,
        use_keywords=use_keywords, fusion=fusion, backend=backend,
    )[: limit * 3]
    hits: list[InteractionHit] = []
    with Session(engine or get_engine()) as session:
        rows = load_rows(session, ids=[iid for iid, _ in ranked], scope=scope, filters=filters)
        for iid, cand in ranked:
            if iid not in rows:
                continue  # deleted since indexing, or its customer has left the caller's scope
            meta = cand.metadata
            hits.append(
                to_hit(
                    rows[iid], span=(int(meta.get("start", 0)), int(meta.get("end", 1 << 30))), terms=cand.terms,
                    score=round(cand.fused, 6), vector_rank=cand.vector_rank, keyword_rank=cand.keyword_rank,
                )
            )
            if len(hits) == limit:
                break
    return hits


__all__ = ["build_where", "current_index", "rank_chunks", "search"]
