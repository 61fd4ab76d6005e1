"""Bulk writes for the importers: explicit ids, upsert by a natural key, both backends.

Why explicit ids: an order's lines need the order's id before anything is written,
and ids taken as ``max(id) + 1`` inside a locked transaction make a re-run after a
crash assign exactly the ids an uninterrupted run would (a Postgres sequence would
leak the values a rolled-back batch drew).

Why raw DBAPI: SQLite gets ``executemany`` and Postgres gets ``COPY``; values go
through each column type's own bind processor first, so what lands in the database
is byte-for-byte what the ORM would have written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import DateTime, String, Table, bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from storage.importers.report import EntityCounts

# Keys per IN (...) lookup: well under SQLite's 32,766 and Postgres's 65,535 bound parameters.
LOOKUP_CHUNK = 5_000

Columns = dict[str, list[Any]]


@dataclass
class Upserted:
    """Result of one upsert: ``ids`` is aligned with the input rows."""

    ids: list[int]
    counts: EntityCounts
    # Positions (in the input) that were inserted or updated.
    changed: list[int] = field(default_factory=list)


def table_of(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined,return-value]


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def lock_for_write(conn: Connection, tables: Sequence[Table]) -> None:
    """Take the write lock up front so ``max(id)`` cannot be raced by another writer."""
    if not tables:
        return
    if is_sqlite(conn):
        # pysqlite opens a deferred transaction; a no-op write upgrades it to the
        # database-wide write lock now instead of at the first real insert.
        conn.exec_driver_sql(f'UPDATE "{tables[0].name}" SET id = id WHERE 0')
        return
    names = ", ".join(f'"{t.name}"' for t in tables)
    # SHARE ROW EXCLUSIVE blocks other writers (and itself) but not readers.
    conn.exec_driver_sql(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")


def sync_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """After explicit-id inserts, move Postgres sequences past the largest id (SQLite needs nothing)."""
    if is_sqlite(conn):
        return
    for table in tables:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), m) "
            f'FROM (SELECT MAX(id) AS m FROM "{table.name}") s WHERE m IS NOT NULL'
        )


def next_id(conn: Connection, table: Table) -> int:
    current = conn.execute(select(func.max(table.c.id))).scalar()
    return int(current or 0) + 1


def normalize(value: Any) -> Any:
    """One comparable form for a value from a file and the same value read back."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def fetch_existing(
    conn: Connection, table: Table, *, key: str, keys: Sequence[Any], columns: Sequence[str]
) -> dict[Any, tuple[int, tuple[Any, ...]]]:
    """key -> (id, normalised values of ``columns``) for the keys already stored."""
    found: dict[Any, tuple[int, tuple[Any, ...]]] = {}
    unique = list(dict.fromkeys(k for k in keys if k is not None))
    cols = [table.c[c] for c in columns]
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        stmt = select(table.c.id, table.c[key], *cols).where(table.c[key].in_(chunk))
        for row in conn.execute(stmt):
            found[row[1]] = (row[0], tuple(normalize(v) for v in row[2:]))
    return found


def model_defaults(model: type[SQLModel], *, skip: Iterable[str]) -> dict[str, Any]:
    """Python-side defaults of the table columns not given (the schema has no server defaults)."""
    skipped = set(skip) | {"id"}
    out: dict[str, Any] = {}
    for name in table_of(model).c.keys():
        info = model.model_fields.get(name)
        if name in skipped or info is None:
            continue
        out[name] = info.get_default(call_default_factory=True)
    return out


def _aware(value: Any) -> Any:
    # sqlmodel's UTCDateTime refuses naive values; importers work in naive UTC.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, Enum):
        return value.value
    return value


def _processed(conn: Connection, table: Table, data: Columns) -> list[list[Any]]:
    dialect = conn.dialect
    out = []
    for name, values in data.items():
        col_type = table.c[name].type
        proc = col_type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            out.append([None if v is None else proc(_aware(v)) for v in values])
        elif _is_text_or_time(col_type):
            # Enum members and naive datetimes still need plain forms the driver accepts.
            out.append([_aware(v) for v in values])
        else:
            out.append(values)
    return out


def _is_text_or_time(col_type: Any) -> bool:
    # sqlmodel wraps String and DateTime in TypeDecorators; look through them.
    return isinstance(col_type, String | DateTime) or isinstance(getattr(col_type, "impl", None), String | DateTime)


def insert_columns(conn: Connection, table: Table, data: Columns) -> int:
    """Insert column-oriented rows (every NOT NULL column present, ``id`` included)."""
    if not data:
        return 0
    names = list(data)
    n = len(data[names[0]])
    if n == 0:
        return 0
    rows = list(zip(*_processed(conn, table, data), strict=True))
    quoted = ", ".join(f'"{c}"' for c in names)
    if is_sqlite(conn):
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', rows)
        return n
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
    return n


def update_rows(conn: Connection, table: Table, *, columns: Sequence[str], rows: list[dict[str, Any]]) -> int:
    """Executemany UPDATE by id; each row is {"_id": id, column: value, ...}."""
    if not rows:
        return 0
    stmt = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
    )
    # Bind names must differ from column names in an UPDATE ... SET.
    fixed = [{("_id" if k == "_id" else f"v_{k}"): _aware(v) for k, v in row.items()} for row in rows]
    conn.execute(stmt, fixed)
    return len(rows)


def upsert(
    conn: Connection,
    model: type[SQLModel],
    *,
    key: str,
    data: Columns,
    compare: Sequence[str] | None = None,
    on_update: dict[str, Any] | None = None,
) -> Upserted:
    """Insert rows whose ``key`` is new; update stored rows whose ``compare`` columns differ.

    ``data`` is column-oriented and holds each key once. ``compare`` defaults to
    every given column; only those columns (plus ``on_update``, e.g. a fresh
    ``updated_at``) are written on update, so columns the source does not carry
    keep their stored values.
    """
    table = table_of(model)
    keys = data[key]
    compare = [c for c in (compare if compare is not None else data) if c != key]
    existing = fetch_existing(conn, table, key=key, keys=keys, columns=compare)

    n = len(keys)
    ids: list[int] = [0] * n
    new_positions: list[int] = []
    changed: list[int] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    for i, k in enumerate(keys):
        hit = existing.get(k)
        if hit is None:
            new_positions.append(i)
            continue
        ids[i] = hit[0]
        fresh = tuple(normalize(data[c][i]) for c in compare)
        if fresh == hit[1]:
            unchanged += 1
            continue
        row = {"_id": hit[0], **{c: data[c][i] for c in compare}, **(on_update or {})}
        updates.append(row)
        changed.append(i)

    if new_positions:
        start = next_id(conn, table)
        for offset, i in enumerate(new_positions):
            ids[i] = start + offset
        columns: Columns = {"id": [ids[i] for i in new_positions]}
        for name, values in data.items():
            columns[name] = values if len(new_positions) == n else [values[i] for i in new_positions]
        for name, default in model_defaults(model, skip=columns).items():
            columns[name] = [default] * len(new_positions)
        insert_columns(conn, table, columns)
        changed.extend(new_positions)

    update_rows(conn, table, columns=[*compare, *(on_update or {})], rows=updates)
    counts = EntityCounts(inserted=len(new_positions), updated=len(updates), unchanged=unchanged)
    return Upserted(ids=ids, counts=counts, changed=sorted(changed))
