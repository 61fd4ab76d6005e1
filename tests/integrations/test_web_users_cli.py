"""`crm users list | add | set-password` and `crm serve`'s start-up checks, through the real CLI app."""

from __future__ import annotations

import json

from sqlmodel import Session, select
from typer.testing import CliRunner

from integrations.cli.app import app
from storage.db import engine_for
from storage.models import StaffUser
from storage.passwords import verify_password

runner = CliRunner()


def user(url: str, email: str) -> StaffUser | None:
    with Session(engine_for(url)) as session:
        return session.exec(select(StaffUser).where(StaffUser.email == email)).first()


def test_add_list_and_set_password(sqlite_url):
    r = runner.invoke(app, ["users", "add", "Kim@Example.com", "--name", "Kim Lee", "--role", "manager", "--team",
                            "China", "--password", "first-password"])
    assert r.exit_code == 0, r.output
    kim = user(sqlite_url, "kim@example.com")
    assert kim.role == "manager" and kim.team == "China" and verify_password("first-password", kim.password_hash)

    listed = json.loads(runner.invoke(app, ["users", "list", "--json"]).output)
    assert listed == [{"id": kim.id, "email": "kim@example.com", "name": "Kim Lee", "role": "manager", "team": "China",
                       "slack_user_id": None, "active": True, "web_login": True}]

    r = runner.invoke(app, ["users", "set-password", "KIM@example.com", "--password", "second-password"])
    assert r.exit_code == 0, r.output
    assert verify_password("second-password", user(sqlite_url, "kim@example.com").password_hash)


def test_user_errors_are_clear(sqlite_url):
    runner.invoke(app, ["users", "add", "a@b.co", "--name", "A", "--password", "long-enough-1"])
    cases = [
        (["users", "add", "a@b.co", "--name", "A", "--password", "long-enough-1"], "already exists"),
        (["users", "add", "x@y.co", "--name", "X", "--role", "boss", "--password", "long-enough-1"], "unknown role"),
        (["users", "add", "x@y.co", "--name", "X", "--password", "short"], "at least 8"),
        (["users", "set-password", "nobody@b.co", "--password", "long-enough-1"], "no staff user"),
    ]
    for args, message in cases:
        r = runner.invoke(app, args)
        assert r.exit_code != 0 and message in r.output, (args, r.output)
        assert "Traceback" not in r.output


def test_serve_refuses_a_missing_database(crm_home):
    r = runner.invoke(app, ["serve", "--port", "8999"])
    assert r.exit_code != 0 and "crm demo" in r.output


def test_serve_refuses_a_placeholder_secret(sqlite_url, monkeypatch):
    monkeypatch.setenv("CRM_WEB_SECRET", "changeme")
    r = runner.invoke(app, ["serve", "--port", "8999"])
    assert r.exit_code != 0 and "placeholder" in r.output


def test_demo_logins_are_stable(sqlite_url):
    from integrations.cli.serve_command import demo_logins

    runner.invoke(app, ["users", "add", "admin@demo.crm", "--name", "Admin", "--role", "admin", "--no-password"])
    first = demo_logins()
    assert list(first) == ["admin@demo.crm"]
    assert verify_password(first["admin@demo.crm"], user(sqlite_url, "admin@demo.crm").password_hash)
    assert demo_logins() == first  # a restart prints the same login
