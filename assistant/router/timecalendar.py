"""Calendar arithmetic for time expressions: months, quarters, weeks, rolling windows."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def quarter_range(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * (quarter - 1) + 1, 1)
    return start, add_months(start, 3) - timedelta(days=1)


def week_range(day: date) -> tuple[date, date]:
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=6)


def latest_month(today: date, month: int, year: int | None) -> tuple[date, date]:
    """A month named without a year is the latest one that has begun ("October" in May = last October)."""
    if year is None:
        year = today.year if month <= today.month else today.year - 1
    return month_range(year, month)


def latest_quarter(today: date, quarter: int, year: int | None) -> tuple[date, date]:
    if year is None:
        year = today.year if quarter_range(today.year, quarter)[0] <= today else today.year - 1
    return quarter_range(year, quarter)


def unit_range(today: date, unit: str, offset: int) -> tuple[date, date]:
    """Calendar unit containing today, shifted by ``offset`` units (-1 = last, +1 = next)."""
    if unit == "day":
        d = today + timedelta(days=offset)
        return d, d
    if unit == "week":
        start, _ = week_range(today)
        start += timedelta(weeks=offset)
        return start, start + timedelta(days=6)
    if unit == "month":
        first = add_months(today.replace(day=1), offset)
        return month_range(first.year, first.month)
    if unit == "quarter":
        q = (today.month - 1) // 3
        first = add_months(date(today.year, 3 * q + 1, 1), 3 * offset)
        return quarter_range(first.year, (first.month - 1) // 3 + 1)
    year = today.year + offset
    return date(year, 1, 1), date(year, 12, 31)


def rolling(today: date, unit: str, n: int) -> tuple[date, date]:
    """The last ``n`` units ending today (inclusive)."""
    n = max(n, 1)
    if unit == "day":
        return today - timedelta(days=n - 1), today
    if unit == "week":
        return today - timedelta(days=7 * n - 1), today
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * n
    return add_months(today, -months) + timedelta(days=1), today


def forward(today: date, unit: str, n: int) -> tuple[date, date]:
    if unit == "day":
        return today, today + timedelta(days=n)
    if unit == "week":
        return today, today + timedelta(days=7 * n)
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * n
    return today, add_months(today, months)
