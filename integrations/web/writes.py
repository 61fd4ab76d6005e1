"""The confirm and undo buttons: run a write the assistant proposed, once, as the user who pressed it.

The write runs with the presser's current role and scope (not those at proposal time),
through the same registry call the assistant uses, with ``dry_run`` off. A status
compare-and-set (pending → running) makes a double click run it once.

A confirmed assignment also stores its undo as a pending write (id derived from the
original's, see ``store.undo_id_for``; arguments = the result's ``undo``, carrying
``undo_of``). Undo confirms that write by the same compare-and-set, and the tool refuses
it if the customer's owner changed since or the change was already undone. It does not
expire: the ``undo_of`` check, not the clock, decides whether it is still safe. On success
the original is marked "undone".
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from integrations.web.auth import require_user
from integrations.web.chat import context_for, undoable, web_table
from integrations.web.schemas import WriteOutcome
from integrations.web.state import WebState, get_state
from integrations.web.store import undo_id_for
from storage.models import StaffUser, WebPendingWrite
from tools import ToolError, ToolResult, get_tool

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/writes", tags=["writes"])
WriteId = Path(pattern=r"^[0-9a-f]{32}$")
HANDLED = "this write was already confirmed or cancelled"


@router.post("/{write_id}/confirm", response_model=WriteOutcome, summary="Run a proposed write")
def confirm(request: Request, write_id: str = WriteId, user: StaffUser = Depends(require_user)) -> WriteOutcome:
    state = get_state(request)
    write = _pending(request, user, write_id)
    if state.store.expired(write):
        state.store.move(write.id, user_id=user.id, from_status="pending", to_status="cancelled", outcome="expired")
        raise HTTPException(status_code=409, detail="this proposal has expired; ask again")
    if not state.store.move(write.id, user_id=user.id, from_status="pending", to_status="running"):
        raise HTTPException(status_code=409, detail=HANDLED)
    result, failure = _run(state, user, write)
    if result is None:
        return failure
    lang = write.language
    summary = result.summary_for(lang)
    state.store.move(write.id, user_id=user.id, from_status="running", to_status="done", outcome=summary)
    undo_url = _offer_undo(state, user, write, result)
    table = web_table(result.table, lang=lang) if result.table is not None and result.table.rows else None
    return WriteOutcome(id=write.id, status="done", summary=summary, table=table, undo_url=undo_url)


@router.post("/{write_id}/undo", response_model=WriteOutcome, summary="Undo a confirmed assignment")
def undo(request: Request, write_id: str = WriteId, user: StaffUser = Depends(require_user)) -> WriteOutcome:
    state = get_state(request)
    original = _pending(request, user, write_id)
    if original.status == "undone":
        raise HTTPException(status_code=409, detail="this change was already undone")
    reversal = state.store.get_write(user_id=user.id, write_id=undo_id_for(original.id))
    if not undoable(original) or reversal is None:
        raise HTTPException(status_code=409, detail="only a confirmed assignment can be undone")
    # A failed undo (refused, or the database was busy) may be tried again; the tool re-checks everything.
    claimed = any(state.store.move(reversal.id, user_id=user.id, from_status=s, to_status="running")
                  for s in ("pending", "failed"))
    if not claimed:
        raise HTTPException(status_code=409, detail="this change is already being undone or was undone")
    result, failure = _run(state, user, reversal)
    if result is None:
        return failure.model_copy(update={"id": original.id})
    summary = result.summary_for(reversal.language)
    state.store.move(reversal.id, user_id=user.id, from_status="running", to_status="done", outcome=summary)
    undone = f"{original.outcome or original.summary}\nUndone: {summary}"
    state.store.move(original.id, user_id=user.id, from_status="done", to_status="undone", outcome=undone)
    return WriteOutcome(id=original.id, status="undone", summary=summary)


@router.post("/{write_id}/cancel", response_model=WriteOutcome, summary="Drop a proposed write")
def cancel(request: Request, write_id: str = WriteId, user: StaffUser = Depends(require_user)) -> WriteOutcome:
    state = get_state(request)
    write = _pending(request, user, write_id)
    if not state.store.move(write.id, user_id=user.id, from_status="pending", to_status="cancelled", outcome="cancelled"):
        raise HTTPException(status_code=409, detail=HANDLED)
    return WriteOutcome(id=write.id, status="cancelled", summary="Cancelled; nothing was changed.")


def _run(state: WebState, user: StaffUser, write: WebPendingWrite) -> tuple[ToolResult | None, WriteOutcome | None]:
    """Execute a write the caller already moved to "running"; a failure moves it to "failed"."""
    ctx = context_for(state, user)
    try:
        return get_tool(write.tool)({**write.arguments, "dry_run": False}, ctx=ctx), None
    except ToolError as exc:
        state.store.move(write.id, user_id=user.id, from_status="running", to_status="failed", outcome=str(exc))
        return None, WriteOutcome(id=write.id, status="failed", summary=str(exc))
    except Exception:
        logger.exception("confirmed write %s (%s) failed", write.id, write.tool)
        state.store.move(write.id, user_id=user.id, from_status="running", to_status="failed",
                         outcome="the write failed unexpectedly")
        raise HTTPException(status_code=500, detail="the write failed unexpectedly; nothing was changed") from None


def _offer_undo(state: WebState, user: StaffUser, write: WebPendingWrite, result: ToolResult) -> str | None:
    """Store the reversal of a done assignment as a pending write; returns the Undo button's URL."""
    reversal = getattr(result, "undo", None)
    if not undoable(write.model_copy(update={"status": "done"})) or not reversal or "undo_of" not in reversal:
        return None
    try:
        state.store.propose(user_id=user.id, thread_id=write.thread_id, tool=write.tool, arguments=reversal,
                            summary=result.undo_summary(write.language), language=write.language,
                            write_id=undo_id_for(write.id))
    except Exception:  # noqa: BLE001 - the write is done; a missing Undo button must not report it as failed
        logger.exception("could not store the undo of write %s", write.id)
        return None
    return f"/api/writes/{write.id}/undo"


def _pending(request: Request, user: StaffUser, write_id: str) -> WebPendingWrite:
    write = get_state(request).store.get_write(user_id=user.id, write_id=write_id)
    if write is None:
        raise HTTPException(status_code=404, detail="no such proposed write")
    return write
