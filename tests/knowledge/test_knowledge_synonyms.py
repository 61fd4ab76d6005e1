"""Query expansion: topic synonyms join a query as weaker terms, in both languages."""

from __future__ import annotations

from knowledge import keywords
from knowledge.keywords import query_terms
from knowledge.retrieval import search
from knowledge.synonyms import EXPANSION_BOOST, GROUPS
from storage.scope import Scope


def _terms(query: str) -> dict[str, float]:
    return {t.text: t.boost for t in query_terms(query)}


def test_a_topic_word_brings_its_synonyms_at_lower_weight():
    terms = _terms("快递是不是太慢了")
    assert terms["快递"] == 1.0
    assert terms["物流"] == terms["配送"] == EXPANSION_BOOST
    english = _terms("any refund for her?")
    assert english["refund"] == 1.0 and english["退款"] == EXPANSION_BOOST


def test_queries_without_a_topic_word_are_not_expanded():
    assert all(boost == 1.0 for boost in _terms("SO-2024-00123 Leeds office").values())


def test_the_table_is_topic_vocabulary_in_both_languages():
    for name, (english, chinese) in GROUPS.items():
        assert english and chinese, name
        assert all(" " not in w for w in english), name
        assert all(len(w) == 2 for w in chinese), name  # one bigram term each


def test_a_synonym_finds_a_note_that_never_uses_the_query_word(indexed, monkeypatch):
    # INT-c1 says 配送 (delivery); the query says 物流 (logistics).
    hits = {h.external_id: h for h in search("物流", scope=Scope.everything(), limit=10)}
    assert "配送" in hits["INT-c1"].matched_terms
    assert list(hits)[0] == "INT-c1"
    monkeypatch.setattr(keywords, "EXPAND", False)
    hits = {h.external_id: h for h in search("物流", scope=Scope.everything(), limit=10)}
    assert "INT-c1" not in hits or hits["INT-c1"].matched_terms == []
