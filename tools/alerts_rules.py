"""The five early-warning rules, each a pure function from features to findings.

Every rule reuses a definition the analytics tools already stand behind, so an alert and
the tool a rep would ask next ("which VIPs went quiet?", "churn risk of X") agree:

- **vip_quiet**: a VIP who went quiet against their own rhythm (``tools.quiet.find_quiet``:
  silence > 2.5 x their usual gap, at least 4 purchase days) within the last
  ``QUIET_LOOKBACK_DAYS``. Key bucket: the day they went quiet, which stays fixed until they buy
  again, so one silence is one alert. Severity high from 4 x the usual gap, else medium.
- **spend_drop** / **frequency_drop**: still buying (an order in the last 90 days; a stop is
  ``vip_quiet`` or churn territory) but spend, or orders, over the last 90 days are at most half of
  the 90 days before (``tools.quiet.DROP_FACTOR``; orders need >= 2 before). VIP and mid tiers only
  (``WATCH_TIERS``): the customers worth a call. Bucket: the month, so an ongoing drop reminds
  monthly, not daily. Severity: VIP high (spend) / medium (orders), mid medium / low.
- **churn_jump**: the churn probability rose by at least ``CHURN_JUMP`` (0.20) since the last score
  seen in an earlier ISO week, to at least ``CHURN_FLOOR`` (0.5). The previous score comes from
  ``churn_score_seen`` (``tools.alerts_memory``); without one there is no jump to report. Watch tiers
  only. Bucket: the ISO week. Severity high when the new score is >= 0.8 or the customer is a VIP.
- **complaint_spike**: at least ``COMPLAINT_MIN`` (2) complaints or strongly negative contacts
  (kind complaint, or sentiment <= -0.5) in the last ``COMPLAINT_WINDOW_DAYS`` (30), and at least
  ``SPIKE_FACTOR`` (3) x the customer's own rate over the 180 days before. All tiers. Bucket: the
  ISO week of the latest complaint, so a new complaint next week is news again. Severity high from
  3 complaints or for a VIP, else medium.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from pydantic import BaseModel, Field

from tools.quiet import DROP_FACTOR

QUIET_LOOKBACK_DAYS = 30
WATCH_TIERS = ("vip", "mid")
CHURN_JUMP = 0.20
CHURN_FLOOR = 0.5
COMPLAINT_MIN = 2
COMPLAINT_WINDOW_DAYS = 30
COMPLAINT_PRIOR_DAYS = 180
SPIKE_FACTOR = 3.0
NEGATIVE_SENTIMENT = -0.5


class Finding(BaseModel):
    """One rule firing for one customer, before names and owners are attached."""

    kind: str
    customer_id: int
    severity: str
    period: str
    numbers: dict[str, float | int | str | None] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.customer_id}:{self.period}"


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def vip_quiet(quiet: pd.DataFrame) -> list[Finding]:
    """``quiet``: the frame ``find_quiet`` returns for the VIP tier (quietest first)."""
    out = []
    for r in quiet.itertuples():
        quiet_since = pd.Timestamp(r.quiet_at).date()
        out.append(Finding(
            kind="vip_quiet", customer_id=int(r.customer_id), period=quiet_since.isoformat(),
            severity="high" if r.ratio >= 4 else "medium",
            numbers={"days_since": round(float(r.days_since), 1), "usual_gap_days": round(float(r.usual_gap_days), 1),
                     "ratio": round(float(r.ratio), 2), "last_purchase": pd.Timestamp(r.last_order_at).date().isoformat(),
                     "quiet_since": quiet_since.isoformat(), "spend_90d": round(float(r.spend_90d), 2),
                     "spend_prev_90d": round(float(r.spend_prev_90d), 2)},
        ))
    return out


def _watched(features: pd.DataFrame, skip: set[int]) -> pd.DataFrame:
    f = features[features["value_tier"].isin(WATCH_TIERS) & ~features["customer_id"].isin(skip)]
    return f[f["orders_90d"] >= 1]


def spend_drop(features: pd.DataFrame, *, now: datetime, skip: set[int] = frozenset()) -> list[Finding]:
    f = _watched(features, skip)
    hit = f[(f["spend_prev_90d"] > 0) & (f["spend_90d"] <= DROP_FACTOR * f["spend_prev_90d"])]
    out = []
    for r in hit.sort_values(["spend_prev_90d", "customer_id"], ascending=[False, True]).itertuples():
        out.append(Finding(
            kind="spend_drop", customer_id=int(r.customer_id), period=month_of(now.date()),
            severity="high" if r.value_tier == "vip" else "medium",
            numbers={"spend_90d": round(float(r.spend_90d), 2), "spend_prev_90d": round(float(r.spend_prev_90d), 2),
                     "change": round(float(r.spend_90d / r.spend_prev_90d - 1), 4), "orders_90d": int(r.orders_90d),
                     "tier": r.value_tier},
        ))
    return out


def frequency_drop(features: pd.DataFrame, *, now: datetime, skip: set[int] = frozenset()) -> list[Finding]:
    f = _watched(features, skip)
    hit = f[(f["orders_prev_90d"] >= 2) & (f["orders_90d"] <= DROP_FACTOR * f["orders_prev_90d"])]
    out = []
    for r in hit.sort_values(["orders_prev_90d", "customer_id"], ascending=[False, True]).itertuples():
        out.append(Finding(
            kind="frequency_drop", customer_id=int(r.customer_id), period=month_of(now.date()),
            severity="medium" if r.value_tier == "vip" else "low",
            numbers={"orders_90d": int(r.orders_90d), "orders_prev_90d": int(r.orders_prev_90d), "tier": r.value_tier},
        ))
    return out


def churn_jump(features: pd.DataFrame, baselines: dict[int, tuple[float, str]], *, now: datetime) -> list[Finding]:
    """``features`` carries ``churn_probability``; ``baselines``: customer -> (score, bucket) seen before."""
    f = features[features["value_tier"].isin(WATCH_TIERS) & features["churn_probability"].notna()]
    out = []
    for r in f.itertuples():
        base = baselines.get(int(r.customer_id))
        if base is None:
            continue
        current, (previous, bucket) = float(r.churn_probability), base
        if current >= CHURN_FLOOR and current - previous >= CHURN_JUMP - 1e-9:
            out.append(Finding(
                kind="churn_jump", customer_id=int(r.customer_id), period=iso_week(now.date()),
                severity="high" if current >= 0.8 or r.value_tier == "vip" else "medium",
                numbers={"probability": round(current, 4), "previous": round(previous, 4), "previous_week": bucket,
                         "tier": r.value_tier},
            ))
    return sorted(out, key=lambda x: (-(x.numbers["probability"] - x.numbers["previous"]), x.customer_id))


def complaint_spike(contacts: pd.DataFrame, *, now: datetime, tiers: dict[int, str]) -> list[Finding]:
    """``contacts``: complaint-like interactions [customer_id, occurred_at] from now - window - prior to now."""
    if contacts.empty:
        return []
    at = pd.to_datetime(contacts["occurred_at"])
    start = pd.Timestamp(now - timedelta(days=COMPLAINT_WINDOW_DAYS))
    recent = contacts[at >= start]
    prior_counts = contacts[at < start].groupby("customer_id").size()
    out = []
    for cid, rows in recent.groupby("customer_id"):
        n = len(rows)
        prior = int(prior_counts.get(cid, 0))
        expected = prior * COMPLAINT_WINDOW_DAYS / COMPLAINT_PRIOR_DAYS
        if n < COMPLAINT_MIN or n < SPIKE_FACTOR * expected:
            continue
        latest = pd.Timestamp(rows["occurred_at"].max()).date()
        out.append(Finding(
            kind="complaint_spike", customer_id=int(cid), period=iso_week(latest),
            severity="high" if n >= 3 or tiers.get(int(cid)) == "vip" else "medium",
            numbers={"complaints": n, "window_days": COMPLAINT_WINDOW_DAYS, "prior": prior,
                     "prior_days": COMPLAINT_PRIOR_DAYS, "expected": round(expected, 2),
                     "latest": latest.isoformat()},
        ))
    return sorted(out, key=lambda x: (-x.numbers["complaints"], x.customer_id))
