"""Score one reply: right tool, right key arguments, right answer.

Numbers are looked for everywhere the reply shows data (answer text, table cells
raw and formatted), with the tolerance of the format they are shown in: money to
the cent, percentages to a tenth of a point.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from evals.fixtures import EVAL_TODAY, Entities
from evals.oracle import Expectation
from evals.periods import resolve

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?%?")


@dataclass
class Score:
    tool_ok: bool
    args_ok: bool
    answer_ok: bool
    reason: str = ""


def _norm(value: Any) -> str:
    return re.sub(r"[\s'’·\-_.,]", "", unicodedata.normalize("NFKC", str(value)).casefold())


def reply_numbers(reply: Any) -> list[tuple[float, float]]:
    """Every number the reply shows, with the half-step of the precision it was shown at.

    Sources: the answer text and the tables (raw values exactly, formatted cells at their
    precision). "56%" stands for 0.555..0.565; "1,234.50" for 1,234.495..1,234.505.
    """
    out: list[tuple[float, float]] = []
    texts = [reply.answer]
    for table in reply.tables:
        for row in table.rows:
            for v in row:
                if isinstance(v, bool) or v is None:
                    continue
                if isinstance(v, int | float):
                    out.append((float(v), 1e-9))
                else:
                    texts.append(str(v))
        try:
            texts += [" ".join(r) for r in table.formatted_rows()]
        except Exception:  # noqa: BLE001 - a malformed table still has its raw values
            pass
    for t in texts:
        for m in _NUMBER.finditer(t):
            raw = m[0]
            digits = raw.rstrip("%").replace(",", "")
            try:
                value = float(digits)
            except ValueError:
                continue
            decimals = len(digits.split(".")[1]) if "." in digits else 0
            half = 0.5 * 10**-decimals + 1e-9
            if raw.endswith("%"):
                out.append((value / 100, half / 100))
            out.append((value, half))
    return out


def reply_text(reply: Any) -> str:
    parts = [reply.answer]
    for table in reply.tables:
        for row in table.rows:
            parts.append(" ".join("" if v is None else str(v) for v in row))
    return "\n".join(parts)


def number_present(value: float, kind: str, numbers: list[tuple[float, float]]) -> bool:
    """Whether some shown number could be ``value`` at the precision it was shown with."""
    candidates = [value, value * 100] if kind == "pct" else [value]
    # Money sums may differ by a cent between summing orders and summing rounded lines.
    slack = 0.011 if kind == "money" else 0.0
    for shown, half in numbers:
        for v in candidates:
            if abs(shown - v) <= half + slack + abs(v) * 1e-9:
                return True
    return False


def check_answer(reply: Any, exp: Expectation, *, db_ok: bool | None = None) -> tuple[bool, str]:
    calls = reply.tool_calls
    if exp.no_tool:
        if calls:
            return False, f"expected no tool call, got {calls[0].name}"
        if exp.ask_back and not re.search(r"\?|？|which|哪", reply.answer, re.I):
            return False, "expected a question back"
        return bool(reply.answer.strip()), "empty answer" if not reply.answer.strip() else ""
    if exp.clarify:
        bullets = [line for line in reply.answer.splitlines() if line.strip().startswith("•")]
        return (len(bullets) >= 2, "" if len(bullets) >= 2 else "no candidate list")
    if exp.error:
        codes = [c.error for c in calls]
        return (exp.error in codes, "" if exp.error in codes else f"expected error {exp.error}, got {codes}")
    if reply.error is not None:
        return False, f"reply error {reply.error.code}"
    if any(c.error for c in calls):
        return False, f"tool error {[c.error for c in calls]}"
    if exp.db_check is not None:
        return (bool(db_ok), "" if db_ok else "database not changed as expected")
    numbers = reply_numbers(reply)
    for value, kind in exp.numbers:
        if not number_present(value, kind, numbers):
            return False, f"missing {kind} {value:,.4g}"
    body = _norm(reply_text(reply))
    for options in exp.texts:
        if not any(_norm(o) in body for o in options if o):
            return False, f"missing text {options[0]!r}"
    if exp.names:
        found = sum(1 for n in exp.names if _norm(n) in body)
        recall = found / len(exp.names)
        if recall + 1e-9 < exp.min_recall:
            return False, f"names recall {recall:.2f} < {exp.min_recall:.2f}"
    if exp.nonempty_table and not any(t.rows for t in reply.tables):
        return False, "empty table"
    if exp.excluded_names:
        owned = {_norm(n) for n in exp.excluded_names}
        for table in reply.tables:
            for row in table.rows:
                if any(isinstance(v, str) and _norm(v) in owned for v in row):
                    return False, f"recommended an owned product: {row}"
    return True, ""


# ---------------------------------------------------------------- arguments


def _period_matches(actual: Any, token: str) -> bool:
    start, end = resolve(token, EVAL_TODAY)
    end = min(end, EVAL_TODAY)
    if not isinstance(actual, dict):
        return False
    try:
        a_start = date.fromisoformat(actual["start"]) if actual.get("start") else None
        a_end = date.fromisoformat(actual["end"]) if actual.get("end") else EVAL_TODAY
    except (TypeError, ValueError):
        return False
    return a_start == start and min(a_end, EVAL_TODAY) == end


def _value_matches(actual: Any, expected: Any, ent: Entities) -> bool:
    if isinstance(expected, str) and expected.startswith("{") and expected.endswith("}"):
        key = expected.strip("{}")
        if isinstance(actual, int) and not isinstance(actual, bool):
            return ent.ids.get(key) == actual
        if isinstance(actual, str) and actual.strip().isdigit():
            return ent.ids.get(key) == int(actual)
        expected = ent.values.get(key, expected)
    if isinstance(expected, list):
        got = actual if isinstance(actual, list) else [actual]
        return {_norm(v) for v in got} == {_norm(v) for v in expected}
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        return all(_value_matches(actual.get(k), v, ent) for k, v in expected.items())
    if isinstance(expected, bool):
        return actual is expected
    if isinstance(actual, list) and len(actual) == 1:
        actual = actual[0]
    return _norm(actual) == _norm(expected)


_TOP_KEYS = ("top_n", "limit", "size", "top")


def check_args(actual: dict, expected: dict, ent: Entities) -> tuple[bool, str]:
    for key, want in expected.items():
        if key == "period":
            got = actual.get("period")
            if got is None and ("close_from" in actual or "close_to" in actual):
                got = {"start": actual.get("close_from"), "end": actual.get("close_to")}
            if want is None:
                if got:
                    return False, f"period {got} not expected"
                continue
            if not _period_matches(got, want):
                return False, f"period {got} != {want}"
        elif key == "top":
            got = next((actual[k] for k in _TOP_KEYS if k in actual), None)
            if got != want:
                return False, f"top {got} != {want}"
        elif want is None:
            if actual.get(key) not in (None, [], {}):
                return False, f"{key}={actual.get(key)!r} not expected"
        elif not _value_matches(actual.get(key), want, ent):
            return False, f"{key}={actual.get(key)!r} != {want!r}"
    return True, ""
