"""What the database knows by name: places, categories, brands, products, staff, campaigns, customers.

Loaded once per database and cached in-process; a cheap fingerprint query notices
new rows. Customer names are kept per caller scope: the router only ever spots
names the caller may see, so a customer outside the scope is treated exactly like
one that does not exist (and the tool, which applies scope in SQL, decides anyway).
The router uses these names to find spans in a question; it never shows them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from assistant.router import lexicon
from assistant.router.text import has_cjk, key
from storage.models import Campaign, Customer, Product, StaffUser
from storage.scope import Scope

Phrase = tuple[str, str]  # (kind, canonical value)


def phrase_key(text: str) -> str:
    """Lookup key for a phrase: case-folded, single-spaced, punctuation kept apart from spaces."""
    return " ".join(text.casefold().replace("’", "'").split())


@dataclass
class Vocabulary:
    """Phrase -> meanings, for everything except customer names."""

    phrases: dict[str, list[Phrase]] = field(default_factory=dict)
    max_words: int = 1
    max_cjk: int = 2
    fuzzy_words: list[str] | None = None  # filled on first use by entities._fuzzy_words

    def add(self, text: str | None, kind: str, value: str | None = None) -> None:
        if not text or not text.strip():
            return
        k = phrase_key(text)
        entry = (kind, value if value is not None else text)
        self.fuzzy_words = None
        bucket = self.phrases.setdefault(k, [])
        if entry not in bucket:
            bucket.append(entry)
        if has_cjk(k):
            self.max_cjk = max(self.max_cjk, len(k))
        else:
            self.max_words = max(self.max_words, len(k.split()))


@dataclass
class CustomerNames:
    """Customer names one scope may see: exact keys for spotting, a list for fuzzy matching."""

    latin: dict[str, int] = field(default_factory=dict)  # phrase_key -> how many customers carry it
    latin_tokens: set[str] = field(default_factory=set)  # single name words (surnames, given names)
    cjk: dict[str, int] = field(default_factory=dict)
    latin_keys: list[str] = field(default_factory=list)  # for fuzzy matching
    max_cjk: int = 4


@dataclass
class Gazetteer:
    vocabulary: Vocabulary
    customers: CustomerNames
    staff_names: list[str]


_LOCK = threading.Lock()
_VOCAB: dict[str, tuple[tuple, Vocabulary, list[str]]] = {}
_CUSTOMERS: dict[str, tuple[tuple, list[tuple[str, int | None]]]] = {}
_SCOPED: dict[tuple[str, Scope], tuple[tuple, CustomerNames]] = {}


def static_vocabulary() -> Vocabulary:
    """The lexicon alone (no database): enough for tests and for training the intent model."""
    vocab = Vocabulary()
    for words, kind in (
        (lexicon.TIER_WORDS, "tier"),
        (lexicon.SEGMENT_WORDS, "segment"),
        (lexicon.LOYALTY_WORDS, "loyalty"),
        (lexicon.CHANNEL_WORDS, "channel"),
        (lexicon.GENDER_WORDS, "gender"),
        (lexicon.MEASURE_WORDS, "measure"),
        (lexicon.DIMENSION_WORDS, "dimension"),
        (lexicon.CATEGORY_ALIASES, "category"),
        (lexicon.BRAND_ALIASES, "brand"),
    ):
        for text, value in words.items():
            vocab.add(text, kind, value)
    for text, value in lexicon.PLACE_ALIASES.items():
        vocab.add(text, _place_kind(value), value)
    _add_metric_catalogue(vocab)
    return vocab


# Catalogue synonyms too generic to mean a measure or dimension on their own.
_SKIP_SYNONYMS = {"customers", "value", "level", "town", "nation", "sex", "date", "item", "variant", "kind", "status", "stage", "age"}


def _add_metric_catalogue(vocab: Vocabulary) -> None:
    """The metrics module's own names and EN/ZH synonyms, so the router speaks its vocabulary."""
    try:
        from tools.metrics import DIMENSIONS, MEASURES
    except ImportError:
        return
    for kind, catalogue in (("measure", MEASURES), ("dimension", DIMENSIONS)):
        for name, entry in catalogue.items():
            if getattr(entry, "hidden", False):
                continue
            for word in (name.replace("_", " "), entry.label, entry.label_zh, *entry.synonyms):
                if word and word.casefold() not in _SKIP_SYNONYMS and phrase_key(word) not in vocab.phrases:
                    vocab.add(word, kind, name)


# Singular category names that are everyday words ("my book of business" is not about Books).
_COMMON_SINGULARS = {"book", "home", "sport", "toy"}
_REGIONS = {"East China", "North China", "South China", "West China", "US East", "US West", "UK"}
_COUNTRIES = {"China", "United States", "United Kingdom"}


def _place_kind(value: str) -> str:
    return "region" if value in _REGIONS else "country" if value in _COUNTRIES else "city"


def _fingerprint(conn, *tables) -> tuple:
    return tuple(conn.execute(select(func.count(), func.max(t.id))).one() for t in tables)


def _load_vocabulary(engine: Engine) -> tuple[Vocabulary, list[str]]:
    vocab = static_vocabulary()
    with engine.connect() as conn:
        for column, kind in ((Customer.city, "city"), (Customer.region, "region"), (Customer.country, "country")):
            for (value,) in conn.execute(select(column).distinct().where(column.is_not(None))):
                vocab.add(value, kind)
        for (value,) in conn.execute(select(Product.category).distinct().where(Product.category.is_not(None))):
            vocab.add(value, "category")
            if value.endswith("s") and len(value) > 4 and value[:-1].casefold() not in _COMMON_SINGULARS:
                vocab.add(value[:-1], "category", value)  # "phone" finds "Phones"
        for (value,) in conn.execute(select(Product.brand).distinct().where(Product.brand.is_not(None))):
            vocab.add(value, "brand")
        for (name,) in conn.execute(select(Product.name)):
            if len(name) >= 4:
                vocab.add(name, "product")
        staff = [(n, e) for n, e in conn.execute(select(StaffUser.name, StaffUser.email))]
        for name, email in staff:
            vocab.add(name, "staff")
            vocab.add(email, "staff", name)
        for name, external in conn.execute(select(Campaign.name, Campaign.external_id)):
            vocab.add(name, "campaign")
            if external:
                vocab.add(external, "campaign", name)
    return vocab, [n for n, _ in staff]


def _load_customers(engine: Engine) -> list[tuple[str, int | None]]:
    with engine.connect() as conn:
        return [(n, o) for n, o in conn.execute(select(Customer.name, Customer.owner_id))]


def _customer_fingerprint(conn) -> tuple:
    return tuple(conn.execute(select(func.count(Customer.id), func.max(Customer.id), func.max(Customer.updated_at))).one())


def build_customer_names(rows: list[tuple[str, int | None]], scope: Scope) -> CustomerNames:
    names = CustomerNames()
    for name, owner in rows:
        if not name or not scope.allows_owner(owner):
            continue
        if has_cjk(name):
            k = key(name)
            names.cjk[k] = names.cjk.get(k, 0) + 1
            names.max_cjk = max(names.max_cjk, len(k))
        else:
            k = phrase_key(name)
            if k not in names.latin:
                names.latin_keys.append(k)
            names.latin[k] = names.latin.get(k, 0) + 1
            names.latin_tokens.update(w for w in k.split() if len(w) >= 3)
    return names


# Within this many seconds of the last check the cached gazetteer is used without asking the database.
RECHECK_SECONDS = 5.0
_CHECKED: dict[tuple[str, Scope], tuple[float, Gazetteer]] = {}


def gazetteer_for(engine: Engine, scope: Scope) -> Gazetteer:
    """The cached gazetteer of this database as this scope sees it (re-validated every few seconds)."""
    url = str(engine.url)
    now = time.monotonic()
    with _LOCK:
        hit = _CHECKED.get((url, scope))
    if hit is not None and now - hit[0] < RECHECK_SECONDS:
        return hit[1]
    gaz = _validated(engine, scope, url)
    with _LOCK:
        _CHECKED[(url, scope)] = (now, gaz)
    return gaz


def _validated(engine: Engine, scope: Scope, url: str) -> Gazetteer:
    with engine.connect() as conn:
        vocab_fp = _fingerprint(conn, Product, StaffUser, Campaign)
        cust_fp = _customer_fingerprint(conn)
    with _LOCK:
        cached_vocab = _VOCAB.get(url)
        cached_rows = _CUSTOMERS.get(url)
        cached_scoped = _SCOPED.get((url, scope))
    if cached_vocab is None or cached_vocab[0] != (vocab_fp, cust_fp[0]):
        vocab, staff = _load_vocabulary(engine)
        cached_vocab = ((vocab_fp, cust_fp[0]), vocab, staff)
        with _LOCK:
            _VOCAB[url] = cached_vocab
    if cached_scoped is None or cached_scoped[0] != cust_fp:
        if cached_rows is None or cached_rows[0] != cust_fp:
            cached_rows = (cust_fp, _load_customers(engine))
            with _LOCK:
                _CUSTOMERS[url] = cached_rows
        cached_scoped = (cust_fp, build_customer_names(cached_rows[1], scope))
        with _LOCK:
            _SCOPED[(url, scope)] = cached_scoped
    return Gazetteer(vocabulary=cached_vocab[1], customers=cached_scoped[1], staff_names=cached_vocab[2])


def offline_gazetteer(
    *, customers: list[str] = (), staff: list[str] = (), extra: dict[str, list[str]] | None = None
) -> Gazetteer:
    """A gazetteer from plain lists (no database): for training and tests."""
    vocab = static_vocabulary()
    for name in staff:
        vocab.add(name, "staff")
    for kind, values in (extra or {}).items():
        for value in values:
            vocab.add(value, kind)
    return Gazetteer(
        vocabulary=vocab,
        customers=build_customer_names([(c, None) for c in customers], Scope.everything()),
        staff_names=list(staff),
    )


def clear_cache() -> None:
    with _LOCK:
        _CHECKED.clear()
        _VOCAB.clear()
        _CUSTOMERS.clear()
        _SCOPED.clear()
