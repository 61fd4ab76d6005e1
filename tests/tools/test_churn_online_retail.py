"""Online Retail churn back-test through the real importer and the CLI (`crm churn backtest --json`).

Reference (datasets README): 3,370 customers, 43% churn; BG/NBD 0.730, log-RFM logistic 0.736.
The issue's target is AUC >= 0.76; the measured out-of-time AUC is ~0.739 (see the xfail below).

Why the target stays out of reach (measured, variants chosen on validation cut-offs 2011-05-01 ..
2011-06-12 only, then frozen and run once at 2011-09-10): line-level features (quantity per line,
unit price, distinct products, product popularity, lines per order) were the only family that
helped; the best validated variant scores 0.746 at the test cut-off. Even 5-fold CV on the test
snapshot itself, which learns from the test window's own labels, tops out at 0.752 with every
feature family tried, so 0.76 is not reachable honestly with this one year of data.
"""

from __future__ import annotations

import json

import pytest
from predictive_data import imported_database
from typer.testing import CliRunner

from integrations.cli.app import app
from storage.settings import get_settings

pytestmark = pytest.mark.slow

_RESULT: dict[str, dict] = {}


def _backtest(url: str, monkeypatch) -> dict:
    if url not in _RESULT:
        monkeypatch.setenv("CRM_DATABASE_URL", url)
        get_settings.cache_clear()
        out = CliRunner().invoke(app, ["churn", "backtest", "--cutoff", "2011-09-10", "--horizon", "90", "--json"])
        assert out.exit_code == 0, out.output
        _RESULT[url] = json.loads(out.stdout)
    return _RESULT[url]


@pytest.fixture
def retail(dataset, tmp_path_factory):
    return imported_database(tmp_path_factory, "online_retail", dataset("online_retail", "online_retail.csv.gz"))


def test_backtest_contract_and_reference_figures(retail, monkeypatch):
    result = _backtest(retail, monkeypatch)
    assert isinstance(result["auc"], float) and isinstance(result["customers"], int)
    assert set(result["baselines"]) >= {"bgnbd", "logistic_rfm"}
    assert result["customers"] == 3370
    assert result["churn_rate"] == pytest.approx(0.43, abs=0.005)
    # The baselines reproduce the reference run.
    assert result["baselines"]["bgnbd"] == pytest.approx(0.730, abs=0.01)
    assert result["baselines"]["logistic_rfm"] == pytest.approx(0.736, abs=0.01)
    assert result["bgnbd_penalizer"] is not None  # chosen automatically, no manual tuning
    assert result["label_window_complete"] is True


def test_model_beats_both_baselines_out_of_time(retail, monkeypatch):
    result = _backtest(retail, monkeypatch)
    assert result["auc"] > result["baselines"]["bgnbd"]
    assert result["auc"] > result["baselines"]["logistic_rfm"]
    assert result["auc"] >= 0.735
    # Trained only on label windows that end by the cut-off.
    assert all(s["cutoff"] <= "2011-06-12" for s in result["training_snapshots"])


@pytest.mark.xfail(reason="issue 3 asks for AUC >= 0.76; measured 0.739 out of time (0.741 with 5-fold CV); best validated "
                          "variant 0.746, in-season CV ceiling 0.752 — not reached", strict=True)
def test_issue_target_auc(retail, monkeypatch):
    assert _backtest(retail, monkeypatch)["auc"] >= 0.76
