"""Personal data never leaves the process in clear when the chat model is external.

With an LLM (anything but the offline router), the text a tool returns to the model has
each PII value of the result (contact fields, social handles, birth date, credit), and
any phone number or e-mail address inside free text such as interaction notes, replaced
by an opaque token ``⟦PII:phone:kdfpamcb⟧``. The token is an HMAC of the value under a
per-process secret, so it is stable within a turn (the model can refer to it) and says
nothing about the value. The artifact (the ``ToolResult`` the user's tables come from)
keeps the role-visible values; :func:`detokenize` puts them back into the final answer,
resolving only tokens of the same turn's results, so a token typed by a user or copied
from another conversation never unlocks anything (it reads "hidden").

Values are what ``tools.pii`` already let the caller see, so a de-tokenized answer never
shows more than the profile table next to it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import BaseModel

from tools.errors import ToolError
from tools.pii import HIDDEN, PII_FIELDS, PII_ROW_LABELS
from tools.results import Table, ToolResult, format_value

_SECRET = secrets.token_bytes(32)
# Letters only: a token never contains a digit, so number grounding cannot mistake it for a figure.
_ALPHABET = str.maketrans("0123456789abcdef", "abcdefghijklmnop")
TOKEN = re.compile(r"⟦PII:([a-z_]+):([a-p]{8})⟧")
_KIND = {"social_handles": "social"}  # the token's label for a field

EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Digit groups with single separators, optionally +country and (area); checked for 7-15 digits below.
_PHONE_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9_+*./-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,11}(?:[ .-]\d{2,8}){0,4}(?![A-Za-z0-9_*/])"
)
_DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}(?![\d])|\d+\.\d+$")
_NOT_VALUES = {"", "—", "-", "n/a", "none", HIDDEN["en"], HIDDEN["zh"]}
# Identifiers are replaced wherever they occur in the text; credit values ("A", "0.00") only as whole
# cells, since the same characters inside other text are not personal data.
_INLINE_KINDS = {"phone", "email", "address", "social_handles", "birth_date"}
_MIN_INLINE = 5

PLACEHOLDER_NOTE = (
    "(Values written ⟦PII:…⟧ are placeholders for personal data this user may see. Where the user needs such a "
    "value, copy its placeholder exactly; the user sees the real value. Never alter, split or guess one.)"
)


def token_for(kind: str, value: str) -> str:
    label = _KIND.get(kind, kind)
    digest = hmac.new(_SECRET, f"{label}\x00{value}".encode(), hashlib.sha256).hexdigest()[:8]
    return f"⟦PII:{label}:{digest.translate(_ALPHABET)}⟧"


def needs_protection(model: Any) -> bool:
    """True unless ``model`` is the embedded offline router (nothing it sees leaves the process)."""
    try:
        return getattr(model, "_llm_type", "") != "crm-offline-router"
    except Exception:  # noqa: BLE001 - an exotic model without a type is treated as external
        return True


# -- finding PII in a result ------------------------------------------------------------------------


def pii_items(artifact: Any) -> list[tuple[str, str]]:
    """(kind, text) pairs of personal data a tool result carries, as they appear in its prompt text."""
    found: dict[tuple[str, str], None] = {}
    if isinstance(artifact, ToolResult):
        for pair in _table_cells(artifact.table):
            found[pair] = None
        data = artifact.model_dump(mode="json", exclude={"table"})
        for pair in _field_values(data):
            found[pair] = None
        if artifact.table is not None:
            data["_cells"] = [format_value(v, c.kind) for row in artifact.table.rows
                              for v, c in zip(row, artifact.table.columns, strict=False)]
    elif isinstance(artifact, ToolError):
        data = artifact.to_dict()
    elif isinstance(artifact, BaseModel):
        data = artifact.model_dump(mode="json")
    else:
        data = artifact
    for text in _strings(data):
        for pair in pattern_items(text):
            found[pair] = None
    return list(found)


def pattern_items(text: str) -> list[tuple[str, str]]:
    """Phone numbers and e-mail addresses written in free text."""
    if not text:
        return []
    out = [("email", m.group(0)) for m in EMAIL.finditer(text)]
    for m in _PHONE_CANDIDATE.finditer(text):
        candidate = m.group(0).strip()
        digits = sum(ch.isdigit() for ch in candidate)
        if 7 <= digits <= 15 and not _DATE_LIKE.search(candidate) and not _is_plain_number(candidate):
            out.append(("phone", candidate))
    return out


def _is_plain_number(candidate: str) -> bool:
    # Bare digits are a phone when they look like one: 10+ digits, a Chinese mobile, or a leading 0 (trunk
    # prefix). Shorter plain numbers in free text are more often amounts or ids.
    if not candidate.isdigit():
        return False
    return not (len(candidate) >= 10 or candidate.startswith("0"))


def _table_cells(table: Table | None) -> Iterator[tuple[str, str]]:
    """Cells in PII columns (a column keyed phone/email/…) and the value cells of PII rows (field/value tables)."""
    if table is None:
        return
    keys = [c.key for c in table.columns]
    pii_cols = [i for i, k in enumerate(keys) if k in PII_FIELDS]
    for row in table.rows:
        for i in pii_cols:
            yield from _cell(keys[i], row[i], table.columns[i].kind)
        if _field_value_table(table) and isinstance(row[0], str) and row[0] in PII_ROW_LABELS:
            yield from _cell(PII_ROW_LABELS[row[0]], row[1], table.columns[1].kind)


def _field_value_table(table: Table) -> bool:
    # Only a (field, value) table labels rows; elsewhere "phone" in a first column is a channel, not a number.
    return [c.key for c in table.columns[:2]] == ["field", "value"]


def _cell(kind: str, value: Any, column_kind) -> Iterator[tuple[str, str]]:
    if value is None or isinstance(value, bool):
        return
    text = format_value(value, column_kind)
    if text.strip().lower() not in _NOT_VALUES:
        yield kind, text


def _field_values(data: Any, depth: int = 0) -> Iterator[tuple[str, str]]:
    """Values of PII-named fields anywhere in a result (``customer.phone``, ``rows[3].email``, …)."""
    if depth > 8:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if key in PII_FIELDS and value is not None:
                yield from _field_texts(key, value)
            elif isinstance(value, dict | list):
                yield from _field_values(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _field_values(value, depth + 1)


def _field_texts(key: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for handle in value.values():
            if isinstance(handle, str) and handle.strip():
                yield key, handle
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield key, f"{value:,.2f}"
        return
    text = str(value).strip()
    if text.lower() not in _NOT_VALUES:
        yield key, text


def _strings(data: Any, depth: int = 0) -> Iterator[str]:
    if depth > 8:
        return
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value, depth + 1)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from _strings(value, depth + 1)


# -- tokenizing what the model is sent -----------------------------------------------------------


def protect_text(text: str, items: Iterable[tuple[str, str]] = (), *, vault: dict[str, str] | None = None) -> str:
    """``text`` with the given identifiers and any phone/e-mail pattern tokenized; ``vault`` records each token."""
    vault = vault if vault is not None else {}

    def swap(kind: str, value: str) -> str:
        token = token_for(kind, value)
        vault[token] = value
        return token

    inline = sorted({(k, v) for k, v in items if k in _INLINE_KINDS and len(v) >= _MIN_INLINE}, key=lambda kv: -len(kv[1]))
    for kind, value in inline:
        if value in text:
            bounded = re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])")
            text = bounded.sub(lambda _m, k=kind, v=value: swap(k, v), text)
    text = EMAIL.sub(lambda m: swap("email", m.group(0)), text)

    def phone(m: re.Match) -> str:
        candidate = m.group(0)
        return swap("phone", candidate) if ("phone", candidate) in pattern_items(candidate) else candidate

    return _PHONE_CANDIDATE.sub(phone, text)


def protected_prompt(result: ToolResult, *, vault: dict[str, str] | None = None) -> str:
    """``result.to_prompt()`` as an external model may see it: every PII value replaced by its token."""
    vault = vault if vault is not None else {}
    table = result.table
    if table is not None and table.rows:
        cells = set(_table_cells(table))
        table = table.model_copy(update={"rows": [_protect_row(row, table, cells, vault) for row in table.rows]})
    copy = result.model_copy(update={"table": table})
    text = protect_text(copy.to_prompt(), pii_items(result), vault=vault)
    return f"{text}\n{PLACEHOLDER_NOTE}" if TOKEN.search(text) else text


def _protect_row(row: list, table: Table, cells: set[tuple[str, str]], vault: dict[str, str]) -> list:
    out = list(row)
    for i, (value, column) in enumerate(zip(row, table.columns, strict=False)):
        labelled = i == 1 and _field_value_table(table) and isinstance(row[0], str)
        kind = column.key if column.key in PII_FIELDS else (PII_ROW_LABELS.get(row[0]) if labelled else None)
        if kind is None or value is None:
            continue
        text = format_value(value, column.kind)
        if (kind, text) in cells:
            out[i] = token_for(kind, text)
            vault[out[i]] = text
    return out


def protected_error(content: str, err: ToolError, *, vault: dict[str, str] | None = None) -> str:
    """An error's JSON for an external model: phone/e-mail patterns (say, in a candidate's detail) tokenized."""
    return protect_text(content, pii_items(err), vault=vault)


# -- putting the values back for the user --------------------------------------------------------


def vault_for(artifacts: Iterable[Any]) -> dict[str, str]:
    """token -> the value the caller may see, for every PII value in one turn's results."""
    vault: dict[str, str] = {}
    for artifact in artifacts:
        for kind, value in pii_items(artifact):
            vault[token_for(kind, value)] = value
    return vault


def turn_vault(messages: Iterable[Any]) -> dict[str, str]:
    """The vault of one turn's tool results, built only when the model's messages carry a token at all."""
    messages = list(messages)
    models = [m for m in messages if getattr(m, "type", None) == "ai"]
    if not any("⟦PII:" in f"{m.content}{getattr(m, 'tool_calls', '')}" for m in models):
        return {}  # the offline router, or an LLM that never repeated a placeholder: nothing to put back
    return vault_for(getattr(m, "artifact", None) for m in messages if getattr(m, "type", None) == "tool")


def detokenize(text: str, *, artifacts: Iterable[Any] = (), vault: dict[str, str] | None = None,
               language: str = "en") -> str:
    """Tokens in ``text`` back to their values; a token from outside this turn reads "hidden"."""
    if "⟦PII:" not in text:
        return text
    known = dict(vault or {})
    known.update(vault_for(artifacts))
    hidden = HIDDEN.get(language, HIDDEN["en"])
    return TOKEN.sub(lambda m: known.get(m.group(0), hidden), text)


def restore_arguments(arguments: Any, vault: dict[str, str]) -> Any:
    """Tool arguments with this run's tokens back to their values; anything else, unknown tokens included, as is."""
    if isinstance(arguments, str):
        return TOKEN.sub(lambda m: vault.get(m.group(0), m.group(0)), arguments) if "⟦PII:" in arguments else arguments
    if isinstance(arguments, dict):
        return {k: restore_arguments(v, vault) for k, v in arguments.items()}
    if isinstance(arguments, list):
        return [restore_arguments(v, vault) for v in arguments]
    return arguments


class StreamDetokenizer:
    """Wraps an ``on_token`` callback: holds back a token until it closes, then sends its value.

    ``vault`` is filled by the tool adapter as tools run, so streamed answer text shows values too.
    """

    _MAX_TOKEN = 48

    def __init__(self, on_token: Callable[[str], None], vault: dict[str, str], *, language: str = "en") -> None:
        self._emit = on_token
        self._vault = vault
        self._language = language
        self._held = ""

    def __call__(self, text: str) -> None:
        buffer = self._held + text
        start = buffer.find("⟦")
        while start != -1:
            end = buffer.find("⟧", start)
            if end == -1:
                if len(buffer) - start > self._MAX_TOKEN:  # not a token after all
                    start = buffer.find("⟦", start + 1)
                    continue
                self._held = buffer[start:]
                if start:
                    self._send(buffer[:start])
                return
            start = buffer.find("⟦", end)
        self._held = ""
        self._send(buffer)

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, ""
            self._send(held)

    def _send(self, text: str) -> None:
        if text:
            self._emit(detokenize(text, vault=self._vault, language=self._language))


def guard_stream(on_token: Callable[[str], None] | None, run: Any) -> Callable[[str], None] | None:
    """``on_token`` as is, or wrapped in a StreamDetokenizer when ``run`` (an AgentContext) protects PII."""
    if on_token is None or not getattr(run, "protect_pii", False):
        return on_token
    return StreamDetokenizer(on_token, run.pii_vault, language=getattr(run, "language", "en"))
