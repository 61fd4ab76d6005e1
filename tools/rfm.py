"""RFM scores, named segments, value tiers and k-means clusters for every buying customer.

Definitions (revenue orders before ``now``; see ``tools.cadence.revenue_orders``):
- recency_days: days since the last order; frequency: number of orders; monetary: net revenue.
- Scores 1..5 are quintiles of the percentile rank over the whole customer base
  (``score = ceil(5 * pct_rank)``, ties share the average rank so equal values always
  get equal scores). r_score 5 = most recent; f/m 5 = most orders / most spend.
  Scores are always relative to the whole base, never to one rep's book: a rep's
  "champion" is a company champion.
- Named segment: the widely used 5x5 RFM grid on R and FM = round-half-up((F + M) / 2)
  (the R-vs-FM layout popularised by Putler and the Kaggle RFM notebooks), with
  "lost" carved out of "hibernating" at R = FM = 1:

      FM ->       1               2                3               4            5
      R=5   new             potential_loyalists potential_loyalists champions   champions
      R=4   promising       potential_loyalists potential_loyalists loyal       loyal
      R=3   about_to_sleep  about_to_sleep      need_attention      loyal       loyal
      R=2   hibernating     hibernating         at_risk             at_risk     cant_lose_them
      R=1   lost            hibernating         at_risk             at_risk     cant_lose_them

- Value tier by monetary percentile rank: ``vip`` = top 5 % (pct_rank > 0.95; "high"
  is accepted as a synonym), ``mid`` = next 35 % (0.60 < pct_rank <= 0.95),
  ``low`` = bottom 60 %.
- Cluster: k-means on standardised log1p(recency, frequency, monetary); k in 2..8 is
  the one with the best silhouette on a fixed random sample; clusters are numbered
  1..k by descending mean monetary, so cluster 1 is always the most valuable.
"""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from storage.scope import Scope
from tools.cadence import customers_in_scope, order_summary, to_day_number
from tools.errors import InvalidArgument
from tools.order_frames import order_book, to_ms

RFM_COLUMNS = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "value_tier",
    "cluster",
]

SEGMENTS: dict[str, tuple[str, str, str]] = {
    # key: (English label, Chinese label, what to do)
    "champions": ("Champions", "冠军客户", "bought recently, buy often and spend the most: reward them"),
    "loyal": ("Loyal", "忠诚客户", "buy regularly and spend well: upsell, ask for reviews"),
    "potential_loyalists": (
        "Potential loyalists",
        "潜力客户",
        "recent with average frequency: offer membership",
    ),
    "new": ("New", "新客户", "bought recently for the first time(s): onboard them"),
    "promising": ("Promising", "有望客户", "recent but low frequency and spend: build the habit"),
    "need_attention": ("Need attention", "需关注客户", "average on all three: limited-time offers"),
    "about_to_sleep": ("About to sleep", "即将沉睡", "below average and fading: reactivate"),
    "at_risk": ("At risk", "流失风险客户", "used to buy often, not lately: win back"),
    "cant_lose_them": ("Can't lose them", "不可失去客户", "top spenders gone quiet: personal outreach"),
    "hibernating": ("Hibernating", "休眠客户", "long gone, low value: cheap reminders only"),
    "lost": ("Lost", "已流失客户", "lowest recency and value: do not spend on them"),
}

_GRID = {
    5: ["new", "potential_loyalists", "potential_loyalists", "champions", "champions"],
    4: ["promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"],
    1: ["lost", "hibernating", "at_risk", "at_risk", "cant_lose_them"],
}

TIERS: dict[str, tuple[str, str, str]] = {
    "vip": ("VIP (top 5% by spend)", "VIP（消费前5%）", "pct_rank > 0.95"),
    "mid": ("Mid (next 35%)", "中价值（其后35%）", "0.60 < pct_rank <= 0.95"),
    "low": ("Low (bottom 60%)", "低价值（后60%）", "pct_rank <= 0.60"),
}
VIP_PCT = 0.95
MID_PCT = 0.60
_CLUSTER_SAMPLE = 2000
_CLUSTER_FIT_ROWS = 20000


def segment_for(r_score: int, fm_score: int) -> str:
    return _GRID[int(r_score)][int(fm_score) - 1]


def score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Quintile score 1..5 from the percentile rank; ties get the same score."""
    pct = (values if higher_is_better else -values).rank(method="average", pct=True)
    return np.ceil(pct * 5).clip(1, 5).astype("int64")


def value_tier(monetary: pd.Series) -> pd.Series:
    pct = monetary.rank(method="average", pct=True)
    return pd.Series(
        np.where(pct > VIP_PCT, "vip", np.where(pct > MID_PCT, "mid", "low")), index=monetary.index
    )


def compute_rfm(
    engine: Engine, *, now: datetime, scope: Scope | None = None, clusters: bool = True
) -> pd.DataFrame:
    """RFM features for customers with at least one revenue order before ``now`` (columns: RFM_COLUMNS).

    Scores, tiers and clusters are computed over the whole base; ``scope`` only
    narrows which rows come back. ``clusters=False`` skips k-means (``cluster`` is then
    empty) for callers that only need scores, segments or tiers.
    """
    book = order_book(engine)
    # Kept on the book per (now, clusters): a report asking about the same past moment again is a lookup.
    rfm = book.memo(("rfm", to_ms(now), clusters),
                    lambda: rfm_from_summary(order_summary(engine, now=now), now=now, clusters=clusters)).copy()
    if scope is not None and not scope.all_customers:
        rfm = rfm[rfm["customer_id"].isin(customers_in_scope(engine, scope=scope))].reset_index(drop=True)
    return rfm


def rfm_from_summary(summary: pd.DataFrame, *, now: datetime, clusters: bool = True) -> pd.DataFrame:
    """RFM from per-customer order aggregates (``tools.cadence.order_summary``)."""
    if summary.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in RFM_COLUMNS})
    out = pd.DataFrame(
        {
            "customer_id": summary["customer_id"].astype("int64").to_numpy(),
            "recency_days": to_day_number(now) - summary["last_day"].to_numpy(),
            "frequency": summary["orders"].astype("int64").to_numpy(),
            "monetary": summary["amount"].round(2).to_numpy(),
        }
    ).set_index("customer_id")
    out["r_score"] = score(out["recency_days"], higher_is_better=False)
    out["f_score"] = score(out["frequency"])
    out["m_score"] = score(out["monetary"])
    fm = np.floor((out["f_score"] + out["m_score"]) / 2 + 0.5).astype("int64")
    grid = np.array([_GRID[r] for r in (1, 2, 3, 4, 5)], dtype=object)
    out["rfm_segment"] = grid[out["r_score"].to_numpy() - 1, fm.to_numpy() - 1]
    out["value_tier"] = value_tier(out["monetary"])
    out["cluster"] = cluster_labels(out[["recency_days", "frequency", "monetary"]]) if clusters else None
    return out.reset_index()[RFM_COLUMNS]


def cluster_labels(rfm: pd.DataFrame, *, k: int | None = None, seed: int = 0) -> np.ndarray:
    """k-means cluster (1..k, by descending mean monetary) for each row of [recency_days, frequency, monetary]."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    n = len(rfm)
    if n < 3:
        return np.ones(n, dtype="int64")
    x = np.log1p(rfm[["recency_days", "frequency", "monetary"]].clip(lower=0).to_numpy(dtype="float64"))
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    rng = np.random.default_rng(seed)
    # One thread: on a few thousand rows OpenMP start-up costs 10-100x the work on a busy machine.
    with threadpool_limits(1):
        if k is None:
            sample = x[rng.choice(n, size=min(n, _CLUSTER_SAMPLE), replace=False)]
            k = choose_k(sample, seed=seed, scorer=silhouette_score)
        fit_rows = x[rng.choice(n, size=min(n, _CLUSTER_FIT_ROWS), replace=False)]
        model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(fit_rows)
        raw = model.predict(x)
    monetary = rfm["monetary"].to_numpy(dtype="float64")
    means = np.array([monetary[raw == c].mean() if (raw == c).any() else -np.inf for c in range(k)])
    rank = np.empty(k, dtype="int64")
    rank[np.argsort(-means)] = np.arange(1, k + 1)
    return rank[raw]


def choose_k(sample: np.ndarray, *, seed: int, scorer, k_range: range = range(2, 9)) -> int:
    """The k with the highest silhouette on the sample (2 when the sample is too small or degenerate)."""
    from sklearn.cluster import KMeans

    best_k, best = 2, -np.inf
    distinct = len(np.unique(sample, axis=0))
    for k in k_range:
        if k >= distinct:
            break
        labels = KMeans(n_clusters=k, n_init=2, random_state=seed).fit_predict(sample)
        if len(set(labels)) < 2:
            continue
        value = scorer(sample, labels)
        if value > best:
            best_k, best = k, value
    return best_k


_TIER_ALIASES = {
    "high": "vip",
    "top": "vip",
    "vip": "vip",
    "高价值": "vip",
    "mid": "mid",
    "medium": "mid",
    "middle": "mid",
    "中": "mid",
    "中价值": "mid",
    "low": "low",
    "低": "low",
    "低价值": "low",
}


def normalize_segment(text: str) -> str:
    """'At risk', 'at-risk', "Can't lose them", '流失风险客户' -> the segment key; InvalidArgument otherwise."""
    key = re.sub(r"[^a-z0-9]+", "_", text.strip().casefold().replace("'", "")).strip("_")
    key = {
        "loyal_customers": "loyal",
        "new_customers": "new",
        "cant_lose": "cant_lose_them",
        "potential_loyalist": "potential_loyalists",
    }.get(key, key)
    if key in SEGMENTS:
        return key
    for k, (label, zh, _) in SEGMENTS.items():
        if text.strip() in (label, zh, zh.removesuffix("客户")):
            return k
    raise InvalidArgument(f"unknown segment {text!r}", hint="segments: " + ", ".join(SEGMENTS))


def normalize_tier(text: str) -> str:
    key = _TIER_ALIASES.get(text.strip().casefold())
    if key is None:
        raise InvalidArgument(f"unknown value tier {text!r}", hint="tiers: vip (or high), mid, low")
    return key
