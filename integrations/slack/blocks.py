"""Block Kit for a ``Reply``: the answer, its tables, sources, a context line and buttons.

Slack's limits shape the choices here: a section's text holds 3,000 characters, a
message 50 blocks, an actions block 25 elements, a button value 2,000 characters. A
two-column table (label, value) reads best as section fields; wider tables go in a
preformatted block, padded for Slack's monospace font, where a CJK character takes
two cells.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from tools.results import Citation, Table

if TYPE_CHECKING:
    from assistant import Reply
    from integrations.slack.followups import Followup
    from integrations.slack.store import PendingWrite

SECTION_LIMIT = 3000
TABLE_ROWS = 15
FIELD_ROWS = 10  # Slack allows 10 fields per section
MAX_TABLES = 3
FOLLOWUP_ACTION = "crm_followup"
CONFIRM_ACTION = "crm_write_confirm"
CANCEL_ACTION = "crm_write_cancel"
# The Undo button confirms the pending write that reverses a done assignment, so it is a confirm action too.
UNDO_ACTION = CONFIRM_ACTION
WRITE_BLOCK_PREFIX = "crm_write:"

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)

_TEXT = {
    "thinking": {"en": ":hourglass_flowing_sand: Thinking…", "zh": ":hourglass_flowing_sand: 正在思考…"},
    "sources": {"en": "Sources", "zh": "来源"},
    "more_rows": {"en": "… {n} more rows", "zh": "… 另有 {n} 行"},
    "confirm": {"en": "Confirm", "zh": "确认"},
    "cancel": {"en": "Cancel", "zh": "取消"},
    "undo": {"en": "Undo", "zh": "撤销"},
    "proposal": {"en": ":pencil2: *Please confirm:* {what}", "zh": ":pencil2: *请确认：* {what}"},
    "asked": {"en": "<@{user}> asked: {question}", "zh": "<@{user}> 问：{question}"},
}


def text(key: str, lang: str = "en", **values) -> str:
    return _TEXT[key].get(lang, _TEXT[key]["en"]).format(**values)


def to_mrkdwn(markdown: str) -> str:
    """The little Markdown a model writes, in Slack's dialect: *bold*, <url|text>, no # headings."""
    out = _BOLD.sub(r"*\1*", markdown)
    out = _LINK.sub(r"<\2|\1>", out)
    return _HEADING.sub(r"*\1*", out)


def escape(value: str) -> str:
    """Slack's three control characters; user text must not become a mention or a link."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(value: str, limit: int = SECTION_LIMIT) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def section(markdown: str, *, block_id: str | None = None) -> dict:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(markdown or " ")}}
    if block_id:
        block["block_id"] = block_id
    return block


def context(*elements: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(e, 2900)} for e in elements if e][:10]}


def thinking_blocks(lang: str = "en") -> list[dict]:
    return [context(text("thinking", lang))]


def reply_blocks(
    reply: Reply,
    *,
    followups: list[Followup] = (),
    proposals: list[tuple[PendingWrite, str]] = (),
    public_url: str | None = None,
    asked_by: tuple[str, str] | None = None,
) -> list[dict]:
    """The whole message for one answer. ``asked_by`` (user, question) heads answers to button clicks."""
    lang = reply.language
    blocks: list[dict] = []
    if asked_by:
        blocks.append(context(text("asked", lang, user=asked_by[0], question=escape(asked_by[1]))))
    answer = to_mrkdwn(escape(reply.answer))
    blocks.append(section(f":warning: {answer}" if reply.error else answer))
    for table in reply.tables[:MAX_TABLES]:
        blocks.extend(table_blocks(table, lang=lang))
    if reply.citations:
        blocks.append(context(f"{text('sources', lang)}: " + ", ".join(citation_link(c, public_url) for c in
                                                                         reply.citations[:12])))
    for write, description in proposals:
        blocks.extend(proposal_blocks(write, description, lang=lang))
    if followups:
        blocks.append({"type": "actions", "block_id": FOLLOWUP_ACTION, "elements": [
            {"type": "button", "action_id": f"{FOLLOWUP_ACTION}_{i}", "text": {"type": "plain_text", "text": clip(f.label, 75)},
             "value": clip(f.question, 2000)}
            for i, f in enumerate(followups[:5])
        ]})
    blocks.append(context(footer(reply)))
    return blocks[:50]


def footer(reply: Reply) -> str:
    parts = [f":robot_face: {reply.model}", f"{reply.latency_ms / 1000:.1f} s"]
    if reply.grounding.flagged:
        parts.append(":grey_question: some figures could not be checked against the data")
    return " · ".join(parts)


def citation_link(citation: Citation, public_url: str | None) -> str:
    label = escape(citation.label)
    if public_url and citation.kind == "customer":
        return f"<{public_url.rstrip('/')}/customers/{citation.id}|{label}>"
    return label


def table_blocks(table: Table, *, lang: str = "en") -> list[dict]:
    headers = table.headers(lang=lang)
    rows = table.formatted_rows(lang=lang)
    hidden = (table.total_rows or len(rows)) - min(len(rows), TABLE_ROWS)
    if len(headers) == 2 and len(rows) <= FIELD_ROWS:
        fields = [{"type": "mrkdwn", "text": clip(f"*{escape(label)}*\n{escape(value)}", 2000)} for label, value in rows]
        return [section(f"*{escape(headers[0])}* · *{escape(headers[1])}*"), {"type": "section", "fields": fields}]
    body = preformatted(headers, rows[:TABLE_ROWS])
    if hidden > 0:
        body += "\n" + text("more_rows", lang, n=f"{hidden:,}")
    return [section(f"```{clip(escape(body), SECTION_LIMIT - 6)}```")]


def preformatted(headers: list[str], rows: list[list[str]], *, max_width: int = 28) -> str:
    cells = [[_cut(c, max_width) for c in row] for row in [headers, *rows]]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def display_width(value: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in value)


def _pad(value: str, width: int) -> str:
    return value + " " * (width - display_width(value))


def _cut(value: str, width: int) -> str:
    if display_width(value) <= width:
        return value
    out = ""
    for ch in value:
        if display_width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def proposal_blocks(write: PendingWrite, description: str, *, lang: str = "en") -> list[dict]:
    block_id = f"{WRITE_BLOCK_PREFIX}{write.id}"
    return [
        section(text("proposal", lang, what=escape(description)), block_id=f"{block_id}:text"),
        {"type": "actions", "block_id": block_id, "elements": [
            {"type": "button", "action_id": CONFIRM_ACTION, "style": "primary", "value": write.id,
             "text": {"type": "plain_text", "text": text("confirm", lang)}},
            {"type": "button", "action_id": CANCEL_ACTION, "value": write.id,
             "text": {"type": "plain_text", "text": text("cancel", lang)}},
        ]},
    ]


def undo_blocks(undo: PendingWrite, *, lang: str = "en") -> list[dict]:
    """An Undo button under a done assignment; it confirms ``undo``, the stored write that reverses it."""
    return [{"type": "actions", "block_id": f"{WRITE_BLOCK_PREFIX}{undo.id}", "elements": [
        {"type": "button", "action_id": UNDO_ACTION, "value": undo.id,
         "text": {"type": "plain_text", "text": text("undo", lang)}},
    ]}]


def replace_write_blocks(blocks: list[dict], write_id: str, outcome: str, *, extra: list[dict] = ()) -> list[dict]:
    """The message's blocks with one proposal's buttons swapped for what became of it (and ``extra``, e.g. Undo)."""
    block_id = f"{WRITE_BLOCK_PREFIX}{write_id}"
    out: list[dict] = []
    for block in blocks:
        out.extend([context(outcome), *extra] if block.get("block_id") == block_id else [block])
    return out[:50]
