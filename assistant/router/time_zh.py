"""Chinese time expressions: 上个月, 本季度, 最近30天, 今年, 去年十月, 2025年第三季度, 上半年 …

Registered into ``assistant.router.timeexpr``'s rule list on import; same handler contract.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from assistant.router.text import CN_NUMBER, cn_to_int
from assistant.router.timecalendar import (
    forward,
    latest_month,
    latest_quarter,
    month_range,
    quarter_range,
    rolling,
    unit_range,
)
from assistant.router.timeexpr import _CN_MONTH, _UNIT_ZH, _UNITS_ZH, _YEAR, rule


@rule(r"(?:最近|近|过去|前|这)(" + CN_NUMBER + r"|\d+|半)" + _UNIT_ZH + r"(?:内|以来|里|中)?")
def _zh_last_n(m: re.Match, today: date):
    unit = _UNITS_ZH[m[2]]
    if m[1] == "半":
        if unit != "year":
            return None
        unit, n = "month", 6
    else:
        n = cn_to_int(m[1]) or 1
    start, end = rolling(today, unit, n)
    return start, end, "range"


@rule(r"(?:未来|接下来)(" + CN_NUMBER + r"|\d+)" + _UNIT_ZH)
def _zh_next_n(m: re.Match, today: date):
    start, end = forward(today, _UNITS_ZH[m[2]], cn_to_int(m[1]) or 1)
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
    start, end = unit_range(today, unit, offset)
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
    start, end = latest_quarter(today, cn_to_int(m[1] or m[2]), None)
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
    start, _ = unit_range(today, unit, 0)
    return start, today, unit


@rule(r"(今年|本年度?|去年|上一?年|前年|明年|" + _YEAR + r"年)(?!\s*\d|\s*[一二三四五六七八九十]+月)")
def _zh_year_word(m: re.Match, today: date):
    year = _zh_year(m[1], today)
    return date(year, 1, 1), date(year, 12, 31), "year"


@rule(r"(?<![\d个])" + _CN_MONTH + r"月份?(?![\d一二三四五六七八九十]+[日号])")
def _zh_month(m: re.Match, today: date):
    start, end = latest_month(today, cn_to_int(m[1]), None)
    return start, end, "month"
