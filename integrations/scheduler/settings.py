"""Scheduler settings: default frequency per report, the hour they run, language, recovery delay.

Environment (prefix ``CRM_SCHEDULE_``): ``ALERTS`` (daily), ``DIGEST`` (weekly), ``VIP_REPORT``
(monthly), each one of daily | weekly | monthly | off; ``HOUR`` (8) and ``TIMEZONE`` (UTC) for when
they run; ``LANGUAGE`` (en | zh | both) for the messages; ``ALERT_KINDS`` (comma-separated, default
all five); ``STALE_MINUTES`` (10): how long a claimed, unconfirmed delivery waits before it is
checked against Slack and settled. ``crm schedule set`` stores per-kind overrides in the database.
Channels live in the Slack settings (SLACK_DIGEST_CHANNEL, SLACK_REPORT_CHANNEL).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tools.alerts_text import ALERT_KINDS

Frequency = Literal["daily", "weekly", "monthly", "off"]


class SchedulerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_SCHEDULE_", env_file=".env", extra="ignore")

    alerts: Frequency = Field(default="daily", description="Owner DMs with new alerts")
    digest: Frequency = Field(default="weekly", description="The managers' channel digest")
    vip_report: Frequency = Field(default="monthly", description="The VIP report, with charts, to a channel")
    hour: int = Field(default=8, ge=0, le=23, description="Hour of the day reports run")
    timezone: str = Field(default="UTC", description="Time zone of `hour` (IANA name)")
    language: Literal["en", "zh", "both"] = "en"
    alert_kinds: Annotated[tuple[str, ...], NoDecode] = Field(default=ALERT_KINDS)
    stale_minutes: float = Field(default=10.0, gt=0, description="Minutes before a pending delivery is settled")

    @field_validator("alert_kinds", mode="before")
    @classmethod
    def _kinds(cls, value):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        unknown = set(value) - set(ALERT_KINDS)
        if unknown:
            raise ValueError(f"unknown alert kinds {sorted(unknown)}; known: {', '.join(ALERT_KINDS)}")
        return tuple(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def default_frequency(self, kind: str) -> str:
        return getattr(self, kind)


@lru_cache
def get_settings() -> SchedulerSettings:
    return SchedulerSettings()
