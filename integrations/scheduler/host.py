"""The built-in scheduler: APScheduler 3 with a persistent SQLAlchemy job store on the CRM database.

One job per enabled report (``report:alerts``, ``report:digest``, ``report:vip_report``), each a
cron trigger from ``integrations.scheduler.schedules`` that calls ``jobs.run_scheduled(kind)``. The
jobs live in the ``scheduler_job`` table, so a restart keeps each job's next run time: a run that
fell due while the scheduler was down happens once when it comes back (``coalesce``, and no misfire
limit), not once per missed day and not never. A small thread re-reads ``report_schedule``
every minute, so ``crm schedule set`` takes effect without a restart; jobs whose schedule did not
change are left alone (re-adding one would reset its next run time).

Hosting: ``crm scheduler run`` runs it in the foreground. A long-running server can host the same
scheduler in a background thread: call ``start_scheduler(runtime_from_settings(...))`` from the
web app's lifespan (``crm serve``) or next to the Socket Mode handler (``crm slack``) and
``scheduler.shutdown()`` on the way out. Several hosts on one database are safe but wasteful: each
runs the jobs, and the delivery ledger drops the duplicates, so run one host.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from integrations.scheduler.jobs import Runtime, install_runtime
from integrations.scheduler.schedules import schedules
from integrations.scheduler.settings import SchedulerSettings
from integrations.scheduler.settings import get_settings as scheduler_settings
from storage.models import SCHEDULER_JOB_TABLE

logger = logging.getLogger(__name__)

JOB_FUNC = "integrations.scheduler.jobs:run_scheduled"  # stored as text: no code is pickled
SYNC_SECONDS = 60


def runtime_from_settings(*, database_url: str | None = None, clock: Callable[[], datetime] | None = None,
                          settings: SchedulerSettings | None = None) -> Runtime:
    """A Runtime from the storage, Slack and scheduler settings; Slack may be unconfigured (client None)."""
    from slack_sdk import WebClient

    from integrations.slack.settings import get_settings as slack_settings
    from storage.models import utcnow
    from storage.settings import get_settings as storage_settings

    slack = slack_settings()
    client = (WebClient(token=slack.bot_token.get_secret_value(), base_url=slack.api_url)
              if slack.bot_token is not None else None)
    return Runtime(database_url=database_url or storage_settings().url, client=client,
                   settings=settings or scheduler_settings(), digest_channel=slack.digest_channel,
                   report_channel=slack.report_channel, public_url=slack.public_url, clock=clock or utcnow)


def build_scheduler(runtime: Runtime):
    """A BackgroundScheduler over the persistent job store (not started)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    install_runtime(runtime)
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=runtime.engine, tablename=SCHEDULER_JOB_TABLE)},
        # One worker: reports run one after another, never two deliveries of one kind at once.
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=ZoneInfo(runtime.settings.timezone),
    )


def sync_jobs(scheduler, runtime: Runtime) -> dict[str, str]:
    """Make the stored jobs match the schedules; returns kind -> what happened (added, changed, kept, removed, off)."""
    from apscheduler.triggers.cron import CronTrigger

    zone = ZoneInfo(runtime.settings.timezone)
    done: dict[str, str] = {}
    for view in schedules(runtime.engine, runtime.settings):
        job_id = f"report:{view.kind}"
        job = scheduler.get_job(job_id, jobstore="default")
        if not view.enabled:
            if job is not None:
                scheduler.remove_job(job_id, jobstore="default")
            done[view.kind] = "removed" if job is not None else "off"
            continue
        trigger = CronTrigger(**view.cron(), timezone=zone)
        if job is None:
            scheduler.add_job(JOB_FUNC, trigger=trigger, args=[view.kind], id=job_id, name=f"{view.kind} ({view.frequency})",
                              jobstore="default", replace_existing=True)
            done[view.kind] = "added"
        elif str(job.trigger) != str(trigger) or str(job.trigger.timezone) != str(zone):
            scheduler.reschedule_job(job_id, jobstore="default", trigger=trigger)
            scheduler.modify_job(job_id, jobstore="default", name=f"{view.kind} ({view.frequency})")
            done[view.kind] = "changed"
        else:
            done[view.kind] = "kept"
    return done


class SchedulerHost:
    """A running scheduler plus the thread that keeps its jobs in step with ``report_schedule``.

    The re-sync runs in its own thread, not as an APScheduler job: APScheduler 3's
    ``shutdown(wait=True)`` holds the job-store lock while it waits for running jobs, so a job that
    reads the job store itself would deadlock a shutdown.
    """

    def __init__(self, scheduler, runtime: Runtime, *, sync_seconds: float = SYNC_SECONDS) -> None:
        self.scheduler = scheduler
        self.runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sync_loop, args=(sync_seconds,), name="crm-schedule-sync",
                                        daemon=True)
        self._thread.start()

    def _sync_loop(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                changes = sync_jobs(self.scheduler, self.runtime)
                if any(v in ("added", "changed", "removed") for v in changes.values()):
                    logger.info("schedules changed: %s", changes)
            except Exception:  # noqa: BLE001 - a database hiccup must not stop the next re-sync
                logger.warning("could not re-read the schedules", exc_info=True)

    def wakeup(self) -> None:
        self.scheduler.wakeup()

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        self._thread.join()
        self.scheduler.shutdown(wait=wait)


def start_scheduler(runtime: Runtime, *, on_event: Callable | None = None) -> SchedulerHost:
    """Build, sync and start the scheduler in a background thread (call ``shutdown()`` on the result to stop).

    ``on_event`` receives APScheduler's job executed / error events (logging, tests).
    """
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

    scheduler = build_scheduler(runtime)
    if on_event is not None:
        scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start(paused=True)  # no job fires before the stored jobs match the schedules
    changes = sync_jobs(scheduler, runtime)
    logger.info("scheduler jobs: %s", changes)
    scheduler.resume()
    return SchedulerHost(scheduler, runtime)


def next_runs(host: SchedulerHost) -> dict[str, datetime | None]:
    return {job.id.removeprefix("report:"): job.next_run_time for job in host.scheduler.get_jobs(jobstore="default")}
