"""Values kept in step with what an import wrote: order totals, customer tags, pool history."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from storage.importers.bulk import LOOKUP_CHUNK, insert_columns, next_id, table_of
from storage.models import Customer, CustomerTag, Order, OrderLine, PoolAction, PoolHistory


def order_total(amounts: Iterable[float]) -> float:
    # fsum is exact whatever the order of the lines, so every writer gets the same total.
    return round(math.fsum(amounts), 2)


def recompute_order_totals(conn: Connection, order_ids: Iterable[int]) -> int:
    """Set ``orders.total_amount`` to the sum of its lines for these orders; returns orders changed."""
    wanted = sorted(set(order_ids))
    lines = table_of(OrderLine)
    orders = table_of(Order)
    changed: list[dict[str, object]] = []
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        amounts: dict[int, list[float]] = defaultdict(list)
        for order_id, amount in conn.execute(
            select(lines.c.order_id, lines.c.amount).where(lines.c.order_id.in_(chunk))
        ):
            amounts[order_id].append(amount)
        for order_id, current in conn.execute(select(orders.c.id, orders.c.total_amount).where(orders.c.id.in_(chunk))):
            total = order_total(amounts.get(order_id, []))
            if current != total:
                changed.append({"_id": order_id, "v_total": total})
    if changed:
        stmt = update(orders).where(orders.c.id == bindparam("_id")).values(total_amount=bindparam("v_total"))
        conn.execute(stmt, changed)
    return len(changed)


def line_order_ids(conn: Connection, external_ids: Sequence[str]) -> set[int]:
    """The orders these (possibly existing) lines belong to now, before an update moves them."""
    lines = table_of(OrderLine)
    found: set[int] = set()
    for start in range(0, len(external_ids), LOOKUP_CHUNK):
        chunk = list(external_ids[start : start + LOOKUP_CHUNK])
        found.update(conn.execute(select(lines.c.order_id).where(lines.c.external_id.in_(chunk))).scalars())
    return found


def sync_tags(conn: Connection, wanted: dict[int, list[str]]) -> set[int]:
    """Make each customer's tags exactly ``wanted[customer_id]``; returns the customers whose tags changed."""
    table = table_of(CustomerTag)
    ids = sorted(wanted)
    stored: dict[int, set[str]] = defaultdict(set)
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        for customer_id, tag in conn.execute(
            select(table.c.customer_id, table.c.tag).where(table.c.customer_id.in_(chunk))
        ):
            stored[customer_id].add(tag)
    add: list[dict[str, object]] = []
    remove: list[dict[str, object]] = []
    changed: set[int] = set()
    for customer_id in ids:
        want = set(wanted[customer_id])
        have = stored.get(customer_id, set())
        if want == have:
            continue
        changed.add(customer_id)
        add.extend({"customer_id": customer_id, "tag": t} for t in sorted(want - have))
        remove.extend({"cid": customer_id, "t": t} for t in sorted(have - want))
    if remove:
        conn.execute(
            delete(table).where(table.c.customer_id == bindparam("cid"), table.c.tag == bindparam("t")), remove
        )
    if add:
        conn.execute(insert(table), add)
    return changed


def current_owners(conn: Connection, external_ids: Sequence[str]) -> dict[str, int | None]:
    """external_id -> owner_id for the customers already stored."""
    table = table_of(Customer)
    found: dict[str, int | None] = {}
    for start in range(0, len(external_ids), LOOKUP_CHUNK):
        chunk = list(external_ids[start : start + LOOKUP_CHUNK])
        for key, owner in conn.execute(select(table.c.external_id, table.c.owner_id).where(table.c.external_id.in_(chunk))):
            found[key] = owner
    return found


def record_owner_changes(
    conn: Connection, changes: list[tuple[int, int | None, int | None]], *, at: datetime, reason: str
) -> int:
    """Write a pool-history row per (customer_id, old owner, new owner), as the pool tools do for claims.

    An import that moves a customer into or out of the public pool (公海) must leave
    the same trail a person doing it would, or the pool's history would have holes.
    """
    if not changes:
        return 0
    table = table_of(PoolHistory)
    start = next_id(conn, table)
    n = len(changes)
    insert_columns(conn, table, {
        "id": list(range(start, start + n)),
        "customer_id": [c for c, _, _ in changes],
        "action": [PoolAction.assign.value if new is not None else PoolAction.release.value for _, _, new in changes],
        "from_owner_id": [old for _, old, _ in changes],
        "to_owner_id": [new for _, _, new in changes],
        "by_user_id": [None] * n,
        "at": [at] * n,
        "reason": [reason] * n,
    })
    return n
