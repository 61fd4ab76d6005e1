"""Each edge's turns are audited with its channel (cli, web, slack), and ``GET /api/audit`` is for admins only.

The edges are the real ones: ``crm ask`` through typer's runner, the web app through FastAPI's test
client, Slack through signed requests to a uvicorn server and the fake Slack Web API. The model is
the scripted local OpenAI-protocol server (no router load, no network), over the tiny CRM of the
assistant tests with web passwords and a Slack id for Rita.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "assistant"), str(TESTS / "integrations")]
from _assistant_data import seed  # noqa: E402
from openai_server import ScriptedOpenAIServer  # noqa: E402

from storage.db import engine_for  # noqa: E402
from storage.models import AuditEntry, Customer, StaffUser  # noqa: E402
from storage.passwords import hash_password  # noqa: E402

PASSWORD = "correct horse battery"
SECRET = "test-secret-" + "0123456789abcdef" * 3


@pytest.fixture
def crm(sqlite_url) -> str:
    seed(sqlite_url)
    with Session(engine_for(sqlite_url)) as session:
        for user in session.exec(select(StaffUser)).all():
            user.password_hash = hash_password(PASSWORD)
            if user.email == "rita@demo.crm":
                user.slack_user_id = "U0RITA"
            session.add(user)
        session.commit()
    return sqlite_url


@pytest.fixture
def llm(monkeypatch):
    """The assistant pointed at a scripted OpenAI-protocol server that looks up Acme Trading, then answers."""
    from assistant import get_settings
    from assistant.agent import reset
    from assistant.model_factory import clear_cache

    script = [{"tool_calls": [{"name": "customer_profile", "arguments": json.dumps({"customer": "Acme Trading"})}]},
              {"content": "Acme Trading is a Shanghai customer."}]
    with ScriptedOpenAIServer(script) as server:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.setenv("CRM_MODEL", "openai:gpt-4o-mini")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("CRM_LLM_TIMEOUT", "10")
        get_settings.cache_clear()
        clear_cache()
        reset()
        yield server
    get_settings.cache_clear()
    clear_cache()
    reset()


def audit_rows(url: str) -> list[AuditEntry]:
    with Session(engine_for(url)) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())


def acme(url: str) -> str:
    with Session(engine_for(url)) as session:
        return f"customer:{session.exec(select(Customer.id).where(Customer.name == 'Acme Trading')).one()}"


def rita_id(url: str) -> int:
    with Session(engine_for(url)) as session:
        return session.exec(select(StaffUser.id).where(StaffUser.email == "rita@demo.crm")).one()


def assert_turn_audited(url: str, *, channel: str, question: str) -> None:
    rows = [r for r in audit_rows(url) if r.action in ("question", "tool_call")]
    asked = [r for r in rows if r.action == "question" and r.question == question]
    assert len(asked) == 1, [(r.action, r.question) for r in rows]
    calls = [r for r in rows if r.action == "tool_call" and r.id > asked[0].id]
    assert asked[0].channel == channel and asked[0].user_id == rita_id(url) and asked[0].outcome == "ok"
    assert asked[0].arguments["model"].startswith("openai:gpt-4o-mini")
    assert [(c.tool, c.arguments, c.records, c.channel) for c in calls] == [
        ("customer_profile", {"customer": "Acme Trading"}, [acme(url)], channel)]


def test_crm_ask_is_audited_with_channel_cli(crm, llm, monkeypatch):
    from typer.testing import CliRunner

    from integrations.cli.app import app
    from storage.settings import get_settings

    monkeypatch.setenv("CRM_DATABASE_URL", crm)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["ask", "--as", "rita@demo.crm", "--no-charts", "who is Acme Trading?"])
    assert result.exit_code == 0, result.output
    assert_turn_audited(crm, channel="cli", question="who is Acme Trading?")


@pytest.fixture
def web(crm, crm_home):
    from fastapi.testclient import TestClient

    from integrations.web import WebSettings, create_app

    app = create_app(database_url=crm, settings=WebSettings(secret=SECRET, now="2025-06-15"), home=crm_home,
                     warm=False)
    with TestClient(app) as client:
        yield client


def login(client, email: str) -> None:
    client.cookies.clear()
    response = client.post("/api/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text


def test_web_questions_are_audited_with_channel_web_and_only_admins_read_the_log(crm, llm, web):
    login(web, "rita@demo.crm")
    response = web.post("/api/ask", json={"question": "who is Acme Trading?"})
    assert response.status_code == 200, response.text
    assert_turn_audited(crm, channel="web", question="who is Acme Trading?")

    assert web.get("/api/audit").status_code == 403  # a rep, even one with rows in it
    login(web, "sam@demo.crm")
    assert web.get("/api/audit", params={"user": "sam@demo.crm"}).status_code == 403
    web.cookies.clear()
    assert web.get("/api/audit").status_code == 401

    login(web, "admin@demo.crm")
    page = web.get("/api/audit", params={"user": "RITA@demo.crm", "action": "tool_call"})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["count"] == 1 and body["limit"] == 100
    [entry] = body["entries"]
    assert (entry["tool"], entry["channel"], entry["user_email"], entry["records"]) == (
        "customer_profile", "web", "rita@demo.crm", [acme(crm)])
    # The web's clock is pinned to 2025-06-15, so its rows carry that date; relative forms count from it.
    assert web.get("/api/audit", params={"since": "2025-06-15", "until": "2025-06-15"}).json()["count"] == 2
    assert web.get("/api/audit", params={"since": "1d"}).json()["count"] == 2
    assert web.get("/api/audit", params={"until": "2025-06-14"}).json()["count"] == 0
    assert web.get("/api/audit", params={"record": acme(crm)}).json()["count"] == 1


@pytest.mark.parametrize("params,status", [
    ({"user": "nobody@demo.crm"}, 404), ({"since": "not a time, really"}, 422), ({"record": "customer-1"}, 422),
    ({"limit": 0}, 422), ({"since": "1d", "until": "3d"}, 422),
])
def test_api_audit_rejects_bad_filters_clearly(crm, web, params, status):
    login(web, "admin@demo.crm")
    response = web.get("/api/audit", params=params)
    assert response.status_code == status, response.text
    assert "detail" in response.json()


def test_slack_questions_are_audited_with_channel_slack(crm, llm, tmp_path):
    from fake_slack import FakeSlack
    from fastapi import FastAPI
    from slack_harness import BOT_TOKEN, NOW, SIGNING_SECRET, ServerThread, SlackSender, mention

    from integrations.slack import SlackSettings, mount_slack

    with FakeSlack() as fake:
        settings = SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.url)
        app = FastAPI()
        assert mount_slack(app, settings=settings, database_url=crm, clock=lambda: NOW,
                           state_path=tmp_path / "slack_state.sqlite3")
        with ServerThread(app) as server:
            sender = SlackSender(server.url)
            try:
                response, _ = sender.event(mention(user="U0RITA", text="who is Acme Trading?", ts="1790000100.000100",
                                                   channel="C0AUDIT"))
                assert response.status_code == 200
                fake.wait_for("chat.update", channel="C0AUDIT", timeout=60)
            finally:
                sender.close()
    assert_turn_audited(crm, channel="slack", question="who is Acme Trading?")
    [asked] = [r for r in audit_rows(crm) if r.action == "question"]
    assert asked.at == NOW  # the Slack edge's clock, as every other row of the turn
