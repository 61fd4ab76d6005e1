"""Find what a question mentions: times, people, places, products, vocabulary words.

``find_mentions`` returns non-overlapping spans over the normalised question,
longest first. Customer names are found by exact lookup in the caller's scoped
gazetteer, then fuzzily (typos, word order, pinyin) for capitalised or cued words;
``guess_name_span`` finds a name-like span the gazetteer does not know, so an
unknown customer still reaches the tool (which answers "not found" the same way
for unknown and out-of-scope customers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz, process

from assistant.router import lexicon
from assistant.router.gazetteer import Gazetteer, Phrase, phrase_key
from assistant.router.text import has_cjk, key
from assistant.router.timeexpr import find_times

# Fuzzy matches below this score are not names.
FUZZY_MIN = 86.0

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’&\-\.@_]*[A-Za-z0-9]|[A-Za-z0-9]|&")
_ORDER = re.compile(r"\b(?:SO|ORD)[-_ ]?\d{3,}(?!\d)|(?<=order )#?\d{3,}(?!\d)|(?<=order #)\d{3,}(?!\d)|(?<=订单)\s*#?\d{3,}(?!\d)|#\d{3,}(?!\d)", re.I)
_CAMPAIGN_ID = re.compile(r"\bCMP[-_ ]?\d{1,4}(?!\d)", re.I)
_EXTERNAL_CUSTOMER = re.compile(r"\bC\d{5,}(?!\d)")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")

# Common Chinese surnames: a run starting with one of these may be a name the gazetteer lacks.
_ZH_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
    "廖贾夏付方白邹孟熊秦邱江尹薛段雷侯龙史陶贺顾毛郝欧"
)
_ZH_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "慕容", "皇甫", "令狐", "公孙", "尉迟", "长孙", "夏侯", "端木", "独孤")
# Characters that end a Chinese name span ("陈静的订单", "王芳最近买了什么").
_ZH_NAME_STOP = set("的最上本今去近买在有是这那和与跟吗呢了么下订资档信客怎多几哪为会还")
_LATIN_CUES = {"for", "of", "with", "about", "customer", "client", "account", "claim", "assign", "release", "to", "on",
               "from", "is", "does", "did", "has", "profile", "called", "named"}  # fmt: skip
# Cues strong enough to make a lower-case word a name ("customer smith", "named lee").
_STRONG_CUES = {"customer", "client", "named", "called", "cust"}


@dataclass(frozen=True)
class Mention:
    kind: str
    value: str
    span: tuple[int, int]
    text: str
    alts: tuple[Phrase, ...] = field(default=())
    score: float = 100.0

    def meanings(self) -> list[Phrase]:
        return [(self.kind, self.value), *self.alts]


@dataclass
class _Token:
    text: str
    start: int
    end: int


def tokens(text: str) -> list[_Token]:
    out = []
    for m in _TOKEN.finditer(text):
        t = m[0]
        end = m.end()
        # Possessive and trailing dots belong to the sentence, not the name ("Chen Jing's", "Inc.").
        for suffix in ("'s", "’s"):
            if t.lower().endswith(suffix) and len(t) > 2:
                t, end = t[: -len(suffix)], end - len(suffix)
        t = t.rstrip(".")
        end = m.start() + len(t) if t else end
        if t:
            out.append(_Token(t, m.start(), end))
    return out


def find_mentions(text: str, *, gazetteer: Gazetteer, today: date, fuzzy: bool = True) -> list[Mention]:
    found: list[Mention] = []
    for t in find_times(text, today=today):
        found.append(Mention("time", f"{t.start}|{t.end}", t.span, t.text))
    for pattern, kind in ((_ORDER, "order"), (_CAMPAIGN_ID, "campaign_id"), (_EXTERNAL_CUSTOMER, "customer")):
        for m in pattern.finditer(text):
            found.append(Mention(kind, m[0].strip().lstrip("#").upper() if kind != "order" else m[0].strip(), m.span(), m[0]))
    found += _latin_phrases(text, gazetteer)
    found += _cjk_phrases(text, gazetteer)
    found += _pronouns(text)
    chosen = _non_overlapping(found)
    chosen = _non_overlapping(chosen + _fuzzy_words(text, chosen, gazetteer))
    if fuzzy:
        chosen = _non_overlapping(chosen + _fuzzy_names(text, chosen, gazetteer))
    return chosen


_KIND_RANK = {"time": 0, "order": 1, "campaign_id": 1, "customer": 2, "staff": 3, "campaign": 3, "product": 4,
              "city": 5, "region": 5, "country": 5, "category": 6, "brand": 6, "segment": 7, "tier": 7,
              "loyalty": 8, "measure": 9, "dimension": 9, "channel": 9, "gender": 10, "pronoun": 11}  # fmt: skip


def _priority(m: Mention) -> int:
    if m.kind == "customer" and (" " in m.text.strip() or has_cjk(m.text)):
        return 0
    return 1 if m.kind == "time" else 2


def _non_overlapping(found: list[Mention]) -> list[Mention]:
    # Times first: "上季度" must survive an overlapping vocabulary word; then longest, then by kind.
    # A full customer name outranks a month hidden in it ("April Brown").
    found = sorted(found, key=lambda m: (_priority(m), -(m.span[1] - m.span[0]), _KIND_RANK.get(m.kind, 20), m.span[0]))
    chosen: list[Mention] = []
    # Characters already taken, so each check costs the mention's length, not the number chosen so far
    # (a 100k-character message has tens of thousands of mentions). Empty spans keep the pairwise rule.
    taken = bytearray(max((m.span[1] for m in found), default=0))
    empty: list[Mention] = []
    for m in found:
        start, end = m.span
        if any(taken[start:end]) or any(start < c.span[0] < end for c in empty):
            continue
        if end <= start and not all(end <= c.span[0] or start >= c.span[1] for c in chosen):
            continue
        chosen.append(m)
        if end > start:
            taken[start:end] = b"\x01" * (end - start)
        else:
            empty.append(m)
    return sorted(chosen, key=lambda m: m.span[0])


def _meanings_to_mention(meanings: list[Phrase], span: tuple[int, int], raw: str) -> Mention:
    ranked = sorted(meanings, key=lambda p: _KIND_RANK.get(p[0], 20))
    kind, value = ranked[0]
    return Mention(kind, value, span, raw, alts=tuple(ranked[1:]))


def _latin_phrases(text: str, gaz: Gazetteer) -> list[Mention]:
    toks = tokens(text)
    vocab = gaz.vocabulary.phrases
    names = gaz.customers.latin
    max_n = max(gaz.vocabulary.max_words, 4)
    out = []
    for i in range(len(toks)):
        for n in range(min(max_n, len(toks) - i), 0, -1):
            start, end = toks[i].start, toks[i + n - 1].end
            raw = text[start:end]
            if has_cjk(raw):
                continue
            k = phrase_key(raw)
            meanings = list(vocab.get(k, []))
            if n >= 2 and k in names:
                meanings.insert(0, ("customer", raw))
            if meanings:
                out.append(_meanings_to_mention(meanings, (start, end), raw))
    return out


def _cjk_phrases(text: str, gaz: Gazetteer) -> list[Mention]:
    vocab = gaz.vocabulary.phrases
    names = gaz.customers.cjk
    out = []
    for run in _CJK_RUN.finditer(text):
        s = run[0]
        longest = max(gaz.vocabulary.max_cjk, gaz.customers.max_cjk)
        for i in range(len(s)):
            for length in range(min(longest, len(s) - i), 0, -1):
                sub = s[i : i + length]
                meanings = list(vocab.get(sub, []))
                if length >= 2 and key(sub) in names:
                    meanings.insert(0, ("customer", sub))
                if length == 1 and meanings and not all(k in ("gender",) for k, _ in meanings):
                    # Single characters ("书") are too ambiguous alone except where listed as words.
                    meanings = [m for m in meanings if m[0] in ("category",)] if sub in ("书",) else []
                if meanings:
                    span = (run.start() + i, run.start() + i + length)
                    out.append(_meanings_to_mention(meanings, span, sub))
    return [m for m in out if not (m.kind == "gender" and len(m.text) == 1 and not _gender_context(text, m.span))]


def _gender_context(text: str, span: tuple[int, int]) -> bool:
    after = text[span[1] : span[1] + 2]
    return after.startswith(("性", "客户", "顾客", "会员"))


_PRONOUN_EN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, lexicon.PRONOUNS_EN), key=len, reverse=True)) + r")\b", re.I)
_PRONOUN_ZH = re.compile("|".join(sorted(map(re.escape, lexicon.PRONOUNS_ZH), key=len, reverse=True)))


def _pronouns(text: str) -> list[Mention]:
    out = [Mention("pronoun", m[0].lower(), m.span(), m[0]) for m in _PRONOUN_EN.finditer(text)]
    for m in _PRONOUN_ZH.finditer(text):
        # "他们"/"她们" are plural people, still a back-reference; "其他" is not.
        if text[max(0, m.start() - 1) : m.start()] in ("其",):
            continue
        out.append(Mention("pronoun", m[0], m.span(), m[0]))
    return out


_FUZZY_WORD_KINDS = ("measure", "dimension", "segment", "tier")


def _fuzzy_words(text: str, chosen: list[Mention], gaz: Gazetteer) -> list[Mention]:
    """Misspelt vocabulary words ("revnue", "regon"): single Latin words close to a measure or dimension."""
    vocab = gaz.vocabulary.phrases
    if gaz.vocabulary.fuzzy_words is None:
        gaz.vocabulary.fuzzy_words = [k for k, meanings in vocab.items() if " " not in k and len(k) >= 4 and k.isascii()
                                      and any(kind in _FUZZY_WORD_KINDS for kind, _ in meanings)]  # fmt: skip
    words = gaz.vocabulary.fuzzy_words
    taken = [m.span for m in chosen]
    out = []
    for t in tokens(text):
        low = t.text.lower()
        if len(low) < 5 or not low.isalpha() or low in lexicon.STOPWORDS_EN or low in vocab:
            continue
        if any(s <= t.start < e for s, e in taken):
            continue
        hit = process.extractOne(low, words, scorer=fuzz.ratio, score_cutoff=84)
        if hit:
            meanings = [m for m in vocab[hit[0]] if m[0] in _FUZZY_WORD_KINDS]
            out.append(_meanings_to_mention(meanings, (t.start, t.end), t.text))
    return out


def _fuzzy_names(text: str, chosen: list[Mention], gaz: Gazetteer) -> list[Mention]:
    """Latin names with typos or in other word orders: capitalised runs and words after a cue."""
    if not gaz.customers.latin_keys:
        return []
    taken = [m.span for m in chosen]
    toks = [t for t in tokens(text) if not any(s <= t.start < e for s, e in taken)]
    spans = _candidate_spans(text, toks, gaz)
    out = []
    for start, end in spans:
        raw = text[start:end]
        hit = process.extractOne(phrase_key(raw), gaz.customers.latin_keys, scorer=fuzz.token_sort_ratio,
                                 processor=None, score_cutoff=FUZZY_MIN)  # fmt: skip
        if hit:
            out.append(Mention("customer", raw, (start, end), raw, score=float(hit[1])))
    return out


def _candidate_spans(text: str, toks: list[_Token], gaz: Gazetteer) -> list[tuple[int, int]]:
    spans = []
    i = 0
    while i < len(toks):
        t = toks[i]
        cued = i > 0 and toks[i - 1].text.lower() in _LATIN_CUES and _adjacent(text, toks[i - 1], t)
        if (t.text[:1].isupper() and i > 0) or cued or t.text.lower() in gaz.customers.latin_tokens:
            j = i
            while j + 1 < len(toks) and j - i < 2 and _adjacent(text, toks[j], toks[j + 1]) and _namey(toks[j + 1].text):
                j += 1
            if j > i and _namey(t.text):
                spans.append((t.start, toks[j].end))
            i = j + 1
        else:
            i += 1
    return spans


def _adjacent(text: str, a: _Token, b: _Token) -> bool:
    return text[a.end : b.start].strip() == ""


def _namey(word: str) -> bool:
    bare = word.replace("-", "").replace("'", "").replace("’", "")
    return bare.isalpha() and word.lower() not in lexicon.STOPWORDS_EN and len(word) >= 2


_ZH_NAME_CUES = ("客户", "给", "把", "和", "跟", "与", "领取", "查", "找", "下", "看", "问", "打开", "关于", "帮", "替")


def guess_name_span(text: str, mentions: list[Mention]) -> tuple[int, int] | None:
    """A span that looks like a person's name but is in no gazetteer (unknown or outside scope)."""
    taken = [m.span for m in mentions]

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for run in _CJK_RUN.finditer(text):
        s = run[0]
        i = 0
        while i < len(s):
            surname = next((c for c in _ZH_COMPOUND_SURNAMES if s.startswith(c, i)), None) or (s[i] if s[i] in _ZH_SURNAMES else None)
            if surname is None:
                i += 1
                continue
            length = 0
            j = i + len(surname)
            while j + length < len(s) and length < 2 and s[j + length] not in _ZH_NAME_STOP:
                length += 1
            start = run.start() + i
            end = run.start() + j + length
            before = text[max(0, start - 2) : start]
            after = text[end : end + 1]
            cued = i == 0 or before.endswith(_ZH_NAME_CUES) or after == "的"
            if length >= 1 and free(start, end) and cued:
                return start, end
            i += 1
    toks = [t for t in tokens(text) if free(t.start, t.end)]
    for i, t in enumerate(toks):
        strong = i > 0 and toks[i - 1].text.lower() in _STRONG_CUES
        # Capitalised, but not an acronym ("CLV", "VIP", "RFM") and not a vocabulary word.
        capital = t.text[:1].isupper() and i > 0 and not t.text.isupper()
        if (capital or strong) and _namey(t.text):
            j = i
            while j + 1 < len(toks) and j - i < 2 and _adjacent(text, toks[j], toks[j + 1]) and _namey(toks[j + 1].text) and (
                toks[j + 1].text[:1].isupper() or not t.text[:1].isupper()
            ):
                j += 1
            return t.start, toks[j].end
    return None


def mask(text: str, mentions: list[Mention]) -> str:
    """The question with each mention replaced by a placeholder naming its kind, for the intent model."""
    out, last = [], 0
    for m in mentions:
        if m.kind in ("measure", "dimension", "segment", "tier", "channel", "gender", "loyalty", "pronoun"):
            continue  # these words carry intent; keep them
        out.append(text[last : m.span[0]])
        out.append(f" {PLACEHOLDERS.get(m.kind, 'zx')} ")
        last = m.span[1]
    out.append(text[last:])
    return " ".join("".join(out).split())


PLACEHOLDERS = {"time": "zt", "customer": "zc", "staff": "zs", "city": "zl", "region": "zl", "country": "zl",
                "category": "zk", "brand": "zb", "product": "zp", "campaign": "zm", "campaign_id": "zm",
                "order": "zo", "number": "zn"}  # fmt: skip
