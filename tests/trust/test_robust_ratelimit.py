"""Per-user rate limit: the sliding window itself, the web chat API (429) and Slack turns (a polite reply)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from _robust_data import RecordingAnswerer, slack_server, wait_for_text
from slack_harness import direct_message, mention

from assistant import RateLimiter, check_question
from assistant.settings import get_settings as assistant_settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limit(monkeypatch, per_minute: int) -> None:
    monkeypatch.setenv("CRM_RATE_LIMIT_PER_MINUTE", str(per_minute))
    assistant_settings.cache_clear()


def test_sliding_window_allows_the_limit_then_tells_how_long_to_wait():
    clock = FakeClock()
    limiter = RateLimiter(limit=3, clock=clock)
    for _ in range(3):  # questions at t=0, 10 and 20
        assert limiter.acquire("u1") == 0
        clock.now += 10
    assert limiter.acquire("u1") == 30  # t=30: the first question leaves the window at t=60
    assert limiter.acquire("u2") == 0  # per user
    clock.now += 30
    assert limiter.acquire("u1") == 0  # t=60: one slot freed, not the whole window
    assert limiter.acquire("u1") == 10  # the next frees at t=70
    clock.now += 61
    assert [limiter.acquire("u1") for _ in range(3)] == [0, 0, 0]


def test_refused_questions_do_not_extend_the_wait():
    clock = FakeClock()
    limiter = RateLimiter(limit=1, clock=clock)
    assert limiter.acquire("u") == 0
    for _ in range(50):
        clock.now += 1
        limiter.acquire("u")
    assert limiter.acquire("u") == 10  # still counted from the one question that went through


def test_limit_is_per_user_and_database_and_zero_disables(monkeypatch):
    _limit(monkeypatch, 2)
    assert [check_question(user_id=7, database_url="sqlite:///a") for _ in range(3)][:2] == [0, 0]
    assert check_question(user_id=7, database_url="sqlite:///a") > 0
    assert check_question(user_id=8, database_url="sqlite:///a") == 0
    assert check_question(user_id=7, database_url="sqlite:///b") == 0
    _limit(monkeypatch, 0)
    assert all(check_question(user_id=7, database_url="sqlite:///a") == 0 for _ in range(100))


def test_memory_stays_bounded_under_a_flood_of_users():
    clock = FakeClock()
    limiter = RateLimiter(limit=5, clock=clock)
    for i in range(25_000):
        limiter.acquire(("db", i))
    assert len(limiter._hits) <= 10_000


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    from _web_live import build_demo, start

    home = tmp_path_factory.mktemp("ratelimit_web")
    server = start(build_demo(home, customers=50), home)
    yield server
    server.stop()


@contextmanager
def _signed_in(web, email: str) -> Iterator[httpx.Client]:
    from _web_live import PASSWORD

    with httpx.Client(base_url=web.url, timeout=120) as client:
        assert client.post("/api/login", json={"email": email, "password": PASSWORD}).status_code == 200
        yield client


@pytest.mark.slow  # the first answer in a process loads the router (10-20 s on a busy machine)
def test_web_chat_answers_429_with_retry_after_past_the_limit(web, monkeypatch):
    _limit(monkeypatch, 2)
    with _signed_in(web, "rep01@demo.crm") as rep, _signed_in(web, "rep02@demo.crm") as other:
        for _ in range(2):
            assert rep.post("/api/ask", json={"question": "hello"}).status_code == 200
        limited = rep.post("/api/ask", json={"question": "hello"})
        streamed = rep.post("/api/ask/stream", json={"question": "hello"})
        threads_before = rep.get("/api/threads").json()
        assert other.post("/api/ask", json={"question": "hello"}).status_code == 200
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert "at most 2 a minute" in limited.json()["detail"]
    assert streamed.status_code == 429 and streamed.headers["content-type"].startswith("application/json")
    assert len(threads_before) == 2  # a refused question opens no conversation


def test_web_refusal_is_in_chinese_for_a_chinese_question(web, monkeypatch):
    _limit(monkeypatch, 1)
    with _signed_in(web, "rep03@demo.crm") as rep:
        assert rep.post("/api/ask", json={"question": "你好"}).status_code == 200
        limited = rep.post("/api/ask", json={"question": "你好"})
    assert limited.status_code == 429 and "每分钟最多 1 个问题" in limited.json()["detail"]


@pytest.fixture(scope="module")
def slack_db(tmp_path_factory):
    from _robust_data import build_demo

    return build_demo(tmp_path_factory.mktemp("ratelimit_slack"), customers=50)


def test_slack_turns_past_the_limit_get_a_polite_private_reply(slack_db, tmp_path, monkeypatch):
    _limit(monkeypatch, 2)
    answerer = RecordingAnswerer()
    with slack_server(slack_db, tmp_path / "state.sqlite3", answer=answerer) as (slack, fake):
        for i in range(3):
            response, _ = slack.event(direct_message(user="U0REP01", text=f"question {i}", channel="D0RATE",
                                                     ts=f"1790000100.00000{i}"))
            assert response.status_code == 200
        dm = wait_for_text(fake, "at most 2 a minute")
        slack.event(mention(user="U0REP01", text="one more", channel="C0RATE", ts="1790000200.000001"))
        ephemeral = fake.wait_for("chat.postEphemeral", channel="C0RATE", timeout=30)[0]
        slack.command(user="U0REP01", channel="C0RATE", text="and another", response_url=fake.response_url("rate"))
        by_url = fake.wait_for("response_url", _name="rate")[0]
        slack.event(direct_message(user="U0REP02", text="someone else", channel="D0OTHER", ts="1790000300.000001"))
        wait_for_text(fake, "answered: someone else")
    assert [q for q, _ in answerer.questions] == ["question 0", "question 1", "someone else"]
    assert dm.method == "chat.postMessage" and dm.args["channel"] == "D0RATE" and dm.args["thread_ts"]
    assert ephemeral.args["user"] == "U0REP01" and "Please try again in" in ephemeral.args["text"]
    assert "at most 2" in by_url.args["text"] and by_url.args["response_type"] == "ephemeral"
