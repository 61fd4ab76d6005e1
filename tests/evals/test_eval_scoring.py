"""The scorer: numbers at the precision shown, arguments by meaning, period tokens."""

from datetime import date

from evals.fixtures import Entities
from evals.oracle import Expectation
from evals.periods import resolve
from evals.scoring import check_answer, check_args, number_present, reply_numbers
from tools.results import Column, Table


class FakeReply:
    def __init__(self, answer, tables=(), calls=(), error=None):
        self.answer = answer
        self.tables = list(tables)
        self.tool_calls = list(calls)
        self.error = error


class Call:
    def __init__(self, name, args=None, error=None):
        self.name, self.args, self.error = name, args or {}, error


def test_period_tokens():
    today = date(2026, 11, 22)
    assert resolve("last_quarter", today) == (date(2026, 7, 1), date(2026, 9, 30))
    assert resolve("this_week", today) == (date(2026, 11, 16), date(2026, 11, 22))
    assert resolve("last_30_days", today) == (date(2026, 10, 24), today)
    assert resolve("quarter:2025-Q4", today) == (date(2025, 10, 1), date(2025, 12, 31))


def test_numbers_match_at_their_shown_precision():
    reply = FakeReply("Win rate 56% over 88 deals; revenue 1,234.50.")
    shown = reply_numbers(reply)
    assert number_present(0.5581, "pct", shown)
    assert not number_present(0.5481, "pct", shown)
    assert number_present(1234.5, "money", shown)
    assert number_present(88, "int", shown)
    assert not number_present(1240.0, "money", shown)


def test_table_values_count_and_names_are_found():
    table = Table(columns=[Column(key="region", label="Region"), Column(key="revenue", label="Revenue", kind="money")],
                  rows=[["East China", 172062.68], ["UK", 155812.67]])  # fmt: skip
    reply = FakeReply("Revenue by region.", tables=[table], calls=[Call("query_metrics")])
    ok, _ = check_answer(reply, Expectation(numbers=[(172062.68, "money"), (155812.67, "money")], names=["East China"]))
    assert ok
    ok, why = check_answer(reply, Expectation(numbers=[(1.0, "money")]))
    assert not ok and "missing" in why


def test_refusals_clarifications_and_errors():
    assert check_answer(FakeReply("Sorry, that's outside…"), Expectation(no_tool=True))[0]
    assert not check_answer(FakeReply("x", calls=[Call("query_metrics")]), Expectation(no_tool=True))[0]
    assert check_answer(FakeReply("Which one?\n• Wang Fang (NY)\n• Wang Fang (SF)", calls=[Call("x", error="ambiguous")]),
                        Expectation(clarify=True))[0]  # fmt: skip
    assert check_answer(FakeReply("not found", calls=[Call("x", error="not_found")]), Expectation(error="not_found"))[0]


def test_arguments_compare_by_meaning():
    ent = Entities(values={"customer": "Chen Jing", "city_en": "Shanghai"}, ids={"customer": 708})
    actual = {"customer": 708, "measures": ["revenue"], "dimensions": ["region"], "filters": {"city": "shanghai"},
              "period": {"start": "2026-10-01", "end": "2026-10-31"}, "top_n": 5}  # fmt: skip
    expected = {"customer": "{customer}", "measures": ["revenue"], "dimensions": ["region"],
                "filters": {"city": "{city_en}"}, "period": "last_month", "top": 5}  # fmt: skip
    assert check_args(actual, expected, ent) == (True, "")
    assert not check_args({**actual, "period": {"start": "2026-09-01", "end": "2026-09-30"}}, expected, ent)[0]
    assert check_args({"customer": "chen jing"}, {"customer": "{customer}"}, ent)[0]
    # Calendar periods may run past today; the tools clamp them, so does the scorer.
    assert check_args({"period": {"start": "2026-11-01", "end": "2026-11-30"}}, {"period": "this_month"}, ent)[0]
