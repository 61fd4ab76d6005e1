"""The offline router end to end: real demo database, real tools, the real agent loop via ``assistant.respond``."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from assistant import respond
from assistant.router import OfflineRouterModel
from tools.context import ToolContext

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 18, 0)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    from storage.demo import generate
    from tools.refresh import refresh_features

    url = f"sqlite:///{tmp_path_factory.mktemp('router') / 'demo.sqlite3'}"
    generate(customers=400, today=TODAY, url=url, reset=True)
    refresh_features(url=url, now=NOW, allow_partial=True)
    return url


@pytest.fixture(scope="module")
def model() -> OfflineRouterModel:
    return OfflineRouterModel()


def ask(question, *, url, model, thread=None, email="manager01@demo.crm"):
    ctx = ToolContext.for_email(email, now=NOW, database_url=url)
    return respond(question, context=ctx, thread_id=thread, model=model, render_charts=False)


def test_metrics_question_in_chinese_gets_a_chinese_grounded_answer_with_a_table(demo_url, model):
    reply = ask("上个季度各地区的销售额", url=demo_url, model=model)
    assert [c.name for c in reply.tool_calls] == ["query_metrics"]
    args = reply.tool_calls[0].args
    assert args["dimensions"] == ["region"] and args["period"] == {"start": "2026-07-01", "end": "2026-09-30"}
    assert reply.tables and reply.grounding.ok
    assert "销售额" in reply.answer


def test_quiet_vips_names_the_planted_ones(demo_url, model):
    from sqlalchemy import create_engine, text

    with create_engine(demo_url).connect() as conn:
        planted = [r[0] for r in conn.execute(text(
            "SELECT c.name FROM demo_truth t JOIN customer c ON c.id = t.subject_id WHERE t.kind = 'quiet_vip'"))]  # fmt: skip
    reply = ask("which VIPs went quiet this month", url=demo_url, model=model)
    assert reply.tool_calls[0].name == "quiet_customers"
    shown = " ".join(str(v) for t in reply.tables for row in t.rows for v in row)
    assert planted and sum(name in shown for name in planted) >= 0.9 * len(planted)


def test_follow_ups_reuse_the_previous_call(demo_url, model):
    first = ask("revenue by region last quarter", url=demo_url, model=model)
    second = ask("and last month?", url=demo_url, model=model, thread=first.thread_id)
    third = ask("only in Shanghai", url=demo_url, model=model, thread=first.thread_id)
    assert second.tool_calls[0].args["period"] == {"start": "2026-10-01", "end": "2026-10-31"}
    assert second.tool_calls[0].args["dimensions"] == ["region"]
    assert third.tool_calls[0].args["filters"] == {"city": "Shanghai"}
    zh = ask("本季度各品类的销售额", url=demo_url, model=model)
    zh2 = ask("那上个月呢？", url=demo_url, model=model, thread=zh.thread_id)
    assert zh2.tool_calls[0].args["period"] == {"start": "2026-10-01", "end": "2026-10-31"}
    assert zh2.language == "zh" and zh2.grounding.ok


def test_ambiguous_name_asks_with_candidates_then_resolves_the_pick(demo_url, model):
    reply = ask("what did Wang Fang buy this year", url=demo_url, model=model)
    assert reply.tool_calls[0].error == "ambiguous"
    assert sum(line.startswith("•") for line in reply.answer.splitlines()) >= 2
    picked = ask("the second one", url=demo_url, model=model, thread=reply.thread_id)
    assert picked.tool_calls[0].name == "purchase_history"
    assert isinstance(picked.tool_calls[0].args["customer"], int) and picked.tool_calls[0].error is None
    her = ask("and her profile?", url=demo_url, model=model, thread=reply.thread_id)
    assert her.tool_calls[0].name == "customer_profile"
    assert her.tool_calls[0].args["customer"] == picked.tool_calls[0].args["customer"]


def test_unknown_and_out_of_scope_customers_look_the_same(demo_url, model):
    from sqlalchemy import create_engine, text

    with create_engine(demo_url).connect() as conn:
        # A customer owned by someone other than rep13, with a name no other customer has.
        other = conn.execute(text(
            "SELECT name FROM customer WHERE owner_id IS NOT NULL AND owner_id != (SELECT id FROM staff_user WHERE "
            "email = 'rep13@demo.crm') AND name NOT LIKE '% %' GROUP BY name HAVING COUNT(*) = 1 LIMIT 1")).scalar()  # fmt: skip
    hidden = ask(f"{other}的客户档案", url=demo_url, model=model, email="rep13@demo.crm")
    unknown = ask("欧阳克的客户档案", url=demo_url, model=model, email="rep13@demo.crm")
    assert hidden.tool_calls[0].error == unknown.tool_calls[0].error == "not_found"
    assert hidden.answer == unknown.answer


def test_refusals_and_chit_chat_call_no_tool(demo_url, model):
    for question in ("what's the weather in Paris tomorrow?", "写一首关于春天的诗", "hi there", "谢谢"):
        reply = ask(question, url=demo_url, model=model)
        assert reply.tool_calls == [] and reply.answer and reply.grounding.ok


def test_writes_log_a_call_with_the_note(demo_url, model):
    from sqlalchemy import create_engine, text

    with create_engine(demo_url).connect() as conn:
        name = conn.execute(text("SELECT name FROM customer WHERE name LIKE '% %' GROUP BY name HAVING COUNT(*) = 1 "
                                 "ORDER BY name LIMIT 1")).scalar()  # fmt: skip
    reply = ask(f"log a call with {name}: she wants a demo next week", url=demo_url, model=model)
    call = reply.tool_calls[0]
    assert call.name == "log_interaction" and call.args["kind"] == "call"
    assert call.args["body"] == "she wants a demo next week"


def test_router_reads_the_context_line_without_an_agent():
    model = OfflineRouterModel(offline_vocabulary=True).bind_tools([{"name": "query_metrics"}])
    message = model.invoke([
        SystemMessage(content='You are the CRM assistant.\nCRM_CONTEXT {"now": "2026-11-22T18:00:00", "role": "admin"}'),
        HumanMessage(content="revenue last month by channel"),
    ])  # fmt: skip
    call = message.tool_calls[0]
    assert call["name"] == "query_metrics"
    assert call["args"]["period"] == {"start": "2026-10-01", "end": "2026-10-31"}
    assert call["args"]["dimensions"] == ["channel"]
    # A tool that was not bound is never called.
    refused = model.invoke([HumanMessage(content="how is the sales pipeline")])
    assert refused.tool_calls == [] and refused.content
