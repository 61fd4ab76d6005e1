"""``GET /api/alerts``: my early warnings, computed now within my scope.

A rep sees alerts on their own customers and the public pool, a manager their team's and the
pool, support and admins everyone's (the same scopes as every tool). ``mine=true`` keeps only
customers the caller owns. Nothing is stored or sent: delivery is the scheduler's job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from integrations.web.auth import require_user
from integrations.web.chat import context_for
from integrations.web.state import get_state
from storage.models import StaffUser
from tools import ToolError
from tools.alerts import ALERT_KINDS, Alert

router = APIRouter(tags=["alerts"])


class AlertsPage(BaseModel):
    as_of: datetime
    summary: str
    summary_zh: str | None
    counts: dict[str, int]
    alerts: list[Alert]


@router.get("/api/alerts", response_model=AlertsPage, summary="My early warnings (computed now, within my scope)")
def my_alerts(
    request: Request,
    user: StaffUser = Depends(require_user),
    kind: Annotated[list[str] | None, Query(description=f"Only these kinds: {', '.join(ALERT_KINDS)}")] = None,
    mine: Annotated[bool, Query(description="Only customers I own (not my team's, not the pool)")] = False,
    severity: Annotated[str | None, Query(pattern="^(high|medium|low)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AlertsPage:
    from tools.alerts import compute_alerts

    state = get_state(request)
    unknown = sorted(set(kind or ()) - set(ALERT_KINDS))
    if unknown:
        raise HTTPException(status_code=422, detail=f"unknown alert kind(s): {', '.join(unknown)}")
    try:
        result = compute_alerts(context_for(state, user), kinds=kind or None)
    except ToolError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    alerts = [a for a in result.alerts if (not mine or a.owner_id == user.id)
              and (severity is None or a.severity == severity)]
    return AlertsPage(as_of=result.as_of, summary=result.summary, summary_zh=result.summary_zh,
                      counts={k: sum(a.kind == k for a in alerts) for k in ALERT_KINDS}, alerts=alerts[:limit])
