"""The Slack edge's pure parts: settings, message text cleaning, Block Kit rendering, follow-ups, the manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant import Reply, ToolCallRecord
from integrations.slack import SlackConfigError, SlackSettings, get_settings
from integrations.slack.blocks import display_width, preformatted, reply_blocks, table_blocks, to_mrkdwn
from integrations.slack.followups import followups_for
from integrations.slack.store import SlackStore
from integrations.slack.turns import clean_text
from tools.results import Citation, Column, Table

MANIFEST = Path(__file__).resolve().parents[2] / "integrations" / "slack" / "manifest.yml"


@pytest.mark.parametrize(("name", "value"), [
    ("SLACK_BOT_TOKEN", "xoxb-your-bot-token"), ("SLACK_BOT_TOKEN", "xoxb-xxxx"), ("SLACK_BOT_TOKEN", "changeme"),
    ("SLACK_APP_TOKEN", "xapp-..."), ("SLACK_SIGNING_SECRET", "<signing-secret>"), ("SLACK_BOT_TOKEN", "xapp-1-wrong"),
])
def test_placeholder_or_misplaced_secrets_are_refused_at_start(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(SlackConfigError, match=name):
        get_settings()


def test_modes_say_which_variables_they_miss():
    settings = SlackSettings(bot_token="xoxb-1-real", _env_file=None)
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET"):
        settings.require_http()
    with pytest.raises(SlackConfigError, match="SLACK_APP_TOKEN"):
        settings.require_socket_mode()
    assert not settings.http_ready and SlackSettings(_env_file=None).api_url == "https://slack.com/api/"


def test_mount_slack_mounts_nothing_without_configuration():
    from fastapi import FastAPI

    from integrations.slack import mount_slack

    app = FastAPI()
    assert mount_slack(app, settings=SlackSettings(_env_file=None)) is False
    assert not [r for r in app.routes if getattr(r, "path", "") == "/slack/events"]


def test_clean_text_drops_the_bot_mention_and_unwraps_links_and_colleagues():
    raw = "<@U0BOT> assign C000005 to <@U0REP02> &amp; email <mailto:a@b.com|a@b.com> see <https://x.io/a|x> &lt;3"
    assert clean_text(raw, bot_user_id="U0BOT", names={"U0REP02": "张伟"}) == (
        "assign C000005 to 张伟 & email a@b.com see x <3")
    assert clean_text("<@U0OTHER> hi", bot_user_id="U0BOT") == "<@U0OTHER> hi"


def test_markdown_becomes_mrkdwn():
    assert to_mrkdwn("**Top** [page](https://a.b/c)\n## Title") == "*Top* <https://a.b/c|page>\n*Title*"


def test_preformatted_table_aligns_cjk_as_two_cells():
    text = preformatted(["Name", "Spend"], [["潘燕敏", "1.00"], ["Bo", "22.00"]])
    header, rule, first, second = text.splitlines()
    assert display_width("潘燕敏") == 6
    # The second column starts at the same screen column on every line: 6 cells of name, then 2 spaces.
    starts = [display_width(line[: line.index(value)]) for line, value in
              ((header, "Spend"), (first, "1.00"), (second, "22.00"))]
    assert starts == [8, 8, 8] and rule == "------  -----"


def _table(columns: int, rows: int) -> Table:
    cols = [Column(key=f"c{i}", label=f"Col {i}", label_zh=f"列{i}", kind="money" if i else "text") for i in range(columns)]
    return Table(columns=cols, rows=[[f"r{r}", *[float(r * 1000 + i) for i in range(1, columns)]] for r in range(rows)],
                 total_rows=rows + 5)


def test_two_column_tables_become_fields_and_wider_ones_a_code_block():
    fields = table_blocks(_table(2, 4))
    assert fields[1]["fields"][0]["text"] == "*r0*\n1.00" and len(fields[1]["fields"]) == 4
    wide = table_blocks(_table(4, 30), lang="zh")
    body = wide[0]["text"]["text"]
    assert body.startswith("```列0") and "… 另有 20 行" in body and body.count("\n") == 15 + 2


def _reply(**fields) -> Reply:
    return Reply(answer="**Done** <b>", model="offline", latency_ms=1234.0, thread_id="t", **fields)


def test_reply_blocks_hold_answer_sources_followups_and_footer():
    reply = _reply(tables=[_table(3, 2)], citations=[Citation(kind="customer", id=5, label="C000005")],
                   tool_calls=[ToolCallRecord(name="find_customers", args={"owner": "me"})])
    followups = followups_for(reply)
    assert [f.question for f in followups] == ["profile of C000005", "purchase history of C000005",
                                               "recent interactions with C000005"]
    blocks = reply_blocks(reply, followups=followups, public_url="https://crm.example.com/")
    assert blocks[0]["text"]["text"] == "*Done* &lt;b&gt;"
    assert "<https://crm.example.com/customers/5|C000005>" in blocks[2]["elements"][0]["text"]
    assert [e["action_id"] for e in blocks[3]["elements"]] == ["crm_followup_0", "crm_followup_1", "crm_followup_2"]
    assert blocks[-1]["elements"][0]["text"] == ":robot_face: offline · 1.2 s"


def test_followups_skip_what_was_just_answered_and_errors_get_none():
    cited = [Citation(kind="customer", id=5, label="C000005")]
    profile = _reply(citations=cited, tool_calls=[ToolCallRecord(name="customer_profile", args={"customer": "x"})])
    assert [f.label for f in followups_for(profile)] == ["Purchases of C000005", "Recent contacts with C000005"]
    zh = _reply(citations=cited, language="zh")
    assert followups_for(zh)[0].question == "C000005 的客户档案"
    assert followups_for(_reply(citations=cited, error={"code": "x", "message": "y"})) == []


def test_event_claims_are_once_only_and_survive_a_reopen(tmp_path):
    store = SlackStore(tmp_path / "s.sqlite3")
    assert store.claim_event("Ev1") is True
    assert store.claim_event("Ev1") is False
    assert SlackStore(tmp_path / "s.sqlite3").claim_event("Ev1") is False
    write = store.add_write(tool="log_interaction", args={"customer": 1}, staff_id=2, slack_user="U", channel="C",
                            thread_ts="1.2", lang="zh")
    assert store.move_write(write.id, from_state="pending", to_state="running")
    assert not store.move_write(write.id, from_state="pending", to_state="running")
    assert store.get_write(write.id).state == "running" and store.get_write(write.id).lang == "zh"


def test_manifest_declares_what_the_app_uses():
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    assert settings["interactivity"]["is_enabled"] is True
    urls = {settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"],
            *(c["url"] for c in manifest["features"]["slash_commands"])}
    assert {u.rsplit("/", 2)[-2] + "/" + u.rsplit("/", 1)[-1] for u in urls} == {"slack/events"}
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [SlackSettings(_env_file=None).command]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "commands", "files:write", "im:history", "users:read",
            "users:read.email"} <= scopes


def test_status_falls_back_to_a_thinking_message_and_remembers_it():
    from fake_slack import FakeSlack
    from slack_sdk import WebClient

    from integrations.slack.status import AssistantStatusSupport, Status

    with FakeSlack() as fake:
        fake.failures["assistant.threads.setStatus"] = "missing_scope"
        client = WebClient(token="xoxb-1-test", base_url=fake.url)
        support = AssistantStatusSupport()
        status = Status(client, channel="D1", thread_ts="1.1", support=support)
        status.start(direct=True)
        assert support.available is False and status.placeholder_ts
        assert status.finish(fallback="answer", blocks=[]) == status.placeholder_ts
        assert fake.of("chat.update")[0].args["ts"] == status.placeholder_ts

        Status(client, channel="D1", thread_ts="1.2", support=support).start(direct=True)
        assert len(fake.of("assistant.threads.setStatus")) == 1
        assert len(fake.of("chat.postMessage")) == 2
