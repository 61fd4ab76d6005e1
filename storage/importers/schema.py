"""The importers' one question to the database before writing: is the schema there?"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from storage.db import engine_for
from storage.errors import DatabaseUnavailable, ImportFailed
from storage.settings import get_settings

_NEEDED = ("customer", "product", "orders", "order_line", "interaction", "staff_user", "customer_tag")


def require_schema(url: str | None) -> Engine:
    engine = engine_for(url or get_settings().url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
    except OperationalError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(f"cannot reach the database: {detail}") from exc
    missing = [t for t in _NEEDED if t not in present]
    if missing:
        raise ImportFailed("the database has no CRM tables yet; run `crm db upgrade` first")
    return engine
