"""Churn from a labelled customer file: the Telco check (CV AUC >= 0.845) and the file-reading rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from integrations.cli.app import app
from tools import InvalidArgument
from tools.labelled_churn import read_labelled, train_labelled


@pytest.mark.slow
def test_telco_cross_validated_auc(dataset):
    path = dataset("telco_churn", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    out = CliRunner().invoke(app, ["churn", "train-labelled", str(path), "--label", "Churn", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["rows"] == 7043 and report["folds"] == 5
    assert report["dropped_columns"] == ["customerID"]
    assert report["auc"] >= 0.845
    assert report["cv_auc"]["logistic"] >= 0.84


def _synthetic(tmp_path, n=400, seed=0):
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n)
    churn = (rng.random(n) < 1 / (1 + np.exp(0.08 * tenure - 1 + 1.5 * (contract != "Month-to-month")))).astype(int)
    frame = pd.DataFrame({
        "id": [f"C{i:05d}" for i in range(n)], "tenure": tenure, "Contract": contract,
        "Total": [("" if t == 0 else f"{t * 50.5:.2f}") for t in tenure],  # blank for new customers, like Telco
        "Churned": np.where(churn == 1, "Yes", "No"),
    })
    path = tmp_path / "labelled.csv"
    frame.to_csv(path, index=False)
    return path


def test_reading_rules(tmp_path):
    x, y, dropped = read_labelled(_synthetic(tmp_path), label="Churned")
    assert dropped == ["id"]
    assert pd.api.types.is_numeric_dtype(x["Total"]) and x["Total"].isna().sum() > 0
    assert not pd.api.types.is_numeric_dtype(x["Contract"]) and set(y.unique()) == {0, 1}


def test_training_on_a_small_file(tmp_path):
    report = train_labelled(_synthetic(tmp_path), label="Churned")
    assert 0.6 < report.auc <= 1.0 and set(report.cv_auc) == {"logistic", "gradient_boosting", "average"}
    assert report.model_path and "tenure" in " ".join(report.top_features)


def test_bad_inputs(tmp_path):
    path = _synthetic(tmp_path)
    with pytest.raises(InvalidArgument, match="no column"):
        read_labelled(path, label="Nope")
    with pytest.raises(InvalidArgument, match="not found"):
        read_labelled(tmp_path / "missing.csv", label="Churned")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"a": [1, 2], "Churned": ["maybe", "Yes"]}).to_csv(bad, index=False)
    with pytest.raises(InvalidArgument, match="yes/no"):
        read_labelled(bad, label="Churned")
    out = CliRunner().invoke(app, ["churn", "train-labelled", str(tmp_path / "missing.csv"), "--label", "Churn"])
    assert out.exit_code != 0 and "not found" in out.output and "Traceback" not in out.output
