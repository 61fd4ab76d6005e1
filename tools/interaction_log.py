"""log_interaction: record a call, note, visit or email with a customer (a write tool)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from storage.models import Direction, Interaction, InteractionChannel, Role
from tools.audit import audit_write
from tools.context import ToolContext
from tools.errors import FutureDate, InvalidArgument, PermissionDenied
from tools.lookup import has_cjk, resolve_customer
from tools.results import Citation, Column, Table, ToolResult

log = logging.getLogger(__name__)

LoggableKind = Literal["call", "note", "visit", "email", "ticket", "complaint"]
# Which channels make sense for each kind; the first is the default.
_CHANNELS: dict[str, tuple[str, ...]] = {
    "call": ("phone",),
    "visit": ("visit", "store"),
    "email": ("email",),
    "note": ("phone", "email", "chat", "social", "visit", "store"),
    "ticket": ("chat", "email", "phone", "social", "store"),
    "complaint": ("phone", "email", "chat", "social", "store", "visit"),
}


class LogInteractionParams(BaseModel):
    customer: str | int = Field(description="Customer id, external id (C000123) or name")
    kind: LoggableKind = Field(description="call, note, visit, email, ticket or complaint")
    body: str = Field(min_length=1, max_length=5000, description="What happened or was said")
    subject: str | None = Field(default=None, max_length=300, description="Short title; default: first words of the body")
    channel: InteractionChannel | None = Field(default=None, description="phone, email, chat, social, visit or store; default follows the kind")
    direction: Direction = Field(default=Direction.outbound, description="outbound (we contacted them) or inbound")
    occurred_at: datetime | None = Field(default=None, description="When it happened; default now")
    duration_minutes: float | None = Field(default=None, ge=0, le=24 * 60, description="For calls and visits")
    dry_run: bool = Field(default=False, description="Check and preview without writing")

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("body must not be blank")
        return value.strip()


class LoggedInteraction(BaseModel):
    id: int | None
    customer_id: int
    customer_name: str
    staff_id: int | None
    kind: str
    channel: str
    direction: str
    subject: str
    body: str
    occurred_at: datetime
    duration_seconds: int | None
    ticket_status: str | None
    language: str


class LogInteractionResult(ToolResult):
    interaction: LoggedInteraction
    dry_run: bool
    searchable: bool = Field(description="True when the vector index was updated at once")


def log_interaction(params: LogInteractionParams, *, ctx: ToolContext) -> LogInteractionResult:
    """Record a contact with a customer (WRITE): a call, note, visit, email, ticket or complaint,
    with its text, channel, direction, time and duration, attributed to the caller. The note is
    made searchable for interaction_history at once. Tickets and complaints start open. Use
    dry_run=true to validate and preview without writing. Only customers in the caller's scope
    can be written to. It does not change the customer's owner (use assign_customer).
    """
    if ctx.role == Role.support:
        # Issue 7: support reads customers, orders and interactions; only reps, managers and admins write.
        raise PermissionDenied("the support role is read-only: it cannot log interactions",
                               hint="ask the customer's owner or a manager to log it")
    channel = (params.channel.value if params.channel else None) or _CHANNELS[params.kind][0]
    if channel not in _CHANNELS[params.kind]:
        raise InvalidArgument(
            f"a {params.kind} cannot happen on channel {channel!r}",
            hint=f"channels for {params.kind}: {', '.join(_CHANNELS[params.kind])}",
        )
    when = params.occurred_at or ctx.now
    if when.tzinfo is not None:
        raise InvalidArgument("give occurred_at without a time zone (UTC)")
    if when > ctx.now:
        raise FutureDate(f"occurred_at {when:%Y-%m-%d %H:%M} is in the future", hint="log what already happened")
    subject = params.subject or _subject(params.body)
    from sqlmodel import Session

    with Session(ctx.engine) as session:
        customer = resolve_customer(ctx, customer=params.customer, session=session)
        row = Interaction(
            customer_id=customer.id,
            staff_id=ctx.user_id,
            channel=channel,
            direction=params.direction.value,
            kind=params.kind,
            subject=subject,
            body=params.body,
            duration_seconds=round(params.duration_minutes * 60) if params.duration_minutes is not None else None,
            ticket_status="open" if params.kind in ("ticket", "complaint") else None,
            occurred_at=when,
            language="zh" if has_cjk(params.body) else "en",
            updated_at=ctx.now,
        )
        if not params.dry_run:
            session.add(row)
            session.flush()
            audit_write(
                session,
                ctx,
                tool="log_interaction",
                arguments=params.model_dump(mode="json", exclude={"body"}) | {"body_chars": len(params.body)},
                records=[f"customer:{customer.id}", f"interaction:{row.id}"],
            )
            session.commit()
        logged = LoggedInteraction(
            id=row.id,
            customer_id=customer.id,
            customer_name=customer.name,
            **row.model_dump(include={"staff_id", "kind", "channel", "direction", "subject", "body", "occurred_at",
                                      "duration_seconds", "ticket_status", "language"}),
        )
        external = customer.external_id
    searchable = False if params.dry_run else _index(logged.id, engine=ctx.engine)
    return _result(logged, external, dry_run=params.dry_run, searchable=searchable)


def _subject(body: str) -> str:
    first = body.strip().splitlines()[0]
    return first if len(first) <= 80 else first[:77].rstrip() + "…"


def _index(interaction_id: int, *, engine) -> bool:
    try:
        import knowledge

        index = knowledge.index_interactions
    except (ImportError, AttributeError):
        log.warning("knowledge.index_interactions is not available; the note is searchable after `crm index`")
        return False
    try:
        # The request's own database, not the default one: tests and tenants may differ.
        index([interaction_id], engine=engine)
    except Exception:  # noqa: BLE001 - the note is saved; search catching up later is not an error
        log.warning("indexing interaction %s failed; `crm index` will pick it up", interaction_id, exc_info=True)
        return False
    return True


_COLUMNS = [Column(key="field", label="Field", label_zh="项目"), Column(key="value", label="Value", label_zh="值")]


def _result(i: LoggedInteraction, external: str | None, *, dry_run: bool, searchable: bool) -> LogInteractionResult:
    who = f"{i.customer_name} ({external or i.customer_id})"
    if dry_run:
        summary = f"Would log (dry run) a {i.kind} via {i.channel} with {who} at {i.occurred_at:%Y-%m-%d %H:%M}: {i.subject!r}."
        summary_zh = f"（试运行，未写入）将为 {who} 记录一条{i.kind}（{i.channel}），时间 {i.occurred_at:%Y-%m-%d %H:%M}：{i.subject}"
    else:
        summary = f"Logged {i.kind} #{i.id} via {i.channel} with {who} at {i.occurred_at:%Y-%m-%d %H:%M}: {i.subject!r}."
        summary_zh = f"已为 {who} 记录{i.kind} #{i.id}（{i.channel}），时间 {i.occurred_at:%Y-%m-%d %H:%M}：{i.subject}"
        if not searchable:
            summary += " It will be searchable after the next `crm index`."
            summary_zh += "（下次 `crm index` 后可被检索）"
    rows = [{"field": k, "value": v} for k, v in (("customer", who), ("kind", i.kind), ("channel", i.channel),
                                                 ("direction", i.direction), ("when", i.occurred_at), ("subject", i.subject))]
    cites = [Citation(kind="customer", id=i.customer_id, label=external or i.customer_name)]
    if i.id is not None:
        cites.append(Citation(kind="interaction", id=i.id, label=f"interaction {i.id}"))
    return LogInteractionResult(
        summary=summary, summary_zh=summary_zh, table=Table.from_records(_COLUMNS, rows), citations=cites,
        interaction=i, dry_run=dry_run, searchable=searchable,
    )
