"""One question from the web: open the user's thread, call ``assistant.respond``, keep the result.

The edge stays thin: the caller's ``ToolContext`` (role, scope, clock, channel "web") is
built here and everything else is the assistant's. Writes are only previewed during the
turn (``confirm_writes``); each becomes a proposal the user confirms with a button
(``integrations.web.writes``). Charts drawn for the reply are granted to this user only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import HTTPException

from integrations.web.schemas import AskReply, ChartRef, CitationLink, Proposal, WebTable
from storage.models import StaffUser, WebPendingWrite, WebThread
from tools import ToolContext
from tools.results import Table

if TYPE_CHECKING:
    from assistant import Reply
    from integrations.web.state import WebState

logger = logging.getLogger(__name__)


def context_for(state: WebState, user: StaffUser, *, confirm_writes: bool = False) -> ToolContext:
    ctx = ToolContext.for_user(user, now=state.now(), channel="web", database_url=state.database_url)
    return ctx.model_copy(update={"confirm_writes": True}) if confirm_writes else ctx


def open_thread(state: WebState, user: StaffUser, *, thread_id: str | None, question: str) -> WebThread:
    thread = state.store.open_thread(user_id=user.id, thread_id=thread_id, question=question)
    if thread is None:
        # Someone else's thread and a made-up id answer alike.
        raise HTTPException(status_code=404, detail="no such conversation")
    return thread


def answer(state: WebState, user: StaffUser, *, thread: WebThread, question: str,
           on_token: Callable[[str], None] | None = None) -> AskReply:
    from assistant import AssistantError, respond

    ctx = context_for(state, user, confirm_writes=True)
    try:
        reply = respond(question, context=ctx, thread_id=thread.id, on_token=on_token)
    except AssistantError as exc:
        raise HTTPException(status_code=503, detail=f"the assistant is not available: {exc}") from None
    proposals = _propose(state, user, ctx=ctx, reply=reply, thread_id=thread.id)
    names = [Path(p).stem for p in reply.charts]
    state.store.grant_charts(user_id=user.id, names=names)
    web_reply = to_web_reply(reply, proposals=proposals, chart_names=names)
    web_reply.message_id = state.store.add_message(thread_id=thread.id, question=question,
                                                   reply=web_reply.model_dump(mode="json"))
    return web_reply


def to_web_reply(reply: Reply, *, proposals: list[Proposal], chart_names: list[str]) -> AskReply:
    titles = [spec.title for spec in reply.chart_specs]
    return AskReply(
        answer=reply.answer,
        language=reply.language,
        thread_id=reply.thread_id,
        tables=[web_table(t, lang=reply.language) for t in reply.tables],
        charts=[ChartRef(url=f"/charts/{name}.png", title=titles[i] if i < len(titles) else "chart")
                for i, name in enumerate(chart_names)],
        citations=[CitationLink(kind=c.kind, id=c.id, label=c.label,
                                url=f"/customers/{c.id}" if c.kind == "customer" else None) for c in reply.citations],
        proposals=proposals,
        tool_calls=[c.model_dump(mode="json") for c in reply.tool_calls],
        model=reply.model,
        latency_ms=reply.latency_ms,
        grounded=reply.grounding.ok,
        error=reply.error.model_dump() if reply.error else None,
    )


def web_table(table: Table, *, lang: str) -> WebTable:
    return WebTable(columns=table.columns, headers=table.headers(lang=lang), rows=table.formatted_rows(lang=lang),
                    data=table.rows, total_rows=table.total_rows)


def proposal(write: WebPendingWrite) -> Proposal:
    return Proposal(id=write.id, tool=write.tool, arguments=write.arguments, summary=write.summary,
                    status=write.status, outcome=write.outcome, confirm_url=f"/api/writes/{write.id}/confirm",
                    cancel_url=f"/api/writes/{write.id}/cancel",
                    undo_url=f"/api/writes/{write.id}/undo" if undoable(write) else None)


def undoable(write: WebPendingWrite) -> bool:
    """A done assignment that is not itself an undo (undoing an undo would be a redo, not offered)."""
    return write.status == "done" and write.tool == "assign_customer" and "undo_of" not in write.arguments


def _propose(state: WebState, user: StaffUser, *, ctx: ToolContext, reply: Reply, thread_id: str) -> list[Proposal]:
    """A proposal for each write the turn previewed successfully; its summary is the dry run's own."""
    from assistant.proposals import previewed_writes

    out = []
    for w in previewed_writes(reply, ctx=ctx):
        write = state.store.propose(user_id=user.id, thread_id=thread_id, tool=w.tool, arguments=w.arguments,
                                    summary=w.preview.summary_for(reply.language), language=reply.language)
        out.append(proposal(write))
    return out
