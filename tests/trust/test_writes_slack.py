"""Confirm then Undo in Slack: signed clicks to a real uvicorn server, Web API calls to the fake Slack.

One small demo CRM (today 2026-11-22) and one server per module, as in
tests/integrations/test_slack_http.py; the assistant is the real offline router. Each test
uses its own channel and public-pool customer.
"""

from __future__ import annotations

import threading

import pytest
from _writes_data import owner_of, pool_history, use_integration_helpers, write_audits

use_integration_helpers()
from fake_slack import FakeSlack  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from slack_harness import (  # noqa: E402
    BOT_TOKEN,
    NOW,
    SIGNING_SECRET,
    ServerThread,
    SlackSender,
    all_text,
    build_demo_db,
    mention,
)

from integrations.slack import SlackSettings, mount_slack  # noqa: E402
from tools import ToolContext, get_tool  # noqa: E402

pytestmark = pytest.mark.slow
REP01 = "U0REP01"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    return build_demo_db(tmp_path_factory.mktemp("writes_slack_db"))


@pytest.fixture(scope="module")
def fake():
    with FakeSlack() as server:
        yield server


@pytest.fixture(scope="module")
def slack(demo_url, fake, tmp_path_factory):
    settings = SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.url)
    app = FastAPI()
    assert mount_slack(app, settings=settings, database_url=demo_url, clock=lambda: NOW,
                       state_path=tmp_path_factory.mktemp("writes_slack_state") / "state.sqlite3")
    with ServerThread(app) as server:
        sender = SlackSender(server.url)
        yield sender
        sender.close()


@pytest.fixture(scope="module")
def pool(demo_url):
    from sqlalchemy import text

    from storage.db import engine_for

    with engine_for(demo_url).connect() as conn:
        rows = conn.execute(text("SELECT id, external_id FROM customer WHERE owner_id IS NULL ORDER BY id")).all()
    return iter(rows)


def message_with_button(fake: FakeSlack, *, channel: str, parent: str, update: int, label: str) -> tuple[dict, dict]:
    """The answer message as the ``update``-th chat.update left it, and the action of its ``label`` button."""
    placeholder = fake.wait_for("chat.postMessage", channel=channel, timeout=90)[0]
    args = fake.wait_for("chat.update", channel=channel, count=update, timeout=90)[update - 1].args
    message = {"ts": placeholder.result["ts"], "thread_ts": parent, "text": args["text"], "blocks": args["blocks"]}
    for block in args["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element.get("text", {}).get("text") == label:
                action = {"action_id": element["action_id"], "block_id": block["block_id"], "value": element["value"],
                          "text": element["text"]}
                return message, action
    raise AssertionError(f"no {label!r} button in {all_text(args['blocks'])}")


def claim_and_confirm(slack: SlackSender, fake: FakeSlack, *, channel: str, external_id: str) -> tuple[dict, dict]:
    """Ask to claim, press Confirm; returns the updated message and its Undo action."""
    parent = f"179000{channel[-1]}000.000100"
    slack.event(mention(user=REP01, text=f"claim {external_id}", ts=parent, channel=channel))
    message, confirm = message_with_button(fake, channel=channel, parent=parent, update=1, label="Confirm")
    slack.click(user=REP01, channel=channel, message=message, action=confirm)
    done, undo = message_with_button(fake, channel=channel, parent=parent, update=2, label="Undo")
    assert "Done" in all_text(done["blocks"]) and "Undo: give" in all_text(done["blocks"])
    return done, undo


def rep_id(demo_url: str, email: str) -> int:
    return ToolContext.for_email(email, database_url=demo_url).user_id


def test_confirm_then_undo(slack, fake, demo_url, pool):
    customer, external_id = next(pool)
    before = len(pool_history(demo_url, customer))
    done, undo = claim_and_confirm(slack, fake, channel="C0UNDO1", external_id=external_id)
    assert owner_of(demo_url, customer) == rep_id(demo_url, "rep01@demo.crm")

    slack.click(user="U0REP02", channel="C0UNDO1", message=done, action=undo)  # not theirs
    notice = fake.wait_for("chat.postEphemeral", channel="C0UNDO1", user="U0REP02", timeout=30)[0].args
    assert "Only <@U0REP01>" in notice["text"] and owner_of(demo_url, customer) is not None

    slack.click(user=REP01, channel="C0UNDO1", message=done, action=undo)
    undone = fake.wait_for("chat.update", channel="C0UNDO1", count=3, timeout=30)[2].args
    text = all_text(undone["blocks"])
    assert "Undone (by <@U0REP01>)" in text and "released to the public pool" in text
    assert not any(b["type"] == "actions" for b in undone["blocks"] if b.get("block_id") == undo["block_id"])
    assert owner_of(demo_url, customer) is None
    claim, release = pool_history(demo_url, customer)[before:]
    assert release.reason == f"undo of pool history #{claim.id}"
    audits = [a for a in write_audits(demo_url) if f"customer:{customer}" in a.records]
    assert [(a.channel, a.outcome) for a in audits] == [("slack", "ok"), ("slack", "ok")]


def test_double_click_on_undo_runs_once(slack, fake, demo_url, pool):
    customer, external_id = next(pool)
    before = len(pool_history(demo_url, customer))
    done, undo = claim_and_confirm(slack, fake, channel="C0UNDO2", external_id=external_id)
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        slack.click(user=REP01, channel="C0UNDO2", message=done, action=undo)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    fake.wait_for("chat.postEphemeral", channel="C0UNDO2", user=REP01, timeout=30)  # "already handled"
    fake.wait_for("chat.update", channel="C0UNDO2", count=3, timeout=30)
    assert len(fake.of("chat.update", channel="C0UNDO2")) == 3
    assert owner_of(demo_url, customer) is None
    assert len(pool_history(demo_url, customer)) == before + 2


def test_undo_is_refused_after_someone_else_reassigned(slack, fake, demo_url, pool):
    customer, external_id = next(pool)
    done, undo = claim_and_confirm(slack, fake, channel="C0UNDO3", external_id=external_id)
    admin = ToolContext.for_email("admin@demo.crm", database_url=demo_url)
    get_tool("assign_customer")({"customer": customer, "action": "assign", "to": "rep02@demo.crm"}, ctx=admin)

    slack.click(user=REP01, channel="C0UNDO3", message=done, action=undo)
    refused = all_text(fake.wait_for("chat.update", channel="C0UNDO3", count=3, timeout=30)[2].args["blocks"])
    assert "Not undone" in refused and "owner changed since" in refused
    assert owner_of(demo_url, customer) == rep_id(demo_url, "rep02@demo.crm")
    last = [a for a in write_audits(demo_url) if f"customer:{customer}" in a.records][-1]
    assert last.outcome == "refused" and last.channel == "slack"
