"""Confirmed writes in the terminal: `crm ask`, `crm chat`, `crm tool` and `crm undo` through typer's CliRunner.

The assistant is the real offline router over a tiny CRM (tests/trust/_writes_data.py).
CliRunner's stdin is not a terminal, which is exactly the "script" case; the prompt cases
replace ``confirm.stdin_is_tty`` so the y/N prompt reads the runner's input.
"""

from __future__ import annotations

import json

import pytest
from _writes_data import owner_of, pool_history, seed, write_audits
from typer.testing import CliRunner

from integrations.cli import confirm
from integrations.cli.app import app

NOW = ["--now", "2026-11-15"]
REP1 = ["--as", "rep1@w.crm"]


@pytest.fixture
def crm(sqlite_url, monkeypatch):
    monkeypatch.setenv("CRM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CRM_MODEL", "offline")
    from assistant import get_settings

    get_settings.cache_clear()
    return sqlite_url, seed(sqlite_url)


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setattr(confirm, "stdin_is_tty", lambda: True)


def crm_cli(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def test_ask_prompts_and_yes_writes(crm, terminal):
    url, ids = crm
    r = crm_cli("ask", "claim customer C000001", *REP1, *NOW, input="y\n")
    assert r.exit_code == 0, r.output
    assert "Proposed change:" in r.output and "Do it? [y/N]" in r.output and "Done:" in r.output
    assert owner_of(url, ids["pool1"]) == ids["rep1"]
    [history] = pool_history(url, ids["pool1"])
    assert f"crm undo {history.id}" in r.output
    [audit] = write_audits(url)
    assert audit.user_id == ids["rep1"] and audit.channel == "cli" and audit.outcome == "ok"


def test_ask_prompt_no_or_empty_writes_nothing(crm, terminal):
    url, ids = crm
    for answer in ("n\n", "\n", ""):
        r = crm_cli("ask", "claim customer C000002", *REP1, *NOW, input=answer)
        assert r.exit_code == 0, r.output
        assert "Do it? [y/N]" in r.output and "Not done" in r.output
    assert owner_of(url, ids["pool2"]) is None and pool_history(url, ids["pool2"]) == [] and write_audits(url) == []


def test_ask_without_a_terminal_writes_nothing_and_exits_3(crm):
    url, ids = crm
    r = crm_cli("ask", "claim customer C000003", *REP1, *NOW)
    assert r.exit_code == confirm.EXIT_NEEDS_CONFIRMATION == 3
    assert "Do it?" not in r.output and "--yes" in r.output
    assert owner_of(url, ids["pool3"]) is None and write_audits(url) == []

    yes = crm_cli("ask", "claim customer C000003", *REP1, *NOW, "--yes")
    assert yes.exit_code == 0 and "Done:" in yes.output and "Do it?" not in yes.output
    assert owner_of(url, ids["pool3"]) == ids["rep1"]


def test_ask_json_lists_proposed_writes_and_whether_they_ran(crm):
    url, ids = crm
    held = crm_cli("ask", "claim customer C000004", *REP1, *NOW, "--json")
    assert held.exit_code == 3
    body = json.loads(held.stdout)
    [write] = body["writes"]
    assert write["tool"] == "assign_customer" and write["arguments"]["action"] == "claim"
    assert write["ran"] is False and write["status"] == "needs_confirmation" and "dry run" in write["preview"]
    assert owner_of(url, ids["pool4"]) is None

    ran = crm_cli("ask", "claim customer C000004", *REP1, *NOW, "--json", "--yes")
    assert ran.exit_code == 0, ran.output
    [write] = json.loads(ran.stdout)["writes"]
    assert write["ran"] is True and write["status"] == "done" and write["result"]["pool_history_id"]
    assert write["undo"] == f"crm undo {write['result']['pool_history_id']}"
    assert owner_of(url, ids["pool4"]) == ids["rep1"]
    reads = json.loads(crm_cli("ask", "my customers", *REP1, *NOW, "--json").stdout)
    assert reads["writes"] == []


def test_log_interaction_from_ask(crm):
    url, ids = crm
    r = crm_cli("ask", "log a call with C000011: wants a demo next week", *REP1, *NOW, "--yes")
    assert r.exit_code == 0, r.output
    [audit] = write_audits(url, tool="log_interaction")
    assert f"customer:{ids['own1']}" in audit.records and audit.user_id == ids["rep1"]


def test_batch_never_prompts(crm, terminal, tmp_path):
    url, ids = crm
    batch = tmp_path / "questions.txt"
    batch.write_text("claim customer C000005\nmy customers\n", encoding="utf-8")
    held = crm_cli("ask", "--batch", str(batch), *REP1, *NOW, "--json", input="y\n")
    assert held.exit_code == 0 and "Do it?" not in held.output
    lines = [json.loads(line) for line in held.stdout.splitlines() if line.startswith("{")]
    assert lines[0]["writes"][0]["status"] == "needs_confirmation" and lines[1]["writes"] == []
    assert owner_of(url, ids["pool5"]) is None
    ran = crm_cli("ask", "--batch", str(batch), *REP1, *NOW, "--yes")
    assert ran.exit_code == 0 and "Done:" in ran.output
    assert owner_of(url, ids["pool5"]) == ids["rep1"]


def test_chat_prompts_per_write(crm, terminal):
    url, ids = crm
    r = crm_cli("chat", *REP1, *NOW, input="claim customer C000001\ny\nrelease customer C000011\nn\n/quit\n")
    assert r.exit_code == 0, r.output
    assert r.output.count("Do it? [y/N]") == 2
    assert owner_of(url, ids["pool1"]) == ids["rep1"] and owner_of(url, ids["own1"]) == ids["rep1"]


def test_tool_write_previews_and_needs_yes(crm, terminal, monkeypatch):
    url, ids = crm
    args = ["tool", "assign_customer", "--customer", "C000002", "--action", "claim", *REP1, *NOW]
    declined = crm_cli(*args, input="n\n")
    assert declined.exit_code == 0 and "Would be (dry run)" in declined.output and "Not done" in declined.output
    assert owner_of(url, ids["pool2"]) is None
    confirmed = crm_cli(*args, input="y\n")
    assert confirmed.exit_code == 0 and "Done:" in confirmed.output
    assert owner_of(url, ids["pool2"]) == ids["rep1"]

    monkeypatch.setattr(confirm, "stdin_is_tty", lambda: False)
    note = ["tool", "log_interaction", "--customer", "C000011", "--kind", "note", "--body", "sent the brochure",
            *REP1, *NOW]
    held = crm_cli(*note, "--json")
    assert held.exit_code == 3 and json.loads(held.stdout)["dry_run"] is True
    assert write_audits(url, tool="log_interaction") == []
    dry = crm_cli(*note, "--dry_run")
    assert dry.exit_code == 0 and "Would log (dry run)" in dry.output
    done = crm_cli(*note, "--yes", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["interaction"]["id"]
    assert len(write_audits(url, tool="log_interaction")) == 1


def test_undo_command(crm, terminal):
    url, ids = crm
    crm_cli("ask", "claim customer C000003", *REP1, *NOW, "--yes")
    [claim] = pool_history(url, ids["pool3"])
    no = crm_cli("undo", str(claim.id), *REP1, *NOW, input="n\n")
    assert no.exit_code == 0 and owner_of(url, ids["pool3"]) == ids["rep1"]
    yes = crm_cli("undo", "--last", *REP1, *NOW, input="y\n")
    assert yes.exit_code == 0, yes.output
    assert "released to the public pool" in yes.output and owner_of(url, ids["pool3"]) is None
    again = crm_cli("undo", str(claim.id), *REP1, *NOW, "--yes")
    assert again.exit_code == 1 and "already undone" in again.output
    assert [a.outcome for a in write_audits(url)] == ["ok", "ok"]
    assert crm_cli("undo", *REP1).exit_code != 0  # neither an id nor --last


def test_undo_refused_after_someone_else_reassigned(crm):
    url, ids = crm
    crm_cli("tool", "assign_customer", "--customer", "C000004", "--action", "claim", *REP1, *NOW, "--yes")
    [claim] = pool_history(url, ids["pool4"])
    crm_cli("tool", "assign_customer", "--customer", str(ids["pool4"]), "--action", "assign", "--to", "rep2@w.crm",
            "--as", "head@w.crm", *NOW, "--yes")
    r = crm_cli("undo", str(claim.id), *REP1, *NOW, "--yes", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["error"] == "conflict"
    assert owner_of(url, ids["pool4"]) == ids["rep2"]
