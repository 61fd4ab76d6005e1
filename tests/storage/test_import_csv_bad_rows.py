"""Every kind of bad CSV row gets one clear, line-numbered error, and nothing of it is written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import engine_for
from storage.importers import import_csv

NOW = datetime(2025, 6, 1, 12, 0)

HEADERS = {
    "customers": "external_id,name,email,loyalty_points,marketing_consent,birth_date,social_handles,tags",
    "products": "sku,name,list_price",
    "orders": "external_id,customer_external_id,ordered_at,channel,status",
    "order-lines": "external_id,order_external_id,sku,quantity,unit_price,discount",
    "interactions": "external_id,customer_external_id,staff_email,channel,kind,direction,occurred_at,sentiment,"
                    "ticket_status",
}
GOOD = {
    "customers": ["g1,Good One,g1@example.com,5,yes,1990-01-01,,", "g2,Good Two,,0,no,,,"],
    "products": ["G1,Good,1.5", "G2,Good 2,0"],
    "orders": ["g1,c1,2025-01-01 10:00,online,paid", "g2,c1,2025-01-02,store,returned"],
    "order-lines": ["g1,o1,P1,1,2.5,0", "g2,o1,P1,2,2.5,0.5"],
    "interactions": ["g1,c1,rita@example.com,phone,call,inbound,2025-05-01 09:00,0.5,",
                     "g2,c1,,email,ticket,outbound,2025-05-02,,open"],
}
KEY_TABLE = {
    "customers": ("customer", "external_id"),
    "products": ("product", "sku"),
    "orders": ("orders", "external_id"),
    "order-lines": ("order_line", "external_id"),
    "interactions": ("interaction", "external_id"),
}

# (id, entity, bad row, expected kind, expected column)
CASES = [
    ("wrong_type_int", "customers", "bad,Bad,,1.5,yes,,,", "not_a_number", "loyalty_points"),
    ("non_numeric_quantity", "order-lines", "bad,o1,P1,two,2.5,0", "not_a_number", "quantity"),
    ("nan_price", "order-lines", "bad,o1,P1,1,nan,0", "not_a_number", "unit_price"),
    ("missing_id", "customers", ",No Id,,0,no,,,", "missing_id", "external_id"),
    ("negative_quantity", "order-lines", "bad,o1,P1,-3,2.5,0", "out_of_range", "quantity"),
    ("zero_quantity", "order-lines", "bad,o1,P1,0,2.5,0", "out_of_range", "quantity"),
    ("huge_quantity", "order-lines", "bad,o1,P1,99999999999,2.5,0", "out_of_range", "quantity"),
    ("negative_line_price", "order-lines", "bad,o1,P1,1,-2.5,0", "out_of_range", "unit_price"),
    ("negative_list_price", "products", "BAD,Bad,-1", "out_of_range", "list_price"),
    ("discount_above_1", "order-lines", "bad,o1,P1,1,2.5,1.5", "out_of_range", "discount"),
    ("discount_below_0", "order-lines", "bad,o1,P1,1,2.5,-0.1", "out_of_range", "discount"),
    ("unparseable_date", "orders", "bad,c1,02/01/2025,online,paid", "bad_date", "ordered_at"),
    ("impossible_date", "customers", "bad,Bad,,0,no,2020-02-30,,", "bad_date", "birth_date"),
    ("unix_time_is_not_a_date", "orders", "bad,c1,1735689600,online,paid", "bad_date", "ordered_at"),
    ("unknown_customer", "orders", "bad,nobody,2025-01-01,online,paid", "unknown_customer", "customer_external_id"),
    ("unknown_product", "order-lines", "bad,o1,NOPE,1,2.5,0", "unknown_product", "sku"),
    ("unknown_order", "order-lines", "bad,o404,P1,1,2.5,0", "unknown_order", "order_external_id"),
    ("unknown_staff", "interactions", "bad,c1,ghost@example.com,phone,call,inbound,2025-05-01,,",
     "unknown_staff", "staff_email"),
    ("bad_email", "customers", "bad,Bad,not-an-email,0,no,,,", "bad_email", "email"),
    ("unknown_channel", "orders", "bad,c1,2025-01-01,fax,paid", "unknown_enum", "channel"),
    ("unknown_status", "orders", "bad,c1,2025-01-01,online,lost", "unknown_enum", "status"),
    ("unknown_kind", "interactions", "bad,c1,,phone,telepathy,inbound,2025-05-01,,", "unknown_enum", "kind"),
    ("unknown_direction", "interactions", "bad,c1,,phone,call,sideways,2025-05-01,,", "unknown_enum", "direction"),
    ("unknown_ticket_status", "interactions", "bad,c1,,phone,ticket,inbound,2025-05-01,,lost",
     "unknown_enum", "ticket_status"),
    ("sentiment_out_of_range", "interactions", "bad,c1,,phone,call,inbound,2025-05-01,2,", "out_of_range",
     "sentiment"),
    ("future_dated", "interactions", "bad,c1,,phone,call,inbound,2099-01-01,,", "future_date", "occurred_at"),
    ("future_birth_date", "customers", "bad,Bad,,0,no,2030-01-01,,", "future_date", "birth_date"),
    ("over_long_name", "customers", "bad," + "N" * 201 + ",,0,no,,,", "too_long", "name"),
    ("over_long_tag", "customers", "bad,Bad,,0,no,,," + "t" * 61, "too_long", "tags"),
    ("blank_required_name", "products", "BAD,,3", "blank_required", "name"),
    ("blank_required_date", "orders", "bad,c1,,online,paid", "blank_required", "ordered_at"),
    ("bad_bool", "customers", "bad,Bad,,0,maybe,,,", "bad_bool", "marketing_consent"),
    ("bad_json", "customers", "bad,Bad,,0,no,,{not json},", "invalid_value", "social_handles"),
    ("too_many_fields", "products", "BAD,Bad,1,extra", "field_count", None),
    ("too_few_fields", "orders", "bad,c1,2025-01-01", "field_count", None),
    ("nul_byte", "customers", "bad,Ba\x00d,,0,no,,,", "control_character", "name"),
]


def seed(url: str) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(text("INSERT INTO staff_user (id, name, email, role, is_head_of_sales, is_active, created_at) "
                          "VALUES (1, 'Rita', 'rita@example.com', 'rep', false, true, :at)"), {"at": NOW})
        conn.execute(text("INSERT INTO customer (id, external_id, name, loyalty_points, overdue_amount, "
                          "follower_count, marketing_consent, created_at, updated_at) "
                          "VALUES (1, 'c1', 'Cee', 0, 0, 0, false, :at, :at)"), {"at": NOW})
        conn.execute(text("INSERT INTO product (id, sku, name, list_price) VALUES (1, 'P1', 'Pea', 2.5)"))
        conn.execute(text("INSERT INTO orders (id, external_id, customer_id, ordered_at, channel, status, "
                          "total_amount, currency) VALUES (1, 'o1', 1, :at, 'online', 'paid', 0, 'USD')"), {"at": NOW})


def keys(url: str, entity: str) -> list[str]:
    table, key = KEY_TABLE[entity]
    with engine_for(url).connect() as conn:
        return [r[0] for r in conn.execute(text(f"SELECT {key} FROM {table} ORDER BY id"))]


def write_csv(path: Path, entity: str, bad: str | bytes) -> Path:
    good = GOOD[entity]
    head = f"{HEADERS[entity]}\n{good[0]}\n".encode()
    tail = f"\n{good[1]}\n".encode()
    path.write_bytes(head + (bad if isinstance(bad, bytes) else bad.encode()) + tail)
    return path


@pytest.mark.parametrize(("case", "entity", "bad", "kind", "column"), CASES, ids=[c[0] for c in CASES])
def test_bad_row_is_reported_and_not_written(sqlite_url, tmp_path, case, entity, bad, kind, column):
    seed(sqlite_url)
    before = keys(sqlite_url, entity)
    report = import_csv(write_csv(tmp_path / "f.csv", entity, bad), entity=entity, url=sqlite_url, now=NOW)
    assert report.skipped == 1, report.errors
    (err,) = report.errors
    assert (err.line, err.kind, err.column) == (3, kind, column), err
    assert err.reason and len(err.reason) < 400
    assert report.reasons == {kind: 1}
    assert report.inserted == 2
    added = [k for k in keys(sqlite_url, entity) if k not in before]
    assert added == [GOOD[entity][0].split(",")[0], GOOD[entity][1].split(",")[0]]
    if entity == "order-lines":
        # The order's total counts the good lines only.
        with engine_for(sqlite_url).connect() as conn:
            assert conn.execute(text("SELECT total_amount FROM orders WHERE id = 1")).scalar() == 5.0


def test_invalid_utf8_on_one_line_spares_the_others(sqlite_url, tmp_path):
    seed(sqlite_url)
    path = write_csv(tmp_path / "f.csv", "customers", b"bad,Caf\xe9 \xff,,0,no,,,")
    report = import_csv(path, entity="customers", url=sqlite_url, now=NOW)
    assert [(e.line, e.kind) for e in report.errors] == [(3, "bad_encoding")]
    assert report.inserted == 2
    assert "bad" not in keys(sqlite_url, "customers")


def test_duplicate_ids_in_one_file_keep_the_first(sqlite_url, tmp_path):
    seed(sqlite_url)
    path = tmp_path / "f.csv"
    path.write_text("sku,name\nA,First\nB,Bee\nA,Second\n", encoding="utf-8")
    report = import_csv(path, entity="products", url=sqlite_url)
    assert [(e.line, e.kind) for e in report.errors] == [(4, "duplicate_id")]
    assert "first on line 2" in report.errors[0].reason
    with engine_for(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT name FROM product WHERE sku = 'A'")).scalar() == "First"


def test_a_bad_update_leaves_the_stored_row_untouched(sqlite_url, tmp_path):
    seed(sqlite_url)
    path = tmp_path / "f.csv"
    path.write_text("external_id,name,email\nc1,Renamed,bad-email\n", encoding="utf-8")
    report = import_csv(path, entity="customers", url=sqlite_url)
    assert (report.skipped, report.updated) == (1, 0)
    with engine_for(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT name, email FROM customer WHERE id = 1")).one() == ("Cee", None)


def test_multiline_records_report_the_line_they_start_on(sqlite_url, tmp_path):
    seed(sqlite_url)
    path = tmp_path / "f.csv"
    path.write_text('external_id,name,email\nm1,"Two\nlines",\nm2,Bad,nope\n', encoding="utf-8")
    report = import_csv(path, entity="customers", url=sqlite_url)
    assert [(e.line, e.kind) for e in report.errors] == [(4, "bad_email")]


def test_many_bad_rows_in_one_file_on_each_backend(database_url, tmp_path):
    seed(database_url)
    path = tmp_path / "f.csv"
    body = [HEADERS["order-lines"]]
    expected = []
    for i in range(30):
        if i % 3 == 0:
            body.append(f"bad{i},o1,P1,-{i + 1},2.5,0")
            expected.append((i + 2, "out_of_range"))
        elif i % 3 == 1:
            body.append(f"bad{i},o1,NOPE,1,2.5,0")
            expected.append((i + 2, "unknown_product"))
        else:
            body.append(f"ok{i},o1,P1,1,1.25,0")
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    report = import_csv(path, entity="order-lines", url=database_url, batch_size=4)
    assert [(e.line, e.kind) for e in report.errors] == expected
    assert report.inserted == 10
    with engine_for(database_url).connect() as conn:
        assert conn.execute(text("SELECT total_amount FROM orders WHERE id = 1")).scalar() == 12.5
        assert conn.execute(text("SELECT COUNT(*) FROM order_line")).scalar() == 10


def test_rows_the_database_rejects_are_isolated_and_reported(sqlite_url, tmp_path):
    # A constraint no validator knows about (a real trigger, not a mock): the batch falls back to row by row.
    seed(sqlite_url)
    with engine_for(sqlite_url).begin() as conn:
        conn.execute(text("CREATE TRIGGER no_boom BEFORE INSERT ON product WHEN NEW.name = 'boom' "
                          "BEGIN SELECT RAISE(ABORT, 'boom is not allowed'); END"))
    path = tmp_path / "f.csv"
    path.write_text("sku,name\nA,Fine\nB,boom\nC,Also fine\n", encoding="utf-8")
    report = import_csv(path, entity="products", url=sqlite_url)
    assert [(e.line, e.kind) for e in report.errors] == [(3, "rejected_by_database")]
    assert "boom is not allowed" in report.errors[0].reason
    assert report.inserted == 2
    with engine_for(sqlite_url).connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT sku FROM product ORDER BY id"))] == ["P1", "A", "C"]
