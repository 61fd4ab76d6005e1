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

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.engine import Connection, Engine

from storage.db import engine_for, get_engine
from storage.importers.bulk import bulk_write, insert_columns
from storage.index_rebuild import indexes_rebuilt
from storage.models import Order, utcnow
from storage.models.features import CustomerFeatures, FeatureRefresh, MetricsRollup
from tools.errors import ToolError
from tools.line_frames import adopt_lines
from tools.line_prefetch import LinesRead
from tools.metrics.rollup_build import build_rollups, orders_frame, rollup_columns
from tools.metrics.rollups import ROLLUPS, ROLLUPS_VERSION, month_start
from tools.order_frames import OrderBook, order_book, order_stats, pinned_fingerprint, to_ms
from tools.second_process import SECOND_PROCESS_MIN_ORDERS, Elsewhere, can_share
from tools.snapshot_rows import (
    AGGREGATE_COLUMNS,
    FEATURE_COLUMNS,
    changed_ids,
    normalise,
    read_snapshot,
    write_rows,
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
# The aggregates computed here, then the model phases' columns: together, every stored feature column.
if AGGREGATE_COLUMNS + tuple(c for *_, cols in MODEL_PHASES for c in cols) != FEATURE_COLUMNS:
    raise ImportError("MODEL_PHASES and the customer_features columns disagree")  # a contract, checked at import

SEGMENT_DIMS = {"segment", "value_tier"}
SEGMENT_COLUMNS = ("rfm_segment", "value_tier")  # what the segment-keyed rollups read from the snapshot
# Rows written above which a table's secondary indexes are dropped and re-created (see storage.index_rebuild).
REBUILD_INDEXES_ROWS = 20_000
# Phases that a big book runs in a second process: churn trains a model on several past snapshots (the slowest).
SECOND_PROCESS_PHASES = frozenset({"churn"})

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
    stats = order_stats(engine)
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
        and order_stats(engine, upto=previous.max_order_id)["fingerprint"] == previous.data_fingerprint
    )
    # A full refresh replaces every row, so it need not read (and diff against) the old snapshot.
    old = read_snapshot(engine) if appended_only else normalise(pd.DataFrame(index=pd.Index([], name="customer_id")))
    mode: Literal["full", "incremental"] = "incremental" if (appended_only and not old.empty) else "full"

    # Orders up to and including "now", like a tool's period (whose end is now + 1 µs).
    cutoff = now + timedelta(microseconds=1)
    # Every phase reads the same data: the fingerprint is known, and the order book is read once here.
    since = _rollups_since(engine, previous, now) if mode == "incremental" else None
    big = stats["count"] >= SECOND_PROCESS_MIN_ORDERS
    jobs: list[Job] = []
    with ExitStack() as stack:
        # A big book's lines are read by a second process from the start (tools.line_prefetch).
        lines_read = stack.enter_context(LinesRead(engine, since=since, elsewhere=big and since is None))
        stack.enter_context(pinned_fingerprint(engine, stats["fingerprint"]))
        stack.callback(lambda: [job.close() for *_, job in jobs if job is not None])  # stop children on failure
        tick = time.perf_counter()
        book = order_book(engine, fingerprint=stats["fingerprint"])
        aggregates = _aggregates_from(book, before=cutoff)
        if mode == "incremental":
            touched = np.unique(book.customer_id[book.order_id > previous.max_order_id])
            tell("aggregates", f"recomputed for {len(touched):,} customers with new orders")
        else:
            tell("aggregates", f"computed for {len(aggregates):,} customers")
        phases["aggregates"] = round(time.perf_counter() - tick, 3)
        if big:
            tick = time.perf_counter()
            _preload()  # a forked child starts with these imports and this order book in memory
            phases["imports"] = round(time.perf_counter() - tick, 3)
        # The slowest phase now starts in a second process, beside the others (tools.second_process).
        jobs = _start_phases(engine, now=now, phases=phases, tell=tell, allow_partial=allow_partial,
                             fingerprint=stats["fingerprint"], big=big)
        frame = _finish_phases(engine, aggregates, jobs, now=now, phases=phases, tell=tell, away=False)
        # The rollups need the segments but not the phases computed elsewhere: built while those finish.
        tick = time.perf_counter()
        lines = lines_read.result()
        if since is None:
            adopt_lines(book, lines)  # a complete read: reports over any period can use it
        rollups = _rollups(engine, book, frame.reindex(columns=list(SEGMENT_COLUMNS)), lines=lines, cutoff=cutoff,
                           since=since)
        replace_from = since
        phases["rollups"] = round(time.perf_counter() - tick, 3)
        tell("rollups", f"{len(rollups):,} monthly rollup rows" + (f" from {since:%Y-%m}" if since else ""))
        frame = normalise(_finish_phases(engine, frame, jobs, now=now, phases=phases, tell=tell, away=True))
    phases["rollups_version"] = ROLLUPS_VERSION

    tick = time.perf_counter()
    changed = changed_ids(old, frame)
    removed = sorted(set(old.index) - set(frame.index))
    large = len(changed) + len(rollups) > 20_000
    # One transaction: readers see the old snapshot or the new one, never a mix. bulk_write takes the
    # write lock up front and, on SQLite, a large page cache so index pages are not evicted mid-insert.
    # Most rows rewritten: dropping a table's secondary indexes and re-creating them after is cheaper (SQLite).
    rebuild = [t for t, many in ((CustomerFeatures.__table__, len(changed) > REBUILD_INDEXES_ROWS),
                                 (MetricsRollup.__table__, replace_from is None and len(rollups) > REBUILD_INDEXES_ROWS))
               if many]
    with engine.begin() as conn, bulk_write(conn, [MetricsRollup.__table__, CustomerFeatures.__table__], large=large):
        with indexes_rebuilt(conn, rebuild):
            write_rows(conn, frame, changed=changed, removed=removed, now=now, stats=stats, replace_all=mode == "full")
            table = MetricsRollup.__table__
            if replace_from is None:
                conn.execute(delete(table))
            else:
                keyed_names = [r.name for r in ROLLUPS if set(r.dims) & SEGMENT_DIMS]
                conn.execute(delete(table).where((table.c.month >= f"{replace_from:%Y-%m}")
                                                 | table.c.rollup.in_(keyed_names)))
            if not rollups.empty:
                insert_columns(conn, MetricsRollup.__table__, rollup_columns(rollups))
        phases["write"] = round(time.perf_counter() - tick, 3)  # the commit's time is only in ``seconds``
        rid = _record(conn, started, now, stats, mode, len(frame), len(changed), phases, cutoff)
    tell("write", f"{len(changed):,} rows changed")
    return RefreshReport(refresh_id=rid, mode=mode, as_of=now, fingerprint=stats["fingerprint"], customers=len(frame),
                         changed_customers=len(changed), phases=phases, seconds=round(time.perf_counter() - t0, 3))


Job = tuple[str, object, dict, tuple, "Elsewhere | None"]  # phase, function, kwargs, columns, its second process


def _start_phases(engine: Engine, *, now: datetime, phases: dict, tell: Progress, allow_partial: bool,
                  fingerprint: str, big: bool) -> list[Job]:
    """The model phases to run, those of SECOND_PROCESS_PHASES already started elsewhere when the book is big."""
    jobs: list[Job] = []
    elsewhere = big and can_share(engine)
    url = engine.url.render_as_string(hide_password=False)
    for phase, module, fn_name, kwargs, columns in MODEL_PHASES:
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
        away = None
        if elsewhere and phase in SECOND_PROCESS_PHASES:
            away = Elsewhere(_timed_phase, module, fn_name, url, now, kwargs, fingerprint, elsewhere=True,
                             what=f"{phase} phase", fallback=lambda fn=fn, kwargs=kwargs: _timed(fn, engine, now, kwargs))
        jobs.append((phase, fn, kwargs, columns, away))
    return jobs


def _finish_phases(engine: Engine, frame: pd.DataFrame, jobs: list[Job], *, now: datetime, phases: dict,
                   tell: Progress, away: bool) -> pd.DataFrame:
    """Run the phases computed here (``away=False``), or collect those started elsewhere (``away=True``)."""
    for phase, fn, kwargs, columns, job in jobs:
        if (job is not None) != away:
            continue
        tick = time.perf_counter()
        if job is not None:
            spawned = job.spawned
            part, seconds = job.result()
            if spawned:  # what this process still waited for it, beside what it took over there
                phases[f"{phase}_wait"] = round(time.perf_counter() - tick, 3)
        else:
            spawned = False
            part, seconds = _timed(fn, engine, now, kwargs)
        part = part.set_index("customer_id")[[c for c in columns if c in part.columns]]
        frame = frame.join(part, how="outer")
        phases[phase] = round(seconds, 3)
        tell(phase, f"{len(part):,} customers in {seconds:.1f}s" + (" in a second process" if spawned else ""))
    return frame


def _preload() -> None:
    """Import what the model phases will import anyway, before a child is forked to share them."""
    import sklearn.cluster  # noqa: F401 - rfm's k-means
    import sklearn.ensemble  # noqa: F401 - churn's gradient boosting
    import sklearn.linear_model  # noqa: F401 - churn's logistic part

    from tools.clv_model import lifetimes

    lifetimes()  # BG/NBD (churn features, CLV)


def _timed(fn, engine: Engine, now: datetime, kwargs: dict) -> tuple[pd.DataFrame, float]:
    tick = time.perf_counter()
    return fn(engine, now=now, **kwargs), time.perf_counter() - tick


def _timed_phase(module: str, fn_name: str, url: str, now: datetime, kwargs: dict,
                 fingerprint: str) -> tuple[pd.DataFrame, float]:
    """In the second process: the phase on the same data version as the refresh that started it."""
    engine = engine_for(url)
    try:
        with pinned_fingerprint(engine, fingerprint):
            return _timed(_load(module, fn_name), engine, now, kwargs)
    finally:
        engine.dispose()


def _rollups(engine: Engine, book: OrderBook, frame: pd.DataFrame, *, lines: pd.DataFrame, cutoff: datetime,
             since: datetime | None) -> pd.DataFrame:
    """The rollup rows to write: all of them, or (``since``) the months from ``since`` on plus the segment-keyed ones."""
    segments = frame[list(SEGMENT_COLUMNS)]
    if since is None:
        return build_rollups(engine, orders=orders_frame(book, before=cutoff), lines=lines, segments=segments)
    # Only appends since the last refresh: rebuild the months from its last rollup month on, plus the
    # rollups keyed by segment (segments move every refresh), and keep the older months as they are.
    keyed_names = {r.name for r in ROLLUPS if set(r.dims) & SEGMENT_DIMS}
    recent = build_rollups(engine, orders=orders_frame(book, before=cutoff, since=since), lines=lines,
                           segments=segments, only={r.name for r in ROLLUPS} - keyed_names)
    keyed = build_rollups(engine, orders=orders_frame(book, before=cutoff), lines=None, segments=segments,
                          only=keyed_names)
    return pd.concat([recent, keyed], ignore_index=True)


def _load(module: str, name: str):
    try:
        return getattr(__import__(module, fromlist=[name]), name)
    except (ImportError, AttributeError):
        log.info("%s.%s is not available", module, name)
        return None


def _latest(engine: Engine) -> FeatureRefresh | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(FeatureRefresh).where(FeatureRefresh.finished_at.is_not(None), FeatureRefresh.mode != "failed")
            .order_by(FeatureRefresh.id.desc()).limit(1)
        ).first()
    return FeatureRefresh.model_validate(row._mapping) if row else None


def _rollups_since(engine: Engine, previous: FeatureRefresh | None, now: datetime) -> datetime | None:
    """The month from which rollups must be rebuilt when every order added since the last refresh is dated on or
    after that refresh's last rollup month (older months are kept); None when they must all be rebuilt."""
    if previous is None or previous.rollups_until is None or previous.rollups_until > now:
        return None
    if (previous.phases or {}).get("rollups_version") != ROLLUPS_VERSION:
        return None
    since = month_start(previous.rollups_until)
    with engine.connect() as conn:
        earliest = conn.execute(select(func.min(Order.ordered_at)).where(Order.id > previous.max_order_id)).scalar()
    return since if earliest is None or earliest >= since else None


def _aggregates_from(book: OrderBook, *, before: datetime) -> pd.DataFrame:
    """Lifetime spend and revenue orders (and returned orders) per customer with any order before ``before``."""
    keep = book.ms < to_ms(before)
    ids, owner = np.unique(book.customer_id[keep], return_inverse=True)
    revenue = book.revenue[keep]
    out = pd.DataFrame({
        "lifetime_spend": np.bincount(owner, weights=np.where(revenue, book.amount[keep], 0.0), minlength=len(ids)),
        "lifetime_orders": np.bincount(owner, weights=revenue, minlength=len(ids)).astype("int64"),
        "returned_orders": np.bincount(owner, weights=book.status_is("returned")[keep], minlength=len(ids)).astype("int64"),
    }, index=pd.Index(ids, name="customer_id"))
    out["lifetime_spend"] = out["lifetime_spend"].round(2)
    return out


def _record(conn: Connection, started, now, stats, mode, customers, changed, phases, rollups_until) -> int:
    result = conn.execute(
        FeatureRefresh.__table__.insert().values(
            started_at=started, finished_at=utcnow(), as_of=now, data_fingerprint=stats["fingerprint"],
            max_order_id=stats["max_id"], order_count=stats["count"], mode=mode, customers=customers,
            changed_customers=changed, phases=phases, rollups_until=rollups_until,
        )
    )
    return int(result.inserted_primary_key[0])
