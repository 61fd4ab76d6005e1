"""assistant.pii_tokens: what an external model is sent, and how the answer gets its values back."""

from __future__ import annotations

import re

import pytest
from _pii_data import CUSTOMERS, NOTE, NOW, STAFF, seed

from assistant.pii_tokens import (
    PLACEHOLDER_NOTE,
    TOKEN,
    StreamDetokenizer,
    detokenize,
    needs_protection,
    pattern_items,
    protect_text,
    protected_error,
    protected_prompt,
    token_for,
)
from tools import Ambiguous, Candidate, ToolContext
from tools.profile import CustomerProfileParams, customer_profile


@pytest.fixture
def crm(sqlite_url):
    return sqlite_url, seed(sqlite_url)


def profile(url: str, who: str, customer: str):
    ctx = ToolContext.for_email(STAFF[who][1], now=NOW, database_url=url)
    return customer_profile(CustomerProfileParams(customer=CUSTOMERS[customer][0]), ctx=ctx)


def test_tokens_are_stable_opaque_and_digit_free():
    a, b = token_for("phone", "13800138000"), token_for("phone", "13800138000")
    assert a == b and TOKEN.fullmatch(a) and not re.search(r"\d", a)
    assert token_for("phone", "13800138001") != a and token_for("email", "13800138000") != a
    assert token_for("social_handles", "x").startswith("⟦PII:social:")


@pytest.mark.parametrize("text", ["13800138000", "+1-415-555-0199", "+86 138 0013 8001", "(555) 123-4567",
                                  "0755-26123456", "+44 20 7946 0958", "5551234567"])
def test_phone_patterns_are_found(text):
    assert ("phone", text) in pattern_items(f"电话{text}，或者 call {text}.")
    assert text not in protect_text(f"call me at {text} today")


@pytest.mark.parametrize("text", ["2025-06-15 12:00", "1,234,567.89", "SO-000123", "C000123", "12345.67", "1234567",
                                  "2026-11", "order 42 of 300", "SF1234567890", "12.5%"])
def test_numbers_that_are_not_phones_stay(text):
    assert protect_text(f"value {text} here") == f"value {text} here"


def test_emails_in_free_text():
    out = protect_text(NOTE)
    assert "13800138000" not in out and "a@b.com" not in out and out.startswith("call me at ⟦PII:phone:")


def test_profile_prompt_round_trips(crm):
    url, _ = crm
    result = profile(url, "admin", "own")
    protected = protected_prompt(result)
    data = CUSTOMERS["own"][2]
    for value in (data["phone"], data["email"], data["address"], "olive_wx88"):
        assert value not in protected
    # Credit is tokenized as whole cells only: "A" elsewhere in the text is untouched.
    credit = next(line for line in protected.splitlines() if line.startswith("| credit rating "))
    assert "⟦PII:credit_rating:" in credit and " A " not in credit
    assert "120.50" not in protected and protected.endswith(PLACEHOLDER_NOTE)
    restored = detokenize(protected.removesuffix("\n" + PLACEHOLDER_NOTE), artifacts=[result])
    plain = result.to_prompt()
    # Cells were padded to the token's width; compare without the padding.
    assert _squash(restored) == _squash(plain)


def _squash(text: str) -> str:
    return re.sub(r"[ \-]+", " ", text)


def test_masked_values_are_tokenized_and_restored_as_masked(crm):
    url, _ = crm
    result = profile(url, "manager", "own")
    protected = protected_prompt(result)
    assert "+** *** **** 8001" not in protected and "o***@example.com" not in protected
    token = TOKEN.search(protected.split("| phone")[1]).group(0)
    assert detokenize(f"phone: {token}", artifacts=[result]) == "phone: +** *** **** 8001"


def test_unknown_tokens_read_hidden():
    forged = token_for("phone", CUSTOMERS["west"][2]["phone"])
    assert detokenize(f"number {forged}", artifacts=[]) == "number hidden"
    assert detokenize(f"号码 {forged}", language="zh") == "号码 已隐藏"
    assert detokenize("no tokens here") == "no tokens here"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 200])
def test_stream_detokenizer_handles_tokens_split_across_chunks(size):
    vault = {}
    protected = protect_text(f"Ring {NOTE}. Or ⟦ not a token … {'x' * 60} done", vault=vault)
    out: list[str] = []
    stream = StreamDetokenizer(out.append, vault)
    for i in range(0, len(protected), size):
        stream(protected[i : i + size])
    stream.flush()
    assert "".join(out) == f"Ring {NOTE}. Or ⟦ not a token … {'x' * 60} done"


def test_error_content_is_protected():
    err = Ambiguous("several match", candidates=[Candidate(id=1, label="Olive", detail="tel 13800138000")])
    from assistant.tool_adapter import error_content

    out = protected_error(error_content(err), err)
    assert "13800138000" not in out and "⟦PII:phone:" in out
    assert detokenize(out, artifacts=[err]) == error_content(err)


def test_only_the_offline_router_is_trusted():
    class Offline:
        _llm_type = "crm-offline-router"

    class Other:
        _llm_type = "openai-chat"

    assert not needs_protection(Offline()) and needs_protection(Other()) and needs_protection(object())


def test_a_channel_named_phone_in_a_metrics_table_is_not_personal_data():
    from tools.results import Column, Table, ToolResult

    table = Table(columns=[Column(key="channel", label="Channel"), Column(key="interactions", label="N", kind="int")],
                  rows=[["phone", 1234], ["email", 567]])
    result = ToolResult(summary="Interactions by channel.", table=table)
    assert protected_prompt(result) == result.to_prompt()
