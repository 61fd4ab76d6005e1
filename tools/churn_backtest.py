"""Back-test the churn model at a past cut-off, beside two baselines measured in the same run.

Protocol (out-of-time, the way the model is used): the orders are cut at the cut-off
first, and the model is trained on that past alone (``train_churn_model`` with
``as_of`` = cut-off: snapshots whose label windows end by the cut-off). Test customers
are everyone who bought before the cut-off; test features come from orders before
it; the label is "no purchase in [cut-off, cut-off + horizon)". Nothing from the test
window reaches training or features.

Baselines, same customers, same labels:
- ``bgnbd``: BG/NBD (fitted on the pre-cut-off history, penalizer chosen as in
  ``tools.clv_model``) ranking by expected purchases within the horizon;
- ``logistic_rfm``: logistic regression on log(1 + recency, frequency, monetary),
  trained on the same snapshots as the model.

``auc_cv`` (extra): the same model family cross-validated (stratified 5-fold) on the
cut-off snapshot itself. It is shown for comparison only: it learns from labels of
the very season it is tested on, which a model scoring "now" can never do.
"""

from __future__ import annotations

import time
import warnings
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from tools.cadence import from_day_number
from tools.churn_features import churn_features, churn_labels
from tools.churn_model import NotEnoughHistory, fit_churn_model, training_frame
from tools.errors import EmptyPeriod, FutureDate, InvalidArgument
from tools.order_frames import day_of, load_orders

RFM_COLUMNS = ["recency_days", "purchase_days", "spend"]


class BacktestResult(BaseModel):
    cutoff: date
    horizon_days: int
    auc: float = Field(description="Out-of-time AUC of the model (trained on snapshots before the cut-off)")
    baselines: dict[str, float]
    customers: int
    churn_rate: float
    auc_cv: float | None = Field(default=None, description="5-fold CV AUC on the cut-off snapshot (comparison only)")
    evaluation: str
    training_snapshots: list[dict]
    label_window_complete: bool
    bgnbd_penalizer: float | None = None
    seconds: float


def backtest_churn(
    engine: Engine, *, cutoff: datetime, horizon_days: int = 90, snapshots: int = 4, step_days: int = 30,
    cross_validate: bool = True,
) -> BacktestResult:
    started = time.perf_counter()
    if horizon_days < 1:
        raise InvalidArgument("the horizon must be at least 1 day")
    orders = load_orders(engine, before=datetime(9999, 1, 1))
    if orders.empty:
        raise EmptyPeriod("there are no orders to back-test on", hint="import data first, e.g. `crm import online-retail`")
    cut = day_of(cutoff)
    first, last = float(orders["day"].min()), float(orders["day"].max())
    if cut > last:
        raise FutureDate(
            f"the cut-off {cutoff.date()} is after the last order ({from_day_number(np.array([last]))[0].date()})",
            hint="a back-test needs orders after the cut-off to know who churned",
        )
    if cut <= first:
        raise EmptyPeriod(f"there are no orders before the cut-off {cutoff.date()}")

    past = orders[orders["day"] < cut]  # the only data training and features may see
    try:
        x_train, y_train, info = training_frame(past, as_of_day=cut, horizon_days=horizon_days, snapshots=snapshots,
                                                step_days=step_days)
    except NotEnoughHistory as exc:
        raise EmptyPeriod(f"not enough history before {cutoff.date()} to train: {exc}") from None
    model = fit_churn_model(x_train, y_train, as_of_day=cut, horizon_days=horizon_days, snapshots=info)

    x_test = churn_features(past, cutoff_day=cut, horizon_days=horizon_days)
    y_test = churn_labels(orders, x_test.index, cutoff_day=cut, horizon_days=horizon_days)
    if y_test.nunique() < 2:
        raise EmptyPeriod("every customer has the same outcome in the test window, so AUC is undefined")

    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y_test, model.predict(x_test)))
    baselines = {
        "bgnbd": float(roc_auc_score(y_test, -x_test["bgnbd_expected"].fillna(0.0))),
        "logistic_rfm": _logistic_rfm_auc(x_train, y_train, x_test, y_test),
        "recency": float(roc_auc_score(y_test, x_test["recency_days"])),
    }
    return BacktestResult(
        cutoff=cutoff.date(),
        horizon_days=horizon_days,
        auc=round(auc, 4),
        baselines={k: round(v, 4) for k, v in baselines.items()},
        customers=len(x_test),
        churn_rate=round(float(y_test.mean()), 4),
        auc_cv=round(_cross_validated_auc(x_test, y_test, cut, horizon_days), 4) if cross_validate else None,
        evaluation=(
            f"out-of-time: trained on {len(info)} snapshot(s) {step_days} days apart whose {horizon_days}-day label "
            f"windows end by {cutoff.date()}; tested on customers who bought before {cutoff.date()}"
        ),
        training_snapshots=[
            {"cutoff": _date(s.cutoff_day).isoformat(), "customers": s.customers, "churn_rate": round(s.churn_rate, 4)}
            for s in info
        ],
        label_window_complete=last >= cut + horizon_days - 1,
        bgnbd_penalizer=x_test.attrs.get("bgnbd_penalizer"),
        seconds=round(time.perf_counter() - started, 2),
    )


def _logistic_rfm_auc(x_train, y_train, x_test, y_test) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def design(x: pd.DataFrame) -> np.ndarray:
        return np.log1p(x[RFM_COLUMNS].clip(lower=0).to_numpy(dtype="float64"))

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(design(x_train), y_train.to_numpy())
    return float(roc_auc_score(y_test, model.predict_proba(design(x_test))[:, 1]))


def _cross_validated_auc(x: pd.DataFrame, y: pd.Series, cut: float, horizon: float) -> float:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = np.zeros(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in folds.split(x, y):
            fold = fit_churn_model(x.iloc[train], y.iloc[train], as_of_day=cut, horizon_days=horizon)
            scores[test] = fold.predict(x.iloc[test])
    return float(roc_auc_score(y, scores))


def _date(day: float) -> date:
    return (datetime(1970, 1, 1) + timedelta(days=float(day))).date()
