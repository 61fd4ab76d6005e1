"""A customer's 360° view for the web: ``customer_profile`` with the caller's context, as JSON or for the page.

An id outside the caller's scope and an id that does not exist answer the same 404, so
neither the page nor the API confirms that a customer exists.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from integrations.web.auth import require_user
from integrations.web.chat import context_for
from integrations.web.state import WebState, get_state
from storage.models import StaffUser
from tools import NotFound, PermissionDenied, get_tool

router = APIRouter(tags=["customers"])
NOT_FOUND = "No such customer, or not one you can see."


@router.get("/api/customers/{customer_id}", summary="A customer's 360° view (customer_profile), within my scope")
def customer_json(request: Request, customer_id: int, user: StaffUser = Depends(require_user)) -> dict[str, Any]:
    state = get_state(request)
    result = profile(state, user, customer_id)
    if result is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return {**result.to_json(), "chart_url": chart_url(state, user, result)}


def profile(state: WebState, user: StaffUser, customer_id: int):
    """The CustomerProfileResult, or None when the id is unknown or outside the user's scope."""
    try:
        return get_tool("customer_profile")({"customer": customer_id, "interactions": 10}, ctx=context_for(state, user))
    except (NotFound, PermissionDenied):
        return None


def chart_url(state: WebState, user: StaffUser, result) -> str | None:
    """Draw the profile's chart (cached by content) and let this user fetch it."""
    if result.chart is None:
        return None
    from tools.charts import render_chart

    path = render_chart(result.chart, state.charts_dir)
    state.store.grant_charts(user_id=user.id, names=[path.stem])
    return f"/charts/{path.stem}.png"
