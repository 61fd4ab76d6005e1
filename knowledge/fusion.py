"""Fusing the vector and keyword legs into one ranking (shared by both search back ends).

Every candidate from either leg gets both signals: its cosine to the query and its
keyword share (the part of the query's IDF-weighted terms it contains). The fused
score is a weighted sum; an exact identifier or quoted-phrase match ranks above
everything else. Plain reciprocal-rank fusion (``fusion="rrf"``) is kept for
comparison: on the labelled queries it let one common keyword outvote meaning
(see evals/knowledge).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from knowledge.keywords import Term

Fusion = Literal["score", "rrf"]
RRF_K = 60
VECTOR_DEPTH = 50
KEYWORD_DEPTH = 100
# Weight of meaning against exact terms in score fusion. MiniLM learned English; on Chinese
# its vectors say little, so exact terms weigh more there. The static table, a bag of
# characters for Chinese, carries a little more. Chosen on the labelled queries (evals/knowledge):
# English 0.7 on the dev half (0.5/0.6/0.7/0.8 gave 0.879/0.885/0.895/0.895 recall@5), with the
# held-out half reported beside it (python -m evals.knowledge.run prints both).
# The fitted static table (minilm-static-fit) learned Chinese from reviews, yet on the dev half of
# the Chinese queries 0.1 was best or tied for every corpus size tried (0.1/0.2/0.3/0.4/0.5 gave
# 0.863/0.850/0.850/0.838/0.838 recall@5 with the full corpus; python -m evals.knowledge.corpus_curve).
VECTOR_WEIGHT = 0.7
VECTOR_WEIGHT_CJK = {"minilm-static": 0.2, "minilm-static-fit": 0.1}
VECTOR_WEIGHT_CJK_DEFAULT = 0.1
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def vector_weight(query: str, variant: str) -> float:
    letters = [ch for ch in query if ch.isalnum()]
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    if letters and cjk / len(letters) >= 0.3:
        return VECTOR_WEIGHT_CJK.get(variant, VECTOR_WEIGHT_CJK_DEFAULT)
    return VECTOR_WEIGHT


def idf(total: int, matches: int) -> float:
    return math.log(1 + total / max(matches, 1))


@dataclass(eq=False)
class Candidate:
    metadata: dict[str, Any]
    document: str = ""
    ref: tuple[int, int] | None = None  # (segment, row) in an in-process index snapshot
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

    def set_terms(self, matched: list[Term], weights: dict[str, float], possible: float) -> None:
        self.keyword_share = sum(weights[t.text] for t in matched) / possible if possible else 0.0
        self.exact = any(t.kind in ("id", "phrase") for t in matched)
        self.terms = [t.text for t in matched]


def rank_keyword_matches(cands: list[Candidate]) -> None:
    """Keyword rank: more matched weight first; among equals, the more recent interaction."""
    matched = [c for c in cands if c.terms]
    matched.sort(key=lambda c: (-c.keyword_share, -int(c.metadata.get("occurred_at", 0))))
    for rank, cand in enumerate(matched, start=1):
        cand.keyword_rank = rank


def best_per_interaction(cands: list[Candidate], *, fusion: Fusion, weight: float) -> list[tuple[int, Candidate]]:
    """Best chunk per interaction, best first: [(interaction_id, candidate)]."""
    pool = [c for c in cands if c.vector_rank is not None or (c.keyword_rank or 10**9) <= KEYWORD_DEPTH]
    best: dict[int, Candidate] = {}
    for cand in pool:
        cand.fused = cand.score(fusion, weight)
        iid = int(cand.metadata["interaction_id"])
        if iid not in best or (cand.exact, cand.fused) > (best[iid].exact, best[iid].fused):
            best[iid] = cand
    return sorted(best.items(), key=lambda kv: (kv[1].exact, kv[1].fused), reverse=True)
