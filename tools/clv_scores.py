"""BG/NBD + Gamma-Gamma fitted on the order book, with per-customer CLV; fits cached on disk.

``fit_clv_models`` is what ``crm clv fit`` prints (CDNOW check: calibration end
1997-09-30 in weeks reproduces the lifetimes documentation's parameters);
``compute_clv`` is what ``crm refresh`` stores in the feature snapshot.

Big books: both models are fitted on a seeded sample of at most ``FIT_MAX_CUSTOMERS``
customers (their handful of population parameters do not need more) and applied to
everyone; below that size the fit uses every customer, so the published checks are exact.
"""

from __future__ import annotations

import math
import threading
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from tools import model_store
from tools.clv_model import (
    DAYS_PER_MONTH,
    UNIT_DAYS,
    BtydFit,
    ModelFitError,
    Unit,
    bgnbd_predictions,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
    rfm_summary,
)
from tools.order_frames import data_fingerprint, database_key, day_of, load_orders

FIT_MAX_CUSTOMERS = 20_000
MODEL_VERSION = 1
CLV_COLUMNS = ["customer_id", "p_alive", "expected_purchases", "clv"]

_SCORES: dict[str, pd.DataFrame] = {}
_LOCK = threading.Lock()


class ClvFit(BaseModel):
    calibration_end: date
    unit: str
    customers: int
    repeat_customers: int
    bgnbd: dict[str, float]
    gamma_gamma: dict[str, float]
    bgnbd_penalizer: float
    gamma_gamma_penalizer: float
    frequency_monetary_corr: float  # Gamma-Gamma assumes ~0

    def to_contract(self) -> dict:
        return {"bgnbd": self.bgnbd, "gamma_gamma": self.gamma_gamma, **self.model_dump(mode="json",
                exclude={"bgnbd", "gamma_gamma"})}


def _models(summary: pd.DataFrame) -> tuple[BtydFit, BtydFit]:
    sample = summary.sample(FIT_MAX_CUSTOMERS, random_state=0) if len(summary) > FIT_MAX_CUSTOMERS else summary
    return fit_bgnbd(sample), fit_gamma_gamma(sample)


def fit_clv_models(engine: Engine, *, calibration_end: date, unit: Unit = "week") -> tuple[ClvFit, BtydFit, BtydFit]:
    """Fit on revenue orders dated on or before ``calibration_end``; raises ModelFitError on too little data."""
    end = datetime.combine(calibration_end + timedelta(days=1), time.min)
    orders = load_orders(engine, before=end)
    summary = rfm_summary(orders, end_day=day_of(datetime.combine(calibration_end, time.min)), unit=unit)
    if summary.empty:
        raise ModelFitError(f"no purchases on or before {calibration_end.isoformat()}")
    bg, gg = _models(summary)
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
    corr = float(repeat["frequency"].corr(repeat["monetary"])) if len(repeat) > 2 else float("nan")
    fit = ClvFit(
        calibration_end=calibration_end, unit=unit, customers=len(summary), repeat_customers=len(repeat),
        bgnbd=bg.params, gamma_gamma=gg.params, bgnbd_penalizer=bg.penalizer, gamma_gamma_penalizer=gg.penalizer,
        frequency_monetary_corr=round(corr, 4) if corr == corr else 0.0,
    )
    return fit, bg, gg


def compute_clv(engine: Engine, *, now: datetime, horizon_months: int = 12) -> pd.DataFrame:
    """Per customer who has bought before ``now``: P(alive), expected purchases and discounted CLV
    over ``horizon_months`` (monthly discount 1%). Empty frame when the models cannot be fitted."""
    fingerprint = data_fingerprint(engine)
    memo = f"{database_key(engine)}:{fingerprint}:{now.isoformat()}:{horizon_months}"
    with _LOCK:
        if memo in _SCORES:
            return _SCORES[memo]
    orders = load_orders(engine, before=now, fingerprint=fingerprint)
    summary = rfm_summary(orders, end_day=day_of(now), unit="week")
    if summary.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in CLV_COLUMNS})
    key = model_store.cache_key(MODEL_VERSION, database_key(engine), fingerprint, math.floor(day_of(now)))
    fits = model_store.load("clv", key)
    if fits is None:
        try:
            fits = _models(summary)
        except ModelFitError:
            fits = ()
        model_store.save("clv", key, fits)
    if not fits:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in CLV_COLUMNS})
    bg, gg = fits
    weeks = horizon_months * DAYS_PER_MONTH / UNIT_DAYS["week"]
    pred = bgnbd_predictions(bg, summary, horizon=weeks)
    clv = customer_lifetime_value(bg, gg, summary, unit="week", horizon_months=horizon_months)
    out = pd.DataFrame({
        "customer_id": summary.index.to_numpy(dtype="int64"),
        "p_alive": np.round(pred["p_alive"].to_numpy(), 6),
        "expected_purchases": np.round(pred["expected_purchases"].to_numpy(), 6),
        "clv": np.round(np.clip(clv.to_numpy(), 0.0, None), 2),
    })
    with _LOCK:
        _SCORES.clear()
        _SCORES[memo] = out
    return out
