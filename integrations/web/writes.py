"""The confirm button: run a write the assistant proposed, once, as the user who pressed it.

The write runs with the presser's current role and scope (not those at proposal time),
through the same registry call the assistant uses, with ``dry_run`` off. A status
compare-and-set (pending → running) makes a double click run it once.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from integrations.web.auth import require_user
from integrations.web.chat import context_for, web_table
from integrations.web.schemas import WriteOutcome
from integrations.web.state import get_state
from storage.models import StaffUser
from tools import ToolError, get_tool

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/writes", tags=["writes"])
WriteId = Path(pattern=r"^[0-9a-f]{32}$")


@router.post("/{write_id}/confirm", response_model=WriteOutcome, summary="Run a proposed write")
def confirm(request: Request, write_id: str = WriteId, user: StaffUser = Depends(require_user)) -> WriteOutcome:
    state = get_state(request)
    write = _pending(request, user, write_id)
    if state.store.expired(write):
        state.store.move(write.id, user_id=user.id, from_status="pending", to_status="cancelled", outcome="expired")
        raise HTTPException(status_code=409, detail="this proposal has expired; ask again")
    if not state.store.move(write.id, user_id=user.id, from_status="pending", to_status="running"):
        raise HTTPException(status_code=409, detail="this write was already confirmed or cancelled")
    ctx = context_for(state, user)
    try:
        result = get_tool(write.tool)({**write.arguments, "dry_run": False}, ctx=ctx)
    except ToolError as exc:
        state.store.move(write.id, user_id=user.id, from_status="running", to_status="failed", outcome=str(exc))
        return WriteOutcome(id=write.id, status="failed", summary=str(exc))
    except Exception:
        logger.exception("confirmed write %s (%s) failed", write.id, write.tool)
        state.store.move(write.id, user_id=user.id, from_status="running", to_status="failed",
                         outcome="the write failed unexpectedly")
        raise HTTPException(status_code=500, detail="the write failed unexpectedly; nothing was changed") from None
    lang = write.language
    summary = result.summary_for(lang)
    state.store.move(write.id, user_id=user.id, from_status="running", to_status="done", outcome=summary)
    table = web_table(result.table, lang=lang) if result.table is not None and result.table.rows else None
    return WriteOutcome(id=write.id, status="done", summary=summary, table=table)


@router.post("/{write_id}/cancel", response_model=WriteOutcome, summary="Drop a proposed write")
def cancel(request: Request, write_id: str = WriteId, user: StaffUser = Depends(require_user)) -> WriteOutcome:
    state = get_state(request)
    write = _pending(request, user, write_id)
    if not state.store.move(write.id, user_id=user.id, from_status="pending", to_status="cancelled", outcome="cancelled"):
        raise HTTPException(status_code=409, detail="this write was already confirmed or cancelled")
    return WriteOutcome(id=write.id, status="cancelled", summary="Cancelled; nothing was changed.")


def _pending(request: Request, user: StaffUser, write_id: str):
    write = get_state(request).store.get_write(user_id=user.id, write_id=write_id)
    if write is None:
        raise HTTPException(status_code=404, detail="no such proposed write")
    return write
