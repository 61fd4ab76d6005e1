"""The churn model: trained on the company's own past, scored now, with readable reasons.

Training (``train_churn_model``) mirrors how the model is used. To score customers at
moment A with horizon H, it needs labels, and a label at cut-off c ("no purchase in
[c, c + H)") is only known once c + H <= A. So it stacks snapshots at
c_k = A - H - k * step (k = 0 .. snapshots-1): features from orders before c_k, labels
from [c_k, c_k + H). Nothing at or after A is read. ``tools.churn_backtest`` calls the
same function with A = the back-test cut-off and scores the customers there, which is
an honest out-of-time evaluation: the model never saw a label from the test window.

Model: the mean of two probabilities, a logistic regression on standardised
log-features (it also gives the reasons) and a gradient-boosted tree model on the raw
features (it catches interactions such as "recent *and* frequent").

Reasons: the logistic part's per-feature contributions, coefficient x standardised
value, summed over related features; the top positive groups become sentences built
from the customer's own numbers ("no purchase for 94 days vs a usual gap of 21").
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tools.churn_features import FEATURES, churn_features, churn_labels

# Features that are already on a log or 0..1 scale; every other one is log1p'd for the logistic part.
_NOT_LOGGED = {"spend_trend", "returns_share"}
MIN_TRAIN_CUSTOMERS = 30
# Big books: each training snapshot describes a seeded sample of this many customers, and
# the tree model sees at most GBM_MAX_ROWS rows. Four snapshots of 10k customers
# already pin down ~20 coefficients; more rows mostly cost refresh time.
SNAPSHOT_MAX_CUSTOMERS = 10_000
GBM_MAX_ROWS = 20_000
REASON_GROUPS: dict[str, tuple[str, ...]] = {
    "silence": ("recency_days", "recency_vs_gap", "decay_30", "decay_90", "purchase_days_30d", "purchase_days_90d"),
    "frequency": ("purchase_days", "orders", "purchase_days_180d", "gap_mean", "gap_std", "gap_last", "bgnbd_expected"),
    "spend_drop": ("spend_trend", "spend_90d", "spend_prev_90d"),
    "low_value": ("spend", "avg_order_value"),
    "new": ("tenure_days",),
    "returns": ("returns_share",),
}


@contextmanager
def single_thread():
    """Run OpenMP and BLAS code on one thread.

    On a small, shared machine their threads spin against each other: a 300-tree
    model on 10k rows took 31 s with the default threads and 1.7 s with one.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


class NotEnoughHistory(Exception):
    """Too few customers or labelled snapshots to train a churn model."""


@dataclass
class Snapshot:
    cutoff_day: float
    customers: int
    churn_rate: float


@dataclass
class ChurnModel:
    horizon_days: float
    as_of_day: float
    logistic: object
    gbm: object | None
    fill: dict[str, float]
    snapshots: list[Snapshot] = field(default_factory=list)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        with single_thread():
            p = self.logistic.predict_proba(log_design(features, self.fill))[:, 1]
            if self.gbm is not None:
                p = (p + self.gbm.predict_proba(features[FEATURES].to_numpy())[:, 1]) / 2.0
        return p

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per feature, coefficient x standardised value (log-odds units; positive pushes toward churn)."""
        scaler, logit = self.logistic.named_steps["scale"], self.logistic.named_steps["logit"]
        z = scaler.transform(log_design(features, self.fill))
        return pd.DataFrame(z * logit.coef_[0], index=features.index, columns=FEATURES)


def log_design(features: pd.DataFrame, fill: dict[str, float]) -> np.ndarray:
    x = features[FEATURES].copy()
    # A one-time buyer has no gaps: the silence since the first purchase stands in for them.
    for col in ("gap_mean", "gap_last"):
        x[col] = x[col].fillna(x["tenure_days"])
    x = x.fillna(fill)
    for col in FEATURES:
        if col not in _NOT_LOGGED:
            x[col] = np.log1p(x[col].clip(lower=0))
    return x.to_numpy(dtype="float64")


def training_frame(
    orders: pd.DataFrame, *, as_of_day: float, horizon_days: float, snapshots: int, step_days: float
) -> tuple[pd.DataFrame, pd.Series, list[Snapshot]]:
    """Stacked (features, labels) from snapshots whose label windows end at or before ``as_of_day``."""
    history = orders[orders["day"] < as_of_day]
    if history.empty:
        raise NotEnoughHistory("there are no orders before the cut-off")
    start = history["day"].min()
    ids = history["customer_id"].unique()
    xs, ys, info = [], [], []
    for k in range(snapshots):
        cutoff = as_of_day - horizon_days - k * step_days
        if cutoff - start < min(horizon_days, 60.0):
            break  # too little history before this snapshot to describe anyone
        part = history
        if len(ids) > SNAPSHOT_MAX_CUSTOMERS:
            keep = np.random.default_rng(k).choice(ids, SNAPSHOT_MAX_CUSTOMERS, replace=False)
            part = history[history["customer_id"].isin(keep)]
        x = churn_features(part, cutoff_day=cutoff, horizon_days=horizon_days)
        if len(x) < MIN_TRAIN_CUSTOMERS:
            break
        y = churn_labels(part, x.index, cutoff_day=cutoff, horizon_days=horizon_days)
        xs.append(x)
        ys.append(y)
        info.append(Snapshot(cutoff_day=cutoff, customers=len(x), churn_rate=float(y.mean())))
    if not xs:
        raise NotEnoughHistory(
            f"training needs customers who bought at least {min(horizon_days, 60.0):.0f} days before "
            f"a labelled window of {horizon_days:.0f} days"
        )
    y = pd.concat(ys)
    if y.nunique() < 2:
        raise NotEnoughHistory("every training customer has the same outcome, so there is nothing to learn")
    return pd.concat(xs), y, info


def train_churn_model(
    orders: pd.DataFrame,
    *,
    as_of_day: float,
    horizon_days: float = 90.0,
    snapshots: int = 4,
    step_days: float = 30.0,
) -> ChurnModel:
    """Fit on labelled snapshots before ``as_of_day`` (see the module docstring)."""
    x, y, info = training_frame(orders, as_of_day=as_of_day, horizon_days=horizon_days, snapshots=snapshots,
                                step_days=step_days)
    return fit_churn_model(x, y, as_of_day=as_of_day, horizon_days=horizon_days, snapshots=info)


def fit_churn_model(
    x: pd.DataFrame, y: pd.Series, *, as_of_day: float, horizon_days: float, snapshots: list[Snapshot] | None = None
) -> ChurnModel:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    fill = {c: float(v) if np.isfinite(v) else 0.0 for c, v in x[FEATURES].median().items()}
    fill["gap_std"] = 0.0
    logistic = Pipeline([("scale", StandardScaler()), ("logit", LogisticRegression(C=0.1, max_iter=2000))])
    with warnings.catch_warnings(), single_thread():
        warnings.simplefilter("ignore")
        logistic.fit(log_design(x, fill), y.to_numpy())
    gbm = None
    if len(x) >= 200:  # below that, trees mostly memorise; the logistic part alone is steadier
        gbm = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.045, max_leaf_nodes=8, min_samples_leaf=50, l2_regularization=1.0,
            early_stopping=False, random_state=0,
        )
        rows = np.arange(len(x))
        if len(rows) > GBM_MAX_ROWS:
            rows = np.random.default_rng(0).choice(rows, GBM_MAX_ROWS, replace=False)
        with single_thread():
            gbm.fit(x[FEATURES].to_numpy()[rows], y.to_numpy()[rows])
    return ChurnModel(horizon_days=horizon_days, as_of_day=as_of_day, logistic=logistic, gbm=gbm, fill=fill,
                      snapshots=list(snapshots or []))
