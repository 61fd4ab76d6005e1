"""The web chat's records on SQLite and PostgreSQL: threads per user, chart grants, proposed-write states."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from integrations.web.store import WebStore, title_of
from storage.db import engine_for
from storage.models import StaffUser, utcnow


def two_users(url: str) -> tuple[int, int]:
    with Session(engine_for(url)) as session:
        a, b = StaffUser(name="A", email="a@x.co"), StaffUser(name="B", email="b@x.co")
        session.add_all([a, b])
        session.commit()
        return a.id, b.id


def test_threads_belong_to_their_user(database_url):
    a, b = two_users(database_url)
    store = WebStore(engine_for(database_url))
    thread = store.open_thread(user_id=a, thread_id=None, question="  monthly\nrevenue   this year ")
    assert thread.title == "monthly revenue this year" and len(thread.id) == 32
    store.add_message(thread_id=thread.id, question="monthly revenue this year", reply={"answer": "x", "tables": []})
    store.add_message(thread_id=thread.id, question="and by region?", reply={"answer": "y"})
    other = store.open_thread(user_id=a, thread_id=None, question="second")

    listed = store.threads(user_id=a)
    assert [t.id for t in listed] == [other.id, thread.id] and [t.messages for t in listed] == [0, 2]
    assert store.threads(user_id=b) == []
    assert store.open_thread(user_id=b, thread_id=thread.id, question="hijack") is None
    assert store.thread(user_id=b, thread_id=thread.id) is None
    _, messages = store.thread(user_id=a, thread_id=thread.id)
    assert [m.reply["answer"] for m in messages] == ["x", "y"]


def test_chart_grants_and_write_states(database_url):
    a, b = two_users(database_url)
    store = WebStore(engine_for(database_url), write_ttl_hours=1)
    store.grant_charts(user_id=a, names=["chart-1", "chart-1", "chart-2"])
    store.grant_charts(user_id=a, names=["chart-1"])  # granting again is harmless
    assert store.may_see_chart(user_id=a, name="chart-1") and not store.may_see_chart(user_id=b, name="chart-1")

    write = store.propose(user_id=a, thread_id=None, tool="assign_customer",
                          arguments={"customer": 7, "action": "claim"}, summary="Would be…", language="zh")
    assert store.get_write(user_id=b, write_id=write.id) is None
    assert store.get_write(user_id=a, write_id=write.id).arguments == {"customer": 7, "action": "claim"}
    assert not store.move(write.id, user_id=b, from_status="pending", to_status="running")
    assert store.move(write.id, user_id=a, from_status="pending", to_status="running")
    assert not store.move(write.id, user_id=a, from_status="pending", to_status="running")  # a double click
    assert store.move(write.id, user_id=a, from_status="running", to_status="done", outcome="claimed")
    done = store.get_write(user_id=a, write_id=write.id)
    assert done.status == "done" and done.outcome == "claimed" and done.decided_at is not None
    assert not store.expired(done) and store.expired(done, now=utcnow() + timedelta(hours=2))


def test_long_titles_are_shortened():
    assert len(title_of("x" * 500)) == 80 and title_of("x" * 500).endswith("…")
