"""Chunking and keyword extraction (pure functions, no model)."""

from __future__ import annotations

from knowledge.chunking import chunk_text, estimate_tokens
from knowledge.keywords import normalize, query_terms, stem


def test_short_text_is_one_chunk_and_blank_is_none():
    assert [c.text for c in chunk_text("Called about the invoice.")] == ["Called about the invoice."]
    assert chunk_text("   ") == []


def test_long_text_splits_at_sentences_within_budget_and_keeps_spans():
    text = "The parcel was late again. " * 40 + "退款申请已经提交，请尽快处理。" * 10
    chunks = chunk_text(text, max_tokens=60)
    assert len(chunks) > 3
    for c in chunks:
        assert estimate_tokens(c.text) <= 60
        assert text[c.start : c.end].strip() == c.text
    assert [c.index for c in chunks] == list(range(len(chunks)))
    # Nothing is lost between chunks.
    assert "".join(text[c.start : c.end] for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_a_sentence_longer_than_the_budget_is_cut():
    chunks = chunk_text("word " * 400, max_tokens=50)
    assert len(chunks) >= 10 and all(estimate_tokens(c.text) <= 50 for c in chunks)


def test_terms_keep_identifiers_and_drop_question_words():
    terms = {t.text: t.kind for t in query_terms("Did she mention order SO-2024-00123 or SKU kb-4410 this month?")}
    assert terms["so-2024-00123"] == "id" and terms["kb-4410"] == "id"
    assert "this" not in terms and "month" not in terms and "mention" not in terms


def test_stems_turn_word_families_into_substrings():
    assert stem("refunded") == "refund" and stem("refunds") == "refund"
    assert stem("complained") == stem("complaint") == "compla"
    assert stem("delivery") in "delivered" and stem("shipping") in "shipped"


def test_chinese_terms_skip_function_words():
    assert [t.text for t in query_terms("她之前投诉过配送吗")][:1] == ["投诉"]
    assert {"投诉", "配送"} <= {t.text for t in query_terms("她之前投诉过配送吗")}
    # What the query itself says (synonyms join as weaker terms, see test_knowledge_synonyms).
    assert [t.text for t in query_terms("谁这个月提到退款") if t.boost == 1] == ["退款"]


def test_quoted_phrase_and_full_width_text():
    assert query_terms('"late delivery fee" please')[0].text == "late delivery fee"
    assert normalize("ＳＯ－１２３ Refund") == "so-123 refund"
    assert query_terms("ＳＯ－１２３")[0].text == "so-123"
