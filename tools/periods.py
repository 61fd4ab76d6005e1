"""Date ranges as tool arguments.

A ``Period`` is inclusive of both days. Tools call ``resolve(ctx)`` to get a
half-open datetime range [start, end) and the typed errors for bad ranges.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, Field

from tools.context import ToolContext
from tools.errors import EmptyPeriod, FutureDate


class Period(BaseModel):
    start: date | None = Field(default=None, description="First day, inclusive (YYYY-MM-DD). Omit for 'since the beginning'.")
    end: date | None = Field(default=None, description="Last day, inclusive (YYYY-MM-DD). Omit for 'up to today'.")

    def resolve(self, ctx: ToolContext, *, default_days: int | None = None) -> tuple[datetime | None, datetime]:
        """Return [start, end) as datetimes, clamped to ctx.now, raising on empty or future ranges."""
        today = ctx.today
        if self.start and self.start > today:
            raise FutureDate(
                f"the period starts on {self.start.isoformat()}, after today ({today.isoformat()})",
                hint="ask about a past or current period",
            )
        end_day = min(self.end, today) if self.end else today
        start_day = self.start
        if start_day is None and default_days is not None:
            start_day = end_day - timedelta(days=default_days - 1)
        if start_day and start_day > end_day:
            raise EmptyPeriod(f"the period {start_day.isoformat()} to {end_day.isoformat()} is empty (start after end)")
        start_dt = datetime.combine(start_day, time.min) if start_day else None
        end_dt = min(datetime.combine(end_day + timedelta(days=1), time.min), ctx.now + timedelta(microseconds=1))
        return start_dt, end_dt

    def label(self) -> str:
        if self.start and self.end:
            return f"{self.start.isoformat()} to {self.end.isoformat()}"
        if self.start:
            return f"since {self.start.isoformat()}"
        if self.end:
            return f"up to {self.end.isoformat()}"
        return "all time"
