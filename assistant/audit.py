"""The audit trail of one answered turn: a ``question`` row and one ``tool_call`` row per tool call.

``respond`` calls ``record_turn`` on every path (empty question, failed turn, answer, crash), and
all the turn's rows go in one transaction, so the trail of a turn is whole or absent, never half.
Each ``tool_call`` row holds the tool, its arguments, the records its result cited
(``"customer:12"``, ``"order:3"``) and ``ok`` or the tool's error code. Write tools keep adding
their own ``write`` row inside the write's transaction (``tools.audit.audit_write``); these rows
sit beside it.

A failed audit write does not cost the user the answer. By the time it runs, the turn's reads are
done and cannot be undone by withholding the reply, and every change to the data is audited
transactionally by the write tool itself, so what can be lost here is the record of a read, not of
a write. Failing closed would turn a locked or briefly unreachable database into a complete outage
of the assistant. Instead the failure is logged at ERROR with who, when, where, which tools and
which records (not the question text or arguments, which may carry personal data the log files
are not protected for; the thread id finds them in the conversation store).

On PostgreSQL these rows commit without waiting for the WAL flush, which took the audit's cost per
turn from ~15 ms to ~3-5 ms median on the (busy) development machine; a crash of the database server can then lose the last fraction of a
second of read-audit rows, as SQLite in WAL mode with synchronous=NORMAL already can. Write rows
keep full durability: they commit with the write, in the write tool's own transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, Field
from sqlalchemy import insert, text

from assistant.inputs import MAX_QUESTION_CHARS
from assistant.pii_tokens import restore_arguments, vault_for
from storage.models import AuditEntry
from storage.retry import driver_detail, run_with_retry
from tools.context import ToolContext
from tools.errors import ToolError
from tools.results import ToolResult

logger = logging.getLogger(__name__)

# Error codes that mean "not in your scope" (indistinguishable, by design, from "does not exist").
REFUSAL_CODES = frozenset({"not_found", "permission_denied"})
MAX_ARGUMENT_CHARS = 2000
_PII_TOKEN = "⟦PII:"
_ROUTER_KEY = "router"  # assistant.router.dialogue.ROUTER_KEY, without importing the router here
# Column widths of audit_log (storage.models.ledgers.AuditEntryBase); Postgres enforces them.
_WIDTH = {"channel": 20, "action": 40, "tool": 60, "outcome": 40}


class AuditedCall(BaseModel):
    """One tool call of a turn, as the audit log keeps it."""

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    records: list[str] = Field(default_factory=list)
    outcome: str = "ok"


def calls_in(messages: Sequence[BaseMessage]) -> list[AuditedCall]:
    """Every tool call in a turn's messages, valid or malformed, with the records its result cited."""
    replies = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    calls: list[AuditedCall] = []
    vault: dict[str, str] | None = None
    for message in messages:
        if not isinstance(message, AIMessage):
            continue
        for call in message.tool_calls:
            reply = replies.get(call.get("id"))
            arguments = dict(call.get("args") or {})
            if _PII_TOKEN in json.dumps(arguments, ensure_ascii=False, default=str):
                # An external LLM writes PII tokens; the tool got the values (assistant.tool_adapter), and the
                # audit records what the tool was actually asked.
                vault = vault if vault is not None else vault_for(m.artifact for m in replies.values())
                arguments = restore_arguments(arguments, vault)
            calls.append(AuditedCall(tool=call["name"], arguments=arguments, records=_records(reply),
                                     outcome=_outcome(reply)))
        for bad in message.invalid_tool_calls:
            # Arguments that did not parse: kept raw, so an injection attempt is visible as sent.
            calls.append(AuditedCall(tool=bad.get("name") or "invalid_tool_call",
                                     arguments={"raw": bad.get("args") or ""}, outcome="invalid_tool_call"))
    return calls


def turn_outcome(messages: Sequence[BaseMessage], calls: Sequence[AuditedCall]) -> str:
    """``ok`` or ``refused``, read from what the turn did.

    Refused: the router declined the question as outside the CRM, or every tool call the turn made
    ended in a scope error (not found / permission denied), so the answer is a refusal.
    """
    if any(_router_intent(m) == "out_of_scope" for m in messages if isinstance(m, AIMessage)):
        return "refused"
    if calls and all(c.outcome in REFUSAL_CODES for c in calls):
        return "refused"
    return "ok"


def record_turn(
    *,
    context: ToolContext,
    question: str,
    thread_id: str,
    messages: Sequence[BaseMessage] = (),
    outcome: str | None = None,
    model: str | None = None,
    language: str | None = None,
) -> bool:
    """Write the turn's rows in one transaction; False (and an ERROR log line) when that failed.

    ``outcome`` is the caller's verdict when it has one (``empty``, a failed turn's error code);
    otherwise it is read from the messages (``ok`` or ``refused``).
    """
    calls = calls_in(messages)
    outcome = outcome or turn_outcome(messages, calls)
    base = {"at": context.now, "user_id": context.user_id, "channel": _fit(context.channel, "channel")}
    details = {k: v for k, v in {"thread_id": thread_id, "model": model, "language": language}.items() if v}
    rows = [{**base, "action": "question", "tool": None, "arguments": details, "records": None,
             "question": _clip(question, MAX_QUESTION_CHARS), "outcome": _fit(outcome, "outcome")}]
    rows += [{**base, "action": "tool_call", "tool": _fit(c.tool, "tool"), "arguments": _bounded(c.arguments),
              "records": c.records or None, "question": None, "outcome": _fit(c.outcome, "outcome")} for c in calls]
    try:
        # A locked or unreachable database gets the same short, bounded retry as the tools, not SQLite's
        # 30 s busy wait; then the turn's answer goes out without its audit rows (logged below).
        run_with_retry(lambda: _insert(context, rows))
    except Exception as exc:  # noqa: BLE001 - the answer must survive a failed audit write; see the module docstring
        logger.error(
            "AUDIT WRITE FAILED (%s: %s); the turn is not in audit_log: user_id=%s channel=%s at=%s thread=%s "
            "outcome=%s tools=%s records=%s",
            # The driver's first line only: SQLAlchemy's text would repeat the rows' parameters (questions,
            # arguments) into the log.
            type(exc).__name__, driver_detail(exc), context.user_id, context.channel, context.now.isoformat(), thread_id,
            outcome, [c.tool for c in calls], sorted({r for c in calls for r in c.records}),
        )
        return False
    return True


def _insert(context: ToolContext, rows: list[dict[str, Any]]) -> None:
    with context.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Don't wait for the WAL flush: the durability SQLite already has with synchronous=NORMAL
            # (storage.db), where a power loss may drop the last commits but never corrupts.
            conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
        conn.execute(insert(AuditEntry.__table__), rows)


def messages_after_failure(agent: Any, *, thread_id: str, question: str) -> list[BaseMessage]:
    """What a failed turn had done before it stopped, read back from the checkpoint.

    A turn that hits the step limit or a model timeout may already have called tools; the agent
    checkpoints on exit, errors included, so those calls are still there to audit.
    """
    try:
        state = agent.get_state({"configurable": {"thread_id": thread_id}})
        messages = list((state.values or {}).get("messages", []))
    except Exception:  # noqa: BLE001 - best effort: the question row is still written without them
        logger.warning("could not read back the failed turn on thread %s for the audit log", thread_id, exc_info=True)
        return []
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            # Only this turn's question: an older one means the failure came before it was saved.
            return messages[i:] if messages[i].text.strip() == question else []
    return []


def _records(reply: ToolMessage | None) -> list[str]:
    if reply is None:
        return []
    artifact = reply.artifact
    if isinstance(artifact, ToolResult):
        cited = [(c.kind, c.id) for c in artifact.citations]
    elif isinstance(artifact, dict):  # a result read back from the checkpoint is plain data
        cited = [(c.get("kind"), c.get("id")) for c in artifact.get("citations") or [] if isinstance(c, dict)]
    else:
        return []
    return list(dict.fromkeys(f"{kind}:{ident}" for kind, ident in cited if kind and ident is not None))


def _outcome(reply: ToolMessage | None) -> str:
    if reply is None:
        return "no_result"  # the turn stopped before this call answered
    if reply.status != "error":
        return "ok"
    if isinstance(reply.artifact, ToolError):
        return reply.artifact.code
    try:
        code = json.loads(reply.text).get("error")
    except (ValueError, AttributeError):
        code = None
    return code if isinstance(code, str) and code else "error"


def _router_intent(message: AIMessage) -> str | None:
    note = message.additional_kwargs.get(_ROUTER_KEY)
    return note.get("intent") if isinstance(note, dict) else None


def _clip(text: str, limit: int) -> str:
    # A 100k-character message is audited by its head and its length, not stored whole on every turn.
    return text if len(text) <= limit else f"{text[:limit]}… [+{len(text) - limit} chars]"


def _fit(value: str, column: str) -> str:
    return value[: _WIDTH[column]]


def _bounded(value: Any) -> Any:
    """Arguments with long strings clipped; JSON-safe (anything unusual becomes its string form)."""
    if isinstance(value, str):
        return _clip(value, MAX_ARGUMENT_CHARS)
    if isinstance(value, dict):
        return {str(k): _bounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _clip(str(value), MAX_ARGUMENT_CHARS)
