"""Retail seasonality as a daily intensity, and the shopping festivals it peaks on.

Orders are generated as renewal processes in "operational time" (the cumulative
intensity), then mapped back to calendar days. A day with weight 8 receives
eight times the orders of an ordinary day, while each customer's own purchase
rhythm is preserved in operational time.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from storage.demo.config import DemoPlan

# Chinese New Year: logistics pause for about a week; shopping peaks in the fortnight before.
_CHINESE_NEW_YEAR = {
    2021: date(2021, 2, 12), 2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10),
    2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26),
    2029: date(2029, 2, 13), 2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11),
}


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def singles_day(year: int) -> date:
    return date(year, 11, 11)


def mid_year_sale(year: int) -> date:
    return date(year, 6, 18)


def last_before(festival, *, before: date) -> date:
    """The most recent occurrence of a yearly festival strictly before ``before``."""
    candidate = festival(before.year)
    return candidate if candidate < before else festival(before.year - 1)


def _base_weights(days: list[date]) -> np.ndarray:
    month = np.array([d.month for d in days])
    weekday = np.array([d.weekday() for d in days])
    w = np.ones(len(days))
    w[month == 11] *= 1.3
    w[month == 12] *= 1.5
    w[(month == 1) | (month == 2)] *= 0.85
    w[weekday >= 5] *= 1.15
    return w


def daily_weights(plan: DemoPlan, language: str) -> np.ndarray:
    """Relative order intensity for each day of the window (mean 1); 'flat' gives all ones."""
    days = [plan.start + timedelta(days=i) for i in range(plan.days)]
    if language == "flat":
        return np.ones(plan.days)
    w = _base_weights(days)
    index = {d: i for i, d in enumerate(days)}
    years = range(plan.start.year, plan.today.year + 1)

    def boost(day: date, factor: float) -> None:
        if day in index:
            w[index[day]] *= factor

    for year in years:
        if language == "zh":
            boost(singles_day(year), 10.0)
            for offset in range(1, 11):  # consumers hold purchases back for 11.11
                boost(singles_day(year) - timedelta(days=offset), 0.8)
            boost(mid_year_sale(year), 6.0)
            boost(mid_year_sale(year) - timedelta(days=1), 1.8)
            cny = _CHINESE_NEW_YEAR.get(year)
            if cny:
                for offset in range(-14, -3):
                    boost(cny + timedelta(days=offset), 1.4)
                for offset in range(-2, 6):
                    boost(cny + timedelta(days=offset), 0.35)
        else:
            bf = black_friday(year)
            boost(bf, 8.0)
            boost(bf + timedelta(days=1), 2.5)
            boost(bf + timedelta(days=3), 5.0)  # Cyber Monday
            boost(date(year, 12, 26), 2.5)  # Boxing Day sales
            for offset in range(7, 24):
                boost(date(year, 12, 1) + timedelta(days=offset - 1), 1.3)
    return w / w.mean()


def festival_days(plan: DemoPlan, language: str) -> np.ndarray:
    """Boolean mask of the window's big promotion days (deeper discounts, more promo lines)."""
    days = [plan.start + timedelta(days=i) for i in range(plan.days)]
    marks = set()
    for year in range(plan.start.year, plan.today.year + 1):
        if language == "zh":
            marks |= {singles_day(year), mid_year_sale(year)}
        else:
            bf = black_friday(year)
            marks |= {bf, bf + timedelta(days=3), date(year, 12, 26)}
    return np.array([d in marks for d in days])


class Clock:
    """Maps operational time to calendar days for one intensity profile."""

    def __init__(self, weights: np.ndarray):
        # cumulative[j] = operational time at the start of day j; cumulative[-1] = end of window.
        self.cumulative = np.concatenate([[0.0], np.cumsum(weights)])

    @property
    def end(self) -> float:
        return float(self.cumulative[-1])

    def at_day(self, day: np.ndarray | float) -> np.ndarray:
        """Operational time at a (fractional) day offset."""
        return np.interp(day, np.arange(len(self.cumulative)), self.cumulative)

    def day_of(self, s: np.ndarray) -> np.ndarray:
        """Calendar day index holding each operational time."""
        days = np.searchsorted(self.cumulative, s, side="right") - 1
        return np.clip(days, 0, len(self.cumulative) - 2)
