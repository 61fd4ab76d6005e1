"""GDPR admin endpoints: download everything held about a customer, or erase them.

- ``GET /api/gdpr/customers/{id}/export``: the export as a JSON attachment (never cached).
- ``POST /api/gdpr/customers/{id}/erase`` with ``{"confirm": true}``: erases; with
  ``{"confirm": false}`` it only previews what would change. The field is required, so a
  request without it is refused (422) rather than taken as either.

Admins only: anyone else gets 403, whatever the id (the audit endpoint does the same).
Both acts are audited by ``tools.gdpr``. Cookie-authenticated POSTs must come from this
origin (``require_user``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from integrations.web.auth import require_user
from integrations.web.chat import context_for
from integrations.web.state import get_state
from storage.errors import StorageError
from storage.models import Role, StaffUser
from tools import NotFound, PermissionDenied

router = APIRouter(tags=["gdpr"])
NOT_FOUND = "No such customer."


class EraseRequest(BaseModel):
    confirm: bool = Field(description="true erases (cannot be undone); false only previews what would change")


def require_admin(user: StaffUser = Depends(require_user)) -> StaffUser:
    if user.role != Role.admin:
        raise HTTPException(status_code=403, detail="GDPR export and erasure are for admins")
    return user


@router.get("/api/gdpr/customers/{customer_id}/export", summary="Everything held about a customer, as a JSON "
            "download (admins only; audited)")
def export(request: Request, customer_id: int, admin: StaffUser = Depends(require_admin)) -> Response:
    from tools.gdpr import export_customer

    state = get_state(request)
    try:
        result = export_customer(context_for(state, admin), customer=customer_id)
    except NotFound:
        raise HTTPException(status_code=404, detail=NOT_FOUND) from None
    except PermissionDenied as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None
    name = f"gdpr-export-customer-{result.customer_id}.json"
    return Response(result.body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-SHA256": result.sha256,
    })


@router.post("/api/gdpr/customers/{customer_id}/erase", summary="Erase (anonymise) a customer; confirm=false "
             "previews (admins only; audited)")
def erase(request: Request, customer_id: int, body: EraseRequest,
          admin: StaffUser = Depends(require_admin)) -> dict[str, Any]:
    from assistant.gdpr_memory import forget_customer
    from tools.gdpr import erase_customer

    state = get_state(request)
    try:
        result = erase_customer(context_for(state, admin), customer=customer_id, dry_run=not body.confirm,
                                forget=forget_customer)
    except NotFound:
        raise HTTPException(status_code=404, detail=NOT_FOUND) from None
    except PermissionDenied as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None
    except StorageError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return {**result.model_dump(mode="json"), "erased": body.confirm and not result.already_erased,
            "complete": result.complete, "message": "\n".join(result.lines())}
