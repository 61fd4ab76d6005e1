"""Time expressions in English and Chinese, resolved against "now".

``find_times(text, today=...)`` returns every expression it recognises, as inclusive
``[start, end]`` calendar days with the character span it came from (so the caller
can mask it before intent classification). Calendar words ("last month", "上个月")
mean whole calendar units; rolling words ("last 30 days", "最近30天", "past month")
end today. Ends may lie after today: the tools clamp them to "now".
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from assistant.router.text import CN_NUMBER, EN_NUMBER, any_to_int, cn_to_int

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


# ---------------------------------------------------------------- calendar helpers


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


def _latest_month(today: date, month: int, year: int | None) -> tuple[date, date]:
    """A month named without a year is the latest one that has begun ("October" in May = last October)."""
    if year is None:
        year = today.year if month <= today.month else today.year - 1
    return month_range(year, month)


def _latest_quarter(today: date, quarter: int, year: int | None) -> tuple[date, date]:
    if year is None:
        year = today.year if quarter_range(today.year, quarter)[0] <= today else today.year - 1
    return quarter_range(year, quarter)


def _unit_range(today: date, unit: str, offset: int) -> tuple[date, date]:
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


def _rolling(today: date, unit: str, n: int) -> tuple[date, date]:
    """The last ``n`` units ending today (inclusive)."""
    n = max(n, 1)
    if unit == "day":
        return today - timedelta(days=n - 1), today
    if unit == "week":
        return today - timedelta(days=7 * n - 1), today
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * n
    return add_months(today, -months) + timedelta(days=1), today


def _forward(today: date, unit: str, n: int) -> tuple[date, date]:
    if unit == "day":
        return today, today + timedelta(days=n)
    if unit == "week":
        return today, today + timedelta(days=7 * n)
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * n
    return today, add_months(today, months)


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
        return _latest_month(today, month, int(m[1]) if m[1] else None)
    if m := re.fullmatch(r"(?:" + _YEAR + r"年)?" + _CN_MONTH + r"月份?", text):
        return _latest_month(today, cn_to_int(m[2]), int(m[1]) if m[1] else None)
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
    start, end = _rolling(today, _UNITS_EN[m[2].lower()], n)
    return start, end, "range"


@rule(r"\b(?:in\s+|over\s+|during\s+)?(?:the\s+)?past\s+(week|month|quarter|year|12 months)\b")
def _past_unit(m: re.Match, today: date):
    unit = m[1].lower()
    start, end = _rolling(today, "month", 12) if unit == "12 months" else _rolling(today, unit, 1)
    return start, end, "range"


@rule(r"\b(?:in\s+|over\s+)?(?:the\s+)?(?:next|coming|upcoming)\s+(" + EN_NUMBER + r")\s+" + _UNIT_EN + r"\b")
def _next_n(m: re.Match, today: date):
    start, end = _forward(today, _UNITS_EN[m[2].lower()], any_to_int(m[1]) or 1)
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
    start, _ = _unit_range(today, unit, 0)
    return start, today, unit


@rule(r"\b(?:the\s+)?(day before yesterday|yesterday|today|tonight|tomorrow)\b")
def _day_word(m: re.Match, today: date):
    offset = {"day before yesterday": -2, "yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1}[m[1].lower()]
    d = today + timedelta(days=offset)
    return d, d, "day"


@rule(r"\b(this|current|last|previous|prior|past|next|coming)\s+(week|month|quarter|year)\b")
def _this_last_unit(m: re.Match, today: date):
    start, end = _unit_range(today, m[2].lower(), _this_last(m[1]))
    return start, end, m[2].lower()


@rule(r"\b(?:the\s+)?(week|month|quarter|year) before(?: last)?\b")
def _before_last(m: re.Match, today: date):
    start, end = _unit_range(today, m[1].lower(), -2)
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
        start, end = _latest_quarter(today, q, None)
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
        start, end = _latest_month(today, month, None)
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


# ---------------------------------------------------------------- Chinese rules


@rule(r"(?:最近|近|过去|前|这)(" + CN_NUMBER + r"|\d+|半)" + _UNIT_ZH + r"(?:内|以来|里|中)?")
def _zh_last_n(m: re.Match, today: date):
    unit = _UNITS_ZH[m[2]]
    if m[1] == "半":
        if unit != "year":
            return None
        unit, n = "month", 6
    else:
        n = cn_to_int(m[1]) or 1
    start, end = _rolling(today, unit, n)
    return start, end, "range"


@rule(r"(?:未来|接下来)(" + CN_NUMBER + r"|\d+)" + _UNIT_ZH)
def _zh_next_n(m: re.Match, today: date):
    start, end = _forward(today, _UNITS_ZH[m[2]], cn_to_int(m[1]) or 1)
    return start, end, "range"


@rule(r"(今天|今日|昨天|昨日|前天|明天)")
def _zh_day(m: re.Match, today: date):
    d = today + timedelta(days={"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "明天": 1}[m[1]])
    return d, d, "day"


@rule(r"(上上个?|上一个|上一|上个|上|本|这一?个?|当|下一?个?)(周|星期|礼拜|月|季度|季)(?!度)")
def _zh_unit(m: re.Match, today: date):
    prefix, unit_word = m[1], m[2]
    unit = {"周": "week", "星期": "week", "礼拜": "week", "月": "month", "季度": "quarter", "季": "quarter"}[unit_word]
    if prefix.startswith("上上"):
        offset = -2
    elif prefix.startswith("上"):
        offset = -1
    elif prefix.startswith("下"):
        offset = 1
    else:
        offset = 0
    start, end = _unit_range(today, unit, offset)
    return start, end, unit


@rule(r"(今年|本年度?|去年|上一?年|前年|明年|" + _YEAR + r"年)(?:的|度)?\s*(上半年|下半年|(?:第?([一二三四1-4])季度|q([1-4])))")
def _zh_year_part(m: re.Match, today: date):
    year = _zh_year(m[1], today)
    part = m[2]
    if part == "上半年":
        return date(year, 1, 1), date(year, 6, 30), "range"
    if part == "下半年":
        return date(year, 7, 1), date(year, 12, 31), "range"
    q = cn_to_int(m[4] or m[5] or "")
    start, end = quarter_range(year, q)
    return start, end, "quarter"


def _zh_year(word: str, today: date) -> int:
    if word.startswith(("今年", "本年")):
        return today.year
    if word.startswith(("去年", "上年", "上一年")):
        return today.year - 1
    if word.startswith("前年"):
        return today.year - 2
    if word.startswith("明年"):
        return today.year + 1
    return int(word[:4])


@rule(r"(今年|本年度?|去年|上一?年|前年|" + _YEAR + r"年)(?:的)?" + _CN_MONTH + r"月份?")
def _zh_year_month(m: re.Match, today: date):
    start, end = month_range(_zh_year(m[1], today), cn_to_int(m[3]))
    return start, end, "month"


@rule(r"(?<![前近去上下本这每个])(?:第)?([一二三四1-4])季度|(?<![a-z0-9])q([1-4])(?![0-9])")
def _zh_quarter(m: re.Match, today: date):
    start, end = _latest_quarter(today, cn_to_int(m[1] or m[2]), None)
    return start, end, "quarter"


@rule(r"(上半年|下半年)")
def _zh_half(m: re.Match, today: date):
    y = today.year
    if m[1] == "下半年" and date(y, 7, 1) > today:
        y -= 1
    return (date(y, 1, 1), date(y, 6, 30), "range") if m[1] == "上半年" else (date(y, 7, 1), date(y, 12, 31), "range")


@rule(r"(年初至今|今年以来|本年至今|年初到现在|月初至今|本月至今|本季度至今|季初至今)")
def _zh_to_date(m: re.Match, today: date):
    unit = "year" if "年" in m[1] else "quarter" if "季" in m[1] else "month"
    start, _ = _unit_range(today, unit, 0)
    return start, today, unit


@rule(r"(今年|本年度?|去年|上一?年|前年|明年|" + _YEAR + r"年)(?!\s*\d|\s*[一二三四五六七八九十]+月)")
def _zh_year_word(m: re.Match, today: date):
    year = _zh_year(m[1], today)
    return date(year, 1, 1), date(year, 12, 31), "year"


@rule(r"(?<![\d个])" + _CN_MONTH + r"月份?(?![\d一二三四五六七八九十]+[日号])")
def _zh_month(m: re.Match, today: date):
    start, end = _latest_month(today, cn_to_int(m[1]), None)
    return start, end, "month"


# ---------------------------------------------------------------- entry point


def find_times(text: str, *, today: date) -> list[TimeMatch]:
    """Every non-overlapping time expression, left to right; the longest wins where two overlap."""
    found: list[TimeMatch] = []
    for pattern, handler in _RULES:
        for m in pattern.finditer(text):
            if m.end() == m.start():
                continue
            resolved = handler(m, today)
            if resolved is None:
                continue
            start, end, grain = resolved
            found.append(TimeMatch(start=start, end=end, span=(m.start(), m.end()), text=m[0], grain=grain))
    found.sort(key=lambda t: (-(t.span[1] - t.span[0]), t.span[0]))
    chosen: list[TimeMatch] = []
    for t in found:
        if all(t.span[1] <= c.span[0] or t.span[0] >= c.span[1] for c in chosen):
            chosen.append(t)
    return sorted(chosen, key=lambda t: t.span[0])


def find_time(text: str, *, today: date) -> TimeMatch | None:
    """The period a question asks about: the first expression found (None when it names no time)."""
    times = find_times(text, today=today)
    return times[0] if times else None
