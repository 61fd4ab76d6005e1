"""What each scheduled report does, and the job function APScheduler calls.

- ``alerts``: compute the alerts as system (recording them and this week's churn scores), then DM
  each owner the alerts they have not had. Public-pool customers have no owner: their alerts go
  to the digest only. Owners without a Slack account (no stored id, no match by email) or no
  longer active are skipped; their alerts still reach the digest.
- ``digest``: compute and record as well, then post to the managers' channel every alert seen in
  the last period (a day, week or month) that the channel has not had, grouped by owner.
- ``vip_report``: the VIP report (``tools.reports.vip_report``) for the last complete period, to a
  channel, with its charts uploaded into the message's thread.

Every message goes through ``SlackDelivery`` and its ledger, so a rerun, a second scheduler, or a
restart never sends anything twice. ``run_scheduled(kind)`` is what the persistent job store keeps
(by reference, as text): it reads the process's ``Runtime`` (database, Slack client, clock), which
the scheduler host installs, so no URL or token is ever pickled into the job table.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlmodel import Session, select

from integrations.scheduler.schedules import WINDOW, report_period, schedule_for
from integrations.scheduler.settings import SchedulerSettings
from integrations.slack.alert_delivery import DeliveryStats, Outgoing, SlackDelivery
from integrations.slack.alert_messages import (
    DIGEST_BATCH,
    DM_BATCH,
    digest_message,
    owner_message,
    report_message,
)
from storage.db import engine_for
from storage.models import AlertRecord, StaffUser, utcnow
from tools.alerts import Alert, alert_from_record, compute_alerts, ranked
from tools.alerts_ledger import Claim, delivered_keys
from tools.context import ToolContext

logger = logging.getLogger(__name__)
REPORT_PREFIX = "report:vip_report:"


@dataclass
class Runtime:
    """What a delivery needs from the process that runs it."""

    database_url: str
    client: WebClient | None
    settings: SchedulerSettings
    digest_channel: str | None = None
    report_channel: str | None = None
    public_url: str | None = None
    clock: Callable[[], datetime] = utcnow
    charts_dir: Any = None  # Path; default CRM_HOME/charts

    @property
    def engine(self):
        return engine_for(self.database_url)

    def delivery(self) -> SlackDelivery:
        if self.client is None:
            raise RuntimeError("Slack is not configured (SLACK_BOT_TOKEN)")
        return SlackDelivery(self.client, self.engine, clock=self.clock,
                             stale_after=timedelta(minutes=self.settings.stale_minutes))


@dataclass
class Planned:
    """One message a run would send (dry run) or sent."""

    recipient: str
    to: str
    keys: list[str]


@dataclass
class RunReport:
    report: str
    alerts: int = 0
    planned: list[Planned] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    stats: DeliveryStats = field(default_factory=DeliveryStats)

    def as_dict(self) -> dict[str, Any]:
        return {"report": self.report, "alerts": self.alerts, "skipped": self.skipped,
                "messages": [{"recipient": p.recipient, "to": p.to, "items": len(p.keys), "keys": p.keys}
                             for p in self.planned], "delivery": self.stats.as_dict()}


_RUNTIME: Runtime | None = None


def install_runtime(runtime: Runtime | None) -> None:
    global _RUNTIME
    _RUNTIME = runtime


def run_scheduled(kind: str) -> dict[str, Any]:
    """The job function the persistent job store refers to. Never raises into the scheduler loop."""
    if _RUNTIME is None:
        raise RuntimeError("no scheduler runtime installed in this process")
    try:
        report = run_report(kind, runtime=_RUNTIME)
    except Exception:
        logger.exception("scheduled %s failed", kind)
        raise
    logger.info("scheduled %s: %s", kind, report.as_dict()["delivery"])
    return report.as_dict()


def run_report(kind: str, *, runtime: Runtime, dry_run: bool = False) -> RunReport:
    schedule = schedule_for(runtime.engine, runtime.settings, kind)
    frequency = schedule.frequency if schedule.enabled else {"alerts": "daily", "digest": "weekly"}.get(kind, "monthly")
    if kind == "alerts":
        run = send_alerts(runtime, dry_run=dry_run)
    elif kind == "digest":
        channel = schedule.channel or runtime.digest_channel
        run = send_digest(runtime, channel=channel, window=WINDOW[frequency], dry_run=dry_run)
    elif kind == "vip_report":
        channel = schedule.channel or runtime.report_channel or runtime.digest_channel
        run = send_vip_report(runtime, channel=channel, frequency=frequency, dry_run=dry_run)
    else:
        raise ValueError(f"unknown report {kind!r}")
    if not dry_run and run.planned:
        _audit(runtime, run)
    return run


def _audit(runtime: Runtime, run: RunReport) -> None:
    """One audit row per delivery run: what left the CRM for Slack, to whom, about which customers."""
    from storage.models import AuditEntry

    customers = sorted({int(k.split(":")[1]) for p in run.planned for k in p.keys if not k.startswith("report:")})
    with Session(runtime.engine) as session:
        session.add(AuditEntry(
            at=runtime.clock(), user_id=None, channel="system", action="alert_delivery", tool=run.report,
            arguments={"recipients": sorted({p.recipient for p in run.planned}), "messages": len(run.planned),
                       "items": sum(len(p.keys) for p in run.planned)},
            records=[f"customer:{c}" for c in customers][:1000], outcome="ok",
        ))
        session.commit()


def _delivery(runtime: Runtime, *, dry_run: bool) -> SlackDelivery | None:
    """The run's sender, after settling what a crashed sender left pending; None for a dry run."""
    if dry_run:
        return None
    delivery = runtime.delivery()
    delivery.recover(lambda claim: rebuild(claim, runtime=runtime))
    return delivery


def _system(runtime: Runtime) -> ToolContext:
    return ToolContext.system(now=runtime.clock(), database_url=runtime.database_url)


def send_alerts(runtime: Runtime, *, dry_run: bool = False) -> RunReport:
    result = compute_alerts(_system(runtime), kinds=runtime.settings.alert_kinds, record=not dry_run)
    run = RunReport(report="alerts", alerts=len(result.alerts))
    by_owner: dict[int, list[Alert]] = defaultdict(list)
    for a in result.alerts:
        if a.owner_id is not None:
            by_owner[a.owner_id].append(a)
    delivery = _delivery(runtime, dry_run=dry_run)
    staff = _staff(runtime, list(by_owner))
    for owner_id, alerts in sorted(by_owner.items()):
        person = staff.get(owner_id)
        if person is None or not person.is_active:
            run.skipped.append(f"user:{owner_id}: not an active staff user")
            continue
        recipient = f"user:{owner_id}"
        new = _undelivered(runtime, recipient, alerts)
        if not new:
            continue
        if delivery is None:
            run.planned += [Planned(recipient, person.email, [a.key for a in chunk]) for chunk in _chunks(new, DM_BATCH)]
            continue
        slack_user = delivery.slack_user_for(slack_user_id=person.slack_user_id, email=person.email)
        if slack_user is None:
            run.skipped.append(f"{recipient}: {person.email} has no Slack account")
            continue
        for chunk in _chunks(new, DM_BATCH):
            by_key = {a.key: a for a in chunk}
            out = Outgoing(recipient=recipient, keys=list(by_key), slack_user=slack_user,
                           render=lambda keys, by_key=by_key: owner_message(
                               [by_key[k] for k in keys], lang=runtime.settings.language, public_url=runtime.public_url))
            if delivery.send(out):
                run.planned.append(Planned(recipient, person.email, list(by_key)))
    if delivery is not None:
        run.stats = delivery.stats
    return run


def send_digest(runtime: Runtime, *, channel: str | None, window: timedelta, dry_run: bool = False) -> RunReport:
    if not channel:
        raise ValueError("no digest channel: set SLACK_DIGEST_CHANNEL or `crm schedule set digest weekly --channel C…`")
    ctx = _system(runtime)
    result = compute_alerts(ctx, kinds=runtime.settings.alert_kinds, record=not dry_run)
    since = ctx.now - window
    if dry_run:
        recent = [a for a in result.alerts if a.first_seen_at is None or a.first_seen_at >= since]
        alerts = recent + [a for a in recorded_alerts(runtime, since=since) if a.key not in {r.key for r in recent}]
    else:
        alerts = recorded_alerts(runtime, since=since)
    run = RunReport(report="digest", alerts=len(alerts))
    recipient = f"channel:{channel}"
    delivery = _delivery(runtime, dry_run=dry_run)
    new = _undelivered(runtime, recipient, alerts)
    if delivery is None:
        run.planned = [Planned(recipient, channel, [a.key for a in chunk]) for chunk in _chunks(new, DIGEST_BATCH)]
        return run
    for chunk in _chunks(new, DIGEST_BATCH):
        by_key = {a.key: a for a in chunk}
        out = Outgoing(recipient=recipient, channel=channel, keys=list(by_key),
                       render=lambda keys, by_key=by_key: digest_message(
                           [by_key[k] for k in keys], since=since.date(), lang=runtime.settings.language,
                           public_url=runtime.public_url))
        if delivery.send(out):
            run.planned.append(Planned(recipient, channel, list(by_key)))
    run.stats = delivery.stats
    return run


def send_vip_report(runtime: Runtime, *, channel: str | None, frequency: str, dry_run: bool = False) -> RunReport:
    if not channel:
        raise ValueError("no report channel: set SLACK_REPORT_CHANNEL or `crm schedule set vip_report monthly --channel C…`")
    start, end = report_period(frequency, runtime.clock())
    key = f"{REPORT_PREFIX}{start.isoformat()}:{end.isoformat()}"
    recipient = f"channel:{channel}"
    run = RunReport(report="vip_report")
    delivery = _delivery(runtime, dry_run=dry_run)
    if delivery is not None:
        run.stats = delivery.stats
    if key in delivered_keys(runtime.engine, recipient=recipient, keys=[key]):
        return run
    if delivery is None:
        run.planned = [Planned(recipient, channel, [key])]
        return run
    if delivery.send(_report_outgoing(runtime, channel=channel, key=key)):
        run.planned.append(Planned(recipient, channel, [key]))
    run.stats = delivery.stats
    return run


def _report_outgoing(runtime: Runtime, *, channel: str, key: str) -> Outgoing:
    from datetime import date

    from tools.periods import Period
    from tools.reports import VipReportParams, vip_report

    start, end = (date.fromisoformat(p) for p in key.removeprefix(REPORT_PREFIX).split(":"))
    result = vip_report(VipReportParams(period=Period(start=start, end=end)), ctx=_system(runtime))
    label = f"{start.isoformat()} – {end.isoformat()}"

    def upload(posted_channel: str, ts: str) -> None:
        upload_report_charts(runtime, result, channel=posted_channel, thread_ts=ts)

    return Outgoing(recipient=f"channel:{channel}", channel=channel, keys=[key], after_post=upload,
                    render=lambda _keys: report_message(result, label=label, lang=runtime.settings.language))


def upload_report_charts(runtime: Runtime, result, *, channel: str, thread_ts: str) -> list[str]:
    """Draw the report's charts and upload each into the message's thread (files upload v2)."""
    from pathlib import Path

    from storage.settings import get_settings
    from tools.charts import render_chart

    out_dir = Path(runtime.charts_dir) if runtime.charts_dir else get_settings().home / "charts"
    specs = [s for s in [result.chart, *getattr(result, "extra_charts", [])] if s is not None]
    ids = []
    for spec in specs:
        path = render_chart(spec, out_dir)
        response = runtime.client.files_upload_v2(channel=channel, thread_ts=thread_ts, file=str(path),
                                                  filename=path.name, title=spec.title, alt_txt=spec.title)
        ids.append((response.get("file") or {}).get("id"))
    return ids


def recorded_alerts(runtime: Runtime, *, since: datetime | None = None, keys: list[str] | None = None) -> list[Alert]:
    """Stored alerts (seen since ``since``, or with these keys) with today's names, most severe first."""
    from tools.alerts_memory import recorded_since
    from tools.alerts_source import people

    if keys is not None:
        with Session(runtime.engine) as session:
            rows = list(session.exec(select(AlertRecord).where(AlertRecord.key.in_(keys))).all())
    else:
        rows = recorded_since(runtime.engine, since=since)
    names = people(_system(runtime), [r.customer_id for r in rows])
    alerts = [
        alert_from_record(key=r.key, kind=r.kind, customer_id=r.customer_id, owner_id=names[r.customer_id][1],
                          severity=r.severity, period=r.period, numbers=r.numbers, name=names[r.customer_id][0],
                          owner_name=names[r.customer_id][2], first_seen_at=r.first_seen_at)
        for r in rows if r.customer_id in names
    ]
    return ranked(alerts)


def rebuild(claim: Claim, *, runtime: Runtime) -> Outgoing | None:
    """The message for a batch a crashed sender left pending (same keys, same recipient)."""
    kind, _, target = claim.recipient.partition(":")
    if kind == "channel" and all(k.startswith(REPORT_PREFIX) for k in claim.keys):
        return _report_outgoing(runtime, channel=target, key=claim.keys[0])
    alerts = {a.key: a for a in recorded_alerts(runtime, keys=claim.keys)}
    if not alerts:
        return None
    lang, url = runtime.settings.language, runtime.public_url

    def render(keys: list[str]) -> tuple[str, list[dict]]:
        chosen = [alerts[k] for k in keys if k in alerts]
        if kind == "channel":
            since = min((a.first_seen_at or claim.claimed_at) for a in chosen).date()
            return digest_message(chosen, since=since, lang=lang, public_url=url)
        return owner_message(chosen, lang=lang, public_url=url)

    if kind == "channel":
        return Outgoing(recipient=claim.recipient, channel=target, keys=claim.keys, render=render)
    person = _staff(runtime, [int(target)]).get(int(target))
    if person is None:
        return None
    slack_user = runtime.delivery().slack_user_for(slack_user_id=person.slack_user_id, email=person.email)
    if slack_user is None and not claim.slack_channel:
        return None
    return Outgoing(recipient=claim.recipient, keys=claim.keys, render=render, slack_user=slack_user)


def _staff(runtime: Runtime, ids: list[int]) -> dict[int, StaffUser]:
    if not ids:
        return {}
    with Session(runtime.engine) as session:
        rows = session.exec(select(StaffUser).where(StaffUser.id.in_(ids))).all()
        for r in rows:
            session.expunge(r)
    return {r.id: r for r in rows}


def _undelivered(runtime: Runtime, recipient: str, alerts: list[Alert]) -> list[Alert]:
    done = delivered_keys(runtime.engine, recipient=recipient, keys=[a.key for a in alerts]) if alerts else set()
    return [a for a in alerts if a.key not in done]


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]
