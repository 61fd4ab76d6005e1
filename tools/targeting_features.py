"""Point-in-time features for the response-propensity model (see ``tools.targeting``).

Every feature of an event at time t uses only data strictly before t: orders placed
before t, touches sent before t, conversions recorded before t, and open/click outcomes
of touches sent at least ``OUTCOME_LAG_DAYS`` before t (opens and clicks arrive after a
send, so a newer touch's outcome may not be known yet).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import select

from storage.models import CampaignTouch
from tools.cadence import day_number, rows_frame, to_day_number

FEATURES = [
    "recency_days",
    "log_frequency",
    "log_monetary",
    "orders_90d",
    "log_spend_90d",
    "cadence_ratio",
    "prev_touches",
    "prev_conversions",
    "open_rate_prior",
    "click_rate_prior",
]
OUTCOME_LAG_DAYS = 14.0


def point_in_time_features(events: pd.DataFrame, orders: pd.DataFrame, touches: pd.DataFrame) -> pd.DataFrame:
    """Features for each row of ``events`` [customer_id, t] (t in days since epoch) from strictly earlier data.

    ``orders``: [customer_id, day, amount]; ``touches``: [customer_id, sent, opened, clicked, converted, converted_day].
    """
    ev = events.reset_index(drop=True).assign(_row=lambda d: np.arange(len(d)))
    ev = ev.sort_values("t", kind="stable")
    od = orders.sort_values("day", kind="stable").copy()
    od["cum_n"] = od.groupby("customer_id").cumcount() + 1
    od["cum_amount"] = od.groupby("customer_id")["amount"].cumsum()
    od["first_day"] = od.groupby("customer_id")["day"].transform("min")
    hist = od[["customer_id", "day", "cum_n", "cum_amount", "first_day"]]
    now_side = pd.merge_asof(
        ev, hist, left_on="t", right_on="day", by="customer_id", allow_exact_matches=False
    )
    back = ev.assign(t90=ev["t"] - 90.0).sort_values("t90", kind="stable")
    ago = pd.merge_asof(
        back,
        hist[["customer_id", "day", "cum_n", "cum_amount"]],
        left_on="t90",
        right_on="day",
        by="customer_id",
        allow_exact_matches=False,
    )[["_row", "cum_n", "cum_amount"]].rename(columns={"cum_n": "n90", "cum_amount": "a90"})
    f = now_side.merge(ago, on="_row", how="left")
    n = f["cum_n"].fillna(0.0)
    amount = f["cum_amount"].fillna(0.0)
    f["recency_days"] = f["t"] - f["day"]  # NaN without orders: the model treats missing as its own branch
    f["log_frequency"] = np.log1p(n)
    f["log_monetary"] = np.log1p(amount.clip(lower=0))
    f["orders_90d"] = n - f["n90"].fillna(0.0)
    f["log_spend_90d"] = np.log1p((amount - f["a90"].fillna(0.0)).clip(lower=0))
    avg_gap = (f["day"] - f["first_day"]) / (n - 1).where(n > 1)
    f["cadence_ratio"] = f["recency_days"] / avg_gap.where(avg_gap > 0)
    f = f.merge(_touch_history(ev, touches), on="_row", how="left")
    return f.sort_values("_row").set_index("_row")[FEATURES]


def _touch_history(ev: pd.DataFrame, touches: pd.DataFrame) -> pd.DataFrame:
    def cum_before(times: pd.Series, weights: pd.Series | None, at: pd.Series, name: str) -> pd.Series:
        tab = pd.DataFrame(
            {"customer_id": touches["customer_id"], "x": times, "w": 1.0 if weights is None else weights}
        )
        tab = tab.dropna(subset=["x"]).sort_values("x", kind="stable")
        tab["cum"] = tab.groupby("customer_id")["w"].cumsum()
        left = pd.DataFrame({"_row": ev["_row"], "customer_id": ev["customer_id"], "x": at}).sort_values(
            "x", kind="stable"
        )
        hit = pd.merge_asof(
            left, tab[["customer_id", "x", "cum"]], on="x", by="customer_id", allow_exact_matches=False
        )
        return hit.set_index("_row")["cum"].fillna(0.0).rename(name)

    lagged = ev["t"] - OUTCOME_LAG_DAYS
    sent, conv = touches["sent"], touches["converted_day"].where(touches["converted"].astype(bool))
    parts = [
        cum_before(sent, None, ev["t"], "prev_touches"),
        cum_before(conv, None, ev["t"], "prev_conversions"),
        cum_before(sent, None, lagged, "old_touches"),
        cum_before(sent, touches["opened"].astype(float), lagged, "old_opens"),
        cum_before(sent, touches["clicked"].astype(float), lagged, "old_clicks"),
    ]
    h = pd.concat(parts, axis=1)
    # Beta(1, 1)-smoothed rates: a customer with no old touches sits at 0.5, not at 0 or NaN.
    h["open_rate_prior"] = (h["old_opens"] + 1) / (h["old_touches"] + 2)
    h["click_rate_prior"] = (h["old_clicks"] + 1) / (h["old_touches"] + 2)
    return h.reset_index()[
        ["_row", "prev_touches", "prev_conversions", "open_rate_prior", "click_rate_prior"]
    ]


def load_touches(engine, *, now: datetime) -> pd.DataFrame:
    dialect = engine.dialect.name
    stmt = select(
        CampaignTouch.customer_id,
        day_number(CampaignTouch.sent_at, dialect),
        CampaignTouch.opened,
        CampaignTouch.clicked,
        CampaignTouch.converted,
        day_number(CampaignTouch.converted_at, dialect),
    ).where(CampaignTouch.sent_at < now)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    cols = ["customer_id", "sent", "opened", "clicked", "converted", "converted_day"]
    frame = rows_frame(rows, cols)
    # A conversion recorded after "now" is not known yet.
    late = frame["converted_day"] > to_day_number(now)
    frame.loc[late, "converted"] = False
    return frame.astype({"customer_id": "int64", "sent": "float64", "converted_day": "float64"})
