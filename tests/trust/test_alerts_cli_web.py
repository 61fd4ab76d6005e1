"""`crm alerts`, `crm alerts send`, `crm schedule …` and `GET /api/alerts` on the seeded demo."""

from __future__ import annotations

import json

import pytest
from _alerts_data import demo_copy, ledger, use_integration_helpers
from sqlmodel import Session, select
from typer.testing import CliRunner

from integrations.cli.app import app
from storage.db import engine_for
from storage.models import AuditEntry, StaffUser
from storage.passwords import hash_password

use_integration_helpers()
from fake_slack import FakeSlack  # noqa: E402

NOW = "2025-06-18T08:00"
PASSWORD = "correct horse battery"


def _clear_caches() -> None:
    from integrations.scheduler.settings import get_settings as scheduler_settings
    from integrations.slack.settings import get_settings as slack_settings
    from storage.settings import get_settings

    for getter in (get_settings, scheduler_settings, slack_settings):
        getter.cache_clear()


@pytest.fixture
def url(tmp_path_factory, tmp_path, monkeypatch):
    url = demo_copy(tmp_path_factory, tmp_path)
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_DIGEST_CHANNEL", "SLACK_REPORT_CHANNEL", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRM_SCHEDULE_ALERT_KINDS", "vip_quiet,spend_drop,frequency_drop,complaint_spike")
    _clear_caches()
    yield url
    _clear_caches()


def crm(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def rep_email(url: str) -> tuple[int, str]:
    with Session(engine_for(url)) as s:
        rep = s.exec(select(StaffUser).where(StaffUser.role == "rep").order_by(StaffUser.id)).first()
        return rep.id, rep.email


def test_alerts_command_prints_scoped_alerts(url):
    everyone = json.loads(crm("alerts", "--now", NOW, "--json").stdout)
    rep_id, email = rep_email(url)
    mine = json.loads(crm("alerts", "--as", email, "--now", NOW, "--json").stdout)
    assert 0 < len(mine["alerts"]) < len(everyone["alerts"])
    assert {a["owner_id"] for a in mine["alerts"]} <= {rep_id, None}
    assert {a["key"] for a in mine["alerts"]} <= {a["key"] for a in everyone["alerts"]}
    first = everyone["alerts"][0]
    assert set(first) >= {"key", "kind", "customer_id", "owner_id", "owner_name", "severity", "reason", "reason_zh",
                          "numbers"}
    table = crm("alerts", "--now", NOW, "--kind", "vip_quiet", "--lang", "zh")
    assert table.exit_code == 0 and "预警" in table.stdout and "VIP 客户沉默" in table.stdout
    with Session(engine_for(url)) as s:
        assert s.exec(select(StaffUser)).first() is not None
    assert ledger(url).empty  # printing sends and stores nothing


@pytest.mark.parametrize("args, message", [
    (("alerts", "--as", "nobody@example.com"), "no active staff user"),
    (("alerts", "--kind", "bogus", "--now", NOW), "unknown alert kind"),
    (("alerts", "--now", "yesterday-ish"), "--now must be a date"),
    (("alerts", "send", "--now", NOW), "Slack is not configured"),
    (("alerts", "send", "--report", "weekly-news"), "unknown report"),
    (("schedule", "set", "vip_report", "hourly"), "unknown frequency"),
    (("schedule", "set", "alerts", "daily", "--channel", "C1"), "owner's DM"),
    (("schedule", "set", "digest", "daily", "--hour", "25"), "hour must be between"),
    (("schedule", "remove", "newsletter"), "unknown report"),
])
def test_bad_input_gets_one_clear_line(url, args, message):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr + result.stdout


def test_schedule_set_list_remove(url):
    listed = {s["kind"]: s for s in json.loads(crm("schedule", "list", "--json").stdout)}
    assert {k: (v["frequency"], v["source"]) for k, v in listed.items()} == {
        "alerts": ("daily", "settings"), "digest": ("weekly", "settings"), "vip_report": ("monthly", "settings")}
    assert "digest: daily at 07:00 to C0MGRS" in crm("schedule", "set", "digest", "daily", "--channel", "C0MGRS",
                                                     "--hour", "7").stdout
    assert "vip_report: off" in crm("schedule", "remove", "vip_report").stdout
    listed = {s["kind"]: s for s in json.loads(crm("schedule", "list", "--json").stdout)}
    assert (listed["digest"]["frequency"], listed["digest"]["channel"], listed["digest"]["hour"]) == ("daily", "C0MGRS", 7)
    assert (listed["vip_report"]["frequency"], listed["vip_report"]["source"]) == ("off", "database")
    assert "digest" in crm("schedule", "list").stdout


def test_send_dry_run_then_send_once(url, monkeypatch):
    plan = json.loads(crm("alerts", "send", "--report", "all", "--dry-run", "--now", NOW, "--json").stdout)
    assert [p["report"] for p in plan] == ["alerts", "digest", "vip_report"]
    assert plan[0]["messages"] and plan[1]["messages"] == []  # no digest channel configured: skipped, said why
    assert "no digest channel" in plan[1]["skipped"][0]
    with FakeSlack() as fake:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1234-5678-testtoken")
        monkeypatch.setenv("SLACK_API_URL", fake.url)
        monkeypatch.setenv("SLACK_DIGEST_CHANNEL", "C0DIGEST")
        _clear_caches()
        sent = json.loads(crm("alerts", "send", "--report", "all", "--now", NOW, "--json").stdout)
        assert all(r["delivery"]["messages"] >= 1 for r in sent)
        assert sent[0]["delivery"]["items"] == sum(m["items"] for m in plan[0]["messages"])
        again = json.loads(crm("alerts", "send", "--report", "all", "--now", NOW, "--json").stdout)
        assert all(r["delivery"]["messages"] == 0 for r in again)  # the same alert is never sent twice
        human = crm("alerts", "send", "--now", NOW)
        assert "sent 0 message(s)" in human.stdout
    assert set(ledger(url)["status"]) == {"sent"}
    with Session(engine_for(url)) as s:
        audited = s.exec(select(AuditEntry).where(AuditEntry.action == "alert_delivery")).all()
    assert sorted(a.tool for a in audited) == ["alerts", "digest", "vip_report"]  # runs that sent nothing leave no row
    assert all(a.channel == "system" and a.records is not None for a in audited)
    assert any(a.records for a in audited if a.tool == "alerts")


def test_web_api_alerts_are_scoped_to_the_caller(url, tmp_path):
    from fastapi.testclient import TestClient

    from integrations.web import WebSettings, create_app

    rep_id, email = rep_email(url)
    with Session(engine_for(url)) as s:
        for user in s.exec(select(StaffUser).where(StaffUser.email.in_([email, "admin@demo.crm"]))).all():
            user.password_hash = hash_password(PASSWORD)
            s.add(user)
        s.commit()
    settings = WebSettings(secret="test-secret-" + "0123456789abcdef" * 3, now=NOW)
    web = create_app(database_url=url, settings=settings, home=tmp_path, warm=False)
    with TestClient(web) as client:
        assert client.get("/api/alerts").status_code == 401

        def login(who: str) -> dict:
            r = client.post("/api/login", json={"email": who, "password": PASSWORD})
            assert r.status_code == 200
            return {"Authorization": f"Bearer {r.json()['token']}"}

        admin = client.get("/api/alerts", headers=login("admin@demo.crm")).json()
        rep = login(email)
        scoped = client.get("/api/alerts", headers=rep).json()
        assert scoped["as_of"].startswith("2025-06-18T08:00")
        assert 0 < len(scoped["alerts"]) < len(admin["alerts"])
        assert {a["owner_id"] for a in scoped["alerts"]} <= {rep_id, None}
        mine = client.get("/api/alerts", params={"mine": "true", "kind": ["spend_drop", "vip_quiet"]}, headers=rep).json()
        assert mine["alerts"] and {a["owner_id"] for a in mine["alerts"]} == {rep_id}
        assert {a["kind"] for a in mine["alerts"]} <= {"spend_drop", "vip_quiet"}
        assert sum(mine["counts"].values()) == len(mine["alerts"])
        bad = client.get("/api/alerts", params={"kind": "everything"}, headers=rep)
        assert bad.status_code == 422 and "unknown alert kind" in bad.json()["detail"]
    assert ledger(url).empty
