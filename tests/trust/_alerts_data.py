"""Data for the alert tests (not collected): a small demo CRM with planted truths, copied per test.

The demo (600 customers, seed 8, "today" Friday 2025-06-20) plants quiet VIPs and spend drops
(``demo_truth``); generating it takes a few seconds, so it is built once per session and every
test that writes (ledger, churn memory, schedules) gets its own copy of the SQLite file.
Independent oracles recompute the 90-day windows and complaint counts from the raw tables with
pandas, sharing no code with ``tools.alerts``.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from storage.db import engine_for

TODAY = date(2025, 6, 20)  # a Friday; the data ends the day before
NOW = datetime(2025, 6, 18, 8, 0)  # a Wednesday morning inside the data
CUSTOMERS, SEED = 600, 8
INTEGRATIONS_TESTS = Path(__file__).resolve().parents[1] / "integrations"
_BUILT: dict[str, Path] = {}


def use_integration_helpers() -> None:
    """Make tests/integrations' helpers (the fake Slack Web API) importable from tests/trust."""
    if str(INTEGRATIONS_TESTS) not in sys.path:
        sys.path.insert(0, str(INTEGRATIONS_TESTS))


def demo_file(tmp_path_factory) -> Path:
    """The session's migrated demo database file (built on first use)."""
    if "demo" not in _BUILT:
        from storage.demo import generate
        from storage.migrate import upgrade

        path = Path(tmp_path_factory.mktemp("alerts_demo")) / "crm.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        generate(customers=CUSTOMERS, seed=SEED, today=TODAY, url=url)
        engine_for(url).dispose()
        _BUILT["demo"] = path
    return _BUILT["demo"]


def demo_copy(tmp_path_factory, directory: Path) -> str:
    """A private copy of the demo database for one test; returns its URL."""
    target = directory / "alerts.sqlite3"
    shutil.copyfile(demo_file(tmp_path_factory), target)
    return f"sqlite:///{target}"


def truth(url: str, kind: str) -> set[int]:
    frame = pd.read_sql(f"select subject_id from demo_truth where kind = '{kind}'", engine_for(url))
    return set(frame["subject_id"].astype(int))


def windows(url: str, now: datetime) -> pd.DataFrame:
    """Per customer, from raw orders: spend and orders in [now-90d, now) and [now-180d, now-90d)."""
    orders = pd.read_sql("select customer_id, ordered_at, total_amount, status from orders", engine_for(url))
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    orders = orders[~orders["status"].isin(["returned", "cancelled"]) & (orders["ordered_at"] < now)]
    recent = orders["ordered_at"] >= now - timedelta(days=90)
    prior = (orders["ordered_at"] < now - timedelta(days=90)) & (orders["ordered_at"] >= now - timedelta(days=180))
    frame = pd.DataFrame({
        "spend_90d": orders["total_amount"].where(recent, 0.0).groupby(orders["customer_id"]).sum(),
        "spend_prev_90d": orders["total_amount"].where(prior, 0.0).groupby(orders["customer_id"]).sum(),
        "orders_90d": recent.groupby(orders["customer_id"]).sum(),
        "orders_prev_90d": prior.groupby(orders["customer_id"]).sum(),
    })
    return frame


def complaints(url: str, now: datetime, *, window: int = 30, prior: int = 180) -> pd.DataFrame:
    """Per customer: complaint-like contacts (kind complaint or sentiment <= -0.5) in the window and before it."""
    rows = pd.read_sql("select customer_id, kind, sentiment, occurred_at from interaction", engine_for(url))
    rows["occurred_at"] = pd.to_datetime(rows["occurred_at"])
    bad = rows[(rows["kind"] == "complaint") | (rows["sentiment"] <= -0.5)]
    start = now - timedelta(days=window)
    recent = bad[(bad["occurred_at"] >= start) & (bad["occurred_at"] < now)].groupby("customer_id").size()
    before = bad[(bad["occurred_at"] >= start - timedelta(days=prior)) & (bad["occurred_at"] < start)]
    return pd.DataFrame({"recent": recent, "prior": before.groupby("customer_id").size()}).fillna(0).astype(int)


def owners(url: str) -> pd.Series:
    return pd.read_sql("select id, owner_id from customer", engine_for(url)).set_index("id")["owner_id"]


def staff(url: str) -> pd.DataFrame:
    return pd.read_sql("select id, email, role, team, slack_user_id, is_active from staff_user", engine_for(url))


DIGEST_CHANNEL, REPORT_CHANNEL = "C0DIGEST", "C0REPORTS"
NO_CHURN = ("vip_quiet", "spend_drop", "frequency_drop", "complaint_spike")


def link_staff(url: str, owners_with_alerts: list[int]) -> tuple[dict[str, dict], dict[str, int]]:
    """Vary how staff reach Slack: most keep a stored Slack id; every third owner with alerts is found by
    email only; the last has no Slack account at all. Returns (FakeSlack users, {"by_email": n, "no_slack": id})."""
    from sqlmodel import Session

    from storage.models import StaffUser

    users: dict[str, dict] = {}
    chosen = sorted(owners_with_alerts)
    with Session(engine_for(url)) as s:
        by_email = 0
        for i, staff_id in enumerate(chosen[:-1]):
            if i % 3 == 1:
                person = s.get(StaffUser, staff_id)
                slack_id = f"UMAIL{person.id:04d}"
                users[slack_id] = {"id": slack_id, "profile": {"email": person.email.upper()}}
                person.slack_user_id = None
                by_email += 1
                s.add(person)
        last = s.get(StaffUser, chosen[-1])
        last.slack_user_id = None
        s.add(last)
        s.commit()
        return users, {"by_email": by_email, "no_slack": last.id}


def runtime_for(url: str, fake_url: str, *, clock=None, **settings):
    from slack_sdk import WebClient

    from integrations.scheduler.jobs import Runtime
    from integrations.scheduler.settings import SchedulerSettings
    from storage.models import utcnow

    return Runtime(database_url=url, client=WebClient(token="xoxb-1234-5678-testtoken", base_url=fake_url),
                   settings=SchedulerSettings(**({"alert_kinds": NO_CHURN} | settings)),
                   digest_channel=DIGEST_CHANNEL, report_channel=REPORT_CHANNEL, clock=clock or utcnow)


def dm_keys(fake) -> dict[str, list[str]]:
    """Alert keys shown in each DM channel, one entry per time a key was shown."""
    import re

    out: dict[str, list[str]] = {}
    for channel, messages in fake.messages.items():
        if not channel.startswith("D"):
            continue
        for m in messages:
            for block in m.get("blocks") or []:
                for element in block.get("elements") or []:
                    out.setdefault(channel, []).extend(re.findall(r"`([a-z_]+:\d+:[\w-]+)`", element.get("text", "")))
    return out


def ledger(url: str) -> pd.DataFrame:
    return pd.read_sql("select * from alert_delivery order by id", engine_for(url))
