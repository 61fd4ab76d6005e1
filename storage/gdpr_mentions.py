"""Where a customer's personal values appear as text anywhere in the database, and how they are blanked.

A customer's name, phone, email, address or social handle can sit outside their own rows:
in a question someone asked (``audit_log.question``, ``web_message.question``), in the
arguments of a tool call, in a stored reply, in another customer's interaction note.
Erasure has to find those too, so this module scans every text and JSON column of every
table (except the tables that describe other entities, see ``SKIP_TABLES``) for the
customer's values, in SQL first (a cheap ``LIKE`` prefilter) and then exactly in Python.

Only columns that can hold free text are searched (``searched_columns``: JSON, and strings
longer than ``CODE_MAX_LENGTH``); short strings are codes and vocabularies.

Matching rules, chosen to avoid blanking other people's data:
- Latin-script names, handles, phones and emails match as whole tokens, case-insensitively
  ("Anna" does not match inside "Annabel"; "138001" does not match inside "1380012").
- Chinese names match as substrings (Chinese text has no spaces between words).
- Values too short to be specific (a 2-letter Latin name, a 5-digit phone) are not searched.
A mention of a person by surname alone or in another spelling is not found: only the stored
values are. JSON columns are searched in their stored text and, since Python's JSON encoder
escapes non-ASCII (``\\u9648``), in that escaped form as well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Column, String, Table, Text, cast, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Rows of these tables describe other entities (other customers, staff, products); a match there
# is a namesake, not a mention. The erased customer's own row is anonymised field by field instead.
SKIP_TABLES = frozenset({"customer", "staff_user", "product"})

ERASED_TEXT = "[erased]"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MIN_LATIN_NAME = 3
_MIN_PHONE_DIGITS = 6
_MIN_ADDRESS = 8
CODE_MAX_LENGTH = 120


def erased_name(customer_id: int) -> str:
    return f"Erased customer #{customer_id}"


@dataclass(frozen=True)
class Term:
    """One personal value to look for, with what replaces it."""

    kind: str  # name | phone | email | address | social
    text: str
    replacement: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)

    def variants(self, *, json_column: bool) -> list[str]:
        """The strings the SQL prefilter searches for."""
        out = [self.text]
        if json_column:
            escaped = json.dumps(self.text)[1:-1]
            if escaped != self.text:
                out.append(escaped)
        return out


def _term(kind: str, text: str, replacement: str, *, substring: bool = False) -> Term:
    body = re.escape(text)
    if substring:
        pattern = re.compile(body, re.IGNORECASE)
    elif kind == "phone":
        pattern = re.compile(rf"(?<!\d){body}(?!\d)")
    else:
        pattern = re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)
    return Term(kind=kind, text=text, replacement=replacement, pattern=pattern)


def personal_terms(customer: Any) -> list[Term]:
    """The values of this customer to search for (before the row is anonymised)."""
    terms: list[Term] = []
    name = (customer.name or "").strip()
    if name and name != erased_name(customer.id):
        cjk = bool(_CJK.search(name))
        if cjk or len(name.replace(" ", "")) >= _MIN_LATIN_NAME:
            terms.append(_term("name", name, erased_name(customer.id), substring=cjk))
    phone = (customer.phone or "").strip()
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= _MIN_PHONE_DIGITS:
        terms.append(_term("phone", phone, ERASED_TEXT))
        if digits != phone:
            terms.append(_term("phone", digits, ERASED_TEXT))
    email = (customer.email or "").strip()
    if "@" in email:
        terms.append(_term("email", email, ERASED_TEXT))
    address = (customer.address or "").strip()
    if len(address) >= _MIN_ADDRESS:
        terms.append(_term("address", address, ERASED_TEXT, substring=True))
    for handle in (customer.social_handles or {}).values():
        handle = str(handle or "").strip()
        if len(handle.lstrip("@")) >= _MIN_LATIN_NAME:
            terms.append(_term("social", handle, ERASED_TEXT))
    # Longest first, so an address that contains the name is replaced whole.
    return sorted(terms, key=lambda t: -len(t.text))


def _is_json(column: Column) -> bool:
    kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    return isinstance(kind, JSON)


def text_columns(table: Table) -> list[Column]:
    """Every column that can hold text: strings and JSON documents."""
    out = []
    for column in table.columns:
        kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
        if isinstance(kind, String | JSON):
            out.append(column)
    return out


def searched_columns(table: Table) -> list[Column]:
    """The columns that can hold free text: JSON, and strings longer than a code.

    Strings of at most ``CODE_MAX_LENGTH`` characters are identifiers and vocabularies (external
    ids, statuses, channels, tracking numbers, tags); skipping them keeps the scan off the widest
    tables (orders, order lines), which is the difference between seconds and a minute at 500k orders.
    """
    out = []
    for column in text_columns(table):
        kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
        if isinstance(kind, JSON) or kind.length is None or kind.length > CODE_MAX_LENGTH:
            out.append(column)
    return out


def scanned_tables() -> list[Table]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in SKIP_TABLES and searched_columns(t)]


def replace_in(value: Any, terms: list[Term]) -> Any:
    """``value`` with every term replaced (strings, and JSON lists and dicts, keys included)."""
    if isinstance(value, str):
        for term in terms:
            value = term.pattern.sub(term.replacement, value)
        return value
    if isinstance(value, list):
        return [replace_in(v, terms) for v in value]
    if isinstance(value, dict):
        return {replace_in(k, terms): replace_in(v, terms) for k, v in value.items()}
    return value


@dataclass
class Mention:
    table: str
    key: dict[str, Any]
    column: str
    value: Any


def _prefilter(table: Table, columns: list[Column], terms: list[Term]):
    clauses = []
    for column in columns:
        as_text = cast(column, Text) if _is_json(column) else column
        for term in terms:
            for variant in term.variants(json_column=_is_json(column)):
                clauses.append(as_text.icontains(variant, autoescape=True))
    keys = list(table.primary_key.columns)
    return select(*keys, *columns).where(or_(*clauses)), keys


def find_mentions(session: Session, terms: list[Term], *, tables: list[Table] | None = None) -> Iterator[Mention]:
    """Each (row, column) whose value contains one of the terms, exactly (after the SQL prefilter)."""
    if not terms:
        return
    for table in tables if tables is not None else scanned_tables():
        columns = searched_columns(table)
        if not columns:
            continue
        stmt, keys = _prefilter(table, columns, terms)
        for row in session.execute(stmt):
            key = {k.name: row[i] for i, k in enumerate(keys)}
            for j, column in enumerate(columns):
                value = row[len(keys) + j]
                if value is not None and replace_in(value, terms) != value:
                    yield Mention(table=table.name, key=key, column=column.name, value=value)


def scrub_mentions(session: Session, terms: list[Term], *, now: Any) -> tuple[dict[str, int], list[int]]:
    """Replace every mention in place. Returns changed cells per ``table.column`` and the ids of
    interactions whose text changed (their vectors must be rebuilt)."""
    counts: dict[str, int] = {}
    interactions: list[int] = []
    mentions = list(find_mentions(session, terms))
    tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
    for mention in mentions:
        table = tables[mention.table]
        values: dict[str, Any] = {mention.column: replace_in(mention.value, terms)}
        if "updated_at" in table.c:
            # Tables that track edits (interaction) are re-read by whoever keeps a derived copy.
            values["updated_at"] = now
        where = [table.c[k] == v for k, v in mention.key.items()]
        session.execute(update(table).where(*where).values(**values))
        label = f"{mention.table}.{mention.column}"
        counts[label] = counts.get(label, 0) + 1
        if mention.table == "interaction":
            interactions.append(int(mention.key["id"]))
    return counts, sorted(set(interactions))
