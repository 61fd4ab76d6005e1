"""`import_online_retail`: a small generated file on both backends, and the real file against the README's figures."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from storage.db import engine_for
from storage.errors import ImportFailed
from storage.importers import import_online_retail
from storage.models import Customer, Order, OrderLine, Product

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
SMALL = HEADER + """\
536365,85123A,WHITE HANGING HEART,6.0,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6.0,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536365,22000,NO CUSTOMER,1,2010-12-01 08:26:00,1.00,,United Kingdom
536366,85123A,WHITE HANGING HEART,2,2010-12-02 09:00:00,2.95,13047.0,France
536366,22001,FREE THING,1,2010-12-02 09:00:00,0.0,13047.0,France
536366,22002,ZERO,0,2010-12-02 09:00:00,1.0,13047.0,France
C536367,85123A,WHITE HANGING HEART,-2,2010-12-03 10:00:00,2.55,17850.0,United Kingdom
536368,85123A,"HEART, WHITE",1,2010-12-04 11:00:00,2.55,12345.0,Unspecified
536369,71053,,-1,2010-12-04 10:00:00,3.39,17850.0,United Kingdom
536370,71053,,abc,2010-12-04 10:00:00,3.39,17850.0,United Kingdom
536371,71053,,1,yesterday,3.39,17850.0,United Kingdom
536372,71053,,1.5,2010-12-05 10:00:00,3.39,17850.0,United Kingdom
"""


def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "online_retail.csv"
    path.write_text(SMALL, encoding="utf-8")
    return path


def fetch(url: str, stmt) -> list[tuple]:
    with engine_for(url).connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


def test_small_file_cleaning_returns_and_ids(database_url, tmp_path):
    report = import_online_retail(small_file(tmp_path), url=database_url)
    assert report.rows_read == 12
    assert report.reasons == {
        "bad_date": 1,
        "bad_quantity": 2,
        "negative_quantity_on_sale": 1,
        "no_customer_id": 1,
        "non_positive_price": 1,
        "zero_quantity": 1,
    }
    assert [(e.line, e.kind) for e in report.errors][:2] == [(4, "no_customer_id"), (12, "bad_date")]
    assert report.inserted == 5 and report.skipped == 7

    assert fetch(database_url, select(Customer.external_id, Customer.name, Customer.country, Customer.region,
                                      Customer.acquired_on).order_by(Customer.id)) == [
        ("17850", "Customer 17850", "United Kingdom", "Europe", date(2010, 12, 1)),
        ("13047", "Customer 13047", "France", "Europe", date(2010, 12, 2)),
        ("12345", "Customer 12345", "Unspecified", None, date(2010, 12, 4)),
    ]
    # Most frequent description on priced lines; most frequent price (2.55 three times, 2.95 once).
    assert fetch(database_url, select(Product.sku, Product.name, Product.list_price).order_by(Product.id)) == [
        ("85123A", "WHITE HANGING HEART", 2.55),
        ("71053", "WHITE METAL LANTERN", 3.39),
    ]
    assert fetch(database_url, select(Order.external_id, Order.status, Order.ordered_at, Order.returned_at,
                                      Order.total_amount, Order.currency).order_by(Order.id)) == [
        ("536365", "paid", datetime(2010, 12, 1, 8, 26), None, 35.64, "GBP"),
        ("536366", "paid", datetime(2010, 12, 2, 9, 0), None, 5.9, "GBP"),
        ("C536367", "returned", datetime(2010, 12, 3, 10, 0), datetime(2010, 12, 3, 10, 0), 5.1, "GBP"),
        ("536368", "paid", datetime(2010, 12, 4, 11, 0), None, 2.55, "GBP"),
    ]
    # Line ids count every line of the invoice in the file, kept or not.
    assert fetch(database_url, select(OrderLine.external_id, OrderLine.quantity, OrderLine.amount)
                 .order_by(OrderLine.id)) == [
        ("536365/1", 6, 15.3), ("536365/2", 6, 20.34), ("536366/1", 2, 5.9), ("C536367/1", 2, 5.1),
        ("536368/1", 1, 2.55),
    ]


def test_rerun_changes_nothing(database_url, tmp_path):
    path = small_file(tmp_path)
    import_online_retail(path, url=database_url)
    before = fetch(database_url, text("SELECT id, external_id, total_amount FROM orders ORDER BY id"))
    again = import_online_retail(path, url=database_url)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    assert all(c.inserted == c.updated == 0 for c in again.per_table.values())
    assert fetch(database_url, text("SELECT id, external_id, total_amount FROM orders ORDER BY id")) == before


def test_error_list_is_capped_but_counts_are_exact(sqlite_url, tmp_path):
    report = import_online_retail(small_file(tmp_path), url=sqlite_url, max_errors=2)
    assert len(report.errors) == 2 and report.errors_omitted == 5 and report.skipped == 7


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "is empty"), ("InvoiceNo,StockCode,Quantity\n1,2,3\n", "missing column(s) Description, InvoiceDate")],
)
def test_cannot_start(sqlite_url, tmp_path, body, message):
    path = tmp_path / "x.csv"
    path.write_text(body)
    with pytest.raises(ImportFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_online_retail(path, url=sqlite_url)
    with pytest.raises(ImportFailed, match="file not found"):
        import_online_retail(tmp_path / "missing.csv", url=sqlite_url)


@pytest.mark.slow
def test_real_file_matches_the_reference_figures(sqlite_url, dataset):
    import pandas as pd

    path = dataset("online_retail", "online_retail.csv.gz")
    report = import_online_retail(path, url=sqlite_url)
    assert report.seconds < 60, f"full import took {report.seconds:.1f} s"
    assert report.rows_read == 541_909
    assert report.reasons["no_customer_id"] == 135_080

    with engine_for(sqlite_url).connect() as conn:
        sale_lines, sale_customers = conn.execute(text(
            "SELECT COUNT(*), COUNT(DISTINCT o.customer_id) FROM order_line l JOIN orders o ON o.id = l.order_id "
            "WHERE o.status NOT IN ('returned', 'cancelled') AND l.quantity > 0 AND l.unit_price > 0")).one()
        order_ids = {r[0] for r in conn.execute(text("SELECT external_id FROM orders"))}
        skus = {r[0] for r in conn.execute(text("SELECT sku FROM product"))}
        returned_lines = conn.execute(text(
            "SELECT COUNT(*) FROM order_line l JOIN orders o ON o.id = l.order_id WHERE o.status = 'returned' "
            "AND o.returned_at = o.ordered_at AND l.quantity > 0")).scalar()
        off_totals = conn.execute(text(
            "SELECT COUNT(*) FROM orders o WHERE abs(o.total_amount - "
            "(SELECT SUM(amount) FROM order_line WHERE order_id = o.id)) > 0.005")).scalar()
        sales = conn.execute(text("SELECT SUM(total_amount) FROM orders WHERE status = 'paid'")).scalar()
    assert (sale_lines, sale_customers) == (397_884, 4_338)
    assert off_totals == 0

    # The same figures straight from the file, independently of the importer's code.
    raw = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    assert (raw["InvoiceNo"].nunique(), raw["StockCode"].nunique()) == (25_900, 4_070)
    has_customer = raw["CustomerID"].notna() & (raw["UnitPrice"] > 0) & (raw["Quantity"] != 0)
    is_return = raw["InvoiceNo"].str.startswith("C")
    kept = raw[has_customer & ((is_return & (raw["Quantity"] < 0)) | (~is_return & (raw["Quantity"] > 0)))]
    assert order_ids == set(kept["InvoiceNo"])
    assert skus == set(kept["StockCode"])
    assert returned_lines == int((kept["InvoiceNo"].str.startswith("C")).sum())
    clean_sales = kept[~kept["InvoiceNo"].str.startswith("C")]
    assert len(order_ids) - len(set(kept.loc[is_return, "InvoiceNo"])) == clean_sales["InvoiceNo"].nunique()
    assert sales == pytest.approx((clean_sales["Quantity"] * clean_sales["UnitPrice"]).sum(), abs=1.0)
