"""Association rules on Online Retail France, read from the database after the real import (`crm rules --json`)."""

from __future__ import annotations

import json

import pytest
from predictive_data import imported_database
from typer.testing import CliRunner

from integrations.cli.app import app
from storage.settings import get_settings

pytestmark = pytest.mark.slow


def test_france_alarm_clock_rule(dataset, tmp_path_factory, monkeypatch):
    url = imported_database(tmp_path_factory, "online_retail", dataset("online_retail", "online_retail.csv.gz"))
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    get_settings.cache_clear()
    out = CliRunner().invoke(app, ["rules", "--country", "France", "--min-support", "0.07", "--limit", "100", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    # 392 France invoices in the file; 3 have no CustomerID, so the importer (and the CRM) cannot hold them.
    assert result["baskets"] == 389
    rule = next(r for r in result["rules"]
                if r["antecedents"] == ["ALARM CLOCK BAKELIKE RED"] and r["consequents"] == ["ALARM CLOCK BAKELIKE GREEN"])
    assert rule["lift"] == pytest.approx(8.64, rel=0.02)
    assert all(r["support"] >= 0.07 for r in result["rules"])
