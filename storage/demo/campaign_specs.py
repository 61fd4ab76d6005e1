"""The eight demo campaigns: when they ran, whom they targeted and how each variant truly converts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from storage.demo.calendar import black_friday, last_before, mid_year_sale


@dataclass(frozen=True)
class CampaignSpec:
    key: str
    name: str
    channel: str
    starts_on: date
    days: int
    target: str  # all_consented | zh | en | vip | lapsed_90d
    rates: dict[str, float]  # true conversion rate per variant
    truth: str | None  # ab_winner | ab_null | None
    variants_text: dict[str, str]
    discount: float
    categories: tuple[str, ...]
    cost_per_touch: float
    fixed_cost: float

    @property
    def winner(self) -> str | None:
        if self.truth != "ab_winner":
            return None
        return max(self.rates, key=self.rates.get)


def _yearly(month: int, day: int):
    return lambda year: date(year, month, day)


def campaign_specs(today: date) -> list[CampaignSpec]:
    return [
        CampaignSpec(
            "CMP-001", "New Year Reactivation", "email",
            last_before(_yearly(1, 6), before=today - timedelta(days=240)), 14, "all_consented",
            {"A": 0.03, "B": 0.06}, "ab_winner",
            {"A": "Generic subject line: 'New Year, new deals'",
             "B": "Personalised subject line with the customer's first name and favourite category"},
            0.10, ("Apparel", "Beauty", "Home"), 0.02, 1500.0,
        ),
        CampaignSpec(
            "CMP-002", "Spring Style Refresh", "sms",
            last_before(_yearly(3, 15), before=today - timedelta(days=180)), 10, "all_consented",
            {"A": 0.04, "B": 0.04}, "ab_null",
            {"A": "Short SMS with a link", "B": "Short SMS with an emoji and a link"},
            0.15, ("Apparel", "Sports"), 0.05, 800.0,
        ),
        CampaignSpec(
            "CMP-003", "618 Mid-Year Sale", "app",
            last_before(mid_year_sale, before=today - timedelta(days=21)) - timedelta(days=7), 8, "zh",
            {"A": 0.07}, None, {"A": "App push and banner for 6.18 deals"},
            0.20, ("Phones", "Audio", "Phone Accessories"), 0.01, 3000.0,
        ),
        CampaignSpec(
            "CMP-004", "Singles' Day 11.11 Pre-sale", "social",
            last_before(_yearly(11, 1), before=today - timedelta(days=14)), 11, "zh",
            {"A": 0.08}, None, {"A": "WeChat and Weibo pre-sale posts with deposit vouchers"},
            0.20, ("Beauty", "Phones", "Home", "Food & Drink"), 0.01, 5000.0,
        ),
        CampaignSpec(
            "CMP-005", "Black Friday Early Access", "email",
            last_before(black_friday, before=today - timedelta(days=21)) - timedelta(days=7), 11,
            "all_consented", {"A": 0.05, "B": 0.05}, "ab_null",
            {"A": "Hero image of laptops", "B": "Hero image of headphones"},
            0.25, ("Laptops", "Audio", "Toys"), 0.02, 2500.0,
        ),
        CampaignSpec(
            "CMP-006", "VIP Private Preview", "email", today - timedelta(days=150), 7, "vip",
            {"A": 0.15}, None, {"A": "Invitation to a private preview of new arrivals"},
            0.05, ("Phones", "Laptops", "Beauty"), 0.5, 1200.0,
        ),
        CampaignSpec(
            "CMP-007", "Holiday Gift Guide", "email", today - timedelta(days=40), 14, "all_consented",
            {"A": 0.06, "B": 0.03}, "ab_winner",
            {"A": "Curated gift guide by budget", "B": "Plain list of best sellers"},
            0.10, ("Toys", "Audio", "Beauty", "Kitchen"), 0.02, 2000.0,
        ),
        CampaignSpec(
            "CMP-008", "We Miss You Win-back", "sms", today - timedelta(days=75), 14, "lapsed_90d",
            {"A": 0.04}, None, {"A": "20% coupon for customers with no order in 90 days"},
            0.20, ("Apparel", "Food & Drink", "Home"), 0.05, 500.0,
        ),
    ]
