"""The Slack app over HTTP: signed requests to /slack/events on a real uvicorn server, Web API calls to a fake Slack.

One small demo CRM (300 customers, today 2026-11-22) and one server per module; the
assistant is the real one (offline router) unless a test scripts a model. Each test
uses its own channel or thread, so the recorded calls of one never satisfy another.
"""

from __future__ import annotations

import time

import pytest
from fake_slack import FakeSlack
from fastapi import FastAPI
from slack_harness import (
    BOT_TOKEN,
    NOW,
    SIGNING_SECRET,
    ServerThread,
    SlackSender,
    all_text,
    build_demo_db,
    direct_message,
    mention,
)

from integrations.slack import SlackSettings, mount_slack

# The module builds a demo CRM and warms the offline router once (20-40 s on a loaded 2-core machine);
# after that each test takes about a second.
pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
USERS = {
    "U0ALIAS": {"id": "U0ALIAS", "profile": {"email": "REP02@demo.crm"}},
    "U0STRANGER": {"id": "U0STRANGER", "profile": {"email": "stranger@example.com"}},
}


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    return build_demo_db(tmp_path_factory.mktemp("slack_http_db"))


@pytest.fixture(scope="module")
def fake():
    with FakeSlack(users=USERS) as server:
        yield server


@pytest.fixture(scope="module")
def state_path(tmp_path_factory):
    return tmp_path_factory.mktemp("slack_state") / "state.sqlite3"


@pytest.fixture(scope="module")
def slack(demo_url, fake, state_path):
    settings = SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.url)
    app = FastAPI()
    assert mount_slack(app, settings=settings, database_url=demo_url, clock=lambda: NOW,
                       state_path=state_path)
    _warm_up(demo_url)
    with ServerThread(app) as server:
        sender = SlackSender(server.url)
        yield sender
        sender.close()


def _warm_up(demo_url: str) -> None:
    """One answer before the first test, so no test's timing includes loading the analytics stack."""
    from assistant import respond
    from tools import ToolContext

    respond("revenue this year", context=ToolContext.for_email("rep01@demo.crm", now=NOW, database_url=demo_url),
            render_charts=False)


def test_mention_is_acked_fast_answered_in_the_thread_with_blocks_and_a_chart(slack, fake):
    response, ack_ms = slack.event(mention(user="U0REP01", text="revenue by region this year", ts="1790000001.000100",
                                           channel="C0MENTION"))
    assert response.status_code == 200
    assert ack_ms < 3000, f"ack took {ack_ms:.0f} ms"

    placeholder = fake.wait_for("chat.postMessage", channel="C0MENTION", timeout=90)[0]
    assert placeholder.args["thread_ts"] == "1790000001.000100"
    assert "Thinking" in placeholder.args["text"]
    assert placeholder.token == BOT_TOKEN
    update = fake.wait_for("chat.update", channel="C0MENTION", timeout=90)[0].args
    assert update["ts"] == placeholder.result["ts"]
    blocks = update["blocks"]
    text = all_text(blocks)
    assert blocks[0]["type"] == "section" and "Revenue" in blocks[0]["text"]["text"]
    assert "North China" in text  # the table, as fields or a preformatted block
    assert any(b["type"] == "context" and "offline" in all_text([b]) for b in blocks)

    complete = fake.wait_for("files.completeUploadExternal", channel_id="C0MENTION", timeout=30)[0].args
    assert complete["thread_ts"] == "1790000001.000100"
    upload = fake.wait_for("upload", timeout=10)[-1].args
    assert fake.uploads[upload["file_id"]].startswith(PNG_MAGIC)


def test_thread_follow_up_keeps_the_conversation(slack, fake):
    parent = "1790000002.000100"
    slack.event(mention(user="U0REP01", text="revenue by region this year", ts=parent, channel="C0THREAD"))
    fake.wait_for("chat.update", channel="C0THREAD", timeout=90)
    slack.event(mention(user="U0REP01", text="and last quarter?", ts="1790000002.000200", thread_ts=parent,
                        channel="C0THREAD"))
    updates = fake.wait_for("chat.update", channel="C0THREAD", count=2, timeout=90)
    follow_up = all_text(updates[1].args["blocks"])
    assert "2026-07-01" in follow_up and "2026-09-30" in follow_up, follow_up
    placeholders = fake.of("chat.postMessage", channel="C0THREAD")
    assert {p.args["thread_ts"] for p in placeholders} == {parent}


def test_direct_message_shows_the_assistant_status_and_answers_in_the_thread(slack, fake):
    response, ack_ms = slack.event(direct_message(user="U0REP01", text="top 5 customers by revenue this year",
                                                  channel="D0DM01", ts="1790000003.000100"))
    assert response.status_code == 200 and ack_ms < 3000

    status = fake.wait_for("assistant.threads.setStatus", channel_id="D0DM01", timeout=30)[0].args
    assert status["thread_ts"] == "1790000003.000100" and status["status"]
    answer = fake.wait_for("chat.postMessage", channel="D0DM01", timeout=90)[0].args
    assert answer["thread_ts"] == "1790000003.000100"
    assert "Revenue" in all_text(answer["blocks"])
    assert not fake.of("chat.update", channel="D0DM01")


def test_slash_command_posts_the_question_and_answers_in_its_thread(slack, fake):
    response, ack_ms = slack.command(user="U0REP01", channel="C0COMMAND", text="revenue by region last quarter",
                                     response_url=fake.response_url("slash"))
    assert response.status_code == 200 and ack_ms < 3000

    parent = fake.wait_for("chat.postMessage", channel="C0COMMAND", timeout=30)[0]
    assert "revenue by region last quarter" in parent.args["text"] and "<@U0REP01>" in parent.args["text"]
    placeholder = fake.wait_for("chat.postMessage", channel="C0COMMAND", count=2, timeout=30)[1]
    assert placeholder.args["thread_ts"] == parent.result["ts"]
    update = fake.wait_for("chat.update", channel="C0COMMAND", timeout=90)[0].args
    assert "2026-07-01" in all_text(update["blocks"])


def test_slash_command_help_is_answered_in_the_ack(slack, fake):
    response, _ = slack.command(user="U0REP01", channel="C0HELP", text="help", response_url=fake.response_url("help"))
    assert response.status_code == 200
    assert "/crm" in response.json()["text"] and response.json()["response_type"] == "ephemeral"
    assert not fake.of("chat.postMessage", channel="C0HELP")


@pytest.mark.parametrize("case", ["bad_signature", "stale_timestamp", "unsigned"])
def test_requests_not_from_slack_are_refused_with_401(slack, fake, case):
    channel = f"C0{case.upper()}"
    kwargs = {
        "bad_signature": {"signature": "v0=" + "0" * 64},
        "stale_timestamp": {"timestamp": int(time.time()) - 10 * 60},
        "unsigned": {"signature": "", "headers": {"X-Slack-Signature": ""}},
    }[case]
    response, _ = slack.event(mention(user="U0REP01", text="revenue this year", ts="1790000004.000100",
                                      channel=channel), **kwargs)
    assert response.status_code == 401
    time.sleep(0.3)
    assert not [c for c in fake.calls if channel in (c.args.get("channel"), c.args.get("channel_id"))]


def test_a_retried_event_gets_no_second_reply(slack, fake, state_path):
    event = mention(user="U0REP01", text="revenue this year", ts="1790000005.000100", channel="C0RETRY")
    first, _ = slack.event(event, event_id="EvRETRY1")
    retry, _ = slack.event(event, event_id="EvRETRY1", headers={"X-Slack-Retry-Num": "1",
                                                                 "X-Slack-Retry-Reason": "http_timeout"})
    assert first.status_code == 200 and retry.status_code == 200
    fake.wait_for("chat.update", channel="C0RETRY", timeout=90)
    late, _ = slack.event(event, event_id="EvRETRY1", headers={"X-Slack-Retry-Num": "2",
                                                                "X-Slack-Retry-Reason": "http_error"})
    assert late.status_code == 200
    time.sleep(1.0)
    assert len(fake.of("chat.postMessage", channel="C0RETRY")) == 1
    assert len(fake.of("chat.update", channel="C0RETRY")) == 1

    # The handled id is on disk, so a restarted app would not answer a late retry either.
    from integrations.slack.store import SlackStore

    assert SlackStore(state_path).claim_event("EvRETRY1") is False


def test_an_unmapped_user_gets_a_polite_refusal_and_no_data(slack, fake):
    slack.event(mention(user="U0STRANGER", text="top 5 customers by revenue this year", ts="1790000006.000100",
                        channel="C0UNMAPPED"))
    refusal = fake.wait_for("chat.postEphemeral", channel="C0UNMAPPED", timeout=30)[0].args
    assert refusal["user"] == "U0STRANGER" and "not linked" in refusal["text"]
    assert fake.of("users.info", user="U0STRANGER")
    time.sleep(0.5)
    assert not fake.of("chat.postMessage", channel="C0UNMAPPED") and not fake.of("chat.update", channel="C0UNMAPPED")
    assert not any(ch.isdigit() for ch in refusal["text"])

    slack.event(direct_message(user="U0NOBODY", text="我的客户", channel="D0NOBODY", ts="1790000006.000200"))
    dm = fake.wait_for("chat.postMessage", channel="D0NOBODY", timeout=30)[0].args
    assert "CRM" in dm["text"] and "blocks" not in dm
    assert not fake.of("assistant.threads.setStatus", channel_id="D0NOBODY")


def test_a_user_is_mapped_by_email_when_the_slack_id_is_unknown(slack, fake):
    slack.event(mention(user="U0ALIAS", text="my top customers", ts="1790000007.000100", channel="C0ALIAS"))
    update = fake.wait_for("chat.update", channel="C0ALIAS", timeout=90)[0].args
    assert "张伟" in all_text(update["blocks"])  # rep02, found through users.info's email


def test_follow_up_button_asks_the_next_question_in_the_same_thread(slack, fake):
    parent = "1790000008.000100"
    slack.event(mention(user="U0REP01", text="my top customers", ts=parent, channel="C0FOLLOW"))
    placeholder = fake.wait_for("chat.postMessage", channel="C0FOLLOW", timeout=90)[0]
    update = fake.wait_for("chat.update", channel="C0FOLLOW", timeout=90)[0].args
    actions = next(b for b in update["blocks"] if b.get("block_id") == "crm_followup")
    button = actions["elements"][0]
    assert button["value"].startswith("profile of C")

    message = {"ts": placeholder.result["ts"], "thread_ts": parent, "text": update["text"], "blocks": update["blocks"]}
    response, ack_ms = slack.click(user="U0REP01", channel="C0FOLLOW", message=message,
                                   action={"action_id": button["action_id"], "block_id": "crm_followup",
                                           "value": button["value"], "text": button["text"]})
    assert response.status_code == 200 and ack_ms < 3000
    updates = fake.wait_for("chat.update", channel="C0FOLLOW", count=2, timeout=90)
    text = all_text(updates[1].args["blocks"])
    assert "<@U0REP01>" in text and button["value"] in text and "owner" in text
    assert {p.args.get("thread_ts") for p in fake.of("chat.postMessage", channel="C0FOLLOW")} == {parent}


def _count(demo_url: str, sql: str) -> int:
    from sqlalchemy import text

    from storage.db import engine_for

    with engine_for(demo_url).connect() as conn:
        return conn.execute(text(sql)).scalar()


def _proposal(fake: FakeSlack, *, channel: str, parent: str) -> tuple[dict, dict]:
    """The answer message carrying a proposal (as a click payload sees it) and its actions block."""
    placeholder = fake.wait_for("chat.postMessage", channel=channel, timeout=60)[0]
    update = fake.wait_for("chat.update", channel=channel, timeout=60)[0].args
    buttons = next(b for b in update["blocks"] if b["type"] == "actions" and b["block_id"].startswith("crm_write:"))
    message = {"ts": placeholder.result["ts"], "thread_ts": parent, "text": update["text"], "blocks": update["blocks"]}
    return message, buttons


def _action(buttons: dict, action_id: str) -> dict:
    button = next(e for e in buttons["elements"] if e["action_id"] == action_id)
    return {"action_id": action_id, "block_id": buttons["block_id"], "value": button["value"], "text": button["text"]}


def test_a_proposed_write_runs_only_when_the_asker_confirms(slack, fake, demo_url):
    def notes() -> int:
        return _count(demo_url, "SELECT count(*) FROM interaction WHERE body = 'wants a demo next week'")

    parent = "1790000009.000100"
    slack.event(mention(user="U0REP01", text="log a call with C000005: wants a demo next week", ts=parent,
                        channel="C0WRITE"))
    message, buttons = _proposal(fake, channel="C0WRITE", parent=parent)
    assert notes() == 0, "the assistant's write must stay a preview until Confirm"
    assert "wants a demo next week" in all_text(message["blocks"])
    confirm = _action(buttons, "crm_write_confirm")

    slack.click(user="U0REP02", channel="C0WRITE", message=message, action=confirm)
    notice = fake.wait_for("chat.postEphemeral", channel="C0WRITE", user="U0REP02", timeout=30)[0].args
    assert "Only <@U0REP01>" in notice["text"] and notes() == 0

    response, ack_ms = slack.click(user="U0REP01", channel="C0WRITE", message=message, action=confirm)
    assert response.status_code == 200 and ack_ms < 3000
    done = fake.wait_for("chat.update", channel="C0WRITE", count=2, timeout=30)[1].args
    assert done["ts"] == message["ts"]
    outcome = all_text(done["blocks"])
    assert "Done" in outcome and "<@U0REP01>" in outcome
    assert not any(b.get("block_id") == buttons["block_id"] for b in done["blocks"]), "the buttons are gone"
    assert notes() == 1

    slack.click(user="U0REP01", channel="C0WRITE", message=message, action=confirm)
    again = fake.wait_for("chat.postEphemeral", channel="C0WRITE", user="U0REP01", timeout=30)[0].args
    assert "already handled" in again["text"] and notes() == 1


def test_a_cancelled_write_changes_nothing(slack, fake, demo_url):
    pool = _count(demo_url, "SELECT min(external_id) FROM customer WHERE owner_id IS NULL")
    owner_sql = f"SELECT count(*) FROM customer WHERE external_id = '{pool}' AND owner_id IS NULL"
    parent = "1790000010.000100"
    slack.event(mention(user="U0REP01", text=f"claim {pool}", ts=parent, channel="C0CANCEL"))
    message, buttons = _proposal(fake, channel="C0CANCEL", parent=parent)
    assert _count(demo_url, owner_sql) == 1

    slack.click(user="U0REP01", channel="C0CANCEL", message=message, action=_action(buttons, "crm_write_cancel"))
    cancelled = fake.wait_for("chat.update", channel="C0CANCEL", count=2, timeout=30)[1].args
    assert "Cancelled" in all_text(cancelled["blocks"])
    slack.click(user="U0REP01", channel="C0CANCEL", message=message, action=_action(buttons, "crm_write_confirm"))
    fake.wait_for("chat.postEphemeral", channel="C0CANCEL", user="U0REP01", timeout=30)
    assert _count(demo_url, owner_sql) == 1, "a cancelled proposal cannot be confirmed afterwards"
