"""Time expressions in English and Chinese, resolved against "now".

``find_times(text, today=...)`` returns every expression it recognises, as inclusive
``[start, end]`` calendar days with the character span it came from (so the caller
can mask it before intent classification). Calendar words ("last month", "上个月")
mean whole calendar units; rolling words ("last 30 days", "最近30天", "past month")
end today. Ends may lie after today: the tools clamp them to "now".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from assistant.router.text import EN_NUMBER, any_to_int, cn_to_int
from assistant.router.timecalendar import (
    forward,
    latest_month,
    latest_quarter,
    month_range,
    quarter_range,
    rolling,
    unit_range,
)

Grain = str  # "day" | "week" | "month" | "quarter" | "year" | "range"


@dataclass(frozen=True)
class TimeMatch:
    start: date | None
    end: date | None
    span: tuple[int, int]
    text: str
    grain: Grain

    def as_period(self) -> dict[str, str | None]:
        return {"start": self.start.isoformat() if self.start else None, "end": self.end.isoformat() if self.end else None}


# ---------------------------------------------------------------- vocabularies

MONTHS_EN = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH_EN = r"(?:" + "|".join(sorted(MONTHS_EN, key=len, reverse=True)) + r")\.?"
# "may", "march" and "mar" are also verbs; alone they count as months only after a cue word.
_AMBIGUOUS_MONTHS = {"may", "march", "mar"}
_CUE = r"(?:in|during|for|of|since|from|until|till|through|by|to|and|between|last|this|before|after)"
_UNITS_EN = {"day": "day", "days": "day", "week": "week", "weeks": "week", "wk": "week", "wks": "week", "month": "month",
             "months": "month", "mo": "month", "mos": "month", "quarter": "quarter", "quarters": "quarter",
             "year": "year", "years": "year", "yr": "year", "yrs": "year"}  # fmt: skip
_UNIT_EN = r"(days?|weeks?|wks?|months?|mos?|quarters?|years?|yrs?)"
_ORDINAL_Q = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "last": 4}
_UNITS_ZH = {"天": "day", "日": "day", "周": "week", "星期": "week", "个星期": "week", "礼拜": "week", "个礼拜": "week",
             "月": "month", "个月": "month", "季度": "quarter", "个季度": "quarter", "季": "quarter", "年": "year"}  # fmt: skip
_UNIT_ZH = r"(个星期|个礼拜|星期|礼拜|个季度|季度|个月|天|日|周|月|年)"
_CN_MONTH = r"(十[一二]|[一二三四五六七八九十]|1[0-2]|0?[1-9])"
_YEAR = r"((?:19|20)\d{2})"


def _this_last(word: str) -> int:
    word = word.lower()
    if word in ("last", "previous", "prior", "past", "上", "上个", "上一", "上一个", "去"):
        return -1
    if word in ("next", "coming", "upcoming", "下", "下个", "下一", "下一个", "明"):
        return 1
    return 0


Handler = Callable[[re.Match, date], tuple[date | None, date | None, Grain] | None]
_RULES: list[tuple[re.Pattern, Handler]] = []


def rule(pattern: str, flags: int = re.IGNORECASE) -> Callable[[Handler], Handler]:
    def wrap(fn: Handler) -> Handler:
        _RULES.append((re.compile(pattern, flags), fn))
        return fn

    return wrap


def _date(text: str, today: date) -> date | None:
    """One day written as 2025-10-03, 2025/10/3, 2025年10月3日, Oct 3 (2025) or 3 Oct (2025)."""
    text = text.strip().lower().rstrip(",")
    if m := re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    m = re.fullmatch(_MONTH_EN + r"\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?", text) or re.fullmatch(
        r"(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_EN + r"(?:,?\s+(\d{4}))?", text
    )
    if m:
        words = re.findall(r"[a-z]+", text)
        month = next((MONTHS_EN[w] for w in words if w in MONTHS_EN), None)
        day = int(re.search(r"\d{1,2}", text)[0])
        year_m = re.search(r"\d{4}", text)
        year = int(year_m[0]) if year_m else today.year
        try:
            found = date(year, month, day)
        except (TypeError, ValueError):
            return None
        return found if year_m or found <= today else found.replace(year=year - 1)
    if m := re.fullmatch(r"(\d{1,2})月(\d{1,2})[日号]", text):
        try:
            found = date(today.year, int(m[1]), int(m[2]))
        except ValueError:
            return None
        return found if found <= today else found.replace(year=today.year - 1)
    return None


_DAY = (
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{4}年\d{1,2}月\d{1,2}日|\d{1,2}月\d{1,2}[日号]|"
    + _MONTH_EN
    + r"\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?|\d{1,2}(?:st|nd|rd|th)?\s+"
    + _MONTH_EN
    + r"(?:,?\s+\d{4})?)"
)


def _point(text: str, today: date) -> tuple[date, date] | None:
    """A day, a month ('march 2025', '2025年3月', '三月') or a year, as a range."""
    text = text.strip()
    if d := _date(text, today):
        return d, d
    low = text.lower()
    if m := re.fullmatch(_MONTH_EN + r"(?:,?\s+" + _YEAR + ")?", low):
        month = MONTHS_EN[low.split()[0].rstrip(".,")]
        return latest_month(today, month, int(m[1]) if m[1] else None)
    if m := re.fullmatch(r"(?:" + _YEAR + r"年)?" + _CN_MONTH + r"月份?", text):
        return latest_month(today, cn_to_int(m[2]), int(m[1]) if m[1] else None)
    if m := re.fullmatch(_YEAR + r"年?", text):
        return date(int(m[1]), 1, 1), date(int(m[1]), 12, 31)
    return None


_CN_MONTH_NC = "(?:" + _CN_MONTH[1:]
_POINT = (
    r"(?:" + _DAY + r"|" + _MONTH_EN + r"(?:,?\s+(?:19|20)\d{2})?|(?:(?:19|20)\d{2}年)?" + _CN_MONTH_NC + r"月份?|(?:19|20)\d{2}年?)"
)


# ---------------------------------------------------------------- English rules


@rule(r"\b(?:from|between)\s+(" + _POINT + r")\s+(?:to|and|until|till|through|-)\s+(" + _POINT + r")")
@rule(r"(?:从|自)?(" + _POINT + r")\s*(?:到|至|~|-|—)\s*(" + _POINT + r")")
def _between(m: re.Match, today: date):
    first, second = _point(m[1], today), _point(m[2], today)
    if not first or not second:
        return None
    start, end = first[0], second[1]
    if end < start and not re.search(r"\d{4}", m[0]):
        start = start.replace(year=start.year - 1)  # "from November to February" spans the year end
    return start, end, "range"


@rule(r"\b(?:since|from|after)\s+(" + _POINT + r")(?!\s*(?:to|and|until|till|through|-)\s)")
@rule(r"(?:自|从)?(" + _POINT + r")(?:以来|至今|开始|起)")
def _since(m: re.Match, today: date):
    found = _point(m[1], today)
    return (found[0], today, "range") if found else None


@rule(r"\b(?:in\s+|over\s+|during\s+|for\s+|within\s+)?(?:the\s+)?(?:last|past|previous|prior|recent)\s+(" + EN_NUMBER + r")\s+" + _UNIT_EN + r"\b")
def _last_n(m: re.Match, today: date):
    n = any_to_int(m[1]) or 1
    start, end = rolling(today, _UNITS_EN[m[2].lower()], n)
    return start, end, "range"


@rule(r"\b(?:in\s+|over\s+|during\s+)?(?:the\s+)?past\s+(week|month|quarter|year|12 months)\b")
def _past_unit(m: re.Match, today: date):
    unit = m[1].lower()
    start, end = rolling(today, "month", 12) if unit == "12 months" else rolling(today, unit, 1)
    return start, end, "range"


@rule(r"\b(?:in\s+|over\s+)?(?:the\s+)?(?:next|coming|upcoming)\s+(" + EN_NUMBER + r")\s+" + _UNIT_EN + r"\b")
def _next_n(m: re.Match, today: date):
    start, end = forward(today, _UNITS_EN[m[2].lower()], any_to_int(m[1]) or 1)
    return start, end, "range"


@rule(r"\b(?:year|month|quarter|week)[\s-]to[\s-]date\b|\b(?:ytd|mtd|qtd|wtd)\b|\bso far this (?:year|month|quarter|week)\b")
def _to_date(m: re.Match, today: date):
    text = m[0].lower()
    if "year" in text or text.startswith("y"):
        unit = "year"
    elif "quarter" in text or text.startswith("q"):
        unit = "quarter"
    elif "month" in text or text.startswith("m"):
        unit = "month"
    else:
        unit = "week"
    start, _ = unit_range(today, unit, 0)
    return start, today, unit


@rule(r"\b(?:the\s+)?(day before yesterday|yesterday|today|tonight|tomorrow)\b")
def _day_word(m: re.Match, today: date):
    offset = {"day before yesterday": -2, "yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1}[m[1].lower()]
    d = today + timedelta(days=offset)
    return d, d, "day"


@rule(r"\b(this|current|last|previous|prior|past|next|coming)\s+(week|month|quarter|year)\b")
def _this_last_unit(m: re.Match, today: date):
    start, end = unit_range(today, m[2].lower(), _this_last(m[1]))
    return start, end, m[2].lower()


@rule(r"\b(?:the\s+)?(week|month|quarter|year) before(?: last)?\b")
def _before_last(m: re.Match, today: date):
    start, end = unit_range(today, m[1].lower(), -2)
    return start, end, m[1].lower()


@rule(r"\b(?:(first|1st|second|2nd|third|3rd|fourth|4th)\s+quarter|q([1-4]))(?:\s+(?:of\s+)?(?:(this|last|next)\s+year|" + _YEAR + r"))?\b")
@rule(r"\b" + _YEAR + r"\s*-?\s*q([1-4])\b")
def _quarter(m: re.Match, today: date):
    groups = [g for g in m.groups()]
    if len(groups) == 2:  # "2025 q3"
        start, end = quarter_range(int(groups[0]), int(groups[1]))
        return start, end, "quarter"
    word, digit, rel, year = groups
    q = int(digit) if digit else _ORDINAL_Q[word.lower()]
    if year:
        start, end = quarter_range(int(year), q)
    elif rel:
        start, end = quarter_range(today.year + _this_last(rel), q)
    else:
        start, end = latest_quarter(today, q, None)
    return start, end, "quarter"


@rule(r"\b(?:(first|second)\s+half|h([12]))(?:\s+(?:of\s+)?(?:(this|last|next)\s+year|" + _YEAR + r"))?\b")
def _half(m: re.Match, today: date):
    word, digit, rel, year = m.groups()
    half = int(digit) if digit else (1 if word.lower() == "first" else 2)
    y = int(year) if year else today.year + (_this_last(rel) if rel else 0)
    if not year and not rel and date(y, 1 if half == 1 else 7, 1) > today:
        y -= 1
    return (date(y, 1, 1), date(y, 6, 30), "range") if half == 1 else (date(y, 7, 1), date(y, 12, 31), "range")


@rule(r"\b(?:(" + _CUE + r")\s+)?(?:(last|this)\s+)?(" + _MONTH_EN + r")(?!\s+\d{1,2}\b)(?:,?\s+" + _YEAR + r")?\b")
def _month_en(m: re.Match, today: date):
    cue, rel, word, year = m.groups()
    name = word.lower().rstrip(".")
    if name in _AMBIGUOUS_MONTHS and not (cue or rel or year):
        return None
    month = MONTHS_EN[name]
    if year:
        start, end = month_range(int(year), month)
    elif rel and rel.lower() == "last" and month >= today.month:
        start, end = month_range(today.year - 1, month)
    elif rel and rel.lower() == "this":
        start, end = month_range(today.year, month)
    else:
        start, end = latest_month(today, month, None)
    return start, end, "month"


@rule(r"\b(?:in|during|for|of|year)\s+" + _YEAR + r"\b|\b" + _YEAR + r"\b(?![-/]\d)")
def _year(m: re.Match, today: date):
    if re.search(r"(?:order|no\.?|number|#|id|订单|单号)\s*$", m.string[: m.start()], re.IGNORECASE):
        return None  # "order 2025" is an order number
    year = int(m[1] or m[2])
    return date(year, 1, 1), date(year, 12, 31), "year"


@rule(r"\b(?:on\s+)?(" + _DAY + r")")
def _single_day(m: re.Match, today: date):
    d = _date(m[1], today)
    return (d, d, "day") if d else None


# ---------------------------------------------------------------- entry point


def find_times(text: str, *, today: date) -> list[TimeMatch]:
    """Every non-overlapping time expression, left to right; the longest wins where two overlap."""
    found: list[TimeMatch] = []
    for pattern, handler in _RULES:
        for m in pattern.finditer(text):
            if m.end() == m.start():
                continue
            try:
                resolved = handler(m, today)
            except (OverflowError, ValueError):
                # "the last 99999999999 days", "2026-02-30": no calendar date; not a time the CRM can hold.
                continue
            if resolved is None:
                continue
            start, end, grain = resolved
            found.append(TimeMatch(start=start, end=end, span=(m.start(), m.end()), text=m[0], grain=grain))
    found.sort(key=lambda t: (-(t.span[1] - t.span[0]), t.span[0]))
    chosen: list[TimeMatch] = []
    # Characters already taken (spans are never empty here): linear in the text, not in matches squared.
    taken = bytearray(len(text))
    for t in found:
        start, end = t.span
        if not any(taken[start:end]):
            chosen.append(t)
            taken[start:end] = b"\x01" * (end - start)
    return sorted(chosen, key=lambda t: t.span[0])


def find_time(text: str, *, today: date) -> TimeMatch | None:
    """The period a question asks about: the first expression found (None when it names no time)."""
    times = find_times(text, today=today)
    return times[0] if times else None


# The Chinese rules register themselves on import; after the English ones, as before the split.
from assistant.router import time_zh  # noqa: E402, F401
