"""The built-in scheduler for alerts, digests and reports (APScheduler, persistent job store).

Importing this package loads neither APScheduler nor Slack; ``host`` and ``jobs`` do.
"""

from integrations.scheduler.schedules import FREQUENCIES, REPORT_KINDS, ScheduleView
from integrations.scheduler.settings import SchedulerSettings, get_settings

__all__ = ["FREQUENCIES", "REPORT_KINDS", "ScheduleView", "SchedulerSettings", "get_settings"]
