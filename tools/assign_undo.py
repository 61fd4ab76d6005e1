"""Undoing an ownership change: which arguments reverse a pool-history row, and when that is refused.

An undo is an ordinary ``assign_customer`` call carrying ``undo_of`` (the pool-history id
it reverses), so it runs as whoever asks for it, with their current role and scope, and
is audited like any write. It is refused when it would no longer restore the state the
change left behind:

- a later pool-history row exists for the customer (someone reassigned it, or the
  change was already undone: undo rows carry the marker ``undo of pool history #N``);
- the customer's owner is not the one the change set (edited outside pool history);
- the arguments do not put the customer back with the change's previous owner.

The final owner update is a compare-and-set in ``tools.actions``, so two undos racing
for the same row write once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from storage.models import PoolHistory, StaffUser
from tools.audit import audit_write
from tools.context import ToolContext
from tools.errors import InvalidArgument, NotFound, ToolError
from tools.lookup import resolve_customer

UNDO_MARKER = "undo of pool history #{id}"


class Conflict(ToolError):
    """The data moved since the change was proposed or made; nothing was written."""

    code = "conflict"


def undo_reason(history_id: int, reason: str | None) -> str:
    marker = UNDO_MARKER.format(id=history_id)
    return marker if not reason else f"{marker}: {reason}"[:300]


def is_undo_of(row: PoolHistory, history_id: int) -> bool:
    marker = UNDO_MARKER.format(id=history_id)
    return (row.reason or "") == marker or (row.reason or "").startswith(marker + ":")


def reverse_arguments(session: Session, ctx: ToolContext, *, customer_id: int, from_owner_id: int | None,
                      to_owner_id: int | None, history_id: int | None) -> dict[str, Any]:
    """assign_customer arguments that put the customer back with ``from_owner_id``, for the caller ``ctx``."""
    if from_owner_id is None:
        args: dict[str, Any] = {"customer": customer_id, "action": "release"}
    elif to_owner_id is None and from_owner_id == ctx.user_id:
        args = {"customer": customer_id, "action": "claim"}
    else:
        staff = session.get(StaffUser, from_owner_id)
        # The email (unique) rather than the name (two reps may share one), so the undo cannot pick the wrong person.
        args = {"customer": customer_id, "action": "assign", "to": staff.email if staff else str(from_owner_id)}
    if history_id is not None:
        args["undo_of"] = history_id
    return args


def check_before_scope(session: Session, ctx: ToolContext, history_id: int) -> PoolHistory | None:
    """The row to undo. When the caller made that change, a later change is reported plainly even if the
    customer has since left their scope (they knew the customer; "not found" would only confuse)."""
    row = session.get(PoolHistory, history_id)
    if row is not None and ctx.user_id is not None and row.by_user_id == ctx.user_id:
        _refuse_if_superseded(session, row)
    return row


def check_undo(session: Session, row: PoolHistory | None, *, customer_id: int, current_owner: int | None,
               history_id: int) -> PoolHistory:
    """Raise unless undoing ``row`` now would restore the owner it replaced (before the arguments are read,
    so a second undo hears "already undone" rather than some argument error)."""
    if row is None or row.customer_id != customer_id:
        raise InvalidArgument(f"pool history #{history_id} is not a change of this customer; nothing was changed")
    _refuse_if_superseded(session, row)
    if current_owner != row.to_owner_id:
        raise Conflict(f"cannot undo pool history #{row.id}: the customer's owner changed since; nothing was changed")
    return row


def check_undo_target(row: PoolHistory, *, target: int | None) -> None:
    if target != row.from_owner_id:
        raise InvalidArgument(f"these arguments do not reverse pool history #{row.id}",
                              hint="use the undo arguments of the change's own result")


def _refuse_if_superseded(session: Session, row: PoolHistory) -> None:
    later = session.exec(select(PoolHistory).where(PoolHistory.customer_id == row.customer_id,
                                                   PoolHistory.id > row.id).order_by(PoolHistory.id)).first()
    if later is None:
        return
    if is_undo_of(later, row.id):
        raise Conflict(f"pool history #{row.id} was already undone (pool history #{later.id}); nothing was changed")
    raise Conflict(f"cannot undo pool history #{row.id}: the customer's owner changed since "
                   f"(pool history #{later.id}, {later.action}); nothing was changed")


def undo_arguments_for(ctx: ToolContext, *, history_id: int | None = None, last: bool = False) -> dict[str, Any]:
    """assign_customer arguments (with ``undo_of``) that reverse pool history ``history_id``, or the caller's
    latest change with ``last``. Rows of customers outside the caller's scope are not found, unless the
    caller made the change (then the undo itself explains why it cannot run)."""
    with Session(ctx.engine) as session:
        if last:
            if ctx.user_id is None:
                raise InvalidArgument("--last needs a signed-in staff member (--as EMAIL); give the pool history id")
            # "Undo my last change" means a change, not an earlier undo (that would be a redo).
            not_an_undo = or_(PoolHistory.reason.is_(None),
                              ~PoolHistory.reason.startswith(UNDO_MARKER.split("#")[0], autoescape=True))
            row = session.exec(select(PoolHistory).where(PoolHistory.by_user_id == ctx.user_id, not_an_undo)
                               .order_by(PoolHistory.id.desc())).first()
            if row is None:
                raise NotFound("you have made no ownership change to undo")
        else:
            row = session.get(PoolHistory, history_id) if history_id is not None else None
            missing = NotFound(f"no pool history #{history_id} found")
            if row is None:
                raise missing
            if row.by_user_id is None or row.by_user_id != ctx.user_id:
                try:
                    resolve_customer(ctx, customer=row.customer_id, session=session)
                except NotFound:
                    raise missing from None
        return reverse_arguments(session, ctx, customer_id=row.customer_id, from_owner_id=row.from_owner_id,
                                 to_owner_id=row.to_owner_id, history_id=row.id)


def audit_refused(ctx: ToolContext, *, tool: str, arguments: dict, records: list[str], reason: str) -> None:
    """A refused write leaves a trace too, in its own transaction (the write's own one was rolled back)."""
    with Session(ctx.engine) as session:
        audit_write(session, ctx, tool=tool, arguments={**arguments, "refused": reason[:500]}, records=records,
                    outcome="refused")
        session.commit()
