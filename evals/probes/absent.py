"""The "absent" twin of an existence probe: the same question, with the customer gone.

To check that a refusal does not confirm existence, a scope probe is asked twice with the
very same words: once as is, and once while the customer's identifying values (name,
external id, phone, email, order numbers) are replaced in the database by values nobody
would type. To the asker the second run is about a customer that does not exist; any
difference between the two replies is information about existence. Using the same text
keeps the comparison free of noise from how a router reacts to one name or another.

``customer.updated_at`` moves forward on hide and on restore, so every cache keyed on it
(name index, gazetteer, read cache) notices both changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import text

from evals.probes.world import World

_tick = [0]


def _next_stamp(world: World):
    _tick[0] += 1
    return world.now + timedelta(days=1, seconds=_tick[0])


@contextmanager
def absent(world: World, customer_id: int) -> Iterator[None]:
    from storage.db import engine_for
    from tools.lookup import invalidate_name_cache

    engine = engine_for(world.url)
    with engine.begin() as conn:
        saved = conn.execute(text("SELECT name, external_id, phone, email FROM customer WHERE id = :c"),
                             {"c": customer_id}).one()  # fmt: skip
        orders = conn.execute(text("SELECT id, external_id FROM orders WHERE customer_id = :c"), {"c": customer_id}).all()
        conn.execute(text("UPDATE customer SET name = :n, external_id = :x, phone = NULL, email = NULL, updated_at = :t "
                          "WHERE id = :c"),
                     {"n": f"Absent Twin {customer_id}", "x": f"ZZ{customer_id:08d}", "t": _next_stamp(world),
                      "c": customer_id})  # fmt: skip
        conn.execute(text("UPDATE orders SET external_id = 'ZZ-' || id WHERE customer_id = :c"), {"c": customer_id})
    invalidate_name_cache()
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE customer SET name = :n, external_id = :x, phone = :p, email = :e, updated_at = :t "
                              "WHERE id = :c"),
                         {"n": saved[0], "x": saved[1], "p": saved[2], "e": saved[3], "t": _next_stamp(world),
                          "c": customer_id})  # fmt: skip
            for oid, ext in orders:
                conn.execute(text("UPDATE orders SET external_id = :x WHERE id = :o"), {"x": ext, "o": oid})
        invalidate_name_cache()
