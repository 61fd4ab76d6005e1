"""What a question may contain before any edge passes it on.

Edges clean a question with ``clean_question`` and refuse one longer than
``MAX_QUESTION_CHARS`` with ``too_long_message`` (the web API's schema holds the same
limit). Control characters and NUL bytes are dropped because PostgreSQL refuses NUL in
text and terminals and Slack render the rest as garbage; lone surrogates (from JSON
``"\\ud800"`` escapes) become U+FFFD because no database can encode them. Letters of every
script, emoji and right-to-left marks stay as they are.
"""

from __future__ import annotations

import re

MAX_QUESTION_CHARS = 4000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

_TOO_LONG = {
    "en": "That message is too long for one question ({length:,} characters; the limit is {limit:,}). "
          "Please ask something shorter.",
    "zh": "这条消息太长了（{length:,} 个字符，上限 {limit:,}）。请把问题问得简短一些。",
}


def clean_question(text: str | None) -> str:
    """The question without control characters, NUL bytes or lone surrogates, trimmed."""
    text = _SURROGATE.sub("\ufffd", text or "")
    return _CONTROL.sub(" ", text).strip()


def too_long_message(lang: str, *, length: int) -> str:
    return _TOO_LONG["zh" if lang == "zh" else "en"].format(length=length, limit=MAX_QUESTION_CHARS)
