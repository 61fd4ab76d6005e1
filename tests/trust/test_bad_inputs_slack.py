"""Bad input from Slack, signed and sent over HTTP to the real Bolt app (offline assistant, fake Web API):
every case is refused at the door (401), answered with a clear reply only the asker sees, answered
normally, or ignored; none raises inside Bolt (nothing at ERROR in the log) and none changes CRM data.

Each case gets its own channel, so its replies can be told apart from every other case's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from _robust_data import data_counts, slack_server
from slack_harness import direct_message, mention

SQL = "'; DROP TABLE customer; --"
BIG = "revenue " * 12_500  # 100,000 characters
IGNORED = None  # no reply expected
ANY = ""  # some reply, whatever it says


@dataclass(frozen=True)
class SlackCase:
    id: str
    send: Callable  # (sender, fake, channel, ts) -> the HTTP response
    reply: str | None = ANY  # a fragment of the reply in the case's channel, ANY, or IGNORED
    status: tuple[int, ...] = (200,)


def _mention(text, **extra):
    def send(slack, fake, ch, ts):
        event = {"type": "app_mention", "user": "U0REP01", "channel": ch, "ts": ts, "event_ts": ts,
                 "text": f"<@U0BOT> {text}" if isinstance(text, str) else text}
        event.update(extra)
        return slack.event({k: v for k, v in event.items() if v is not _DROP})[0]

    return send


def _dm(text, **extra):
    def send(slack, fake, ch, ts):
        event = direct_message(user="U0REP01", text="", channel="D" + ch[1:], ts=ts)
        event["text"] = text
        event.update(extra)
        return slack.event({k: v for k, v in event.items() if v is not _DROP})[0]

    return send


def _command(text, **extra):
    def send(slack, fake, ch, ts):
        form = {"user": "U0REP01", "channel": ch, "text": text, "response_url": fake.response_url(ch)}
        form.update(extra)
        return slack.command(**form)[0]

    return send


def _raw(body: str, content_type: str = "application/json", **kwargs):
    def send(slack, fake, ch, ts):
        return slack.post(body, content_type=content_type, **kwargs)[0]

    return send


def _click(action_id: str, value, user="U0REP01"):
    def send(slack, fake, ch, ts):
        message = {"ts": ts, "type": "message", "text": "an earlier answer"}
        return slack.click(user=user, channel=ch, message=message,
                           action={"action_id": action_id, "block_id": "b", "value": value})[0]

    return send


_DROP = object()
_STALE = int(time.time()) - 3600

CASES = [
    # the door: signatures, timestamps, bodies
    SlackCase("bad-signature", _raw('{"type": "event_callback"}', signature="v0=" + "0" * 64), IGNORED, (401,)),
    SlackCase("signed-with-other-secret", lambda s, f, ch, ts: type(s)(s.url.removesuffix("/slack/events"),
              secret="not-the-secret").event(mention(user="U0REP01", text="hi", channel=ch, ts=ts))[0], IGNORED, (401,)),
    SlackCase("stale-timestamp", _raw('{"type": "event_callback"}', timestamp=_STALE), IGNORED, (401,)),
    SlackCase("unsigned", lambda s, f, ch, ts: s.http.post(s.url, content=b'{"type": "event_callback"}',
              headers={"Content-Type": "application/json"}), IGNORED, (401,)),
    SlackCase("timestamp-not-a-number", _raw('{"type": "event_callback"}', timestamp=None,
              headers={"X-Slack-Request-Timestamp": "soon"}), IGNORED, (401,)),
    SlackCase("malformed-json", _raw('{"type": "event_callback", "event": {'), IGNORED, (200, 400, 401, 404)),
    SlackCase("json-array", _raw("[1, 2, 3]"), IGNORED, (200, 400, 404)),
    SlackCase("empty-body", _raw(""), IGNORED, (200, 400, 404)),
    SlackCase("form-garbage-payload", _raw(urlencode({"payload": "{not json"}), "application/x-www-form-urlencoded"),
              IGNORED, (200, 400, 404)),
    SlackCase("event-without-event", _raw(json.dumps({"type": "event_callback", "event_id": "EvNoEvent",
                                                      "team_id": "T0CRM"})), IGNORED, (200, 404)),
    SlackCase("unknown-event-type", lambda s, f, ch, ts: s.event({"type": "reaction_added", "user": "U0REP01",
              "reaction": "eyes", "event_ts": ts})[0], IGNORED, (200, 404)),
    # mentions and DMs: empty, huge, odd text
    SlackCase("mention-empty", _mention(""), "Please type a question"),
    SlackCase("mention-whitespace", _mention("   \n\t  "), "Please type a question"),
    SlackCase("mention-only-controls", _mention("\u0000\u0001\u001b"), "Please type a question"),
    SlackCase("mention-100k", _mention(BIG), "too long"),
    SlackCase("dm-100k", _dm(BIG), "too long"),
    SlackCase("mention-1mb", _mention("x" * 1_000_000), "too long"),
    SlackCase("mention-sql", _mention(SQL)),
    SlackCase("mention-sql-union", _mention("x' UNION SELECT password_hash FROM staff_user --")),
    SlackCase("mention-nul", _mention("revenue\u0000 this year"), "Revenue"),
    SlackCase("mention-controls", _mention("\u001b[31mrevenue\u0007 this year"), "Revenue"),
    SlackCase("mention-emoji-rtl", _mention("\u202e\u0643\u0645 \u0627\u0644\u0625\u064a\u0631\u0627\u062f\u0627\u062a 😀🔥")),
    SlackCase("mention-slack-markup", _mention("<!channel> <!here> <https://evil.example|click> revenue this year")),
    SlackCase("mention-unknown-user-tag", _mention("assign customer C000001 to <@U0NOBODY>")),
    SlackCase("mention-huge-top-n", _mention("top 99999999999999999999 customers by revenue")),
    SlackCase("mention-negative-top-n", _mention("top -5 customers by revenue")),
    SlackCase("mention-feb-30", _mention("revenue on 2026-02-30")),
    SlackCase("mention-text-null", _mention(None), "Please type a question"),
    SlackCase("mention-text-number", _mention(12345), "Please type a question"),
    SlackCase("mention-text-list", _mention(["revenue"]), "Please type a question"),
    SlackCase("dm-sql", _dm(SQL)),
    SlackCase("dm-write-attempt-support", lambda s, f, ch, ts: s.event(direct_message(
        user="U0SUP01", text="release customer C000001 to the pool", channel="D" + ch[1:], ts=ts))[0]),
    # unknown users
    SlackCase("mention-unmapped-user", _mention("revenue this year", user="U0STRANGER"), "not linked"),
    SlackCase("dm-unmapped-user", lambda s, f, ch, ts: s.event(direct_message(
        user="U0STRANGER", text="revenue", channel="D" + ch[1:], ts=ts))[0], "not linked"),
    SlackCase("mention-no-user", _mention("revenue this year", user=_DROP), "not linked"),
    SlackCase("mention-user-not-a-string", _mention("revenue this year", user={"id": "U0REP01"}), "not linked"),
    # events missing what a listener needs: ignored, not raised
    SlackCase("mention-no-ts", _mention("revenue", ts=_DROP, event_ts=_DROP), IGNORED),
    SlackCase("mention-no-channel", _mention("revenue", channel=_DROP), IGNORED),
    SlackCase("dm-no-channel", _dm("revenue", channel=_DROP), IGNORED),
    SlackCase("dm-edited", _dm("revenue", subtype="message_changed"), IGNORED),
    SlackCase("dm-from-a-bot", _dm("revenue", bot_id="B0OTHER"), IGNORED),
    # slash commands
    SlackCase("command-empty", _command(""), IGNORED),  # the help text comes back in the HTTP response itself
    SlackCase("command-100k", _command(BIG), "too long"),
    SlackCase("command-unmapped-user", _command("revenue", user="U0STRANGER"), "not linked"),
    SlackCase("command-no-user", _command("revenue", user=""), "not linked"),
    SlackCase("command-sql", _command(SQL)),
    # buttons: unknown writes, junk values, strangers
    SlackCase("confirm-unknown-write", _click("crm_write_confirm", "0" * 32)),
    SlackCase("confirm-sql-id", _click("crm_write_confirm", SQL)),
    SlackCase("cancel-null-id", _click("crm_write_cancel", None)),
    SlackCase("confirm-by-stranger", _click("crm_write_confirm", "0" * 32, user="U0STRANGER")),
    SlackCase("followup-100k", _click("crm_followup_0", BIG), "too long"),
    SlackCase("followup-empty", _click("crm_followup_0", ""), "Please type a question"),
    SlackCase("unknown-action", _click("crm_self_destruct", "now"), IGNORED, (200, 404)),
]


@pytest.fixture(scope="module")
def slack(tmp_path_factory):
    from _robust_data import build_demo

    db = build_demo(tmp_path_factory.mktemp("bad_slack"), customers=50)
    users = {"U0STRANGER": {"id": "U0STRANGER", "profile": {"email": "stranger@example.com"}}}
    with slack_server(db, tmp_path_factory.mktemp("bad_slack_state") / "state.sqlite3", users=users) as (sender, fake):
        yield sender, fake, db


def _replies(fake, channel: str) -> list[str]:
    dm = "D" + channel[1:]
    out = []
    for call in list(fake.calls):
        where = call.args.get("channel") or call.args.get("_name")
        if where in (channel, dm) and call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral",
                                                       "response_url"):
            text = str(call.args.get("text") or "") + json.dumps(call.args.get("blocks") or [], ensure_ascii=False)
            if "Thinking…" not in text:
                out.append(text)
    return out


def _wait(fake, channel: str, fragment: str, *, timeout: float = 60.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = _replies(fake, channel)
        if any(fragment in r for r in replies) and (fragment or replies):
            return replies
        time.sleep(0.05)
    raise AssertionError(f"no reply with {fragment!r} in {channel}; got {_replies(fake, channel)}")


@pytest.mark.parametrize("n,case", list(enumerate(CASES)), ids=[c.id for c in CASES])
def test_bad_slack_input_is_refused_or_answered_clearly(n, case, slack, monkeypatch, caplog):
    sender, fake, db = slack
    monkeypatch.setenv("CRM_RATE_LIMIT_PER_MINUTE", "0")  # this table asks faster than any person would
    channel, ts = f"C0BAD{n:03d}", f"1790001{n:03d}.000100"
    before = data_counts(db)
    with caplog.at_level(logging.WARNING):
        response = case.send(sender, fake, channel, ts)
        assert response.status_code in case.status, f"{response.status_code}: {response.text[:300]}"
        if case.reply is IGNORED:
            time.sleep(0.5)  # Bolt works after the ack: give a wrongly handled event time to show
            assert _replies(fake, channel) == []
        else:
            _wait(fake, channel, case.reply)
    assert "Traceback" not in response.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert data_counts(db) == before


def test_a_redelivered_event_is_answered_once(slack, monkeypatch, caplog):
    sender, fake, _ = slack
    monkeypatch.setenv("CRM_RATE_LIMIT_PER_MINUTE", "0")
    event = mention(user="U0REP01", text="revenue this year", channel="C0DUP", ts="1790002000.000100")
    first, _ = sender.event(event, event_id="EvDuplicate1")
    retried, _ = sender.event(event, event_id="EvDuplicate1", headers={"X-Slack-Retry-Num": "1",
                                                                        "X-Slack-Retry-Reason": "http_timeout"})
    again, _ = sender.event(event, event_id="EvDuplicate1")
    _wait(fake, "C0DUP", "Revenue")
    time.sleep(1.0)
    assert first.status_code == retried.status_code == again.status_code == 200
    assert retried.headers.get("x-slack-no-retry") == "1"
    assert len([r for r in _replies(fake, "C0DUP") if "Revenue" in r]) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_case_table_is_large_enough():
    assert len(CASES) >= 50 and len({c.id for c in CASES}) == len(CASES)
