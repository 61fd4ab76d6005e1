"""``GET /api/audit``: the audit log for admins, with the filters of ``crm audit``.

Only the admin role may read it (everyone else gets 403, whatever they ask for): the log holds
every user's questions and the records they touched, which is more than any other role may see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from integrations.web.auth import require_user
from integrations.web.state import get_state
from storage.audit_query import RECORD, AuditFilter, AuditRow, find_audit, parse_when, resolve_user
from storage.models import Role, StaffUser

router = APIRouter(tags=["audit"])
WHEN = "an ISO date or time, 7d, 24h, today, yesterday or '3 days ago'"


class AuditPage(BaseModel):
    entries: list[AuditRow]
    count: int
    limit: int


def require_admin(user: StaffUser = Depends(require_user)) -> StaffUser:
    if user.role != Role.admin:
        raise HTTPException(status_code=403, detail="the audit log is for admins")
    return user


@router.get("/api/audit", response_model=AuditPage, summary="The audit log, newest first (admins only)")
def audit_log(
    request: Request,
    _admin: StaffUser = Depends(require_admin),
    user: Annotated[str | None, Query(max_length=320, description="A staff user's email or id")] = None,
    since: Annotated[str | None, Query(max_length=64, description=f"From this time on: {WHEN}")] = None,
    until: Annotated[str | None, Query(max_length=64, description="Before this time; a bare date includes that day")]
    = None,
    action: Annotated[str | None, Query(max_length=40, description="question, tool_call, write, …")] = None,
    tool: Annotated[str | None, Query(max_length=60)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    record: Annotated[str | None, Query(pattern=RECORD.pattern, description="A touched record, customer:12")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    state = get_state(request)
    user_id = None
    if user is not None:
        staff = resolve_user(state.engine, user)
        if staff is None:
            raise HTTPException(status_code=404, detail=f"no staff user {user!r}")
        user_id = staff.id
    # Relative forms count back from the server's clock, the one its own audit rows were stamped with.
    now = state.now()
    start, end = _when(since, "since", now=now), _when(until, "until", now=now, end=True)
    if start is not None and end is not None and start >= end:
        raise HTTPException(status_code=422, detail="since is not before until")
    filters = AuditFilter(user_id=user_id, since=start, until=end, action=action, tool=tool, channel=channel,
                          record=record, limit=limit)
    entries = find_audit(state.engine, filters=filters)
    return AuditPage(entries=entries, count=len(entries), limit=limit)


def _when(text: str | None, name: str, *, now: datetime, end: bool = False) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_when(text, now=now, end=end)
    except ValueError:
        raise HTTPException(status_code=422, detail=f"{name}: cannot read {text!r} as a time (try {WHEN})") from None
