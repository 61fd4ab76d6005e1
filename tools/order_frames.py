"""Every order as compact numpy columns (the *order book*), read once per data version and shared.

``crm refresh`` needs the whole order book several times (lifetime aggregates, RFM and
cadence, churn, CLV, the metrics rollups), and so do read tools that look at the past
("which VIPs went quiet last month"). One query fills an ``OrderBook``; everything else
is numpy over it, and the book stays in memory for the next caller in the process.

- Times are integer milliseconds since 1970-01-01 (naive UTC, as stored), exact for the
  millisecond timestamps the data holds, so "ordered before X" filters here agree with
  SQL's ``ordered_at < X``; ``day`` (float days) is what the feature math uses.
- Status and channel come back as small integer codes (a CASE in SQL: text cells cost
  the driver more than the rest of the row); values outside the closed vocabularies
  of ``storage.models.enums`` are looked up in a second, small query.
- The book is keyed by the data fingerprint (count, max id, revenue total and
  non-revenue count of the orders, the same formula ``crm refresh`` records).
  ``current_fingerprint`` reuses the latest refresh's fingerprint when no order was
  added since (same max id), so read tools do not scan the orders on every call; an
  in-place change after a refresh (a status flip, a deletion) shows up at the next
  refresh, exactly as for the feature snapshot itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, case, cast, func, select
from sqlalchemy.engine import Engine

from storage.db import has_table
from storage.models import NON_REVENUE_STATUSES, Order
from storage.models.enums import OrderChannel, OrderStatus

ORDER_COLUMNS = ["customer_id", "day", "amount", "returned"]
DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1)
STATUSES = tuple(s.value for s in OrderStatus)
CHANNELS = tuple(c.value for c in OrderChannel)

_CACHE: dict[str, object] = {}  # "book" -> OrderBook, "frame" -> (key, DataFrame); clear() forces a re-read
_LOCK = threading.Lock()
_PINNED: ContextVar[tuple[str, str] | None] = ContextVar("pinned_fingerprint", default=None)


def database_key(engine: Engine) -> str:
    return hashlib.sha1(engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:12]


def data_fingerprint(engine: Engine) -> str:
    """Changes whenever orders are added, deleted, re-priced or change revenue status (one indexed scan)."""
    pinned = _PINNED.get()
    if pinned is not None and pinned[0] == database_key(engine):
        return pinned[1]
    return order_stats(engine)["fingerprint"]


def order_stats(engine: Engine, *, upto: int | None = None) -> dict:
    """Order count, largest id and the data fingerprint, of every order or (``upto``) of those with id <= upto."""
    nonrev = func.sum(case((Order.status.in_(NON_REVENUE_STATUSES), 1), else_=0))
    stmt = select(func.count(Order.id), func.max(Order.id), func.sum(Order.total_amount), nonrev)
    if upto is not None:
        stmt = stmt.where(Order.id <= upto)
    with engine.connect() as conn:
        count, max_id, total, bad = conn.execute(stmt).one()
    raw = f"{count}:{max_id or 0}:{round(float(total or 0.0), 2)}:{bad or 0}"
    return {"count": int(count), "max_id": int(max_id or 0), "fingerprint": hashlib.sha1(raw.encode()).hexdigest()[:16]}


@contextmanager
def pinned_fingerprint(engine: Engine, fingerprint: str) -> Iterator[None]:
    """Within this block, ``data_fingerprint(engine)`` is ``fingerprint`` without a scan.

    ``crm refresh`` computes the fingerprint once and holds the write lock's view of the
    data for its whole run, so each phase need not scan the orders again to learn it.
    """
    token = _PINNED.set((database_key(engine), fingerprint))
    try:
        yield
    finally:
        _PINNED.reset(token)


def current_fingerprint(engine: Engine) -> str:
    """``data_fingerprint``, from the latest refresh's record when no order was added since (same max id)."""
    pinned = _PINNED.get()
    if pinned is not None and pinned[0] == database_key(engine):
        return pinned[1]
    if has_table(engine, "feature_refresh"):
        from storage.models.features import FeatureRefresh as R

        with engine.connect() as conn:
            latest = conn.execute(
                select(R.data_fingerprint, R.max_order_id, R.order_count)
                .where(R.finished_at.is_not(None), R.mode != "failed").order_by(R.id.desc()).limit(1)
            ).first()
            # Max id only, like the snapshot's own freshness check: a COUNT(*) over a million orders
            # would cost more than the rest of a read tool's call.
            if latest is not None and (conn.execute(select(func.max(Order.id))).scalar() or 0) == latest.max_order_id:
                return latest.data_fingerprint
    return data_fingerprint(engine)


def to_ms(moment: datetime) -> int:
    """The first whole millisecond at or after ``moment``: ``t < moment`` iff ``ms(t) < to_ms(moment)``."""
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    return -(-micros // 1000)


@dataclass(eq=False)
class OrderBook:
    """All orders sorted by id (the order they were placed in, for data loaded in time order)."""

    key: str
    order_id: np.ndarray  # int64
    customer_id: np.ndarray  # int64
    ms: np.ndarray  # int64, milliseconds since 1970-01-01
    amount: np.ndarray  # float64, total_amount
    status: np.ndarray  # int16 codes into ``statuses``
    channel: np.ndarray  # int16 codes into ``channels``
    campaign_id: np.ndarray  # int64, -1 for none
    statuses: tuple[str, ...]
    channels: tuple[str, ...]
    _memo: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self.order_id)

    def memo(self, key, build):
        """``build()`` once per key for this book: derived arrays (str keys, kept) and per-moment
        summaries (tuple keys, the 16 most recent kept)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = build()
        with self._lock:
            moments = [k for k in self._memo if isinstance(k, tuple)]
            if isinstance(key, tuple) and len(moments) >= 16:
                self._memo.pop(moments[0])
            self._memo[key] = value
        return value

    @property
    def day(self) -> np.ndarray:
        return self.memo("day", lambda: self.ms / DAY_MS)

    @property
    def non_revenue(self) -> np.ndarray:
        codes = [i for i, s in enumerate(self.statuses) if s in NON_REVENUE_STATUSES]
        return self.memo("non_revenue", lambda: np.isin(self.status, codes))

    @property
    def revenue(self) -> np.ndarray:
        return self.memo("revenue", lambda: ~self.non_revenue)

    def status_is(self, name: str) -> np.ndarray:
        code = self.statuses.index(name) if name in self.statuses else -1
        return self.status == code

    @property
    def by_time(self) -> np.ndarray:
        """Row order by time (stable: ties keep id order)."""
        return self.memo("by_time", lambda: np.argsort(self.ms, kind="stable"))

    def between(self, start: datetime | None, end: datetime) -> np.ndarray:
        """Rows of orders placed in [start, end), in time order."""
        order = self.by_time
        ms = self.memo("ms_by_time", lambda: self.ms[order])
        lo = 0 if start is None else int(np.searchsorted(ms, to_ms(start)))
        return order[lo : int(np.searchsorted(ms, to_ms(end)))]

    @property
    def by_customer(self) -> np.ndarray:
        """Row order by (customer_id, time, id)."""
        return self.memo("by_customer", lambda: np.lexsort((self.order_id, self.ms, self.customer_id)))


def order_book(engine: Engine, *, fingerprint: str | None = None) -> OrderBook:
    """The order book for the data as it is now (read once per data version, then shared)."""
    fingerprint = fingerprint or current_fingerprint(engine)
    key = f"{database_key(engine)}:{fingerprint}"
    with _LOCK:
        hit = _CACHE.get("book")
        if isinstance(hit, OrderBook) and hit.key == key:
            return hit
    book = _read_book(engine, key)
    with _LOCK:
        _CACHE.clear()  # one book at a time: a 100k-customer book is ~40 MB
        _CACHE["book"] = book
    return book


def _code(column, vocabulary: tuple[str, ...]):
    return case(*[(column == v, i) for i, v in enumerate(vocabulary)], else_=-1)


def _ms_expr(engine: Engine):
    if engine.dialect.name == "sqlite":
        # julianday() keeps whole milliseconds; rounding undoes the float error of the day fraction.
        return cast(func.round((func.julianday(Order.ordered_at) - 2440587.5) * 86_400_000.0), BigInteger)
    return cast(func.floor(func.extract("epoch", Order.ordered_at) * 1000), BigInteger)


_BOOK_DTYPE = np.dtype([("id", "i8"), ("customer_id", "i8"), ("ms", "i8"), ("amount", "f8"), ("status", "i2"),
                        ("channel", "i2"), ("campaign_id", "i8")])


def _read_book(engine: Engine, key: str) -> OrderBook:
    stmt = select(
        Order.id, Order.customer_id, _ms_expr(engine), func.coalesce(Order.total_amount, 0.0),
        _code(Order.status, STATUSES), _code(Order.channel, CHANNELS), func.coalesce(Order.campaign_id, -1),
    ).order_by(Order.id)
    with engine.connect() as conn:
        result = conn.execute(stmt)
        # Straight from the driver's cursor into one structured array: no Row objects, no list of tuples.
        rows = np.fromiter(result.cursor, dtype=_BOOK_DTYPE)
        result.close()
        statuses, channels = STATUSES, CHANNELS
        status, channel = rows["status"].copy(), rows["channel"].copy()
        if (status < 0).any() or (channel < 0).any():
            statuses, status = _extend(conn, Order.status, rows["id"], status, statuses)
            channels, channel = _extend(conn, Order.channel, rows["id"], channel, channels)
    return OrderBook(key=key, order_id=rows["id"].copy(), customer_id=rows["customer_id"].copy(), ms=rows["ms"].copy(),
                     amount=rows["amount"].copy(), status=status, channel=channel, campaign_id=rows["campaign_id"].copy(),
                     statuses=statuses, channels=channels)


def _extend(conn, column, ids: np.ndarray, codes: np.ndarray, vocabulary: tuple[str, ...]):
    """Codes for values outside the closed vocabulary (imported data), read for those orders only."""
    missing = codes < 0
    if not missing.any():
        return vocabulary, codes
    extra: dict[str, int] = {}
    values: dict[int, int] = {}
    wanted = ids[missing].tolist()
    for i in range(0, len(wanted), 5000):
        for oid, value in conn.execute(select(Order.id, column).where(Order.id.in_(wanted[i : i + 5000]))).all():
            if value is None:
                value = ""
            values[oid] = extra.setdefault(value, len(vocabulary) + len(extra))
    codes = codes.copy()
    codes[missing] = [values[i] for i in wanted]
    return vocabulary + tuple(extra), codes


def load_orders(engine: Engine, *, before: datetime, fingerprint: str | None = None) -> pd.DataFrame:
    """Every order placed before ``before``: [customer_id, day (float days since 1970), amount, returned].

    ``returned`` flags every non-revenue order (returned or cancelled), in order-id order.
    """
    book = order_book(engine, fingerprint=fingerprint or data_fingerprint(engine))
    key = (book.key, before)
    with _LOCK:
        hit = _CACHE.get("frame")
        if hit is not None and hit[0] == key:
            return hit[1]
    keep = book.ms < to_ms(before)
    frame = pd.DataFrame({
        "customer_id": book.customer_id[keep], "day": book.day[keep], "amount": book.amount[keep],
        "returned": book.non_revenue[keep],
    })
    with _LOCK:
        if _CACHE.get("book") is book:
            _CACHE["frame"] = (key, frame)
    return frame


def day_of(moment: datetime) -> float:
    return (moment - _EPOCH) / timedelta(days=1)
