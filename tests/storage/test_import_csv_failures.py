"""Imports that cannot start fail with ImportFailed and a clear message, before writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import engine_for
from storage.errors import ImportFailed
from storage.importers import import_csv


def count(url: str, table: str) -> int:
    with engine_for(url).connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()


def put(tmp_path: Path, name: str, body: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


GOOD = "external_id,name\nc1,Ann\n"


@pytest.mark.parametrize(
    ("name", "body", "entity", "message"),
    [
        ("empty.csv", "", "customers", "is empty"),
        ("blank.csv", "\n  \n\n", "customers", "is empty"),
        ("no_name.csv", "external_id,email\nc1,a@b.co\n", "customers", "required column(s) missing: 'name'"),
        ("lines.csv", "order_external_id,sku\no1,P1\n", "order-lines", "'quantity', 'unit_price'"),
        ("dup.csv", "external_id,name,Name\nc1,A,B\n", "customers", "names column 'Name' twice"),
        ("badhead.csv", b"external_id,n\xffme\nc1,A\n", "customers", "header line is not valid text"),
        ("c.csv", GOOD, "unicorns", "unknown entity 'unicorns'"),
    ],
)
def test_cannot_start(sqlite_url, tmp_path, name, body, entity, message):
    with pytest.raises(ImportFailed, match=None) as caught:
        import_csv(put(tmp_path, name, body), entity=entity, url=sqlite_url)
    assert message in str(caught.value)
    assert count(sqlite_url, "customer") == 0


def test_missing_file_and_directory(sqlite_url, tmp_path):
    with pytest.raises(ImportFailed, match="file not found"):
        import_csv(tmp_path / "nope.csv", entity="customers", url=sqlite_url)
    with pytest.raises(ImportFailed, match="not a file"):
        import_csv(tmp_path, entity="customers", url=sqlite_url)


def test_header_only_is_a_warning_not_an_error(sqlite_url, tmp_path):
    report = import_csv(put(tmp_path, "h.csv", "external_id,name\n"), entity="customers", url=sqlite_url)
    assert report.rows_read == 0
    assert report.warnings == ["the file has a header but no data rows; nothing to import"]


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("m.yaml", "name: [unclosed\n", "not valid YAML"),
        ("m.json", '{"name": "Full Name",}', "not valid JSON"),
        ("m.yaml", "- name\n- email\n", "must be a non-empty mapping"),
        ("m.yaml", "", "must be a non-empty mapping"),
        ("m.yaml", "nickname: Nick\n", "unknown field 'nickname' for customers"),
        ("m.yaml", "name: 42\n", "must map a field name to a column name"),
        ("m.yaml", "name: Full Name\n", "mapped column(s) not in the file: 'Full Name' (mapped to name)"),
    ],
)
def test_malformed_mapping_file(sqlite_url, tmp_path, name, body, message):
    data = put(tmp_path, "c.csv", GOOD)
    with pytest.raises(ImportFailed) as caught:
        import_csv(data, entity="customers", mapping=put(tmp_path, name, body), url=sqlite_url)
    assert message in str(caught.value)
    assert count(sqlite_url, "customer") == 0


def test_missing_mapping_file(sqlite_url, tmp_path):
    with pytest.raises(ImportFailed, match="mapping file not found"):
        import_csv(put(tmp_path, "c.csv", GOOD), entity="customers", mapping=tmp_path / "x.yaml", url=sqlite_url)


def test_unmigrated_database_says_what_to_do(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    with pytest.raises(ImportFailed, match="crm db upgrade"):
        import_csv(put(tmp_path, "c.csv", GOOD), entity="customers", url=url)


def test_bad_options(sqlite_url, tmp_path):
    data = put(tmp_path, "c.csv", GOOD)
    with pytest.raises(ImportFailed, match="unknown encoding"):
        import_csv(data, entity="customers", encoding="klingon", url=sqlite_url)
    with pytest.raises(ImportFailed, match="batch size"):
        import_csv(data, entity="customers", batch_size=0, url=sqlite_url)


def test_latin1_file_with_the_right_encoding(sqlite_url, tmp_path):
    data = put(tmp_path, "c.csv", "external_id,name\nc1,Caf\xe9\n".encode("latin-1"))
    assert import_csv(data, entity="customers", url=sqlite_url).errors[0].kind == "bad_encoding"
    report = import_csv(data, entity="customers", encoding="latin-1", url=sqlite_url)
    assert report.inserted == 1
    with engine_for(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT name FROM customer")).scalar() == "Café"
