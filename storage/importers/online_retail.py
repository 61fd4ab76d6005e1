"""`crm import online-retail`: the UCI Online Retail file (541,909 lines) in one transaction.

Cleaning is vectorised with pandas; writing is a bulk upsert by external id, so a
re-run changes nothing and a killed run leaves nothing behind. Decisions:

- invoices starting with "C" are returns: status ``returned``, ``returned_at`` = the
  invoice date, lines stored with positive quantities;
- lines without a CustomerID are counted and skipped (they cannot be tied to anyone);
- a line's external id is ``InvoiceNo/n``, n its position within the invoice counting
  every line of the file, so ids stay put if cleaning rules change;
- invoice dates are the shop's local (UK) time, stored as they are;
- prices are in pounds sterling (currency ``GBP``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from storage.errors import ImportFailed
from storage.importers.bulk import bulk_write, table_of, upsert
from storage.importers.regions import region_for
from storage.importers.report import ImportReport, ProgressFn, ReportBuilder
from storage.importers.schema import require_schema
from storage.models import Customer, Order, OrderLine, OrderStatus, Product, line_amount, utcnow

COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")
LINE_CHUNK = 50_000
DEFAULT_MAX_ERRORS = 1_000

# kind -> (column, message), in the order they are tested: a line is reported for the first that applies.
SKIP_REASONS = {
    "missing_id": ("InvoiceNo", "no InvoiceNo or StockCode"),
    "no_customer_id": ("CustomerID", "no CustomerID: the line cannot be tied to a customer"),
    "bad_date": ("InvoiceDate", "InvoiceDate is not a date-time"),
    "bad_quantity": ("Quantity", "Quantity is not a whole number"),
    "bad_price": ("UnitPrice", "UnitPrice is not a number"),
    "non_positive_price": ("UnitPrice", "UnitPrice is zero or negative"),
    "zero_quantity": ("Quantity", "Quantity is zero"),
    "negative_quantity_on_sale": ("Quantity", "negative Quantity on an invoice that is not a return (no 'C' prefix)"),
    "positive_quantity_on_return": ("Quantity", "positive Quantity on a return invoice ('C' prefix)"),
}


def import_online_retail(
    path: str | Path,
    *,
    url: str | None = None,
    progress: ProgressFn | None = None,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
) -> ImportReport:
    """Import the UCI Online Retail CSV (optionally gzipped). Lists at most ``max_errors`` skipped lines."""
    started = time.perf_counter()
    path = Path(path)
    engine = require_schema(url)
    builder = ReportBuilder(source=path, entity="online-retail", max_errors=max_errors)
    _tick(progress, "read", 0, 1)
    raw = read_file(path)
    builder.report.rows_read = len(raw)
    _tick(progress, "clean", 0, 1)

    rows, lines = clean(raw, builder)
    customers = customer_table(lines)
    products = product_table(rows, lines)
    orders = order_table(lines)

    now = utcnow()
    tables = [table_of(m) for m in (Customer, Product, Order, OrderLine)]
    with engine.begin() as conn, bulk_write(conn, tables, large=True):
        _tick(progress, "customers", 0, len(customers))
        done = upsert(conn, Customer, key="external_id", data=_columns(customers), on_update={"updated_at": now})
        builder.add_counts("customer", done.counts)
        customer_ids = dict(zip(customers["external_id"], done.ids, strict=True))

        _tick(progress, "products", 0, len(products))
        done = upsert(conn, Product, key="sku", data=_columns(products))
        builder.add_counts("product", done.counts)
        product_ids = dict(zip(products["sku"], done.ids, strict=True))

        _tick(progress, "orders", 0, len(orders))
        orders["customer_id"] = orders.pop("customer_key").map(customer_ids)
        done = upsert(conn, Order, key="external_id", data=_columns(orders))
        builder.add_counts("orders", done.counts)
        order_ids = dict(zip(orders["external_id"], done.ids, strict=True))

        out = pd.DataFrame(
            {
                "external_id": lines["line_id"],
                "order_id": lines["InvoiceNo"].map(order_ids),
                "product_id": lines["StockCode"].map(product_ids),
                "quantity": lines["quantity"],
                "unit_price": lines["UnitPrice"],
                "discount": 0.0,
                "promo": False,
                "amount": lines["amount"],
            }
        )
        for start in range(0, len(out), LINE_CHUNK):
            _tick(progress, "lines", start, len(out))
            done = upsert(conn, OrderLine, key="external_id", data=_columns(out.iloc[start : start + LINE_CHUNK]))
            builder.add_counts("order_line", done.counts, primary=True)
        _tick(progress, "lines", len(out), len(out))
    return builder.finish(seconds=time.perf_counter() - started)


def _tick(progress: ProgressFn | None, stage: str, done: int, total: int) -> None:
    if progress:
        progress(stage, done, total)


def _columns(frame: pd.DataFrame) -> dict[str, list]:
    """Column lists with every missing value (NaN, NA, NaT) as None, which the drivers store as NULL."""
    out = {}
    for name in frame.columns:
        series = frame[name]
        values = series.tolist()
        if series.isna().any():
            values = [None if missing else v for v, missing in zip(values, series.isna().tolist(), strict=True)]
        out[name] = values
    return out


def read_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ImportFailed(f"file not found: {path}")
    text_cols = {c: "string" for c in ("InvoiceNo", "StockCode", "Description", "InvoiceDate", "CustomerID", "Country")}
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8", encoding_errors="replace")
    except pd.errors.EmptyDataError:
        raise ImportFailed(f"{path} is empty: expected the Online Retail header ({', '.join(COLUMNS)})") from None
    except (OSError, ValueError) as exc:
        raise ImportFailed(f"cannot read {path}: {exc}") from exc
    missing = [c for c in COLUMNS if c not in header.columns]
    if missing:
        raise ImportFailed(f"{path} is not an Online Retail file: missing column(s) {', '.join(missing)}")
    try:
        # Quantity and UnitPrice are read as text and converted below, so one bad cell skips one line.
        return pd.read_csv(
            path,
            usecols=list(COLUMNS),
            dtype={**text_cols, "Quantity": "string", "UnitPrice": "string"},
            encoding="utf-8",
            encoding_errors="replace",
            keep_default_na=False,
            na_values=[""],
        )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ImportFailed(f"cannot read {path}: {exc}") from exc


def clean(raw: pd.DataFrame, builder: ReportBuilder) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every line, typed; the importable lines), reporting every other line by its first reason."""
    df = pd.DataFrame({"line": np.arange(2, len(raw) + 2)})
    df["InvoiceNo"] = raw["InvoiceNo"].str.strip()
    df["StockCode"] = raw["StockCode"].str.strip()
    df["Description"] = raw["Description"].str.strip()
    # pandas wrote the ids as floats ("17850.0"); the id is the integer part.
    df["customer"] = raw["CustomerID"].str.strip().str.removesuffix(".0")
    df["Country"] = raw["Country"].str.strip()
    df["ordinal"] = df.groupby(df["InvoiceNo"].fillna(""), sort=False).cumcount() + 1
    df["at"] = _parse_dates(raw["InvoiceDate"])
    qty = pd.to_numeric(raw["Quantity"], errors="coerce")
    df["UnitPrice"] = pd.to_numeric(raw["UnitPrice"], errors="coerce")
    is_return = df["InvoiceNo"].str.startswith(("C", "c")).fillna(False).astype(bool)

    checks = {
        "missing_id": df["InvoiceNo"].isna() | df["StockCode"].isna(),
        "no_customer_id": df["customer"].isna() | (df["customer"] == ""),
        "bad_date": df["at"].isna(),
        "bad_quantity": qty.isna() | (qty % 1 != 0) | (qty.abs() > 2**31 - 1),
        "bad_price": df["UnitPrice"].isna() | ~np.isfinite(df["UnitPrice"].fillna(0)),
        "non_positive_price": df["UnitPrice"] <= 0,
        "zero_quantity": qty == 0,
        "negative_quantity_on_sale": (qty < 0) & ~is_return,
        "positive_quantity_on_return": (qty > 0) & is_return,
    }
    keep = pd.Series(True, index=df.index)
    for kind, bad in checks.items():
        hit = keep & bad.fillna(False).astype(bool)
        if hit.any():
            column, reason = SKIP_REASONS[kind]
            builder.skip_many(kind=kind, reason=reason, column=column, lines=df.loc[hit, "line"].tolist())
        keep &= ~hit

    out = df[keep].copy()
    out["quantity"] = qty[keep].abs().astype("int64")
    out["is_return"] = is_return[keep]
    out["line_id"] = out["InvoiceNo"] + "/" + out["ordinal"].astype(str)
    # The model's own rounding, line by line, so every writer agrees on amounts.
    out["amount"] = [line_amount(q, p) for q, p in zip(out["quantity"].tolist(), out["UnitPrice"].tolist(), strict=True)]
    return df, out


def _parse_dates(text: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    retry = parsed.isna() & text.notna()
    if retry.any():
        # UCI's own spreadsheet export writes "12/1/2010 8:26".
        parsed[retry] = pd.to_datetime(text[retry], format="%m/%d/%Y %H:%M", errors="coerce")
    return parsed


def _most_frequent(frame: pd.DataFrame, by: str, value: str) -> pd.Series:
    """Per ``by``: the most frequent ``value``; ties go to the smallest value, so the choice is stable."""
    counts = frame.groupby([by, value], sort=False).size().reset_index(name="n")
    counts = counts.sort_values([by, "n", value], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates(by).set_index(by)[value]


def customer_table(lines: pd.DataFrame) -> pd.DataFrame:
    first_seen = lines.groupby("customer", sort=False)["line"].min()
    country = _most_frequent(lines.dropna(subset=["Country"]), "customer", "Country")
    ids = first_seen.sort_values().index
    frame = pd.DataFrame({"external_id": ids})
    frame["name"] = "Customer " + frame["external_id"]
    frame["country"] = frame["external_id"].map(country).astype(object).where(lambda s: s.notna(), None)
    frame["region"] = [region_for(c) for c in frame["country"].tolist()]
    frame["acquired_on"] = frame["external_id"].map(lines.groupby("customer")["at"].min()).dt.date
    return frame


def product_table(rows: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Name: the most frequent description on priced lines; list price: the most frequent price."""
    skus = lines.drop_duplicates("StockCode")["StockCode"]
    described = rows[["StockCode", "Description"]].assign(price=rows["UnitPrice"])
    priced = described[described["price"] > 0]
    names = _most_frequent(priced.dropna(subset=["Description"]), "StockCode", "Description")
    fallback_names = _most_frequent(described.dropna(subset=["Description"]), "StockCode", "Description")
    prices = _most_frequent(priced, "StockCode", "price")
    frame = pd.DataFrame({"sku": skus.to_numpy()})
    name = frame["sku"].map(names).fillna(frame["sku"].map(fallback_names)).fillna(frame["sku"])
    frame["name"] = name.str.slice(0, 300)
    frame["list_price"] = frame["sku"].map(prices).astype(float)
    return frame


def order_table(lines: pd.DataFrame) -> pd.DataFrame:
    grouped = lines.assign(cents=np.rint(lines["amount"].to_numpy() * 100).astype("int64")).groupby(
        "InvoiceNo", sort=False
    )
    first = grouped.agg(
        customer_key=("customer", "first"),
        ordered_at=("at", "min"),
        is_return=("is_return", "first"),
        cents=("cents", "sum"),
        line=("line", "min"),
    ).sort_values("line")
    at = [ts.to_pydatetime() for ts in first["ordered_at"]]
    returns = first["is_return"].to_numpy()
    return pd.DataFrame(
        {
            "external_id": first.index.to_numpy(),
            "customer_key": first["customer_key"].to_numpy(),
            "ordered_at": pd.Series(at, dtype=object),
            "channel": "online",
            "status": np.where(returns, OrderStatus.returned.value, OrderStatus.paid.value),
            "paid_at": pd.Series([None if r else t for r, t in zip(returns, at, strict=True)], dtype=object),
            "returned_at": pd.Series([t if r else None for r, t in zip(returns, at, strict=True)], dtype=object),
            # Integer cents summed exactly, then one division: equal to round(fsum(amounts), 2).
            "total_amount": first["cents"].to_numpy() / 100,
            "currency": "GBP",
        }
    )
