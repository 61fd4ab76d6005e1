"""The registry wrapped as LangChain tools: schema, content and artifact, errors as error tool messages."""

from __future__ import annotations

import json

import pytest
from _assistant_data import NOW, ScriptedChatModel, build_db
from langchain_core.messages import AIMessage, ToolMessage

from assistant import respond
from assistant.agent import reset
from assistant.tool_adapter import build_tools, params_json_schema, wrap
from tools import ToolContext, ToolSpec, get_tool
from tools.registry import TOOLS


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    return build_db(tmp_path_factory.mktemp("adapter_db"))


@pytest.fixture
def admin(db_url):
    return ToolContext.for_email("admin@demo.crm", now=NOW, database_url=db_url)


def test_every_loadable_registry_tool_is_wrapped_with_its_docstring_and_schema():
    tools = build_tools()
    names = {t.name for t in tools}
    assert "sales_pipeline" in names and names <= set(TOOLS)
    for tool in tools:
        assert tool.description and tool.response_format == "content_and_artifact"
        schema = tool.args_schema
        assert schema["type"] == "object" and "$defs" not in json.dumps(schema) and '"$ref"' not in json.dumps(schema)


def test_a_tool_that_is_not_written_yet_is_skipped_not_fatal(caplog):
    registry = {"sales_pipeline": get_tool("sales_pipeline"), "ghost": ToolSpec("ghost", "tools.no_such_module:ghost")}
    tools = build_tools(registry=registry)
    assert [t.name for t in tools] == ["sales_pipeline"]
    assert "ghost" in caplog.text


def test_nested_models_are_inlined():
    schema = params_json_schema(get_tool("sales_pipeline"))
    assert set(schema["properties"]) >= {"owner", "close_from", "close_to"}
    assert "title" not in schema


def test_invoking_with_a_tool_call_gives_content_and_artifact(admin):
    tool = wrap(get_tool("sales_pipeline"), context=admin)
    message = tool.invoke({"name": "sales_pipeline", "args": {}, "id": "c1", "type": "tool_call"})
    assert isinstance(message, ToolMessage) and message.status == "success"
    assert message.content == message.artifact.to_prompt()


def test_tool_errors_become_error_messages_with_the_error_json(admin):
    tool = wrap(get_tool("sales_pipeline"), context=admin)
    message = tool.invoke({"name": "sales_pipeline", "args": {"owner": "nobody"}, "id": "c2", "type": "tool_call"})
    assert message.status == "error" and message.tool_call_id == "c2"
    payload = json.loads(message.content)
    assert payload["error"] == "not_found" and payload["message"]
    assert message.artifact.code == "not_found"


def test_a_crashing_tool_is_reported_as_a_tool_error(admin, monkeypatch):
    spec = get_tool("sales_pipeline")

    def boom(params, *, ctx):
        raise ZeroDivisionError("internal detail that must not leak")

    tool = wrap(ToolSpec("sales_pipeline", spec.target), context=admin)
    monkeypatch.setitem(tool.spec._loaded, "fn", boom)
    message = tool.invoke({"name": "sales_pipeline", "args": {}, "id": "c3", "type": "tool_call"})
    assert message.status == "error" and "failed unexpectedly" in message.content
    assert "internal detail" not in message.content


def test_parallel_tool_calls_in_one_message_all_run_with_the_callers_context(admin):
    reset()
    model = ScriptedChatModel([
        AIMessage("", tool_calls=[{"name": "sales_pipeline", "args": {}, "id": "p1"},
                                  {"name": "sales_pipeline", "args": {"owner": "Rita Rep"}, "id": "p2"}]),
        AIMessage("Both done."),
    ])
    reply = respond("pipeline overall and for Rita", context=admin, model=model, render_charts=False)
    assert [c.args for c in reply.tool_calls] == [{}, {"owner": "Rita Rep"}]
    assert all(c.error is None for c in reply.tool_calls) and len(reply.tables) == 2
    reset()
