"""Grounding: which numbers an answer states, and whether a tool result of the turn backs each one."""

from __future__ import annotations

import pytest

from assistant.grounding import build_sources, check_answer, ground
from assistant.numbers import chinese_count, find_numbers
from tools.errors import Ambiguous, Candidate
from tools.results import ChartSpec, Citation, Column, Table, ToolResult


def result() -> ToolResult:
    table = Table(
        columns=[Column(key="name", label="Customer"), Column(key="revenue", label="Revenue", kind="money"),
                 Column(key="share", label="Share", kind="pct"), Column(key="orders", label="Orders", kind="int"),
                 Column(key="last", label="Last order", kind="date")],
        rows=[["Acme Trading", 1234.5, 0.123, 17, "2025-05-02"],
              ["Bolt Retail", 98765.432, 0.4567, 3, "2025-06-01"],
              ["Chen Jing", 12345678.0, 0.0525, 250, None]],
        total_rows=42,
    )
    return ToolResult(
        summary="3 customers shown of 42; revenue 12,445,677.93 in total.",
        summary_zh="共42位客户，显示3位；总收入12,445,677.93。",
        table=table,
        chart=ChartSpec(kind="bar", title="Revenue", x=["2025-04", "2025-05"], series={"revenue": [5100.0, 7300.25]}),
        citations=[Citation(kind="customer", id=981, label="Acme Trading (C000981)")],
    )


SOURCES = build_sources(artifacts=[result()], tool_args=[{"top_n": 5, "period": {"start": "2025-04-01"}}],
                        question="top 5 customers in the last 30 days")


@pytest.mark.parametrize(
    "text",
    [
        "Acme Trading spent 1,234.50.",
        "Acme Trading spent 1234.50.",
        "Acme Trading spent 1234.5.",
        "Acme spent 1,235 and Bolt 98,765.43.",
        "Bolt spent about 98.8k; Chen Jing about 12.3M.",
        "Chen Jing spent 12.35 million, about 1234.57万 (1,234.57万).",
        "Chen Jing: 0.12 亿.",
        "Acme's share is 12.3%, Bolt 45.7%, Chen 5.3%.",
        "Acme's share is 0.123, Bolt's 0.46.",
        "Acme's share is 12%.",
        "Showing 3 of 42 customers.",
        "共三位客户，显示了四十二位中的三位。",
        "Acme has 17 orders, Chen Jing 250.",
        "Revenue went from 5,100 to 7,300.25 between 2025-04 and 2025-05.",
        "Top 5 over the last 30 days.",
        "About 12,000,000 for Chen Jing and 100,000 for Bolt.",
        "| # | Customer | Revenue | Share |\n|---|---|---|---|\n| 1 | Chen Jing | 12,345,678.00 | 5.3% |\n"
        "| 2 | Bolt Retail | 98,765.43 | 45.7% |",
    ],
)
def test_grounded_in_many_formats(text):
    fixed, g = check_answer(text, SOURCES)
    assert g.ok, (text, g)
    assert fixed == text


@pytest.mark.parametrize(
    "text",
    [
        "On 2025-06-15 (June 15, 2025) at 10:30, in Q3 2025 and FY2024.",
        "In 2024 and 2025, sales improved.",
        "2025年6月15日，第3季度，第一名。",
        "Order SO-0000123 for C000981; call +1-555-0199 or mail a1@b2.com.",
        "1. Acme\n2. Bolt\n3) Chen",
        "See https://crm.example.com/c/981 and /tmp/charts/chart-12ab.png.",
        "The #1 customer, ranked 2nd last year.",
        "上午9点，12月5日。",
        "| 1 | Acme |\n| 2 | Bolt |",
    ],
)
def test_dates_years_ids_and_markers_are_not_numbers(text):
    assert find_numbers(text) == [], [m.text for m in find_numbers(text)]


@pytest.mark.parametrize(
    "text,bad",
    [
        ("Acme spent 1,299.00.", "1,299.00"),
        ("Revenue grew 37%.", "37%"),
        ("There are 8 customers.", "8"),
        ("共有七位客户。", "七"),
        ("About 55k in total.", "55k"),
        ("Acme spent 2,000.", "2,000"),
    ],
)
def test_ungrounded_numbers_are_caught(text, bad):
    _, g = check_answer(text, SOURCES)
    assert not g.ok and bad in g.violations


def test_near_miss_with_one_candidate_is_repaired_to_the_tool_format():
    fixed, g = check_answer("Acme spent 1,240 and holds 12.6% of revenue.", SOURCES)
    assert fixed == "Acme spent 1,234.50 and holds 12.3% of revenue."
    assert g.repaired == ["1,240 -> 1,234.50", "12.6% -> 12.3%"] and not g.flagged and not g.ok


def test_unrepairable_numbers_are_flagged_visibly_in_the_answers_language():
    fixed, g = check_answer("Revenue grew 37% to 777.", SOURCES, language="en")
    assert g.flagged and fixed.startswith("Revenue grew 37% to 777.")
    assert "⚠️ Unverified figures: 37%, 777." in fixed
    fixed_zh, g_zh = check_answer("收入增长了37%。", SOURCES, language="zh")
    assert g_zh.flagged and "以下数字未能" in fixed_zh and "37%" in fixed_zh.split("⚠️")[1]


def test_no_tool_results_means_only_the_question_can_back_numbers():
    fixed, g = ground("You asked about the top 5; I have 12 ideas.", question="give me the top 5")
    assert g.violations == ["12"] and g.flagged and "⚠️" in fixed


def test_answers_without_numbers_pass_untouched():
    text, g = ground("Hello! How can I help?", question="hi")
    assert g.ok and text == "Hello! How can I help?"


def test_error_candidates_back_a_clarifying_question():
    err = Ambiguous("two customers match 'Wang Fang'", candidates=[
        Candidate(id=17, label="Wang Fang", detail="Shanghai, 12 orders"),
        Candidate(id=23, label="Wang Fang", detail="Beijing, 3 orders")])
    text, g = ground("Which Wang Fang: the one in Shanghai (12 orders, id 17) or Beijing (3 orders, id 23)?",
                     artifacts=[err])
    assert g.ok, g


def test_reloaded_artifacts_as_dicts_still_count():
    dumped = result().model_dump()
    _, g = ground("Acme spent 1,234.50.", artifacts=[dumped])
    assert g.ok


def test_full_width_digits_and_chinese_units():
    _, g = check_answer("Acme 的份额为１２．３％，陈静约1234.6万元。", SOURCES, language="zh")
    assert g.ok, g


@pytest.mark.parametrize("text,value", [("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("九十九", 99), ("两", 2)])
def test_chinese_counts(text, value):
    assert chinese_count(text) == value


def test_mentions_keep_spans_and_precision():
    [m] = find_numbers("total 1.2k orders")
    assert (m.text, m.magnitude, m.tolerance > 49) == ("1.2k", 1200.0, True)
    [p] = find_numbers("share 12.30%")
    assert p.percent and p.decimals == 2 and "share 12.30%"[p.start : p.end] == "12.30%"


def test_reply_language_follows_the_router_rule():
    from assistant import detect_language

    assert detect_language("what did 王小明 buy last month") == "en"
    assert detect_language("上个月 revenue by region") == "zh"
    assert detect_language("上个季度各地区的销售额") == "zh"
