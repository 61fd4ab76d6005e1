"""`import_cdnow`: exact dates and amounts for the BTYD fits, odd rows reported, both file layouts."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from storage.db import engine_for
from storage.errors import ImportFailed
from storage.importers import import_cdnow
from storage.models import Customer, Order, OrderLine

# The master file's own layout: a header, space-padded columns, CRLF line ends.
MASTER = "\r\n".join([
    " customer_id  date number_of_cds  dollar_value",
    " 00001 19970101  1   11.77",
    " 00002 19970112  1   12.00",
    " 00002 19970112  5   77.00",
    " 00003 19970102  2   20.76",
    " 00003 19970330  1    0.00",
    " 00004 19970101  0   15.00",
    " 00005 19970231  1   10.00",
    " 00006 19970101  1",
    " 00007 19970101 -1   10.00",
    " 000x8 19970101  1   10.00",
    "",
]) + "\r\n"
# CDNOW_sample.txt: master id, id within the sample, then the same columns; no header.
SAMPLE = " 00002 0001 19970112  1   12.00\n 00002 0001 19970112  5   77.00\n 00003 0002 19970102  2   20.76\n"


def put(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode())
    return path


def fetch(url: str, stmt) -> list[tuple]:
    with engine_for(url).connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


def test_master_layout_exact_values_and_reported_rows(database_url, tmp_path):
    report = import_cdnow(put(tmp_path, "CDNOW_master.txt", MASTER), url=database_url)
    assert report.rows_read == 10
    assert report.inserted == 5
    assert report.notes == {"zero_dollar_kept": 1}
    assert report.reasons == {"bad_date": 1, "bad_id": 1, "field_count": 1, "negative_value": 1, "zero_cds": 1}
    assert [(e.line, e.kind) for e in report.errors] == [
        (7, "zero_cds"), (8, "bad_date"), (9, "field_count"), (10, "negative_value"), (11, "bad_id")
    ]
    assert fetch(database_url, select(Customer.external_id, Customer.acquired_on).order_by(Customer.id)) == [
        ("cdnow:1", date(1997, 1, 1)), ("cdnow:2", date(1997, 1, 12)), ("cdnow:3", date(1997, 1, 2))
    ]
    # Same customer, same day: two orders, kept apart.
    assert fetch(database_url, select(Order.external_id, Order.ordered_at, Order.total_amount, Order.status)
                 .order_by(Order.id)) == [
        ("cdnow:1:19970101:1", datetime(1997, 1, 1), 11.77, "paid"),
        ("cdnow:2:19970112:1", datetime(1997, 1, 12), 12.0, "paid"),
        ("cdnow:2:19970112:2", datetime(1997, 1, 12), 77.0, "paid"),
        ("cdnow:3:19970102:1", datetime(1997, 1, 2), 20.76, "paid"),
        ("cdnow:3:19970330:1", datetime(1997, 3, 30), 0.0, "paid"),
    ]
    lines = fetch(database_url, select(OrderLine.quantity, OrderLine.unit_price, OrderLine.amount).order_by(OrderLine.id))
    assert [(q, a) for q, _, a in lines] == [(1, 11.77), (1, 12.0), (5, 77.0), (2, 20.76), (1, 0.0)]
    assert all(round(q * p, 2) == a for q, p, a in lines)


def test_sample_layout_names_the_same_customers_and_orders(database_url, tmp_path):
    import_cdnow(put(tmp_path, "CDNOW_master.txt", MASTER), url=database_url)
    report = import_cdnow(put(tmp_path, "CDNOW_sample.txt", SAMPLE), url=database_url)
    assert (report.inserted, report.updated, report.unchanged, report.skipped) == (0, 0, 3, 0)
    again = import_cdnow(put(tmp_path, "CDNOW_master.txt", MASTER), url=database_url)
    assert all(c.inserted == c.updated == 0 for c in again.per_table.values())


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "is empty"), (" \r\n \r\n", "is empty"), ("a,b,c\n1,2,3\n", "does not look like a CDNOW file")],
)
def test_cannot_start(sqlite_url, tmp_path, body, message):
    with pytest.raises(ImportFailed, match=message):
        import_cdnow(put(tmp_path, "x.txt", body), url=sqlite_url)
    with pytest.raises(ImportFailed, match="file not found"):
        import_cdnow(tmp_path / "nope.txt", url=sqlite_url)


@pytest.mark.slow
def test_real_master_and_sample_files(sqlite_url, dataset):
    import pandas as pd

    master = dataset("cdnow", "CDNOW_master.txt")
    report = import_cdnow(master, url=sqlite_url)
    assert (report.rows_read, report.inserted, report.skipped) == (69_659, 69_659, 0)
    assert report.notes == {"zero_dollar_kept": 80}

    raw = pd.read_csv(master, sep=r"\s+", dtype={"customer_id": str, "date": str})
    per_customer = raw.groupby(raw["customer_id"].astype(int))["dollar_value"].agg(["sum", "count"])
    with engine_for(sqlite_url).connect() as conn:
        stored = pd.read_sql_query(
            "SELECT c.external_id, SUM(o.total_amount) AS total, COUNT(*) AS n, MIN(o.ordered_at) AS first "
            "FROM orders o JOIN customer c ON c.id = o.customer_id GROUP BY c.external_id", conn)
        line_sum = conn.execute(text("SELECT SUM(amount), SUM(quantity) FROM order_line")).one()
    stored["id"] = stored["external_id"].str.removeprefix("cdnow:").astype(int)
    stored = stored.set_index("id").sort_index()
    assert len(stored) == 23_570
    assert (stored["n"] == per_customer["count"]).all()
    assert (stored["total"] - per_customer["sum"]).abs().max() < 1e-6
    assert line_sum[0] == pytest.approx(raw["dollar_value"].sum(), abs=1e-6)
    assert line_sum[1] == raw["number_of_cds"].sum()
    assert stored["first"].min().startswith("1997-01-01") and stored["first"].max() < "1997-04-01"

    sample = import_cdnow(dataset("cdnow", "CDNOW_sample.txt"), url=sqlite_url)
    assert (sample.rows_read, sample.unchanged, sample.inserted) == (6_919, 6_919, 0)
    assert sample.per_table["customer"].unchanged == 2_357
