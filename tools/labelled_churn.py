"""Train a churn model from a labelled customer file (e.g. IBM Telco), with cross-validated AUC.

Reading: every column except the label becomes a feature, except identifiers (a text
column unique on every row, such as ``customerID``). Text columns whose non-blank
cells are all numbers ("TotalCharges", blank for 11 new Telco customers) are numeric;
blanks become the column median plus a "was missing" flag. Other text columns are
one-hot encoded. The label accepts yes/no, true/false, 1/0, churned/stayed (any case).

Model: the average of two probabilities, a standardised logistic regression and
gradient boosting. Evaluation: stratified 5-fold cross-validated AUC (shuffled, seed
0) of that average; the two parts' own AUCs are listed beside it. The model is fixed
in advance rather than picked by its CV score, so the AUC is not flattered by the
choice. Preprocessing sits inside each fold's pipeline, so no statistic of a test fold
leaks into training. The model refitted on all rows is saved under ``CRM_HOME/models``.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from tools import model_store
from tools.churn_model import single_thread
from tools.errors import InvalidArgument

POSITIVE = {"yes", "y", "true", "t", "1", "churn", "churned", "left", "lost"}
NEGATIVE = {"no", "n", "false", "f", "0", "stay", "stayed", "retained", "active"}
FOLDS = 5


class LabelledChurnReport(BaseModel):
    file: str
    label: str
    rows: int
    churn_rate: float
    features: int = Field(description="Input columns used (before one-hot encoding)")
    dropped_columns: list[str]
    auc: float = Field(description="Cross-validated AUC of the model (average of logistic and boosting)")
    cv_auc: dict[str, float] = Field(description="Cross-validated AUC of each part and of the average")
    folds: int = FOLDS
    top_features: list[str] = Field(description="Largest absolute logistic coefficients (standardised inputs)")
    model_path: str | None = None
    seconds: float


def read_labelled(path: Path, *, label: str) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """(features, 0/1 label, dropped identifier columns); raises InvalidArgument on a bad file or label."""
    if not path.is_file():
        raise InvalidArgument(f"file not found: {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InvalidArgument(f"cannot read {path} as CSV: {exc}") from None
    if label not in frame.columns:
        raise InvalidArgument(f"no column {label!r} in {path.name}", hint="columns: " + ", ".join(frame.columns))
    raw = frame.pop(label).str.strip().str.lower()
    unknown = sorted(set(raw) - POSITIVE - NEGATIVE)
    if unknown:
        raise InvalidArgument(f"label column {label!r} has values that are not yes/no-like: {', '.join(unknown[:5])}")
    y = raw.isin(POSITIVE).astype("int64")
    if y.nunique() < 2:
        raise InvalidArgument(f"label column {label!r} has only one class; there is nothing to learn")
    dropped, columns = [], {}
    for name in frame.columns:
        text = frame[name].str.strip()
        filled = text[text != ""]
        numbers = pd.to_numeric(filled, errors="coerce")
        if len(filled) and numbers.notna().all():
            columns[name] = pd.to_numeric(text.replace("", np.nan), errors="coerce")
        elif filled.nunique() == len(frame):
            dropped.append(name)  # an identifier: unique per row, says nothing about churn
        else:
            columns[name] = text.replace("", "(blank)")
    if not columns:
        raise InvalidArgument("no usable feature columns besides the label")
    return pd.DataFrame(columns), y, dropped


def _pipelines(x: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c])]
    text = [c for c in x.columns if c not in numeric]

    def prep(scale: bool) -> ColumnTransformer:
        num = [("impute", SimpleImputer(strategy="median", add_indicator=True))] + ([("scale", StandardScaler())] if scale else [])
        return ColumnTransformer([
            ("num", Pipeline(num), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), text),
        ])

    logistic = Pipeline([("prep", prep(True)), ("model", LogisticRegression(C=1.0, max_iter=5000))])
    boosting = Pipeline([("prep", prep(False)), ("model", HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=40, l2_regularization=1.0,
        early_stopping=False, random_state=0))])
    return {"logistic": logistic, "gradient_boosting": boosting}


def train_labelled(path: str | Path, *, label: str, save: bool = True) -> LabelledChurnReport:
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    path = Path(path)
    x, y, dropped = read_labelled(path, label=label)
    models = _pipelines(x)
    scores = {name: np.zeros(len(y)) for name in models}
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    with warnings.catch_warnings(), single_thread():
        warnings.simplefilter("ignore")
        for train, test in folds.split(x, y):
            for name, model in models.items():
                fitted = clone(model).fit(x.iloc[train], y.iloc[train])
                scores[name][test] = fitted.predict_proba(x.iloc[test])[:, 1]
        cv = {name: round(float(roc_auc_score(y, s)), 4) for name, s in scores.items()}
        cv["average"] = round(float(roc_auc_score(y, sum(scores.values()) / len(scores))), 4)
        final = {name: clone(m).fit(x, y) for name, m in models.items()}
    coefs = final["logistic"].named_steps["model"].coef_[0]
    names = final["logistic"].named_steps["prep"].get_feature_names_out()
    top = [str(names[i]).split("__", 1)[-1] for i in np.argsort(-np.abs(coefs))[:8]]
    model_path = None
    if save:
        key = model_store.cache_key(path.resolve(), path.stat().st_mtime, label)
        model_path = str(model_store.save("labelled-churn", key, {"label": label, "columns": list(x.columns), "models": final}))
    return LabelledChurnReport(
        file=str(path), label=label, rows=len(y), churn_rate=round(float(y.mean()), 4), features=x.shape[1],
        dropped_columns=dropped, auc=cv["average"], cv_auc=cv, top_features=top, model_path=model_path,
        seconds=round(time.perf_counter() - started, 2),
    )
