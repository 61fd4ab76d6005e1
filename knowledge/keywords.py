"""Exact-match terms: how text is stored for keyword search and which query words to look for.

Chroma's ``$contains`` is a case-sensitive substring match, so chunks are stored
as *search text* (NFKC-normalised, case-folded) and query terms are normalised the
same way. That makes "ＳＯ－１２３", "so-123" and "SO-123" one term, and lets a
Chinese term of any length match inside unsegmented text.

Term kinds, strongest first: quoted phrases and identifiers (order numbers, SKUs,
emails, phone numbers), then word stems, then CJK bigrams. Words that say *how*
to search ("who", "mentioned", "this month", "之前", "有没有") are dropped: they
would match everything.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel

from knowledge import synonyms

TermKind = Literal["phrase", "id", "word", "cjk"]
# Identifiers and quoted phrases are what a person means exactly; they outweigh loose words.
KIND_WEIGHT: dict[str, float] = {"phrase": 3.0, "id": 3.0, "word": 1.0, "cjk": 1.0}
MAX_TERMS = 12
# Synonyms (knowledge.synonyms) join the query as weaker terms; bilingual: an English topic
# word also brings its Chinese synonyms and the reverse (notes come in both languages).
EXPAND = True
BILINGUAL = True

_CJK_CHAR = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK_CHAR}]+")
_QUOTED = re.compile(r'"([^"]{2,})"|“([^”]{2,})”|「([^」]{2,})」|『([^』]{2,})』|\'([^\']{3,})\'')
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IDENT = re.compile(r"#?[a-z0-9]+(?:[-_/.#][a-z0-9]+)*")
_WORD = re.compile(r"[a-z][a-z'’]+")
_SUFFIXES = ("ments", "ment", "ings", "ing", "ies", "ied", "ers", "ed", "es", "er", "s", "ly")
STEM_LEN = 6

EN_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours out over own same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours yourself anyone anybody someone somebody customer customers client
    clients mention mentioned mentions mentioning say said says talk talked talking told tell ask asked asking
    about any ever last latest recent recently previous previously before earlier today yesterday week weeks
    month months year years quarter this that time times did does show find list give get got us our did
    interaction interactions message messages conversation conversations history regarding re also still
    report reported reports problem problems issue issues""".split()
)
# Question, time and function words in Chinese queries; split on them so they never become terms.
# Few single characters: most also start content words (过期, 到货), and a lost word costs more than a stray bigram.
ZH_STOP = sorted(
    """有没有 是不是 什么时候 什么 哪些 哪个 哪位 我们 你们 他们 她们 之前 以前 上次 最近 本月 这个月 上个月 本周 这周 上周
    今天 昨天 今年 去年 一下 一些 关于 提到 提过 说过 问过 客户 顾客 曾经 请问 查找 列出 显示 记录 聊过 谈过
    有人 有谁 哪些人 有哪些 问题
    的 了 吗 呢 吧 啊 她 他 它 我 你 谁""".split(),
    key=len,
    reverse=True,
)
_ZH_STOP_RE = re.compile("|".join(map(re.escape, ZH_STOP)))


_CJK_EDGE = re.compile(f"(?<=[{_CJK_CHAR}])(?=[^{_CJK_CHAR}])|(?<=[^{_CJK_CHAR}])(?=[{_CJK_CHAR}])")
_NOT_KEPT = re.compile(f"[^\\w{_CJK_CHAR}\\-/.@#€$%&+']+")


class Term(BaseModel):
    text: str
    kind: TermKind
    boost: float = 1.0  # below 1 for terms the query did not say (synonyms)

    @property
    def weight(self) -> float:
        return KIND_WEIGHT[self.kind] * self.boost

    @property
    def pattern(self) -> str:
        """What to look for in search text: Latin terms anchored at a word start, CJK anywhere."""
        return self.text if self.kind == "cjk" else f" {self.text}"


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), case-folded, curly quotes straightened."""
    return unicodedata.normalize("NFKC", text).casefold().replace("’", "'")


def search_text(text: str) -> str:
    """How a chunk is stored for ``$contains``: normalised, words space-separated, padded with spaces.

    Spaces at every word start (including where Chinese meets Latin, as in 订单SO-123) let a
    term be anchored at a word boundary: " pin" matches "pin" but not "shipping".
    """
    spaced = _NOT_KEPT.sub(" ", _CJK_EDGE.sub(" ", normalize(text)))
    return f" {' '.join(spaced.split())} "


def index_tokens(text: str) -> list[str]:
    """The tokens the in-process term index posts for a search text: words as stored, CJK runs as bigrams.

    Latin terms are matched as token prefixes (what `` term`` finds with ``$contains``) and
    CJK terms are bigrams found anywhere in a run, so posting every bigram of a run makes
    both lookups exact. ``search_text`` already splits CJK from Latin at every edge.
    """
    tokens: list[str] = []
    for token in text.split():
        if _CJK_RUN.match(token):
            if len(token) == 1:
                tokens.append(token)
            else:
                tokens.extend(token[i : i + 2] for i in range(len(token) - 1))
        else:
            tokens.append(token)
    return tokens


def is_cjk(token: str) -> bool:
    return bool(_CJK_RUN.match(token))


def stem(word: str) -> str:
    """A crude prefix stem that substring search turns into a family match: refunded -> refund."""
    word = word.strip("'").removesuffix("'s")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:STEM_LEN]


def _cjk_terms(run: str) -> list[str]:
    terms = []
    for piece in _ZH_STOP_RE.split(run):
        if len(piece) == 2:
            terms.append(piece)
        elif len(piece) > 2:
            # Unsegmented Chinese: overlapping bigrams; bigrams that match nothing weigh nothing.
            terms.extend(piece[i : i + 2] for i in range(len(piece) - 1))
    return terms


def query_terms(query: str) -> list[Term]:
    """The exact-match terms of a query, strongest first, deduplicated, at most ``MAX_TERMS``."""
    text = normalize(query)
    found: list[Term] = []
    for match in _QUOTED.finditer(text):
        phrase = next(g for g in match.groups() if g).strip()
        found.append(Term(text=phrase, kind="phrase"))
    text = _QUOTED.sub(" ", text)
    for match in _EMAIL.finditer(text):
        found.append(Term(text=match.group(), kind="id"))
    text = _EMAIL.sub(" ", text)
    latin = _CJK_RUN.sub(" ", text)
    for match in _IDENT.finditer(latin):
        token = match.group().strip(".")
        if any(ch.isdigit() for ch in token) and len(token.lstrip("#")) >= 3:
            found.append(Term(text=token.lstrip("#"), kind="id"))
    for match in _WORD.finditer(_IDENT.sub(lambda m: m.group() if not any(c.isdigit() for c in m.group()) else " ", latin)):
        word = match.group()
        if len(word) >= 3 and word not in EN_STOP:
            found.append(Term(text=stem(word), kind="word"))
    for run in _CJK_RUN.findall(text):
        found.extend(Term(text=t, kind="cjk") for t in _cjk_terms(run))
    seen: set[str] = set()
    unique = []
    for term in found:
        if term.text and term.text not in seen:
            seen.add(term.text)
            unique.append(term)
    # Stable sort: strong kinds first, then longer (more specific) terms.
    unique.sort(key=lambda t: (-t.weight, -len(t.text)))
    extra = []
    if EXPAND:
        stems = {t.text for t in unique if t.kind == "word"}
        added = 0
        for word, kind in synonyms.expansions(stems=stems, text=text, stem=stem, bilingual=BILINGUAL):
            if word not in seen and added < synonyms.MAX_EXPANSIONS:
                seen.add(word)
                extra.append(Term(text=word, kind=kind, boost=synonyms.EXPANSION_BOOST))
                added += 1
    return unique[:MAX_TERMS] + extra
