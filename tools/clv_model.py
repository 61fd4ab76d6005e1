"""BG/NBD and Gamma-Gamma (lifetimes 0.11.3): the per-customer summary, the fits, and CLV.

Summary conventions (those of lifetimes' ``summary_data_from_transaction_data`` with
``freq="D"``, which is how the published CDNOW fits were made):

- purchases are aggregated per *calendar day*: several orders on one day are one
  repeat-purchase opportunity, not several;
- ``frequency`` = distinct purchase days after the first; ``recency`` = last purchase
  day - first purchase day; ``T`` = end of calibration - first purchase day; both in
  the chosen unit (day = 1, week = 7, month = 30.4375 days);
- ``monetary`` = mean spend per repeat purchase day (the first day is left out, as
  lifetimes does); 0 for customers without repeats.

Counting distinct *weeks* instead of days would change the model: on CDNOW it moves r
from 0.243 to 0.291. The unit only rescales time.

Penalizer: lifetimes' optimiser does not converge on some data (daily Online Retail,
where the dropout parameters run off to the boundary). ``fit_bgnbd`` therefore tries
``PENALIZERS`` in increasing order and keeps the first fit that converges with finite
parameters and finite predictions for every customer: the least shrinkage that
works, chosen without looking at any outcome. No manual tuning.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

Unit = Literal["day", "week", "month"]
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 30.4375}
PENALIZERS = (0.0, 0.0001, 0.001, 0.01, 0.1, 1.0)
DAYS_PER_MONTH = 30.4375


def lifetimes():
    """The lifetimes package, imported quietly (at import it sets a pandas option that pandas 3 deprecates)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes as module
        import lifetimes.utils  # noqa: F401 - ConvergenceError lives here

    return module


class ModelFitError(Exception):
    """No penalizer on the grid gave a usable fit (too little data, or degenerate data)."""


def rfm_summary(orders: pd.DataFrame, *, end_day: float, unit: Unit = "week") -> pd.DataFrame:
    """Per-customer frequency, recency, T, monetary from revenue orders with ``day <= end_day``.

    ``orders``: [customer_id, day, amount, returned] (see ``tools.order_frames``);
    ``end_day``: the calibration end as a day number (midnight of the last day counted).
    """
    scale = UNIT_DAYS[unit]
    paid = orders[~orders["returned"] & (orders["day"] < np.floor(end_day) + 1)]
    daily = (
        pd.DataFrame({"customer_id": paid["customer_id"].to_numpy(), "d": np.floor(paid["day"].to_numpy()),
                      "amount": paid["amount"].to_numpy()})
        .groupby(["customer_id", "d"], sort=True)["amount"].sum()
        .reset_index()
    )
    if daily.empty:
        return pd.DataFrame(columns=["frequency", "recency", "T", "monetary"], index=pd.Index([], name="customer_id"))
    grouped = daily.groupby("customer_id", sort=True)
    first, last, days = grouped["d"].min(), grouped["d"].max(), grouped["d"].size()
    total, first_spend = grouped["amount"].sum(), grouped["amount"].first()
    out = pd.DataFrame({
        "frequency": (days - 1).astype("float64"),
        "recency": (last - first) / scale,
        "T": (np.floor(end_day) - first) / scale,
    })
    repeats = days - 1
    out["monetary"] = np.where(repeats > 0, (total - first_spend) / repeats.clip(lower=1), 0.0)
    out.index.name = "customer_id"
    return out


@dataclass
class BtydFit:
    """Fitted parameters plus how they were chosen.

    Only the parameters are kept (lifetimes fitters hold lambdas and do not pickle);
    ``model`` rebuilds a fitter that predicts from them.
    """

    kind: Literal["bgnbd", "gamma_gamma"]
    params: dict[str, float]
    penalizer: float
    tried: list[str] = field(default_factory=list)

    @property
    def model(self):
        lt = lifetimes()
        fitter = lt.BetaGeoFitter() if self.kind == "bgnbd" else lt.GammaGammaFitter()
        fitter.params_ = pd.Series(self.params)
        fitter.penalizer_coef = self.penalizer
        return fitter

    @classmethod
    def of(cls, kind: Literal["bgnbd", "gamma_gamma"], fitted, penalizer: float, tried: list[str]) -> BtydFit:
        return cls(kind=kind, params={k: float(v) for k, v in fitted.params_.items()}, penalizer=penalizer, tried=tried)


def _quiet_fit(factory, *args):
    # lifetimes prints the optimiser's result on failure and warns on overflow; neither may reach stdout.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory().fit(*args)


def fit_bgnbd(summary: pd.DataFrame, *, penalizers: tuple[float, ...] = PENALIZERS) -> BtydFit:
    lt = lifetimes()
    BetaGeoFitter, ConvergenceError = lt.BetaGeoFitter, lt.utils.ConvergenceError  # noqa: N806

    if len(summary) < 10 or summary["frequency"].sum() == 0:
        raise ModelFitError("BG/NBD needs at least 10 customers and some repeat purchases")
    # The likelihood is a sum over customers of a function of (frequency, recency, T) alone, so it is fitted on
    # the distinct triples weighted by how many customers share each: the same optimum, on 72k rows instead of
    # 96k for the 100k demo (and far fewer for whole-week units), for the optimiser and its autograd Hessian.
    distinct = summary[["frequency", "recency", "T"]].value_counts(sort=False)
    triples = distinct.index.to_frame(index=False)
    f, r, t = triples["frequency"], triples["recency"], triples["T"]
    weights = distinct.to_numpy()
    tried = []
    for pen in penalizers:
        try:
            model = _quiet_fit(lambda pen=pen: BetaGeoFitter(penalizer_coef=pen), f, r, t, weights)
        except (ConvergenceError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            tried.append(f"{pen:g}: did not converge ({type(exc).__name__})")
            continue
        params = model.params_.to_numpy(dtype="float64")
        if not np.all(np.isfinite(params)):
            tried.append(f"{pen:g}: non-finite parameters")
            continue
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = model.conditional_expected_number_of_purchases_up_to_time(1.0, f, r, t)
            alive = model.conditional_probability_alive(f, r, t)
        if not (np.all(np.isfinite(expected)) and np.all(np.isfinite(alive))):
            tried.append(f"{pen:g}: non-finite predictions")
            continue
        tried.append(f"{pen:g}: ok")
        return BtydFit.of("bgnbd", model, pen, tried)
    raise ModelFitError("BG/NBD did not converge for any penalizer (" + "; ".join(tried) + ")")


def fit_gamma_gamma(summary: pd.DataFrame, *, penalizers: tuple[float, ...] = PENALIZERS) -> BtydFit:
    """Gamma-Gamma on repeat customers with positive spend (the model is undefined for the others)."""
    lt = lifetimes()
    GammaGammaFitter, ConvergenceError = lt.GammaGammaFitter, lt.utils.ConvergenceError  # noqa: N806

    repeat = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
    if len(repeat) < 10:
        raise ModelFitError("Gamma-Gamma needs at least 10 repeat customers with positive spend")
    tried = []
    for pen in penalizers:
        try:
            model = _quiet_fit(lambda pen=pen: GammaGammaFitter(penalizer_coef=pen), repeat["frequency"], repeat["monetary"])
        except (ConvergenceError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            tried.append(f"{pen:g}: did not converge ({type(exc).__name__})")
            continue
        if not np.all(np.isfinite(model.params_.to_numpy(dtype="float64"))):
            tried.append(f"{pen:g}: non-finite parameters")
            continue
        tried.append(f"{pen:g}: ok")
        return BtydFit.of("gamma_gamma", model, pen, tried)
    raise ModelFitError("Gamma-Gamma did not converge for any penalizer (" + "; ".join(tried) + ")")


def bgnbd_predictions(fit: BtydFit, summary: pd.DataFrame, *, horizon: float) -> pd.DataFrame:
    """p_alive and expected purchases within ``horizon`` (in the summary's unit) per customer."""
    f, r, t = summary["frequency"], summary["recency"], summary["T"]
    model = fit.model
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = model.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, t)
        alive = model.conditional_probability_alive(f, r, t)
    return pd.DataFrame(
        {"p_alive": np.clip(np.asarray(alive, dtype="float64"), 0.0, 1.0),
         "expected_purchases": np.asarray(expected, dtype="float64")},
        index=summary.index,
    )


def expected_spend(gg: BtydFit, summary: pd.DataFrame) -> pd.Series:
    """Gamma-Gamma expected spend per purchase; customers without repeats get the population mean."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = gg.model.conditional_expected_average_profit(summary["frequency"], summary["monetary"])
    return pd.Series(np.asarray(value, dtype="float64"), index=summary.index)


def customer_lifetime_value(
    bg: BtydFit, gg: BtydFit, summary: pd.DataFrame, *, unit: Unit, horizon_months: int, monthly_discount: float = 0.01
) -> pd.Series:
    """Discounted spend over ``horizon_months``: per month, expected purchases x Gamma-Gamma spend / (1+d)^m.

    The same sum as lifetimes' ``customer_lifetime_value``, with months of 30.4375 days
    in every unit (lifetimes uses 4.345 weeks or 30 days, slightly different months).
    """
    # Spend factors out of the sum, and the discounted purchase count depends on (frequency, recency, T) alone:
    # it is computed once per distinct triple (72k of 96k customers in the 100k demo) and spread back.
    triples, back = np.unique(summary[["frequency", "recency", "T"]].to_numpy(dtype="float64"), axis=0,
                              return_inverse=True)
    f, r, t = triples[:, 0], triples[:, 1], triples[:, 2]
    per_month = DAYS_PER_MONTH / UNIT_DAYS[unit]
    spend = expected_spend(gg, summary).to_numpy()
    discounted = np.zeros(len(triples))
    previous = np.zeros(len(triples))
    model = bg.model
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for month in range(1, horizon_months + 1):
            cumulative = np.asarray(model.conditional_expected_number_of_purchases_up_to_time(month * per_month, f, r, t),
                                    dtype="float64")
            discounted += (cumulative - previous) / (1.0 + monthly_discount) ** month
            previous = cumulative
    total = spend * discounted[back.ravel()]
    return pd.Series(total, index=summary.index)
