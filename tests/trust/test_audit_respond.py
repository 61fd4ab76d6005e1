"""respond() leaves an audit trail on every path (answered, refused, empty, failed, crashed); a failed audit keeps the answer.

A scripted fake chat model drives the turns (no router load), over the tiny CRM of the
assistant tests, on SQLite and, with CRM_TEST_POSTGRES, on PostgreSQL.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assistant"))
from _assistant_data import NOW, ScriptedChatModel, call, seed  # noqa: E402

from assistant import respond  # noqa: E402
from assistant.agent import reset  # noqa: E402
from storage.db import engine_for  # noqa: E402
from storage.models import AuditEntry, Customer, StaffUser  # noqa: E402
from tools import ToolContext  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_agents():
    reset()
    yield
    reset()


@pytest.fixture
def crm(database_url) -> str:
    return seed(database_url)


def ctx_for(url: str, email: str = "admin@demo.crm", **kwargs) -> ToolContext:
    return ToolContext.for_email(email, now=NOW, database_url=url, **kwargs)


def rows(url: str) -> list[AuditEntry]:
    with Session(engine_for(url)) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())


def ids(url: str) -> dict[str, int]:
    with Session(engine_for(url)) as session:
        people = {u.email: u.id for u in session.exec(select(StaffUser)).all()}
        firms = {c.name: c.id for c in session.exec(select(Customer)).all()}
    return {**people, **firms}


def two_calls() -> AIMessage:
    return AIMessage("", tool_calls=[
        {"name": "customer_profile", "args": {"customer": "Acme Trading"}, "id": "c1"},
        {"name": "sales_pipeline", "args": {}, "id": "c2"},
    ])


def test_a_question_leaves_its_row_and_one_row_per_tool_call(crm):
    model = ScriptedChatModel([two_calls(), AIMessage("Here is Acme Trading and the pipeline.")])
    reply = respond("tell me about Acme Trading and the pipeline", context=ctx_for(crm), model=model,
                    thread_id="t-audit-1", render_charts=False)
    assert reply.error is None

    known = ids(crm)
    question, profile, pipeline = rows(crm)
    assert (question.action, question.question, question.outcome) == (
        "question", "tell me about Acme Trading and the pipeline", "ok")
    assert question.user_id == known["admin@demo.crm"] and question.channel == "cli" and question.at == NOW
    assert question.arguments["thread_id"] == "t-audit-1" and question.tool is None
    assert (profile.action, profile.tool, profile.arguments, profile.outcome) == (
        "tool_call", "customer_profile", {"customer": "Acme Trading"}, "ok")
    assert profile.records == [f"customer:{known['Acme Trading']}"]
    assert (pipeline.tool, pipeline.arguments, pipeline.outcome) == ("sales_pipeline", {}, "ok")
    assert {r.user_id for r in (profile, pipeline)} == {question.user_id}
    assert {r.at for r in (profile, pipeline)} == {NOW}


def test_a_question_about_a_customer_outside_scope_is_audited_as_refused(crm):
    model = ScriptedChatModel([call("customer_profile", {"customer": "Bolt Retail"}), AIMessage("No such customer.")])
    reply = respond("Bolt Retail 的资料", context=ctx_for(crm, "rita@demo.crm"), model=model, render_charts=False)
    assert "Bolt" not in " ".join(c.label for c in reply.citations)

    question, attempt = rows(crm)
    assert question.outcome == "refused" and question.question == "Bolt Retail 的资料"
    assert question.user_id == ids(crm)["rita@demo.crm"]
    assert (attempt.tool, attempt.arguments, attempt.outcome, attempt.records) == (
        "customer_profile", {"customer": "Bolt Retail"}, "not_found", None)


def test_a_question_the_router_declines_is_audited_as_refused(sqlite_url):
    seed(sqlite_url)
    # The offline router marks its own out-of-scope answers; a scripted message carries the same mark.
    declined = AIMessage("Sorry, that's outside what I can help with.",
                         additional_kwargs={"router": {"intent": "out_of_scope", "lang": "en"}})
    respond("write me a poem about cats", context=ctx_for(sqlite_url), model=ScriptedChatModel([declined]))
    [question] = rows(sqlite_url)
    assert (question.action, question.outcome) == ("question", "refused")


def test_empty_and_overlong_questions_are_audited(sqlite_url):
    seed(sqlite_url)
    respond("   ", context=ctx_for(sqlite_url), model=ScriptedChatModel([]))
    long_note = "n" * 50_000
    model = ScriptedChatModel([call("customer_profile", {"customer": long_note}), AIMessage("Not found.")])
    respond("q" * 100_000, context=ctx_for(sqlite_url), model=model, render_charts=False)

    empty, long_question, long_call = rows(sqlite_url)
    assert (empty.action, empty.question, empty.outcome) == ("question", "", "empty")
    # Stored by head and length, not whole: one pasted book must not double the table.
    assert long_question.question.startswith("q" * 4000) and long_question.question.endswith("[+96000 chars]")
    assert len(long_call.arguments["customer"]) < 2100 and long_call.arguments["customer"].endswith("chars]")


def test_a_turn_stopped_by_the_step_limit_still_audits_the_calls_it_made(sqlite_url, monkeypatch):
    from assistant import get_settings

    seed(sqlite_url)
    monkeypatch.setenv("CRM_MAX_STEPS", "2")
    get_settings.cache_clear()
    loop = [call("customer_profile", {"customer": "Acme Trading"}, call_id=f"loop{i}") for i in range(10)]
    reply = respond("loop forever", context=ctx_for(sqlite_url), model=ScriptedChatModel(loop), render_charts=False)
    assert reply.error is not None and reply.error.code == "step_limit"

    question, *calls = rows(sqlite_url)
    assert question.outcome == "step_limit"
    assert len(calls) >= 2 and all(c.tool == "customer_profile" for c in calls)
    answered = [c for c in calls if c.outcome == "ok"]
    assert answered and all(c.records == [f"customer:{ids(sqlite_url)['Acme Trading']}"] for c in answered)
    assert {c.outcome for c in calls} <= {"ok", "no_result"}


def test_a_crashing_turn_is_audited_as_internal_error_and_still_raises(sqlite_url):
    seed(sqlite_url)

    class Broken(ScriptedChatModel):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            raise ValueError("a bug in the model adapter")

    with pytest.raises(ValueError):
        respond("pipeline?", context=ctx_for(sqlite_url), model=Broken([]))
    [question] = rows(sqlite_url)
    assert (question.question, question.outcome) == ("pipeline?", "internal_error")


def test_malformed_tool_calls_are_audited_with_their_raw_arguments(sqlite_url):
    seed(sqlite_url)
    bad = AIMessage("", invalid_tool_calls=[{"name": "customer_profile", "args": '{"customer": ', "id": "bad1",
                                             "error": "unterminated JSON", "type": "invalid_tool_call"}])
    model = ScriptedChatModel([bad, AIMessage("Sorry, please ask again.")])
    respond("profile of acme", context=ctx_for(sqlite_url), model=model, render_charts=False)
    question, attempt = rows(sqlite_url)
    assert (attempt.tool, attempt.outcome, attempt.arguments) == (
        "customer_profile", "invalid_tool_call", {"raw": '{"customer": '})
    assert question.outcome == "ok"


def test_a_write_keeps_its_own_write_row_beside_the_tool_call_row(crm):
    model = ScriptedChatModel([call("assign_customer", {"customer": "Pool Partners", "action": "claim"}),
                               AIMessage("You now own Pool Partners.")])
    reply = respond("claim Pool Partners", context=ctx_for(crm, "rita@demo.crm"), model=model, render_charts=False)
    assert reply.error is None, reply

    pool = f"customer:{ids(crm)['Pool Partners']}"
    by_action = {r.action: r for r in rows(crm)}
    assert set(by_action) == {"question", "tool_call", "write"}
    assert by_action["tool_call"].tool == by_action["write"].tool == "assign_customer"
    assert by_action["tool_call"].arguments == {"customer": "Pool Partners", "action": "claim"}
    assert pool in by_action["tool_call"].records and pool in by_action["write"].records


def test_a_failed_audit_write_keeps_the_answer_and_logs_an_error(crm, caplog):
    # A context whose user id is not a staff user: the foreign key refuses the audit rows on both backends.
    ghost = ctx_for(crm).model_copy(update={"user_id": 987_654})
    model = ScriptedChatModel([call("sales_pipeline", {}), AIMessage("The pipeline is healthy.")])
    with caplog.at_level(logging.ERROR, logger="assistant.audit"):
        reply = respond("how is the pipeline?", context=ghost, model=model, thread_id="t-ghost", render_charts=False)

    assert reply.answer == "The pipeline is healthy." and reply.error is None
    assert rows(crm) == []
    [record] = [r for r in caplog.records if r.name == "assistant.audit"]
    assert record.levelno == logging.ERROR and "AUDIT WRITE FAILED" in record.getMessage()
    message = record.getMessage()
    assert "user_id=987654" in message and "thread=t-ghost" in message and "sales_pipeline" in message
    assert "how is the pipeline" not in message  # the question text stays out of the log files


@pytest.mark.slow  # loads the offline router's intent model (5-15 s on a busy machine)
def test_the_offline_router_path_is_audited_for_a_chinese_out_of_scope_name(sqlite_url, monkeypatch):
    from assistant import get_settings
    from assistant.model_factory import clear_cache

    seed(sqlite_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("CRM_MODEL", raising=False)
    get_settings.cache_clear()
    clear_cache()
    rep = ctx_for(sqlite_url, "rita@demo.crm")
    respond("Bolt Retail的资料", context=rep, render_charts=False)
    respond("Acme Trading profile", context=rep, render_charts=False)
    clear_cache()

    refused_q, refused_call, ok_q, ok_call = rows(sqlite_url)
    assert (refused_q.outcome, refused_call.tool, refused_call.outcome) == ("refused", "customer_profile", "not_found")
    assert refused_q.arguments["model"] == "offline"
    assert (ok_q.outcome, ok_call.outcome, ok_call.records) == (
        "ok", "ok", [f"customer:{ids(sqlite_url)['Acme Trading']}"])


def test_pii_tokens_an_llm_wrote_are_audited_as_the_values_the_tool_received():
    from langchain_core.messages import HumanMessage, ToolMessage

    from assistant.audit import calls_in
    from assistant.pii_tokens import token_for
    from tools import ToolResult

    email = "chen.jing@example.com"
    found = ToolResult(summary=f"Chen Jing, {email}")  # an earlier call's result carried the address
    messages = [HumanMessage("q"), call("find_customers", {"query": "Chen"}, call_id="a"),
                ToolMessage("…", tool_call_id="a", artifact=found),
                call("find_customers", {"query": token_for("email", email)}, call_id="b"),
                ToolMessage("…", tool_call_id="b", artifact=found), AIMessage("done")]
    first, second = calls_in(messages)
    assert first.arguments == {"query": "Chen"} and second.arguments == {"query": email}


def test_a_locked_database_costs_the_audit_a_bounded_wait_not_the_answer(sqlite_url, monkeypatch, caplog):
    import sqlite3
    import time

    from assistant.audit import record_turn
    from storage.settings import get_settings

    seed(sqlite_url)
    ctx = ctx_for(sqlite_url)
    monkeypatch.setenv("CRM_DB_RETRY_SECONDS", "0.5")
    get_settings.cache_clear()
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=1)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with caplog.at_level(logging.ERROR, logger="assistant.audit"):
            started = time.perf_counter()
            assert record_turn(context=ctx, question="pipeline?", thread_id="t-locked") is False
            waited = time.perf_counter() - started
    finally:
        holder.rollback()
        holder.close()
    assert waited < 5, f"waited {waited:.1f} s for a locked database"
    assert any("AUDIT WRITE FAILED" in r.getMessage() for r in caplog.records)
    assert rows(sqlite_url) == []
