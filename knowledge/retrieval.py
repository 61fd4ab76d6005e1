"""Hybrid search over interaction chunks: metadata filter + vector + exact keywords, fused.

Both legs run inside Chroma with the same ``where`` clause, which carries the
caller's scope (owner ids, pool = 0) and the filters, so nothing outside scope is
ever read. The vector leg ranks by meaning; the keyword leg finds chunks that
contain the query's exact terms (order numbers, SKUs, names, Chinese words).

Fusion. Every candidate from either leg gets both signals: its cosine to the query
(read from Chroma for keyword-only candidates) and its keyword share (the part of
the query's IDF-weighted terms it contains). The fused score is a weighted sum;
an exact identifier or quoted-phrase match ranks above everything else. Plain
reciprocal-rank fusion (``fusion="rrf"``) is kept for comparison: on the labelled
queries it let one common keyword outvote meaning (see evals/knowledge).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from knowledge.documents import epoch_seconds
from knowledge.embeddings import embed
from knowledge.hits import InteractionHit, SearchFilters, load_rows, to_hit
from knowledge.keywords import Term, query_terms
from knowledge.settings import get_settings
from knowledge.store import get_collection
from storage.db import get_engine
from storage.scope import Scope

Fusion = Literal["score", "rrf"]
RRF_K = 60
VECTOR_DEPTH = 50
KEYWORD_CAP = 300
KEYWORD_DEPTH = 100
# Weight of meaning against exact terms in score fusion. MiniLM learned English; on Chinese
# its vectors say little, so exact terms weigh more there. The static table, a bag of
# characters for Chinese, carries a little more. Chosen on the labelled queries (evals/knowledge).
VECTOR_WEIGHT = 0.6
VECTOR_WEIGHT_CJK = {"minilm-static": 0.2}
VECTOR_WEIGHT_CJK_DEFAULT = 0.1
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def vector_weight(query: str, variant: str) -> float:
    letters = [ch for ch in query if ch.isalnum()]
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    if letters and cjk / len(letters) >= 0.3:
        return VECTOR_WEIGHT_CJK.get(variant, VECTOR_WEIGHT_CJK_DEFAULT)
    return VECTOR_WEIGHT


@dataclass(eq=False)
class _Candidate:
    metadata: dict[str, Any]
    document: str = ""
    similarity: float | None = None
    vector_rank: int | None = None
    keyword_rank: int | None = None
    keyword_share: float = 0.0
    exact: bool = False
    terms: list[str] = field(default_factory=list)
    fused: float = 0.0

    def score(self, fusion: Fusion, weight: float = VECTOR_WEIGHT) -> float:
        if fusion == "rrf":
            return sum(1.0 / (RRF_K + r) for r in (self.vector_rank, self.keyword_rank) if r is not None)
        return weight * (self.similarity or 0.0) + (1 - weight) * self.keyword_share


def build_where(scope: Scope, filters: SearchFilters | None) -> dict[str, Any] | None:
    """The Chroma ``where`` clause for a scope and filters (None when nothing narrows)."""
    parts: list[dict[str, Any]] = []
    owners = scope.metadata_owner_ids()
    if owners is not None:
        # An empty scope must match nothing, not everything: -1 is no one's id.
        parts.append({"owner_id": {"$in": owners or [-1]}})
    f = filters or SearchFilters()
    if f.customer_ids is not None:
        parts.append({"customer_id": {"$in": list(f.customer_ids) or [-1]}})
    if f.channels:
        parts.append({"channel": {"$in": list(f.channels)}})
    if f.kinds:
        parts.append({"kind": {"$in": list(f.kinds)}})
    if f.staff_ids:
        parts.append({"staff_id": {"$in": list(f.staff_ids)}})
    if f.start:
        parts.append({"occurred_at": {"$gte": epoch_seconds(f.start)}})
    if f.end:
        parts.append({"occurred_at": {"$lt": epoch_seconds(f.end)}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _vector_leg(collection, vector: np.ndarray, where, depth: int, cands: dict[str, _Candidate]) -> None:
    found = collection.query(
        query_embeddings=vector[None, :], n_results=depth, where=where, include=["metadatas", "documents", "distances"]
    )
    rows = zip(found["ids"][0], found["metadatas"][0], found["documents"][0], found["distances"][0], strict=True)
    for rank, (cid, meta, doc, distance) in enumerate(rows, start=1):
        cand = cands.setdefault(cid, _Candidate(metadata=meta, document=doc))
        cand.vector_rank = rank
        cand.similarity = 1.0 - float(distance)  # cosine space


def _term_idf(collection, terms: list[Term], where, cands: dict[str, _Candidate]) -> dict[str, float]:
    """Per term, IDF from its (capped) match count; adds the matching chunks as candidates."""
    total = max(collection.count(), 1)
    idf: dict[str, float] = {}
    for term in terms:
        found = collection.get(
            where=where, where_document={"$contains": term.pattern}, include=["documents", "metadatas"],
            limit=KEYWORD_CAP,
        )
        if not found["ids"]:
            continue
        idf[term.text] = math.log(1 + total / len(found["ids"]))
        for cid, doc, meta in zip(found["ids"], found["documents"], found["metadatas"], strict=True):
            cands.setdefault(cid, _Candidate(metadata=meta, document=doc))
    return idf


def _keyword_scores(terms: list[Term], idf: dict[str, float], cands: dict[str, _Candidate]) -> None:
    """Check every candidate for every term (a capped list may have missed it); rank by matched weight."""
    live = [t for t in terms if t.text in idf]
    possible = sum(t.weight * idf[t.text] for t in live)
    matched_any = []
    for cand in cands.values():
        matched = [t for t in live if t.pattern in cand.document]
        if not matched:
            continue
        weight = sum(t.weight * idf[t.text] for t in matched)
        cand.keyword_share = weight / possible
        cand.exact = any(t.kind in ("id", "phrase") for t in matched)
        cand.terms = [t.text for t in matched]
        matched_any.append(cand)
    # More matched weight first; among equals, the more recent interaction.
    matched_any.sort(key=lambda c: (-c.keyword_share, -int(c.metadata.get("occurred_at", 0))))
    for rank, cand in enumerate(matched_any, start=1):
        cand.keyword_rank = rank


def _fill_similarity(collection, vector: np.ndarray, cands: list[_Candidate], ids: list[str]) -> None:
    if not ids:
        return
    rows = collection.get(ids=ids, include=["embeddings"])
    by_id = dict(zip(rows["ids"], rows["embeddings"], strict=True))
    for cid, cand in zip(ids, cands, strict=True):
        if cid in by_id:
            cand.similarity = float(np.dot(np.asarray(by_id[cid], dtype=np.float32), vector))


def rank_chunks(
    query: str,
    *,
    where: dict[str, Any] | None,
    limit: int = 10,
    use_vector: bool = True,
    use_keywords: bool = True,
    fusion: Fusion = "score",
    collection=None,
) -> list[tuple[int, _Candidate]]:
    """Best chunk per interaction, best first: [(interaction_id, candidate)] (Chroma only, no SQL)."""
    collection = collection or get_collection()
    vector = embed([query], variant=get_settings().embedding)[0] if use_vector else None
    cands: dict[str, _Candidate] = {}
    if vector is not None:
        _vector_leg(collection, vector, where, max(VECTOR_DEPTH, limit * 4), cands)
    terms = query_terms(query) if use_keywords else []
    if terms:
        idf = _term_idf(collection, terms, where, cands)
        _keyword_scores(terms, idf, cands)
        if vector is not None:
            # Keyword finds outside the vector's top list: read their cosine from Chroma.
            ids = [cid for cid, c in cands.items() if c.similarity is None and (c.keyword_rank or 10**9) <= KEYWORD_DEPTH]
            _fill_similarity(collection, vector, [cands[i] for i in ids], ids)
    pool = [c for c in cands.values() if c.vector_rank is not None or (c.keyword_rank or 10**9) <= KEYWORD_DEPTH]
    weight = vector_weight(query, get_settings().embedding) if vector is not None else 0.0
    best: dict[int, _Candidate] = {}
    for cand in pool:
        cand.fused = cand.score(fusion, weight)
        iid = int(cand.metadata["interaction_id"])
        if iid not in best or (cand.exact, cand.fused) > (best[iid].exact, best[iid].fused):
            best[iid] = cand
    return sorted(best.items(), key=lambda kv: (kv[1].exact, kv[1].fused), reverse=True)


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
) -> list[InteractionHit]:
    """Interactions that best match ``query`` within scope and filters, best first, one hit per interaction."""
    query = query.strip()
    if not query:
        return []
    ranked = rank_chunks(
        query, where=build_where(scope, filters), limit=limit, use_vector=use_vector, use_keywords=use_keywords,
        fusion=fusion,
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
