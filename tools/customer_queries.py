"""Small query pieces shared by the customer, order and action tools."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from storage.models import NON_REVENUE_STATUSES, CustomerTag, Order, StaffUser

POOL_LABEL = "public pool"
POOL_LABEL_ZH = "公海"


def is_revenue(status_column=Order.status):
    return status_column.not_in(NON_REVENUE_STATUSES)


def staff_names(conn: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(conn.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(wanted))).all())


def tags_for(conn: Connection, customer_ids: Iterable[int]) -> dict[int, list[str]]:
    wanted = sorted(set(customer_ids))
    out: dict[int, list[str]] = {cid: [] for cid in wanted}
    if not wanted:
        return out
    rows = conn.execute(
        select(CustomerTag.customer_id, CustomerTag.tag).where(CustomerTag.customer_id.in_(wanted)).order_by(CustomerTag.tag)
    ).all()
    for cid, tag in rows:
        out[cid].append(tag)
    return out


def order_totals(conn: Connection, customer_ids: Iterable[int], *, before: datetime) -> dict[int, dict]:
    """Lifetime revenue, revenue orders and last order per customer (covering index on orders)."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(
            Order.customer_id,
            func.sum(Order.total_amount),
            func.count(Order.id),
            func.min(Order.ordered_at),
            func.max(Order.ordered_at),
        )
        .where(Order.customer_id.in_(wanted), Order.ordered_at < before, is_revenue())
        .group_by(Order.customer_id)
    ).all()
    return {r[0]: {"spend": float(r[1] or 0.0), "orders": int(r[2]), "first": r[3], "last": r[4]} for r in rows}


def age_on(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


# Chinese spellings of the places the data stores in English, so 上海 finds Shanghai.
PLACE_ALIASES = {
    "上海": "Shanghai",
    "北京": "Beijing",
    "深圳": "Shenzhen",
    "广州": "Guangzhou",
    "杭州": "Hangzhou",
    "成都": "Chengdu",
    "南京": "Nanjing",
    "武汉": "Wuhan",
    "西安": "Xi'an",
    "重庆": "Chongqing",
    "苏州": "Suzhou",
    "天津": "Tianjin",
    "纽约": "New York",
    "伦敦": "London",
    "洛杉矶": "Los Angeles",
    "旧金山": "San Francisco",
    "芝加哥": "Chicago",
    "华东": "East China",
    "华北": "North China",
    "华南": "South China",
    "华西": "West China",
    "西部": "West China",
    "美东": "US East",
    "美西": "US West",
    "英国": "United Kingdom",
    "中国": "China",
    "美国": "United States",
}


def place_values(value: str) -> list[str]:
    """Spellings to match with IN (keeps the column's index usable, unlike lower(column) = …)."""
    v = PLACE_ALIASES.get(value.strip(), value.strip())
    return sorted({v, v.lower(), v.upper(), v.title(), " ".join(w[:1].upper() + w[1:] for w in v.split())})


def snapshot_state(conn: Connection, *, now: datetime) -> str:
    """'fresh', 'stale' or 'missing' in two indexed lookups (no COUNT over orders).

    Fresh: the latest refresh was computed for a moment at most a day before ``now``
    and no order has been added since (same max order id). The full check with order
    counts lives in tools.feature_source; this one is for per-call hot paths.
    """
    from datetime import timedelta

    from storage.models.features import FeatureRefresh

    latest = conn.execute(
        select(FeatureRefresh.as_of, FeatureRefresh.max_order_id).where(FeatureRefresh.finished_at.is_not(None))
        .order_by(FeatureRefresh.id.desc()).limit(1)
    ).first()
    if latest is None:
        return "missing"
    max_id = conn.execute(select(func.max(Order.id))).scalar() or 0
    if max_id == latest.max_order_id and latest.as_of <= now and now - latest.as_of <= timedelta(days=1):
        return "fresh"
    return "stale"
