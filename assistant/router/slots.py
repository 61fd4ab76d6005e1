"""Slots: everything a question says besides its intent, tool-independent.

``extract_slots`` turns the mentions (``assistant.router.entities``) and a few
patterns (top-N, pool, "my", note text, write actions) into one ``Slots`` value.
``assistant.router.arguments`` then maps slots onto a tool's parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from assistant.router import lexicon
from assistant.router.entities import Mention
from assistant.router.text import any_to_int, cn_to_int


@dataclass
class Slots:
    text: str
    lang: str
    today: date | None = None
    periods: list[tuple[date | None, date | None]] = field(default_factory=list)
    customer: str | None = None
    customer_is_pronoun: bool = False
    staff: list[str] = field(default_factory=list)
    mine: bool = False
    cities: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    top_n: int | None = None
    tier: str | None = None
    segment: str | None = None
    loyalty: str | None = None
    channel: str | None = None
    channels: list[str] = field(default_factory=list)
    genders: list[str] = field(default_factory=list)
    gender: str | None = None
    measures: list[str] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    pool: str | None = None
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    interaction_kind: str | None = None
    assign_action: str | None = None
    sort: str | None = None
    shift: str | None = None  # "previous" | "year_ago": relative to the last turn's period
    widen: bool = False  # "the whole team": drop the owner filter of the previous turn
    mentions: list[Mention] = field(default_factory=list)
    people: list[Mention] = field(default_factory=list)  # names that are both staff and customers

    @property
    def period(self) -> tuple[date | None, date | None] | None:
        return self.periods[0] if self.periods else None

    def filled(self) -> set[str]:
        """Names of the slots the question set (for merging into a follow-up)."""
        out = set()
        for name in ("customer", "top_n", "tier", "segment", "loyalty", "channel", "gender", "pool", "note",
                     "interaction_kind", "assign_action", "sort", "shift", "widen"):  # fmt: skip
            if getattr(self, name) not in (None, False):
                out.add(name)
        for name in ("periods", "staff", "cities", "regions", "countries", "categories", "brands", "products",
                     "campaigns", "orders", "measures", "dimensions", "tags"):  # fmt: skip
            if getattr(self, name):
                out.add(name)
        if self.mine:
            out.add("mine")
        return out


_TOP_EN = re.compile(r"\b(?:top|first|best|biggest|largest|highest|leading|worst|lowest|bottom|smallest|last)\s*-?\s*(\d+|[a-z]+)\b", re.I)
_N_THINGS_EN = re.compile(r"\b(\d+|five|ten|twenty|fifteen|three)\s+(?:names|customers|clients|accounts|people|targets|products|items|rows|results|brands|categories|cities|regions|reps|deals)\b", re.I)
_N_BEST_EN = re.compile(r"\b(\d+|ten|five|three|twenty|fifteen|fifty|hundred)\s+(?:best|biggest|largest|top|highest|most|worst|lowest|riskiest|leading)\b", re.I)
_TOP_ZH = re.compile(r"(?:前|top\s*|TOP\s*|排名前)\s*(\d+|[一二两三四五六七八九十百]+)\s*(?:名|个|位|大|家|款|条)?")
_N_MOST_ZH = re.compile(r"最[高多大好差低少]的\s*(\d+|[一二两三四五六七八九十]+)\s*[个位名家款]")
_N_THINGS_ZH = re.compile(r"(\d+|[一二两三四五六七八九十]+)\s*(?:个|位|名)\s*(?:名字|客户|人|目标|商品|产品|品牌|品类|城市)")
_POOL = re.compile(r"\b(public pool|the pool|pool|unassigned|unowned|no owner|without an owner|ownerless)\b|公海|无人负责|没有负责人|未分配", re.I)
_MINE_EN = re.compile(r"\b(?:my|mine|i own|i manage)\b", re.I)
_MINE_ZH = re.compile(r"我的|我名下|我负责|我自己的|我手上|我这边|我(?!们)[^，。？?\s]{1,8}?的(?:客户|VIP|账户|单子|商机)")
_TAG = re.compile(r"\btagged\s+(?:as\s+|with\s+)?['\"]?([\w\-]+)|\bwith (?:the )?tag\s+['\"]?([\w\-]+)|\btag\s*[:=]\s*([\w\-]+)"
                  r"|带有?\s*([\w\-]+?)\s*标签|标签[为是:：]\s*([\w\-]+)", re.I)  # fmt: skip
_NOTE_SPLIT = re.compile(r"\s*[:：]\s*|\s+-\s+|\s+—\s+|,\s*|，\s*|\bsaying\s+|\bthat\s+")
_SHIFT_PREV = re.compile(r"\b(?:the )?(?:month|quarter|week|year|period) before(?: that)?\b|\bprevious (?:period|one)\b|再往前(?:一个?(?:月|季度|周|年))?|再早一个?(?:月|季度|周|年)|前一个?(?:月|季度|周|年)呢|之前那个")
_SHIFT_YEAR = re.compile(r"\b(?:the )?same (?:period|time|month|quarter|week) (?:of )?last year\b|\bcompared? (?:with|to) last year\b|\ba year (?:ago|earlier)\b|去年同期|和去年比|同比|去年同一?个?(?:季度|月|时期|时间|周)")
_WIDEN = re.compile(r"\b(?:whole|entire) (?:team|company|business)\b|\ball reps\b|\beveryone\b|\boverall\b|\bcompany[- ]wide\b|整个团队|全团队|所有人|全公司|整体|所有销售")
# When several measures are named without "and", the most specific one is meant ("returned orders" is returns).
_MEASURE_SPECIFICITY = ["return_rate", "returns", "returns_value", "new_customers", "active_customers", "average_order_value",
                        "campaign_conversions", "conversion_rate", "units", "customers", "orders", "revenue"]  # fmt: skip
_AND = re.compile(r"\band\b|&|\bplus\b|\bvs\.?\b|\bversus\b|和|与|及|以及|还有|、")
_SORT_WORDS = [
    (re.compile(r"\b(?:clv|lifetime value|ltv)\b|终身价值", re.I), "clv"),
    (re.compile(r"\bchurn\b|流失", re.I), "churn_risk"),
    (re.compile(r"\b(?:spend|spent|spenders|spending|biggest|largest|top)\b|消费最多|消费最高|花得最多", re.I), "spend"),
    (re.compile(r"\b(?:recent(?:ly)?|latest|last purchase)\b|最近购买", re.I), "last_purchase"),
]

_STAFF_CUE = re.compile(r"(?:\bto|\bby|\brep|\bowner|\bowned by|给|交给|转给|分配给|移交给|改成|让)\s*$", re.I)
_CLAIM = re.compile(r"\b(?:claim|i'?ll take|i want to take|take .* out of the pool|make me the owner|assign (?:\w+ )*to me)\b|领取|我来领|我来跟进|我要跟进|让我负责|认领", re.I)
_RELEASE = re.compile(r"\b(?:release|put .* back|return .* to the pool|drop .* (?:back )?to the pool|unassign|back (?:in|into|to) the pool|to the public pool)\b|释放|退回公海|放回公海|取消.*负责人|归还公海|扔回公海", re.I)
_ASSIGN = re.compile(r"\b(?:assign|give|transfer|move|hand|reassign|set owner|let .* take over)\b|分配|转给|移交|分给|交给|改成|接手", re.I)


def _first_int(text: str) -> int | None:
    value = any_to_int(text) if not text.isdigit() else int(text)
    return value if value and 0 < value <= 1000 else None


def _top_n(text: str, time_spans: list[tuple[int, int]]) -> int | None:
    def outside(m: re.Match) -> bool:
        return all(m.end() <= s or m.start() >= e for s, e in time_spans)

    for pattern in (_TOP_EN, _N_BEST_EN, _N_THINGS_EN):
        for m in pattern.finditer(text):
            if outside(m) and (n := _first_int(m[1].lower())):
                return n
    for pattern in (_TOP_ZH, _N_MOST_ZH, _N_THINGS_ZH):
        for m in pattern.finditer(text):
            if outside(m) and (n := cn_to_int(m[1]) if not m[1].isdigit() else int(m[1])):
                return n if 0 < n <= 1000 else None
    return None


def extract_slots(text: str, *, lang: str, mentions: list[Mention], today: date | None = None) -> Slots:
    shift_spans = [m.span() for p in (_SHIFT_YEAR, _SHIFT_PREV) for m in p.finditer(text)]
    # "the same quarter last year" is a shift of the last turn's period, not "last year" nor "by quarter".
    mentions = [m for m in mentions if not any(s <= m.span[0] < e for s, e in shift_spans) or m.kind not in ("time", "dimension")]
    slots = Slots(text=text, lang=lang, today=today, mentions=mentions)
    time_spans = []
    for m in mentions:
        kind, value = m.kind, m.value
        if kind == "time":
            start, end = value.split("|")
            slots.periods.append((_d(start), _d(end)))
            time_spans.append(m.span)
        elif kind == "customer":
            staff_alt = next((v for k, v in m.alts if k == "staff"), None)
            if staff_alt and (_STAFF_CUE.search(text[: m.span[0]]) or slots.customer is not None):
                slots.staff.append(staff_alt)
            elif slots.customer is None:
                slots.customer = m.text
            if staff_alt:
                slots.people.append(m)
        elif kind == "pronoun":
            slots.customer_is_pronoun = True
        elif kind == "staff":
            slots.staff.append(value)
            slots.people.append(m)
        elif kind in ("city", "region", "country", "category", "brand", "product", "campaign"):
            getattr(slots, {"city": "cities", "region": "regions", "country": "countries", "category": "categories",
                            "brand": "brands", "product": "products", "campaign": "campaigns"}[kind]).append(value)  # fmt: skip
        elif kind == "campaign_id":
            slots.campaigns.append(value)
        elif kind == "order":
            slots.orders.append(value)
        elif kind == "channel":
            if value not in slots.channels:
                slots.channels.append(value)
            slots.channel = slots.channel or value
        elif kind in ("tier", "segment", "loyalty", "gender"):
            setattr(slots, kind, getattr(slots, kind) or value)
            if kind == "gender" and value not in slots.genders:
                slots.genders.append(value)
        elif kind == "measure":
            if value not in slots.measures:
                slots.measures.append(value)
        elif kind == "dimension":
            if value not in slots.dimensions:
                slots.dimensions.append(value)
    if len(slots.measures) > 1 and not _AND.search(text):
        rank = {m: i for i, m in enumerate(_MEASURE_SPECIFICITY)}
        slots.measures = [min(slots.measures, key=lambda m: rank.get(m, len(rank)))]
    slots.top_n = _top_n(text, time_spans + shift_spans)
    if _POOL.search(text):
        slots.pool = "public"
    slots.mine = bool(_MINE_ZH.search(text) if lang == "zh" else _MINE_EN.search(text)) or bool(_MINE_ZH.search(text))
    for m in _TAG.finditer(text):
        tag = next(g for g in m.groups() if g)
        slots.tags.append(tag.lower())
    for m in _SORT_WORDS:
        if m[0].search(text):
            slots.sort = m[1]
            break
    if _SHIFT_YEAR.search(text):
        slots.shift = "year_ago"
    elif _SHIFT_PREV.search(text) and not slots.periods:
        slots.shift = "previous"
    slots.widen = bool(_WIDEN.search(text))
    slots.interaction_kind = _interaction_kind(text)
    slots.assign_action = _assign_action(text)
    slots.note = _note(text, mentions)
    return slots


def _d(text: str) -> date | None:
    return None if text in ("None", "") else date.fromisoformat(text)


def _interaction_kind(text: str) -> str | None:
    low = text.lower()
    for word, kind in sorted(lexicon.INTERACTION_KINDS.items(), key=lambda kv: -len(kv[0])):
        if (re.search(r"\b" + re.escape(word) + r"\b", low) if word.isascii() else word in low):
            return kind
    return None


def _assign_action(text: str) -> str | None:
    if _RELEASE.search(text):
        return "release"
    if _CLAIM.search(text):
        return "claim"
    if _ASSIGN.search(text):
        return "assign"
    return None


def _note(text: str, mentions: list[Mention]) -> str | None:
    """What to write down: the text after the customer's name and a separator ("log a call with X: ...")."""
    anchor = next((m for m in mentions if m.kind in ("customer", "pronoun")), None)
    start = anchor.span[1] if anchor else 0
    rest = text[start:]
    m = _NOTE_SPLIT.search(rest)
    if m is None:
        if anchor is None:
            return None
        note = rest.strip(" ,，:：-")
    else:
        note = rest[m.end() :].strip()
    note = note.strip(" \"'“”")
    return note or None
