"""A small in-process cache for read tools, keyed by what the answer depends on.

Read tools over the feature snapshot answer the same question with the same numbers
until the data changes, so a repeated question is served from memory. The key holds
a *data version* read with index probes only (cheap on every call):
- the live snapshot's refresh id (a refresh writes a new one),
- the max order id and max campaign touch id (appends),
- the max customer id and the latest ``customer.updated_at`` (owner changes move a
  customer in or out of a rep's scope; writers bump it),
plus the caller's scope and the normalised arguments. In-place edits that bump none of
these (a status flip on an old order, a touch converted later) are picked up when the
entry expires (``TTL``) or at the next refresh.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, select

from storage.models import CampaignTouch, Customer, Order
from tools.context import ToolContext

T = TypeVar("T")
TTL_SECONDS = 300.0
MAX_ENTRIES = 256


def data_version(ctx: ToolContext, refresh_id: int | None = None) -> tuple:
    with ctx.engine.connect() as conn:
        orders = conn.execute(select(func.max(Order.id))).scalar()
        touches = conn.execute(select(func.max(CampaignTouch.id))).scalar()
        # One aggregate per statement: SQLite answers a lone max() from the index, but scans for two.
        customers = conn.execute(select(func.max(Customer.id))).scalar()
        updated = conn.execute(select(func.max(Customer.updated_at))).scalar()
    return (str(ctx.engine.url), refresh_id, orders, touches, customers, updated)


class ReadCache:
    def __init__(self, *, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES):
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: tuple, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and now - hit[0] <= self.ttl:
                self._items.move_to_end(key)
                return hit[1]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


READS = ReadCache()


def cached_read(ctx: ToolContext, name: str, args: tuple, compute: Callable[[], T]) -> T:
    """``compute()`` once per (tool, arguments, caller scope, data version)."""
    from tools.feature_source import fresh_snapshot

    snapshot = fresh_snapshot(ctx)
    key = (name, args, ctx.scope, data_version(ctx, snapshot.refresh_id if snapshot else None))
    return READS.get_or_compute(key, compute)
