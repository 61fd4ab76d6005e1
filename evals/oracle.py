"""Expected answers, computed by independent SQL on the eval database (never by calling a tool).

Each ``expect`` block of a question names a kind; ``expectation(...)`` turns it into
an ``Expectation``: numbers that must appear in the reply, texts or names that must
appear, or a property of the reply (a refusal, a clarifying question, a database
change after a write). Revenue means orders not returned or cancelled, summed from
``orders.total_amount`` (or ``order_line.amount`` when products are involved), in the
persona's scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from evals.fixtures import EVAL_TODAY, REVENUE_EXCLUDED, Entities, Persona
from evals.periods import resolve


@dataclass
class Expectation:
    numbers: list[tuple[float, str]] = field(default_factory=list)  # (value, kind: money|int|pct|float)
    texts: list[list[str]] = field(default_factory=list)  # each inner list: any one of these must appear
    names: list[str] = field(default_factory=list)
    min_recall: float = 1.0
    no_tool: bool = False
    clarify: bool = False
    error: str | None = None
    ask_back: bool = False
    db_check: Callable[[Engine], bool] | None = None
    excluded_names: list[str] = field(default_factory=list)
    nonempty_table: bool = False
    note: str = ""


_EXCLUDED = ",".join(f"'{s}'" for s in REVENUE_EXCLUDED)
_LINE_DIMS = {"category", "brand", "product"}
_ZH_STATUS = {"pending": "待", "paid": "已付款", "shipped": "已发货", "delivered": "已送达", "returned": "退货", "cancelled": "取消"}


def _period(spec: dict) -> tuple[str, str] | None:
    token = spec.get("period")
    if not token:
        return None
    start, end = resolve(token, EVAL_TODAY)
    end = min(end, EVAL_TODAY)
    return start.isoformat(), (end + timedelta(days=1)).isoformat()


def _frame(engine: Engine, sql: str, params: dict) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def expectation(kind: str, spec: dict, *, engine: Engine, persona: Persona, ent: Entities) -> Expectation:
    fn = _KINDS.get(kind)
    if fn is None:
        raise ValueError(f"unknown expect kind {kind!r}")
    return fn(_filled(spec, ent), engine, persona, ent)


def _filled(value: Any, ent: Entities) -> Any:
    """Placeholders in filter values ("{category_en}") become the picked entity; customer keys stay keys."""
    if isinstance(value, dict):
        return {k: (v if k in ("customer", "order", "campaign", "owner") else _filled(v, ent)) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, ent) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ent.values.get(value.strip("{}"), value)
    return value


_KINDS: dict[str, Callable[[dict, Engine, Persona, Entities], Expectation]] = {}


def kind(name: str):
    def wrap(fn):
        _KINDS[name] = fn
        return fn

    return wrap


# ---------------------------------------------------------------- metrics


_DIM_SQL = {
    "region": "c.region", "city": "c.city", "country": "c.country", "channel": "o.channel",
    "category": "p.category", "brand": "p.brand", "product": "p.name", "month": "substr(o.ordered_at, 1, 7)",
    "year": "substr(o.ordered_at, 1, 4)", "owner": "COALESCE(s.name, 'public pool')", "gender": "c.gender",
}  # fmt: skip


def metric_frame(spec: dict, engine: Engine, persona: Persona) -> pd.DataFrame:
    measure = spec["measure"]
    by = spec.get("by")
    filters = spec.get("filters") or {}
    line_level = by in _LINE_DIMS or bool(set(filters) & _LINE_DIMS) or measure == "units"
    where = [persona.customer_filter("c")]
    params: dict[str, Any] = {}
    period = _period(spec)
    if period:
        where.append("o.ordered_at >= :start AND o.ordered_at < :end")
        params.update(start=period[0], end=period[1])
    for i, (dim, value) in enumerate(filters.items()):
        values = value if isinstance(value, list) else [value]
        names = [f":f{i}_{j}" for j in range(len(values))]
        where.append(f"{_DIM_SQL[dim]} IN ({', '.join(names)})")
        params.update({n[1:]: v for n, v in zip(names, values, strict=True)})
    group = _DIM_SQL[by] if by else "'all'"
    revenue_cond = f"o.status NOT IN ({_EXCLUDED})"
    amount = "l.amount" if line_level else "o.total_amount"
    select = {
        "revenue": f"SUM(CASE WHEN {revenue_cond} THEN {amount} ELSE 0 END)",
        "orders": f"COUNT(DISTINCT CASE WHEN {revenue_cond} THEN o.id END)",
        "units": f"SUM(CASE WHEN {revenue_cond} THEN l.quantity ELSE 0 END)",
        "customers": f"COUNT(DISTINCT CASE WHEN {revenue_cond} THEN o.customer_id END)",
        "returns": "COUNT(DISTINCT CASE WHEN o.status = 'returned' THEN o.id END)",
        "average_order_value": f"SUM(CASE WHEN {revenue_cond} THEN {amount} ELSE 0 END) * 1.0 / "
        f"NULLIF(COUNT(DISTINCT CASE WHEN {revenue_cond} THEN o.id END), 0)",
    }
    if measure == "new_customers":
        sql = f"""
            SELECT {group.replace('o.ordered_at', 'f.first_at')} AS label, COUNT(*) AS value FROM (
                SELECT o.customer_id, MIN(o.ordered_at) AS first_at FROM orders o WHERE {revenue_cond} GROUP BY o.customer_id
            ) f JOIN customer c ON c.id = f.customer_id
            WHERE {' AND '.join(w.replace('o.ordered_at', 'f.first_at') for w in where)}
            GROUP BY label
        """
    else:
        joins = "JOIN customer c ON c.id = o.customer_id LEFT JOIN staff_user s ON s.id = c.owner_id"
        if line_level:
            joins = "JOIN order_line l ON l.order_id = o.id JOIN product p ON p.id = l.product_id " + joins
        sql = f"SELECT {group} AS label, {select[measure]} AS value FROM orders o {joins} WHERE {' AND '.join(where)} GROUP BY label"
    frame = _frame(engine, sql, params)
    frame = frame[frame["value"].notna()]
    if measure == "revenue":
        frame["value"] = frame["value"].round(2)
    ascending = spec.get("order") == "asc"
    if by in ("month", "year"):
        frame = frame.sort_values("label")
    else:
        frame = frame.sort_values(["value", "label"], ascending=[ascending, True])
    if spec.get("top"):
        frame = frame.head(int(spec["top"]))
    return frame


_MEASURE_KIND = {"revenue": "money", "average_order_value": "money", "orders": "int", "units": "int",
                 "customers": "int", "new_customers": "int", "returns": "int"}  # fmt: skip


@kind("metric")
def _metric(spec, engine, persona, ent) -> Expectation:
    frame = metric_frame(spec, engine, persona)
    exp = Expectation()
    vkind = _MEASURE_KIND[spec["measure"]]
    if spec.get("by"):
        rows = frame.head(int(spec.get("check_rows", 3)))
        exp.numbers = [(float(v), vkind) for v in rows["value"]]
        exp.names = [str(rows.iloc[0]["label"])] if spec["by"] not in ("month", "year") and len(rows) else []
    else:
        exp.numbers = [(float(frame["value"].sum()), vkind)] if len(frame) else [(0.0, vkind)]
    return exp


# ---------------------------------------------------------------- one customer


def _customer_id(ent: Entities, spec: dict) -> int:
    return ent.ids[spec["customer"].strip("{}")]


@kind("purchases")
def _purchases(spec, engine, persona, ent) -> Expectation:
    cid = _customer_id(ent, spec)
    params: dict[str, Any] = {"cid": cid}
    where = ["o.customer_id = :cid", f"o.status NOT IN ({_EXCLUDED})"]
    if period := _period(spec):
        where.append("o.ordered_at >= :start AND o.ordered_at < :end")
        params.update(start=period[0], end=period[1])
    line = bool(spec.get("category") or spec.get("brand"))
    if line:
        for key in ("category", "brand"):
            if spec.get(key):
                where.append(f"p.{key} = :{key}")
                params[key] = spec[key]
        sql = ("SELECT SUM(l.amount) AS revenue, COUNT(DISTINCT o.id) AS n FROM orders o JOIN order_line l ON l.order_id = o.id "
               f"JOIN product p ON p.id = l.product_id WHERE {' AND '.join(where)}")  # fmt: skip
    else:
        sql = f"SELECT SUM(o.total_amount) AS revenue, COUNT(*) AS n FROM orders o WHERE {' AND '.join(where)}"
    row = _frame(engine, sql, params).iloc[0]
    exp = Expectation()
    revenue = round(float(row["revenue"] or 0.0), 2)
    # Nothing bought in the window: the answer says so in words; there is no figure to find.
    exp.numbers = [(revenue, "money")] if revenue else []
    return exp


@kind("profile")
def _profile(spec, engine, persona, ent) -> Expectation:
    cid = _customer_id(ent, spec)
    row = _frame(engine, f"SELECT SUM(total_amount) AS spend, COUNT(*) AS n FROM orders WHERE customer_id = :cid "
                         f"AND status NOT IN ({_EXCLUDED})", {"cid": cid}).iloc[0]  # fmt: skip
    field_ = spec.get("field", "spend")
    exp = Expectation()
    if field_ == "spend":
        exp.numbers = [(round(float(row["spend"] or 0.0), 2), "money")]
    elif field_ == "orders":
        exp.numbers = [(float(row["n"]), "int")]
    else:
        value = _frame(engine, f"SELECT {field_} AS v FROM customer WHERE id = :cid", {"cid": cid}).iloc[0]["v"]
        exp.texts = [[str(value)]]
    return exp


@kind("order_status")
def _order_status(spec, engine, persona, ent) -> Expectation:
    key = spec.get("order", "{order}").strip("{}")
    status = _frame(engine, "SELECT status FROM orders WHERE id = :id", {"id": ent.ids[key]}).iloc[0]["status"]
    return Expectation(texts=[[status, _ZH_STATUS.get(status, status)]])


@kind("interactions")
def _interactions(spec, engine, persona, ent) -> Expectation:
    cid = _customer_id(ent, spec)
    latest = _frame(engine, "SELECT occurred_at FROM interaction WHERE customer_id = :cid ORDER BY occurred_at DESC LIMIT 1",
                    {"cid": cid})  # fmt: skip
    exp = Expectation(nonempty_table=True)
    if len(latest):
        exp.texts = [[str(latest.iloc[0]["occurred_at"])[:10]]]
    return exp


@kind("preferences")
def _preferences(spec, engine, persona, ent) -> Expectation:
    cid = _customer_id(ent, spec)
    frame = _frame(engine, f"""SELECT p.category AS label, SUM(l.amount) AS value FROM orders o JOIN order_line l ON l.order_id = o.id
        JOIN product p ON p.id = l.product_id WHERE o.customer_id = :cid AND o.status NOT IN ({_EXCLUDED})
        GROUP BY p.category ORDER BY value DESC""", {"cid": cid})  # fmt: skip
    return Expectation(names=[str(frame.iloc[0]["label"])] if len(frame) else [])


@kind("cross_sell")
def _cross_sell(spec, engine, persona, ent) -> Expectation:
    cid = _customer_id(ent, spec)
    owned = _frame(engine, "SELECT DISTINCT p.name FROM orders o JOIN order_line l ON l.order_id = o.id JOIN product p "
                           "ON p.id = l.product_id WHERE o.customer_id = :cid", {"cid": cid})  # fmt: skip
    return Expectation(nonempty_table=True, excluded_names=list(owned["name"]))


# ---------------------------------------------------------------- many customers


@kind("planted")
def _planted(spec, engine, persona, ent) -> Expectation:
    frame = _frame(engine, f"SELECT c.name FROM demo_truth t JOIN customer c ON c.id = t.subject_id "
                           f"WHERE t.kind = :kind AND {persona.customer_filter('c')}", {"kind": spec["truth"]})  # fmt: skip
    return Expectation(names=list(frame["name"]), min_recall=float(spec.get("min_recall", 0.8)))


@kind("count_customers")
def _count_customers(spec, engine, persona, ent) -> Expectation:
    where = [persona.customer_filter("c")]
    params: dict[str, Any] = {}
    for key in ("city", "region", "country", "loyalty_tier"):
        if spec.get(key):
            where.append(f"c.{key} = :{key}")
            params[key] = spec[key]
    if spec.get("pool"):
        where.append("c.owner_id IS NULL")
    if spec.get("owner") == "me":
        where.append(f"c.owner_id = {persona.user_id}")
    if spec.get("tag"):
        where.append("c.id IN (SELECT customer_id FROM customer_tag WHERE tag = :tag)")
        params["tag"] = spec["tag"]
    n = _frame(engine, f"SELECT COUNT(*) AS n FROM customer c WHERE {' AND '.join(where)}", params).iloc[0]["n"]
    return Expectation(numbers=[(float(n), "int")])


@kind("segment_size")
def _segment_size(spec, engine, persona, ent) -> Expectation:
    column, value = ("rfm_segment", spec["segment"]) if spec.get("segment") else ("value_tier", spec["tier"])
    n = _frame(engine, f"SELECT COUNT(*) AS n FROM customer_features f JOIN customer c ON c.id = f.customer_id "
                       f"WHERE f.{column} = :v AND {persona.customer_filter('c')}", {"v": value}).iloc[0]["n"]  # fmt: skip
    return Expectation(numbers=[(float(n), "int")])


@kind("top_feature")
def _top_feature(spec, engine, persona, ent) -> Expectation:
    column = spec["column"]
    n = int(spec.get("top", 5))
    owner = f"AND c.owner_id = {persona.user_id}" if spec.get("owner") == "me" else ""
    frame = _frame(engine, f"SELECT c.name FROM customer_features f JOIN customer c ON c.id = f.customer_id "
                           f"WHERE f.{column} IS NOT NULL AND {persona.customer_filter('c')} {owner} "
                           f"ORDER BY f.{column} DESC, c.id LIMIT {n}", {})  # fmt: skip
    return Expectation(names=list(frame["name"]), min_recall=float(spec.get("min_recall", 0.6)))


@kind("pipeline")
def _pipeline(spec, engine, persona, ent) -> Expectation:
    where = [persona.customer_filter("c")]
    params: dict[str, Any] = {}
    owner = spec.get("owner")
    if owner == "me":
        where.append(f"o.owner_id = {persona.user_id}")
    elif owner:
        where.append("o.owner_id = :owner")
        params["owner"] = ent.ids[owner.strip("{}")]
    frame = _frame(engine, f"SELECT o.stage, SUM(o.amount) AS amount, COUNT(*) AS n FROM opportunity o "
                           f"JOIN customer c ON c.id = o.customer_id WHERE {' AND '.join(where)} GROUP BY o.stage", params)  # fmt: skip
    stages = dict(zip(frame["stage"], frame["amount"], strict=True))
    counts = dict(zip(frame["stage"], frame["n"], strict=True))
    open_amount = sum(v for s, v in stages.items() if s not in ("won", "lost"))
    exp = Expectation()
    if spec.get("measure") == "win_rate":
        won, lost = counts.get("won", 0), counts.get("lost", 0)
        exp.numbers = [(won / (won + lost) if won + lost else 0.0, "pct")]
    else:
        exp.numbers = [(round(float(open_amount), 2), "money")]
    return exp


@kind("campaign")
def _campaign(spec, engine, persona, ent) -> Expectation:
    cid = ent.ids[spec.get("campaign", "{campaign_ab}").strip("{}")]
    exp = Expectation()
    if spec.get("measure") == "variants":
        frame = _frame(engine, "SELECT t.variant, COUNT(*) AS sent, SUM(CASE WHEN t.converted THEN 1 ELSE 0 END) AS conv "
                               "FROM campaign_touch t JOIN customer c ON c.id = t.customer_id WHERE t.campaign_id = :c "
                               f"AND {persona.customer_filter('c')} GROUP BY t.variant", {"c": cid})  # fmt: skip
        exp.numbers = [(float(r["conv"]) / float(r["sent"]), "pct") for _, r in frame.iterrows() if r["sent"]]
        return exp
    row = _frame(engine, "SELECT COUNT(*) AS sent, SUM(CASE WHEN t.converted THEN 1 ELSE 0 END) AS conv FROM campaign_touch t "
                         f"JOIN customer c ON c.id = t.customer_id WHERE t.campaign_id = :c AND {persona.customer_filter('c')}",
                 {"c": cid}).iloc[0]  # fmt: skip
    exp.numbers = [(float(row["conv"]) / float(row["sent"]) if row["sent"] else 0.0, "pct")]
    return exp


@kind("vip_count")
def _vip_count(spec, engine, persona, ent) -> Expectation:
    n = _frame(engine, f"SELECT COUNT(*) AS n FROM customer_features f JOIN customer c ON c.id = f.customer_id "
                       f"WHERE f.value_tier = 'vip' AND {persona.customer_filter('c')}", {}).iloc[0]["n"]  # fmt: skip
    return Expectation(numbers=[(float(n), "int")])


def today() -> date:
    return EVAL_TODAY


# Replies without data (refusals, clarifications, errors) and writes register themselves on import.
from evals import oracle_replies  # noqa: E402, F401
