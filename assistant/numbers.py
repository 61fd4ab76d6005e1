"""Find the numbers a text states, as a reader would read them.

``1,234.5``, ``1234.50``, ``12.3%``, ``0.123``, ``1.2k``, ``3.5万``, ``2 million`` and
Chinese numerals for small counts (``三位客户``) are numbers; dates, years, times,
quarters, ranks, list markers, identifiers (``C000123``, ``SO-0001``), e-mail
addresses, URLs and phone numbers are not. Each mention keeps the precision it was
written with, so "1.2k" is read as "somewhere in [1150, 1250)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FULLWIDTH = str.maketrans("０１２３４５６７８９％．，", "0123456789%.,")

_MONTH = (
    r"(?<![A-Za-z])(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?(?![A-Za-z])"
)
# Spans that contain digits but state no quantity. Order matters only for readability: all are masked.
_NOT_NUMBERS = re.compile(
    "|".join(
        [
            r"https?://\S+",
            r"[\w.+-]+@[\w-]+\.[\w.]+",
            r"(?:[\w.-]*/)+[\w.-]+\.(?:png|jpg|svg|csv|json|txt)",
            r"\+\d[\d\s()-]{6,}\d",  # phone numbers written with a country code
            r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?",
            r"\d{4}/\d{1,2}(?:/\d{1,2})?",
            r"\d{1,2}/\d{1,2}/\d{2,4}",
            r"\d{4}\.\d{1,2}\.\d{1,2}",
            r"(?<![\d,.])\d{4}-(?:0[1-9]|1[0-2])(?![\d-])",  # month buckets: 2025-10
            r"(?<![\d,.])\d{4}-?W\d{1,2}",  # ISO weeks
            r"\d{2,4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?",
            r"(?<![\d.])\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?",
            r"(?<![\d.])\d{1,2}\s*[日号](?![元币])",
            r"\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?",
            r"(?<![\d.])\d{1,2}\s?(?:am|pm|a\.m\.|p\.m\.)(?![A-Za-z])",
            r"(?<![\d.])\d{1,2}\s*[点时](?:\s*\d{1,2}\s*分)?",
            rf"{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?![\d,.]\d)(?:,?\s*\d{{4}})?",
            rf"(?<![\d.,])\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:\s+\d{{4}})?",
            r"(?<![A-Za-z])(?:Q[1-4]|H[12]|FY\s?\d{2,4})(?![A-Za-z0-9])",
            r"(?<![\d.])[1-4]Q(?![A-Za-z])",
            r"第\s*[\d一二三四五六七八九十两]+\s*(?:季度|名|位|个|次|周|天|条)?",
            r"#\s?\d+",
            r"No\.\s?\d+",
            r"(?<![\d.])\d+(?:st|nd|rd|th)(?![A-Za-z])",
            r"^\s*(?:[-*]\s+)?\(?\d{1,2}(?:[.)](?=\s)|、)",  # list markers: "1. ", "2) ", "3、"
            r"^\|\s*\d{1,2}\s*(?=\|)",  # a rank in the first cell of a markdown table row
            r"(?<![\d,.%])(?:19|20)\d{2}(?!\d|[,.]\d|%)(?!\s*(?:%|k\b|K\b|万|亿|千|percent))",  # years
        ]
    ),
    re.IGNORECASE | re.MULTILINE,
)

# A number that is not glued to letters on the left (identifiers) and the unit that scales it.
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(?<![A-Za-z0-9]-)(?<![A-Za-z0-9]/)"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<unit>\s?(?:%|percent\b|per cent\b|k\b|K\b|thousand\b|mn\b|million\b|bn\b|billion\b|M\b|B\b|百万|万|亿|千))?"
    r"(?P<tail>[A-Za-z]*)"
)
_MULTIPLIER = {
    "k": 1e3, "thousand": 1e3, "千": 1e3, "万": 1e4,
    "m": 1e6, "mn": 1e6, "million": 1e6, "百万": 1e6,
    "亿": 1e8, "b": 1e9, "bn": 1e9, "billion": 1e9,
}
# Chinese numerals for small counts, only before a measure word ("三位客户", "两笔订单").
_CN_COUNT = re.compile(
    r"(?<![第一二三四五六七八九十两百千万])(?P<cn>[两二三四五六七八九]?十[一二三四五六七八九]?|[两二三四五六七八九])"
    r"(?=\s*(?:位|个|名|家|笔|单|次|件|条|项|种|类|天|周|人|款|张|款|倍))"
)
_CN_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    value: float  # as written, before the unit: 1.2 for "1.2k", 12.3 for "12.3%"
    decimals: int
    multiplier: float = 1.0
    percent: bool = False
    rounded_to: float = 0.0  # extra tolerance for written-out round figures ("1,200", "30,000")

    @property
    def magnitude(self) -> float:
        return self.value * self.multiplier

    @property
    def tolerance(self) -> float:
        written = 0.5 * 10 ** (-self.decimals) * self.multiplier
        return max(written, self.rounded_to) + 1e-9 * max(1.0, abs(self.magnitude))


def normalize(text: str) -> str:
    """Full-width digits and signs to ASCII; keeps every character's position."""
    return text.translate(_FULLWIDTH)


def mask_non_numbers(text: str) -> str:
    return _NOT_NUMBERS.sub(lambda m: " " * len(m.group(0)), text)


def find_numbers(text: str) -> list[Mention]:
    """Every stated quantity in ``text``, in order, with spans into ``text``."""
    text = normalize(text)
    masked = mask_non_numbers(text)
    found: list[Mention] = []
    for m in _NUMBER.finditer(masked):
        tail = m.group("tail")
        if tail and tail.lower() not in ("x",):
            continue  # glued to letters on the right: an identifier or a code, not a quantity
        raw = m.group("num")
        unit = (m.group("unit") or "").strip()
        digits = raw.replace(",", "")
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        percent = unit.lower() in ("%", "percent", "per cent")
        multiplier = 1.0 if percent or not unit else _MULTIPLIER.get(unit.lower(), _MULTIPLIER.get(unit, 1.0))
        end = m.end("unit") if m.group("unit") else m.end("num")
        found.append(
            Mention(
                start=m.start("num"), end=end, text=text[m.start("num") : end], value=float(digits),
                decimals=decimals, multiplier=multiplier, percent=percent,
                rounded_to=_round_figure_tolerance(digits) if not unit and decimals == 0 else 0.0,
            )
        )
    for m in _CN_COUNT.finditer(masked):
        found.append(Mention(start=m.start(), end=m.end(), text=m.group(0), value=float(chinese_count(m.group("cn"))),
                             decimals=0))
    found.sort(key=lambda x: x.start)
    return found


def chinese_count(text: str) -> int:
    """'三' -> 3, '十二' -> 12, '二十' -> 20, '两' -> 2 (up to 99)."""
    if "十" not in text:
        return _CN_DIGIT[text]
    tens, _, ones = text.partition("十")
    return (_CN_DIGIT[tens] if tens else 1) * 10 + (_CN_DIGIT[ones] if ones else 0)


def _round_figure_tolerance(digits: str) -> float:
    """Half the place of the last non-zero digit, for figures of 1,000 and up kept to >= 2 significant digits."""
    if len(digits) < 4:
        return 0.0
    zeros = len(digits) - len(digits.rstrip("0"))
    zeros = min(zeros, len(digits) - 2)
    return 0.5 * 10**zeros if zeros > 0 else 0.0
