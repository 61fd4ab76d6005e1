"""The probe world: a small demo CRM with planted injections, and the facts the detector needs.

Built once per run (a few seconds): demo data, the plants (``evals.probes.plant``), the
feature snapshot, and the interaction index in Chroma. Then every customer's sensitive
values, orders and notes are read back by plain SQL, and each persona's scope is worked
out independently of ``tools.context`` (the code under test), as in ``evals.fixtures``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import text

from evals.probes.plant import Planted, plant

PROBE_TODAY = date(2026, 11, 22)
PROBE_NOW = datetime(2026, 11, 22, 18, 0)
PROBE_SEED = 7
PROBE_CUSTOMERS = 400

# Who asks. Reps and managers come in both scripts so each language has a natural asker.
PERSONAS: dict[str, str] = {
    "rep_en": "rep13@demo.crm",  # Emily Carter, International team
    "rep_zh": "rep01@demo.crm",  # 李娜, China team
    "mgr_en": "manager03@demo.crm",  # James Porter, International team
    "mgr_zh": "manager02@demo.crm",  # 周建国, China team
    "head": "manager01@demo.crm",  # Victoria Lane, head of sales (every customer)
    "support_en": "support01@demo.crm",
    "support_zh": "support02@demo.crm",
    "admin": "admin@demo.crm",
}


@dataclass(frozen=True)
class Persona:
    key: str
    email: str
    user_id: int
    name: str
    role: str
    team: str | None
    owner_ids: frozenset[int] | None  # None: every customer

    def sees(self, owner_id: int | None) -> bool:
        # Every role sees the public pool; reps and managers see only their owners besides.
        return self.owner_ids is None or owner_id is None or owner_id in self.owner_ids


@dataclass(frozen=True)
class CustomerFacts:
    id: int
    name: str
    external_id: str
    owner_id: int | None
    city: str | None
    phone: str | None
    email: str | None
    address: str | None
    social: tuple[str, ...]
    birth_date: str | None
    credit_rating: str | None
    overdue_amount: float


@dataclass
class World:
    home: Path
    url: str
    now: datetime
    personas: dict[str, Persona]
    customers: dict[int, CustomerFacts]
    orders: dict[int, list[str]] = field(default_factory=dict)  # customer id -> order external ids
    notes: dict[int, list[str]] = field(default_factory=dict)  # customer id -> interaction bodies and subjects
    staff: dict[int, tuple[str, str, str | None]] = field(default_factory=dict)  # id -> (name, role, team)
    vocabulary: set[str] = field(default_factory=set)  # products, campaigns, cities: visible to everyone
    planted: Planted = field(default_factory=Planted)

    def context(self, persona: str, *, confirm_writes: bool = True, channel: str = "web"):
        from tools.context import ToolContext

        ctx = ToolContext.for_email(self.personas[persona].email, now=self.now, channel=channel, database_url=self.url)
        return ctx.model_copy(update={"confirm_writes": confirm_writes})

    def staff_id(self, email: str) -> int:
        return next(p.user_id for p in self.personas.values() if p.email == email)

    def rep_named(self, *, team: str | None, exclude_team: str | None = None) -> str:
        """A rep's name, first by id, on ``team`` (or on any team but ``exclude_team``)."""
        for _sid, (name, role, rteam) in sorted(self.staff.items()):
            if role == "rep" and (team is None or rteam == team) and (exclude_team is None or rteam != exclude_team):
                return name
        raise LookupError("no such rep")


def world_url(home: Path) -> str:
    return f"sqlite:///{(home / 'probes.sqlite3').resolve()}"


def build_world(home: Path, *, customers: int = PROBE_CUSTOMERS, seed: int = PROBE_SEED,
                progress: Callable[[str], None] | None = None) -> World:  # fmt: skip
    """Generate, plant, refresh and index. Run inside ``probe_environment(home)`` (Chroma lives there)."""
    from knowledge.indexing import sync_index
    from storage.db import engine_for
    from storage.demo import generate
    from tools.refresh import refresh_features

    home.mkdir(parents=True, exist_ok=True)
    url = world_url(home)
    say = progress or (lambda _msg: None)
    say(f"generating a {customers}-customer demo")
    generate(customers=customers, seed=seed, today=PROBE_TODAY, url=url, reset=True)
    say("planting injections and canaries")
    planted = plant(url, now=PROBE_NOW)
    say("computing the feature snapshot")
    refresh_features(url=url, now=PROBE_NOW, allow_partial=True)
    say("indexing interactions")
    sync_index(engine=engine_for(url))
    (home / "planted.json").write_text(json.dumps(asdict(planted), ensure_ascii=False), encoding="utf-8")
    return load_world(home)


def load_world(home: Path) -> World:
    """The facts of a built world (``build_world`` leaves ``planted.json`` beside the database)."""
    from storage.db import engine_for

    url = world_url(home)
    raw = json.loads((home / "planted.json").read_text(encoding="utf-8"))
    planted = Planted(**{**raw, "canaries": [tuple(c) for c in raw["canaries"]]})
    with engine_for(url).connect() as conn:
        staff = {int(r[0]): (r[1], r[2], r[3]) for r in conn.execute(text("SELECT id, name, role, team FROM staff_user"))}
        personas = {key: _persona(conn, key, email) for key, email in PERSONAS.items()}
        customers = {}
        for row in conn.execute(text("""SELECT id, name, external_id, owner_id, city, phone, email, address,
                                               social_handles, birth_date, credit_rating, overdue_amount FROM customer""")):
            social = row[8] if isinstance(row[8], dict) else json.loads(row[8]) if row[8] else {}
            customers[int(row[0])] = CustomerFacts(
                id=int(row[0]), name=row[1], external_id=row[2], owner_id=row[3], city=row[4], phone=row[5],
                email=row[6], address=row[7], social=tuple(str(v) for v in social.values()),
                birth_date=str(row[9])[:10] if row[9] else None, credit_rating=row[10],
                overdue_amount=float(row[11] or 0.0),
            )  # fmt: skip
        orders: dict[int, list[str]] = {}
        for cid, ext in conn.execute(text("SELECT customer_id, external_id FROM orders ORDER BY ordered_at DESC, id")):
            orders.setdefault(int(cid), []).append(ext)
        notes: dict[int, list[str]] = {}
        for cid, body, subject in conn.execute(text("SELECT customer_id, body, subject FROM interaction ORDER BY id")):
            notes.setdefault(int(cid), []).extend(t for t in (body, subject) if t)
        vocabulary = {r[0] for r in conn.execute(text("SELECT name FROM product UNION SELECT name FROM campaign "
                                                      "UNION SELECT city FROM customer WHERE city IS NOT NULL"))}  # fmt: skip
    return World(home=home, url=url, now=PROBE_NOW, personas=personas, customers=customers, orders=orders,
                 notes=notes, staff=staff, vocabulary=vocabulary, planted=planted)  # fmt: skip


def _persona(conn, key: str, email: str) -> Persona:
    uid, name, role, team, head = conn.execute(
        text("SELECT id, name, role, team, is_head_of_sales FROM staff_user WHERE email = :e"), {"e": email}
    ).one()
    owner_ids: frozenset[int] | None
    if role == "rep":
        owner_ids = frozenset({int(uid)})
    elif role == "manager" and not head:
        team_ids = [int(r[0]) for r in conn.execute(text("SELECT id FROM staff_user WHERE team = :t"), {"t": team})]
        owner_ids = frozenset({int(uid), *team_ids})
    else:
        owner_ids = None
    return Persona(key=key, email=email, user_id=int(uid), name=name, role=role, team=team, owner_ids=owner_ids)
