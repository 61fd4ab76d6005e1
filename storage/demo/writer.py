"""Bulk loading: empty-check, reset, and the fast path into SQLite (executemany) or Postgres (COPY).

Rows carry explicit ids, so no ORM round trips are needed. SQLite loads in one
transaction with ``synchronous=OFF`` and foreign-key checks off (the generator
guarantees referential integrity; tests verify it). Postgres uses COPY and then
moves each id sequence past the loaded rows so later inserts do not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on the metadata)
from storage.demo.tables import Table

ProgressFn = Callable[[str, int, int], None]
CHUNK = 50_000


def crm_tables(engine: Engine) -> list[sa.Table]:
    """Every model table that exists in the database, parents before children."""
    present = set(sa.inspect(engine).get_table_names())
    return [t for t in SQLModel.metadata.sorted_tables if t.name in present]


def table_counts(engine: Engine, names: Sequence[str] | None = None) -> dict[str, int]:
    tables = crm_tables(engine)
    wanted = [t for t in tables if names is None or t.name in names]
    with engine.connect() as conn:
        return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in wanted}


def non_empty_tables(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [t.name for t in crm_tables(engine)
                if conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first() is not None]


def load(engine: Engine, tables: list[Table], *, reset: bool, progress: ProgressFn | None = None) -> None:
    """Write the generated tables (in the given order), optionally emptying every CRM table first."""
    if engine.dialect.name == "sqlite":
        _load_sqlite(engine, tables, reset=reset, progress=progress)
    elif engine.dialect.name == "postgresql":
        _load_postgres(engine, tables, reset=reset, progress=progress)
    else:  # pragma: no cover - only the two supported backends are wired
        raise NotImplementedError(f"demo loading is not implemented for {engine.dialect.name}")


def _insert_sql(table: Table, quote: str = '"') -> str:
    cols = ", ".join(f"{quote}{c}{quote}" for c in table.columns)
    marks = ", ".join("?" for _ in table.columns)
    return f'INSERT INTO {quote}{table.name}{quote} ({cols}) VALUES ({marks})'


def _load_sqlite(engine: Engine, tables: list[Table], *, reset: bool, progress: ProgressFn | None) -> None:
    existing = [t.name for t in reversed(crm_tables(engine))]
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.commit()
        # Pragmas that cannot change inside a transaction are set first, and restored afterwards.
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        try:
            if reset:
                for name in existing:
                    conn.execute(f'DELETE FROM "{name}"')
            # Sorting each index once beats updating it row by row; DDL is transactional in
            # SQLite, so a failed load rolls the dropped indexes back too.
            indexes = _drop_indexes(conn, [t for t in tables if len(t) >= 10_000])
            for table in tables:
                _write_chunks(table, lambda chunk, t=table: conn.executemany(_insert_sql(t), chunk), progress)
            for i, sql in enumerate(indexes):
                if progress:
                    progress("build indexes", i, len(indexes))
                conn.execute(sql)
            if progress and indexes:
                progress("build indexes", len(indexes), len(indexes))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # Fresh (sampled) statistics let the query planner pick the covering indexes at once.
        conn.execute("PRAGMA analysis_limit=1000")
        conn.execute("PRAGMA optimize=0x10002")
    finally:
        raw.close()


def _drop_indexes(conn, tables: list[Table]) -> list[str]:
    """Drop the explicit indexes of these tables; returns the statements that recreate them.

    Measured on 2.2M order lines: loading bare and sorting each index once costs ~25% less CPU
    than maintaining the indexes row by row, even for append-only keys.
    """
    statements = []
    for table in tables:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table.name,),
        ).fetchall()
        for index, sql in rows:
            conn.execute(f'DROP INDEX "{index}"')
            statements.append(sql)
    return statements


def _load_postgres(engine: Engine, tables: list[Table], *, reset: bool, progress: ProgressFn | None) -> None:
    existing = [t.name for t in crm_tables(engine)]
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.transaction(), conn.cursor() as cur:
            # Generated timestamps are UTC wall-clock text; read them as such whatever the server zone.
            cur.execute("SET LOCAL TIME ZONE 'UTC'")
            if reset and existing:
                cur.execute("TRUNCATE " + ", ".join(f'"{n}"' for n in existing) + " RESTART IDENTITY CASCADE")
            for table in tables:
                cols = ", ".join(f'"{c}"' for c in table.columns)

                def copy_chunk(chunk, t=table, c=cols):
                    with cur.copy(f'COPY "{t.name}" ({c}) FROM STDIN') as copy:
                        for row in chunk:
                            copy.write_row(row)

                _write_chunks(table, copy_chunk, progress)
                if "id" in table.columns:
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
                    )
        conn.commit()
    finally:
        raw.close()


def _write_chunks(table: Table, write, progress: ProgressFn | None) -> None:
    total = len(table)
    phase = f"write {table.name}"
    if progress:
        progress(phase, 0, total)
    for start in range(0, total, CHUNK):
        stop = min(start + CHUNK, total)
        write(list(table.rows(start, stop)))
        if progress:
            progress(phase, stop, total)
