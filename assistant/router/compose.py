"""The final answer, composed deterministically from the turn's tool results.

The tool's own summary (``summary`` / ``summary_zh``) leads; for tables with several
rows a short highlight of the first rows follows, with values formatted exactly as
the table formats them (``tools.results.format_value``), so every number in the
answer can be found in the tool result by the grounding check. Results reloaded
from a checkpoint arrive as dicts and are read the same way.
"""

from __future__ import annotations

from typing import Any

from assistant.router import replies
from assistant.router.dialogue import Call
from tools.results import Table, ToolResult, format_value

HIGHLIGHT_ROWS = 5
_NUMERIC = ("money", "int", "float", "pct")


def compose(calls: list[Call], *, lang: str) -> str:
    parts = []
    for call in calls:
        if call.error is not None:
            if call.error.get("error") == "ambiguous" and call.error.get("candidates"):
                parts.append(replies.ambiguous(lang, call.error.get("message", ""), call.error["candidates"]))
            else:
                parts.append(replies.tool_error(lang, call.error))
            continue
        parts.append(compose_result(call.result, lang=lang))
    return "\n\n".join(p for p in parts if p) or replies.no_data(lang)


def as_result(result: Any) -> ToolResult | None:
    if isinstance(result, ToolResult):
        return result
    if isinstance(result, dict) and "summary" in result:
        try:
            return ToolResult.model_validate({k: result[k] for k in ToolResult.model_fields if k in result})
        except Exception:  # noqa: BLE001 - a malformed reloaded artifact: answer from what we can
            return None
    return None


def compose_result(result: Any, *, lang: str) -> str:
    res = as_result(result)
    if res is None:
        return replies.no_data(lang)
    summary = res.summary_for(lang).strip()
    if lang == "zh" and not res.summary_zh:
        summary = "查询结果：" + summary
    highlight = _highlight(res.table, lang=lang, summary=summary)
    return summary + ("\n" + highlight if highlight else "")


def _highlight(table: Table | None, *, lang: str, summary: str) -> str:
    """'Highlights, Region (Revenue): A (1,234.00); B (987.00)' from the label and first numeric column, unless the summary has them."""
    if table is None or len(table.rows) < 2:
        return ""
    cols = table.columns
    label_i = next((i for i, c in enumerate(cols) if c.kind == "text"), None)
    value_i = next((i for i, c in enumerate(cols) if c.kind in _NUMERIC), None)
    if label_i is None or value_i is None:
        # Labels alone (a profile's field names: "phone; email; address") tell the reader nothing.
        return ""
    items = []
    for row in table.rows[:HIGHLIGHT_ROWS]:
        label = format_value(row[label_i], cols[label_i].kind)
        if value_i is not None and row[value_i] is not None:
            items.append(f"{label} ({format_value(row[value_i], cols[value_i].kind)})")
        else:
            items.append(label)
    if all(item.split(" (")[0] in summary for item in items):
        return ""
    header = table.headers(lang=lang)
    if lang == "zh":
        what = header[label_i] + (f"（{header[value_i]}）" if value_i is not None else "")
        return f"要点 {what}：" + "；".join(items)
    what = header[label_i] + (f" ({header[value_i]})" if value_i is not None else "")
    return f"Highlights, {what}: " + "; ".join(items)
