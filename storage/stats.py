"""Row counts per table, for `crm stats` and quick sanity checks."""

from __future__ import annotations

from sqlalchemy import func, inspect, select
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import engine_for
from storage.settings import get_settings


def table_counts(url: str | None = None) -> dict[str, int]:
    engine = engine_for(url or get_settings().url)
    existing = set(inspect(engine).get_table_names())
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in existing:
                counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    return counts
