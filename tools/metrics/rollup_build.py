"""Building the monthly rollups (``crm refresh``): from the shared order book and one read of order lines.

Orders come from ``tools.order_frames.OrderBook`` (already in memory for the other refresh
phases); lines are read once, straight from the driver into numpy. Every dimension is a
categorical, so the group-bys below work on small integer codes.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from storage.models import NON_REVENUE_STATUSES, Campaign, Customer, Product
from tools.line_frames import positions
from tools.metrics.rollups import ORDER_COUNTS, ROLLUPS, Rollup
from tools.order_frames import OrderBook, to_ms

MEASURE_COLUMNS = ("revenue", "orders", "returns", "returns_value", "placed_orders", "units", "discount_amount",
                   "promo_revenue", "line_revenue")


def orders_frame(book: OrderBook, *, before: datetime, since: datetime | None = None) -> pd.DataFrame:
    """Orders in [since, before) as [order_id, customer_id, month, status, total, channel, campaign_id]."""
    keep = book.ms < to_ms(before)
    if since is not None:
        keep &= book.ms >= to_ms(since)
    ms = book.ms[keep]
    month_index = ms.astype("datetime64[ms]").astype("datetime64[M]").astype("int64")
    months, codes = np.unique(month_index, return_inverse=True)
    labels = [str(m) for m in months.astype("datetime64[M]")]  # 'YYYY-MM'
    campaign = book.campaign_id[keep].astype("float64")
    campaign[campaign < 0] = np.nan
    return pd.DataFrame({
        "order_id": book.order_id[keep],
        "customer_id": book.customer_id[keep],
        "month": pd.Categorical.from_codes(codes.astype("int32"), categories=labels),
        "status": pd.Categorical.from_codes(book.status[keep], categories=list(book.statuses)),
        "total": book.amount[keep],
        "channel": pd.Categorical.from_codes(book.channel[keep], categories=list(book.channels)),
        "campaign_id": campaign,
    })


def build_rollups(
    engine: Engine,
    *,
    orders: pd.DataFrame,
    lines: pd.DataFrame | None,
    segments: pd.DataFrame | None,
    only: set[str] | None = None,
) -> pd.DataFrame:
    """Rollup rows for ``orders`` (``orders_frame``) and their ``lines`` (``read_lines``), shaped like MetricsRollup.

    ``segments``: the snapshot's [rfm_segment, value_tier] indexed by customer_id;
    ``only``: build just these rollups (``lines`` may be None when none of them is a line rollup).
    Each group-by is one ``np.unique`` over a single integer key made of the dimensions' codes.
    """
    chosen = [r for r in ROLLUPS if only is None or r.name in only]
    if orders.empty:
        return pd.DataFrame()
    customers, campaigns, products = _dimension_tables(engine)
    keys = _order_keys(orders, customers, segments, campaigns)
    status_codes, statuses = _codes(orders["status"])
    revenue = ~np.isin(status_codes, [i for i, s in enumerate(statuses) if s in NON_REVENUE_STATUSES])
    returned = status_codes == (statuses.index("returned") if "returned" in statuses else -1)
    placed = status_codes != (statuses.index("cancelled") if "cancelled" in statuses else -1)
    total = orders["total"].to_numpy(dtype="float64")
    measures = {
        "revenue": np.where(revenue, total, 0.0), "orders": revenue.astype(float), "returns": returned.astype(float),
        "returns_value": np.where(returned, total, 0.0), "placed_orders": placed.astype(float),
    }
    frames = [_rollup_rows(r, keys, measures) for r in chosen if r.fact == "orders"]
    line_rollups = [r for r in chosen if r.fact == "lines"]
    if line_rollups and lines is not None and not lines.empty:
        at, lines = _orderpositions(orders["order_id"].to_numpy(), lines)
        line_keys = {name: (keys[name][0][at], keys[name][1]) for name in ("month", "owner_id", "channel", "region")}
        product_at, known = positions(products.index.to_numpy(), lines["product_id"].to_numpy())
        for name in ("category", "brand"):
            codes, labels = _codes(products[name])
            line_keys[name] = (np.where(known, codes[product_at] if len(products) else 0, len(labels) - 1), labels)
        rev = revenue[at]
        amount = lines["amount"].to_numpy()
        line_measures = {
            "revenue": np.where(rev, amount, 0.0),
            "line_revenue": np.where(rev, amount, 0.0),
            "units": np.where(rev, lines["quantity"].to_numpy(), 0.0),
            "discount_amount": np.where(rev, lines["discount_value"].to_numpy(), 0.0),
            "promo_revenue": np.where(rev & (lines["promo"].to_numpy() > 0), amount, 0.0),
            "returns_value": np.where(returned[at], amount, 0.0),
        }
        flags = {"orders": revenue, "returns": returned, "placed_orders": placed}
        frames += [_rollup_rows(r, line_keys, line_measures, orders_at=(at, flags)) for r in line_rollups]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


Codes = tuple[np.ndarray, list]  # (int64 code per row, labels; the last label is None, for missing values)


def _codes(values) -> Codes:
    cat = pd.Categorical(values)
    codes = cat.codes.astype("int64")
    codes[codes < 0] = len(cat.categories)
    return codes, [*cat.categories.tolist(), None]


def _dimension_tables(engine: Engine) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    with engine.connect() as conn:
        customers = pd.DataFrame(
            _tuples(conn, select(Customer.id, Customer.owner_id, Customer.region, Customer.city, Customer.country,
                                 Customer.loyalty_tier, Customer.gender)),
            columns=["customer_id", "owner_id", "region", "city", "country", "tier", "gender"],
        ).set_index("customer_id").sort_index()
        campaigns = dict(_tuples(conn, select(Campaign.id, Campaign.name)))
        products = pd.DataFrame(_tuples(conn, select(Product.id, Product.category, Product.brand)),
                                columns=["product_id", "category", "brand"]).set_index("product_id").sort_index()
    return customers, campaigns, products


def _tuples(conn, stmt) -> list[tuple]:
    """Plain tuples from the driver (SQLAlchemy Row objects cost more than the query on 100k rows)."""
    result = conn.execute(stmt)
    rows = result.cursor.fetchall()
    result.close()
    return rows


def _order_keys(orders: pd.DataFrame, customers: pd.DataFrame, segments: pd.DataFrame | None, campaigns: dict) -> dict:
    """Per order, the codes of every dimension a rollup may use."""
    keys: dict[str, Codes] = {name: _codes(orders[name]) for name in ("month", "channel")}
    ids = customers.index.to_numpy()
    at, known = positions(ids, orders["customer_id"].to_numpy())
    owner = customers["owner_id"].astype("Int64")
    for name, column in (("owner_id", owner), ("region", customers["region"]), ("city", customers["city"]),
                         ("country", customers["country"]), ("tier", customers["tier"]),
                         ("gender", customers["gender"])):
        codes, labels = _codes(column)
        keys[name] = (np.where(known, codes[at] if len(ids) else 0, len(labels) - 1), labels)
    for name, column in (("segment", "rfm_segment"), ("value_tier", "value_tier")):
        if segments is not None and not segments.empty:
            codes, labels = _codes(segments[column].reindex(ids).to_numpy(dtype=object))
            keys[name] = (np.where(known, codes[at] if len(ids) else 0, len(labels) - 1), labels)
        else:
            keys[name] = (np.zeros(len(orders), dtype="int64"), [None])
    # Campaign names by id: codes over the few distinct ids, not a million names.
    ids_seen, inverse = np.unique(orders["campaign_id"].fillna(-1).to_numpy(dtype="int64"), return_inverse=True)
    names = [campaigns.get(int(i), "(none)") if i >= 0 else "(none)" for i in ids_seen]
    codes, labels = _codes(names)
    keys["campaign"] = (codes[inverse], labels)
    return keys


def _orderpositions(order_ids: np.ndarray, lines: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """For each line, the row of its order in ``order_ids`` (ascending, as the order book keeps them)."""
    pos, found = positions(order_ids, lines["order_id"].to_numpy())
    if found.all():
        return pos, lines
    return pos[found], lines[found].reset_index(drop=True)


def _group_index(flat: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys (sorted) and each row's group number: a counting pass when the key space is small."""
    if span > 8_000_000:
        return np.unique(flat, return_inverse=True)
    present = np.bincount(flat, minlength=span) > 0
    number = np.cumsum(present) - 1
    return np.flatnonzero(present), number[flat]


def _rollup_rows(rollup: Rollup, keys: dict[str, Codes], measures: dict[str, np.ndarray],
                 orders_at: tuple[np.ndarray, dict[str, np.ndarray]] | None = None) -> pd.DataFrame:
    """One row per observed (month, owner, *dims) with the summed measures (order counts: distinct orders)."""
    names = ["month", "owner_id", *rollup.dims]
    sizes = [len(keys[n][1]) for n in names]
    flat = np.ravel_multi_index([keys[n][0] for n in names], sizes)
    groups, inverse = _group_index(flat, int(np.prod(sizes, dtype="float64")))
    out: dict[str, object] = {"rollup": rollup.name}
    for name, codes in zip(names, np.unravel_index(groups, sizes), strict=True):
        column = "month" if name == "month" else "owner_id" if name == "owner_id" else f"d{rollup.dims.index(name) + 1}"
        out[column] = np.asarray(keys[name][1], dtype=object)[codes]
    for i in range(len(rollup.dims) + 1, 5):
        out[f"d{i}"] = None
    for m in MEASURE_COLUMNS:
        values = measures.get(m)
        out[m] = np.bincount(inverse, weights=values, minlength=len(groups)) if values is not None else 0.0
    if orders_at is not None:
        # An order counts once per group however many of its lines fall in it.
        at, flags = orders_at
        width = int(at.max()) + 1 if len(at) else 1
        pairs = np.sort(inverse.astype("int64") * width + at)
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]  # sorting beats np.unique's hash path here
        group, order = np.divmod(pairs, width)
        for m in ORDER_COUNTS:
            out[m] = np.bincount(group, weights=flags[m][order], minlength=len(groups))
    frame = pd.DataFrame(out)
    return frame[["rollup", "month", "owner_id", "d1", "d2", "d3", "d4", *MEASURE_COLUMNS]]


def rollup_columns(frame: pd.DataFrame) -> dict[str, list]:
    """Column lists ready for a bulk insert: plain ints, floats, strings and None (never NaN)."""
    out: dict[str, list] = {}
    for col in frame.columns:
        s = frame[col]
        if col == "owner_id":
            arr = pd.to_numeric(s.astype(object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            out[col] = _with_none(np.where(np.isnan(arr), 0, arr).astype("int64").tolist(), np.isnan(arr))
        elif col in ("rollup", "month", "d1", "d2", "d3", "d4"):
            values = s.astype(object)
            out[col] = values.where(values.notna(), None).tolist()  # dimension values are text already
        else:
            out[col] = s.to_numpy(dtype="float64").tolist()
    return out


def _with_none(values: list, missing: np.ndarray) -> list:
    for i in np.flatnonzero(missing).tolist():
        values[i] = None
    return values
