"""Input and output of query_metrics."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from tools.periods import Period
from tools.results import ToolResult

Scalar = str | int | float | None


def _split(value):
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class QueryMetricsParams(BaseModel):
    measures: list[str] = Field(
        min_length=1,
        description="What to measure, e.g. revenue, orders, units, customers, new_customers, active_customers, "
        "average_order_value, returns, return_rate, discount_amount, promo_share, campaign_conversions, "
        "conversion_rate, campaign_revenue, interactions, complaints, tickets_open, pipeline_amount",
    )
    dimensions: list[str] = Field(
        default_factory=list,
        max_length=3,
        description="Group by: day, week, month, quarter, year, region, city, country, category, brand, product, "
        "channel, owner, tier, segment, value_tier, campaign, gender, age_band (also variant, stage, kind, status)",
    )
    filters: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Dimension -> value or list of values, e.g. {'region': 'East China'}"
    )
    period: Period = Field(default_factory=Period, description="Date range; default depends on the time grain (12 months)")
    compare_previous: bool = Field(default=False, description="Also compute the previous period of the same length")
    sort_by: str | None = Field(default=None, description="A measure or dimension; default: time order, else first measure")
    descending: bool = True
    top_n: int | None = Field(default=None, ge=1, le=1000, description="Keep only the first N rows after sorting")
    share: bool = Field(default=False, description="Add each row's share of the total (and a pie chart when few rows)")

    @field_validator("measures", "dimensions", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        # "revenue,orders" from a command line or a terse model call
        return _split(value)


class QueryMetricsResult(ToolResult):
    measures: list[str]
    dimensions: list[str]
    filters: dict[str, list[str]]
    period_start: datetime | None
    period_end: datetime
    rows: list[dict[str, Scalar]]
    total_rows: int
    totals: dict[str, float | None]
    previous_period_start: datetime | None = None
    previous_period_end: datetime | None = None
    previous_totals: dict[str, float | None] | None = None
    sources: list[str] = Field(default_factory=list, description="Facts queried, e.g. orders, lines, touches")
