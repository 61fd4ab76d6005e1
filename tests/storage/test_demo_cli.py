"""`crm demo` through the real CLI: refuses a non-empty database without --reset, locales, bad input."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from integrations.cli.app import app
from storage.settings import get_settings

runner = CliRunner()


def test_refuses_non_empty_database_without_reset():
    first = runner.invoke(app, ["demo", "--customers", "100", "--today", "2026-11-22"])
    assert first.exit_code == 0, first.output
    assert "order_line" in first.output and "planted truths" in first.output

    again = runner.invoke(app, ["demo", "--customers", "100", "--today", "2026-11-22"])
    assert again.exit_code == 1
    assert "--reset" in again.output and "Traceback" not in again.output

    reset = runner.invoke(app, ["demo", "--customers", "120", "--today", "2026-11-22", "--reset"])
    assert reset.exit_code == 0, reset.output
    with sqlite3.connect(get_settings().sqlite_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM customer").fetchone()[0] == 120


def test_zh_locale_gives_chinese_names():
    result = runner.invoke(app, ["demo", "--customers", "100", "--locale", "zh_CN", "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(get_settings().sqlite_path) as conn:
        rows = conn.execute("SELECT name, language, country FROM customer").fetchall()
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name, _, _ in rows)
    assert {lang for _, lang, _ in rows} == {"zh"} and {c for _, _, c in rows} == {"China"}


def test_bad_arguments_fail_cleanly():
    bad_date = runner.invoke(app, ["demo", "--today", "22/11/2026"])
    assert bad_date.exit_code == 1 and "--today" in bad_date.output
    bad_locale = runner.invoke(app, ["demo", "--locale", "fr_FR"])
    assert bad_locale.exit_code == 2
