"""The eval world: a pinned demo database, the personas, and the entities questions name.

The demo database is generated once per (customers, seed, today) under
``CRM_HOME/evals`` and refreshed as of the pinned "now"; each run works on a copy,
because write questions (log a call, claim a customer) change it.

Entities (``{customer}``, ``{order}``, ``{city}`` …) are picked from that database by
plain SQL, deterministically, per persona: a rep's questions name the rep's own
customers. Nothing here calls a tool.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

EVAL_TODAY = date(2026, 11, 22)
EVAL_NOW = datetime(2026, 11, 22, 18, 0)
EVAL_SEED = 42
EVAL_CUSTOMERS = 3000
REVENUE_EXCLUDED = ("returned", "cancelled")

# (persona, language) -> the demo user who asks.
PERSONAS: dict[tuple[str, str], str] = {
    ("rep", "en"): "rep13@demo.crm",
    ("rep", "zh"): "rep01@demo.crm",
    ("manager", "en"): "manager01@demo.crm",
    ("manager", "zh"): "manager02@demo.crm",
    ("support", "en"): "support01@demo.crm",
    ("support", "zh"): "support02@demo.crm",
}
# Chinese spellings the zh questions use for values stored in English (kept here, apart from the router's lexicon).
ZH_NAMES = {
    "Shanghai": "上海", "Beijing": "北京", "Shenzhen": "深圳", "Guangzhou": "广州", "Hangzhou": "杭州", "Chengdu": "成都",
    "Nanjing": "南京", "Suzhou": "苏州", "Tianjin": "天津", "Chongqing": "重庆", "Xi'an": "西安", "New York": "纽约",
    "London": "伦敦", "Los Angeles": "洛杉矶", "San Francisco": "旧金山", "Boston": "波士顿", "Seattle": "西雅图",
    "East China": "华东", "North China": "华北", "South China": "华南", "West China": "华西", "US East": "美东",
    "US West": "美西", "UK": "英国", "Phones": "手机", "Laptops": "笔记本电脑", "Audio": "耳机音响", "Beauty": "美妆",
    "Apparel": "服装", "Kitchen": "厨房", "Home": "家居", "Toys": "玩具", "Books": "图书", "Sports": "运动",
    "Apple": "苹果", "Xiaomi": "小米", "Samsung": "三星", "Huawei": "华为", "Lenovo": "联想",
}  # fmt: skip


def eval_home() -> Path:
    from storage.settings import get_settings

    return get_settings().home / "evals"


def build_database(*, customers: int = EVAL_CUSTOMERS, seed: int = EVAL_SEED, today: date = EVAL_TODAY,
                   now: datetime = EVAL_NOW, progress=None) -> Path:  # fmt: skip
    """The pristine eval database file (generated and refreshed on first use)."""
    path = eval_home() / f"demo-{customers}-{seed}-{today.isoformat()}-{data_fingerprint()}.sqlite3"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp")
    url = f"sqlite:///{tmp.resolve()}"
    from storage.demo import generate
    from tools.refresh import refresh_features

    if progress:
        progress("generating the demo database")
    generate(customers=customers, seed=seed, today=today, url=url, reset=True)
    if progress:
        progress("computing the feature snapshot")
    try:
        refresh_features(url=url, now=now, allow_partial=True)
    except Exception as exc:  # noqa: BLE001 - a broken analytics phase must not hide every other score
        import logging

        logging.getLogger(__name__).warning("feature refresh failed (%s: %s); questions needing the snapshot will fail",
                                            type(exc).__name__, exc)  # fmt: skip
    from storage.db import engine_for

    engine_for(url).dispose()
    tmp.replace(path)
    return path


def data_fingerprint() -> str:
    """Changes whenever the schema, the migrations, the demo generator or the refresh do: then rebuild."""
    import hashlib

    import storage
    import tools

    h = hashlib.sha1()
    roots = [Path(storage.__file__).parent / sub for sub in ("models", "migrations/versions", "demo")]
    roots.append(Path(tools.__file__).parent / "refresh.py")
    for root in roots:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            if path.exists():
                h.update(path.read_bytes())
    return h.hexdigest()[:10]


def working_copy(pristine: Path) -> str:
    """A throwaway copy for one run; returns its URL."""
    run = pristine.with_name(f"run-{uuid.uuid4().hex[:8]}.sqlite3")
    shutil.copyfile(pristine, run)
    return f"sqlite:///{run.resolve()}"


def drop_copy(url: str) -> None:
    from storage.db import engine_for

    engine_for(url).dispose()
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# ---------------------------------------------------------------- scope, independently of tools.context


@dataclass(frozen=True)
class Persona:
    name: str
    lang: str
    email: str
    user_id: int
    user_name: str
    role: str
    owner_ids: frozenset[int] | None  # None = every customer
    team: str | None

    def customer_filter(self, alias: str = "c") -> str:
        """SQL condition over a customer alias for what this persona may see."""
        if self.owner_ids is None:
            return "1=1"
        ids = ",".join(str(i) for i in sorted(self.owner_ids)) or "-1"
        return f"({alias}.owner_id IN ({ids}) OR {alias}.owner_id IS NULL)"


def load_persona(engine: Engine, persona: str, lang: str) -> Persona:
    email = PERSONAS[(persona, lang)]
    with engine.connect() as conn:
        uid, name, role, team, head = conn.execute(
            text("SELECT id, name, role, team, is_head_of_sales FROM staff_user WHERE email = :e"), {"e": email}
        ).one()
        owner_ids: frozenset[int] | None
        if role == "rep":
            owner_ids = frozenset({uid})
        elif role == "manager" and not head:
            team_ids = [r[0] for r in conn.execute(text("SELECT id FROM staff_user WHERE team = :t"), {"t": team})]
            owner_ids = frozenset({uid, *team_ids})
        else:
            owner_ids = None
    return Persona(persona, lang, email, uid, name, role, owner_ids, team)


# ---------------------------------------------------------------- entities


@dataclass
class Entities:
    values: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def fill(self, template: str) -> str:
        out = template
        for key, value in self.values.items():
            out = out.replace("{" + key + "}", value)
        return out


def _is_cjk(name: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in name)


def pick_entities(engine: Engine, persona: Persona) -> Entities:
    today = EVAL_TODAY
    q_start = date(today.year, ((today.month - 1) // 3) * 3 + 1, 1)
    last_q_start = date(q_start.year - (q_start.month == 1), (q_start.month - 4) % 12 + 1, 1)
    last_m_end = today.replace(day=1) - timedelta(days=1)
    last_m_start = last_m_end.replace(day=1)
    scope = persona.customer_filter("c")
    excluded = ",".join(f"'{s}'" for s in REVENUE_EXCLUDED)
    with engine.connect() as conn:
        customers = pd.read_sql(text(f"""
            SELECT c.id, c.name, c.city, c.owner_id,
                   SUM(CASE WHEN o.status NOT IN ({excluded}) THEN o.total_amount ELSE 0 END) AS spend,
                   SUM(CASE WHEN o.status NOT IN ({excluded}) AND o.ordered_at >= :lq AND o.ordered_at < :q THEN 1 ELSE 0 END) AS lq_orders,
                   SUM(CASE WHEN o.status NOT IN ({excluded}) AND o.ordered_at >= :lms AND o.ordered_at < :lme THEN 1 ELSE 0 END) AS lm_orders
            FROM customer c JOIN orders o ON o.customer_id = c.id
            WHERE {scope}
            GROUP BY c.id, c.name, c.city, c.owner_id
        """), conn, params={"lq": last_q_start.isoformat(), "q": q_start.isoformat(), "lms": last_m_start.isoformat(),
                            "lme": (last_m_end + timedelta(days=1)).isoformat()})  # fmt: skip
        name_counts = dict(conn.execute(text("SELECT name, COUNT(*) FROM customer GROUP BY name")).all())
        planted = {r[0] for r in conn.execute(text("SELECT subject_id FROM demo_truth WHERE kind = 'ambiguous_name'"))}
        with_interactions = {r[0] for r in conn.execute(text("SELECT DISTINCT customer_id FROM interaction"))}
        pool = pd.read_sql(text("SELECT id, name FROM customer WHERE owner_id IS NULL ORDER BY id"), conn)
        cities = pd.read_sql(text(f"SELECT city, COUNT(*) AS n FROM customer c WHERE {scope} AND city IS NOT NULL "
                                  "GROUP BY city ORDER BY n DESC, city"), conn)  # fmt: skip
        campaigns = pd.read_sql(text("SELECT c.id, c.name, t.kind FROM campaign c LEFT JOIN demo_truth t "
                                     "ON t.subject_id = c.id AND t.kind IN ('ab_winner','ab_null') ORDER BY c.id"), conn)  # fmt: skip
        reps = pd.read_sql(text("SELECT s.id, s.name, s.team, COUNT(o.id) AS n FROM staff_user s LEFT JOIN opportunity o "
                                "ON o.owner_id = s.id WHERE s.role = 'rep' GROUP BY s.id, s.name, s.team ORDER BY n DESC, s.id"), conn)  # fmt: skip
        cats = pd.read_sql(text(f"""
            SELECT p.category, p.brand, SUM(l.amount) AS revenue FROM order_line l
            JOIN orders o ON o.id = l.order_id JOIN product p ON p.id = l.product_id JOIN customer c ON c.id = o.customer_id
            WHERE o.status NOT IN ({excluded}) AND {scope} GROUP BY p.category, p.brand
        """), conn)  # fmt: skip
    ent = Entities()
    ok = customers[(customers.lq_orders > 0) & (customers.lm_orders > 0)]
    ok = ok[ok.name.map(lambda n: name_counts.get(n, 0) == 1) & ~ok.id.isin(planted) & ok.id.isin(with_interactions)]
    ok = ok.sort_values(["spend", "id"], ascending=[False, True])
    for script, picker in (("en", lambda n: not _is_cjk(n)), ("zh", _is_cjk)):
        chosen = ok[ok.name.map(picker)]
        for i in range(3):
            if i < len(chosen):
                row = chosen.iloc[i]
                key = f"customer{'' if i == 0 else i + 1}_{script}"
                ent.values[key] = row["name"]
                ent.ids[key] = int(row["id"])
        pool_pick = pool[pool.name.map(picker) & pool.name.map(lambda n: name_counts.get(n, 0) == 1)]
        if len(pool_pick):
            ent.values[f"pool_customer_{script}"] = pool_pick.iloc[0]["name"]
            ent.ids[f"pool_customer_{script}"] = int(pool_pick.iloc[0]["id"])
    lang = persona.lang
    for key in ("customer", "customer2", "customer3", "pool_customer"):
        if f"{key}_{lang}" in ent.values:
            ent.values[key] = ent.values[f"{key}_{lang}"]
            ent.ids[key] = ent.ids[f"{key}_{lang}"]
    with engine.connect() as conn:
        for key in ("customer", "customer2"):
            if key in ent.ids:
                row = conn.execute(text("SELECT external_id, id FROM orders WHERE customer_id = :c ORDER BY ordered_at DESC, id DESC LIMIT 1"),
                                   {"c": ent.ids[key]}).first()  # fmt: skip
                if row:
                    ent.values[f"order{'' if key == 'customer' else '2'}"] = row[0]
                    ent.ids[f"order{'' if key == 'customer' else '2'}"] = int(row[1])
    if len(cities):
        ent.values["city_en"] = cities.iloc[0]["city"]
        ent.values["city2_en"] = cities.iloc[1]["city"] if len(cities) > 1 else cities.iloc[0]["city"]
    by_cat = cats.groupby("category")["revenue"].sum().sort_values(ascending=False)
    by_brand = cats.groupby("brand")["revenue"].sum().sort_values(ascending=False)
    ent.values["category_en"] = str(by_cat.index[0])
    ent.values["brand_en"] = next(b for b in by_brand.index if b in ZH_NAMES)
    for key in ("city", "city2", "category", "brand"):
        if f"{key}_en" in ent.values:
            en = ent.values[f"{key}_en"]
            ent.values[f"{key}_zh"] = ZH_NAMES.get(en, en)
            ent.values[key] = ent.values[f"{key}_zh"] if lang == "zh" else en
    winner = campaigns[campaigns.kind == "ab_winner"]
    ent.values["campaign_ab"] = winner.iloc[0]["name"]
    ent.ids["campaign_ab"] = int(winner.iloc[0]["id"])
    other = campaigns[campaigns.kind.isna()]
    ent.values["campaign"] = other.iloc[0]["name"]
    ent.ids["campaign"] = int(other.iloc[0]["id"])
    if persona.role == "rep":
        ent.values["rep"] = persona.user_name
        ent.ids["rep"] = persona.user_id
    else:
        team_reps = reps if persona.team in (None, "Sales", "Support") else reps[reps.team == persona.team]
        script_reps = team_reps[team_reps.name.map(_is_cjk if lang == "zh" else (lambda n: not _is_cjk(n)))]
        row = (script_reps if len(script_reps) else team_reps).iloc[0]
        ent.values["rep"] = row["name"]
        ent.ids["rep"] = int(row["id"])
    # A customer the write questions may hand to {rep}: one the rep does not own yet.
    target = ok[(ok.owner_id != ent.ids["rep"]) & ok.name.map(_is_cjk if lang == "zh" else (lambda n: not _is_cjk(n)))]
    if len(target):
        ent.values["assign_target"] = target.iloc[min(3, len(target) - 1)]["name"]
        ent.ids["assign_target"] = int(target.iloc[min(3, len(target) - 1)]["id"])
    ent.values["amb_zh"] = "王芳"
    ent.values["amb_en"] = "Wang Fang"
    return ent
