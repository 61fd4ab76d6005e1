"""Bad input to the JSON API of a live server: a 4xx status with a JSON ``detail`` (or a normal answer
for an odd but valid question), never a 500 or a stack trace, nothing in the server log at ERROR, and
the CRM data unchanged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from _robust_data import data_counts

SQL = "'; DROP TABLE customer; --"
_UNSET = object()


@dataclass(frozen=True)
class Req:
    id: str
    method: str
    path: str
    status: tuple[int, ...]
    body: Any = _UNSET  # sent as JSON
    raw: bytes | None = None  # sent as is, with the content type below
    content_type: str = "application/json"
    auth: str = "bearer"  # bearer | none | bad-bearer | long-bearer | bad-cookie | forged-cookie
    says: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def ask(id: str, body: Any = _UNSET, *, status: tuple[int, ...] = (422,), says: str = "", **kw) -> Req:
    return Req(id, "POST", "/api/ask", status, body=body, says=says, **kw)


REQUESTS = [
    # malformed or mistyped JSON
    ask("json-malformed", raw=b'{"question": "revenue'),
    ask("json-trailing-comma", raw=b'{"question": "revenue",}'),
    ask("json-array", []),
    ask("json-string", "revenue this year"),
    ask("json-null", None),
    ask("json-number", 42),
    ask("body-empty", raw=b""),
    ask("body-not-utf8", raw=b'{"question": "revenue \xff\xfe"}', status=(400, 422)),
    ask("body-deeply-nested", raw=b"[" * 50_000 + b"]" * 50_000, status=(422, 400)),
    ask("content-type-text", raw=b'{"question": "hi"}', content_type="text/plain", status=(422, 415)),
    ask("content-type-form", raw=b"question=hi", content_type="application/x-www-form-urlencoded", status=(422, 415)),
    ask("question-missing", {}),
    ask("question-int", {"question": 5}),
    ask("question-list", {"question": ["revenue", "this", "year"]}),
    ask("question-object", {"question": {"$where": "1==1"}}),
    ask("question-null", {"question": None}),
    ask("question-bool", {"question": True}),
    ask("question-empty", {"question": ""}),
    ask("question-whitespace", {"question": " \t\n  "}, says="empty"),
    ask("question-only-nul", {"question": "\u0000\u0000"}, says="empty"),
    ask("question-only-controls", {"question": "\u0001\u001b\u007f\u0085"}, says="empty"),
    ask("question-100k", {"question": "revenue " * 12_500}, says="at most 4000"),
    ask("body-1mb", {"question": "x" * 1_000_000}, status=(413,), says="too large"),
    ask("body-1mb-padding", {"question": "hi", "padding": "y" * 1_048_576}, status=(413,), says="too large"),
    ask("thread-id-path", {"question": "hi", "thread_id": "../../etc/passwd"}),
    ask("thread-id-int", {"question": "hi", "thread_id": 7}),
    ask("thread-id-sql", {"question": "hi", "thread_id": SQL}),
    ask("thread-id-unknown", {"question": "hi", "thread_id": "0" * 32}, status=(404,), says="no such conversation"),
    # odd but valid questions: answered (200), nothing written
    ask("sql", {"question": SQL}, status=(200,)),
    ask("sql-union", {"question": "x' UNION SELECT password_hash FROM staff_user --"}, status=(200,)),
    ask("nul-inside", {"question": "revenue\u0000 this year"}, status=(200,)),
    ask("controls-inside", {"question": "\u001b[31mrevenue\u0007 this year"}, status=(200,)),
    ask("lone-surrogate", {"question": "revenue \ud800 this year"}, status=(200, 422)),
    ask("emoji-rtl", {"question": "\u202e\u0643\u0645 \u0627\u0644\u0625\u064a\u0631\u0627\u062f\u0627\u062a 😀🔥"},
        status=(200,)),
    ask("html-script", {"question": "<script>alert(1)</script> revenue"}, status=(200,)),
    ask("huge-top-n", {"question": "top 99999999999999999999 customers by revenue"}, status=(200,)),
    ask("negative-top-n", {"question": "top -3 customers by revenue"}, status=(200,)),
    ask("feb-30", {"question": "revenue on 2026-02-30"}, status=(200,)),
    ask("max-length", {"question": "revenue " * 499 + "year"}, status=(200,)),
    ask("extra-fields", {"question": "hello", "role": "admin", "user_id": 1}, status=(200,)),
    ask("write-by-support", {"question": "release customer C000001 to the pool"}, status=(200,),
        auth="bearer-support"),
    Req("stream-malformed", "POST", "/api/ask/stream", (422,), raw=b"{nope"),
    Req("stream-empty", "POST", "/api/ask/stream", (422,), body={"question": "   "}),
    Req("stream-100k", "POST", "/api/ask/stream", (422,), body={"question": "x" * 100_000}),
    # unknown users, bad sessions
    ask("no-session", {"question": "hi"}, status=(401,), auth="none"),
    ask("bad-bearer", {"question": "hi"}, status=(401,), auth="bad-bearer"),
    ask("long-bearer", {"question": "hi"}, status=(401,), auth="long-bearer"),
    ask("bad-cookie", {"question": "hi"}, status=(401,), auth="bad-cookie"),
    ask("forged-cookie", {"question": "hi"}, status=(401,), auth="forged-cookie"),
    Req("me-no-session", "GET", "/api/me", (401,), auth="none"),
    Req("login-malformed", "POST", "/api/login", (422,), raw=b"{email", auth="none"),
    Req("login-missing-password", "POST", "/api/login", (422,), body={"email": "rep01@demo.crm"}, auth="none"),
    Req("login-email-100k", "POST", "/api/login", (422,), body={"email": "a" * 100_000, "password": "x"}, auth="none"),
    Req("login-sql", "POST", "/api/login", (401,), body={"email": f"admin@demo.crm{SQL}", "password": "' OR '1'='1"},
        auth="none"),
    Req("login-unknown-user", "POST", "/api/login", (401,), body={"email": "nobody@x", "password": "whatever"},
        auth="none", says="wrong email or password"),
    Req("login-types", "POST", "/api/login", (422,), body={"email": ["a"], "password": {"b": 1}}, auth="none"),
    # paths: traversal, junk ids, overflow
    Req("chart-traversal", "GET", "/charts/..%2F..%2Fcrm.sqlite3.png", (404,)),
    Req("chart-dot-dot", "GET", "/charts/%2e%2e%2fsecret.png", (404,)),
    Req("chart-long-name", "GET", "/charts/" + "a" * 300 + ".png", (404,)),
    Req("chart-not-mine", "GET", "/charts/chart-0123456789abcdef.png", (404,)),
    Req("thread-junk", "GET", "/api/threads/ZZZ", (422,)),
    Req("thread-traversal", "GET", "/api/threads/..%2F..%2Fetc", (404, 422)),
    Req("customer-text-id", "GET", "/api/customers/abc", (422,)),
    Req("customer-negative", "GET", "/api/customers/-1", (404,)),
    Req("customer-overflow", "GET", "/api/customers/99999999999999999999999", (400, 404, 422)),
    Req("write-unknown", "POST", "/api/writes/" + "0" * 32 + "/confirm", (404,)),
    Req("write-junk-id", "POST", "/api/writes/..%2Fx/confirm", (404, 422)),
]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    from _web_live import build_demo, start

    home = tmp_path_factory.mktemp("bad_web")
    server = start(build_demo(home, customers=50), home)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tokens(web) -> dict[str, str]:
    from _web_live import PASSWORD

    out = {}
    with httpx.Client(base_url=web.url) as c:
        for role, email in (("rep", "rep01@demo.crm"), ("support", "support01@demo.crm")):
            out[role] = c.post("/api/login", json={"email": email, "password": PASSWORD}).json()["token"]
    return out


def _auth(req: Req, tokens: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    headers, cookies = {}, {}
    if req.auth == "bearer":
        headers["Authorization"] = f"Bearer {tokens['rep']}"
    elif req.auth == "bearer-support":
        headers["Authorization"] = f"Bearer {tokens['support']}"
    elif req.auth == "bad-bearer":
        headers["Authorization"] = "Bearer not-a-real-token"
    elif req.auth == "long-bearer":
        headers["Authorization"] = "Bearer " + "A" * 8000
    elif req.auth == "bad-cookie":
        cookies["crm_session"] = "garbage;; \\x00"
    elif req.auth == "forged-cookie":
        # A well-formed token for user 1 (the admin), signed with the wrong key.
        from itsdangerous import URLSafeTimedSerializer

        cookies["crm_session"] = URLSafeTimedSerializer("x" * 40, salt="crm-web-session").dumps({"u": 1, "f": "x"})
    return headers, cookies


@pytest.mark.parametrize("req", REQUESTS, ids=[r.id for r in REQUESTS])
def test_bad_api_request_gets_a_clear_status_and_changes_nothing(req, web, tokens, monkeypatch, caplog):
    monkeypatch.setenv("CRM_RATE_LIMIT_PER_MINUTE", "0")  # this table asks faster than any person would
    before = data_counts(web.database_url)
    headers, cookies = _auth(req, tokens)
    headers.update(req.headers)
    content = req.raw if req.raw is not None else (json.dumps(req.body).encode() if req.body is not _UNSET else None)
    if content is not None:
        headers["Content-Type"] = req.content_type
    with caplog.at_level(logging.WARNING), httpx.Client(base_url=web.url, timeout=120, cookies=cookies) as c:
        r = c.request(req.method, req.path, content=content, headers=headers)
    assert r.status_code in req.status, f"{r.status_code}: {r.text[:500]}"
    assert "Traceback" not in r.text and "Internal Server Error" not in r.text
    if r.status_code >= 400 and req.path.startswith("/api/"):
        detail = r.json()["detail"]
        assert detail and isinstance(detail, str | list)
        assert len(r.content) < 5000, "errors must not echo a huge input back"
    assert req.says.lower() in r.text.lower(), r.text[:500]
    if r.status_code == 200 and req.path.startswith("/api/ask"):
        assert r.json()["answer"].strip()
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert not errors, [rec.getMessage() for rec in errors]
    assert data_counts(web.database_url) == before


def test_case_table_is_large_enough():
    assert len(REQUESTS) >= 60 and len({r.id for r in REQUESTS}) == len(REQUESTS)
