"""Text basics shared by the router: normalisation, language, Chinese numerals.

Every extractor works on ``normalize(question)`` so that spans found by one
(time, names, cities) index the same string as the next.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_SPACES = re.compile(r"\s+")
_KEY_STRIP = re.compile(r"[\s\.\-_'’·•,，。！？!?;；:：\"“”()（）\[\]【】]+")

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUMBER = r"[零〇一二两俩三四五六七八九十百千]+"
EN_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "ninety": 90, "hundred": 100,
}  # fmt: skip
EN_NUMBER = r"(?:\d+|" + "|".join(sorted((k for k in EN_NUMBERS if len(k) > 2), key=len, reverse=True)) + ")"


_CJK_LATIN = re.compile(r"(?<=[\u3400-\u9fff])(?=[A-Za-z])|(?<=[A-Za-z])(?=[\u3400-\u9fff])")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), single spaces, trimmed; case kept for names.

    A space goes between Chinese and Latin letters ("VIP报告" -> "VIP 报告") so English
    word boundaries hold in mixed questions.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = _CJK_LATIN.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def key(text: str) -> str:
    """Case-, width-, space- and punctuation-insensitive comparison key."""
    return _KEY_STRIP.sub("", unicodedata.normalize("NFKC", text or "").casefold())


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text or ""))


def detect_language(text: str) -> str:
    """'zh' when the question is written in Chinese, else 'en'; mixed questions go by weight.

    A Chinese name inside an English sentence ("what did 王小明 buy last month") stays
    English; Chinese with a few English words ("上个月 revenue by region", "VIP报告") is Chinese.
    """
    n_cjk = cjk_count(text)
    if n_cjk < 2:
        return "en" if n_cjk == 0 or _LATIN_WORD.search(text) else "zh"
    words = len(_LATIN_WORD.findall(text))
    return "zh" if n_cjk >= words or n_cjk >= 4 else "en"


def cn_to_int(text: str) -> int | None:
    """'三十' -> 30, '十二' -> 12, '两' -> 2, '一百零五' -> 105, '12' -> 12; None when not a number."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        elif ch in CN_UNITS:
            total += (current or 1) * CN_UNITS[ch]
            current = 0
        else:
            return None
    return total + current


def en_to_int(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    return EN_NUMBERS.get(text)


def any_to_int(text: str) -> int | None:
    return en_to_int(text) if not has_cjk(text) else cn_to_int(text)
