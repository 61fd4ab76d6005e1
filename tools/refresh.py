"""``crm refresh``: compute the per-customer feature snapshot that read tools answer from.

Phases: fingerprint → aggregates → rfm → cadence → churn → clv → write.

- *Unchanged*: same order data and same "now" as the last refresh → nothing is
  recomputed; a new refresh row records the check.
- *Incremental*: orders were only appended since the last refresh → lifetime
  aggregates are recomputed just for the customers with new orders; the model phases
  run again (they score against "now"; the model functions cache their fitted state
  by data fingerprint, so a refit happens only when the data changed).
- *Full*: first run, ``full=True``, or orders changed in place (a status flip, a
  deletion) → everything is recomputed.

Only rows that changed are rewritten, and the new rows plus their ``feature_refresh``
row commit in one transaction, so readers see either the old snapshot or the new one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sqlalchemy import case, delete, func, inspect, select
from sqlalchemy.engine import Connection, Engine

from storage.db import engine_for, get_engine
from storage.importers.bulk import insert_columns
from storage.models import NON_REVENUE_STATUSES, Order, utcnow
from storage.models.features import CustomerFeatures, FeatureRefresh, MetricsRollup
from tools.errors import ToolError
from tools.metrics.rollups import (
    ROLLUPS,
    ROLLUPS_VERSION,
    build_rollups,
    month_start,
    read_orders,
    rollup_columns,
)

log = logging.getLogger(__name__)

PHASES = ("fingerprint", "aggregates", "rfm", "cadence", "churn", "clv", "rollups", "write")
# Contract with the analytics engineers: module, function, extra kwargs, columns it provides.
MODEL_PHASES = (
    ("rfm", "tools.segmentation", "compute_rfm", {},
     ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment", "value_tier", "cluster")),
    ("cadence", "tools.cadence", "compute_cadence", {},
     ("first_order_at", "last_order_at", "orders", "usual_gap_days", "days_since_last", "spend_90d", "spend_prev_90d",
      "orders_90d", "orders_prev_90d")),
    ("churn", "tools.churn", "compute_churn_scores", {}, ("churn_probability", "churn_reasons")),
    ("clv", "tools.clv", "compute_clv", {"horizon_months": 12}, ("p_alive", "expected_purchases", "clv")),
)
AGGREGATE_COLUMNS = ("lifetime_spend", "lifetime_orders", "returned_orders")
FEATURE_COLUMNS = AGGREGATE_COLUMNS + tuple(c for *_, cols in MODEL_PHASES for c in cols)
_INT_COLUMNS = {"lifetime_orders", "returned_orders", "frequency", "r_score", "f_score", "m_score", "cluster", "orders",
                "orders_90d", "orders_prev_90d"}
_TIME_COLUMNS = {"first_order_at", "last_order_at"}

SEGMENT_DIMS = {"segment", "value_tier"}

Progress = Callable[[str, str], None]  # (phase, status message)


class RefreshError(ToolError):
    code = "refresh_failed"


class RefreshReport(BaseModel):
    refresh_id: int
    mode: Literal["full", "incremental", "unchanged"]
    as_of: datetime
    fingerprint: str
    customers: int
    changed_customers: int
    phases: dict[str, float | str]
    seconds: float


def refresh_features(
    *,
    url: str | None = None,
    now: datetime | None = None,
    full: bool = False,
    allow_partial: bool = False,
    progress: Progress | None = None,
) -> RefreshReport:
    """Compute and atomically store the feature snapshot as of ``now`` (default: the wall clock)."""
    engine = engine_for(url) if url else get_engine()
    now = now or utcnow()
    tell = progress or (lambda phase, msg: None)
    if not inspect(engine).has_table(CustomerFeatures.__tablename__):
        raise RefreshError("the database has no feature tables", hint="run `crm db upgrade` (or `crm demo`) first")
    started, t0 = utcnow(), time.perf_counter()
    phases: dict[str, float | str] = {}

    tick = time.perf_counter()
    stats = _order_stats(engine)
    previous = _latest(engine)
    phases["fingerprint"] = round(time.perf_counter() - tick, 3)
    tell("fingerprint", f"{stats['count']:,} orders, fingerprint {stats['fingerprint']}")
    if not full and previous is not None and previous.data_fingerprint == stats["fingerprint"] and previous.as_of == now:
        phases["rollups_version"] = (previous.phases or {}).get("rollups_version", "")
        with engine.begin() as conn:
            rid = _record(conn, started, now, stats, "unchanged", previous.customers, 0, phases, previous.rollups_until)
        tell("write", "snapshot already up to date")
        return RefreshReport(refresh_id=rid, mode="unchanged", as_of=now, fingerprint=stats["fingerprint"],
                             customers=previous.customers, changed_customers=0, phases=phases,
                             seconds=round(time.perf_counter() - t0, 3))

    # Only appends since last time iff the orders it saw (ids up to its max) still hash the same.
    appended_only = (
        not full
        and previous is not None
        and _order_stats(engine, upto=previous.max_order_id)["fingerprint"] == previous.data_fingerprint
    )
    # A full refresh replaces every row, so it need not read (and diff against) the old snapshot.
    old = _read_snapshot(engine) if appended_only else _normalise(pd.DataFrame(index=pd.Index([], name="customer_id")))
    mode: Literal["full", "incremental"] = "incremental" if (appended_only and not old.empty) else "full"

    tick = time.perf_counter()
    # Orders up to and including "now", like a tool's period (whose end is now + 1 µs).
    cutoff = now + timedelta(microseconds=1)
    order_frame = None
    if mode == "incremental":
        changed_ids = _customers_with_orders_after(engine, previous.max_order_id)
        fresh = _aggregates(engine, now=cutoff, customer_ids=changed_ids)
        base = old[list(AGGREGATE_COLUMNS)].copy()
        base = base[~base.index.isin(fresh.index)]
        aggregates = pd.concat([base, fresh]).sort_index()
        tell("aggregates", f"recomputed for {len(changed_ids):,} customers with new orders")
    else:
        # One read of the orders serves both the lifetime aggregates and the metrics rollups.
        order_frame = read_orders(engine, before=cutoff)
        aggregates = _aggregates_from(order_frame)
        tell("aggregates", f"computed for {len(aggregates):,} customers")
    phases["aggregates"] = round(time.perf_counter() - tick, 3)

    frame = aggregates
    for phase, module, fn_name, kwargs, columns in MODEL_PHASES:
        tick = time.perf_counter()
        fn = _load(module, fn_name)
        if fn is None:
            if not allow_partial:
                raise RefreshError(
                    f"{module}.{fn_name} is not available yet, so the {phase} features cannot be computed",
                    hint="install the missing analytics module, or run `crm refresh --partial` to leave those columns empty",
                )
            phases[phase] = "missing"
            tell(phase, "missing (columns left empty)")
            continue
        part = fn(engine, now=now, **kwargs)
        part = part.set_index("customer_id")[[c for c in columns if c in part.columns]]
        frame = frame.join(part, how="outer")
        phases[phase] = round(time.perf_counter() - tick, 3)
        tell(phase, f"{len(part):,} customers in {phases[phase]:.1f}s")

    frame = _normalise(frame)
    tick = time.perf_counter()
    segments = frame[["rfm_segment", "value_tier"]]
    if order_frame is None and _appends_since(engine, previous, now):
        # Only appends since the last refresh: rebuild the months from the last rollup month on, plus the
        # rollups keyed by segment (segments move every refresh), and keep the older months as they are.
        since = month_start(previous.rollups_until)
        recent = build_rollups(engine, orders=read_orders(engine, before=cutoff, since=since), until=cutoff, since=since,
                               segments=segments, only={r.name for r in ROLLUPS if not set(r.dims) & SEGMENT_DIMS})
        keyed = build_rollups(engine, orders=read_orders(engine, before=cutoff), until=cutoff, segments=segments,
                              only={r.name for r in ROLLUPS if set(r.dims) & SEGMENT_DIMS})
        rollups, replace_from = pd.concat([recent, keyed], ignore_index=True), since
    else:
        order_frame = order_frame if order_frame is not None else read_orders(engine, before=cutoff)
        rollups, replace_from = build_rollups(engine, orders=order_frame, until=cutoff, segments=segments), None
    phases["rollups"] = round(time.perf_counter() - tick, 3)
    phases["rollups_version"] = ROLLUPS_VERSION
    tell("rollups", f"{len(rollups):,} monthly rollup rows" + (f" from {replace_from:%Y-%m}" if replace_from else ""))

    tick = time.perf_counter()
    changed = _changed_ids(old, frame)
    removed = sorted(set(old.index) - set(frame.index))
    with engine.begin() as conn:  # one transaction: readers see the old snapshot or the new one, never a mix
        _write(conn, frame, changed=changed, removed=removed, now=now, stats=stats, replace_all=mode == "full")
        table = MetricsRollup.__table__
        if replace_from is None:
            conn.execute(delete(table))
        else:
            keyed_names = [r.name for r in ROLLUPS if set(r.dims) & SEGMENT_DIMS]
            conn.execute(delete(table).where((table.c.month >= f"{replace_from:%Y-%m}") | table.c.rollup.in_(keyed_names)))
        if not rollups.empty:
            insert_columns(conn, MetricsRollup.__table__, rollup_columns(rollups))
        phases["write"] = round(time.perf_counter() - tick, 3)
        rid = _record(conn, started, now, stats, mode, len(frame), len(changed), phases, cutoff)
    tell("write", f"{len(changed):,} rows changed")
    return RefreshReport(refresh_id=rid, mode=mode, as_of=now, fingerprint=stats["fingerprint"], customers=len(frame),
                         changed_customers=len(changed), phases=phases, seconds=round(time.perf_counter() - t0, 3))


def _load(module: str, name: str):
    try:
        return getattr(__import__(module, fromlist=[name]), name)
    except (ImportError, AttributeError):
        log.info("%s.%s is not available", module, name)
        return None


def _order_stats(engine: Engine, *, upto: int | None = None) -> dict:
    nonrev = func.sum(case((Order.status.in_(NON_REVENUE_STATUSES), 1), else_=0))
    stmt = select(func.count(Order.id), func.max(Order.id), func.sum(Order.total_amount), nonrev)
    if upto is not None:
        stmt = stmt.where(Order.id <= upto)
    with engine.connect() as conn:
        count, max_id, total, bad = conn.execute(stmt).one()
    raw = f"{count}:{max_id or 0}:{round(float(total or 0.0), 2)}:{bad or 0}"
    return {"count": int(count), "max_id": int(max_id or 0), "fingerprint": hashlib.sha1(raw.encode()).hexdigest()[:16]}


def _latest(engine: Engine) -> FeatureRefresh | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(FeatureRefresh).where(FeatureRefresh.finished_at.is_not(None), FeatureRefresh.mode != "failed")
            .order_by(FeatureRefresh.id.desc()).limit(1)
        ).first()
    return FeatureRefresh.model_validate(row._mapping) if row else None


def _customers_with_orders_after(engine: Engine, after_id: int) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(Order.customer_id).where(Order.id > after_id).distinct())]


def _aggregates(engine: Engine, *, now: datetime, customer_ids: list[int] | None = None) -> pd.DataFrame:
    revenue = Order.status.not_in(NON_REVENUE_STATUSES)
    stmt = (
        select(
            Order.customer_id,
            func.sum(case((revenue, Order.total_amount), else_=0.0)),
            func.sum(case((revenue, 1), else_=0)),
            func.sum(case((Order.status == "returned", 1), else_=0)),
        )
        .where(Order.ordered_at < now)
        .group_by(Order.customer_id)
    )
    frames = []
    with engine.connect() as conn:
        chunks = [None] if customer_ids is None else [customer_ids[i : i + 5000] for i in range(0, len(customer_ids), 5000)]
        for chunk in chunks:
            q = stmt if chunk is None else stmt.where(Order.customer_id.in_(chunk))
            frames.append(pd.DataFrame(conn.execute(q).all(), columns=["customer_id", *AGGREGATE_COLUMNS]))
    out = pd.concat(frames) if frames else pd.DataFrame(columns=["customer_id", *AGGREGATE_COLUMNS])
    out = out.astype({"customer_id": "int64", "lifetime_spend": "float64"}).set_index("customer_id")
    out["lifetime_spend"] = out["lifetime_spend"].round(2)
    return out


def _appends_since(engine: Engine, previous: FeatureRefresh | None, now: datetime) -> bool:
    """True when the rollups of the last refresh can be kept up to its last month: every new order is dated on/after it."""
    if previous is None or previous.rollups_until is None or previous.rollups_until > now:
        return False
    if (previous.phases or {}).get("rollups_version") != ROLLUPS_VERSION:
        return False
    with engine.connect() as conn:
        earliest = conn.execute(select(func.min(Order.ordered_at)).where(Order.id > previous.max_order_id)).scalar()
    return earliest is None or earliest >= month_start(previous.rollups_until)


def _aggregates_from(orders: pd.DataFrame) -> pd.DataFrame:
    revenue = ~orders["status"].isin(NON_REVENUE_STATUSES)
    work = pd.DataFrame({
        "customer_id": orders["customer_id"].astype("int64"),
        "lifetime_spend": orders["total"].where(revenue, 0.0).astype("float64"),
        "lifetime_orders": revenue.astype("int64"),
        "returned_orders": (orders["status"] == "returned").astype("int64"),
    })
    out = work.groupby("customer_id").sum()
    out["lifetime_spend"] = out["lifetime_spend"].round(2)
    return out


def _read_snapshot(engine: Engine) -> pd.DataFrame:
    cols = [CustomerFeatures.customer_id, *[getattr(CustomerFeatures, c) for c in FEATURE_COLUMNS]]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols)).all()
    frame = pd.DataFrame(rows, columns=["customer_id", *FEATURE_COLUMNS]).set_index("customer_id")
    return _normalise(frame)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes whether read back from the database or freshly computed, so diffs are exact."""
    frame = frame.copy()
    for col in FEATURE_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    frame = frame[list(FEATURE_COLUMNS)]
    for col in FEATURE_COLUMNS:
        s = frame[col]
        if col in _TIME_COLUMNS:
            frame[col] = pd.to_datetime(s).astype("datetime64[us]").dt.floor("s")
        elif col == "churn_reasons":
            frame[col] = [list(v) if isinstance(v, list | tuple | np.ndarray) else None for v in s]
        elif col in ("rfm_segment", "value_tier"):
            frame[col] = s.astype(object).where(s.notna(), None)
        elif col in _INT_COLUMNS:
            frame[col] = pd.to_numeric(s, errors="coerce").round().astype("Int64")
        else:
            frame[col] = pd.to_numeric(s, errors="coerce").astype("float64").round(6)
    frame.index = frame.index.astype("int64")
    return frame.sort_index()


def _changed_ids(old: pd.DataFrame, new: pd.DataFrame) -> list[int]:
    if old.empty:
        return list(new.index)
    common = new.index.intersection(old.index)
    added = new.index.difference(old.index)
    a, b = new.loc[common], old.loc[common]
    differs = pd.Series(False, index=common)
    for col in FEATURE_COLUMNS:
        x, y = a[col], b[col]
        if col == "churn_reasons":
            differs |= pd.Series([xv != yv for xv, yv in zip(x, y, strict=True)], index=common)
        elif x.dtype == "float64":
            both_nan = x.isna() & y.isna()
            differs |= ~(both_nan | (np.abs(x.fillna(0) - y.fillna(0)) <= 1e-6) & (x.isna() == y.isna()))
        else:
            eq = (x == y).fillna(False).astype(bool) | (x.isna() & y.isna())
            differs |= ~eq
    return sorted([*added.tolist(), *differs[differs].index.tolist()])


def _write(
    conn: Connection, frame: pd.DataFrame, *, changed: list[int], removed: list[int], now: datetime, stats: dict,
    replace_all: bool = False,
) -> None:
    rows = frame.loc[changed]
    table = CustomerFeatures.__table__
    data: dict[str, list] = {"customer_id": [int(i) for i in rows.index]}
    data["computed_at"] = [now] * len(rows)
    data["data_fingerprint"] = [stats["fingerprint"]] * len(rows)
    for col in FEATURE_COLUMNS:
        values = rows[col].tolist()
        if col in _TIME_COLUMNS:
            data[col] = [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in values]
        else:
            data[col] = [None if v is None or (not isinstance(v, list) and pd.isna(v)) else v for v in values]
    gone = [*changed, *removed]
    if replace_all or (len(gone) == len(frame) + len(removed) and len(gone) > 5000):
        conn.execute(delete(table))  # everything changes: one statement instead of chunks of IN (...)
    else:
        for i in range(0, len(gone), 5000):
            conn.execute(delete(table).where(table.c.customer_id.in_(gone[i : i + 5000])))
    insert_columns(conn, table, data)


def _record(conn: Connection, started, now, stats, mode, customers, changed, phases, rollups_until) -> int:
    result = conn.execute(
        FeatureRefresh.__table__.insert().values(
            started_at=started, finished_at=utcnow(), as_of=now, data_fingerprint=stats["fingerprint"],
            max_order_id=stats["max_id"], order_count=stats["count"], mode=mode, customers=customers,
            changed_customers=changed, phases=phases, rollups_until=rollups_until,
        )
    )
    return int(result.inserted_primary_key[0])
