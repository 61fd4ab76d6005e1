"""The labelled retrieval queries are well-formed data, and the scorer's recall is the documented one."""

from __future__ import annotations

import json
from collections import Counter

from evals.knowledge.scorer import TOPICS, QueryScore, load_plan, load_queries

RULES = {"topic", "contains_any", "regex", "intent"}


def test_query_set_is_large_bilingual_and_uses_known_rules():
    queries = load_queries()
    assert len(queries) >= 60
    assert len({q.id for q in queries}) == len(queries)
    langs = Counter(q.lang for q in queries)
    assert langs["en"] >= 25 and langs["zh"] >= 25
    topics = json.loads(TOPICS.read_text(encoding="utf-8"))
    for q in queries:
        assert len(set(q.relevant) & RULES) == 1, q.id
        if "topic" in q.relevant:
            assert q.relevant["topic"] in topics
        if q.pick:
            assert "{" + q.pick["kind"] + "}" in q.query
    assert load_plan()["customers"] > 0


def test_recall_is_normalised_by_the_smaller_of_relevant_and_k():
    many = QueryScore(id="a", lang="en", category="c", query="q", relevant=40, ranks=[1, 2, 3, 4, 5])
    assert many.recall(5) == 1.0 and many.recall(10) == 0.5
    few = QueryScore(id="b", lang="zh", category="c", query="q", relevant=2, ranks=[3])
    assert few.recall(5) == 0.5 and few.reciprocal_rank == 1 / 3
