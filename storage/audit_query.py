"""Reading the audit log: filters, the query, and the "WHEN" forms that ``crm audit`` and ``/api/audit`` accept.

Both edges call the same ``find_audit``, so the terminal and the web always agree on what a filter
means. Times in ``audit_log`` are naive UTC (the caller's clock when the row was written, which a
demo or ``crm serve --now`` may pin); relative forms count back from the real clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import String, cast, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.models import AuditEntry, StaffUser, utcnow

RECORD = re.compile(r"^[a-z_]+:\d+$")
_COMPACT = re.compile(r"^(\d+)\s*(s|m|min|h|d|w)$")
_AGO = re.compile(r"^(\d+)\s*(second|minute|hour|day|week)s?\s+ago$|^(\d+)\s*(秒|分钟|小时|天|周)前$")
_UNITS = {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks",
          "second": "seconds", "minute": "minutes", "hour": "hours", "day": "days", "week": "weeks",
          "秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days", "周": "weeks"}
_DAYS_BACK = {"today": 0, "今天": 0, "yesterday": 1, "昨天": 1}


class AuditFilter(BaseModel):
    """Which rows to show; every field narrows, none widens. ``until`` is exclusive."""

    user_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None
    tool: str | None = None
    channel: str | None = None
    record: str | None = Field(default=None, pattern=RECORD.pattern, description='a touched record, "customer:12"')
    limit: int = Field(default=50, ge=1, le=10_000)


class AuditRow(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    user_email: str | None
    user_name: str | None
    channel: str | None
    action: str
    tool: str | None
    arguments: dict[str, Any] | None
    records: list[str] | None
    question: str | None
    outcome: str | None


def find_audit(engine: Engine, *, filters: AuditFilter) -> list[AuditRow]:
    """Matching rows, newest first (ties broken by id, so a turn's rows stay in the order written, reversed)."""
    query = select(AuditEntry, StaffUser.email, StaffUser.name).join(
        StaffUser, StaffUser.id == AuditEntry.user_id, isouter=True
    )
    if filters.user_id is not None:
        query = query.where(AuditEntry.user_id == filters.user_id)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.at < filters.until)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.tool:
        query = query.where(AuditEntry.tool == filters.tool)
    if filters.channel:
        query = query.where(AuditEntry.channel == filters.channel)
    if filters.record:
        query = query.where(citing(filters.record))
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(filters.limit)
    with Session(engine) as session:
        rows = session.exec(query).all()
    return [AuditRow(**entry.model_dump(), user_email=email, user_name=name) for entry, email, name in rows]


def citing(record: str):
    """WHERE clause: rows whose ``records`` name ``record`` (``"customer:12"``).

    The JSON list as text, on both backends; the quotes stop "customer:1" matching "customer:12".
    """
    return cast(AuditEntry.records, String).contains(f'"{record}"', autoescape=True)


def resolve_user(engine: Engine, who: str) -> StaffUser | None:
    """A staff user by id (digits) or email (any case); None when there is none. Inactive users count:
    their past actions stay in the log."""
    who = who.strip()
    with Session(engine) as session:
        if who.isdigit():
            return session.get(StaffUser, int(who))
        return session.exec(select(StaffUser).where(func.lower(StaffUser.email) == who.lower())).first()


def parse_when(text: str, *, now: datetime | None = None, end: bool = False) -> datetime:
    """A naive-UTC instant from ``2025-06-01``, ``2025-06-01T10:00``, ``7d``, ``24h``, ``yesterday``, ``3 days ago``.

    A bare day (a date, ``today``, ``yesterday``) means its start, or with ``end=True`` (an ``--until``)
    the start of the next day, so ``--until 2025-06-15`` includes the 15th. Raises ``ValueError``.
    """
    now = now or utcnow()
    raw = " ".join(text.split())
    key = raw.lower()
    if not key:
        raise ValueError("empty time")
    if (match := _COMPACT.match(key) or _AGO.match(key)) is not None:
        count, unit = (g for g in match.groups() if g is not None)
        return now - timedelta(**{_UNITS[unit]: int(count)})
    if key in _DAYS_BACK:
        day = datetime.combine(now.date(), datetime.min.time()) - timedelta(days=_DAYS_BACK[key])
        return day + timedelta(days=1) if end else day
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        parsed = _natural(raw, now=now)
    else:
        if len(raw) == 10 and end:  # a bare ISO date
            parsed += timedelta(days=1)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _natural(text: str, *, now: datetime) -> datetime:
    import dateparser  # slow to import: only for forms the fast paths above do not cover

    parsed = dateparser.parse(text, settings={"RELATIVE_BASE": now, "TIMEZONE": "UTC", "TO_TIMEZONE": "UTC",
                                              "RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DATES_FROM": "past"})
    if parsed is None:
        raise ValueError(f"cannot read {text!r} as a time (try 2025-06-01, 7d, 24h, yesterday or '3 days ago')")
    return parsed
