"""Churn scores for every customer at "now", and the model's measured quality; both cached.

``compute_churn_scores`` is what ``crm refresh`` stores in the feature snapshot. The
model behind it is trained on the company's own history (``tools.churn_model``) and
cached on disk by (database, data fingerprint, day of "now", horizon), so repeated
calls on unchanged data only compute features and predict.

``model_quality`` measures that same training procedure one horizon back: trained on
what was known at now - horizon, tested on who actually bought in [now - horizon, now).
That AUC is what the churn tool reports as the model's quality.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import datetime

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from tools import model_store
from tools.cadence import from_day_number
from tools.churn_features import churn_features, churn_labels
from tools.churn_model import ChurnModel, NotEnoughHistory, train_churn_model
from tools.churn_reasons import churn_reasons
from tools.order_frames import data_fingerprint, database_key, day_of, load_orders

log = logging.getLogger(__name__)

DEFAULT_HORIZON_DAYS = 90
# Bump when features or training change, so cached fits from older code are not reused.
MODEL_VERSION = 4
SCORE_COLUMNS = ["customer_id", "churn_probability", "churn_reasons", "top_reasons"]

_SCORES: dict[str, pd.DataFrame] = {}
_LOCK = threading.Lock()


class ChurnQuality(BaseModel):
    auc: float
    tested_on: str  # the back-test cut-off, ISO date
    customers: int
    churn_rate: float
    horizon_days: int


_QUALITY: dict[str, ChurnQuality | None] = {}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "churn_probability" else "object") for c in SCORE_COLUMNS})


def churn_model(engine: Engine, *, now: datetime, horizon_days: int = DEFAULT_HORIZON_DAYS,
                fingerprint: str | None = None) -> ChurnModel:
    """The fitted model for "now" (trained on snapshots whose label windows end by today); cached."""
    fingerprint = fingerprint or data_fingerprint(engine)
    as_of = math.floor(day_of(now))
    key = model_store.cache_key(MODEL_VERSION, database_key(engine), fingerprint, as_of, horizon_days)
    model = model_store.load("churn", key)
    if model is None:
        orders = load_orders(engine, before=now, fingerprint=fingerprint)
        model = train_churn_model(orders, as_of_day=float(as_of), horizon_days=float(horizon_days))
        model_store.save("churn", key, model)
    return model


def compute_churn_scores(engine: Engine, *, now: datetime, horizon_days: int = DEFAULT_HORIZON_DAYS) -> pd.DataFrame:
    """Per customer who has bought before ``now``: churn probability and up to three readable reasons.

    Columns: customer_id, churn_probability, churn_reasons (list[str]), top_reasons (same
    list; both names are in use). Empty when there is not enough history to train.
    """
    fingerprint = data_fingerprint(engine)
    memo = f"{database_key(engine)}:{fingerprint}:{now.isoformat()}:{horizon_days}"
    with _LOCK:
        if memo in _SCORES:
            return _SCORES[memo]
    try:
        model = churn_model(engine, now=now, horizon_days=horizon_days, fingerprint=fingerprint)
    except NotEnoughHistory as exc:
        log.info("no churn scores as of %s: %s", now, exc)
        return _empty()
    orders = load_orders(engine, before=now, fingerprint=fingerprint)
    features = churn_features(orders, cutoff_day=day_of(now), horizon_days=float(horizon_days))
    if features.empty:
        return _empty()
    reasons = churn_reasons(model, features)
    out = pd.DataFrame({
        "customer_id": features.index.to_numpy(dtype="int64"),
        "churn_probability": np.round(model.predict(features), 6),
        "churn_reasons": reasons,
    })
    out["top_reasons"] = out["churn_reasons"]
    with _LOCK:
        _SCORES.clear()
        _SCORES[memo] = out
    return out


def model_quality(engine: Engine, *, now: datetime, horizon_days: int = DEFAULT_HORIZON_DAYS,
                  fingerprint: str | None = None) -> ChurnQuality | None:
    """Out-of-time AUC of the training procedure, measured at now - horizon; None when it cannot be measured.

    ``fingerprint``: the data fingerprint when the caller already knows it (a fresh snapshot's
    refresh record uses the same formula), which saves a scan of the orders on every call.
    """
    fingerprint = fingerprint or data_fingerprint(engine)
    as_of = math.floor(day_of(now))
    key = model_store.cache_key(MODEL_VERSION, database_key(engine), fingerprint, as_of, horizon_days, "quality")
    if key in _QUALITY:
        return _QUALITY[key]
    cached = model_store.load("churn-quality", key)
    if cached is not None:
        _QUALITY[key] = cached or None  # {} caches "cannot be measured"
        return _QUALITY[key]
    from sklearn.metrics import roc_auc_score  # only when measuring: it is slow to import

    orders = load_orders(engine, before=now, fingerprint=fingerprint)
    cut = float(as_of - horizon_days)
    past = orders[orders["day"] < cut]
    quality: ChurnQuality | dict = {}
    try:
        model = train_churn_model(past, as_of_day=cut, horizon_days=float(horizon_days))
        x = churn_features(past, cutoff_day=cut, horizon_days=float(horizon_days))
        y = churn_labels(orders, x.index, cutoff_day=cut, horizon_days=float(horizon_days))
        if y.nunique() == 2:
            quality = ChurnQuality(
                auc=round(float(roc_auc_score(y, model.predict(x))), 4),
                tested_on=from_day_number(np.array([cut]))[0].date().isoformat(),
                customers=len(x), churn_rate=round(float(y.mean()), 4), horizon_days=horizon_days,
            )
    except NotEnoughHistory as exc:
        log.info("churn model quality not measurable as of %s: %s", now, exc)
    model_store.save("churn-quality", key, quality)
    _QUALITY[key] = quality or None
    return _QUALITY[key]
