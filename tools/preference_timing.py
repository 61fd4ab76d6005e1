"""Timing preferences: when a customer buys and answers, and the best time to contact them.

Times are used as stored (naive, the timestamps the orders and contacts carry).
Activity = orders plus inbound contacts. The best contact band is chosen among the
daytime bands (8:00-22:00) only: by the answer rate of outbound contacts in the band
(an answer is an inbound contact or an order within 48 hours; at least 3 contacts),
else by where the activity is.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
from pydantic import BaseModel

from storage.models import Direction

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
BANDS = [
    ("night (0-8)", 0, 8),
    ("morning (8-12)", 8, 12),
    ("midday (12-14)", 12, 14),
    ("afternoon (14-18)", 14, 18),
    ("evening (18-22)", 18, 22),
    ("late night (22-24)", 22, 24),
]
CONTACT_BANDS = {"morning (8-12)", "midday (12-14)", "afternoon (14-18)", "evening (18-22)"}
SEASONS = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}


class Timing(BaseModel):
    weekday_orders: dict[str, int]
    hour_band_orders: dict[str, int]
    season_spend_share: dict[str, float]
    best_weekday: str | None
    best_hour_band: str | None
    best_time_basis: str


def hour_band(hour: int) -> str:
    return next(name for name, lo, hi in BANDS if lo <= hour < hi)


def timing_of(lines: pd.DataFrame, contacts: pd.DataFrame) -> Timing:
    orders = lines.drop_duplicates("order_id")
    inbound = (
        contacts[contacts["direction"] == Direction.inbound.value]["at"]
        if not contacts.empty
        else pd.Series(dtype="datetime64[us]")
    )
    activity = pd.concat([orders["ordered_at"], inbound], ignore_index=True)
    weekday = Counter(WEEKDAYS[d] for d in activity.dt.day_of_week)
    bands = Counter(hour_band(h) for h in activity.dt.hour)
    season = lines.groupby(lines["ordered_at"].dt.month.map(SEASONS))["amount"].sum()
    season_share = (
        {s: round(float(v) / float(season.sum()), 4) for s, v in season.items()} if season.sum() else {}
    )
    band, basis = choose_band(lines, contacts, bands)
    return Timing(
        weekday_orders={
            d: int(Counter(WEEKDAYS[x] for x in orders["ordered_at"].dt.day_of_week).get(d, 0))
            for d in WEEKDAYS
        },
        hour_band_orders={
            b: int(Counter(hour_band(h) for h in orders["ordered_at"].dt.hour).get(b, 0)) for b, _, _ in BANDS
        },
        season_spend_share=season_share,
        best_weekday=max(WEEKDAYS, key=lambda d: (weekday.get(d, 0), -WEEKDAYS.index(d)))
        if weekday
        else None,
        best_hour_band=band,
        best_time_basis=basis,
    )


def choose_band(lines: pd.DataFrame, contacts: pd.DataFrame, activity: Counter) -> tuple[str | None, str]:
    if not contacts.empty:
        out = contacts[contacts["direction"] == Direction.outbound.value]
        if len(out) >= 3:
            answers = pd.concat(
                [
                    contacts.loc[contacts["direction"] == Direction.inbound.value, ["customer_id", "at"]],
                    lines.drop_duplicates("order_id")[["customer_id", "ordered_at"]].rename(
                        columns={"ordered_at": "at"}
                    ),
                ],
                ignore_index=True,
            ).sort_values("at")
            probe = out[["customer_id", "at"]].sort_values("at").assign(sent=lambda d: d["at"])
            hit = pd.merge_asof(
                probe,
                answers.assign(answered=answers["at"]),
                on="at",
                by="customer_id",
                direction="forward",
                allow_exact_matches=False,
            )
            answered = (hit["answered"] - hit["sent"]) <= pd.Timedelta(hours=48)
            hit = hit.assign(band=hit["sent"].dt.hour.map(hour_band), answered=answered)
            rates = hit[hit["band"].isin(CONTACT_BANDS)].groupby("band")["answered"].agg(["mean", "size"])
            rates = rates[rates["size"] >= 3]
            if not rates.empty and rates["mean"].max() > 0:
                best = rates.sort_values(["mean", "size"], ascending=False).index[0]
                return (
                    str(best),
                    f"answered {rates.loc[best, 'mean']:.0%} of {int(rates.loc[best, 'size'])} outbound contacts in this band",
                )
    daytime = {b: n for b, n in activity.items() if b in CONTACT_BANDS}
    if daytime:
        best = max(daytime, key=lambda b: daytime[b])
        return best, "most of their orders and inbound contacts fall in this band (daytime bands only)"
    if activity:
        return "evening (18-22)", "active mostly at night; evening is the nearest polite window"
    return None, "no activity in the period"
