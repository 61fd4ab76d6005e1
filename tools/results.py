"""Result models that render themselves.

Every tool returns a subclass of ``ToolResult``: typed domain fields for code,
plus a ``summary``, an optional ``table`` and ``chart`` for people, and
``citations`` to the records it used. The renderers here serve every edge:
``to_prompt()`` for a model, ``to_text()`` for the terminal, ``to_markdown()``
for the web, ``to_blocks()`` for Slack Block Kit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Scalar = str | int | float | bool | None
ColumnKind = Literal["text", "int", "float", "money", "pct", "date", "datetime"]
RecordKind = Literal["customer", "order", "interaction", "product", "campaign", "opportunity", "staff"]


class Column(BaseModel):
    key: str
    label: str
    label_zh: str | None = None
    kind: ColumnKind = "text"


class Table(BaseModel):
    columns: list[Column]
    rows: list[list[Scalar]] = Field(default_factory=list)
    total_rows: int | None = Field(default=None, description="Rows before truncation, when truncated")

    @classmethod
    def from_records(cls, columns: list[Column], records: list[dict[str, Any]] | list[BaseModel]) -> Table:
        rows = []
        for rec in records:
            data = rec.model_dump() if isinstance(rec, BaseModel) else rec
            rows.append([_scalar(data.get(c.key)) for c in columns])
        return cls(columns=columns, rows=rows)

    def formatted_rows(self, *, lang: str = "en") -> list[list[str]]:
        return [[format_value(v, c.kind) for v, c in zip(row, self.columns, strict=True)] for row in self.rows]

    def headers(self, *, lang: str = "en") -> list[str]:
        return [(c.label_zh if lang == "zh" and c.label_zh else c.label) for c in self.columns]


class ChartSpec(BaseModel):
    kind: Literal["bar", "line", "pie"]
    title: str
    x: list[str]
    series: dict[str, list[float]]
    x_label: str | None = None
    y_label: str | None = None


class Citation(BaseModel):
    kind: RecordKind
    id: int
    label: str


class ToolResult(BaseModel):
    summary: str
    summary_zh: str | None = None
    table: Table | None = None
    chart: ChartSpec | None = None
    citations: list[Citation] = Field(default_factory=list)

    def summary_for(self, lang: str = "en") -> str:
        return self.summary_zh if lang == "zh" and self.summary_zh else self.summary

    def to_prompt(self, *, max_rows: int = 30) -> str:
        """Compact text for a language model: the summary and the first rows as a pipe table."""
        parts = [self.summary]
        if self.table and self.table.rows:
            parts.append(_pipe_table(self.table, max_rows=max_rows))
        return "\n".join(parts)

    def to_text(self, *, lang: str = "en", max_rows: int = 50) -> str:
        parts = [self.summary_for(lang)]
        if self.table and self.table.rows:
            parts.append(_pipe_table(self.table, max_rows=max_rows, lang=lang))
        return "\n\n".join(parts)

    def to_markdown(self, *, lang: str = "en", max_rows: int = 50) -> str:
        return self.to_text(lang=lang, max_rows=max_rows)

    def to_blocks(self, *, lang: str = "en", max_rows: int = 15) -> list[dict]:
        blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": self.summary_for(lang)[:2900]}}]
        if self.table and self.table.rows:
            text = _pipe_table(self.table, max_rows=max_rows, lang=lang)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{text[:2800]}```"}})
        return blocks

    def to_json(self) -> dict:
        return self.model_dump(mode="json")


def format_value(value: Scalar, kind: ColumnKind) -> str:
    if value is None:
        return "—"
    if kind == "money" and isinstance(value, int | float):
        return f"{value:,.2f}"
    if kind == "pct" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if kind == "float" and isinstance(value, int | float):
        return f"{value:,.2f}"
    if kind == "int" and isinstance(value, int | float):
        return f"{int(value):,}"
    return str(value)


def _scalar(value: Any) -> Scalar:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _pipe_table(table: Table, *, max_rows: int, lang: str = "en") -> str:
    headers = table.headers(lang=lang)
    rows = table.formatted_rows(lang=lang)[:max_rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]
    hidden = (table.total_rows or len(table.rows)) - len(rows)
    if hidden > 0:
        out.append(f"… {hidden} more rows")
    return "\n".join(out)
