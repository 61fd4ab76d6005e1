"""respond() over a scripted fake chat model: reply assembly, context, memory per thread, tool errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from _assistant_data import NOW, ScriptedChatModel, build_db, call
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from assistant import CONTEXT_MARKER, Reply, parse_context_line, respond
from assistant.agent import reset
from tools import ToolContext


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    return build_db(tmp_path_factory.mktemp("respond_db"))


@pytest.fixture(autouse=True)
def _fresh_agents():
    reset()
    yield
    reset()


@pytest.fixture
def admin(db_url):
    return ToolContext.for_email("admin@demo.crm", now=NOW, database_url=db_url)


def test_reply_carries_tool_calls_tables_charts_and_a_grounded_answer(admin, crm_home):
    model = ScriptedChatModel([call("sales_pipeline", {}), AIMessage("Open pipeline: 2,800.00, weighted 1,900.00.")])
    reply = respond("how is the pipeline?", context=admin, model=model, thread_id="t-basic")

    assert isinstance(reply, Reply)
    assert reply.answer == "Open pipeline: 2,800.00, weighted 1,900.00."
    assert reply.language == "en"
    assert [c.model_dump() for c in reply.tool_calls] == [{"name": "sales_pipeline", "args": {}, "error": None}]
    assert reply.tables and reply.tables[0].rows
    assert reply.chart_specs and len(reply.charts) == len(reply.chart_specs)
    assert all(Path(p).is_file() and Path(p).parent == crm_home / "charts" for p in reply.charts)
    assert reply.grounding.ok, reply.grounding
    assert reply.thread_id == "t-basic" and reply.latency_ms > 0 and reply.error is None
    assert reply.usage.model_calls == 2 and reply.usage.cost_usd == 0.0


def test_model_sees_system_prompt_with_context_line_and_the_tool_message(admin):
    model = ScriptedChatModel([call("sales_pipeline", {}), AIMessage("Done.")])
    respond("pipeline please", context=admin, model=model, render_charts=False)

    first, second = model.seen
    assert isinstance(first[0], SystemMessage)
    assert "Today is 2025-06-15" in first[0].text and "role: admin" in first[0].text
    assert "- sales_pipeline:" in first[0].text
    facts = parse_context_line(first[0].text)
    assert facts["now"].startswith("2025-06-15T12:00") and facts["role"] == "admin" and facts["language"] == "en"
    assert sum(CONTEXT_MARKER in m.text for m in first if isinstance(m, SystemMessage)) == 1
    tool_message = second[-1]
    assert isinstance(tool_message, ToolMessage) and tool_message.status == "success"
    assert "Pipeline" in tool_message.text or "pipeline" in tool_message.text
    assert type(tool_message.artifact).__name__ == "SalesPipelineResult"


def test_chinese_question_gets_language_zh_in_reply_and_context(admin):
    model = ScriptedChatModel([AIMessage("你好！我可以帮你查询客户和销售数据。")])
    reply = respond("你好", context=admin, model=model)
    assert reply.language == "zh"
    assert parse_context_line(model.seen[0][0].text)["language"] == "zh"
    assert "Chinese" in model.seen[0][0].text


def test_tool_error_becomes_an_error_tool_message_with_the_error_as_artifact(admin):
    model = ScriptedChatModel([call("sales_pipeline", {"owner": "nobody at all"}), AIMessage("I found no such rep.")])
    reply = respond("pipeline of nobody", context=admin, model=model)

    tool_message = model.seen[1][-1]
    assert tool_message.status == "error"
    assert '"error": "not_found"' in tool_message.text
    assert type(tool_message.artifact).__name__ == "NotFound"
    assert reply.tool_calls[0].error == "not_found"
    assert reply.answer == "I found no such rep." and reply.tables == []


def test_invalid_arguments_are_reported_to_the_model_not_raised(admin):
    model = ScriptedChatModel([call("sales_pipeline", {"close_from": "not a date"}), AIMessage("Sorry, bad date.")])
    reply = respond("pipeline since whenever", context=admin, model=model)
    tool_message = model.seen[1][-1]
    assert tool_message.status == "error" and "invalid_argument" in tool_message.text and "close_from" in tool_message.text
    assert reply.tool_calls[0].error == "invalid_argument"


def test_follow_up_on_the_same_thread_sees_the_earlier_turn(admin):
    model = ScriptedChatModel([call("sales_pipeline", {}), AIMessage("Pipeline is healthy."), AIMessage("Yes, as I said.")])
    respond("how is the pipeline?", context=admin, model=model, thread_id="t-follow", render_charts=False)
    reply = respond("really?", context=admin, model=model, thread_id="t-follow")

    history = model.seen[-1]
    humans = [m.text for m in history if isinstance(m, HumanMessage)]
    assert humans == ["how is the pipeline?", "really?"]
    assert any(isinstance(m, ToolMessage) for m in history)
    # Earlier turns' calls are not this turn's: the reply lists only what this turn did.
    assert reply.tool_calls == [] and reply.answer == "Yes, as I said."


def test_another_thread_does_not_see_that_conversation(admin):
    model = ScriptedChatModel([AIMessage("first"), AIMessage("second")])
    respond("one", context=admin, model=model, thread_id="t-a")
    respond("two", context=admin, model=model, thread_id="t-b")
    assert [m.text for m in model.seen[-1] if isinstance(m, HumanMessage)] == ["two"]


def test_scope_comes_from_the_callers_context(db_url):
    rep = ToolContext.for_email("rita@demo.crm", now=NOW, database_url=db_url)
    model = ScriptedChatModel([call("sales_pipeline", {}), AIMessage("ok")])
    reply = respond("my pipeline", context=rep, model=model, render_charts=False)
    tool_message = model.seen[1][-1]
    owners = {row[0] for row in tool_message.artifact.table.rows} if tool_message.artifact.table else set()
    assert "Sam Rep" not in owners
    assert "role: rep" in model.seen[0][0].text
    assert reply.error is None


def test_empty_answer_falls_back_to_the_tool_summaries(admin):
    model = ScriptedChatModel([call("sales_pipeline", {}), AIMessage("")])
    reply = respond("pipeline", context=admin, model=model, render_charts=False)
    assert reply.answer and reply.grounding.ok
    assert reply.answer.split("\n")[0] in model.seen[1][-1].text


def test_empty_question_is_answered_without_a_model_call(admin):
    model = ScriptedChatModel([])
    reply = respond("   ", context=admin, model=model)
    assert reply.answer == "Please type a question." and model.seen == []


def test_dangling_tool_call_from_an_interrupted_turn_is_dropped(admin):
    from assistant.agent import checkpointer, get_agent

    model = ScriptedChatModel([AIMessage("fresh answer")])
    agent = get_agent(model, saver=checkpointer())
    config = {"configurable": {"thread_id": "t-dangling"}}
    agent.update_state(config, {"messages": [HumanMessage("q1"), call("sales_pipeline", {}, call_id="lost")]})
    reply = respond("q2", context=admin, model=model, thread_id="t-dangling")
    assert reply.answer == "fresh answer"
    sent = model.seen[-1]
    assert not any(isinstance(m, AIMessage) and m.tool_calls for m in sent)


@pytest.mark.slow  # the router loads its intent model on first use (~5-15 s here)
def test_offline_router_is_the_default_model_and_its_answers_are_grounded(admin, monkeypatch):
    pytest.importorskip("assistant.router")
    from assistant import get_settings
    from assistant.model_factory import clear_cache

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("CRM_MODEL", raising=False)
    get_settings.cache_clear()
    clear_cache()
    reply = respond("how is the sales pipeline?", context=admin, thread_id="t-offline", render_charts=False)
    assert reply.model == "offline" and reply.error is None
    assert [c.name for c in reply.tool_calls] == ["sales_pipeline"]
    assert reply.grounding.ok and reply.answer and reply.tables
    clear_cache()


def test_long_threads_are_trimmed_at_a_question_boundary(admin, monkeypatch):
    from assistant import get_settings

    monkeypatch.setenv("CRM_HISTORY_TURNS", "2")
    get_settings.cache_clear()
    model = ScriptedChatModel([AIMessage("a1"), call("sales_pipeline", {}), AIMessage("a2"), AIMessage("a3")])
    for q in ("q1", "q2", "q3"):
        respond(q, context=admin, model=model, thread_id="t-trim", render_charts=False)
    sent = model.seen[-1]
    assert [m.text for m in sent if isinstance(m, HumanMessage)] == ["q2", "q3"]
    assert isinstance(sent[0], SystemMessage) and isinstance(sent[1], HumanMessage)


def test_respond_on_each_database_backend(database_url):
    from _assistant_data import seed

    seed(database_url)
    ctx = ToolContext.for_email("admin@demo.crm", now=NOW, database_url=database_url)
    model = ScriptedChatModel([call("sales_pipeline", {}), AIMessage("Weighted pipeline: 1,900.00.")])
    reply = respond("pipeline?", context=ctx, model=model, render_charts=False)
    assert reply.error is None and reply.grounding.ok and reply.tables
