"""The bundled training utterances and the sample values that fill their placeholders.

Files: ``data/utterances_en.txt`` and ``data/utterances_zh.txt``; ``## intent`` starts a
section, ``#`` starts a comment. Each template is filled a few times with sample
names, places and products (made up here, not read from any database), so the
intent model learns the sentence around a name rather than the name.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
FILES = ("utterances_en.txt", "utterances_zh.txt")
CUES_FILE = "cues.txt"
INTENTS_WITHOUT_TOOL = ("chit_chat", "out_of_scope", "follow_up")


@dataclass(frozen=True)
class Utterance:
    intent: str
    template: str
    lang: str


SAMPLES: dict[str, dict[str, list[str]]] = {
    "en": {
        "customer": ["Chen Jing", "Wang Fang", "John Smith", "Emma Johnson", "Liu Yang", "Olivia Brown", "Mark Davis",
                     "Sophia Martinez", "Zhang Wei", "Daniel Wilson", "Grace Lee", "Ethan Clark", "Huang Min",
                     "Ava Thompson", "Noah Walker", "Li Xiaoming", "Mia Robinson", "Lucas Wright"],
        "rep": ["Emily Carter", "Michael Brooks", "Sarah Mitchell", "David Nguyen", "Ryan Cooper", "Oliver Hughes"],
        "city": ["Shanghai", "Beijing", "New York", "London", "Shenzhen", "Seattle", "Hangzhou", "Boston"],
        "region": ["East China", "US West", "UK", "North China", "US East"],
        "category": ["Phones", "Laptops", "Beauty", "Apparel", "Kitchen", "Toys", "Audio", "Books"],
        "brand": ["Apple", "Xiaomi", "Samsung", "Huawei", "Lenovo", "Nike", "Sony"],
        "product": ["iPhone 15 Pro", "Galaxy S24", "Redmi Note 13", "MacBook Air", "AirPods Pro", "Kindle Paperwhite"],
        "campaign": ["Spring Style Refresh", "Black Friday", "New Year Reactivation", "Summer Sale", "Back to School"],
        "order": ["SO-0001234", "SO-0098765", "SO-0004521", "#48213", "SO-0120034"],
        "n": ["5", "10", "20", "3", "ten", "five"],
        "time": ["this month", "last quarter", "this year", "last 30 days", "in October", "last week"],
        "note": ["she wants a demo next week", "asked for a discount on laptops", "will reorder in March",
                 "unhappy with the delivery delay", "interested in the new phones", "call back on Friday"],
    },
    "zh": {
        "customer": ["陈静", "王芳", "张伟", "李娜", "刘洋", "黄敏", "周杰", "吴婷", "赵磊", "孙丽", "马超", "朱琳", "胡雪",
                     "郭明", "林晓", "何佳怡"],
        "rep": ["李娜", "张伟", "王磊", "刘洋", "陈晨", "黄海", "赵婷"],
        "city": ["上海", "北京", "深圳", "广州", "杭州", "成都", "纽约", "伦敦"],
        "region": ["华东", "华北", "华南", "美西", "英国"],
        "category": ["手机", "笔记本", "美妆", "服装", "厨房", "玩具", "耳机", "图书"],
        "brand": ["苹果", "小米", "三星", "华为", "联想", "耐克"],
        "product": ["iPhone 15 Pro", "Galaxy S24", "Redmi Note 13", "MacBook Air", "AirPods Pro"],
        "campaign": ["春季焕新", "双十一大促", "新年召回", "夏季特卖", "会员日"],
        "order": ["SO-0001234", "SO-0098765", "SO-0004521", "SO-0120034"],
        "n": ["5", "10", "20", "十", "五", "3"],
        "time": ["本月", "上季度", "今年", "最近30天", "十月", "上周"],
        "note": ["她下周想看演示", "想要笔记本电脑的折扣", "三月份会再订货", "对发货延迟不满意", "对新手机感兴趣", "周五回电"],
    },
}  # fmt: skip

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _parse(path: Path, lang: str) -> list[Utterance]:
    out, intent = [], None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("## "):
            intent = line[3:].strip()
            continue
        if line.startswith("#"):
            continue
        if intent is None:
            raise ValueError(f"{path.name}: utterance before any '## intent' header: {line!r}")
        out.append(Utterance(intent, line, lang))
    return out


@lru_cache
def load_utterances(*, with_cues: bool = True) -> tuple[Utterance, ...]:
    out: list[Utterance] = []
    for name in FILES:
        out += _parse(DATA_DIR / name, "zh" if name.endswith("_zh.txt") else "en")
    if with_cues:
        out += cue_utterances()
    return tuple(out)


# Intents asked about one customer; their cues are framed with a customer name.
_PER_CUSTOMER = {"customer_profile", "purchase_history", "order_status", "interaction_history", "churn_risk",
                 "lifetime_value", "cross_sell", "purchase_preferences"}  # fmt: skip
_WRITES = {"log_interaction", "assign_customer"}
_FRAMES = {
    ("customer", "en"): ["{cue}", "{customer} {cue}", "{customer}'s {cue}", "{cue} for {customer}", "{cue} of {customer}"],
    ("customer", "zh"): ["{cue}", "{customer}的{cue}", "{customer}{cue}", "查一下{customer}的{cue}"],
    ("write", "en"): ["{cue} {customer}", "{cue} for {customer}", "please {cue} {customer}"],
    ("write", "zh"): ["{cue}{customer}", "帮我{cue}{customer}", "{customer}{cue}"],
    ("many", "en"): ["{cue}", "{cue} {time}", "show me the {cue}", "{cue} please"],
    ("many", "zh"): ["{cue}", "{time}的{cue}", "{time}{cue}", "看看{cue}"],
}


def cue_utterances() -> list[Utterance]:
    """Short utterances built from the key phrases in ``cues.txt``: vocabulary beyond the sentences."""
    out = []
    for u in _parse(DATA_DIR / CUES_FILE, "en"):
        lang = "zh" if any("\u3400" <= ch <= "\u9fff" for ch in u.template) else "en"
        family = "customer" if u.intent in _PER_CUSTOMER else "write" if u.intent in _WRITES else "many"
        for frame in _FRAMES[(family, lang)]:
            out.append(Utterance(u.intent, frame.replace("{cue}", u.template), lang))
    return out


def data_fingerprint() -> str:
    h = hashlib.sha1()
    for name in (*FILES, CUES_FILE):
        h.update((DATA_DIR / name).read_bytes())
    return h.hexdigest()[:12]


def fill(template: str, lang: str, rng: random.Random) -> str:
    samples = SAMPLES[lang]
    return _PLACEHOLDER.sub(lambda m: rng.choice(samples.get(m[1], [m[1]])), template)


def expand(utterances: tuple[Utterance, ...] | list[Utterance], *, copies: int = 3, seed: int = 7) -> list[tuple[str, str, str]]:
    """(intent, text, lang) with placeholders filled ``copies`` times (once for templates without any)."""
    rng = random.Random(seed)
    out = []
    for u in utterances:
        n = copies if _PLACEHOLDER.search(u.template) else 1
        seen = set()
        for _ in range(n):
            text = fill(u.template, u.lang, rng)
            if text not in seen:
                seen.add(text)
                out.append((u.intent, text, u.lang))
    return out


def sample_gazetteer_lists() -> dict[str, list[str]]:
    """Every sample value by kind, to build the training-time gazetteer."""
    merged: dict[str, list[str]] = {}
    for lang in SAMPLES.values():
        for kind, values in lang.items():
            merged.setdefault(kind, []).extend(values)
    return merged
