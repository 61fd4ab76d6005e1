"""`crm tool …` and `crm refresh` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from _coretools_data import seed_crm
from typer.testing import CliRunner

from integrations.cli.app import app
from integrations.cli.tool_command import parse_now, parse_tool_args

runner = CliRunner()
NOW = ["--now", "2026-11-15"]


@pytest.fixture
def crm(sqlite_url):
    return seed_crm(sqlite_url, customers=25)


def test_argument_parsing():
    args = parse_tool_args(["--customer", "Chen Jing", "--period.start", "2026-01-01", "--period.end=2026-03-31",
                            "--tags", "vip", "--tags", "newsletter", "--share", "--filters", '{"region": "UK"}'])
    assert args == {"customer": "Chen Jing", "period": {"start": "2026-01-01", "end": "2026-03-31"},
                    "tags": ["vip", "newsletter"], "share": "true", "filters": {"region": "UK"}}
    assert parse_now("2026-11-15").isoformat() == "2026-11-15T23:59:59"


def test_list_and_help(crm):
    listed = runner.invoke(app, ["tool", "--list"])
    assert listed.exit_code == 0 and "query_metrics" in listed.output and "assign_customer" in listed.output
    helped = runner.invoke(app, ["tool", "find_customers", "--help"])
    assert helped.exit_code == 0 and "--city" in helped.output and "--tags" in helped.output
    nested = runner.invoke(app, ["tool", "purchase_history", "--help"])
    assert "--period.start" in nested.output


def test_runs_a_tool_as_text_and_json(crm):
    text = runner.invoke(app, ["tool", "find_customers", "--city", "Shanghai", *NOW])
    assert text.exit_code == 0, text.output
    assert "customers match" in text.output and "| Name" in text.output
    out = runner.invoke(app, ["tool", "query_metrics", "--measures", "revenue,orders", "--dimensions", "region", "--json", *NOW])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["measures"] == ["revenue", "orders"] and data["rows"]
    zh = runner.invoke(app, ["tool", "query_metrics", "--measures", "销售额", "--lang", "zh", *NOW])
    assert zh.output.startswith("销售额")


def test_as_a_rep_and_nested_period(crm):
    everyone = json.loads(runner.invoke(app, ["tool", "query_metrics", "--measures", "revenue", "--json", *NOW]).output)
    mine = runner.invoke(app, ["tool", "query_metrics", "--measures", "revenue", "--json", "--as", "rep1@t.crm", *NOW])
    assert mine.exit_code == 0
    assert json.loads(mine.output)["totals"]["revenue"] < everyone["totals"]["revenue"]
    r = runner.invoke(app, ["tool", "purchase_history", "--customer", "Chen Jing", "--period.start", "2026-01-01", *NOW])
    assert r.exit_code == 0 and "2026-01-01" in r.output


def test_errors_are_clean(crm):
    for args in (
        ["tool", "customer_profile", "--customer", "Nobody Here", *NOW],
        ["tool", "no_such_tool"],
        ["tool", "find_customers", "--limit", "lots", *NOW],
        ["tool", "query_metrics", "--measures", "revenu", *NOW],
        ["tool", "find_customers", "--as", "ghost@t.crm", *NOW],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert "Traceback" not in result.output
    amb = runner.invoke(app, ["tool", "customer_profile", "--customer", "Wang Fang", *NOW])
    assert amb.exit_code == 1 and "Wang Fang" in amb.output
    as_json = runner.invoke(app, ["tool", "customer_profile", "--customer", "Wang Fang", "--json", *NOW])
    assert json.loads(as_json.output)["error"] == "ambiguous" and len(json.loads(as_json.output)["candidates"]) == 2


def test_chart_file(crm, tmp_path):
    png = tmp_path / "out" / "revenue.png"
    r = runner.invoke(app, ["tool", "query_metrics", "--measures", "revenue", "--dimensions", "month", "--chart", str(png), *NOW])
    assert r.exit_code == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_refresh_command(crm, monkeypatch):
    import tools.refresh as refresh

    real = refresh._load
    monkeypatch.setattr(refresh, "_load", lambda m, n: None if n in ("compute_churn_scores", "compute_clv") else real(m, n))
    failed = runner.invoke(app, ["refresh", *NOW])
    assert failed.exit_code == 1 and "not available" in failed.output
    done = runner.invoke(app, ["refresh", "--partial", "--json", *NOW])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output[done.output.index("{"):])
    assert report["mode"] == "full" and report["phases"]["churn"] == "missing"
