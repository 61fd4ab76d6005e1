"""Time expressions in English and Chinese, resolved against a pinned "today" (a Sunday)."""

from datetime import date

import pytest

from assistant.router.text import normalize
from assistant.router.timeexpr import find_time, find_times

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("revenue this month", "2026-11-01", "2026-11-30"),
        ("orders last month", "2026-10-01", "2026-10-31"),
        ("sales last quarter", "2026-07-01", "2026-09-30"),
        ("this quarter", "2026-10-01", "2026-12-31"),
        ("in October", "2026-10-01", "2026-10-31"),
        ("in December", "2025-12-01", "2025-12-31"),
        ("last 30 days", "2026-10-24", "2026-11-22"),
        ("in the past 2 weeks", "2026-11-09", "2026-11-22"),
        ("yesterday", "2026-11-21", "2026-11-21"),
        ("this year", "2026-01-01", "2026-12-31"),
        ("last year", "2025-01-01", "2025-12-31"),
        ("year to date", "2026-01-01", "2026-11-22"),
        ("this week", "2026-11-16", "2026-11-22"),
        ("last week", "2026-11-09", "2026-11-15"),
        ("Q3", "2026-07-01", "2026-09-30"),
        ("Q1 2025", "2025-01-01", "2025-03-31"),
        ("first half of this year", "2026-01-01", "2026-06-30"),
        ("from March to June", "2026-03-01", "2026-06-30"),
        ("between 2025-01-01 and 2025-03-31", "2025-01-01", "2025-03-31"),
        ("since January", "2026-01-01", "2026-11-22"),
        ("next quarter", "2027-01-01", "2027-03-31"),
        ("in 2024", "2024-01-01", "2024-12-31"),
        ("上个月", "2026-10-01", "2026-10-31"),
        ("本季度", "2026-10-01", "2026-12-31"),
        ("上个季度各地区的销售额", "2026-07-01", "2026-09-30"),
        ("最近30天", "2026-10-24", "2026-11-22"),
        ("近三个月", "2026-08-23", "2026-11-22"),
        ("今年", "2026-01-01", "2026-12-31"),
        ("去年", "2025-01-01", "2025-12-31"),
        ("十月", "2026-10-01", "2026-10-31"),
        ("去年十月份", "2025-10-01", "2025-10-31"),
        ("2025年第三季度", "2025-07-01", "2025-09-30"),
        ("上周", "2026-11-09", "2026-11-15"),
        ("年初至今", "2026-01-01", "2026-11-22"),
        ("近半年", "2026-05-23", "2026-11-22"),
        ("从9月到11月", "2026-09-01", "2026-11-30"),
        ("上半年", "2026-01-01", "2026-06-30"),
    ],
)
def test_resolves(text, start, end):
    found = find_time(normalize(text), today=TODAY)
    assert found is not None, text
    assert (found.start.isoformat(), found.end.isoformat()) == (start, end)


@pytest.mark.parametrize("text", ["what may happen", "top 10 customers", "前10个客户", "order 2025 status", "show me the pipeline"])
def test_no_false_times(text):
    assert find_time(normalize(text), today=TODAY) is None


def test_spans_point_into_the_text():
    text = normalize("compare this month with last month")
    found = find_times(text, today=TODAY)
    assert [text[t.span[0] : t.span[1]] for t in found] == ["this month", "last month"]
