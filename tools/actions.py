"""Write tools: log_interaction and assign_customer.

Each write is one transaction: the change itself and its ``audit_log`` row (action
"write") commit together or not at all. ``dry_run`` runs every check and returns what
would change without writing; the confirmation step of the assistant builds on it.
Side indexes (the vector store) are updated after the commit through ``knowledge``,
imported lazily: a missing or failing index never undoes a committed write.

Ownership rules (assign_customer):
- rep: claim a customer from the public pool; release their own customers;
- manager: also assign any customer in their scope (team + pool) to a rep of their team;
  a head of sales, like an admin, to any active rep or manager;
- support: no ownership changes.
Customers outside the caller's scope are not found at all (same as reads); visible
customers the caller may not change raise ``PermissionDenied``.

The owner update is a compare-and-set on the owner the checks saw, so two changes racing
for one customer (two reps claiming it, two clicks on Undo) write once; the loser gets
``Conflict``. ``undo_of`` turns a call into the undo of one pool-history row, refused
when that change was superseded or already undone (``tools.assign_undo``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlmodel import Session

from storage.models import Customer, PoolHistory, Role, StaffUser
from tools.assign_undo import (
    Conflict,
    audit_refused,
    check_before_scope,
    check_undo,
    check_undo_target,
    reverse_arguments,
    undo_reason,
)
from tools.audit import audit_write
from tools.context import ToolContext
from tools.errors import InvalidArgument, PermissionDenied, ToolError
from tools.interaction_log import LogInteractionParams, LogInteractionResult, log_interaction
from tools.lookup import invalidate_name_cache, resolve_customer, resolve_staff
from tools.results import Citation, Column, Table, ToolResult

log = logging.getLogger(__name__)

__all__ = [
    "AssignCustomerParams",
    "AssignCustomerResult",
    "Conflict",
    "LogInteractionParams",
    "LogInteractionResult",
    "assign_customer",
    "log_interaction",
]

class AssignCustomerParams(BaseModel):
    customer: str | int = Field(description="Customer id, external id (C000123) or name")
    action: Literal["claim", "assign", "release"] = Field(
        description="claim: take a public-pool customer for yourself; assign: give to a rep (managers); release: return to the public pool"
    )
    to: str | None = Field(default=None, description="For assign: the rep's name or email")
    reason: str | None = Field(default=None, max_length=300, description="Why (kept in pool history)")
    dry_run: bool = Field(default=False, description="Check and describe the change without writing it")
    undo_of: int | None = Field(
        default=None, ge=1,
        description="Only when undoing: the pool history id this call reverses (from an earlier result's undo "
                    "arguments); refused if the customer's owner changed since or it was already undone",
    )


class OwnerRef(BaseModel):
    id: int | None
    name: str


class AssignCustomerResult(ToolResult):
    customer_id: int
    customer_name: str
    action: Literal["claim", "assign", "release"]
    from_owner: OwnerRef
    to_owner: OwnerRef
    dry_run: bool
    pool_history_id: int | None = Field(description="The pool_history row written (None on dry run)")
    undo: dict = Field(description="assign_customer arguments that reverse this change (with undo_of once written)")

    def undo_summary(self, lang: str = "en") -> str:
        """One line for an Undo button's proposal: what undoing this change will do."""
        name = self.customer_name
        if lang == "zh":
            return f"撤销：把 {name} 交回 {self.from_owner.name}"
        return f"Undo: give {name} back to {self.from_owner.name}"


def _owner(session: Session, owner_id: int | None) -> OwnerRef:
    if owner_id is None:
        return OwnerRef(id=None, name="public pool")
    staff = session.get(StaffUser, owner_id)
    return OwnerRef(id=owner_id, name=staff.name if staff else f"staff {owner_id}")


def assign_customer(params: AssignCustomerParams, *, ctx: ToolContext) -> AssignCustomerResult:
    """Change who owns a customer (WRITE). action=claim takes a customer from the public pool
    (公海) for the caller; action=release returns a customer to the pool; action=assign gives a
    customer to a named rep (managers within their team; head of sales and admins to anyone).
    Reps may claim pool customers and release their own. Every change is recorded in pool
    history and the audit log, and the result carries the arguments that undo it. Use
    dry_run=true to check and preview without writing. It does not edit other customer fields.
    """
    if not ctx.can_write_customers or (ctx.user_id is None and ctx.role != Role.admin):
        raise PermissionDenied(f"the {ctx.role.value} role cannot change customer ownership")
    try:
        return _assign(params, ctx=ctx)
    except ToolError as exc:
        # Refused undos and lost races are audited too; other refusals are the assistant's tool-call rows.
        if not params.dry_run and (params.undo_of is not None or isinstance(exc, Conflict)):
            audit_refused(ctx, tool="assign_customer", arguments=params.model_dump(mode="json"),
                          records=[f"customer:{params.customer}", f"pool_history:{params.undo_of}"], reason=str(exc))
        raise


def _assign(params: AssignCustomerParams, *, ctx: ToolContext) -> AssignCustomerResult:
    with Session(ctx.engine) as session:
        undone = check_before_scope(session, ctx, params.undo_of) if params.undo_of is not None else None
        customer = resolve_customer(ctx, customer=params.customer, session=session)
        current = customer.owner_id
        if params.undo_of is not None:
            undone = check_undo(session, undone, customer_id=customer.id, current_owner=current,
                                history_id=params.undo_of)
        target = _target(session, ctx, params, current)
        if undone is not None:
            check_undo_target(undone, target=target)
        _check_rules(session, ctx, params.action, current=current, target=target)
        before, after = _owner(session, current), _owner(session, target)
        history_id = None
        if not params.dry_run:
            # Bumped past every earlier value so name caches keyed on max(updated_at) notice the change.
            stamp = max(ctx.now, customer.updated_at + timedelta(microseconds=1))
            owner_was = Customer.owner_id.is_(None) if current is None else Customer.owner_id == current
            changed = session.execute(
                update(Customer).where(Customer.id == customer.id, owner_was).values(owner_id=target, updated_at=stamp)
            ).rowcount
            if changed != 1:
                session.rollback()
                raise Conflict("the customer's owner changed while this ran; nothing was changed")
            reason = undo_reason(params.undo_of, params.reason) if params.undo_of is not None else params.reason
            entry = PoolHistory(
                customer_id=customer.id,
                action=params.action,
                from_owner_id=current,
                to_owner_id=target,
                by_user_id=ctx.user_id,
                at=ctx.now,
                reason=reason,
            )
            session.add(entry)
            session.flush()
            history_id = entry.id
            audit_write(
                session,
                ctx,
                tool="assign_customer",
                arguments=params.model_dump(mode="json"),
                records=[f"customer:{customer.id}", f"pool_history:{entry.id}"],
            )
            session.commit()
            invalidate_name_cache()
            _sync_knowledge_owner(customer.id, target)
        name, cid, ext = customer.name, customer.id, customer.external_id
        undo = reverse_arguments(session, ctx, customer_id=cid, from_owner_id=current, to_owner_id=target,
                                 history_id=history_id)
    return _assign_result(params, cid, name, ext, before, after, history_id, undo)


def _target(session: Session, ctx: ToolContext, params: AssignCustomerParams, current: int | None) -> int | None:
    if params.action == "release":
        if current is None:
            raise InvalidArgument("the customer is already in the public pool")
        return None
    if params.action == "claim":
        if ctx.user_id is None:
            raise InvalidArgument("claim needs a signed-in staff member; use action=assign with to=…")
        return ctx.user_id
    if not params.to:
        raise InvalidArgument("assign needs 'to': the rep's name or email")
    staff = resolve_staff(ctx, staff=params.to, session=session)
    if not staff.is_active or Role(staff.role) not in (Role.rep, Role.manager):
        raise InvalidArgument(f"{staff.name} cannot own customers (inactive or not a rep/manager)")
    return staff.id


def _check_rules(session: Session, ctx: ToolContext, action: str, *, current: int | None, target: int | None) -> None:
    if current == target:
        raise InvalidArgument("nothing to change: the customer already has that owner")
    role = ctx.role
    if role == Role.admin or (role == Role.manager and ctx.scope.all_customers):
        return
    if role == Role.rep:
        if action == "claim" and current is not None:
            raise PermissionDenied("only public-pool customers can be claimed; this one has an owner")
        if action == "release" and current != ctx.user_id:
            raise PermissionDenied("reps can release only their own customers")
        if action == "assign":
            raise PermissionDenied("reps cannot assign customers to others; claim from the pool, or ask a manager")
        return
    # A team manager: the customer is in scope (resolve_customer checked); the new owner must be on the team too.
    if action == "claim" and current is not None:
        raise PermissionDenied("only public-pool customers can be claimed; use assign to move an owned customer")
    if target is not None and not ctx.scope.allows_owner(target):
        raise PermissionDenied("managers can assign customers only to members of their own team")


def _sync_knowledge_owner(customer_id: int, owner_id: int | None) -> None:
    try:
        import knowledge

        update = knowledge.update_owner
    except (ImportError, AttributeError):
        log.warning("knowledge.update_owner is not available; vector metadata keeps the old owner until reindexed")
        return
    try:
        update(customer_id, owner_id)
    except Exception:  # noqa: BLE001 - the write is committed; a stale index must not turn it into an error
        log.warning("knowledge.update_owner failed for customer %s", customer_id, exc_info=True)


_ASSIGN_COLUMNS = [
    Column(key="field", label="Field", label_zh="项目"),
    Column(key="value", label="Value", label_zh="值"),
]


def _assign_result(params, cid, name, ext, before: OwnerRef, after: OwnerRef, history_id, undo) -> AssignCustomerResult:
    verb = {"claim": "claimed from the public pool by", "assign": "assigned to", "release": "released to the public pool by"}
    who = after.name if params.action != "release" else before.name
    prefix = "Would be (dry run): " if params.dry_run else ""
    summary = f"{prefix}{name} ({ext or cid}) {verb[params.action]} {who} (was: {before.name})."
    verb_zh = {"claim": "从公海认领给", "assign": "分配给", "release": "释放到公海（原负责人）"}
    summary_zh = f"{'（试运行，未写入）' if params.dry_run else ''}{name}（{ext or cid}）已{verb_zh[params.action]} {who}（原：{before.name}）。"
    if history_id:
        summary += f" Pool history #{history_id}."
    rows = [
        {"field": "customer", "value": f"{name} ({ext or cid})"},
        {"field": "from", "value": before.name},
        {"field": "to", "value": after.name},
        {"field": "pool history id", "value": history_id},
    ]
    return AssignCustomerResult(
        summary=summary,
        summary_zh=summary_zh,
        table=Table.from_records(_ASSIGN_COLUMNS, rows),
        citations=[Citation(kind="customer", id=cid, label=ext or name)],
        customer_id=cid,
        customer_name=name,
        action=params.action,
        from_owner=before,
        to_owner=after,
        dry_run=params.dry_run,
        pool_history_id=history_id,
        undo=undo,
    )

