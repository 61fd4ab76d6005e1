"""Which report goes out how often: the ``report_schedule`` rows over the settings' defaults.

Three report kinds: ``alerts`` (each owner's DM of new alerts), ``digest`` (the managers' channel
digest) and ``vip_report`` (the VIP report with its charts, to a channel). A row set with
``crm schedule set`` wins over the default from ``SchedulerSettings``; ``crm schedule remove``
stores ``off`` (deleting the row would bring the default back on the next start).

Frequencies become cron triggers at ``hour``: daily; weekly on Mondays; monthly on the 1st.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from integrations.scheduler.settings import SchedulerSettings
from storage.models import ReportSchedule, utcnow

REPORT_KINDS = ("alerts", "digest", "vip_report")
FREQUENCIES = ("daily", "weekly", "monthly", "off")
WINDOW = {"daily": timedelta(days=1), "weekly": timedelta(days=7), "monthly": timedelta(days=31)}


class ScheduleView(BaseModel):
    kind: str
    frequency: str
    channel: str | None = None
    hour: int
    source: str  # "database" | "settings"

    @property
    def enabled(self) -> bool:
        return self.frequency != "off"

    def cron(self) -> dict[str, int | str]:
        """APScheduler CronTrigger fields."""
        fields: dict[str, int | str] = {"hour": self.hour, "minute": 0}
        if self.frequency == "weekly":
            fields["day_of_week"] = "mon"
        elif self.frequency == "monthly":
            fields["day"] = 1
        return fields


def schedules(engine: Engine, settings: SchedulerSettings) -> list[ScheduleView]:
    with Session(engine) as session:
        rows = {r.kind: r for r in session.exec(select(ReportSchedule)).all()}
    out = []
    for kind in REPORT_KINDS:
        row = rows.get(kind)
        if row is not None:
            out.append(ScheduleView(kind=kind, frequency=row.frequency, channel=row.channel, hour=row.hour,
                                    source="database"))
        else:
            out.append(ScheduleView(kind=kind, frequency=settings.default_frequency(kind), hour=settings.hour,
                                    source="settings"))
    return out


def schedule_for(engine: Engine, settings: SchedulerSettings, kind: str) -> ScheduleView:
    return next(s for s in schedules(engine, settings) if s.kind == kind)


def check_kind(kind: str) -> str:
    key = kind.strip().lower().replace("-", "_")
    if key not in REPORT_KINDS:
        raise ValueError(f"unknown report {kind!r}; reports: {', '.join(REPORT_KINDS)}")
    return key


def set_schedule(engine: Engine, settings: SchedulerSettings, *, kind: str, frequency: str,
                 channel: str | None = None, hour: int | None = None) -> ScheduleView:
    kind = check_kind(kind)
    frequency = frequency.strip().lower()
    if frequency not in FREQUENCIES:
        raise ValueError(f"unknown frequency {frequency!r}; use one of {', '.join(FREQUENCIES)}")
    if hour is not None and not 0 <= hour <= 23:
        raise ValueError("hour must be between 0 and 23")
    if channel is not None and kind == "alerts":
        raise ValueError("alerts go to each owner's DM; --channel applies to digest and vip_report")
    with Session(engine) as session:
        row = session.get(ReportSchedule, kind)
        if row is None:
            row = ReportSchedule(kind=kind, frequency=frequency, hour=settings.hour if hour is None else hour)
        row.frequency = frequency
        if channel is not None:
            row.channel = channel.strip() or None
        if hour is not None:
            row.hour = hour
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
    return schedule_for(engine, settings, kind)


def remove_schedule(engine: Engine, settings: SchedulerSettings, *, kind: str) -> ScheduleView:
    """Switch a report off (kept as a row, so the settings' default does not come back)."""
    return set_schedule(engine, settings, kind=kind, frequency="off")


def report_period(frequency: str, now: datetime) -> tuple[date, date]:
    """The last complete period before ``now``: yesterday, last Monday-Sunday, or last calendar month."""
    today = now.date()
    if frequency == "daily":
        day = today - timedelta(days=1)
        return day, day
    if frequency == "weekly":
        this_monday = today - timedelta(days=today.weekday())
        return this_monday - timedelta(days=7), this_monday - timedelta(days=1)
    first = today.replace(day=1)
    last = first - timedelta(days=1)
    return last.replace(day=1), last
