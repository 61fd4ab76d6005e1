"""Who sees which personal data of a customer: the PII policy as data, and the masks.

The policy is decided by the caller's role and, for reps, by whether they own the
customer. Every tool that returns customer contact data passes it through
:func:`mask_customer_fields`, so answers, tables, ``--json`` outputs, the web and
Slack all show the same thing; nothing depends on the prompt.

    audience            phone/email  address  social   birth date  credit
    admin               full         full     full     full        full
    support             full         full     masked   masked      removed
    rep_own             full         full     full     full        full
    rep_pool            masked       removed  removed  removed     removed
    manager             masked       removed  removed  removed     full

Support verifies callers and ships deliveries, so keeps contact and address; a rep
sees everything of their own customers but only a masked contact of a pool (公海)
customer they have not claimed; managers see credit (for approvals) but only masked
contact. A rep looking at another rep's customer (the scope already refuses that)
is treated like a pool customer, the most restrictive row.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any

from storage.models import Role
from tools.context import ToolContext


class Treatment(StrEnum):
    full = "full"
    masked = "masked"  # a recognisable fragment (last 4 digits, first letter and domain)
    removed = "removed"  # None, rendered as "hidden" / "已隐藏"


PII_FIELDS: tuple[str, ...] = (
    "phone", "email", "address", "social_handles", "birth_date", "credit_rating", "overdue_amount",
)
CONTACT_FIELDS = ("phone", "email", "address", "social_handles")
CREDIT_FIELDS = ("credit_rating", "overdue_amount")

HIDDEN = {"en": "hidden", "zh": "已隐藏"}
# Field/value tables (customer_profile) label their PII rows with these, so the LLM prompt protection
# (assistant.pii_tokens) can find the cells without guessing from the values.
PII_ROW_LABELS: dict[str, str] = {
    "phone": "phone", "email": "email", "address": "address", "social": "social_handles",
    "credit rating": "credit_rating", "overdue": "overdue_amount",
}

_F, _M, _R = Treatment.full, Treatment.masked, Treatment.removed


def _row(contact: Treatment, address: Treatment, social: Treatment, birth: Treatment, credit: Treatment) -> dict[str, Treatment]:
    return {"phone": contact, "email": contact, "address": address, "social_handles": social, "birth_date": birth,
            "credit_rating": credit, "overdue_amount": credit}


# The contract (see the module docstring); tests walk this table rather than restate it.
POLICY: dict[str, dict[str, Treatment]] = {
    "admin": _row(_F, _F, _F, _F, _F),
    "support": _row(_F, _F, _M, _M, _R),
    "rep_own": _row(_F, _F, _F, _F, _F),
    "rep_pool": _row(_M, _R, _R, _R, _R),
    "manager": _row(_M, _R, _R, _R, _F),
}


def audience(ctx: ToolContext, owner_id: int | None) -> str:
    """The POLICY row for this caller and a customer owned by ``owner_id`` (None = public pool)."""
    if ctx.role == Role.admin:
        return "admin"
    if ctx.role == Role.support:
        return "support"
    if ctx.role == Role.manager:
        return "manager"
    if ctx.role == Role.rep and owner_id is not None and owner_id == ctx.user_id:
        return "rep_own"
    return "rep_pool"


def policy_for(ctx: ToolContext, owner_id: int | None) -> dict[str, Treatment]:
    return dict(POLICY[audience(ctx, owner_id)])


def visible_fields(ctx: ToolContext, owner_id: int | None) -> set[str]:
    """The PII fields this caller sees in FULL for that customer; the others are masked or removed."""
    return {f for f, t in POLICY[audience(ctx, owner_id)].items() if t == Treatment.full}


def hidden_fields(ctx: ToolContext, owner_id: int | None) -> list[str]:
    """PII fields not shown in full (masked or removed), in PII_FIELDS order."""
    seen = visible_fields(ctx, owner_id)
    return [f for f in PII_FIELDS if f not in seen]


def mask_phone(phone: str | None) -> str | None:
    """All digits but the last 4 become ``*``; separators stay: ``+1-555-0123`` -> ``+*-***-0123``."""
    if not phone:
        return phone
    digits = sum(ch.isdigit() for ch in phone)
    keep = min(4, digits)
    out, seen = [], 0
    for ch in phone:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - keep else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_email(email: str | None) -> str | None:
    """First character and the domain: ``chen.jing@example.com`` -> ``c***@example.com``."""
    if not email:
        return email
    local, at, domain = email.strip().partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_handle(handle: str | None) -> str | None:
    if not handle:
        return handle
    lead = 2 if handle.startswith("@") else 1
    return f"{handle[:lead]}***"


def mask_birth_date(value: date | str | None) -> str | None:
    """The year only (an age band stays derivable, the day does not): ``1985-**-**``."""
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, date) else str(value)
    return re.sub(r"^(\d{4}).*$", r"\1-**-**", text) if re.match(r"^\d{4}", text) else "****"


def _mask(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field == "phone":
        return mask_phone(value)
    if field == "email":
        return mask_email(value)
    if field == "social_handles":
        return {k: mask_handle(v) for k, v in value.items()} if isinstance(value, dict) else mask_handle(str(value))
    if field == "birth_date":
        return mask_birth_date(value)
    if field == "address":
        # No useful partial address exists; the POLICY never asks for one, but keep it safe if it does.
        return "***"
    return None  # credit has no masked form


def mask_customer_fields(ctx: ToolContext, *, owner_id: int | None, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with each PII key shown as the policy says (full, masked or None); other keys pass through."""
    policy = POLICY[audience(ctx, owner_id)]
    out: dict[str, Any] = {}
    for key, value in fields.items():
        treatment = policy.get(key)
        if treatment is None or treatment == Treatment.full:
            out[key] = value
        elif treatment == Treatment.masked:
            out[key] = _mask(key, value)
        else:
            out[key] = None
    return out


def age_band(age: int | None) -> str | None:
    """Ten-year bands (``30-39``); kept when the birth date itself is hidden."""
    if age is None or age < 0:
        return None
    low = (age // 10) * 10
    return f"{low}-{low + 9}"
