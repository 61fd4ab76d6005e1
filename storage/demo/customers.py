"""Who the customers are: names, places, contact details and demographics.

Behaviour (how often they buy, what, and the planted patterns) lives in
``storage.demo.traits``; this module only decides identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo import names as vocab
from storage.demo.config import DemoPlan

ZH_EMAIL_DOMAINS = np.array(["qq.com", "163.com", "126.com", "gmail.com", "sina.com"])
EN_EMAIL_DOMAINS = np.array(["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com"])
US_AREA = {"New York": "212", "Boston": "617", "Philadelphia": "215", "Washington": "202", "Atlanta": "404",
           "Miami": "305", "San Francisco": "415", "Los Angeles": "213", "Seattle": "206",
           "San Diego": "619", "Portland": "503"}
UK_AREA = {"London": "20", "Manchester": "161", "Birmingham": "121", "Edinburgh": "131", "Bristol": "117"}

# Names that ambiguity handling must cope with: (name, language, preferred city).
AMBIGUOUS_NAMES = [
    ("陈静", "zh", "Shanghai"), ("王芳", "zh", "Beijing"), ("王芳", "zh", "Shenzhen"),
    ("Chen Jing", "en", "London"), ("Wang Fang", "en", "New York"), ("Wang Fang", "en", "San Francisco"),
]


@dataclass
class Identity:
    language: np.ndarray  # 'zh' | 'en'
    female: np.ndarray
    gender: np.ndarray
    name: np.ndarray
    latin_name: np.ndarray  # pinyin for Chinese names, the name itself for English ones
    country: np.ndarray
    region: np.ndarray
    city: np.ndarray
    address: np.ndarray
    phone: np.ndarray
    email: np.ndarray
    social: list[dict[str, str] | None]
    birth_day: np.ndarray  # day offset from the window start
    occupation: np.ndarray


def _languages(plan: DemoPlan, rng: np.random.Generator) -> np.ndarray:
    if plan.locale == "zh_CN":
        return np.full(plan.customers, "zh", dtype=object)
    if plan.locale == "en_US":
        return np.full(plan.customers, "en", dtype=object)
    return np.where(rng.random(plan.customers) < 0.5, "zh", "en").astype(object)


def _places(plan: DemoPlan, rng: np.random.Generator, language: np.ndarray):
    n = len(language)
    region = np.empty(n, dtype=object)
    city = np.empty(n, dtype=object)
    country = np.empty(n, dtype=object)
    address = np.empty(n, dtype=object)
    zh = np.flatnonzero(language == "zh")
    en = np.flatnonzero(language == "en")
    zh_regions = list(vocab.ZH_PLACES)
    region[zh] = np.array(zh_regions)[rng.choice(4, size=len(zh), p=[0.35, 0.25, 0.25, 0.15])]
    en_regions = ["US East", "US West"] if plan.locale == "en_US" else list(vocab.EN_PLACES)
    en_p = [0.5, 0.5] if plan.locale == "en_US" else [0.35, 0.35, 0.30]
    region[en] = np.array(en_regions)[rng.choice(len(en_regions), size=len(en), p=en_p)]
    numbers = rng.integers(1, 300, size=n)
    extra = rng.integers(1, 30, size=n)
    room = rng.integers(101, 2802, size=n)
    for reg, cities in vocab.ZH_PLACES.items():
        idx = np.flatnonzero(region == reg)
        w = np.array([c[1] for c in cities], dtype=float)
        pick = rng.choice(len(cities), size=len(idx), p=w / w.sum())
        district = rng.integers(0, 100, size=len(idx))
        road = rng.integers(0, 100, size=len(idx))
        country[idx] = "China"
        for k, i in enumerate(idx):
            name, _, cn, districts, roads = cities[pick[k]]
            city[i] = name
            address[i] = (f"{cn}{districts[district[k] % len(districts)]}{roads[road[k] % len(roads)]}"
                          f"{numbers[i]}号{extra[i]}栋{room[i]}室")
    for reg, (ctry, cities) in vocab.EN_PLACES.items():
        idx = np.flatnonzero(region == reg)
        w = np.array([c[1] for c in cities], dtype=float)
        pick = rng.choice(len(cities), size=len(idx), p=w / w.sum())
        street = rng.integers(0, len(vocab.EN_STREETS), size=len(idx))
        kind = rng.integers(0, len(vocab.EN_STREET_KINDS), size=len(idx))
        tail = rng.integers(10, 99, size=len(idx))
        country[idx] = ctry
        for k, i in enumerate(idx):
            name, _, area = cities[pick[k]]
            city[i] = name
            line = f"{numbers[i] * 7} {vocab.EN_STREETS[street[k]]} {vocab.EN_STREET_KINDS[kind[k]]}, {name}"
            if ctry == "United Kingdom":
                address[i] = f"{line} {area} {tail[k] % 9 + 1}{'ABDEFGHJLNPQRSTUWXYZ'[tail[k] % 20]}A"
            else:
                address[i] = f"{line}, {area}{tail[k]:02d}"
    return country, region, city, address


def build_identity(plan: DemoPlan) -> Identity:
    rng = plan.rng("identity")
    n = plan.customers
    language = _languages(plan, rng)
    female = rng.random(n) < 0.55
    gender = np.where(female, "F", "M").astype(object)
    gender[rng.random(n) < 0.01] = "other"
    name = np.empty(n, dtype=object)
    latin = np.empty(n, dtype=object)
    zh = np.flatnonzero(language == "zh")
    en = np.flatnonzero(language == "en")
    name[zh], latin[zh] = vocab.zh_names(rng, female[zh])
    _, _, full = vocab.en_names(rng, female[en])
    name[en] = full
    latin[en] = full
    country, region, city, address = _places(plan, rng, language)
    _plant_ambiguous_names(language, city, name, latin)

    ids = np.arange(1, n + 1)
    local = [str(s).lower().replace(" ", ".").replace("'", "") for s in latin]
    zh_domain = ZH_EMAIL_DOMAINS[rng.integers(0, len(ZH_EMAIL_DOMAINS), size=n)]
    en_domain = EN_EMAIL_DOMAINS[rng.integers(0, len(EN_EMAIL_DOMAINS), size=n)]
    # The customer number keeps addresses unique without looking machine-made.
    email = np.array([
        f"{local[i].replace('.', '')}{ids[i]}@{zh_domain[i]}" if language[i] == "zh"
        else f"{local[i]}{ids[i]}@{en_domain[i]}"
        for i in range(n)
    ], dtype=object)
    digits = rng.integers(0, 10**8, size=n)
    mobile_prefix = np.array(["138", "139", "186", "135", "158", "177", "150", "188"])[rng.integers(0, 8, size=n)]
    phone = np.empty(n, dtype=object)
    for i in range(n):
        if language[i] == "zh":
            phone[i] = f"+86 {mobile_prefix[i]} {digits[i] // 10**4:04d} {digits[i] % 10**4:04d}"
        elif country[i] == "United Kingdom":
            phone[i] = f"+44 {UK_AREA[city[i]]} {digits[i] % 10**4:04d} {digits[i] // 10**4 % 10**4:04d}"
        else:
            phone[i] = f"+1 ({US_AREA[city[i]]}) {digits[i] % 1000:03d}-{digits[i] // 1000 % 10**4:04d}"
    has_social = rng.random(n) < 0.7
    social: list[dict[str, str] | None] = []
    for i in range(n):
        if not has_social[i]:
            social.append(None)
            continue
        handle = local[i].replace(".", "_")
        if language[i] == "zh":
            social.append({"wechat": f"wxid_{handle}{ids[i]}", "weibo": f"@{handle}_{ids[i] % 1000}"})
        else:
            social.append({"twitter": f"@{handle}{ids[i] % 1000}", "instagram": f"{local[i]}.{ids[i]}"})
    age_years = 18 + rng.beta(2.0, 3.0, size=n) * 57
    birth_day = (plan.days - age_years * 365.25).astype(np.int64)
    occupation = np.array(vocab.OCCUPATIONS, dtype=object)[rng.integers(0, len(vocab.OCCUPATIONS), size=n)]
    return Identity(language, female, gender, name, latin, country, region, city, address, phone, email,
                    social, birth_day, occupation)


def _plant_ambiguous_names(language, city, name, latin) -> None:
    """Give a few customers shared or look-alike names (two 王芳, two Wang Fang, 陈静 and Chen Jing)."""
    taken: set[int] = set()
    for planted, lang, preferred_city in AMBIGUOUS_NAMES:
        candidates = np.flatnonzero(language == lang)
        if len(candidates) == 0:
            continue
        in_city = [i for i in candidates[city[candidates] == preferred_city] if i not in taken]
        # Spread the planted names over the id range rather than all at the very start.
        pool = in_city or [i for i in candidates if i not in taken]
        i = pool[len(pool) // 3]
        taken.add(int(i))
        name[i] = planted
        latin[i] = {"陈静": "Chen Jing", "王芳": "Wang Fang"}.get(planted, planted)


def ambiguous_customers(identity: Identity) -> dict[str, list[int]]:
    """Planted ambiguous names -> customer indexes (0-based) carrying them."""
    out: dict[str, list[int]] = {}
    for planted in dict.fromkeys(n for n, _, _ in AMBIGUOUS_NAMES):
        hits = np.flatnonzero(identity.name == planted)
        if len(hits):
            out[planted] = hits.tolist()
    return out
