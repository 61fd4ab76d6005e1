"""Bad input at the terminal: every case ends in a clear message and an exit code, never a traceback,
and leaves the CRM data exactly as it was.

Each case runs the real entry point (``integrations.cli.app.main``, the function behind the ``crm``
script) in this process, so 60 cases cost seconds instead of 60 interpreter start-ups. Arguments may
hold what no shell could pass (NUL bytes); ``{tmp}`` in an argument becomes the test's temp folder.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest
from _robust_data import build_demo, data_counts

BIG = "revenue " * 12_500  # 100,000 characters
SQL = "'; DROP TABLE customer; --"


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    exit: str = "fail"  # "fail": 1, "usage": 2 (click's usage errors), "unconfirmed": 3, "ok": 0, "any": 0-3
    says: str = ""  # a fragment the output must contain (case-insensitive)


CASES = [
    # crm ask: empty, whitespace, unknown users, bad dates and files
    Case("ask-empty", ("ask", ""), says="give a question"),
    Case("ask-whitespace", ("ask", "  \t \n "), says="give a question"),
    Case("ask-missing", ("ask",), says="give a question"),
    Case("ask-unknown-user", ("ask", "--as", "nobody@x", "revenue this year"), says="no active staff user"),
    Case("ask-user-markup", ("ask", "--as", "[/x]@y", "hi"), says="no active staff user with email '[/x]@y'"),
    Case("ask-user-sql", ("ask", "--as", f"x{SQL}@y", "hi"), says="no active staff user"),
    Case("ask-now-feb-30", ("ask", "--now", "2026-02-30", "revenue"), says="--now must be a date"),
    Case("ask-now-words", ("ask", "--now", "yesterday", "revenue"), says="--now must be a date"),
    Case("ask-now-negative", ("ask", "--now", "-2026-01-01", "revenue"), says="--now must be a date"),
    Case("ask-model-unknown", ("ask", "--model", "gpt-9", "hi"), says="crm_model must be"),
    Case("ask-batch-missing", ("ask", "--batch", "{tmp}/nope.txt"), says="no such file"),
    Case("ask-batch-folder", ("ask", "--batch", "{tmp}"), says="no such file"),
    Case("ask-batch-empty", ("ask", "--batch", "{tmp}/empty.txt"), says="has no questions"),
    Case("ask-batch-not-utf8", ("ask", "--batch", "{tmp}/latin1.txt"), says="not valid utf-8"),
    Case("ask-batch-and-question", ("ask", "hi", "--batch", "{tmp}/empty.txt"), says="either a question"),
    Case("ask-unknown-option", ("ask", "--frobnicate", "hi"), exit="usage", says="no such option"),
    # crm ask: odd questions get an answer (exit 0), and nothing is written
    Case("ask-sql", ("ask", SQL), exit="ok"),
    Case("ask-sql-union", ("ask", "customers' UNION SELECT password_hash FROM staff_user --"), exit="ok"),
    Case("ask-control-chars", ("ask", "\x1b[31mrevenue\x07 this\x08 year\x1b[0m"), exit="ok", says="revenue"),
    Case("ask-nul", ("ask", "revenue\x00 this year"), exit="ok", says="revenue"),
    Case("ask-rich-markup", ("ask", "[bold red]revenue[/] [/x] this year"), exit="ok"),
    Case("ask-100k", ("ask", BIG), exit="fail", says="too long for one question"),
    Case("ask-emoji-rtl", ("ask", "\u202e\u0643\u0645 \u0627\u0644\u0625\u064a\u0631\u0627\u062f\u0627\u062a 😀🔥"), exit="ok"),
    Case("ask-zalgo", ("ask", "re\u0301\u0302\u0303venue\u200b\u200d\ufeff this year"), exit="ok"),
    Case("ask-huge-top-n", ("ask", "top 1000000000000 customers by revenue"), exit="ok"),
    Case("ask-negative-top-n", ("ask", "top -5 customers by revenue"), exit="ok"),
    Case("ask-feb-30", ("ask", "revenue on 2026-02-30"), exit="ok"),
    Case("ask-last-huge-days", ("ask", "revenue in the last 99999999999 days"), exit="ok"),
    Case("ask-year-99999", ("ask", "revenue in 99999"), exit="ok"),
    Case("ask-path-thread", ("ask", "--thread", "../../etc/passwd", "revenue this year"), exit="ok"),
    Case("ask-write-unconfirmed", ("ask", "--as", "rep01@demo.crm", "claim customer C000001"), exit="any"),
    Case("ask-write-unknown-customer", ("ask", "log a call with C999999: she wants a demo"), exit="any"),
    # crm tool: unknown tools and arguments, wrong types, bad numbers and dates
    Case("tool-unknown", ("tool", "drop_everything"), says="unknown tool"),
    Case("tool-unknown-markup", ("tool", "[/x]"), says="unknown tool '[/x]'"),
    Case("tool-unknown-sql", ("tool", SQL), says="unknown tool"),
    Case("tool-positional-junk", ("tool", "find_customers", "oops"), says="expected --name value"),
    Case("tool-limit-huge", ("tool", "find_customers", "--limit", "100000000000"), says="less than or equal to"),
    Case("tool-limit-negative", ("tool", "find_customers", "--limit", "-5"), says="invalid arguments"),
    Case("tool-limit-text", ("tool", "find_customers", "--limit", "lots"), says="invalid arguments"),
    Case("tool-limit-list", ("tool", "find_customers", "--limit", "[1, 2]"), says="invalid arguments"),
    Case("tool-city-object", ("tool", "find_customers", "--city", '{"$ne": null}'), says="invalid arguments"),
    Case("tool-city-broken-json", ("tool", "find_customers", "--city", '{"unterminated'), exit="any"),
    Case("tool-sort-unknown", ("tool", "find_customers", "--sort", SQL), says="invalid arguments"),
    Case("tool-missing-required", ("tool", "customer_profile"), says="invalid arguments"),
    Case("tool-customer-unknown", ("tool", "customer_profile", "--customer", "99999999"), says="find"),
    Case("tool-customer-sql", ("tool", "customer_profile", "--customer", SQL), exit="fail"),
    Case("tool-customer-nul", ("tool", "customer_profile", "--customer", "C00\x000001"), exit="fail"),
    Case("tool-customer-negative", ("tool", "customer_profile", "--customer", "-1"), exit="fail"),
    Case("tool-customer-overflow", ("tool", "customer_profile", "--customer", "9" * 25), says="no customer found"),
    Case("tool-customer-unicode-digit", ("tool", "purchase_history", "--customer", "²"), says="no customer found"),
    Case("tool-order-overflow", ("tool", "order_status", "--order", "9" * 25), says="no order found"),
    Case("tool-staff-overflow", ("tool", "assign_customer", "--customer", "1", "--action", "assign", "--to", "9" * 25,
                                 "--dry_run", "true"), says="no staff member found"),
    Case("tool-measure-unknown", ("tool", "query_metrics", "--measure", SQL), exit="fail"),
    Case("tool-period-feb-30", ("tool", "query_metrics", "--measure", "revenue", "--period.start", "2026-02-30",
                                "--period.end", "2026-03-31"), says="invalid arguments"),
    Case("tool-period-reversed", ("tool", "query_metrics", "--measure", "revenue", "--period.start", "2026-06-01",
                                  "--period.end", "2026-01-01"), exit="fail"),
    Case("tool-nested-conflict", ("tool", "query_metrics", "--period", "x", "--period.start", "2026-01-01"),
         says="conflicts"),
    Case("tool-now-bad", ("tool", "find_customers", "--now", "2026-13-01"), says="--now must be"),
    Case("tool-as-unknown", ("tool", "find_customers", "--as", "nobody@x"), says="no active staff user"),
    Case("tool-as-needs-value", ("tool", "find_customers", "--as"), says="--as needs a value"),
    # crm tool writes: refused, invalid or unconfirmed, and never half-done
    Case("write-support-refused", ("tool", "assign_customer", "--customer", "1", "--action", "release",
                                   "--as", "support01@demo.crm", "--yes"), says="cannot change customer ownership"),
    Case("write-rep-assigns", ("tool", "assign_customer", "--customer", "1", "--action", "assign", "--to", "rep02",
                               "--as", "rep01@demo.crm", "--yes"), exit="fail"),
    Case("write-rep-other-customer", ("tool", "assign_customer", "--customer", "99999999", "--action", "claim",
                                      "--as", "rep01@demo.crm", "--yes"), exit="fail"),
    Case("write-blank-body", ("tool", "log_interaction", "--customer", "1", "--kind", "note", "--body", "   ",
                              "--yes"), says="invalid arguments"),
    Case("write-kind-unknown", ("tool", "log_interaction", "--customer", "1", "--kind", "telepathy", "--body", "x",
                                "--yes"), says="invalid arguments"),
    Case("write-feb-30", ("tool", "log_interaction", "--customer", "1", "--kind", "note", "--body", "x",
                          "--occurred_at", "2026-02-30T10:00", "--yes"), says="invalid arguments"),
    Case("write-future", ("tool", "log_interaction", "--customer", "1", "--kind", "note", "--body", "x",
                          "--occurred_at", "2099-01-01T10:00", "--yes"), says="future"),
    Case("write-100k-dry-run", ("tool", "log_interaction", "--customer", "1", "--kind", "note", "--body", "x" * 100_000,
                                "--dry_run", "true"), exit="any"),
    Case("write-unconfirmed", ("tool", "assign_customer", "--customer", "1", "--action", "release"),
         exit="unconfirmed", says="nothing was written"),
    Case("write-negative-duration", ("tool", "log_interaction", "--customer", "1", "--kind", "call", "--body", "x",
                                     "--duration_minutes", "-30", "--yes"), exit="fail"),
    # other commands
    Case("users-bad-role", ("users", "add", "new@x.test", "--name", "New", "--role", "god", "--no-password"),
         exit="fail"),
    Case("users-not-email", ("users", "add", "not-an-email", "--name", "New", "--no-password"), says="not an email"),
    Case("users-duplicate", ("users", "add", "admin@demo.crm", "--name", "Again", "--no-password"),
         says="already exists"),
    Case("users-password-unknown", ("users", "set-password", "nobody@x", "--password", "a long enough password 1"),
         exit="fail"),
    Case("restore-missing", ("restore", "{tmp}/nope.backup", "--yes"), says="not found"),
    Case("restore-garbage", ("restore", "{tmp}/latin1.txt", "--yes"), says="not a readable sqlite database"),
    Case("import-missing-entity", ("import", "csv", "{tmp}/nope.csv"), exit="usage", says="missing option"),
    Case("import-missing", ("import", "csv", "{tmp}/nope.csv", "--entity", "customers"), says="not found"),
    Case("import-not-text", ("import", "csv", "{tmp}/latin1.txt", "--entity", "customers"), exit="fail"),
    Case("search-100k", ("search", "x" * 100_000), says="at most 500 characters"),
    Case("search-sql", ("search", SQL), exit="any"),
    Case("gdpr-export-unknown", ("gdpr", "export", "99999999"), exit="fail"),
    Case("audit-since-feb-30", ("audit", "--since", "2026-02-30"), exit="any", says="2026-02-30"),
    Case("unknown-command", ("frobnicate",), exit="usage", says="no such command"),
]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    return build_demo(tmp_path_factory.mktemp("bad_cli"))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "empty.txt").write_text("\n# only a comment\n   \n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("revenue in Zürich\n".encode("latin-1") + b"\xff\xfe\x00garbage")
    return tmp_path


def run_crm(argv: list[str], *, monkeypatch, capsys) -> tuple[int, str]:
    """Exit code and everything printed, from the same entry point the `crm` script calls."""
    from integrations.cli.app import main

    monkeypatch.setattr(sys, "argv", ["crm", *argv])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_cli_input_gets_a_clear_error_and_changes_nothing(case, demo_url, files, monkeypatch, capsys):
    from storage.settings import get_settings

    monkeypatch.setenv("CRM_DATABASE_URL", demo_url)
    monkeypatch.setenv("CRM_MODEL", "offline")  # and `ask --model` may set it: restored after the test
    get_settings.cache_clear()
    before = data_counts(demo_url)
    code, output = run_crm([a.replace("{tmp}", str(files)) for a in case.argv], monkeypatch=monkeypatch,
                           capsys=capsys)
    assert "Traceback" not in output, output
    expected = {"fail": {1}, "usage": {2}, "unconfirmed": {3}, "ok": {0}, "any": {0, 1, 2, 3}}[case.exit]
    assert code in expected, f"exit {code}: {output[-2000:]}"
    assert case.says.lower() in output.lower(), output[-2000:]
    if code in (1, 2):
        errors = [line for line in output.splitlines() if line.lower().startswith(("error", "usage:"))]
        assert errors or "try 'crm" in output.lower(), f"no clear error line: {output[-2000:]}"
    assert data_counts(demo_url) == before, "a rejected or odd input changed CRM data"


def test_case_table_is_large_enough():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
