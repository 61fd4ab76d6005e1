"""The feature snapshot's rows: one dtype per column, the diff against the stored rows, and the fast write.

Split from ``tools.refresh`` (which decides what to compute): this module only knows the
``customer_features`` columns and how each is stored.
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from storage.importers.bulk import insert_columns
from storage.models.features import CustomerFeatures

AGGREGATE_COLUMNS = ("lifetime_spend", "lifetime_orders", "returned_orders")
# Every stored feature column, in table order (the model phases in tools.refresh fill all but the aggregates).
FEATURE_COLUMNS = tuple(c.name for c in CustomerFeatures.__table__.columns
                        if c.name not in ("customer_id", "computed_at", "data_fingerprint"))
INT_COLUMNS = {"lifetime_orders", "returned_orders", "frequency", "r_score", "f_score", "m_score", "cluster", "orders",
                "orders_90d", "orders_prev_90d"}
TIME_COLUMNS = {"first_order_at", "last_order_at"}


def read_snapshot(engine: Engine) -> pd.DataFrame:
    cols = [CustomerFeatures.customer_id, *[getattr(CustomerFeatures, c) for c in FEATURE_COLUMNS]]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols)).all()
    frame = pd.DataFrame(rows, columns=["customer_id", *FEATURE_COLUMNS]).set_index("customer_id")
    return normalise(frame)


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes whether read back from the database or freshly computed, so diffs are exact."""
    frame = frame.copy()
    for col in FEATURE_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    frame = frame[list(FEATURE_COLUMNS)]
    for col in FEATURE_COLUMNS:
        s = frame[col]
        if col in TIME_COLUMNS:
            frame[col] = pd.to_datetime(s).astype("datetime64[us]").dt.floor("s")
        elif col == "churn_reasons":
            frame[col] = [list(v) if isinstance(v, list | tuple | np.ndarray) else None for v in s]
        elif col in ("rfm_segment", "value_tier"):
            frame[col] = s.astype(object).where(s.notna(), None)
        elif col in INT_COLUMNS:
            frame[col] = pd.to_numeric(s, errors="coerce").round().astype("Int64")
        else:
            frame[col] = pd.to_numeric(s, errors="coerce").astype("float64").round(6)
    frame.index = frame.index.astype("int64")
    return frame.sort_index()


def changed_ids(old: pd.DataFrame, new: pd.DataFrame) -> list[int]:
    if old.empty:
        return list(new.index)
    common = new.index.intersection(old.index)
    added = new.index.difference(old.index)
    a, b = new.loc[common], old.loc[common]
    differs = pd.Series(False, index=common)
    for col in FEATURE_COLUMNS:
        x, y = a[col], b[col]
        if col == "churn_reasons":
            differs |= pd.Series([xv != yv for xv, yv in zip(x, y, strict=True)], index=common)
        elif x.dtype == "float64":
            both_nan = x.isna() & y.isna()
            differs |= ~(both_nan | (np.abs(x.fillna(0) - y.fillna(0)) <= 1e-6) & (x.isna() == y.isna()))
        else:
            eq = (x == y).fillna(False).astype(bool) | (x.isna() & y.isna())
            differs |= ~eq
    return sorted([*added.tolist(), *differs[differs].index.tolist()])


def write_rows(
    conn: Connection, frame: pd.DataFrame, *, changed: list[int], removed: list[int], now: datetime, stats: dict,
    replace_all: bool = False,
) -> None:
    rows = frame.loc[changed]
    table = CustomerFeatures.__table__
    sqlite = conn.dialect.name == "sqlite"
    data: dict[str, list] = {"customer_id": rows.index.to_numpy(dtype="int64").tolist()}
    data["computed_at"] = [sqlite_time(np.array([now], dtype="datetime64[us]"))[0] if sqlite else now] * len(rows)
    data["data_fingerprint"] = [stats["fingerprint"]] * len(rows)
    data |= column_lists(rows, sqlite=sqlite)
    gone = [*changed, *removed]
    if replace_all or (len(gone) == len(frame) + len(removed) and len(gone) > 5000):
        conn.execute(delete(table))  # everything changes: one statement instead of chunks of IN (...)
    else:
        for i in range(0, len(gone), 5000):
            conn.execute(delete(table).where(table.c.customer_id.in_(gone[i : i + 5000])))
    if not sqlite:
        insert_columns(conn, table, data)
    elif data["customer_id"]:
        # Values are already what SQLAlchemy's SQLite types would bind (see column_lists): one executemany.
        names = list(data)
        conn.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({", ".join("?" for _ in names)})',
            list(zip(*data.values(), strict=True)),
        )


def sqlite_time(values: np.ndarray) -> list:
    """Datetimes as SQLAlchemy stores them in SQLite ('YYYY-MM-DD HH:MM:SS.ffffff'), None for NaT."""
    text = np.datetime_as_string(values.astype("datetime64[us]"), unit="us")
    return [None if v == "NaT" else v.replace("T", " ") for v in text.tolist()]


def column_lists(rows: pd.DataFrame, *, sqlite: bool) -> dict[str, list]:
    """Values per column as the driver takes them (None for missing), converted a column at a time.

    On SQLite, datetimes and the JSON reasons are formatted here exactly as SQLAlchemy's types
    would bind them, so the insert can skip the per-cell bind processors.
    """
    out: dict[str, list] = {}
    for col in FEATURE_COLUMNS:
        s = rows[col]
        if col in TIME_COLUMNS:
            values = s.to_numpy(dtype="datetime64[us]")
            out[col] = sqlite_time(values) if sqlite else values.astype(object).tolist()  # NaT becomes None
        elif col == "churn_reasons" and sqlite:
            out[col] = [None if v is None else json.dumps(v) for v in s.tolist()]
        elif col in INT_COLUMNS or s.dtype == "float64":
            arr = s.to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(arr)
            values = (np.where(missing, 0, arr).astype("int64") if col in INT_COLUMNS else arr).tolist()
            for i in np.flatnonzero(missing).tolist():
                values[i] = None
            out[col] = values
        else:
            out[col] = s.tolist()  # strings and reason lists: already None when missing (see normalise)
    return out
