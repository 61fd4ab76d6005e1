"""Period tokens used by the question files, resolved against the pinned "now".

Written independently of the router's time parser on purpose: the eval checks the
router's reading of "last quarter", so it must not reuse it.

Tokens: today, yesterday, this_week, last_week, this_month, last_month, this_quarter,
last_quarter, this_year, last_year, ytd, last_<N>_days, month:YYYY-MM,
quarter:YYYY-Qn, year:YYYY, range:YYYY-MM-DD:YYYY-MM-DD, next_quarter, next_month.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _shift_month(y: int, m: int, k: int) -> tuple[int, int]:
    idx = y * 12 + (m - 1) + k
    return idx // 12, idx % 12 + 1


def resolve(token: str, today: date) -> tuple[date, date]:
    """Inclusive (start, end); calendar units run to their natural end (tools clamp to today)."""
    t = token.strip()
    if t == "today":
        return today, today
    if t == "yesterday":
        d = today - timedelta(days=1)
        return d, d
    if t in ("this_week", "last_week"):
        monday = today - timedelta(days=today.weekday()) - timedelta(weeks=1 if t == "last_week" else 0)
        return monday, monday + timedelta(days=6)
    if t in ("this_month", "last_month", "next_month"):
        y, m = _shift_month(today.year, today.month, {"this_month": 0, "last_month": -1, "next_month": 1}[t])
        return date(y, m, 1), _month_end(y, m)
    if t in ("this_quarter", "last_quarter", "next_quarter"):
        q0 = (today.month - 1) // 3
        y, m = _shift_month(today.year, q0 * 3 + 1, {"this_quarter": 0, "last_quarter": -3, "next_quarter": 3}[t])
        ey, em = _shift_month(y, m, 2)
        return date(y, m, 1), _month_end(ey, em)
    if t in ("this_year", "last_year"):
        y = today.year - (1 if t == "last_year" else 0)
        return date(y, 1, 1), date(y, 12, 31)
    if t == "ytd":
        return date(today.year, 1, 1), today
    if t.startswith("last_") and t.endswith("_days"):
        n = int(t[len("last_") : -len("_days")])
        return today - timedelta(days=n - 1), today
    kind, _, value = t.partition(":")
    if kind == "month":
        y, m = map(int, value.split("-"))
        return date(y, m, 1), _month_end(y, m)
    if kind == "quarter":
        y, q = value.split("-Q")
        start_month = (int(q) - 1) * 3 + 1
        return date(int(y), start_month, 1), _month_end(int(y), start_month + 2)
    if kind == "year":
        return date(int(value), 1, 1), date(int(value), 12, 31)
    if kind == "range":
        a, b = value.split(":")
        return date.fromisoformat(a), date.fromisoformat(b)
    raise ValueError(f"unknown period token {token!r}")
