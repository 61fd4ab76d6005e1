"""BG/NBD and Gamma-Gamma on CDNOW_sample through the real importer and `crm clv fit --json`.

Published (lifetimes docs, 2,357 customers, calibration to 1997-09-30 in weeks):
BG/NBD r 0.243, alpha 4.414, a 0.793, b 2.426; Gamma-Gamma p 6.25, q 3.74, v 15.45 on 946 repeat customers.
"""

from __future__ import annotations

import json

import pytest
from predictive_data import imported_database
from typer.testing import CliRunner

from integrations.cli.app import app
from storage.settings import get_settings

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.45}


def _fit(url: str, monkeypatch, *args: str) -> dict:
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    get_settings.cache_clear()
    out = CliRunner().invoke(app, ["clv", "fit", *args, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_cdnow_published_parameters(dataset, tmp_path_factory, monkeypatch):
    url = imported_database(tmp_path_factory, "cdnow", dataset("cdnow", "CDNOW_sample.txt"))
    fit = _fit(url, monkeypatch, "--calibration-end", "1997-09-30", "--unit", "week")
    assert fit["customers"] == 2357 and fit["repeat_customers"] == 946
    for name, want in BGNBD.items():
        assert isinstance(fit["bgnbd"][name], float)
        assert fit["bgnbd"][name] == pytest.approx(want, rel=0.01), name
    for name, want in GAMMA_GAMMA.items():
        assert fit["gamma_gamma"][name] == pytest.approx(want, rel=0.01), name
    # The unit only rescales time: alpha in days is 7x alpha in weeks, the rest is unchanged.
    days = _fit(url, monkeypatch, "--calibration-end", "1997-09-30", "--unit", "day")
    assert days["bgnbd"]["alpha"] == pytest.approx(7 * fit["bgnbd"]["alpha"], rel=1e-3)
    assert days["bgnbd"]["r"] == pytest.approx(fit["bgnbd"]["r"], rel=1e-3)
