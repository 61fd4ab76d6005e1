"""`crm ask`, `crm ask --batch`, `crm chat` and `crm eval`, through the real CLI and a scripted LLM server.

The checkpointer test runs two separate `crm ask --thread T` processes: the second
one's model request must carry the first one's conversation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _assistant_data import build_db
from openai_server import ScriptedOpenAIServer
from typer.testing import CliRunner

from assistant import get_settings
from assistant.agent import reset
from assistant.model_factory import clear_cache

CRM = Path(sys.executable).with_name("crm")


@pytest.fixture
def server():
    with ScriptedOpenAIServer() as srv:
        yield srv


@pytest.fixture
def cli_env(monkeypatch, crm_home, server):
    url = build_db(crm_home)
    env = {"CRM_DATABASE_URL": url, "CRM_MODEL": "openai:gpt-4o-mini", "OPENAI_BASE_URL": server.base_url,
           "CRM_LLM_MAX_RETRIES": "0", "CRM_LLM_TIMEOUT": "10"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    from storage.settings import get_settings as storage_settings

    storage_settings.cache_clear()
    get_settings.cache_clear()
    clear_cache()
    reset()
    yield server
    clear_cache()
    reset()


def invoke(*args: str, input: str | None = None):
    from integrations.cli.app import app

    return CliRunner().invoke(app, list(args), input=input)


def test_ask_json_has_the_contract_keys(cli_env):
    cli_env.add({"tool_calls": [{"id": "c1", "name": "sales_pipeline", "arguments": "{}"}]},
                {"content": "Weighted pipeline: 1,900.00."})
    result = invoke("ask", "how is the pipeline?", "--json", "--now", "2025-06-15", "--no-charts")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("answer", "tool_calls", "tables", "charts", "citations", "model", "latency_ms", "grounding", "thread_id"):
        assert key in data
    assert data["answer"] == "Weighted pipeline: 1,900.00."
    assert data["tool_calls"] == [{"name": "sales_pipeline", "args": {}, "error": None}]
    assert data["tables"] and data["grounding"]["ok"]
    system = cli_env.requests[0]["messages"][0]["content"]
    assert "Today is 2025-06-15" in system and "The user is Demo Admin, role: admin" in system


def test_ask_as_a_rep_and_plain_output(cli_env):
    cli_env.add({"tool_calls": [{"id": "c1", "name": "sales_pipeline", "arguments": "{}"}]},
                {"content": "Your weighted pipeline is 400.00."})
    result = invoke("ask", "my pipeline", "--as", "rita@demo.crm", "--now", "2025-06-15")
    assert result.exit_code == 0, result.output
    assert "Your weighted pipeline is 400.00." in result.stdout
    assert "Rita Rep" in result.stdout  # the table is printed
    assert "chart:" in result.stdout
    assert "role: rep" in cli_env.requests[0]["messages"][0]["content"]


def test_batch_answers_every_line_as_one_json_object_each(cli_env, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("hello\n\n# a comment\n你好\n", encoding="utf-8")
    cli_env.add({"content": "Hi there."}, {"content": "你好！"})
    result = invoke("ask", "--batch", str(questions), "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [(d["question"], d["answer"], d["language"]) for d in lines] == [("hello", "Hi there.", "en"),
                                                                           ("你好", "你好！", "zh")]
    assert lines[0]["thread_id"] != lines[1]["thread_id"]


def test_unknown_user_is_a_clean_error(cli_env):
    result = invoke("ask", "hello", "--as", "nobody@nowhere.test")
    assert result.exit_code == 1
    assert "no active staff user" in result.output and "Traceback" not in result.output


def test_missing_question_and_bad_now_are_clean_errors(cli_env):
    assert invoke("ask").exit_code == 1
    result = invoke("ask", "hi", "--now", "yesterday-ish")
    assert result.exit_code == 1 and "--now must be a date" in result.output


def test_model_failure_exits_non_zero_with_the_message(cli_env):
    cli_env.add({"status": 500, "content": "boom"})
    result = invoke("ask", "hello")
    assert result.exit_code == 1 and "could not answer" in result.output


def test_placeholder_key_is_refused_by_the_cli(cli_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "changeme")
    get_settings.cache_clear()
    result = invoke("ask", "hello")
    assert result.exit_code == 1 and "placeholder" in result.output and "Traceback" not in result.output


def test_no_database_is_a_clean_error(monkeypatch, crm_home):
    from storage.settings import get_settings as storage_settings

    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{crm_home / 'empty.sqlite3'}")
    storage_settings.cache_clear()
    result = invoke("ask", "hello")
    assert result.exit_code == 1 and "no CRM database yet" in result.output


def test_chat_keeps_one_thread_until_new(cli_env):
    cli_env.add({"content": "Hello!"}, {"content": "Still here."}, {"content": "Fresh start."})
    result = invoke("chat", input="hi\nstill there?\n/new\nagain\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "Hello!" in result.stdout and "Still here." in result.stdout and "Fresh start." in result.stdout
    second, third = cli_env.requests[1], cli_env.requests[2]
    assert [m["content"] for m in second["messages"] if m["role"] == "user"] == ["hi", "still there?"]
    assert [m["content"] for m in third["messages"] if m["role"] == "user"] == ["again"]


def test_eval_passes_arguments_to_python_m_evals(monkeypatch, tmp_path):
    fake_python = tmp_path / "python"
    fake_python.write_text('#!/bin/sh\necho "ran: $@"\nexit 3\n')
    fake_python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake_python))
    out = invoke("eval", "--model", "offline", "--json")
    assert out.exit_code == 3


@pytest.mark.slow  # two fresh interpreters, each importing LangChain: ~5-20 s on a busy 2-core machine
def test_follow_up_across_two_processes_shares_the_thread(cli_env, crm_home):
    server = cli_env
    env = {**os.environ, "CRM_HOME": str(crm_home), "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    env.pop("OPENAI_API_KEY", None)

    def second_turn(body):
        said = [(m["role"], m["content"]) for m in body["messages"] if m["role"] in ("user", "assistant")]
        assert said == [("user", "remember Acme Trading"), ("assistant", "Noted: Acme Trading."),
                        ("user", "what did I ask you to remember?")], said
        return {"content": "You asked me to remember Acme Trading."}

    server.add({"content": "Noted: Acme Trading."}, second_turn)
    first = subprocess.run([str(CRM), "ask", "remember Acme Trading", "--thread", "T-proc", "--json"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([str(CRM), "ask", "what did I ask you to remember?", "--thread", "T-proc", "--json"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["answer"] == "You asked me to remember Acme Trading."
    assert json.loads(first.stdout)["thread_id"] == json.loads(second.stdout)["thread_id"] == "T-proc"
    assert (crm_home / "checkpoints.sqlite").is_file()
