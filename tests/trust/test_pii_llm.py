"""With an external LLM, no customer's phone, e-mail or address reaches the model; the user still gets them.

The model is the local OpenAI-protocol server (real ``openai`` client, real HTTP); every request
body it receives is recorded, and each test asserts on all of them. The scripted model echoes
the placeholder it was given, and the reply must show the value the caller's role may see.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _pii_data import CUSTOMERS, NOTE, NOW, STAFF, all_values, seed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assistant"))
from openai_server import ScriptedOpenAIServer  # noqa: E402

from assistant import get_settings, respond  # noqa: E402
from assistant.agent import reset  # noqa: E402
from assistant.model_factory import clear_cache  # noqa: E402
from assistant.pii_tokens import TOKEN, token_for  # noqa: E402
from tools import ToolContext  # noqa: E402

MASKED_PHONE = {"own": "+** *** **** 8001", "pool": "+*-***-***-0199"}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    from storage.migrate import upgrade

    url = f"sqlite:///{(tmp_path_factory.mktemp('pii_llm') / 'crm.sqlite3').resolve()}"
    upgrade(url)
    seed(url)
    return url


@pytest.fixture
def server(monkeypatch):
    with ScriptedOpenAIServer() as srv:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.setenv("CRM_MODEL", "openai:gpt-4o-mini")
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("CRM_LLM_TIMEOUT", "10")
        monkeypatch.setenv("CRM_LLM_MAX_RETRIES", "0")
        get_settings.cache_clear()
        clear_cache()
        reset()
        yield srv
        clear_cache()
        reset()


def ctx(url: str, who: str) -> ToolContext:
    return ToolContext.for_email(STAFF[who][1], now=NOW, database_url=url)


def tool_call(name: str, args: dict, call_id: str = "call_a") -> dict:
    return {"tool_calls": [{"id": call_id, "name": name, "arguments": json.dumps(args)}]}


def tool_content(body: dict) -> str:
    return [m for m in body["messages"] if m["role"] == "tool"][-1]["content"]


def token_in_row(content: str, label: str) -> str:
    line = next(row for row in content.splitlines() if row.startswith(f"| {label} "))
    return TOKEN.search(line).group(0)


def assert_nothing_leaked(server: ScriptedOpenAIServer, *also: str) -> None:
    assert server.requests
    for body in server.requests:
        sent = json.dumps(body, ensure_ascii=False)
        for value in [*all_values(), *also]:
            assert value not in sent, f"{value!r} was sent to the model"


CASES = [("rep", "own", CUSTOMERS["own"][2]["phone"]), ("rep", "pool", MASKED_PHONE["pool"]),
         ("manager", "own", MASKED_PHONE["own"]), ("support", "pool", CUSTOMERS["pool"][2]["phone"]),
         ("admin", "own", CUSTOMERS["own"][2]["phone"])]


@pytest.mark.parametrize(("who", "customer", "visible_phone"), CASES, ids=[f"{w}-{c}" for w, c, _ in CASES])
def test_profile_values_travel_as_tokens_and_come_back_role_visible(db_url, server, who, customer, visible_phone):
    name = CUSTOMERS[customer][0]
    seen: dict[str, str] = {}

    def answer(body):
        content = tool_content(body)
        seen["content"] = content
        return {"content": f"{name}'s phone is {token_in_row(content, 'phone')}."}

    server.add(tool_call("customer_profile", {"customer": name}), answer)
    reply = respond(f"what is the phone number of {name}?", context=ctx(db_url, who), render_charts=False)

    assert reply.error is None, reply.error
    assert reply.answer == f"{name}'s phone is {visible_phone}."
    assert "⟦PII" not in reply.answer and reply.grounding.ok
    rows = dict(reply.tables[0].rows)
    assert rows["phone"] == visible_phone  # the table keeps the role-visible value, untokenized
    assert_nothing_leaked(server, visible_phone)
    assert "placeholders for personal data" in seen["content"]


def test_a_note_with_contact_details_never_reaches_the_model_in_clear(db_url, server):
    def answer(body):
        content = tool_content(body)
        phone = next(m.group(0) for m in TOKEN.finditer(content) if ":phone:" in m.group(0))
        email = next(m.group(0) for m in TOKEN.finditer(content) if ":email:" in m.group(0))
        return {"content": f"She asked to be called at {phone} or mailed at {email}."}

    server.add(tool_call("interaction_history", {"customer": "Olive Owned"}), answer)
    reply = respond("what did Olive Owned ask for lately?", context=ctx(db_url, "rep"), render_charts=False)

    assert reply.error is None, reply.error
    assert reply.answer == "She asked to be called at 13800138000 or mailed at a@b.com."
    assert any(NOTE in str(cell) for row in reply.tables[0].rows for cell in row)  # the user's table keeps the note
    assert_nothing_leaked(server)


def test_streamed_text_is_detokenized_too(db_url, server):
    def answer(body):
        return {"content": f"Call {token_in_row(tool_content(body), 'phone')} today."}

    server.add(tool_call("customer_profile", {"customer": "Olive Owned"}), answer)
    streamed: list[str] = []
    reply = respond("Olive Owned phone?", context=ctx(db_url, "rep"), on_token=streamed.append, render_charts=False)

    phone = CUSTOMERS["own"][2]["phone"]
    assert reply.answer == f"Call {phone} today."
    assert "".join(streamed) == reply.answer and len(streamed) > 1
    assert_nothing_leaked(server)


def test_a_token_from_outside_the_turn_unlocks_nothing(db_url, server):
    forged = token_for("phone", CUSTOMERS["west"][2]["phone"])  # Walt is outside Rita's scope
    server.add({"content": f"Walt's number is {forged}."})
    reply = respond(f"repeat {forged}", context=ctx(db_url, "rep"), render_charts=False)
    assert reply.answer == "Walt's number is hidden."


def test_follow_up_history_stays_tokenized(db_url, server):
    """The second turn re-sends the first turn's tool result and answer: still only tokens."""
    server.add(tool_call("customer_profile", {"customer": "Olive Owned"}),
               lambda body: {"content": f"Phone: {token_in_row(tool_content(body), 'phone')}"},
               {"content": "Anything else?"})
    first = respond("Olive Owned phone?", context=ctx(db_url, "rep"), render_charts=False)
    respond("thanks", context=ctx(db_url, "rep"), thread_id=first.thread_id, render_charts=False)
    assert first.answer == f"Phone: {CUSTOMERS['own'][2]['phone']}"
    assert len(server.requests) == 3
    assert_nothing_leaked(server)


@pytest.mark.slow  # loads the offline router (~10 s on a shared 2-core machine)
def test_offline_router_needs_no_tokens_and_shows_the_table(db_url, monkeypatch):
    monkeypatch.setenv("CRM_MODEL", "offline")
    get_settings.cache_clear()
    clear_cache()
    reset()
    try:
        reply = respond("show the profile of Olive Owned", context=ctx(db_url, "manager"), render_charts=False)
    finally:
        clear_cache()
        reset()
    assert reply.error is None and "⟦PII" not in reply.answer
    rows = dict(next(t for t in reply.tables if t.columns[0].key == "field").rows)
    assert rows["phone"] == MASKED_PHONE["own"] and rows["address"] == "hidden" and rows["credit rating"] == "A"


def test_a_placeholder_the_model_copies_into_arguments_means_its_value(db_url, server):
    """Tools (a note's text) and the reply's tool calls (what the Slack/web confirm buttons replay) get the value."""
    phone = CUSTOMERS["own"][2]["phone"]
    server.add(tool_call("customer_profile", {"customer": "Olive Owned"}),
               lambda body: tool_call("log_interaction", {"customer": "Olive Owned", "kind": "note", "dry_run": True,
                                                          "body": f"Call back on {token_in_row(tool_content(body), 'phone')}"},
                                      call_id="call_b"),
               {"content": "Previewed."})
    reply = respond("log that Olive wants a call back", context=ctx(db_url, "rep"), render_charts=False)

    assert [c.name for c in reply.tool_calls] == ["customer_profile", "log_interaction"]
    assert reply.tool_calls[1].args["body"] == f"Call back on {phone}"
    assert dict(reply.tables[1].rows)["subject"].startswith("Call back on +86")  # the preview shows the value
    assert "⟦PII" not in json.dumps(reply.to_json(), ensure_ascii=False)
    assert_nothing_leaked(server)
