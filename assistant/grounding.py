"""Every number in a final answer must come from a tool result of that turn.

Sources are the turn's tool results (summaries, table cells raw and formatted, domain
fields, chart series, error candidates), the arguments of the turn's tool calls
("top 10") and the question itself ("last 30 days"). A number in the answer is
grounded when some source value rounds to it at the precision it was written with
(``1.2k`` ~ 1,234; ``12.3%`` ~ 0.1234; ``0.12`` ~ 12.3%).

An ungrounded number is repaired when exactly one source value lies within 3% of
it (the model mis-rounded or mistyped a tool figure): it is replaced by that value
as the tool formatted it. Otherwise the answer gets a visible warning listing the
unverified figures. Either way ``Grounding`` records what happened; nothing is
sent silently.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from assistant.numbers import Mention, find_numbers
from assistant.reply import Grounding
from tools.errors import ToolError
from tools.results import ToolResult, format_value

REPAIR_RELATIVE = 0.03
_PLAIN_DATE = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$")
_WARNING = {
    "en": "⚠️ Unverified figures: {items}. They do not appear in the data the tools returned this turn; "
    "please double-check them.",
    "zh": "⚠️ 以下数字未能与本轮工具返回的数据核对：{items}，请核实。",
}


class SourceIndex:
    """Absolute values stated by the turn's sources, sorted for range look-ups, with how the tool wrote them."""

    def __init__(self) -> None:
        self._values: list[float] = []
        self._display: dict[float, str] = {}
        self._sorted = True

    def __len__(self) -> int:
        return len(self._values)

    def add_value(self, value: Any, display: str | None = None) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN
            return
        v = abs(float(value))
        self._values.append(v)
        self._sorted = False
        key = round(v, 9)
        if display and key not in self._display:
            self._display[key] = display

    def add_text(self, text: str | None) -> None:
        if not text or not any(ch.isdigit() for ch in text) or _PLAIN_DATE.match(text):
            return
        for m in find_numbers(text):
            self.add_value(m.magnitude, m.text)

    def add_object(self, obj: Any, *, depth: int = 0) -> None:
        """Walk a result's domain fields (or a dict reloaded from a checkpoint) for numbers and texts."""
        if depth > 6:
            return
        if isinstance(obj, BaseModel):
            obj = obj.model_dump()
        if isinstance(obj, dict):
            for value in obj.values():
                self.add_object(value, depth=depth + 1)
        elif isinstance(obj, list | tuple):
            for value in obj:
                self.add_object(value, depth=depth + 1)
        elif isinstance(obj, str):
            self.add_text(obj)
        elif isinstance(obj, int | float):
            self.add_value(obj, _default_display(obj))

    def any_in(self, lo: float, hi: float) -> bool:
        self._sort()
        i = bisect.bisect_left(self._values, lo)
        return i < len(self._values) and self._values[i] <= hi

    def within(self, lo: float, hi: float) -> list[float]:
        self._sort()
        i, j = bisect.bisect_left(self._values, lo), bisect.bisect_right(self._values, hi)
        return sorted({round(v, 9) for v in self._values[i:j]})

    def display(self, value: float) -> str:
        return self._display.get(round(value, 9)) or _default_display(value)

    def _sort(self) -> None:
        if not self._sorted:
            self._values.sort()
            self._sorted = True


def add_tool_result(index: SourceIndex, result: ToolResult) -> None:
    index.add_text(result.summary)
    index.add_text(result.summary_zh)
    if result.table is not None:
        table = result.table
        index.add_value(len(table.rows))
        index.add_value(table.total_rows)
        for row in table.rows:
            for value, column in zip(row, table.columns, strict=False):
                if isinstance(value, str):
                    index.add_text(value)
                elif value is not None and not isinstance(value, bool):
                    index.add_value(value, format_value(value, column.kind))
                    if column.kind == "pct":
                        index.add_value(value * 100, format_value(value, "pct"))
    if result.chart is not None:
        for label in result.chart.x:
            index.add_text(label)
        for series in result.chart.series.values():
            for value in series:
                index.add_value(value, _default_display(value))
    for citation in result.citations:
        index.add_text(citation.label)
    # Domain fields (totals, rates) beyond what the table shows.
    index.add_object(result.model_dump(exclude={"summary", "summary_zh", "table", "chart", "citations"}))


def build_sources(
    *, artifacts: Iterable[Any] = (), contents: Iterable[str] = (), tool_args: Iterable[dict] = (), question: str = ""
) -> SourceIndex:
    index = SourceIndex()
    for artifact in artifacts:
        if isinstance(artifact, ToolResult):
            add_tool_result(index, artifact)
        elif isinstance(artifact, ToolError):
            index.add_object(artifact.to_dict())
        elif artifact is not None:
            index.add_object(artifact)
    for content in contents:
        index.add_text(content)
    for args in tool_args:
        index.add_object(args)
    index.add_text(question)
    return index


def is_grounded(mention: Mention, index: SourceIndex) -> bool:
    lo, hi = _bounds(mention)
    if index.any_in(lo, hi):
        return True
    if mention.percent:
        return index.any_in(lo / 100, hi / 100)  # "12.3%" against a fraction 0.123
    if mention.value <= 1 and mention.decimals > 0:
        return index.any_in(lo * 100, hi * 100)  # "0.123" against "12.3%"
    return False


def check_answer(answer: str, index: SourceIndex | None, *, language: str = "en") -> tuple[str, Grounding]:
    """Return the answer to send (repaired and/or flagged) and what was found."""
    mentions = find_numbers(answer)
    if not mentions:
        return answer, Grounding()
    index = index or SourceIndex()
    violations = [m for m in mentions if not is_grounded(m, index)]
    if not violations:
        return answer, Grounding()
    repairs: list[tuple[Mention, str]] = []
    unresolved: list[Mention] = []
    for m in violations:
        replacement = _unique_near(m, index)
        (repairs.append((m, replacement)) if replacement else unresolved.append(m))
    text = answer
    for m, replacement in sorted(repairs, key=lambda r: r[0].start, reverse=True):
        text = text[: m.start] + replacement + text[m.end :]
    grounding = Grounding(
        ok=False,
        violations=[m.text for m in violations],
        repaired=[f"{m.text} -> {r}" for m, r in repairs],
        flagged=bool(unresolved),
    )
    if unresolved:
        sep = "、" if language == "zh" else ", "
        items = sep.join(dict.fromkeys(m.text for m in unresolved))
        text = f"{text.rstrip()}\n\n{_WARNING.get(language, _WARNING['en']).format(items=items)}"
    return text, grounding


def ground(
    answer: str, *, artifacts: Sequence[Any] = (), contents: Sequence[str] = (), tool_args: Sequence[dict] = (),
    question: str = "", language: str = "en",
) -> tuple[str, Grounding]:
    """Check (and repair or flag) ``answer`` against one turn's tool results."""
    if not find_numbers(answer):
        return answer, Grounding()
    index = build_sources(artifacts=artifacts, contents=contents, tool_args=tool_args, question=question)
    return check_answer(answer, index, language=language)


def _bounds(m: Mention) -> tuple[float, float]:
    mag = abs(m.magnitude)
    return mag - m.tolerance, mag + m.tolerance


def _unique_near(m: Mention, index: SourceIndex) -> str | None:
    mag = abs(m.magnitude)
    if mag == 0:
        return None
    spread = mag * REPAIR_RELATIVE
    candidates = [(v, False) for v in index.within(mag - spread, mag + spread)]
    if m.percent:
        candidates += [(v, True) for v in index.within((mag - spread) / 100, (mag + spread) / 100)]
    distinct = {round(v * (100 if as_fraction else 1), 6) for v, as_fraction in candidates}
    if len(distinct) != 1:
        return None
    value, as_fraction = candidates[0]
    shown = index.display(value)
    if m.percent and not shown.endswith("%"):
        shown = f"{value * 100:.1f}%" if as_fraction else f"{shown}%"
    return shown


def _default_display(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) < 1:
        return f"{value:.4g}"  # a rate or share: two decimals would lose it
    return f"{value:,.2f}"
