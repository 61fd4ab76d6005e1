"""`import_csv` happy paths for every entity, on SQLite and Postgres: mapping, upsert, re-runs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from storage.db import engine_for
from storage.importers import import_csv
from storage.models import Order


def write(path: Path, body: str) -> Path:
    path.write_text(body.lstrip("\n"), encoding="utf-8")
    return path


def rows(url: str, sql: str) -> list[tuple]:
    with engine_for(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def seed_staff(url: str) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO staff_user (name, email, role, is_head_of_sales, is_active, created_at) "
                "VALUES ('Rita Rep', 'Rita@Example.com', 'rep', false, true, :at)"
            ),
            {"at": datetime(2024, 1, 1)},
        )


CUSTOMERS = """
external_id,name,email,country,city,tags,loyalty_points,marketing_consent,birth_date,owner_email
c1,Ann Lee,ann@example.com,UK,London,vip;gold,10,yes,1980-02-01,rita@example.com
c2,Bo Chen,bo@example.cn,China,上海,,0,no,,
"""


def test_customers_products_orders_lines_and_interactions_round_trip(database_url, tmp_path):
    seed_staff(database_url)
    report = import_csv(write(tmp_path / "c.csv", CUSTOMERS), entity="customers", url=database_url)
    assert (report.inserted, report.skipped) == (2, 0), report.errors
    assert rows(database_url, "SELECT name, city, loyalty_points, marketing_consent, owner_id IS NOT NULL "
                              "FROM customer ORDER BY id") == [
        ("Ann Lee", "London", 10, True, True),
        ("Bo Chen", "上海", 0, False, False),
    ]
    assert rows(database_url, "SELECT tag FROM customer_tag ORDER BY tag") == [("gold",), ("vip",)]

    products = write(tmp_path / "p.csv", "sku,name,list_price,category\nP1,Widget,2.50,tools\nP2,Gadget,10,toys\n")
    assert import_csv(products, entity="products", url=database_url).inserted == 2

    orders = write(tmp_path / "o.csv", """
external_id,customer_external_id,ordered_at,status,channel
o1,c1,2024-01-02 10:00,paid,online
o2,c2,2024-01-03T09:30:00Z,returned,store
""")
    assert import_csv(orders, entity="orders", url=database_url).inserted == 2
    lines = write(tmp_path / "l.csv", """
order_external_id,sku,quantity,unit_price,discount
o1,P1,2,2.5,0.1
o1,P2,1,10,
o2,P2,3,10,0
""")
    report = import_csv(lines, entity="order-lines", url=database_url)
    assert report.inserted == 3
    # Lines without an id column get "<order>/<n>"; totals follow the lines.
    assert rows(database_url, "SELECT external_id, amount FROM order_line ORDER BY id") == [
        ("o1/1", 4.5), ("o1/2", 10.0), ("o2/1", 30.0)
    ]
    with engine_for(database_url).connect() as conn:
        orders_now = conn.execute(select(Order.external_id, Order.total_amount, Order.ordered_at).order_by(Order.id))
    assert [tuple(r) for r in orders_now] == [
        ("o1", 14.5, datetime(2024, 1, 2, 10, 0)),
        ("o2", 30.0, datetime(2024, 1, 3, 9, 30)),
    ]

    interactions = write(tmp_path / "i.csv", """
external_id,customer_external_id,staff_email,channel,kind,direction,occurred_at,subject,body,sentiment
i1,c1,RITA@example.com,phone,complaint,inbound,2024-02-01 12:00,Late parcel,"It came late,
and broken",-0.8
i2,c2,,email,note,outbound,2024-02-02,,,
""")
    report = import_csv(interactions, entity="interactions", url=database_url)
    assert (report.inserted, report.skipped) == (2, 0), report.errors
    assert rows(database_url, "SELECT body, staff_id IS NOT NULL, sentiment FROM interaction ORDER BY id") == [
        ("It came late,\nand broken", True, -0.8),
        ("", False, None),
    ]


def test_rerun_changes_nothing_and_edits_count_as_updates(database_url, tmp_path):
    path = write(tmp_path / "c.csv", CUSTOMERS.replace(",rita@example.com", ","))
    first = import_csv(path, entity="customers", url=database_url)
    before = rows(database_url, "SELECT * FROM customer ORDER BY id")
    again = import_csv(path, entity="customers", url=database_url)
    assert (first.inserted, again.inserted, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert rows(database_url, "SELECT * FROM customer ORDER BY id") == before

    edited = write(tmp_path / "c2.csv", """
external_id,name,tags
c1,Ann Lee-Smith,vip;gold
c2,Bo Chen,new
c3,Cy,
""")
    report = import_csv(edited, entity="customers", url=database_url)
    assert (report.inserted, report.updated, report.unchanged) == (1, 2, 0)  # c2: only its tags changed
    # Columns the second file does not carry keep their values.
    assert rows(database_url, "SELECT name, email FROM customer ORDER BY id") == [
        ("Ann Lee-Smith", "ann@example.com"), ("Bo Chen", "bo@example.cn"), ("Cy", None)
    ]
    assert rows(database_url, "SELECT customer_id, tag FROM customer_tag ORDER BY customer_id, tag") == [
        (1, "gold"), (1, "vip"), (2, "new")
    ]


def test_moving_or_changing_lines_keeps_every_total_equal_to_its_lines(database_url, tmp_path):
    import_csv(write(tmp_path / "c.csv", "external_id,name\nc1,A\n"), entity="customers", url=database_url)
    import_csv(write(tmp_path / "p.csv", "sku,name\nP1,W\n"), entity="products", url=database_url)
    import_csv(write(tmp_path / "o.csv", "external_id,customer_external_id,ordered_at\no1,c1,2024-01-01\n"
                                         "o2,c1,2024-01-02\n"), entity="orders", url=database_url)
    lines = "external_id,order_external_id,sku,quantity,unit_price\nL1,o1,P1,1,1.10\nL2,o1,P1,2,2.20\n"
    import_csv(write(tmp_path / "l.csv", lines), entity="order-lines", url=database_url)
    assert rows(database_url, "SELECT total_amount FROM orders ORDER BY id") == [(5.5,), (0.0,)]
    moved = lines.replace("L2,o1,P1,2,2.20", "L2,o2,P1,3,2.20")
    report = import_csv(write(tmp_path / "l2.csv", moved), entity="order-lines", url=database_url)
    assert (report.updated, report.unchanged) == (1, 1)
    assert rows(database_url, "SELECT total_amount FROM orders ORDER BY id") == [(1.1,), (6.6,)]
    # Re-importing orders never resets totals (total_amount is derived, not imported).
    import_csv(write(tmp_path / "o.csv", "external_id,customer_external_id,ordered_at,total_amount\n"
                                         "o1,c1,2024-01-01,999\n"), entity="orders", url=database_url)
    assert rows(database_url, "SELECT total_amount FROM orders ORDER BY id") == [(1.1,), (6.6,)]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_mapping_file_renames_columns(sqlite_url, tmp_path, suffix):
    mapping = {"external_id": "Customer No", "name": "Full Name", "email": "E-mail"}
    body = json.dumps(mapping) if suffix == ".json" else "".join(f"{k}: {v}\n" for k, v in mapping.items())
    map_path = write(tmp_path / f"map{suffix}", body)
    data = write(tmp_path / "c.csv", "Customer No,Full Name,E-mail,Notes\n7,Zed,zed@example.org,hello\n")
    report = import_csv(data, entity="customers", mapping=map_path, url=sqlite_url)
    assert report.inserted == 1
    assert report.warnings == ["column 'Notes' is not a customers field; ignored"]
    assert rows(sqlite_url, "SELECT external_id, name, email FROM customer") == [("7", "Zed", "zed@example.org")]


def test_batches_and_gzip_and_header_case(sqlite_url, tmp_path):
    import gzip

    body = "External_ID , NAME\n" + "".join(f"c{i},Name {i}\n" for i in range(25))
    path = tmp_path / "c.csv.gz"
    path.write_bytes(gzip.compress(body.encode()))
    seen: list[tuple[str, int, int]] = []
    report = import_csv(path, entity="customers", url=sqlite_url, batch_size=10,
                        progress=lambda *a: seen.append(a))
    assert report.inserted == 25
    assert rows(sqlite_url, "SELECT COUNT(*), MIN(id), MAX(id) FROM customer") == [(25, 1, 25)]
    assert seen[-1] == ("rows", 25, 25)


def test_owner_changes_leave_a_pool_history_trail(database_url, tmp_path):
    seed_staff(database_url)
    path = write(tmp_path / "c.csv", "external_id,name,owner_email\nc1,Ann,rita@example.com\nc2,Bo,\n")
    import_csv(path, entity="customers", url=database_url)
    import_csv(path, entity="customers", url=database_url)  # a re-run moves nobody
    released = write(tmp_path / "c2.csv", "external_id,name,owner_email\nc1,Ann,\n")
    import_csv(released, entity="customers", url=database_url)
    history = rows(database_url, "SELECT customer_id, action, from_owner_id IS NULL, to_owner_id IS NULL, reason "
                                 "FROM pool_history ORDER BY id")
    assert history == [(1, "assign", True, False, "set by CSV import"), (1, "release", False, True, "set by CSV import")]
    assert rows(database_url, "SELECT owner_id FROM customer ORDER BY id") == [(None,), (None,)]
