"""`crm audit`: filters by user, time, action, tool and record; JSON lines; clear errors for bad input.

Rows are written the way the assistant writes them (``assistant.audit.record_turn``) and the way
write tools do (``tools.audit.audit_write``), at times relative to the real clock so ``7d`` and
``yesterday`` mean what they say. SQLite always; PostgreSQL with CRM_TEST_POSTGRES.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from sqlmodel import Session
from typer.testing import CliRunner

from assistant.audit import record_turn
from integrations.cli.app import app
from storage.audit_query import parse_when
from storage.db import engine_for
from storage.models import StaffUser, utcnow
from tools import Citation, ToolContext, ToolResult
from tools.audit import audit_write

runner = CliRunner()


def turn(tool: str, args: dict, cited: list[tuple[str, int]]) -> list:
    result = ToolResult(summary="s", citations=[Citation(kind=k, id=i, label=f"{k} {i}") for k, i in cited])
    return [HumanMessage("q"), AIMessage("", tool_calls=[{"name": tool, "args": args, "id": "c1"}]),
            ToolMessage("s", tool_call_id="c1", artifact=result), AIMessage("done")]


@pytest.fixture
def log(database_url) -> dict:
    return build_log(database_url)


@pytest.fixture
def sqlite_log(sqlite_url) -> dict:
    """The same history on SQLite only, for the many small cases that need no second backend."""
    return build_log(sqlite_url)


def build_log(database_url: str) -> dict:
    """Three staff users and a small history: now-1h (rita, web), now-3d (sam, slack), now-10d (admin, cli)."""
    with Session(engine_for(database_url)) as s:
        users = [StaffUser(name="Demo Admin", email="admin@demo.crm", role="admin"),
                 StaffUser(name="Rita Rep", email="rita@demo.crm", role="rep", team="East"),
                 StaffUser(name="Sam Rep", email="sam@demo.crm", role="rep", team="East")]
        s.add_all(users)
        s.commit()
        admin, rita, sam = (u.id for u in users)
    now = utcnow().replace(microsecond=0)

    def ctx(user_id: int, channel: str, ago: timedelta) -> ToolContext:
        return ToolContext(user_id=user_id, role="rep", channel=channel, now=now - ago, database_url=database_url)

    assert record_turn(context=ctx(rita, "web", timedelta(hours=1)), question="Acme Trading profile", thread_id="t1",
                       messages=turn("customer_profile", {"customer": "Acme Trading"}, [("customer", 12)]))
    assert record_turn(context=ctx(sam, "slack", timedelta(days=3)), question="orders of customer 1", thread_id="t2",
                       messages=turn("purchase_history", {"customer": 1}, [("customer", 1), ("order", 7)]))
    assert record_turn(context=ctx(admin, "cli", timedelta(days=10)), question="pipeline?", thread_id="t3",
                       messages=turn("sales_pipeline", {}, []))
    with Session(engine_for(database_url)) as s:
        audit_write(s, ctx(rita, "web", timedelta(minutes=30)), tool="assign_customer",
                    arguments={"customer": 12, "action": "claim"}, records=["customer:12"])
        s.commit()
    return {"admin": admin, "rita": rita, "sam": sam, "now": now}


def crm_audit(*args: str):
    return runner.invoke(app, ["audit", *args])


def json_rows(*args: str) -> list[dict]:
    result = crm_audit(*args, "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_json_lines_are_newest_first_with_every_field(log):
    rows = json_rows()
    assert [(r["action"], r["tool"]) for r in rows] == [
        ("write", "assign_customer"),
        ("tool_call", "customer_profile"), ("question", None),
        ("tool_call", "purchase_history"), ("question", None),
        ("tool_call", "sales_pipeline"), ("question", None),
    ]
    question = rows[2]
    assert question["question"] == "Acme Trading profile" and question["arguments"]["thread_id"] == "t1"
    assert question["user_email"] == "rita@demo.crm" and question["channel"] == "web" and question["outcome"] == "ok"
    assert rows[1]["records"] == ["customer:12"] and rows[1]["arguments"] == {"customer": "Acme Trading"}
    assert rows[3]["records"] == ["customer:1", "order:7"]


def test_user_filter_takes_an_email_in_any_case_or_an_id(log):
    by_email = json_rows("--user", "RITA@demo.crm")
    by_id = json_rows("--user", str(log["rita"]))
    assert by_email == by_id and len(by_email) == 3
    assert {r["user_id"] for r in by_email} == {log["rita"]}


def test_an_unknown_user_is_a_clear_error_with_exit_2(log):
    result = crm_audit("--user", "nobody@demo.crm")
    assert result.exit_code == 2
    assert "no staff user 'nobody@demo.crm'" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("since,expected_users", [
    ("24h", {"rita"}), ("7d", {"rita", "sam"}), ("2w", {"rita", "sam", "admin"}), ("yesterday", {"rita"}),
    ("5 days ago", {"rita", "sam"}),
])
def test_since_accepts_relative_forms(sqlite_log, since, expected_users):
    rows = json_rows("--since", since)
    assert {r["user_id"] for r in rows} == {sqlite_log[u] for u in expected_users}


def test_since_and_until_accept_iso_dates_and_a_bare_until_date_includes_its_day(log):
    sam_day = (log["now"] - timedelta(days=3)).date().isoformat()
    rows = json_rows("--since", sam_day, "--until", sam_day)
    assert {r["user_id"] for r in rows} == {log["sam"]} and len(rows) == 2


def test_action_tool_and_record_filters(log):
    assert [r["tool"] for r in json_rows("--action", "write")] == ["assign_customer"]
    assert {r["action"] for r in json_rows("--action", "question")} == {"question"}
    assert [r["action"] for r in json_rows("--tool", "purchase_history")] == ["tool_call"]
    # customer:1 must not match customer:12
    assert [r["tool"] for r in json_rows("--record", "customer:1")] == ["purchase_history"]
    assert [r["tool"] for r in json_rows("--record", "customer:12")] == ["assign_customer", "customer_profile"]
    assert [r["channel"] for r in json_rows("--channel", "slack", "--action", "question")] == ["slack"]


def test_limit_keeps_the_newest_rows(sqlite_log):
    rows = json_rows("--limit", "2")
    assert [r["action"] for r in rows] == ["write", "tool_call"]


def test_the_table_shows_who_what_and_which_records(sqlite_log):
    result = runner.invoke(app, ["audit", "--user", "rita@demo.crm"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("rita@demo.crm", "customer_profile", "assign_customer", "customer:12", "Acme Trading profile",
                 "3 rows, newest first"):
        assert text in out, text


@pytest.mark.parametrize("args,message", [
    (["--since", "the day the music died"], "--since: cannot read"),
    (["--until", "??"], "--until: cannot read"),
    (["--since", "1d", "--until", "3d"], "is not before --until"),
    (["--record", "customer12"], "not a record reference"),
])
def test_bad_filters_are_clear_errors_with_exit_2(sqlite_log, args, message):
    result = crm_audit(*args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_no_rows_and_no_database_are_reported_plainly(sqlite_url, tmp_path, monkeypatch):
    result = crm_audit()
    assert result.exit_code == 0 and "no audit rows match" in result.stdout
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    from storage.settings import get_settings

    get_settings.cache_clear()
    result = crm_audit()
    assert result.exit_code == 1 and "no CRM database yet" in result.output


def test_parse_when_forms():
    now = datetime(2025, 6, 15, 12, 30)
    assert parse_when("7d", now=now) == datetime(2025, 6, 8, 12, 30)
    assert parse_when("24h", now=now) == datetime(2025, 6, 14, 12, 30)
    assert parse_when("90m", now=now) == datetime(2025, 6, 15, 11, 0)
    assert parse_when("yesterday", now=now) == datetime(2025, 6, 14)
    assert parse_when("昨天", now=now, end=True) == datetime(2025, 6, 15)
    assert parse_when("2025-06-01", now=now) == datetime(2025, 6, 1)
    assert parse_when("2025-06-01", now=now, end=True) == datetime(2025, 6, 2)
    assert parse_when("2025-06-01T10:00+02:00", now=now) == datetime(2025, 6, 1, 8, 0)
    assert parse_when("3 days ago", now=now) == datetime(2025, 6, 12, 12, 30)
    with pytest.raises(ValueError):
        parse_when("not a time at all", now=now)
