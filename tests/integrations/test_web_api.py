"""The JSON API against a live uvicorn server, with httpx: sign-in, ask, stream, threads, charts, writes, scope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from _web_live import PASSWORD, build_demo, customers_by_owner, start

from storage.db import engine_for
from storage.models import Customer


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    home = tmp_path_factory.mktemp("web_api")
    url = build_demo(home)
    server = start(url, home, login_attempts=3)
    yield server
    server.stop()


@contextmanager
def client(live, email: str | None = None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=120) as c:
        if email:
            r = c.post("/api/login", json={"email": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
        yield c


def ask(c: httpx.Client, question: str, thread_id: str | None = None) -> dict:
    r = c.post("/api/ask", json={"question": question, "thread_id": thread_id})
    assert r.status_code == 200, r.text
    return r.json()


def test_openapi_documents_the_api(live):
    with client(live) as c:
        schema = c.get("/openapi.json").json()
        docs = c.get("/docs")
    for path in ("/api/login", "/api/ask", "/api/ask/stream", "/api/threads", "/api/threads/{thread_id}",
                 "/api/writes/{write_id}/confirm", "/api/customers/{customer_id}"):
        assert path in schema["paths"], path
    assert schema["paths"]["/api/ask"]["post"]["requestBody"]["content"]["application/json"]
    assert "AskReply" in schema["components"]["schemas"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


@pytest.mark.parametrize("method,path", [("get", "/api/me"), ("post", "/api/ask"), ("post", "/api/ask/stream"),
                                         ("get", "/api/threads"), ("get", "/charts/chart-0123456789abcdef.png"),
                                         ("get", "/api/customers/1"), ("post", "/api/writes/" + "0" * 32 + "/confirm")])
def test_auth_is_required(live, method, path):
    with client(live) as c:
        kwargs = {"json": {"question": "monthly revenue this year"}} if method == "post" else {}
        assert getattr(c, method)(path, **kwargs).status_code == 401
        c.headers["Authorization"] = "Bearer not-a-real-token"
        assert getattr(c, method)(path, **kwargs).status_code == 401


def test_wrong_password_is_refused_then_rate_limited(live):
    with client(live) as c:
        wrong = {"email": "rep19@demo.crm", "password": "not the password"}
        for _ in range(3):
            r = c.post("/api/login", json=wrong)
            assert r.status_code == 401 and "token" not in r.text
            assert "set-cookie" not in r.headers
        limited = c.post("/api/login", json={**wrong, "password": PASSWORD})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        unknown = c.post("/api/login", json={"email": "nobody@demo.crm", "password": PASSWORD})
        assert unknown.status_code == 401


def test_session_cookie_flags_and_bearer_token(live):
    with client(live) as c:
        r = c.post("/api/login", json={"email": "support01@demo.crm", "password": PASSWORD})
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        assert "secure" not in cookie  # plain http on loopback; https gets Secure (test_web_security)
        token = r.json()["token"]
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"}) as program:
        me = program.get("/api/me").json()
    assert me["email"] == "support01@demo.crm" and me["role"] == "support" and me["examples"]


@pytest.mark.slow  # the first answer in a process imports the analytics stack (10-30 s on a busy machine)
def test_ask_returns_table_and_chart_and_follow_up_keeps_the_thread(live):
    with client(live, "manager02@demo.crm") as manager, client(live, "rep01@demo.crm") as rep:
        first = ask(manager, "monthly revenue this year")
        assert first["error"] is None and first["tables"] and first["tables"][0]["headers"][0] == "Month"
        assert len(first["tables"][0]["rows"]) == 11  # January to November 2026
        chart = first["charts"][0]["url"]
        png = manager.get(chart)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
        assert rep.get(chart).status_code == 404  # another user's chart
        assert manager.get("/charts/..%2Fcrm.png").status_code == 404

        follow = ask(manager, "and by region?", thread_id=first["thread_id"])
        assert follow["thread_id"] == first["thread_id"]
        assert follow["tables"][0]["headers"][0] == "Region"

        threads = manager.get("/api/threads").json()
        mine = next(t for t in threads if t["id"] == first["thread_id"])
        assert mine["title"] == "monthly revenue this year" and mine["messages"] == 2
        detail = manager.get(f"/api/threads/{first['thread_id']}").json()
        assert [m["question"] for m in detail["messages"]] == ["monthly revenue this year", "and by region?"]
        assert detail["messages"][0]["reply"]["charts"][0]["url"] == chart

        # Someone else's conversation is invisible, to read and to continue.
        assert rep.get(f"/api/threads/{first['thread_id']}").status_code == 404
        r = rep.post("/api/ask", json={"question": "and by month?", "thread_id": first["thread_id"]})
        assert r.status_code == 404
        assert all(t["id"] != first["thread_id"] for t in rep.get("/api/threads").json())


def test_stream_sends_thread_status_and_reply_events(live):
    with client(live, "manager02@demo.crm") as c:
        with c.stream("POST", "/api/ask/stream", json={"question": "revenue by region last quarter"}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            events = parse_sse("".join(r.iter_text()))
    names = [e for e, _ in events]
    assert names[0] == "thread" and names[1] == "status" and names[-1] == "reply"
    reply = events[-1][1]
    assert reply["thread_id"] == events[0][1]["thread_id"] and reply["tables"]
    streamed = "".join(d["text"] for e, d in events if e == "token")
    assert streamed == "" or reply["answer"].startswith(streamed[:20])


def parse_sse(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_invalid_requests_get_clear_errors(live):
    with client(live, "manager02@demo.crm") as c:
        assert c.post("/api/ask", json={"question": ""}).status_code == 422
        bad_thread = c.post("/api/ask", json={"question": "hi", "thread_id": "../../etc"})
        assert bad_thread.status_code == 422 and bad_thread.json()["problems"][0]["field"] == "thread_id"
        unknown = c.post("/api/ask", json={"question": "monthly revenue", "thread_id": "f" * 32})
        assert unknown.status_code == 404
        pw = c.post("/api/login", json={"email": "x@y.z"})
        assert pw.status_code == 422 and PASSWORD not in pw.text


def test_proposed_write_runs_only_after_confirmation(live):
    pool = customers_by_owner(live.database_url)["pool"]
    claim, keep = pool[0], pool[1]
    with client(live, "rep01@demo.crm") as rep, client(live, "rep02@demo.crm") as other:
        reply = ask(rep, f"claim customer C{claim:06d}")
        assert owner_of(live, claim) is None  # proposed, not written
        [proposal] = reply["proposals"]
        assert proposal["tool"] == "assign_customer" and proposal["status"] == "pending"
        assert other.post(proposal["confirm_url"]).status_code == 404  # not theirs to confirm
        done = rep.post(proposal["confirm_url"])
        assert done.status_code == 200 and done.json()["status"] == "done"
        assert owner_of(live, claim) is not None
        assert rep.post(proposal["confirm_url"]).status_code == 409  # a second press does nothing
        detail = rep.get(f"/api/threads/{reply['thread_id']}").json()
        assert detail["messages"][0]["reply"]["proposals"][0]["status"] == "done"

        second = ask(rep, f"claim customer C{keep:06d}")["proposals"][0]
        assert rep.post(second["cancel_url"]).json()["status"] == "cancelled"
        assert rep.post(second["confirm_url"]).status_code == 409
        assert owner_of(live, keep) is None


def owner_of(live, customer_id: int) -> int | None:
    with engine_for(live.database_url).connect() as conn:
        return conn.execute(Customer.__table__.select().where(Customer.id == customer_id)).one().owner_id


def test_customer_page_and_json_respect_scope(live):
    ids = customers_by_owner(live.database_url)
    with client(live, "rep01@demo.crm") as rep:
        own = rep.get(f"/customers/{ids['rep01'][0]}")
        assert own.status_code == 200 and 'id="customer-name"' in own.text and "Lifetime spend" in own.text
        profile = rep.get(f"/api/customers/{ids['rep01'][0]}").json()
        assert profile["customer"]["id"] == ids["rep01"][0]
        hidden, missing = rep.get(f"/customers/{ids['other'][0]}"), rep.get("/customers/987654")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.text == missing.text  # the page does not confirm the customer exists
        assert rep.get(f"/api/customers/{ids['other'][0]}").json() == rep.get("/api/customers/987654").json()
    with client(live) as anonymous:
        r = anonymous.get(f"/customers/{ids['rep01'][0]}")
        assert r.status_code == 303 and r.headers["location"] == f"/?next=/customers/{ids['rep01'][0]}"


def test_changing_the_password_ends_sessions(live):
    from sqlmodel import Session, select

    from storage.models import StaffUser
    from storage.passwords import hash_password

    with client(live, "support02@demo.crm") as c:
        assert c.get("/api/me").status_code == 200
        with Session(engine_for(live.database_url)) as session:
            user = session.exec(select(StaffUser).where(StaffUser.email == "support02@demo.crm")).one()
            user.password_hash = hash_password(PASSWORD)  # same password, new salt: a new hash
            session.add(user)
            session.commit()
        assert c.get("/api/me").status_code == 401


def test_cross_origin_posts_with_the_cookie_are_refused(live):
    with client(live, "manager02@demo.crm") as c:
        r = c.post("/api/ask", json={"question": "monthly revenue this year"}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403


@pytest.fixture
def llm(monkeypatch):
    """The assistant pointed at the scripted local OpenAI-protocol server of the assistant tests (no key, no network)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assistant"))
    from openai_server import ScriptedOpenAIServer

    from assistant import get_settings
    from assistant.agent import reset
    from assistant.model_factory import clear_cache

    with ScriptedOpenAIServer() as server:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.setenv("CRM_MODEL", "openai:gpt-4o-mini")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("CRM_LLM_TIMEOUT", "10")
        get_settings.cache_clear()
        clear_cache()
        reset()
        yield server
    monkeypatch.undo()
    get_settings.cache_clear()
    clear_cache()
    reset()


def test_llm_answers_stream_token_by_token(live, llm):
    text = "Your pipeline looks healthy this week; the biggest deals are in negotiation."
    llm.add({"content": text})
    with client(live, "manager02@demo.crm") as c:
        with c.stream("POST", "/api/ask/stream", json={"question": "how is my pipeline?"}) as r:
            events = parse_sse("".join(r.iter_text()))
    tokens = [d["text"] for e, d in events if e == "token"]
    assert len(tokens) > 5 and "".join(tokens) == text  # the server's small deltas, relayed as they came
    assert events[-1][0] == "reply" and events[-1][1]["answer"] == text
    assert events[-1][1]["model"].startswith("openai:gpt-4o-mini")
    assert llm.requests[0]["stream"] is True
