"""Order lines as compact numpy columns, tied to the order book they belong to, sorted by order time.

``crm refresh`` reads every line once for the metrics rollups and hands them over here
(``adopt_lines``), so reports over arbitrary periods (the VIP report's category mix and
promotion share) are numpy slices instead of joins of a million lines. A process that
did not run the refresh reads them on first use, once per data version.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Integer, case, cast, func, select
from sqlalchemy.engine import Engine

from storage.models import Order, OrderLine, Product
from tools.order_frames import OrderBook, order_book, to_ms

_LINE_DTYPE = np.dtype([("order_id", "i8"), ("product_id", "i8"), ("quantity", "f8"), ("discount_value", "f8"),
                        ("promo", "i1"), ("amount", "f8")])
_CACHE: dict[str, object] = {}  # "raw" -> (book key, DataFrame); "lines" -> LineBook
_LOCK = threading.Lock()


def read_lines(engine: Engine, *, since: datetime | None = None) -> pd.DataFrame:
    """Order lines (of orders placed since ``since``) as [order_id, product_id, quantity, discount_value, promo, amount]."""
    return lines_frame(read_line_rows(engine, since=since))


def lines_frame(rows: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({name: rows[name] for name in _LINE_DTYPE.names})


def read_line_rows(engine: Engine, *, since: datetime | None = None) -> np.ndarray:
    """``read_lines`` as one structured array (what a second process saves for the first to load)."""
    stmt = select(
        OrderLine.order_id, OrderLine.product_id, cast(OrderLine.quantity, BigInteger),
        func.coalesce(OrderLine.quantity * OrderLine.unit_price * OrderLine.discount, 0.0),
        cast(case((OrderLine.promo, 1), else_=0), Integer), func.coalesce(OrderLine.amount, 0.0),
    )
    if since is not None:
        stmt = stmt.join(Order, Order.id == OrderLine.order_id).where(Order.ordered_at >= since)
    with engine.connect() as conn:
        result = conn.execute(stmt)
        # Straight from the driver's cursor into one structured array: several times faster than Row objects.
        rows = np.fromiter(result.cursor, dtype=_LINE_DTYPE)
        result.close()
    return rows


def positions(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each wanted id in the sorted unique ``ids``, and whether it is there at all."""
    if not len(ids):
        return np.zeros(len(wanted), dtype="int64"), np.zeros(len(wanted), dtype=bool)
    top = int(max(ids[-1], wanted.max() if len(wanted) else 0))
    if ids[0] >= 0 and top <= 4 * len(ids) + 100_000:
        lookup = np.full(top + 1, -1, dtype="int64")  # dense ids (the usual case): one gather, no search
        lookup[ids] = np.arange(len(ids))
        pos = lookup[np.clip(wanted, 0, top)]
        found = (pos >= 0) & (wanted >= 0)
        return np.where(found, pos, 0), found
    pos = np.clip(np.searchsorted(ids, wanted), 0, len(ids) - 1)
    return pos, ids[pos] == wanted


@dataclass(eq=False)
class LineBook:
    """Lines sorted by their order's time; ``order_row`` points into the order book."""

    key: str
    order_row: np.ndarray
    ms: np.ndarray
    product_id: np.ndarray
    quantity: np.ndarray
    promo: np.ndarray  # bool
    amount: np.ndarray
    _memo: dict = field(default_factory=dict, repr=False)

    def between(self, start: datetime | None, end: datetime) -> slice:
        lo = 0 if start is None else int(np.searchsorted(self.ms, to_ms(start)))
        return slice(lo, int(np.searchsorted(self.ms, to_ms(end))))


def adopt_lines(book: OrderBook, lines: pd.DataFrame) -> None:
    """Keep a complete read of the lines (``read_lines`` without ``since``) for ``book``'s data version."""
    with _LOCK:
        _CACHE.clear()
        _CACHE["raw"] = (book.key, lines)


def line_book(engine: Engine, book: OrderBook | None = None) -> LineBook:
    book = book or order_book(engine)
    with _LOCK:
        hit = _CACHE.get("lines")
        if isinstance(hit, LineBook) and hit.key == book.key:
            return hit
        raw = _CACHE.get("raw")
    lines = raw[1] if raw is not None and raw[0] == book.key else read_lines(engine)
    built = _build(book, lines)
    with _LOCK:
        _CACHE.clear()
        _CACHE["lines"] = built
    return built


def _build(book: OrderBook, lines: pd.DataFrame) -> LineBook:
    row, found = positions(book.order_id, lines["order_id"].to_numpy())
    row = row[found]
    ms = book.ms[row]
    order = np.argsort(ms, kind="stable")
    pick = np.flatnonzero(found)[order]
    return LineBook(
        key=book.key, order_row=row[order], ms=ms[order], product_id=lines["product_id"].to_numpy()[pick],
        quantity=lines["quantity"].to_numpy()[pick], promo=lines["promo"].to_numpy()[pick] > 0,
        amount=lines["amount"].to_numpy()[pick],
    )


def product_categories(engine: Engine, product_ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Category code per product id (-1 when unknown) and the category names."""
    with engine.connect() as conn:
        rows = conn.execute(select(Product.id, Product.category).order_by(Product.id)).all()
    ids = np.array([r[0] for r in rows], dtype="int64")
    names, codes = np.unique(np.array([r[1] or "" for r in rows], dtype=object).astype(str), return_inverse=True)
    at, found = positions(ids, product_ids)
    return np.where(found, codes[at] if len(ids) else -1, -1), names.tolist()
