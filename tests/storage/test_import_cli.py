"""`crm import …` from the terminal: summary tables, --json, --errors-out, and clean failures."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from integrations.cli.app import app

runner = CliRunner()
CUSTOMERS = "external_id,name,email\nc1,Ann,ann@example.com\nc2,Bob,not-an-email\nc3,Cy,\n"


def test_csv_summary_lists_rejected_rows(sqlite_url, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CUSTOMERS)
    result = runner.invoke(app, ["import", "csv", "--entity", "customers", str(path)])
    assert result.exit_code == 0, result.output
    assert "inserted" in result.output and "bad_email" in result.output
    assert "not an e-mail address: 'not-an-email'" in result.output

    again = runner.invoke(app, ["import", "csv", "-e", "customers", str(path), "--json"])
    report = json.loads(again.stdout)
    assert (report["inserted"], report["unchanged"], report["skipped"]) == (0, 2, 1)
    assert report["errors"] == [
        {"line": 3, "reason": "email: not an e-mail address: 'not-an-email'", "column": "email", "kind": "bad_email"}
    ]


def test_errors_out_and_strict(sqlite_url, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CUSTOMERS)
    out = tmp_path / "errors.csv"
    result = runner.invoke(app, ["import", "csv", "-e", "customers", str(path), "--errors-out", str(out), "--strict"])
    assert result.exit_code == 2
    with out.open() as fh:
        assert list(csv.reader(fh)) == [
            ["line", "kind", "column", "reason"],
            ["3", "bad_email", "email", "email: not an e-mail address: 'not-an-email'"],
        ]


def test_failures_are_one_clean_line(sqlite_url, tmp_path):
    missing = runner.invoke(app, ["import", "csv", "-e", "customers", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1
    assert "error: file not found" in missing.output and "Traceback" not in missing.output

    path = tmp_path / "c.csv"
    path.write_text("id,full_name\n1,Ann\n")
    columns = runner.invoke(app, ["import", "csv", "-e", "customers", str(path)])
    assert columns.exit_code == 1
    assert "required column(s) missing" in columns.output

    entity = runner.invoke(app, ["import", "csv", "-e", "whales", str(path)])
    assert entity.exit_code == 1 and "unknown entity 'whales'" in entity.output


def test_unmigrated_database(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CUSTOMERS)
    result = runner.invoke(app, ["import", "csv", "-e", "customers", str(path)])
    assert result.exit_code == 1
    assert "crm db upgrade" in result.output


def test_online_retail_and_cdnow_commands(sqlite_url, tmp_path):
    retail = tmp_path / "or.csv"
    retail.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
        "536365,71053,LANTERN,6,2010-12-01 08:26:00,3.39,,United Kingdom\n"
    )
    result = runner.invoke(app, ["import", "online-retail", str(retail)])
    assert result.exit_code == 0, result.output
    assert "no_customer_id" in result.output and "order_line" in result.output

    cdnow = tmp_path / "CDNOW_sample.txt"
    cdnow.write_text(" 00004 0001 19970101  2   29.33\n")
    result = runner.invoke(app, ["import", "cdnow", str(cdnow), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"] == 1
