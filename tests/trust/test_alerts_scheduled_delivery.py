"""Alerts reach the fake Slack API on schedule, under a frozen clock, with no duplicates.

The real APScheduler runs in a background thread over its persistent job store in the CRM
database, with time frozen by time-machine (which patches the clock for every thread, so the
scheduler's own "now" is the frozen one). Two scheduled mornings run, the scheduler is shut
down and restarted after a morning it missed, and every alert must have reached each recipient
exactly once: owners by DM, managers by the channel digest, the VIP report with its charts.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
import time_machine
from _alerts_data import (
    DIGEST_CHANNEL,
    NO_CHURN,
    demo_copy,
    dm_keys,
    ledger,
    link_staff,
    runtime_for,
    use_integration_helpers,
)
from _alerts_data import (
    staff as staff_frame,
)
from sqlalchemy import inspect, text

from integrations.scheduler.host import next_runs, start_scheduler
from integrations.scheduler.schedules import set_schedule
from storage.db import engine_for
from storage.models import SCHEDULER_JOB_TABLE
from tools.alerts import compute_alerts
from tools.context import ToolContext

use_integration_helpers()
from fake_slack import FakeSlack  # noqa: E402

VIP_CHANNEL = "C0VIPREPORT"
MONDAY, TUESDAY, WEDNESDAY = (datetime(2025, 6, d, 8, 0, tzinfo=UTC) for d in (16, 17, 18))


class JobLog:
    """APScheduler job events, waitable: how many times each job ran."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self.errors: list[str] = []
        self._cond = threading.Condition()

    def __call__(self, event) -> None:
        with self._cond:
            if event.exception is not None:
                self.errors.append(f"{event.job_id}: {event.exception!r}")
            self.runs[event.job_id] += 1
            self._cond.notify_all()

    def wait(self, expected: dict[str, int], timeout: float = 120) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: all(self.runs[j] >= n for j, n in expected.items()) or self.errors,
                                     timeout=timeout)
        assert not self.errors, self.errors
        assert ok, f"jobs did not run: {dict(self.runs)} (expected {expected})"


def owner_alerts(url: str, now: datetime) -> dict[int, set[str]]:
    result = compute_alerts(ToolContext.system(now=now.replace(tzinfo=None), database_url=url), kinds=list(NO_CHURN))
    out: dict[int, set[str]] = {}
    for a in result.alerts:
        if a.owner_id is not None:
            out.setdefault(a.owner_id, set()).add(a.key)
    return out


@pytest.mark.slow
def test_scheduled_alerts_digest_and_vip_report_reach_slack_once(tmp_path_factory, tmp_path):
    url = demo_copy(tmp_path_factory, tmp_path)
    mon = owner_alerts(url, MONDAY)
    users, linked = link_staff(url, list(mon))
    with FakeSlack(users=users) as fake, time_machine.travel(datetime(2025, 6, 16, 7, 0, tzinfo=UTC), tick=False) as clock:
        runtime = runtime_for(url, fake.url)
        set_schedule(runtime.engine, runtime.settings, kind="vip_report", frequency="weekly", channel=VIP_CHANNEL)
        log = JobLog()
        scheduler = start_scheduler(runtime, on_event=log)
        try:
            assert next_runs(scheduler) == {"alerts": MONDAY, "digest": MONDAY, "vip_report": MONDAY}
            clock.move_to(MONDAY.replace(second=1))
            scheduler.wakeup()
            log.wait({"report:alerts": 1, "report:digest": 1, "report:vip_report": 1})
            monday = dm_keys(fake)

            clock.move_to(TUESDAY.replace(second=1))
            scheduler.wakeup()
            log.wait({"report:alerts": 2})
        finally:
            scheduler.shutdown(wait=True)
        assert log.runs["report:digest"] == 1 and log.runs["report:vip_report"] == 1  # weekly: not on Tuesday

        # Down over Wednesday 08:00; back at 09:30: the stored job is overdue and runs once.
        clock.move_to(datetime(2025, 6, 18, 9, 30, tzinfo=UTC))
        with engine_for(url).connect() as conn:
            stored = set(conn.execute(text(f"select id from {SCHEDULER_JOB_TABLE}")).scalars())
        assert stored == {"report:alerts", "report:digest", "report:vip_report"}
        log2 = JobLog()
        scheduler = start_scheduler(runtime, on_event=log2)
        try:
            log2.wait({"report:alerts": 1})
            assert next_runs(scheduler)["alerts"] == datetime(2025, 6, 19, 8, 0, tzinfo=UTC)
        finally:
            scheduler.shutdown(wait=True)
        assert log2.runs["report:alerts"] == 1

    # --- no duplicates: on Slack's side, every alert shown at most once per DM channel ---------------
    shown = dm_keys(fake)
    for channel, keys in shown.items():
        assert len(keys) == len(set(keys)), f"{channel} got an alert twice"
    # Every Slack message is one ledger batch and every batch one message.
    rows = ledger(url)
    assert set(rows["status"]) == {"sent"}
    batches = Counter(m["metadata"]["event_payload"]["batch"] for ms in fake.messages.values() for m in ms)
    assert set(batches) == set(rows["batch_id"]) and set(batches.values()) == {1}
    assert not rows.duplicated(["alert_key", "recipient"]).any()

    # --- owners got exactly their own alerts, by DM; pool customers never by DM ------------------
    staff = staff_frame(url).set_index("id")

    def dm_channel_of(owner: int) -> str | None:
        if owner == linked["no_slack"]:
            return None
        stored = staff.loc[owner, "slack_user_id"]
        slack_id = stored if isinstance(stored, str) else next(
            u for u, v in fake.users.items() if v["profile"]["email"].lower() == staff.loc[owner, "email"])
        return FakeSlack.dm_channel(slack_id)

    tue, wed = (owner_alerts(url, t) for t in (TUESDAY, WEDNESDAY.replace(hour=9, minute=30)))
    assert linked["by_email"] >= 2
    for owner, keys in mon.items():
        channel = dm_channel_of(owner)
        if channel is None:
            assert not any(keys & set(k) for k in shown.values())
            continue
        assert set(monday[channel]) == keys
        later = (tue.get(owner, set()) | wed.get(owner, set())) - keys
        assert set(shown[channel][len(monday[channel]):]) == later
    assert len(fake.of("users.lookupByEmail")) >= linked["by_email"]
    dm_rows = rows[rows["recipient"].str.startswith("user:")]
    pool = {a.key for a in compute_alerts(ToolContext.system(now=MONDAY.replace(tzinfo=None), database_url=url),
                                          kinds=list(NO_CHURN)).alerts if a.in_pool}
    assert pool and not (pool & set(dm_rows["alert_key"]))

    # --- managers: one digest in the channel, holding the pool's alerts too ------------------------
    digest_rows = rows[rows["recipient"] == f"channel:{DIGEST_CHANNEL}"]
    assert len(fake.messages[DIGEST_CHANNEL]) == 1 == digest_rows["batch_id"].nunique()  # weekly: Monday only
    assert len(digest_rows) > 60  # the whole week's alerts in one message
    assert pool <= set(digest_rows["alert_key"])
    digest_text = str(fake.messages[DIGEST_CHANNEL][0]["blocks"])
    assert "Public pool" in digest_text and "Alert digest" in digest_text

    # --- the VIP report, once, with its charts in the thread ------------------------------------
    report = fake.messages[VIP_CHANNEL]
    assert len(report) == 1 and "VIP report 2025-06-09 – 2025-06-15" in report[0]["text"]
    uploads = fake.of("files.completeUploadExternal", channel_id=VIP_CHANNEL, thread_ts=report[0]["ts"])
    assert len(uploads) >= 3 and all(len(fake.uploads[f"F{i:06d}"]) > 1000 for i in range(1, len(uploads) + 1))
    assert set(rows[rows["recipient"] == f"channel:{VIP_CHANNEL}"]["alert_key"]) == {
        "report:vip_report:2025-06-09:2025-06-15"}


def test_restart_keeps_job_state_and_apscheduler_table_stays_out_of_migrations(tmp_path_factory, tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from storage.migrate import include_object

    url = demo_copy(tmp_path_factory, tmp_path)
    with FakeSlack() as fake, time_machine.travel(datetime(2025, 6, 16, 9, 0, tzinfo=UTC), tick=False):
        runtime = runtime_for(url, fake.url)
        set_schedule(runtime.engine, runtime.settings, kind="alerts", frequency="off")
        set_schedule(runtime.engine, runtime.settings, kind="digest", frequency="monthly", hour=6)
        scheduler = start_scheduler(runtime)
        try:
            assert next_runs(scheduler) == {"digest": datetime(2025, 7, 1, 6, 0, tzinfo=UTC),
                                            "vip_report": datetime(2025, 7, 1, 8, 0, tzinfo=UTC)}
        finally:
            scheduler.shutdown()
    engine = engine_for(url)
    assert inspect(engine).has_table(SCHEDULER_JOB_TABLE)
    with engine.connect() as conn:
        raw = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        filtered = compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}),
                                    SQLModel.metadata)
    assert any(d[0] == "remove_table" and d[1].name == SCHEDULER_JOB_TABLE for d in raw)
    assert filtered == []
