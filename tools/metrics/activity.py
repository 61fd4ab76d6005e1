"""``active_customers`` from an in-memory activity book, for the shapes SQL cannot answer fast.

Active = any order or interaction in the period (``catalog.ACTIVITY``). A distinct count does
not add up across months, so the monthly rollups cannot hold it, and SQL over a year of
orders and interactions takes most of a second at 100k customers. The activity book keeps
the (time, customer) of every order (from the shared order book) and every interaction,
sorted by time: a period is a slice, a distinct count is a presence mask over customer ids.

It answers active_customers with no dimension or one time dimension and no filters (the
questions people ask: "active customers last month", "… by month"); anything else compiles
to SQL as before. Scope is applied by customer id (``tools.cadence.customers_in_scope``).
Like the order book, it follows new orders and interactions at once (max ids) and in-place
edits or deletions at the next refresh.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.engine import Engine

from storage.models import Interaction
from tools.cadence import customers_in_scope
from tools.context import ToolContext
from tools.line_frames import positions
from tools.metrics.dialect import TIME_GRAINS
from tools.order_frames import DAY_MS, order_book, to_ms

_CACHE: dict[str, object] = {}
_LOCK = threading.Lock()


@dataclass(eq=False)
class ActivityBook:
    key: tuple
    ms: np.ndarray  # sorted
    customer_id: np.ndarray


def answers(fact_measures: dict[str, list[str]], dims: list[str], filters: dict) -> bool:
    """Whether the activity fact of this question is one the book answers."""
    return (fact_measures.get("activity") == ["active_customers"] and not filters
            and len(dims) <= 1 and all(d in TIME_GRAINS for d in dims))


def active_frame(ctx: ToolContext, *, dims: list[str], start: datetime | None, end: datetime) -> pd.DataFrame:
    """[*dims, active_customers] for [start, end) in the caller's scope, like the compiled SQL would return."""
    book = activity_book(ctx.engine)
    lo = 0 if start is None else int(np.searchsorted(book.ms, to_ms(start)))
    hi = int(np.searchsorted(book.ms, to_ms(end)))
    ms, cust = book.ms[lo:hi], book.customer_id[lo:hi]
    if not ctx.scope.all_customers:
        keep = positions(customers_in_scope(ctx.engine, scope=ctx.scope), cust)[1]
        ms, cust = ms[keep], cust[keep]
    width = int(cust.max()) + 1 if len(cust) else 1
    if not dims:
        return pd.DataFrame({"active_customers": [float(_distinct(cust, width))]})
    labels, bucket = _buckets(ms, dims[0])
    pair = bucket.astype("int64") * width + cust
    if len(labels) * width <= 64_000_000:
        seen = np.zeros(len(labels) * width, dtype=bool)  # a presence mask: no sort of a million pairs
        seen[pair] = True
        per_bucket = seen.reshape(len(labels), width).sum(axis=1)
    else:
        per_bucket = np.bincount(np.unique(pair) // width, minlength=len(labels))
    return pd.DataFrame({dims[0]: labels, "active_customers": per_bucket.astype(float)})


def _distinct(ids: np.ndarray, width: int) -> int:
    seen = np.zeros(width, dtype=bool)
    seen[ids] = True
    return int(seen.sum())


def answers_new(fact_measures: dict[str, list[str]], dims: list[str], filters: dict, *, snapshot_first: bool) -> bool:
    """Whether new_customers of this question can be counted from the cached snapshot (first purchase per customer)."""
    return (snapshot_first and fact_measures.get("first_orders") == ["new_customers"] and not filters
            and len(dims) <= 1 and all(d in TIME_GRAINS for d in dims))


def new_frame(ctx: ToolContext, *, dims: list[str], start: datetime | None, end: datetime) -> pd.DataFrame | None:
    """[*dims, new_customers]: customers whose first revenue order falls in [start, end), from the snapshot
    (None when there is no fresh snapshot after all: the caller compiles SQL instead)."""
    from tools.feature_source import fresh_snapshot
    from tools.snapshot_cache import MISSING_MS, snapshot_arrays

    snapshot = fresh_snapshot(ctx)
    if snapshot is None:
        return None
    snap = snapshot_arrays(ctx, snapshot)
    first = snap.times["first_order_at"]
    keep = (first != MISSING_MS) & (first < to_ms(end)) & snap.in_scope(ctx)
    if start is not None:
        keep &= first >= to_ms(start)
    if not dims:
        return pd.DataFrame({"new_customers": [float(keep.sum())]})
    labels, bucket = _buckets(first[keep], dims[0])
    return pd.DataFrame({dims[0]: labels, "new_customers": np.bincount(bucket, minlength=len(labels)).astype(float)})


def _buckets(ms: np.ndarray, grain: str) -> tuple[list[str], np.ndarray]:
    """Labels as ``dialect.time_bucket`` writes them, and each row's bucket number."""
    days = (ms // DAY_MS).astype("datetime64[D]")
    if grain == "day":
        keys = days
    elif grain == "week":
        keys = days - ((days.astype("int64") + 3) % 7).astype("timedelta64[D]")  # back to Monday (1970-01-01: Thu)
    elif grain == "month":
        keys = days.astype("datetime64[M]")
    elif grain == "quarter":
        months = days.astype("datetime64[M]").astype("int64")
        keys = (months // 3) * 3  # first month of the quarter, months since 1970
    else:
        keys = days.astype("datetime64[Y]")
    uniq, bucket = np.unique(keys, return_inverse=True)
    if grain == "quarter":
        labels = [f"{1970 + m // 12:04d}-Q{m % 12 // 3 + 1}" for m in uniq.tolist()]
    else:
        labels = [str(u) for u in uniq]
    return labels, bucket


def activity_book(engine: Engine) -> ActivityBook:
    orders = order_book(engine)
    with engine.connect() as conn:
        version = (orders.key, conn.execute(select(func.max(Interaction.id))).scalar(),
                   conn.execute(select(func.max(Interaction.updated_at))).scalar())
    with _LOCK:
        hit = _CACHE.get("book")
        if isinstance(hit, ActivityBook) and hit.key == version:
            return hit
    ms, cust = _interactions(engine)
    all_ms = np.concatenate([orders.ms, ms])
    order = np.argsort(all_ms, kind="stable")
    built = ActivityBook(key=version, ms=all_ms[order], customer_id=np.concatenate([orders.customer_id, cust])[order])
    with _LOCK:
        _CACHE["book"] = built
    return built


def _interactions(engine: Engine) -> tuple[np.ndarray, np.ndarray]:
    if engine.dialect.name == "sqlite":
        ms = cast(func.round((func.julianday(Interaction.occurred_at) - 2440587.5) * 86_400_000.0), BigInteger)
    else:
        ms = cast(func.floor(func.extract("epoch", Interaction.occurred_at) * 1000), BigInteger)
    with engine.connect() as conn:
        result = conn.execute(select(ms, Interaction.customer_id))
        rows = np.fromiter(result.cursor, dtype=np.dtype([("ms", "i8"), ("customer_id", "i8")]))
        result.close()
    return rows["ms"].copy(), rows["customer_id"].copy()
