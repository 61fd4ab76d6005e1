"""Turn what a person typed into one customer, product or staff member.

``resolve_customer`` accepts a numeric id, an external id (``C000123``) or a name.
Names match exactly first (case, width and spacing ignored), then fuzzily with
rapidfuzz, including Chinese names typed in pinyin ("Chen Jing" finds 陈静). Several
close matches raise ``Ambiguous`` with candidates; none raises ``NotFound``.

Scope: candidates are ranked only among customers the caller may see, and the final
fetch applies ``ctx.scope`` in SQL, so a customer outside scope is indistinguishable
from one that does not exist (same error, same message).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlalchemy import func
from sqlmodel import Session, select

from storage.models import Customer, Product, StaffUser
from storage.scope import Scope
from tools.context import ToolContext
from tools.errors import Ambiguous, Candidate, NotFound

# Below this score (0-100) a fuzzy match is not offered at all.
MIN_SCORE = 80.0
# Matches within this many points of the best are "equally close" and make the name ambiguous.
TIE_MARGIN = 6.0
MAX_CANDIDATES = 8

_EXTERNAL_ID = re.compile(r"^[A-Za-z]{1,4}[-_]?\d{2,}$")
_STRIP = re.compile(r"[\s\.\-_'’·•,，。]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def normalize_name(text: str) -> str:
    """Case-, width- and space-insensitive key: 'Chen  Jing' -> 'chenjing', 'ＡＢＣ' -> 'abc'."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", text).casefold())


def _spaced(text: str) -> str:
    return " ".join(_STRIP.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split())


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


_PINYIN_CACHE: dict[str, str] = {}


def pinyin_key(text: str) -> str:
    """Tone-less pinyin of the CJK characters, other characters kept: '陈静' -> 'chenjing'."""
    from pypinyin import lazy_pinyin  # imported on first use: it loads a large dictionary

    out = []
    for ch in text:
        if _CJK.match(ch):
            # Per character, cached: names draw on a few thousand characters, so this stays cheap.
            if ch not in _PINYIN_CACHE:
                _PINYIN_CACHE[ch] = "".join(lazy_pinyin(ch))
            out.append(_PINYIN_CACHE[ch])
        else:
            out.append(ch)
    return normalize_name("".join(out))


@dataclass
class _ScopeView:
    """One scope's slice of the index, laid out as lists for rapidfuzz (built once per scope)."""

    positions: list[int]
    position_set: set[int]
    keys: list[str]
    spaced: list[str]
    pinyin_positions: list[int] | None = None
    pinyin: list[str] | None = None


@dataclass
class _NameIndex:
    """Customer names of one database, cached in-process and refreshed when the table changes."""

    fingerprint: tuple
    ids: list[int]
    names: list[str]
    owners: list[int | None]
    keys: list[str]
    _views: dict = field(default_factory=dict)
    _by_key: dict | None = None
    _by_word: dict | None = None
    _sorted: list | None = None
    _pinyin: list[str] | None = None

    def view(self, scope: Scope) -> _ScopeView:
        if scope not in self._views:
            pos = [i for i, o in enumerate(self.owners) if scope.allows_owner(o)]
            self._views[scope] = _ScopeView(pos, set(pos), [self.keys[p] for p in pos], [_spaced(self.names[p]) for p in pos])
        return self._views[scope]

    def positions(self, scope: Scope) -> list[int]:
        return self.view(scope).positions

    def exact(self, key: str) -> list[int]:
        if self._by_key is None:
            by_key: dict[str, list[int]] = {}
            for i, k in enumerate(self.keys):
                by_key.setdefault(k, []).append(i)
            self._by_key = by_key
        return self._by_key.get(key, [])

    def word(self, word: str) -> list[int]:
        if self._by_word is None:
            by_word: dict[str, list[int]] = {}
            for i, n in enumerate(self.names):
                for w in set(_spaced(n).split()):
                    by_word.setdefault(w, []).append(i)
            self._by_word = by_word
        return self._by_word.get(word, [])

    def prefix(self, key: str, limit: int) -> list[int]:
        import bisect

        if self._sorted is None:
            self._sorted = sorted((k, i) for i, k in enumerate(self.keys))
        out = []
        at = bisect.bisect_left(self._sorted, (key, -1))
        while at < len(self._sorted) and self._sorted[at][0].startswith(key) and len(out) < limit:
            out.append(self._sorted[at][1])
            at += 1
        return out

    def pinyin(self) -> list[str]:
        if self._pinyin is None:
            self._pinyin = [pinyin_key(n) if has_cjk(n) else "" for n in self.names]
        return self._pinyin

    def pinyin_view(self, scope: Scope) -> tuple[list[int], list[str]]:
        view = self.view(scope)
        if view.pinyin is None:
            pinyin = self.pinyin()
            view.pinyin_positions = [p for p in view.positions if pinyin[p]]
            view.pinyin = [pinyin[p] for p in view.pinyin_positions]
        return view.pinyin_positions, view.pinyin


_INDEXES: dict[str, _NameIndex] = {}
_LOCK = threading.Lock()


def _name_index(session: Session) -> _NameIndex:
    bind = session.get_bind()
    url = str(bind.url)
    # Writers bump updated_at (assign_customer does), so owner changes invalidate the cache too.
    fp = tuple(session.exec(select(func.count(Customer.id), func.max(Customer.id), func.max(Customer.updated_at))).one())
    with _LOCK:
        cached = _INDEXES.get(url)
        if cached is not None and cached.fingerprint == fp:
            return cached
    rows = session.exec(select(Customer.id, Customer.name, Customer.owner_id)).all()
    index = _NameIndex(
        fingerprint=fp,
        ids=[r[0] for r in rows],
        names=[r[1] for r in rows],
        owners=[r[2] for r in rows],
        keys=[normalize_name(r[1]) for r in rows],
    )
    with _LOCK:
        _INDEXES[url] = index
    return index


def invalidate_name_cache() -> None:
    """Forget cached names (after a write in this process, so the next lookup sees it at once)."""
    with _LOCK:
        _INDEXES.clear()


def _not_found(customer: str | int) -> NotFound:
    return NotFound(
        f"no customer found for {str(customer)!r}",
        hint="check the spelling or the id, or search with find_customers",
    )


def _fetch_in_scope(session: Session, ctx: ToolContext, *where) -> list[Customer]:
    stmt = select(Customer).where(*where, ctx.scope.customer_clause(Customer.owner_id))
    return list(session.exec(stmt).all())


def customer_candidates(session: Session, customers: list[Customer]) -> list[Candidate]:
    owner_ids = {c.owner_id for c in customers if c.owner_id is not None}
    owners = (
        dict(session.exec(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(owner_ids))).all())
        if owner_ids
        else {}
    )
    out = []
    for c in customers:
        owner = owners.get(c.owner_id, "?") if c.owner_id is not None else "public pool"
        bits = [b for b in (c.external_id, c.city, f"owner: {owner}") if b]
        out.append(Candidate(id=c.id, label=c.name, detail=" · ".join(bits)))
    return out


def _score_all(query: str, index: _NameIndex, scope: Scope) -> dict[int, float]:
    """Best fuzzy score per index position, over the names and (for Latin queries) their pinyin."""
    key = normalize_name(query)
    spaced = _spaced(query)
    view = index.view(scope)
    scores: dict[int, float] = {}

    def take(choices: list[str], positions: list[int], q: str, scorer) -> None:
        for _, score, i in process.extract(q, choices, scorer=scorer, limit=50, score_cutoff=MIN_SCORE - 10):
            pos = positions[i]
            scores[pos] = max(scores.get(pos, 0.0), float(score))

    take(view.keys, view.positions, key, fuzz.ratio)
    if not has_cjk(query):
        if " " in spaced:
            # Word order varies ("Jing Chen"); token_sort ignores it for Latin names.
            take(view.spaced, view.positions, spaced, fuzz.token_sort_ratio)
        positions, pinyin = index.pinyin_view(scope)
        take(pinyin, positions, key, fuzz.ratio)
    return scores


def _partial_matches(key: str, index: _NameIndex, scope: Scope) -> list[int]:
    """A surname or given name alone ('Chen', '陈'): every name that starts with it or has it as a word."""
    if len(key) < 1 or (len(key) < 3 and not has_cjk(key)):
        return []
    allowed = index.view(scope).position_set
    hits = [p for p in dict.fromkeys([*index.prefix(key, 5000), *index.word(key)]) if p in allowed]
    return hits[: MAX_CANDIDATES * 2]


def _is_id(text: str) -> bool:
    """Digits that can be a row id: ASCII only ("²".isdigit() is True, int("²") fails) and within 64 bits."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def resolve_customer(ctx: ToolContext, *, customer: str | int, session: Session | None = None) -> Customer:
    """One customer in the caller's scope by id, external id or (fuzzy) name; NotFound or Ambiguous otherwise."""
    own = session or Session(ctx.engine)
    try:
        return _resolve_customer(own, ctx, customer)
    finally:
        if session is None:
            own.close()


def _resolve_customer(session: Session, ctx: ToolContext, customer: str | int) -> Customer:
    if isinstance(customer, bool):
        raise _not_found(customer)
    if isinstance(customer, int) or (isinstance(customer, str) and _is_id(customer.strip())):
        found = _fetch_in_scope(session, ctx, Customer.id == int(customer))
        if not found:
            raise _not_found(customer)
        return found[0]
    text = str(customer).strip()
    if not text:
        raise _not_found(customer)
    if _EXTERNAL_ID.match(text):
        found = _fetch_in_scope(session, ctx, Customer.external_id.in_(sorted({text, text.upper()})))
        if found:
            return found[0]
    index = _name_index(session)
    allowed = index.view(ctx.scope).position_set
    key = normalize_name(text)
    exact = [index.ids[p] for p in index.exact(key) if p in allowed]
    if not exact:
        scores = _score_all(text, index, ctx.scope)
        best = max(scores.values(), default=0.0)
        if best < MIN_SCORE:
            partial = _partial_matches(key, index, ctx.scope)
            if not partial:
                raise _not_found(customer)
            scores, best = {p: MIN_SCORE for p in partial}, MIN_SCORE
        ranked = sorted((p for p, s in scores.items() if s >= max(MIN_SCORE, best - TIE_MARGIN)), key=lambda p: -scores[p])
        exact = [index.ids[p] for p in ranked]
    # The SQL fetch is the authority on scope; the in-memory index only ranks.
    found = _fetch_in_scope(session, ctx, Customer.id.in_(exact[: MAX_CANDIDATES * 2]))
    if not found:
        raise _not_found(customer)
    if len(found) == 1:
        return found[0]
    order = {cid: i for i, cid in enumerate(exact)}
    found.sort(key=lambda c: order.get(c.id, 0))
    raise Ambiguous(
        f"{len(found)} customers match {text!r}",
        candidates=customer_candidates(session, found[:MAX_CANDIDATES]),
        hint="say which one by id or external id",
    )


def resolve_product(ctx: ToolContext, *, product: str | int, session: Session | None = None) -> Product:
    """One product by id, SKU, or (fuzzy) name."""
    own = session or Session(ctx.engine)
    try:
        text = str(product).strip()
        if isinstance(product, int) or _is_id(text):
            found = own.get(Product, int(text))
            if found:
                return found
        by_sku = own.exec(select(Product).where(func.upper(Product.sku) == text.upper())).first()
        if by_sku:
            return by_sku
        rows = own.exec(select(Product.id, Product.name)).all()
        return own.get(Product, _pick(text, {r[0]: r[1] for r in rows}, what="product"))
    finally:
        if session is None:
            own.close()


def resolve_staff(ctx: ToolContext, *, staff: str | int, session: Session | None = None) -> StaffUser:
    """One staff member by id, email, or (fuzzy) name; 'me' is the caller."""
    own = session or Session(ctx.engine)
    try:
        text = str(staff).strip()
        if text.casefold() in ("me", "myself", "我", "我自己") and ctx.user_id is not None:
            text = str(ctx.user_id)
        if isinstance(staff, int) or _is_id(text):
            found = own.get(StaffUser, int(text))
            if found:
                return found
            raise NotFound(f"no staff member found for {text!r}")
        by_email = own.exec(select(StaffUser).where(func.lower(StaffUser.email) == text.lower())).first()
        if by_email:
            return by_email
        rows = own.exec(select(StaffUser.id, StaffUser.name)).all()
        return own.get(StaffUser, _pick(text, {r[0]: r[1] for r in rows}, what="staff member"))
    finally:
        if session is None:
            own.close()


def _pick(text: str, names: dict[int, str], *, what: str) -> int:
    key = normalize_name(text)
    exact = [i for i, n in names.items() if normalize_name(n) == key]
    if len(exact) == 1:
        return exact[0]
    if not exact:
        keys = {i: normalize_name(n) for i, n in names.items()}
        hits = process.extract(key, keys, scorer=fuzz.WRatio, limit=MAX_CANDIDATES, score_cutoff=MIN_SCORE)
        if not hits:
            raise NotFound(f"no {what} found for {text!r}")
        best = hits[0][1]
        exact = [i for _, s, i in hits if s >= best - TIE_MARGIN]
        if len(exact) == 1:
            return exact[0]
    raise Ambiguous(
        f"{len(exact)} {what}s match {text!r}",
        candidates=[Candidate(id=i, label=names[i]) for i in exact[:MAX_CANDIDATES]],
        hint="say which one by id",
    )


def match_customer_ids(
    ctx: ToolContext, *, text: str, session: Session, min_score: float = 70.0, limit: int = 2000
) -> dict[int, float]:
    """Customer ids in scope whose name matches ``text`` (exact 100, word/prefix 90, else fuzzy score).

    For search (find_customers), looser than ``resolve_customer``. The caller still applies
    ``ctx.scope`` in SQL when it fetches the rows.
    """
    index = _name_index(session)
    allowed = index.view(ctx.scope).position_set
    key = normalize_name(text)
    if not key:
        return {}
    scores: dict[int, float] = {p: 90.0 for p in index.word(key) if p in allowed}
    scores.update({p: 90.0 for p in index.prefix(key, limit) if p in allowed})
    scores.update({p: 100.0 for p in index.exact(key) if p in allowed})
    for p, s in _score_all(text, index, ctx.scope).items():
        if s >= min_score and s > scores.get(p, 0.0):
            scores[p] = s
    best = sorted(scores.items(), key=lambda kv: -kv[1])[:limit]
    return {index.ids[p]: s for p, s in best}
