"""`crm import cdnow`: the CDNOW cohort (CDNOW_master.txt or CDNOW_sample.txt), for BG/NBD and Gamma-Gamma.

One order per file row, even when a customer has several rows on one day: the
BTYD fit aggregates per period itself, and merging here would lose information.
Dates and dollar values are stored exactly as written (the date at midnight; the
dollar value is both the line amount and the order total).

Decisions on odd rows (reported, never silent):

- 0 dollars with 1+ CDs (80 rows in the master file): kept as a purchase of value
  0, counted in ``notes["zero_dollar_kept"]``. They are real transactions, the
  published BG/NBD fits count them, and dropping them would change frequency;
- 0 CDs: skipped (``zero_cds``), since an order line needs a positive quantity
  (none in the published files);
- negative values, unparseable fields, wrong field counts: skipped with a reason.

``CDNOW_sample.txt`` has an extra column (the customer's id within the sample);
customers keep their master-file id either way, so both files name the same people.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path

from storage.errors import ImportFailed
from storage.importers.bulk import bulk_write, table_of, upsert
from storage.importers.report import ImportReport, ProgressFn, ReportBuilder
from storage.importers.schema import require_schema
from storage.models import Customer, Order, OrderLine, OrderStatus, Product, utcnow

SKU = "CDNOW-CD"
DEFAULT_MAX_ERRORS = 1_000


class _BadRow(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


class _Row:
    __slots__ = ("customer", "day", "cds", "dollars", "line")

    def __init__(self, customer: int, day: date, cds: int, dollars: float, line: int) -> None:
        self.customer, self.day, self.cds, self.dollars, self.line = customer, day, cds, dollars, line


def import_cdnow(
    path: str | Path,
    *,
    url: str | None = None,
    progress: ProgressFn | None = None,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
) -> ImportReport:
    """Import CDNOW transactions; re-running the same file changes nothing."""
    started = time.perf_counter()
    path = Path(path)
    engine = require_schema(url)
    builder = ReportBuilder(source=path, entity="cdnow", max_errors=max_errors)
    rows = parse(path, builder)
    if progress:
        progress("parse", 1, 1)

    customers = _customers(rows)
    orders, lines = _orders_and_lines(rows)
    tables = [table_of(m) for m in (Customer, Product, Order, OrderLine)]
    with engine.begin() as conn, bulk_write(conn, tables, large=True):
        done = upsert(conn, Customer, key="external_id", data=customers, on_update={"updated_at": utcnow()})
        builder.add_counts("customer", done.counts)
        customer_ids = dict(zip(customers["external_id"], done.ids, strict=True))
        done = upsert(conn, Product, key="sku", data=_product(rows))
        builder.add_counts("product", done.counts)
        product_id = done.ids[0]
        if progress:
            progress("orders", 0, len(rows))
        orders["customer_id"] = [customer_ids[c] for c in orders.pop("customer_key")]
        done = upsert(conn, Order, key="external_id", data=orders)
        builder.add_counts("orders", done.counts, primary=True)
        lines["order_id"] = done.ids
        lines["product_id"] = [product_id] * len(done.ids)
        done = upsert(conn, OrderLine, key="external_id", data=lines)
        builder.add_counts("order_line", done.counts)
    if progress:
        progress("orders", len(rows), len(rows))
    return builder.finish(seconds=time.perf_counter() - started)


def parse(path: Path, builder: ReportBuilder) -> list[_Row]:
    if not path.is_file():
        raise ImportFailed(f"file not found: {path}")
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc}") from exc
    rows: list[_Row] = []
    seen_content = False
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split()
        if not tokens:
            continue
        if not seen_content:
            seen_content = True
            if not tokens[0].isdigit():
                continue  # the master file's header line
        builder.report.rows_read += 1
        try:
            row = _parse_tokens(tokens, number)
        except _BadRow as bad:
            builder.skip(line=number, kind=bad.kind, reason=bad.reason)
            continue
        if row.cds == 0:
            builder.skip(line=number, kind="zero_cds", reason="0 CDs: an order line needs a positive quantity")
            continue
        if row.dollars == 0:
            builder.note("zero_dollar_kept")
        rows.append(row)
    if not seen_content:
        raise ImportFailed(f"{path} is empty: expected CDNOW rows (customer_id date number_of_cds dollar_value)")
    if not rows and builder.report.skipped:
        first = builder.report.errors[0]
        raise ImportFailed(f"{path} does not look like a CDNOW file: line {first.line}: {first.reason}")
    return rows


def _parse_tokens(tokens: list[str], number: int) -> _Row:
    if len(tokens) == 5:
        tokens = [tokens[0], *tokens[2:]]  # CDNOW_sample.txt: drop the id within the sample
    if len(tokens) != 4:
        raise _BadRow("field_count", f"expected 4 fields (customer_id date number_of_cds dollar_value), found {len(tokens)}")
    cid, day, cds, dollars = tokens
    if not cid.isdigit():
        raise _BadRow("bad_id", f"customer id is not a number: {cid!r}")
    try:
        when = datetime.strptime(day, "%Y%m%d").date()
    except ValueError:
        raise _BadRow("bad_date", f"date is not yyyymmdd: {day!r}") from None
    try:
        n = int(cds)
    except ValueError:
        raise _BadRow("bad_quantity", f"number_of_cds is not a whole number: {cds!r}") from None
    try:
        value = float(dollars)
    except ValueError:
        raise _BadRow("bad_amount", f"dollar_value is not a number: {dollars!r}") from None
    if n < 0 or value < 0 or value != value or value in (float("inf"), float("-inf")):
        raise _BadRow("negative_value", f"negative or non-finite value: {cds} CDs, {dollars} dollars")
    return _Row(int(cid), when, n, value, number)


def _customers(rows: list[_Row]) -> dict[str, list]:
    first: dict[int, date] = {}
    for row in rows:
        if row.customer not in first or row.day < first[row.customer]:
            first[row.customer] = row.day
    ids = sorted(first)
    return {
        "external_id": [f"cdnow:{c}" for c in ids],
        "name": [f"CDNOW customer {c}" for c in ids],
        # CDNOW is a cohort: everyone made a first purchase in Q1 1997.
        "acquired_on": [first[c] for c in ids],
    }


def _product(rows: list[_Row]) -> dict[str, list]:
    prices = Counter(round(r.dollars / r.cds, 2) for r in rows if r.dollars > 0)
    most = min(prices.items(), key=lambda kv: (-kv[1], kv[0]))[0] if prices else 0.0
    return {"sku": [SKU], "name": ["CD"], "category": ["Music"], "list_price": [most]}


def _orders_and_lines(rows: list[_Row]) -> tuple[dict[str, list], dict[str, list]]:
    per_day: Counter[tuple[int, date]] = Counter()
    orders: dict[str, list] = {k: [] for k in ("external_id", "customer_key", "ordered_at", "paid_at", "total_amount")}
    lines: dict[str, list] = {k: [] for k in ("external_id", "quantity", "unit_price", "amount")}
    for row in rows:
        per_day[(row.customer, row.day)] += 1
        # n-th row of this customer on this day, in file order: stable across re-runs.
        key = f"cdnow:{row.customer}:{row.day:%Y%m%d}:{per_day[(row.customer, row.day)]}"
        at = datetime.combine(row.day, datetime.min.time())
        orders["external_id"].append(key)
        orders["customer_key"].append(f"cdnow:{row.customer}")
        orders["ordered_at"].append(at)
        orders["paid_at"].append(at)
        orders["total_amount"].append(row.dollars)
        lines["external_id"].append(f"{key}/1")
        lines["quantity"].append(row.cds)
        lines["unit_price"].append(row.dollars / row.cds)
        lines["amount"].append(row.dollars)
    n = len(rows)
    orders.update({"channel": ["online"] * n, "status": [OrderStatus.paid.value] * n, "currency": ["USD"] * n})
    lines.update({"discount": [0.0] * n, "promo": [False] * n})
    return orders, lines
