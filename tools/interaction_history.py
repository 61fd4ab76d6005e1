"""interaction_history: what was said with customers, latest first or by meaning and keywords."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from knowledge.hits import InteractionHit, SearchFilters
from storage.models import InteractionChannel, InteractionKind
from tools.context import ToolContext
from tools.errors import ToolError
from tools.lookup import resolve_customer
from tools.periods import Period
from tools.results import Citation, Column, Table, ToolResult

__all__ = ["InteractionHistoryParams", "InteractionHistoryResult", "interaction_history"]


class InteractionHistoryParams(BaseModel):
    customer: str | int | None = Field(
        default=None,
        description="Customer id, external id (C000123) or name. Omit to look across every customer you may see.",
    )
    query: str | None = Field(
        default=None,
        max_length=500,
        description="What to look for, English or Chinese: a topic ('complained about delivery', '退款'), "
        "an order number, SKU or name. Omit to list the latest interactions.",
    )
    period: Period = Field(default_factory=Period, description="Only interactions in this date range")
    channels: list[InteractionChannel] = Field(default_factory=list, description="phone, email, chat, social, visit, store")
    kinds: list[InteractionKind] = Field(
        default_factory=list, description="call, email, ticket, complaint, visit, social_comment, note"
    )
    limit: int = Field(default=10, ge=1, le=50, description="How many interactions to return")

    @field_validator("channels", "kinds", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value or []


class InteractionHistoryResult(ToolResult):
    mode: Literal["search", "latest"]
    query: str | None = None
    customer_id: int | None = None
    customer_name: str | None = None
    hits: list[InteractionHit] = Field(default_factory=list)


_COLUMNS = [
    Column(key="reference", label="Interaction", label_zh="记录"),
    Column(key="date", label="Date", label_zh="日期", kind="date"),
    Column(key="channel", label="Channel", label_zh="渠道"),
    Column(key="kind", label="Kind", label_zh="类型"),
    Column(key="staff", label="Staff", label_zh="员工"),
    Column(key="customer", label="Customer", label_zh="客户"),
    Column(key="snippet", label="What was said", label_zh="内容"),
]


def interaction_history(params: InteractionHistoryParams, *, ctx: ToolContext) -> InteractionHistoryResult:
    """Calls, emails, tickets, complaints, visits, chats and social comments with customers, each cited
    with its interaction id, date, channel, kind, staff member and customer.

    Without `query`: the latest interactions (of one customer when `customer` is given), newest first.
    With `query`: hybrid search by meaning plus exact keywords (order numbers, SKUs, names and Chinese
    terms all match exactly), e.g. customer="Alice Wang", query="complained about delivery", or no
    customer and query="refund" with a period to ask who mentioned a refund this month.
    Filters: period (start/end dates), channels, kinds. Only customers the caller may see are searched.
    """
    import knowledge
    from knowledge.store import StoreError

    customer = resolve_customer(ctx, customer=params.customer) if params.customer not in (None, "") else None
    start, end = params.period.resolve(ctx)
    filters = SearchFilters(
        customer_ids=[customer.id] if customer else None,
        channels=[c.value for c in params.channels] or None,
        kinds=[k.value for k in params.kinds] or None,
        start=start,
        end=end,
    )
    query = (params.query or "").strip() or None
    try:
        if query:
            hits = knowledge.search(query, scope=ctx.scope, filters=filters, limit=params.limit, engine=ctx.engine)
            if not hits and knowledge.get_collection().count() == 0:
                raise ToolError("the interaction search index is empty", hint="an administrator can run `crm index`")
        else:
            from sqlmodel import Session

            with Session(ctx.engine) as session:
                hits = knowledge.recent(session, scope=ctx.scope, filters=filters, limit=params.limit)
    except StoreError as exc:
        raise ToolError(str(exc), hint="an administrator can run `crm index --rebuild`") from None
    return _result(params, hits, customer_id=customer.id if customer else None,
                   customer_name=customer.name if customer else None, query=query)


def _result(params, hits, *, customer_id, customer_name, query) -> InteractionHistoryResult:
    who = customer_name or "customers you can see"
    who_zh = customer_name or "您可见的客户"
    period = params.period.label()
    if query:
        summary = f"{len(hits)} interaction(s) with {who} matching {query!r} ({period}), best match first."
        summary_zh = f"与{who_zh}相关、匹配“{query}”的互动记录 {len(hits)} 条（{period}），按相关度排序。"
    else:
        summary = f"The {len(hits)} latest interaction(s) with {who} ({period}), newest first."
        summary_zh = f"与{who_zh}最近的 {len(hits)} 条互动记录（{period}），按时间倒序。"
    if not hits:
        summary += " Nothing found; try other words, a wider period or fewer filters."
        summary_zh += " 没有找到记录，可换个说法、放宽时间或减少筛选条件。"
    rows = [
        [h.reference, h.occurred_at.date().isoformat(), h.channel, h.kind, h.staff_name or "—", h.customer_name, h.snippet]
        for h in hits
    ]
    return InteractionHistoryResult(
        summary=summary,
        summary_zh=summary_zh,
        table=Table(columns=_COLUMNS, rows=rows),
        citations=[Citation(kind="interaction", id=h.interaction_id, label=h.reference) for h in hits],
        mode="search" if query else "latest",
        query=query,
        customer_id=customer_id,
        customer_name=customer_name,
        hits=hits,
    )
